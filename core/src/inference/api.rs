//! The inference area of the facade: load / unload models, chat and text completions (local or remote), and
//! replies in a Jan thread (`thread_reply.rs`).
//!
//! Every request goes the same way, whichever host sent it: [`super::prepare`] checks it and merges the model's
//! parameters under its fields; a local model is loaded if needed and its [`Prompter`] renders, tokenizes and
//! checks the prompt on the blocking pool; only then is the request queued. So everything wrong with a request is
//! an `Err` of [`InferenceApi::chat`] / [`InferenceApi::complete`], before a host has answered anything.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::engine::Job;
use super::prepare::{self, Resolved};
use super::prompt::{Prompt, Prompter};
use super::remote::{RemoteConfig, RemoteEngine};
use super::request::{ChatCompletionRequest, TextCompletionRequest};
use super::scheduler::{LoadedModel, Pin};
use super::stream::{CompletionStream, channel};
use super::types::{ChatMessage, ChatRequest, CompletionRequest};
use crate::error::{Error, Result};
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::models::ModelFile;
use crate::storage::{self, blocking};
use crate::views::{EngineSettingsUpdate, EngineView, ModelStateInfo, mask_key};

/// Settings of a remote engine (`engines/<engine>.json`, Jan's format: `full_url`, `api_key`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// The chat completions URL (`https://api.openai.com/v1/chat/completions`) or the API's base URL.
    #[serde(default)]
    pub full_url: String,
    #[serde(default)]
    pub api_key: String,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Inference. Get it from [`crate::Jan::inference`].
#[derive(Debug, Clone)]
pub struct InferenceApi {
    pub(super) inner: Arc<Inner>,
}

impl InferenceApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        InferenceApi { inner }
    }

    pub(super) fn jan(&self) -> crate::Jan {
        crate::Jan::from_inner(self.inner.clone())
    }

    /// Loads a local model (Jan's "start model"). Remote models need no loading.
    pub async fn load(&self, model_id: &str) -> Result<()> {
        self.load_model(self.jan().models().get(model_id).await?).await.map(drop)
    }

    /// Loads a model whose model.json the caller has read (a request reads it once); the model stays pinned
    /// (not evicted for another) while the returned pin lives. `None` for a remote model.
    async fn load_model(&self, model: ModelFile) -> Result<Option<Pin>> {
        if !model.is_local() {
            return Ok(None);
        }
        let path = self.jan().models().weights_path_of(&model)?;
        // The load runs to its end even when the caller goes away (an HTTP client that disconnected, a request
        // past its timeout): stopping half-way would waste the weights read so far and leave the model `loading`.
        let inner = self.inner.clone();
        let id = model.id.clone();
        tokio::spawn(async move { inner.scheduler.load(&model, path).await })
            .await
            .map_err(|e| crate::Error::Engine(format!("loading {id}: {e}")))?
            .map(Some)
    }

    /// Jan's "start model": loads it and answers when it is ready.
    pub async fn start(&self, model_id: &str) -> Result<ModelStateInfo> {
        self.load(model_id).await?;
        Ok(ModelStateInfo::new(model_id, "ready", "the model is loaded"))
    }

    /// Jan's "stop model": a model that exists but is not loaded is already stopped; one that does not exist is
    /// `model_not_found`.
    pub async fn stop(&self, model_id: &str) -> Result<ModelStateInfo> {
        self.jan().models().get(model_id).await?;
        let message = if self.inner.scheduler.is_loaded(model_id) {
            match self.unload(model_id).await {
                Ok(()) | Err(Error::NotFound { .. }) => "the model is unloaded",
                Err(e) => return Err(e),
            }
        } else {
            "the model was not loaded"
        };
        Ok(ModelStateInfo::new(model_id, "stopped", message))
    }

    /// Unloads a model (Jan's "stop model"); its running requests end as cancelled.
    pub async fn unload(&self, model_id: &str) -> Result<()> {
        ids::check(IdKind::Model, model_id)?;
        let inner = self.inner.clone();
        let id = model_id.to_owned();
        // Emits model_state stopped when it unloads.
        let was_loaded = blocking(move || Ok(inner.scheduler.unload(&id))).await?;
        if !was_loaded {
            return Err(Error::NotFound { kind: "loaded model", id: model_id.to_owned() });
        }
        Ok(())
    }

    /// The loaded local models.
    pub fn loaded(&self) -> Vec<LoadedModel> {
        self.inner.scheduler.list()
    }

    /// The ids of the local models being loaded now.
    pub fn loading(&self) -> Vec<String> {
        self.inner.scheduler.loading()
    }

    /// Queue depth and token counters summed over loaded models (for metrics).
    pub fn counters(&self) -> InferenceCounters {
        let mut c = InferenceCounters::default();
        for (_, s) in self.inner.scheduler.stats() {
            use std::sync::atomic::Ordering::Relaxed;
            c.queued += s.queued.load(Relaxed);
            c.active += s.active.load(Relaxed);
            c.prompt_tokens += s.prompt_tokens.load(Relaxed);
            c.generated_tokens += s.generated_tokens.load(Relaxed);
            c.cached_tokens += s.cached_tokens.load(Relaxed);
        }
        c
    }

    /// Starts a chat completion. The request is checked and its prompt prepared first (a local model is loaded
    /// if needed): any mistake, an unknown model or a prompt over the context is an `Err` here, before anything is
    /// queued. A full queue is `overloaded` at once.
    pub async fn chat(&self, request: ChatCompletionRequest) -> Result<CompletionStream> {
        prepare::check_model_name(&request.model)?;
        let messages = prepare::chat_messages(request.messages.as_deref())?;
        let model = self.jan().models().get(&request.model).await?;
        let resolved = prepare::resolve(&model.parameters, &request.fields)?;
        let tools = request.tools.filter(|t| !t.is_null());
        self.run_chat(&model, messages, tools, resolved).await
    }

    /// Starts a raw text completion (no chat template), prepared as [`InferenceApi::chat`].
    pub async fn complete(&self, request: TextCompletionRequest) -> Result<CompletionStream> {
        prepare::check_model_name(&request.model)?;
        let prompt = prepare::prompt_text(request.prompt.as_ref())?;
        let model = self.jan().models().get(&request.model).await?;
        let resolved = prepare::resolve(&model.parameters, &request.fields)?;
        if !model.is_local() {
            let request = CompletionRequest {
                model: model.id.clone(),
                prompt,
                sampling: resolved.sampling,
                max_tokens: resolved.max_tokens,
                stop: resolved.stop,
            };
            let engine = self.remote(&model).await?;
            let (tx, stream) = channel();
            tokio::spawn(async move { engine.complete(&request, tx).await });
            return Ok(stream);
        }
        self.submit_local(&model, Prompt::Text(prompt), resolved).await
    }

    /// A checked chat on `model`, local or remote (thread replies come here too).
    pub(crate) async fn run_chat(
        &self,
        model: &ModelFile,
        messages: Vec<ChatMessage>,
        tools: Option<Value>,
        resolved: Resolved,
    ) -> Result<CompletionStream> {
        if !model.is_local() {
            let request = ChatRequest {
                model: model.id.clone(),
                messages,
                sampling: resolved.sampling,
                max_tokens: resolved.max_tokens,
                stop: resolved.stop,
                tools,
            };
            let engine = self.remote(model).await?;
            let (tx, stream) = channel();
            tokio::spawn(async move { engine.chat(&request, tx).await });
            return Ok(stream);
        }
        self.submit_local(model, Prompt::Chat { messages, tools }, resolved).await
    }

    /// Loads the model if needed, prepares the prompt on the blocking pool, and queues it. A model unloaded
    /// between its preparation and the queue (evicted for another) is loaded again.
    async fn submit_local(&self, model: &ModelFile, prompt: Prompt, resolved: Resolved) -> Result<CompletionStream> {
        let prompt = Arc::new(prompt);
        for _ in 0..3 {
            // Pinned from here until queued, so that another model's load cannot evict it meanwhile.
            let pinned = match self.inner.scheduler.pin(&model.id) {
                Some(found) => Some(found),
                None => {
                    // The load's own pin holds the model until this one is taken.
                    let _loaded = self.load_model(model.clone()).await?;
                    self.inner.scheduler.pin(&model.id)
                }
            };
            // Not loaded after all: unloaded by hand since (a pin does not stop `unload`).
            let Some((prompter, _pin)) = pinned else { continue };
            let tokens = tokenize(prompter, prompt.clone()).await?;
            let (tx, stream) = channel();
            let job = Job {
                tokens,
                tools: prompt.tools().cloned(),
                sampling: resolved.sampling.resolve(),
                max_tokens: resolved.max_tokens,
                stop: resolved.stop.clone(),
                out: tx,
                enqueued: Instant::now(),
            };
            if let Some(queued) = self.inner.scheduler.submit(&model.id, job) {
                return queued.map(|()| stream);
            }
        }
        Err(Error::Engine(format!("model '{}' was unloaded while the request was prepared", model.id)))
    }

    /// The remote engine for a model whose `engine` is not local, from `engines/<engine>.json`: one per engine
    /// and settings, kept while they stay the same, so that the parameters an upstream refused stay left out.
    async fn remote(&self, model: &ModelFile) -> Result<RemoteEngine> {
        let settings = self.engine_settings(&model.engine).await?;
        let (url, key) = (settings.full_url.trim(), settings.api_key.trim());
        if url.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "the '{}' engine has no URL; set it in the remote engine settings",
                model.engine
            )));
        }
        // The settings' fingerprint, not the key itself, is kept beside the engine (`Inner` is `Debug`).
        let fingerprint: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::new().chain_update(url).chain_update([0]).chain_update(key).finalize().into()
        };
        let mut remotes = self.inner.remotes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, engine)) = remotes.get(&model.engine)
            && *seen == fingerprint
        {
            return Ok(engine.clone());
        }
        let mut config = RemoteConfig::new(url);
        if !key.is_empty() {
            config = config.with_api_key(key);
        }
        let engine = RemoteEngine::new(config, self.inner.http.clone())?;
        remotes.insert(model.engine.clone(), (fingerprint, engine.clone()));
        Ok(engine)
    }

    /// A remote engine's settings as clients see them (the key masked).
    pub async fn engine(&self, engine: &str) -> Result<EngineView> {
        let settings = self.engine_settings(engine).await?;
        Ok(engine_view(engine, &settings))
    }

    /// Sets a remote engine's URL and key; without `api_key` the key stays as it is, `""` removes it.
    pub async fn set_engine(&self, engine: &str, update: EngineSettingsUpdate) -> Result<EngineView> {
        let key = match update.api_key {
            Some(key) => key,
            None => self.engine_settings(engine).await?.api_key,
        };
        let settings = self.set_engine_settings(engine, &update.full_url, &key).await?;
        Ok(engine_view(engine, &settings))
    }

    /// A remote engine's settings (`engines/<engine>.json`); empty when the file does not exist.
    pub async fn engine_settings(&self, engine: &str) -> Result<EngineSettings> {
        let path = self.inner.object_dir("engines", IdKind::Model, engine)?.with_extension("json");
        blocking(move || {
            if !path.is_file() {
                return Ok(EngineSettings::default());
            }
            storage::read_json(&path)
        })
        .await
    }

    /// Changes a remote engine's URL and key (other keys of the file are kept).
    pub async fn set_engine_settings(&self, engine: &str, full_url: &str, api_key: &str) -> Result<EngineSettings> {
        let path = self.inner.object_dir("engines", IdKind::Model, engine)?.with_extension("json");
        let url = url::Url::parse(full_url.trim())
            .map_err(|e| Error::InvalidRequest(format!("the engine URL is not valid: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::InvalidRequest("the engine URL must be http or https".into()));
        }
        let _guard = self.inner.locks.lock(format!("engine/{engine}")).await;
        let (full_url, api_key) = (full_url.trim().to_owned(), api_key.trim().to_owned());
        blocking(move || {
            let mut settings: EngineSettings =
                if path.is_file() { storage::read_json(&path)? } else { Default::default() };
            settings.full_url = full_url;
            settings.api_key = api_key;
            // It holds the API key: readable by this user only.
            storage::write_secret_json(&path, &settings)?;
            Ok(settings)
        })
        .await
    }
}

/// Totals over loaded models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InferenceCounters {
    pub queued: usize,
    pub active: usize,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub cached_tokens: usize,
}

fn engine_view(engine: &str, settings: &EngineSettings) -> EngineView {
    EngineView {
        engine: engine.to_owned(),
        full_url: settings.full_url.clone(),
        api_key: mask_key(&settings.api_key),
        api_key_set: !settings.api_key.is_empty(),
    }
}

/// Renders and tokenizes on tokio's blocking pool: a long prompt never holds up an async worker or the engine.
async fn tokenize(prompter: Arc<Prompter>, prompt: Arc<Prompt>) -> Result<Vec<u32>> {
    blocking(move || prompter.tokens(&prompt)).await
}
