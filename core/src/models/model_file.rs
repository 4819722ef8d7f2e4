//! Jan's `models/<id>/model.json`.
//!
//! Every field Jan defines is typed; fields the core does not know land in `extra` and are written back
//! unchanged, and absent optional fields stay absent, so a file the core rewrites is still the user's file.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{self, IdKind};
use crate::serde_util::{lenient_i64, lenient_u64, one_or_many};

/// Engines that run a local GGUF file (Jan's names over the years, and ours). Anything else is remote.
const LOCAL_ENGINES: &[&str] = &["nitro", "llama-cpp", "llama.cpp", "llamacpp", "cortex", "cortex.llamacpp", "candle"];

/// The engine written into generated and imported model.json files (Jan desktop's local engine).
pub const DEFAULT_LOCAL_ENGINE: &str = "nitro";

/// One `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelFile {
    /// Always `"model"`.
    #[serde(default = "model_object")]
    pub object: String,
    /// String or number in Jan's files; kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Value>,
    /// `"gguf"` for local models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Files to download, and their local names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ModelSource>>,
    /// The older single-URL form of `sources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Equals the folder name; filled from it when the file leaves it out.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix time (seconds in Jan's catalog).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub created: Option<i64>,
    #[serde(default)]
    pub settings: ModelSettings,
    #[serde(default)]
    pub parameters: ModelParameters,
    #[serde(default)]
    pub metadata: ModelMetadata,
    /// `"nitro"` (local llama.cpp in Jan; the core's own engine here), `"openai"`, ...
    #[serde(default = "default_engine")]
    pub engine: String,
    /// Fields the core does not know, preserved.
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// One downloadable file of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelSource {
    pub filename: String,
    pub url: String,
    /// Expected digest (hex). Not in Jan's format; Jan ignores it, the core verifies downloads with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// Load-time settings (`settings` in model.json; a thread may override them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelSettings {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub ctx_len: Option<u64>,
    /// Layers to offload to the GPU (`-1`/large = all).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub ngl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub n_parallel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub cpu_threads: Option<u64>,
    /// Jan's template with `{system_message}` and `{prompt}`; when set it wins over the GGUF's chat template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_prompt: Option<String>,
    /// The model file's name inside the model's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llama_model_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cont_batching: Option<bool>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// Sampling parameters (`parameters` in model.json; a thread may override them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub token_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub top_k: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "one_or_many")]
    pub stop: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// Display facts (`metadata` in model.json).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

fn model_object() -> String {
    "model".to_owned()
}

fn default_engine() -> String {
    DEFAULT_LOCAL_ENGINE.to_owned()
}

impl ModelFile {
    /// Whether this model runs from a local file (as opposed to a remote engine such as `openai`).
    pub fn is_local(&self) -> bool {
        LOCAL_ENGINES.contains(&self.engine.as_str())
    }

    /// The files of a local model: `sources`, or the older `source_url` (its file name is the URL's last
    /// segment). Remote-engine models have none (Jan's own put a web page in `source_url`).
    pub fn effective_sources(&self) -> Vec<ModelSource> {
        if !self.is_local() {
            return Vec::new();
        }
        if let Some(sources) = self.sources.as_ref().filter(|s| !s.is_empty()) {
            return sources.clone();
        }
        let Some(url) = self.source_url.as_deref().filter(|u| !u.is_empty()) else { return Vec::new() };
        let filename = url.split(['?', '#']).next().unwrap_or(url).rsplit('/').next().unwrap_or(url);
        vec![ModelSource { filename: filename.to_owned(), url: url.to_owned(), sha256: None, extra: Map::new() }]
    }

    /// The name of the weights file inside the model's folder: `settings.llama_model_path` when it is a plain
    /// file name, else the first source's file name. Anything that is not a plain file name is ignored, so a
    /// model.json can never point the engine outside its own folder.
    pub fn weights_file_name(&self) -> Option<String> {
        if !self.is_local() {
            return None;
        }
        let candidates = self
            .settings
            .llama_model_path
            .iter()
            .cloned()
            .chain(self.effective_sources().into_iter().map(|s| s.filename));
        candidates.into_iter().find(|name| {
            let ok = ids::check(IdKind::FileName, name).is_ok();
            if !ok {
                tracing::warn!(model = %self.id, file = %name, "ignoring a model file name that is not a plain file name");
            }
            ok
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let input = json!({
            "object": "model", "version": 1, "format": "gguf",
            "sources": [{"filename": "a.gguf", "url": "https://x/a.gguf", "mirror": "m"}],
            "id": "a", "name": "A", "created": 1700000000,
            "settings": {"ctx_len": 4096, "prompt_template": "[INST] {prompt} [/INST]", "rope_freq_base": 10000},
            "parameters": {"temperature": 0.7, "stop": ["</s>"], "mirostat": 2},
            "metadata": {"author": "x", "tags": ["7B"], "size": 123, "extra_meta": true},
            "engine": "nitro",
            "future_field": {"nested": [1, 2]}
        });
        let m: ModelFile = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(m.settings.ctx_len, Some(4096));
        assert_eq!(serde_json::to_value(&m).unwrap(), input);
    }

    #[test]
    fn source_url_form_is_read() {
        let m: ModelFile = serde_json::from_value(json!({
            "id": "old", "source_url": "https://h/TheBloke/x/resolve/main/old.Q4_K_M.gguf?download=true",
        }))
        .unwrap();
        assert_eq!(m.engine, "nitro");
        let s = m.effective_sources();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].filename, "old.Q4_K_M.gguf");
        assert_eq!(m.weights_file_name().as_deref(), Some("old.Q4_K_M.gguf"));
        // Written back in the form it was read.
        let v = serde_json::to_value(&m).unwrap();
        assert!(v.get("sources").is_none() && v.get("source_url").is_some());
    }

    #[test]
    fn weights_path_cannot_leave_the_folder() {
        let m: ModelFile = serde_json::from_value(json!({
            "id": "x", "settings": {"llama_model_path": "../../etc/passwd"},
            "sources": [{"filename": "/abs/x.gguf", "url": "u"}]
        }))
        .unwrap();
        assert_eq!(m.weights_file_name(), None);
    }

    #[test]
    fn stop_accepts_a_string_and_floats_for_integers() {
        let m: ModelFile = serde_json::from_value(json!({
            "id": "x", "parameters": {"stop": "<|im_end|>", "max_tokens": 2048.0}
        }))
        .unwrap();
        assert_eq!(m.parameters.stop, Some(vec!["<|im_end|>".to_owned()]));
        assert_eq!(m.parameters.max_tokens, Some(2048));
    }
}
