//! `jan-server`: starts the web host. Refuses to listen beyond loopback without credentials, serves HTTP or (with
//! a certificate) HTTPS, and shuts down gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use jan_server::config::{Config, LogFormat};
use jan_server::connection::{Admission, Admit, HYPER_BUFFER};
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
    let admit = Admit { admission: Admission::new(config.max_connections_per_ip, config.max_connections) };
    let header_timeout = Duration::from_secs(config.header_timeout_secs.max(1));
    let handshake_timeout = Duration::from_secs(config.tls_handshake_timeout_secs.max(1));
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
    // Requests in flight get GRACE to finish after the signal; then the server stops anyway.
    let router = app(state);
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(GRACE));
        }
    });

    match tls {
        None => {
            let listener = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
            tracing::info!(address = %listener.local_addr()?, "listening (http)");
            let mut server = axum_server::from_tcp(listener)?.acceptor(admit).handle(handle);
            server.http_builder().http1().max_buf_size(HYPER_BUFFER).header_read_timeout(header_timeout);
            server.serve(service).await?;
        }
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .context("reading the TLS certificate and key")?;
            tracing::info!(address = %addr, "listening (https)");
            let acceptor =
                axum_server::tls_rustls::RustlsAcceptor::new(tls).handshake_timeout(handshake_timeout).acceptor(admit);
            let mut server = axum_server::bind(addr).acceptor(acceptor).handle(handle);
            server.http_builder().http1().max_buf_size(HYPER_BUFFER).header_read_timeout(header_timeout);
            server.serve(service).await?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long requests in flight (a generation, a download upload) may run on after the shutdown signal.
const GRACE: Duration = Duration::from_secs(30);

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
