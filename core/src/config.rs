//! How the facade is opened.

use std::path::PathBuf;
use std::time::Duration;

use crate::inference::InferenceConfig;

/// Settings for [`crate::Jan::open`]. Everything but the data folder has a default that suits the desktop app.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JanConfig {
    /// Jan's data folder (models, threads, assistants...). The desktop default is `~/jan`.
    pub data_folder: PathBuf,
    /// Replaces `https://huggingface.co` in catalog download URLs (a mirror, or a local server in tests).
    pub hub_base_url: Option<String>,
    /// How many times a broken download is resumed (with an HTTP `Range` request) before it fails.
    pub download_retries: u32,
    /// The first wait between download retries; it doubles on each retry.
    pub download_retry_backoff: Duration,
    /// A stalled download (no bytes for this long) counts as a broken connection.
    pub download_read_timeout: Duration,
    /// How often download progress events are emitted at most (the final one is always emitted).
    pub progress_interval: Duration,
    /// Devices, queues and memory for inference.
    pub inference: InferenceConfig,
}

impl JanConfig {
    /// Defaults for everything, on the given data folder.
    pub fn new(data_folder: impl Into<PathBuf>) -> Self {
        JanConfig {
            data_folder: data_folder.into(),
            hub_base_url: None,
            download_retries: 5,
            download_retry_backoff: Duration::from_millis(500),
            download_read_timeout: Duration::from_secs(60),
            progress_interval: Duration::from_millis(200),
            inference: InferenceConfig::default(),
        }
    }

    /// The desktop app's default folder, `~/jan` (or `./jan` when no home folder is known).
    pub fn default_data_folder() -> PathBuf {
        home_dir().unwrap_or_else(|| PathBuf::from(".")).join("jan")
    }

    /// Sets [`JanConfig::hub_base_url`].
    pub fn with_hub_base_url(mut self, url: impl Into<String>) -> Self {
        self.hub_base_url = Some(url.into());
        self
    }

    /// Sets the retry count and first backoff of downloads.
    pub fn with_download_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.download_retries = retries;
        self.download_retry_backoff = backoff;
        self
    }

    /// Sets how long a download may stall before it is retried.
    pub fn with_download_read_timeout(mut self, timeout: Duration) -> Self {
        self.download_read_timeout = timeout;
        self
    }

    /// Sets how inference runs.
    pub fn with_inference(mut self, inference: InferenceConfig) -> Self {
        self.inference = inference;
        self
    }

    pub(crate) fn folder(&self, sub: &str) -> PathBuf {
        self.data_folder.join(sub)
    }
}

impl Default for JanConfig {
    fn default() -> Self {
        JanConfig::new(JanConfig::default_data_folder())
    }
}

fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The sub-folders of a data folder, created on open.
pub(crate) const FOLDERS: &[&str] = &["models", "threads", "assistants", "engines", "settings", "logs"];
