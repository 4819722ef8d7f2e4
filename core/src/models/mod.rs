//! Models (Jan's model plugin): `models/<id>/model.json` beside the model's `.gguf`.
//!
//! A model is listed once its files are complete: every source file present under its final name (downloads
//! keep `<name>.download` until verified). A bare `.gguf` dropped into `models/<id>/` gets a model.json generated
//! from its GGUF metadata, as in the desktop app.

mod catalog;
mod import;
mod model_file;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use import::{ImportMode, ImportRequest};
pub use model_file::{DEFAULT_LOCAL_ENGINE, ModelFile, ModelMetadata, ModelParameters, ModelSettings, ModelSource};
pub use upload::UploadRequest;

use crate::downloads::DownloadHandle;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::serde_util::{overlay, to_map};
use crate::storage::{self, blocking};

pub(crate) const MODEL_FILE: &str = "model.json";
/// Suffix of a file still being downloaded (Jan's convention).
pub(crate) const PARTIAL_SUFFIX: &str = ".download";

/// A change to a model.json; absent fields stay as they are, maps merge key by key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub engine: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub parameters: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// Models. Get it from [`crate::Jan::models`].
#[derive(Debug, Clone)]
pub struct ModelsApi {
    inner: Arc<Inner>,
}

impl ModelsApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        ModelsApi { inner }
    }

    fn dir(&self, id: &str) -> Result<PathBuf> {
        self.inner.object_dir("models", IdKind::Model, id)
    }

    /// The folder of a model the caller names: an id that cannot be one is a model that does not exist.
    fn existing_dir(&self, id: &str) -> Result<PathBuf> {
        self.dir(id).map_err(|e| match e {
            Error::InvalidId { .. } => Error::model_not_found(id),
            other => other,
        })
    }

    /// The models ready to use: local models whose files are complete, and remote-engine models. Sorted by id.
    pub async fn list(&self) -> Result<Vec<ModelFile>> {
        let area = self.inner.area_dir("models");
        let downloading = self.inner.downloads.active_ids();
        let (models, generated) = blocking(move || {
            let mut models = Vec::new();
            let mut generated = Vec::new();
            for id in storage::list_object_dirs(&area, IdKind::Model)? {
                if downloading.contains(&id) {
                    continue;
                }
                match read_ready(&area.join(&id), &id) {
                    Ok(Some((model, was_generated))) => {
                        if was_generated {
                            generated.push(model.id.clone());
                        }
                        models.push(model);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(model = %id, error = %e, "skipping unreadable model"),
                }
            }
            Ok((models, generated))
        })
        .await?;
        for model_id in generated {
            self.inner.emit(Event::ModelUpdated { model_id });
        }
        Ok(models)
    }

    /// One ready model (see [`ModelsApi::list`]).
    /// An unknown id (or one that could never name a model) is `model_not_found`.
    pub async fn get(&self, id: &str) -> Result<ModelFile> {
        let dir = self.existing_dir(id)?;
        if self.inner.downloads.active_ids().iter().any(|d| d == id) {
            return Err(Error::model_not_found(id));
        }
        let model_id = id.to_owned();
        let (model, generated) =
            blocking(move || read_ready(&dir, &model_id)?.ok_or_else(|| Error::model_not_found(model_id))).await?;
        if generated {
            self.inner.emit(Event::ModelUpdated { model_id: id.to_owned() });
        }
        Ok(model)
    }

    /// The path of a ready local model's weights file, for the inference engine.
    pub async fn weights_path(&self, id: &str) -> Result<PathBuf> {
        self.weights_path_of(&self.get(id).await?)
    }

    /// The path of this model's weights file (its model.json already read).
    pub(crate) fn weights_path_of(&self, model: &ModelFile) -> Result<PathBuf> {
        let file = model
            .weights_file_name()
            .ok_or_else(|| Error::InvalidRequest(format!("model '{}' has no local weights file", model.id)))?;
        Ok(self.existing_dir(&model.id)?.join(file))
    }

    /// The built-in catalog of recommended models (Jan's hub), with download URLs rewritten to
    /// [`crate::JanConfig::hub_base_url`] when one is set.
    pub fn catalog(&self) -> Vec<ModelFile> {
        catalog::entries(self.inner.config.hub_base_url.as_deref())
    }

    /// The catalog as clients see it: each entry a [`ModelView`](crate::views::ModelView) with its status here
    /// (`downloaded`, `downloading` or `available`).
    pub async fn catalog_with_status(&self) -> Result<Vec<crate::views::ModelView>> {
        use crate::views::{CatalogStatus, ModelView};
        let ready: Vec<String> = self.list().await?.into_iter().map(|m| m.id).collect();
        let downloading = self.inner.downloads.active_ids();
        let entries = self.catalog().into_iter().map(|m| {
            let status = if ready.contains(&m.id) {
                CatalogStatus::Downloaded
            } else if downloading.contains(&m.id) {
                CatalogStatus::Downloading
            } else {
                CatalogStatus::Available
            };
            ModelView { status: Some(status), ..ModelView::of(&m) }
        });
        Ok(entries.collect())
    }

    /// Starts downloading a catalog model and answers at once (Jan's API); progress, completion and failure
    /// are events.
    pub async fn start_download(&self, id: &str) -> Result<crate::views::DownloadStarted> {
        let handle = self.download(id).await?;
        Ok(crate::views::DownloadStarted {
            id: handle.id,
            object: "download".into(),
            model_id: id.to_owned(),
            status: "downloading".into(),
            message: "the download started; its progress comes as events".into(),
        })
    }

    /// Downloads a catalog model; the handle resolves when it is listed.
    pub async fn download(&self, id: &str) -> Result<DownloadHandle> {
        let model = self.catalog().into_iter().find(|m| m.id == id).ok_or_else(|| Error::model_not_found(id))?;
        crate::Jan::from_inner(self.inner.clone()).downloads().start(model).await
    }

    /// Imports a local `.gguf` as a new model, with a model.json generated from its metadata.
    pub async fn import(&self, request: ImportRequest) -> Result<ModelFile> {
        let area = self.inner.area_dir("models");
        let model = blocking(move || import::import(&area, request)).await?;
        self.inner.emit(Event::ModelUpdated { model_id: model.id.clone() });
        Ok(model)
    }

    /// Imports a `.gguf` that arrives as bytes (an upload): staged inside the data folder, synced, then imported
    /// as [`ModelsApi::import`] does; nothing is left behind when it fails or the caller stops.
    pub async fn import_upload<S, E>(&self, request: UploadRequest, body: S) -> Result<ModelFile>
    where
        S: futures::Stream<Item = std::result::Result<bytes::Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        upload::import_upload(self, self.inner.area_dir("models"), request, body).await
    }

    /// Writes a new model.json (e.g. a remote-engine model such as an OpenAI model). An existing id is a conflict.
    pub async fn create(&self, mut model: ModelFile) -> Result<ModelFile> {
        let dir = self.dir(&model.id)?;
        check_model(&model)?;
        if model.created.is_none() {
            model.created = Some(crate::time::now_secs());
        }
        let _guard = self.inner.locks.lock(format!("model/{}", model.id)).await;
        let out = model.clone();
        blocking(move || {
            if dir.join(MODEL_FILE).exists() {
                return Err(Error::Conflict(format!("model '{}' already exists", model.id)));
            }
            storage::create_dir_all(&dir)?;
            storage::write_json(&dir.join(MODEL_FILE), &model)
        })
        .await?;
        self.inner.emit(Event::ModelUpdated { model_id: out.id.clone() });
        Ok(out)
    }

    /// Changes a model's model.json; fields the core does not know are kept.
    pub async fn update(&self, id: &str, update: ModelUpdate) -> Result<ModelFile> {
        let dir = self.existing_dir(id)?;
        let _guard = self.inner.locks.lock(format!("model/{id}")).await;
        let model_id = id.to_owned();
        let model = blocking(move || {
            let path = dir.join(MODEL_FILE);
            if !path.is_file() {
                return Err(Error::model_not_found(model_id));
            }
            let mut model: ModelFile = storage::read_json(&path)?;
            model.id.clone_from(&model_id);
            apply_update(&mut model, update)?;
            check_model(&model)?;
            storage::write_json(&path, &model)?;
            Ok(model)
        })
        .await?;
        self.inner.emit(Event::ModelUpdated { model_id: id.to_owned() });
        Ok(model)
    }

    /// Deletes a model: its folder with model.json and files. A download in progress for it is cancelled first.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let dir = self.existing_dir(id)?;
        let downloads = crate::Jan::from_inner(self.inner.clone()).downloads();
        downloads.cancel_and_wait(id).await;
        // A loaded model is stopped first (its running requests end as cancelled).
        if self.inner.scheduler.is_loaded(id) {
            let _ = crate::Jan::from_inner(self.inner.clone()).inference().unload(id).await;
        }
        let _guard = self.inner.locks.lock(format!("model/{id}")).await;
        let model_id = id.to_owned();
        blocking(move || {
            if !dir.is_dir() {
                return Err(Error::model_not_found(model_id));
            }
            storage::remove_dir(&dir)
        })
        .await?;
        self.inner.emit(Event::ModelDeleted { model_id: id.to_owned() });
        Ok(())
    }
}

/// Reads a model folder: `Some((model, generated))` when the model is ready, `None` when its files are not
/// complete (or there is nothing in the folder). A bare GGUF gets its model.json written here.
fn read_ready(dir: &Path, id: &str) -> Result<Option<(ModelFile, bool)>> {
    let path = dir.join(MODEL_FILE);
    if path.is_file() {
        let mut model: ModelFile = storage::read_json(&path)?;
        model.id = id.to_owned();
        return Ok(is_complete(dir, &model).then_some((model, false)));
    }
    // No model.json: a GGUF dropped in by hand gets one, unless a download is still filling the folder.
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut ggufs = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(PARTIAL_SUFFIX) {
            return Ok(None);
        }
        if name.to_ascii_lowercase().ends_with(".gguf") && !name.starts_with('.') && entry.path().is_file() {
            ggufs.push(name);
        }
    }
    ggufs.sort();
    let Some(file) = ggufs.into_iter().next() else { return Ok(None) };
    let model = import::describe(id, &dir.join(&file), &file, None)?;
    storage::write_json(&path, &model)?;
    tracing::info!(model = %id, file = %file, "generated model.json for a bare GGUF file");
    Ok(Some((model, true)))
}

/// Whether a local model's files are all present under their final names (remote models always are).
fn is_complete(dir: &Path, model: &ModelFile) -> bool {
    if !model.is_local() {
        return true;
    }
    let Some(weights) = model.weights_file_name() else { return false };
    let sources = model.effective_sources();
    std::iter::once(weights)
        .chain(sources.into_iter().map(|s| s.filename))
        .all(|f| ids::check(IdKind::FileName, &f).is_ok() && dir.join(&f).is_file())
}

fn apply_update(model: &mut ModelFile, update: ModelUpdate) -> Result<()> {
    fn merged<T: serde::Serialize + serde::de::DeserializeOwned>(
        current: &T,
        patch: Option<Map<String, Value>>,
        what: &str,
    ) -> Result<Option<T>> {
        let Some(patch) = patch else { return Ok(None) };
        let mut map = to_map(current);
        overlay(&mut map, &patch);
        serde_json::from_value(Value::Object(map))
            .map(Some)
            .map_err(|e| Error::InvalidRequest(format!("invalid model {what}: {e}")))
    }
    if let Some(v) = merged(&model.settings, update.settings, "settings")? {
        model.settings = v;
    }
    if let Some(v) = merged(&model.parameters, update.parameters, "parameters")? {
        model.parameters = v;
    }
    if let Some(v) = merged(&model.metadata, update.metadata, "metadata")? {
        model.metadata = v;
    }
    if let Some(v) = update.name {
        model.name = v;
    }
    if let Some(v) = update.description {
        model.description = Some(v);
    }
    if let Some(v) = update.engine {
        model.engine = v;
    }
    Ok(())
}

/// Refuses model.json content that would point outside the model's folder.
fn check_model(model: &ModelFile) -> Result<()> {
    ids::check(IdKind::Model, &model.id)?;
    if let Some(path) = &model.settings.llama_model_path {
        ids::check(IdKind::FileName, path)?;
    }
    for source in model.effective_sources() {
        ids::check(IdKind::FileName, &source.filename)?;
    }
    if model.engine.trim().is_empty() || model.engine.len() > 64 {
        return Err(Error::InvalidRequest("a model needs an engine name of 1 to 64 characters".into()));
    }
    Ok(())
}
