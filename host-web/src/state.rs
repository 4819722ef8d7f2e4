//! What every handler can reach.

use std::sync::Arc;

use jan_core::Jan;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;

/// Shared state: cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub jan: Jan,
    pub config: Arc<Config>,
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server begins to shut down: endless responses (the event stream) end on it, so that a
    /// graceful shutdown does not wait for them forever.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Opens the core on the configured data folder and sets up authentication.
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let mut inference = jan_core::inference::InferenceConfig::default()
            .with_queue_size(config.queue_size)
            .with_device(config.device)
            .with_stall_timeout(std::time::Duration::from_secs(config.stall_timeout_secs.max(1)));
        inference.default_slots = config.parallel.0;
        let mut core = jan_core::JanConfig::new(&config.data_folder).with_inference(inference);
        if let Some(hub) = &config.hub_url {
            core = core.with_hub_base_url(hub.trim_end_matches('/'));
        }
        let jan = Jan::open(core).await?;
        let auth = Auth::new(&config, jan.data_folder()).await?;
        Ok(AppState {
            jan,
            config: Arc::new(config),
            auth: Arc::new(auth),
            metrics: Arc::new(Metrics::default()),
            shutdown: CancellationToken::new(),
        })
    }
}
