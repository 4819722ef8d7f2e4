//! The inference area of the facade: load / unload models, chat and text completions (local or remote), and
//! replies in a Jan thread that are saved as they finish.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::engine::{Job, Prompt};
use super::remote::{RemoteConfig, RemoteEngine};
use super::scheduler::LoadedModel;
use super::stream::{CompletionStream, channel};
use super::types::{
    ChatMessage, ChatRequest, CompletionRequest, FinishReason, SamplingOptions, SamplingParams, StreamItem,
};
use crate::error::{Error, Result};
use crate::events::{Event, ModelState};
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::models::{ModelFile, ModelParameters};
use crate::storage::{self, blocking};
use crate::threads::{MessageStatus, MessageUpdate, NewMessage, Role};

/// The metadata key of a saved reply's tool calls (OpenAI's `tool_calls` list), sent back with the conversation.
const TOOL_CALLS: &str = "tool_calls";

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

/// A reply being generated in a thread.
#[derive(Debug)]
pub struct ThreadReply {
    /// The assistant message, `pending` until the stream ends; then `ready`, `stopped` or `error` in the file.
    pub message: crate::threads::Message,
    /// The same text deltas as the `message_delta` events; dropping it or calling `stop` stops the reply.
    pub stream: CompletionStream,
}

/// Inference. Get it from [`crate::Jan::inference`].
#[derive(Debug, Clone)]
pub struct InferenceApi {
    inner: Arc<Inner>,
}

impl InferenceApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        InferenceApi { inner }
    }

    fn jan(&self) -> crate::Jan {
        crate::Jan::from_inner(self.inner.clone())
    }

    /// Loads a local model (Jan's "start model"). Remote models need no loading.
    pub async fn load(&self, model_id: &str) -> Result<()> {
        let model = self.jan().models().get(model_id).await?;
        if !model.is_local() {
            return Ok(());
        }
        let path = self.jan().models().weights_path(model_id).await?;
        // The load runs to its end even when the caller goes away (an HTTP client that disconnected, a request
        // past its timeout): stopping half-way would waste the weights read so far and leave the model `loading`.
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.scheduler.load(&inner, &model, path).await })
            .await
            .map_err(|e| crate::Error::Engine(format!("loading {model_id}: {e}")))?
    }

    /// Unloads a model (Jan's "stop model"); its running requests end as cancelled.
    pub async fn unload(&self, model_id: &str) -> Result<()> {
        ids::check(IdKind::Model, model_id)?;
        let scheduler = self.inner.clone();
        let id = model_id.to_owned();
        let was_loaded = blocking(move || Ok(scheduler.scheduler.unload(&id))).await?;
        if !was_loaded {
            return Err(Error::NotFound { kind: "loaded model", id: model_id.to_owned() });
        }
        self.inner.emit(Event::ModelState { model_id: model_id.to_owned(), state: ModelState::Stopped });
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

    /// Starts a chat completion. A local model is loaded first if needed; a full queue is `overloaded` at once.
    pub async fn chat(&self, request: ChatRequest) -> Result<CompletionStream> {
        let model = self.jan().models().get(&request.model).await?;
        if !model.is_local() {
            let engine = self.remote(&model).await?;
            let (tx, stream) = channel();
            tokio::spawn(async move { engine.chat(&request, tx).await });
            return Ok(stream);
        }
        let prompt = Prompt::Chat { messages: request.messages, tools: request.tools };
        self.submit_local(&model, prompt, request.sampling.resolve(), request.max_tokens, request.stop).await
    }

    /// Starts a raw text completion (no chat template).
    pub async fn complete(&self, request: CompletionRequest) -> Result<CompletionStream> {
        let model = self.jan().models().get(&request.model).await?;
        if !model.is_local() {
            let engine = self.remote(&model).await?;
            let (tx, stream) = channel();
            tokio::spawn(async move { engine.complete(&request, tx).await });
            return Ok(stream);
        }
        let prompt = Prompt::Text(request.prompt);
        self.submit_local(&model, prompt, request.sampling.resolve(), request.max_tokens, request.stop).await
    }

    async fn submit_local(
        &self,
        model: &ModelFile,
        prompt: Prompt,
        sampling: SamplingParams,
        max_tokens: Option<u32>,
        stop: Vec<String>,
    ) -> Result<CompletionStream> {
        let (tx, stream) = channel();
        let job = Job { prompt, sampling, max_tokens, stop, out: tx, enqueued: Instant::now() };
        if !self.inner.scheduler.is_loaded(&model.id) {
            self.load(&model.id).await?;
        }
        match self.inner.scheduler.submit(&model.id, job) {
            Some(result) => result.map(|()| stream),
            None => Err(Error::Engine(format!("model '{}' was unloaded while the request was queued", model.id))),
        }
    }

    /// A remote engine for a model whose `engine` is not local, from `engines/<engine>.json`.
    async fn remote(&self, model: &ModelFile) -> Result<RemoteEngine> {
        let settings = self.engine_settings(&model.engine).await?;
        if settings.full_url.trim().is_empty() {
            return Err(Error::InvalidRequest(format!(
                "the '{}' engine has no URL; set it in the remote engine settings",
                model.engine
            )));
        }
        let mut config = RemoteConfig::new(settings.full_url.trim());
        if !settings.api_key.trim().is_empty() {
            config = config.with_api_key(settings.api_key.trim());
        }
        RemoteEngine::new(config, self.inner.http.clone())
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
            storage::write_json(&path, &settings)?;
            Ok(settings)
        })
        .await
    }

    /// Generates the assistant's reply to a thread (Jan's "send"): the thread's messages and its effective
    /// settings (thread over assistant over model) make the request; a pending assistant message is appended,
    /// text arrives as `message_delta` events and on the returned stream, and the message is saved as `ready`,
    /// `stopped` or `error` when the reply ends. Dropping the stream stops the reply. Tool calls in the reply (the
    /// request offers no tools yet, but an upstream may call some anyway) are saved in its `metadata.tool_calls`
    /// and go back to the model with the conversation.
    pub async fn reply_in_thread(&self, thread_id: &str) -> Result<ThreadReply> {
        let jan = self.jan();
        let thread = jan.threads().get(thread_id).await?;
        let settings = jan.threads().effective_settings(thread_id).await?;
        let model_id = settings
            .model_id
            .clone()
            .ok_or_else(|| Error::InvalidRequest("the thread has no model; choose one first".into()))?;
        let mut messages = Vec::new();
        if let Some(instructions) = settings.instructions.as_deref().filter(|i| !i.trim().is_empty()) {
            messages.push(ChatMessage::new("system", instructions));
        }
        for m in jan.threads().messages(thread_id).await? {
            let usable = matches!(m.status, MessageStatus::Ready | MessageStatus::Stopped);
            let text = m.text();
            // A reply that called tools keeps its calls in `metadata.tool_calls` (see below).
            let tool_calls = match m.role {
                Role::Assistant => m.metadata.as_ref().and_then(|meta| meta.get(TOOL_CALLS)),
                _ => None,
            }
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()));
            if usable && (!text.is_empty() || tool_calls.is_some()) {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::Tool => "tool",
                };
                messages.push(ChatMessage { tool_calls: tool_calls.cloned(), ..ChatMessage::new(role, text) });
            }
        }
        let parameters = &settings.parameters;
        let request = ChatRequest {
            model: model_id,
            messages,
            sampling: sampling_from(parameters),
            max_tokens: parameters.max_tokens.map(|m| m.min(u32::MAX as u64) as u32),
            stop: parameters.stop.clone().unwrap_or_default(),
            tools: None,
        };
        let assistant_id = thread.assistant().map_or("jan", |a| a.assistant_id.as_str()).to_owned();
        let mut engine = self.chat(request).await?;
        let message = jan.threads().add_message(thread_id, NewMessage::pending_reply(assistant_id)).await?;
        let (tx, stream) = channel();
        let (inner, thread_id, message_id) = (self.inner.clone(), thread_id.to_owned(), message.id.clone());
        tokio::spawn(async move {
            let mut text = String::new();
            let outcome = loop {
                let item = tokio::select! {
                    item = engine.recv() => item,
                    _ = tx.cancelled() => { engine.stop(); engine.recv().await }
                };
                match item {
                    Some(StreamItem::Delta(delta)) => {
                        text.push_str(&delta);
                        inner.emit(Event::MessageDelta {
                            thread_id: thread_id.clone(),
                            message_id: message_id.clone(),
                            delta: delta.clone(),
                        });
                        tx.send(StreamItem::Delta(delta)).await;
                    }
                    Some(StreamItem::ToolCall(call)) => {
                        tx.send(StreamItem::ToolCall(call)).await;
                    }
                    Some(StreamItem::Done(done)) => break Ok(done),
                    Some(StreamItem::Error(e)) => break Err(e),
                    None => break Err(Error::Cancelled("the reply".into())),
                }
            };
            let jan = crate::Jan::from_inner(inner);
            let update = match &outcome {
                Ok(done) => {
                    let status = match done.finish_reason {
                        FinishReason::Cancelled => MessageStatus::Stopped,
                        _ => MessageStatus::Ready,
                    };
                    let mut update = MessageUpdate::finish(done.text.clone(), status);
                    let mut meta = Map::new();
                    meta.insert("usage".into(), serde_json::to_value(done.usage).unwrap_or(Value::Null));
                    meta.insert("timings".into(), serde_json::to_value(done.timings).unwrap_or(Value::Null));
                    if !done.tool_calls.is_empty() {
                        meta.insert(TOOL_CALLS.into(), serde_json::to_value(&done.tool_calls).unwrap_or(Value::Null));
                    }
                    update.metadata = Some(meta);
                    update
                }
                Err(e) => {
                    let mut update = MessageUpdate::finish(text, MessageStatus::Error);
                    let mut meta = Map::new();
                    meta.insert("error".into(), serde_json::json!({"code": e.code(), "message": e.to_string()}));
                    update.metadata = Some(meta);
                    update
                }
            };
            if let Err(e) = jan.threads().update_message(&thread_id, &message_id, update).await {
                tracing::warn!(thread = %thread_id, error = %e, "could not save the finished reply");
            }
            match outcome {
                Ok(done) => tx.send(StreamItem::Done(done)).await,
                Err(e) => tx.send(StreamItem::Error(e)).await,
            };
        });
        Ok(ThreadReply { message, stream })
    }
}

/// Totals over loaded models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InferenceCounters {
    pub queued: usize,
    pub active: usize,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub cached_tokens: usize,
}

/// Sampling from Jan's model / thread parameters: what they set is set; what they leave out stays unset (a local
/// model then uses llama.cpp's default, a remote one the upstream's).
pub fn sampling_from(p: &ModelParameters) -> SamplingOptions {
    let int = |k: &str| p.extra.get(k).and_then(Value::as_u64);
    let float = |k: &str| p.extra.get(k).and_then(Value::as_f64).map(|v| v as f32);
    SamplingOptions {
        temperature: p.temperature.map(|t| t as f32),
        top_k: p.top_k.map(|k| k as usize),
        top_p: p.top_p.map(|v| v as f32),
        min_p: float("min_p"),
        repeat_penalty: float("repeat_penalty"),
        repeat_last_n: int("repeat_last_n").map(|v| v as usize),
        frequency_penalty: p.frequency_penalty.map(|v| v as f32),
        presence_penalty: p.presence_penalty.map(|v| v as f32),
        seed: int("seed"),
    }
}
