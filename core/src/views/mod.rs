//! The JSON objects the hosts send and take, as typed structs: host-web sends them over HTTP and bindings-node over
//! the desktop's IPC, so the one UI reads the same shapes whichever transport carries them. bindings-node's
//! `wire.d.ts` (feature `typescript`) and host-web's OpenAPI schemas (feature `openapi`) are generated from these
//! types and the data types they hold; nothing else describes them.

pub mod openai;

use futures::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{ErrorBody, ErrorCode};
use crate::inference::{FinishReason, InferenceCounters, LoadedModel, StreamItem, ThreadReply, Timings, Usage};
use crate::models::ModelFile;
use crate::system::SystemInfo;
use crate::threads::Message;
use crate::{Error, Jan, Result};

/// A model as OpenAI's clients expect it (`id`, `object`, `created`, `owned_by`) with all of Jan's model.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "Model", optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Model))]
pub struct ModelView {
    #[serde(flatten)]
    pub model: ModelFile,
    /// The model's author, else `jan`.
    pub owned_by: String,
    /// Catalog entries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CatalogStatus>,
    /// While the model is loaded: its device, the context of each of its slots, how many slots (requests at
    /// once), its memory and its queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loaded: Option<LoadedModel>,
}

impl ModelView {
    pub fn of(model: &ModelFile) -> Self {
        let mut model = model.clone();
        model.object = "model".to_owned();
        model.created.get_or_insert(0);
        let owned_by = model.metadata.author.clone().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "jan".into());
        ModelView { model, owned_by, status: None, loaded: None }
    }

    /// The view with how the model runs, when `loaded` (from `jan.inference().loaded()`) lists it.
    pub fn with_loaded(mut self, loaded: &[LoadedModel]) -> Self {
        self.loaded = loaded.iter().find(|l| l.model_id == self.model.id).cloned();
        self
    }
}

/// Where a catalog model stands on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CatalogStatus {
    Downloaded,
    Downloading,
    Available,
}

/// The answer to starting or stopping a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelStateInfo {
    pub id: String,
    /// Always `model`.
    pub object: String,
    /// `ready` or `stopped`.
    pub state: String,
    pub message: String,
}

impl ModelStateInfo {
    pub(crate) fn new(id: &str, state: &str, message: &str) -> Self {
        ModelStateInfo { id: id.to_owned(), object: "model".into(), state: state.into(), message: message.into() }
    }
}

/// The answer to starting a download; progress, completion and failure come as events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadStarted {
    /// The download's id (to cancel it).
    pub id: String,
    /// Always `download`.
    pub object: String,
    pub model_id: String,
    /// Always `downloading`.
    pub status: String,
    pub message: String,
}

/// The answer to cancelling a download (its partial files are removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadCancelled {
    pub id: String,
    /// Always `download`.
    pub object: String,
    pub cancelled: bool,
}

impl DownloadCancelled {
    pub fn of(id: &str) -> Self {
        DownloadCancelled { id: id.to_owned(), object: "download".into(), cancelled: true }
    }
}

/// The system monitor: the machine, the loaded models and the inference counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "SystemInfo"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SystemMonitor))]
pub struct SystemView {
    #[serde(flatten)]
    pub info: SystemInfo,
    pub loaded_models: Vec<LoadedModel>,
    pub inference: InferenceCounters,
}

/// A remote engine's settings as clients see them: the key is never sent back in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "EngineSettings"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EngineSettings))]
pub struct EngineView {
    pub engine: String,
    pub full_url: String,
    /// Masked: at most the last 4 characters (see [`mask_key`]).
    pub api_key: String,
    pub api_key_set: bool,
}

/// A change to a remote engine's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EngineSettingsUpdate {
    /// The chat completions URL or the API's base URL (http or https).
    pub full_url: String,
    /// Left out: the key stays as it is (clients never have it); `""` removes it.
    #[serde(default)]
    pub api_key: Option<String>,
}

/// A key shown as its last four characters (long keys only), so the user can tell which one is set.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 16 => format!("••••{}", chars[n - 4..].iter().collect::<String>()),
        _ => "••••".to_owned(),
    }
}

/// OpenAI's answer to a delete: the id, what was deleted, `deleted: true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub id: String,
    /// `model`, `thread.deleted`, `thread.message.deleted` or `assistant.deleted`, as OpenAI names them.
    pub object: String,
    pub deleted: bool,
}

impl Deleted {
    fn of(id: &str, object: &str) -> Self {
        Deleted { id: id.to_owned(), object: object.to_owned(), deleted: true }
    }

    pub fn model(id: &str) -> Self {
        Deleted::of(id, "model")
    }

    pub fn thread(id: &str) -> Self {
        Deleted::of(id, "thread.deleted")
    }

    pub fn message(id: &str) -> Self {
        Deleted::of(id, "thread.message.deleted")
    }

    pub fn assistant(id: &str) -> Self {
        Deleted::of(id, "assistant.deleted")
    }
}

/// OpenAI's list shape, `{"object": "list", "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct List<T> {
    /// Always `list`.
    pub object: String,
    pub data: Vec<T>,
}

impl<T> List<T> {
    pub fn of(data: Vec<T>) -> Self {
        List { object: "list".to_owned(), data }
    }
}

/// A thread's messages, oldest first, in OpenAI's list shape with its cursor fields (everything fits one page).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Message>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

impl MessageList {
    pub fn of(data: Vec<Message>) -> Self {
        let first_id = data.first().map(|m| m.id.clone());
        let last_id = data.last().map(|m| m.id.clone());
        MessageList { object: "list".to_owned(), data, first_id, last_id, has_more: false }
    }
}

/// A new message's `content` as Jan's parts: a string becomes one text part; a part whose `text` is a string
/// gets Jan's `{value, annotations}`.
fn normalise_content(body: &mut Value) -> Result<()> {
    if !body.is_object() {
        return Err(Error::Field {
            code: ErrorCode::InvalidBody,
            param: None,
            message: "the message must be a JSON object".into(),
        });
    }
    let Some(content) = body.get_mut("content") else { return Ok(()) };
    match content {
        Value::String(text) => *content = json!([{"type": "text", "text": {"value": text, "annotations": []}}]),
        Value::Array(parts) => {
            for part in parts {
                if let Some(text) = part.get_mut("text").filter(|t| t.is_string()) {
                    *text = json!({"value": text, "annotations": []});
                }
            }
        }
        Value::Null => *content = json!([]),
        _ => {
            return Err(Error::field(
                ErrorCode::InvalidType,
                "content",
                "`content` must be a string or an array of content parts",
            ));
        }
    }
    Ok(())
}

/// A typed request from a client's JSON, with an error that names the field at fault (see [`crate::json`]).
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T> {
    crate::json::from_value(value)
}

/// A new message from a client's JSON: `content` may be a string, OpenAI's parts or Jan's.
pub fn new_message(mut value: Value) -> Result<crate::threads::NewMessage> {
    normalise_content(&mut value)?;
    parse(value)
}

/// A change to a message from a client's JSON, `content` as in [`new_message`].
pub fn message_update(mut value: Value) -> Result<crate::threads::MessageUpdate> {
    normalise_content(&mut value)?;
    parse(value)
}

/// One event of a thread's reply, in order: `message` (the pending assistant message), `delta`s, then exactly one
/// `done` or `error`. `done` is the reply's outcome as both hosts' clients get it (host-web's last SSE event,
/// napi's `wait()`): how it ended, whether it was stopped, the message as saved, usage and timings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReplyEvent {
    Message {
        message: Message,
    },
    Delta {
        delta: String,
    },
    Done {
        finish_reason: FinishReason,
        /// The user (or the client going away) stopped it: the message is saved `stopped`.
        stopped: bool,
        message_id: String,
        usage: Usage,
        timings: Timings,
        /// The message as saved.
        message: Option<Message>,
    },
    Error {
        error: ErrorBody,
    },
}

impl ReplyEvent {
    /// The error event of a failed reply (an internal error's detail stays out).
    pub fn error(e: &Error) -> Self {
        ReplyEvent::Error { error: ErrorBody::from(e) }
    }

    /// True for the last event of a reply.
    pub fn is_last(&self) -> bool {
        matches!(self, ReplyEvent::Done { .. } | ReplyEvent::Error { .. })
    }
}

/// A thread's reply as its events. The stream owns the core's [`CompletionStream`](crate::inference::CompletionStream):
/// dropping it stops the reply, which the core saves as `stopped`.
pub fn reply_events(
    jan: Jan,
    thread_id: String,
    reply: ThreadReply,
) -> impl Stream<Item = ReplyEvent> + Send + 'static {
    struct State {
        jan: Jan,
        thread_id: String,
        reply: ThreadReply,
        started: bool,
    }
    let state = State { jan, thread_id, reply, started: false };
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        if !s.started {
            s.started = true;
            let first = ReplyEvent::Message { message: s.reply.message.clone() };
            return Some((first, Some(s)));
        }
        let event = loop {
            match s.reply.stream.recv().await {
                // Tool calls come with the saved message (its `metadata.tool_calls`) in `Done`.
                Some(StreamItem::ToolCall(_)) => {}
                Some(StreamItem::Delta(delta)) => return Some((ReplyEvent::Delta { delta }, Some(s))),
                Some(StreamItem::Done(done)) => {
                    // The core saved the message before ending the stream.
                    let message = s.jan.threads().message(&s.thread_id, &s.reply.message.id).await.ok();
                    break ReplyEvent::Done {
                        finish_reason: done.finish_reason,
                        stopped: done.finish_reason == FinishReason::Cancelled,
                        message_id: s.reply.message.id.clone(),
                        usage: done.usage,
                        timings: done.timings,
                        message,
                    };
                }
                Some(StreamItem::Error(e)) => break ReplyEvent::error(&e),
                None => break ReplyEvent::error(&Error::Cancelled("the reply".into())),
            }
        };
        Some((event, None))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_have_openai_fields() {
        let file: ModelFile = serde_json::from_value(json!({"id": "m", "metadata": {"author": "Q"}})).unwrap();
        let view = serde_json::to_value(ModelView::of(&file)).unwrap();
        assert_eq!((view["object"].as_str(), view["created"].as_i64()), (Some("model"), Some(0)));
        assert_eq!(view["owned_by"], "Q");
        assert!(view.get("status").is_none());
    }

    #[test]
    fn keys_are_masked() {
        assert_eq!(mask_key(""), "");
        assert_eq!(mask_key("short-key"), "••••");
        assert_eq!(mask_key("sk-abcdefghijklmnopqrstuvwxyz1234"), "••••1234");
    }

    #[test]
    fn content_becomes_jan_parts() {
        let mut body = json!({"role": "user", "content": "hi"});
        normalise_content(&mut body).unwrap();
        assert_eq!(body["content"][0]["text"], json!({"value": "hi", "annotations": []}));
        let mut body = json!({"role": "user", "content": [{"type": "text", "text": "a"}]});
        normalise_content(&mut body).unwrap();
        assert_eq!(body["content"][0]["text"], json!({"value": "a", "annotations": []}));
        let mut body = json!({"role": "user", "content": 3});
        assert_eq!(normalise_content(&mut body).unwrap_err().code(), "invalid_type");
        assert_eq!(normalise_content(&mut json!([1])).unwrap_err().code(), "invalid_body");
    }

    #[test]
    fn parse_names_the_problem() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            title: String,
        }
        let err = parse::<T>(json!({"title": 3})).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        assert_eq!(err.param(), Some("title"));
    }
}
