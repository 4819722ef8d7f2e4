//! Importing a `.gguf` that arrives as bytes (an HTTP upload of any size, or a file the desktop's page read): the
//! bytes are written to a staging folder inside `models/` (the same filesystem, so the import is a rename),
//! synced, and imported; the staging folder is removed whatever happens, also when the caller stops mid-way.

use std::path::PathBuf;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::import::{ImportMode, ImportRequest};
use crate::error::{Error, ErrorCode, IoContext, Result};
use crate::ids::{self, IdKind};

/// A `.gguf` sent as bytes: its file name and, optionally, the model's id and name.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    /// The file's name in the model's folder; defaults to `<id>.gguf`. One of `file_name` and `id` is needed.
    pub file_name: Option<String>,
    /// Defaults to a slug of the file name.
    pub id: Option<String>,
    /// Defaults to the GGUF's `general.name`, else the id.
    pub name: Option<String>,
}

impl UploadRequest {
    /// The checked file name the upload is written under.
    fn file_name(&self) -> Result<String> {
        if let Some(id) = &self.id {
            ids::check(IdKind::Model, id)?;
        }
        match (&self.file_name, &self.id) {
            (Some(name), _) => Ok(ids::check(IdKind::FileName, name)?.to_owned()),
            (None, Some(id)) => Ok(format!("{id}.gguf")),
            (None, None) => Err(Error::field(
                ErrorCode::MissingField,
                "file_name",
                "give the file's name (file_name=model.gguf) or the model's id (id=...)",
            )),
        }
    }
}

/// The staging folder; removed on drop.
struct Staging(Option<PathBuf>);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes `body` under `models/.upload-<ulid>/` and imports it.
pub(super) async fn import_upload<S, E>(
    models: &super::ModelsApi,
    models_dir: PathBuf,
    request: UploadRequest,
    body: S,
) -> Result<super::ModelFile>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    let file_name = request.file_name()?;
    let dir = models_dir.join(format!(".upload-{}", ulid::Ulid::new()));
    let staging = Staging(Some(dir.clone()));
    tokio::fs::create_dir_all(&dir).await.context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(&file_name);
    let mut file = tokio::fs::File::create(&path).await.context(|| format!("creating {}", path.display()))?;
    let mut written = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::Field {
            code: ErrorCode::InvalidBody,
            param: None,
            message: format!("the upload was cut off: {e}"),
        })?;
        file.write_all(&chunk).await.context(|| format!("writing {}", path.display()))?;
        written += chunk.len() as u64;
    }
    if written == 0 {
        return Err(Error::Field {
            code: ErrorCode::EmptyBody,
            param: None,
            message: "the upload is empty: send the .gguf file's bytes".into(),
        });
    }
    file.flush().await.context(|| format!("writing {}", path.display()))?;
    file.sync_all().await.context(|| format!("syncing {}", path.display()))?;
    drop(file);
    let import = ImportRequest { path, id: request.id, name: request.name, file_name: None, mode: ImportMode::Move };
    let model = models.import(import).await;
    drop(staging);
    model
}
