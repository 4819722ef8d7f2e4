//! Importing a local `.gguf` file, and describing one as a model.json from its GGUF metadata.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{MODEL_FILE, ModelFile, ModelMetadata, ModelParameters, ModelSettings, ModelSource};
use crate::error::{Error, IoContext, Result};
use crate::gguf::{self, GgufInfo, ReadOptions};
use crate::ids::{self, IdKind};
use crate::storage;

/// The context length written into generated model.json files when the model supports more: what Jan's
/// desktop app uses by default, and what fits the KV cache of small machines.
const DEFAULT_CTX_CAP: u64 = 8192;

/// How the file gets into the data folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Copy, leaving the original where it is (the desktop app's default).
    #[default]
    Copy,
    /// Move (a rename when on the same filesystem), e.g. an upload the web host saved to a temp file.
    Move,
}

/// A local GGUF file to import. `path` comes from the host (a file the user picked, or an upload the host
/// stored), never from a remote client.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub path: PathBuf,
    /// Defaults to a slug of the file name.
    pub id: Option<String>,
    /// Defaults to the GGUF's `general.name`, else the id.
    pub name: Option<String>,
    /// The name the file gets in the model's folder; defaults to the original file name.
    pub file_name: Option<String>,
    pub mode: ImportMode,
}

impl ImportRequest {
    /// Copies the file at `path` with every other choice left to the defaults.
    pub fn copy(path: impl Into<PathBuf>) -> Self {
        ImportRequest { path: path.into(), id: None, name: None, file_name: None, mode: ImportMode::Copy }
    }
}

/// Blocking import: checks the file is a GGUF, creates `models/<id>/`, brings the file in (temp name, fsync,
/// rename), and writes the generated model.json. On failure nothing is left behind.
pub(crate) fn import(models_dir: &Path, request: ImportRequest) -> Result<ModelFile> {
    let meta = fs::metadata(&request.path).context(|| format!("reading {}", request.path.display()))?;
    if !meta.is_file() {
        return Err(Error::InvalidRequest(format!("{} is not a file", request.path.display())));
    }
    let original = request.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file_name = match request.file_name {
        Some(name) => ids::check(IdKind::FileName, &name)?.to_owned(),
        None => slug(&original, true),
    };
    let id = match request.id {
        Some(id) => ids::check(IdKind::Model, &id)?.to_owned(),
        None => slug(original.strip_suffix(".gguf").unwrap_or(&original), false),
    };
    ids::check(IdKind::Model, &id)?;
    ids::check(IdKind::FileName, &file_name)?;
    // Validate before touching the data folder.
    let info = gguf::read_info(&request.path, &ReadOptions::default())?;

    let dir = models_dir.join(&id);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Conflict(format!("a model with id '{id}' already exists")));
        }
        Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
    }
    let result = (|| {
        let dest = dir.join(&file_name);
        bring_in(&request.path, &dest, request.mode)?;
        let mut model = from_info(&id, &file_name, &info, meta.len());
        if let Some(name) = request.name.filter(|n| !n.trim().is_empty()) {
            model.name = name;
        }
        storage::write_json(&dir.join(MODEL_FILE), &model)?;
        storage::sync_dir(models_dir)?;
        Ok(model)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

/// Copies or moves `from` to `dest` through a hidden temp name, so `dest` only ever holds the whole file.
fn bring_in(from: &Path, dest: &Path, mode: ImportMode) -> Result<()> {
    if mode == ImportMode::Move && fs::rename(from, dest).is_ok() {
        return storage::sync_dir(dest.parent().unwrap_or(Path::new(".")));
    }
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.import"));
    let copied = (|| {
        fs::copy(from, &tmp).context(|| format!("copying {} into the data folder", from.display()))?;
        fs::File::open(&tmp).and_then(|f| f.sync_all()).context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, dest).context(|| format!("renaming {}", tmp.display()))
    })();
    if copied.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    copied?;
    if mode == ImportMode::Move {
        fs::remove_file(from).context(|| format!("removing {} after moving it", from.display()))?;
    }
    Ok(())
}

/// Describes the GGUF at `path` (already inside `models/<id>/`) as a model.json.
pub(crate) fn describe(id: &str, path: &Path, file_name: &str, name: Option<String>) -> Result<ModelFile> {
    let info = gguf::read_info(path, &ReadOptions::default())?;
    let size = fs::metadata(path).context(|| format!("reading {}", path.display()))?.len();
    let mut model = from_info(id, file_name, &info, size);
    if let Some(name) = name {
        model.name = name;
    }
    Ok(model)
}

/// A model.json for a GGUF: Jan's fields, plus what the GGUF says under `metadata.gguf`.
fn from_info(id: &str, file_name: &str, info: &GgufInfo, size: u64) -> ModelFile {
    let architecture = info.architecture().unwrap_or("unknown").to_owned();
    let trained_ctx = info.context_length();
    let ctx_len = trained_ctx.map_or(DEFAULT_CTX_CAP, |c| c.min(DEFAULT_CTX_CAP));
    let quantization = info.quantization();
    let params = info.parameter_count();
    let params_label = parameter_label(params);
    let author =
        ["general.organization", "general.author"].iter().find_map(|k| info.get(k)?.as_str()).map(str::to_owned);
    let gguf = json!({
        "architecture": architecture,
        "context_length": trained_ctx,
        "quantization": quantization,
        "parameter_count": params,
        "file_type": info.file_type(),
        "chat_template": info.chat_template(),
    });
    let mut metadata_extra = Map::new();
    metadata_extra.insert("gguf".into(), gguf);
    ModelFile {
        object: "model".into(),
        version: Some(Value::String("1.0".into())),
        format: Some("gguf".into()),
        sources: Some(vec![ModelSource {
            filename: file_name.to_owned(),
            url: file_name.to_owned(),
            sha256: None,
            extra: Map::new(),
        }]),
        source_url: None,
        id: id.to_owned(),
        name: info.name().filter(|n| !n.trim().is_empty()).unwrap_or(id).to_owned(),
        description: Some(format!("{architecture} model, {params_label} parameters, {quantization}")),
        created: Some(crate::time::now_secs()),
        settings: ModelSettings {
            ctx_len: Some(ctx_len),
            ngl: Some(100),
            llama_model_path: Some(file_name.to_owned()),
            ..Default::default()
        },
        parameters: ModelParameters {
            temperature: Some(0.7),
            top_p: Some(0.95),
            max_tokens: Some(ctx_len.min(4096)),
            stream: Some(true),
            stop: Some(Vec::new()),
            frequency_penalty: Some(0.0),
            presence_penalty: Some(0.0),
            ..Default::default()
        },
        metadata: ModelMetadata {
            author,
            tags: Some(vec![params_label, quantization]),
            size: Some(size),
            cover: None,
            extra: metadata_extra,
        },
        engine: super::DEFAULT_LOCAL_ENGINE.into(),
        extra: Map::new(),
    }
}

/// "268M", "1.2B", "7B": how model hubs label sizes.
fn parameter_label(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        let b = n / 1e9;
        if b >= 10.0 || (b - b.round()).abs() < 0.05 { format!("{:.0}B", b) } else { format!("{b:.1}B") }
    } else {
        format!("{:.0}M", n / 1e6)
    }
}

/// Makes a model id (lowercase) or a file name (case kept) out of a file name: characters outside
/// `[A-Za-z0-9._-]` become `-`.
fn slug(name: &str, keep_case: bool) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    if !keep_case {
        s = s.to_ascii_lowercase();
    }
    let s = s.trim_matches(|c| c == '.' || c == '-').to_owned();
    let limit = if keep_case { 200 } else { 128 };
    let s: String = s.chars().take(limit).collect();
    if s.is_empty() { "model".to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_slugs() {
        assert_eq!(parameter_label(268_098_176), "268M");
        assert_eq!(parameter_label(1_235_814_400), "1.2B");
        assert_eq!(parameter_label(7_241_732_096), "7.2B");
        assert_eq!(parameter_label(13_015_864_320), "13B");
        assert_eq!(slug("Qwen2.5 Coder (0.5B)", false), "qwen2.5-coder--0.5b");
        assert_eq!(slug("../../etc", false), "etc");
        assert_eq!(slug("..", true), "model");
    }
}
