//! The OpenAI-compatible API: `POST /v1/chat/completions` and `POST /v1/completions` (`GET /v1/models` is Jan's
//! route in `jan/models.rs`). The body is the core's request ([`ChatCompletionRequest`], [`TextCompletionRequest`])
//! plus the transport's `stream` and `stream_options`; the core checks it, merges the model's parameters and
//! prepares the prompt, so every mistake is an HTTP error before the first byte, streamed or not.
//!
//! A stream answers only once its first result is there (as llama.cpp's server does): a remote upstream's refusal
//! or an engine failure before any token is an HTTP error too. Then come `chat.completion.chunk`s (role first,
//! then content and tool calls, each call whole in one `delta.tool_calls` chunk, then the finish reason and
//! llama.cpp's `timings`, a usage chunk when asked) and `data: [DONE]`; an error after the stream started goes out
//! as a `data:` event with `error`. Dropping the response (the client went away) drops the core's
//! `CompletionStream`, which stops generation.
//!
//! OpenAI chats are not saved as Jan threads: this API is stateless, as OpenAI's is. Jan's way to keep a chat is
//! `POST /v1/threads/{id}/messages` then `POST /api/threads/{id}/reply`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use jan_core::inference::{
    ChatCompletionRequest, Completion, CompletionStream, FinishReason, StreamItem, TextCompletionRequest, ToolCall,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_body::ApiJson;
use super::sse::{error_event, json_event, sse_response};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/chat/completions", post(chat_completions)).route("/v1/completions", post(completions))
}

/// How the answer travels: OpenAI's `stream` and `stream_options`, next to the core's request fields.
#[derive(Debug, Default, Deserialize)]
struct Transport {
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

async fn chat_completions(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Response {
    let (request, transport) =
        match ChatCompletionRequest::from_json(body.clone()).and_then(|r| Ok((r, transport(body)?))) {
            Ok(parsed) => parsed,
            Err(e) => return ApiError::from(e).into_response(),
        };
    let meta = Meta::new(request.model.clone(), Kind::Chat);
    match state.jan.inference().chat(request).await {
        Ok(stream) => respond(&state, stream, transport, meta).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn completions(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Response {
    let (request, transport) =
        match TextCompletionRequest::from_json(body.clone()).and_then(|r| Ok((r, transport(body)?))) {
            Ok(parsed) => parsed,
            Err(e) => return ApiError::from(e).into_response(),
        };
    let meta = Meta::new(request.model.clone(), Kind::Text);
    match state.jan.inference().complete(request).await {
        Ok(stream) => respond(&state, stream, transport, meta).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The transport's fields of a body.
fn transport(body: Value) -> jan_core::Result<Transport> {
    jan_core::json::from_value(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
}

/// What every chunk and the response carry.
#[derive(Debug, Clone)]
struct Meta {
    id: String,
    created: i64,
    model: String,
    kind: Kind,
}

impl Meta {
    fn new(model: String, kind: Kind) -> Self {
        let prefix = if kind == Kind::Chat { "chatcmpl" } else { "cmpl" };
        let id = format!("{prefix}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        Meta { id, created: jan_core::time::now_secs(), model, kind }
    }

    fn object(&self, chunk: bool) -> &'static str {
        match (self.kind, chunk) {
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Chat, false) => "chat.completion",
            (Kind::Text, _) => "text_completion",
        }
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({"id": self.id, "object": self.object(true), "created": self.created, "model": self.model,
               "system_fingerprint": null, "choices": choices})
    }
}

/// OpenAI's finish reasons; a completion stopped by the server (model unloaded) reads as `stop`.
pub fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

/// One call in a streamed `delta.tool_calls`: OpenAI's shape with the call's position. Each call goes out whole
/// in one chunk (OpenAI's clients accumulate by `index`, which works for one fragment as for many).
fn tool_call_delta(index: usize, call: &ToolCall) -> Value {
    json!({"index": index, "id": call.id, "type": call.kind,
           "function": {"name": call.function.name, "arguments": call.function.arguments}})
}

async fn respond(state: &AppState, mut stream: CompletionStream, transport: Transport, meta: Meta) -> Response {
    if transport.stream.unwrap_or(false) {
        // The first result decides the status: an error before any output is an HTTP error.
        let first = match stream.recv().await {
            Some(StreamItem::Error(e)) => return ApiError::from(e).into_response(),
            None => return ApiError::from(jan_core::Error::Cancelled("the completion".into())).into_response(),
            Some(item) => item,
        };
        let include_usage = transport.stream_options.as_ref().is_some_and(|o| o.include_usage);
        return sse_response(completion_sse(first, stream, meta, include_usage, state.metrics.clone()));
    }
    // Not streamed: the text is collected here; if the client goes away this future is dropped, and with it the
    // stream, which stops generation.
    let done = match stream.collect().await {
        Ok(done) => done,
        Err(e) => return ApiError::from(e).into_response(),
    };
    state.metrics.record_completion(&done.timings);
    let choice = match meta.kind {
        Kind::Chat => {
            // OpenAI's shape for a turn that only called tools: `content: null` next to `tool_calls`.
            let mut message = json!({"role": "assistant", "content": done.text});
            if !done.tool_calls.is_empty() {
                if done.text.is_empty() {
                    message["content"] = Value::Null;
                }
                message["tool_calls"] = json!(done.tool_calls);
            }
            json!({"index": 0, "message": message, "logprobs": null,
                   "finish_reason": finish_reason(done.finish_reason)})
        }
        Kind::Text => json!({"index": 0, "text": done.text, "logprobs": null,
                             "finish_reason": finish_reason(done.finish_reason)}),
    };
    Json(json!({
        "id": meta.id, "object": meta.object(false), "created": meta.created, "model": meta.model,
        "system_fingerprint": null, "choices": [choice], "usage": done.usage, "timings": done.timings,
    }))
    .into_response()
}

struct SseState {
    stream: CompletionStream,
    /// The first result, read before the response started; sent after the role chunk.
    first: Option<StreamItem>,
    /// Tool calls sent so far (the next one's `index`).
    tool_calls: usize,
    meta: Meta,
    include_usage: bool,
    metrics: Arc<Metrics>,
}

/// The completion's chunks. The state owns the core's stream: dropping the response drops it, which stops
/// generation.
fn completion_sse(
    first: StreamItem,
    stream: CompletionStream,
    meta: Meta,
    include_usage: bool,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
    let role = (meta.kind == Kind::Chat).then(|| {
        json_event(&meta.chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "logprobs": null, "finish_reason": null}])))
    });
    let state = SseState { stream, first: Some(first), tool_calls: 0, meta, include_usage, metrics };
    let rest = futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        let item = match s.first.take() {
            Some(item) => Some(item),
            None => s.stream.recv().await,
        };
        match item {
            Some(StreamItem::Delta(delta)) => {
                let choice = match s.meta.kind {
                    Kind::Chat => {
                        json!({"index": 0, "delta": {"content": delta}, "logprobs": null, "finish_reason": null})
                    }
                    Kind::Text => json!({"index": 0, "text": delta, "logprobs": null, "finish_reason": null}),
                };
                let event = json_event(&s.meta.chunk(json!([choice])));
                Some((vec![event], Some(s)))
            }
            Some(StreamItem::ToolCall(call)) => {
                // Only chats offer tools; a text completion has no place for calls.
                if s.meta.kind != Kind::Chat {
                    return Some((vec![], Some(s)));
                }
                let delta = json!({"tool_calls": [tool_call_delta(s.tool_calls, &call)]});
                s.tool_calls += 1;
                let choice = json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": null});
                Some((vec![json_event(&s.meta.chunk(json!([choice])))], Some(s)))
            }
            Some(StreamItem::Done(done)) => Some((finish_events(&s, &done), None)),
            Some(StreamItem::Error(e)) => Some((vec![error_event(e)], None)),
            None => Some((vec![error_event(jan_core::Error::Cancelled("the completion".into()))], None)),
        }
    })
    .flat_map(futures::stream::iter);
    futures::stream::iter(role).chain(rest).map(Ok)
}

fn finish_events(s: &SseState, done: &Completion) -> Vec<SseEvent> {
    s.metrics.record_completion(&done.timings);
    let reason = finish_reason(done.finish_reason);
    let choice = match s.meta.kind {
        Kind::Chat => json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}),
        Kind::Text => json!({"index": 0, "text": "", "logprobs": null, "finish_reason": reason}),
    };
    let mut last = s.meta.chunk(json!([choice]));
    last["timings"] = json!(done.timings);
    let mut events = vec![json_event(&last)];
    if s.include_usage {
        let mut usage = s.meta.chunk(json!([]));
        usage["usage"] = json!(done.usage);
        events.push(json_event(&usage));
    }
    events.push(SseEvent::default().data("[DONE]"));
    events
}
