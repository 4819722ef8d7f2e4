//! The JSON objects the hosts hand to the UI and to API clients: host-web sends them over HTTP and bindings-node
//! over the desktop's IPC, so the one UI reads the same shapes whichever transport carries them. Each function is
//! one view of core data (or one small operation whose answer is such a view); hosts add only their transport.

use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ErrorCode;
use crate::inference::{EngineSettings, FinishReason, StreamItem, ThreadReply, Timings, Usage};
use crate::models::ModelFile;
use crate::threads::Message;
use crate::{Error, Jan, Result};

/// A model as OpenAI's clients expect it (`id`, `object`, `created`, `owned_by`) with all of Jan's fields.
pub fn model(model: &ModelFile) -> Value {
    let mut value = serde_json::to_value(model).unwrap_or_else(|_| json!({"id": model.id}));
    if let Some(object) = value.as_object_mut() {
        object.insert("object".into(), json!("model"));
        object.entry("created").or_insert(json!(0));
        let owner = model.metadata.author.clone().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "jan".into());
        object.insert("owned_by".into(), json!(owner));
    }
    value
}

/// The built-in catalog, each entry a [`model`] with `status`: `downloaded`, `downloading` or `available`.
pub async fn catalog(jan: &Jan) -> Result<Vec<Value>> {
    let ready: Vec<String> = jan.models().list().await?.into_iter().map(|m| m.id).collect();
    let downloading: Vec<String> = jan.downloads().list().into_iter().map(|d| d.model_id).collect();
    let catalog = jan.models().catalog();
    let items = catalog.iter().map(|m| {
        let status = if ready.contains(&m.id) {
            "downloaded"
        } else if downloading.contains(&m.id) {
            "downloading"
        } else {
            "available"
        };
        let mut item = model(m);
        item["status"] = json!(status);
        item
    });
    Ok(items.collect())
}

/// Loads a model (Jan's "start"); answers when it is ready.
pub async fn start_model(jan: &Jan, id: &str) -> Result<Value> {
    jan.inference().load(id).await?;
    Ok(json!({"id": id, "object": "model", "state": "ready", "message": "the model is loaded"}))
}

/// Unloads a model (Jan's "stop"). A model that exists but is not loaded is already stopped; one that does not
/// exist is `NotFound`.
pub async fn stop_model(jan: &Jan, id: &str) -> Result<Value> {
    jan.models().get(id).await?;
    let loaded = jan.inference().loaded().iter().any(|m| m.model_id == id);
    let message = if loaded {
        match jan.inference().unload(id).await {
            Ok(()) | Err(Error::NotFound { .. }) => "the model is unloaded",
            Err(e) => return Err(e),
        }
    } else {
        "the model was not loaded"
    };
    Ok(json!({"id": id, "object": "model", "state": "stopped", "message": message}))
}

/// Starts downloading a catalog model and answers at once; progress, completion and failure are events.
pub async fn download_model(jan: &Jan, id: &str) -> Result<Value> {
    let handle = jan.models().download(id).await?;
    Ok(json!({"id": handle.id, "object": "download", "model_id": id, "status": "downloading",
              "message": "the download started; its progress comes as events"}))
}

/// The system monitor with the loaded models and the inference counters.
pub async fn system(jan: &Jan) -> Result<Value> {
    let info = jan.system().info().await?;
    let mut body = serde_json::to_value(info).map_err(|e| Error::Engine(format!("system info: {e}")))?;
    body["loaded_models"] = json!(jan.inference().loaded());
    body["inference"] = json!(jan.inference().counters());
    Ok(body)
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

/// A remote engine's settings as the UI sees them: the key is never sent back in full.
pub fn engine(engine: &str, settings: &EngineSettings) -> Value {
    json!({
        "engine": engine,
        "full_url": settings.full_url,
        "api_key": mask_key(&settings.api_key),
        "api_key_set": !settings.api_key.is_empty(),
    })
}

/// Sets a remote engine's URL and key; without `api_key` the key stays as it is (the UI never has it), `""`
/// removes it.
pub async fn set_engine(jan: &Jan, name: &str, full_url: &str, api_key: Option<String>) -> Result<Value> {
    let inference = jan.inference();
    let key = match api_key {
        Some(key) => key,
        None => inference.engine_settings(name).await?.api_key,
    };
    let settings = inference.set_engine_settings(name, full_url, &key).await?;
    Ok(engine(name, &settings))
}

/// OpenAI's answer to a delete: the id, what was deleted, `deleted: true`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deleted {
    pub id: String,
    /// `model`, `thread.deleted`, `thread.message.deleted` or `assistant.deleted`, as OpenAI names them.
    pub object: &'static str,
    pub deleted: bool,
}

impl Deleted {
    fn of(id: &str, object: &'static str) -> Self {
        Deleted { id: id.to_owned(), object, deleted: true }
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

/// One event of a thread's reply, in order: `Message` (the pending assistant message), `Delta`s, then exactly one
/// `Done` or `Error`.
#[derive(Debug)]
pub enum ReplyEvent {
    Message(Message),
    Delta(String),
    Done { finish_reason: FinishReason, usage: Usage, timings: Timings, message: Option<Message> },
    Error(Error),
}

impl ReplyEvent {
    /// The event as the UI reads it, with its `type`. `error` carries the error's `message`, `type` and `code`.
    pub fn to_json(&self) -> Value {
        match self {
            ReplyEvent::Message(message) => json!({"type": "message", "message": message}),
            ReplyEvent::Delta(delta) => json!({"type": "delta", "delta": delta}),
            ReplyEvent::Done { finish_reason, usage, timings, message } => json!({"type": "done",
                "finish_reason": finish_reason, "usage": usage, "timings": timings, "message": message}),
            ReplyEvent::Error(e) => {
                let (_, kind) = e.http_status();
                json!({"type": "error", "error": {"message": e.public_message(), "type": kind, "code": e.code()}})
            }
        }
    }

    /// True for the last event of a reply.
    pub fn is_last(&self) -> bool {
        matches!(self, ReplyEvent::Done { .. } | ReplyEvent::Error(_))
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
            let first = ReplyEvent::Message(s.reply.message.clone());
            return Some((first, Some(s)));
        }
        let event = loop {
            match s.reply.stream.recv().await {
                // Tool calls come with the saved message (its `metadata.tool_calls`) in `Done`.
                Some(StreamItem::ToolCall(_)) => {}
                Some(StreamItem::Delta(delta)) => return Some((ReplyEvent::Delta(delta), Some(s))),
                Some(StreamItem::Done(done)) => {
                    // The core saved the message before ending the stream.
                    let message = s.jan.threads().message(&s.thread_id, &s.reply.message.id).await.ok();
                    break ReplyEvent::Done {
                        finish_reason: done.finish_reason,
                        usage: done.usage,
                        timings: done.timings,
                        message,
                    };
                }
                Some(StreamItem::Error(e)) => break ReplyEvent::Error(e),
                None => break ReplyEvent::Error(Error::Cancelled("the reply".into())),
            }
        };
        Some((event, None))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
