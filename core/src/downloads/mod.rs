//! Model downloads: several at once, each with progress events, cancel, resume and sha256 verification.
//!
//! A model's files are fetched into `models/<id>/<file>.download` (Jan's partial-file name) and renamed to their
//! final names only once complete and verified; its model.json is written last, so the model is listed only
//! when everything is in place. A download that fails on the network keeps its partial file, and the next
//! download of the same model resumes it with an HTTP `Range` request. A cancelled download, or one whose
//! checksum does not match, leaves nothing behind.

mod transfer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::events::{DownloadProgress, Event};
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::models::{MODEL_FILE, ModelFile, PARTIAL_SUFFIX};
use crate::storage::{self, blocking};

/// The downloads in flight, by id (the model's id).
#[derive(Debug, Default)]
pub(crate) struct DownloadRegistry {
    active: Mutex<HashMap<String, Active>>,
}

#[derive(Debug)]
struct Active {
    cancel: CancellationToken,
    progress: Arc<Mutex<DownloadProgress>>,
    finished: tokio::sync::watch::Receiver<bool>,
}

impl DownloadRegistry {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ids of the downloads in flight.
    pub(crate) fn active_ids(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }
}

/// A started download. Dropping it does not stop the download; [`DownloadsApi::cancel`] does.
#[derive(Debug)]
pub struct DownloadHandle {
    /// The download's id (the model's id).
    pub id: String,
    done: oneshot::Receiver<Result<ModelFile>>,
}

impl DownloadHandle {
    /// Waits for the download to end: the model as listed, or why it failed.
    pub async fn wait(self) -> Result<ModelFile> {
        self.done.await.unwrap_or_else(|_| Err(Error::Cancelled("the download".into())))
    }
}

/// Downloads. Get it from [`crate::Jan::downloads`].
#[derive(Debug, Clone)]
pub struct DownloadsApi {
    inner: Arc<Inner>,
}

impl DownloadsApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        DownloadsApi { inner }
    }

    /// Starts downloading a model's `sources` and writes its model.json when they are complete. Conflicts if
    /// the model is already downloading or already downloaded.
    pub async fn start(&self, model: ModelFile) -> Result<DownloadHandle> {
        let dir = self.inner.object_dir("models", IdKind::Model, &model.id)?;
        let sources = model.effective_sources();
        if sources.is_empty() {
            return Err(Error::InvalidRequest(format!("model '{}' has nothing to download", model.id)));
        }
        for source in &sources {
            ids::check(IdKind::FileName, &source.filename)?;
            let scheme = url::Url::parse(&source.url)
                .map_err(|e| Error::InvalidRequest(format!("bad download URL {}: {e}", source.url)))?
                .scheme()
                .to_owned();
            if scheme != "http" && scheme != "https" {
                return Err(Error::InvalidRequest(format!("only http and https downloads are allowed, not {scheme}")));
            }
        }
        let id = model.id.clone();
        let model_json = dir.join(MODEL_FILE);
        if blocking(move || Ok(model_json.is_file())).await? {
            return Err(Error::Conflict(format!("model '{id}' is already downloaded")));
        }

        let cancel = CancellationToken::new();
        let progress = Arc::new(Mutex::new(DownloadProgress {
            download_id: id.clone(),
            model_id: id.clone(),
            file_name: sources[0].filename.clone(),
            transferred: 0,
            total: None,
            bytes_per_second: 0,
        }));
        let (finished_tx, finished_rx) = tokio::sync::watch::channel(false);
        {
            let mut active = self.inner.downloads.map();
            if active.contains_key(&id) {
                return Err(Error::Conflict(format!("model '{id}' is already downloading")));
            }
            active.insert(
                id.clone(),
                Active { cancel: cancel.clone(), progress: progress.clone(), finished: finished_rx },
            );
        }
        let (done_tx, done_rx) = oneshot::channel();
        let inner = self.inner.clone();
        let download_id = id.clone();
        tokio::spawn(async move {
            let result = run(&inner, model, dir, &cancel, &progress).await;
            inner.downloads.map().remove(&download_id);
            match &result {
                Ok(m) => {
                    inner.emit(Event::DownloadDone { download_id, model_id: m.id.clone() });
                    inner.emit(Event::ModelUpdated { model_id: m.id.clone() });
                }
                Err(e) => {
                    tracing::warn!(download = %download_id, error = %e, "download failed");
                    inner.emit(Event::DownloadFailed {
                        model_id: download_id.clone(),
                        download_id,
                        code: e.code(),
                        message: e.public_message(),
                    });
                }
            }
            let _ = finished_tx.send(true);
            let _ = done_tx.send(result);
        });
        Ok(DownloadHandle { id, done: done_rx })
    }

    /// Cancels a download in flight; its partial files are removed. Unknown ids are `not_found`.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        ids::check(IdKind::Download, id)?;
        let token = self.inner.downloads.map().get(id).map(|a| a.cancel.clone());
        match token {
            Some(token) => {
                token.cancel();
                Ok(())
            }
            None => Err(Error::not_found("download", id)),
        }
    }

    /// Cancels a download if one is in flight and waits until it has cleaned up.
    pub(crate) async fn cancel_and_wait(&self, id: &str) {
        let entry = self.inner.downloads.map().get(id).map(|a| (a.cancel.clone(), a.finished.clone()));
        if let Some((token, mut finished)) = entry {
            token.cancel();
            let _ = finished.wait_for(|f| *f).await;
        }
    }

    /// The latest progress of every download in flight.
    pub fn list(&self) -> Vec<DownloadProgress> {
        let mut out: Vec<_> = self
            .inner
            .downloads
            .map()
            .values()
            .map(|a| a.progress.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        out.sort_by(|a, b| a.download_id.cmp(&b.download_id));
        out
    }
}

/// The download task: every source in turn, then model.json.
async fn run(
    inner: &Arc<Inner>,
    mut model: ModelFile,
    dir: std::path::PathBuf,
    cancel: &CancellationToken,
    progress: &Arc<Mutex<DownloadProgress>>,
) -> Result<ModelFile> {
    let dir_existed = {
        let dir = dir.clone();
        blocking(move || {
            let existed = dir.is_dir();
            storage::create_dir_all(&dir)?;
            Ok(existed)
        })
        .await?
    };
    let sources = model.effective_sources();
    let mut total_size = 0u64;
    let mut result = Ok(());
    for source in &sources {
        let dest = dir.join(&source.filename);
        let partial = dir.join(format!("{}{PARTIAL_SUFFIX}", source.filename));
        {
            let mut p = progress.lock().unwrap_or_else(|p| p.into_inner());
            p.file_name.clone_from(&source.filename);
            p.transferred = 0;
            p.total = None;
        }
        if let Ok(Some(len)) = tokio::fs::metadata(&dest).await.map(|m| m.is_file().then_some(m.len())) {
            // Files only get their final name once verified: an earlier, interrupted run fetched this one.
            total_size += len;
            continue;
        }
        let transfer = transfer::Transfer {
            http: &inner.http,
            url: &source.url,
            partial: partial.clone(),
            dest,
            sha256: source.sha256.as_deref(),
            retries: inner.config.download_retries,
            backoff: inner.config.download_retry_backoff,
            read_timeout: inner.config.download_read_timeout,
            cancel,
        };
        let mut reporter = Reporter::new(inner.clone(), progress.clone());
        match transfer.run(&mut |have, total| reporter.report(have, total, false)).await {
            Ok(size) => {
                reporter.report(size, Some(size), true);
                total_size += size;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Err(e) = result {
        if matches!(e, Error::Cancelled(_)) {
            discard(&dir, &sources, dir_existed).await;
        }
        return Err(e);
    }

    if model.settings.llama_model_path.is_none() {
        model.settings.llama_model_path = Some(sources[0].filename.clone());
    }
    if model.metadata.size.is_none() || total_size > 0 {
        model.metadata.size = Some(total_size);
    }
    let path = dir.join(MODEL_FILE);
    let written = model.clone();
    blocking(move || storage::write_json(&path, &written)).await?;
    Ok(model)
}

/// After a cancel: removes partial files, and the folder if the download created it and it is now empty.
async fn discard(dir: &std::path::Path, sources: &[crate::models::ModelSource], dir_existed: bool) {
    for source in sources {
        let _ = tokio::fs::remove_file(dir.join(format!("{}{PARTIAL_SUFFIX}", source.filename))).await;
    }
    if !dir_existed {
        let _ = tokio::fs::remove_dir(dir).await; // only succeeds when empty
    }
}

/// Turns byte counts into rate-limited progress events with a smoothed speed.
struct Reporter {
    inner: Arc<Inner>,
    progress: Arc<Mutex<DownloadProgress>>,
    last_emit: Option<Instant>,
    last_bytes: u64,
    speed: f64,
}

impl Reporter {
    fn new(inner: Arc<Inner>, progress: Arc<Mutex<DownloadProgress>>) -> Self {
        Reporter { inner, progress, last_emit: None, last_bytes: 0, speed: 0.0 }
    }

    fn report(&mut self, have: u64, total: Option<u64>, last: bool) {
        let now = Instant::now();
        let Some(at) = self.last_emit else {
            self.last_emit = Some(now);
            self.last_bytes = have;
            return self.publish(have, total);
        };
        let elapsed = now.duration_since(at);
        if !last && elapsed < self.inner.config.progress_interval {
            return;
        }
        let secs = elapsed.as_secs_f64().max(1e-3);
        let instant = have.saturating_sub(self.last_bytes) as f64 / secs;
        self.speed = if self.speed == 0.0 { instant } else { 0.7 * self.speed + 0.3 * instant };
        self.last_emit = Some(now);
        self.last_bytes = have;
        self.publish(have, total);
    }

    fn publish(&self, have: u64, total: Option<u64>) {
        let event = {
            let mut p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
            p.transferred = have;
            p.total = total;
            p.bytes_per_second = self.speed as u64;
            p.clone()
        };
        self.inner.emit(Event::DownloadProgress(event));
    }
}
