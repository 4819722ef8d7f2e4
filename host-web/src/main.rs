//! `jan-server`: starts the web host. Refuses to listen beyond loopback without credentials, serves HTTP or (with
//! a certificate) HTTPS, and shuts down gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use jan_server::config::{Config, LogFormat};
use jan_server::{AppState, app};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_logging(config.log_format);
    if let Err(refusal) = config.check_exposure() {
        tracing::error!("{refusal}");
        anyhow::bail!(refusal);
    }
    if config.insecure_no_auth && !config.host.is_loopback() && !config.has_credentials() {
        for _ in 0..3 {
            tracing::warn!(
                host = %config.host,
                "INSECURE: listening beyond loopback WITHOUT authentication; anyone who can reach this port can use \
                 and change everything"
            );
        }
    }
    if !config.has_credentials() {
        tracing::info!("no credentials configured: open access on loopback, as the desktop app");
    }
    let addr = SocketAddr::new(config.host, config.port);
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => None,
    };
    let state = AppState::new(config).await.context("opening the data folder")?;
    tracing::info!(data_folder = %state.jan.data_folder().display(), "data folder opened");
    let shutdown = state.shutdown.clone();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    let router = app(state);

    match tls {
        None => {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
            tracing::info!(address = %listener.local_addr()?, "listening (http)");
            let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            tokio::select! {
                served = serve => served?,
                () = grace_over(&shutdown) => {}
            }
        }
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .context("reading the TLS certificate and key")?;
            let handle = axum_server::Handle::new();
            let on_signal = handle.clone();
            let signalled = shutdown.clone();
            tokio::spawn(async move {
                signalled.cancelled().await;
                on_signal.graceful_shutdown(Some(GRACE));
            });
            tracing::info!(address = %addr, "listening (https)");
            axum_server::bind_rustls(addr, tls)
                .handle(handle)
                .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                .await?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long requests in flight (a generation, a download upload) may run on after the shutdown signal.
const GRACE: Duration = Duration::from_secs(30);

/// Resolves `GRACE` after the shutdown began, so that a stuck connection cannot keep the process alive.
async fn grace_over(shutdown: &tokio_util::sync::CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(GRACE).await;
    tracing::warn!("requests still in flight {} s after the shutdown signal: stopping anyway", GRACE.as_secs());
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Ctrl-C or SIGTERM (what container runtimes and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
