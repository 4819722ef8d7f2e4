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

use axum::Json;
use axum::extract::State;
use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use jan_core::inference::{ChatCompletionRequest, Completion, CompletionStream, StreamItem, TextCompletionRequest};
use jan_core::views::openai::{ChatCompletion, ChatCompletionChunk, CompletionMeta, TextCompletion};
use serde::Deserialize;
use serde_json::Value;

use super::json_body::ApiJson;
use super::registry::Routes;
use super::sse::{error_event, json_event, sse_response};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().post("/v1/chat/completions", chat_completions).post("/v1/completions", completions)
}

/// How the answer travels: OpenAI's `stream` and `stream_options`, next to the core's request fields.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Transport {
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with the completion's `usage`.
    #[serde(default)]
    include_usage: bool,
}

/// `POST /v1/chat/completions`'s body (for the OpenAPI document; the core reads the request).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ChatCompletionBody {
    #[serde(flatten)]
    request: ChatCompletionRequest,
    #[serde(flatten)]
    transport: Transport,
}

/// `POST /v1/completions`'s body (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TextCompletionBody {
    #[serde(flatten)]
    request: TextCompletionRequest,
    #[serde(flatten)]
    transport: Transport,
}

async fn chat_completions(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Response {
    let (request, transport) = match ChatCompletionRequest::from_json(&body).and_then(|r| Ok((r, transport(&body)?))) {
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
    let (request, transport) = match TextCompletionRequest::from_json(&body).and_then(|r| Ok((r, transport(&body)?))) {
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
fn transport(body: &Value) -> jan_core::Result<Transport> {
    jan_core::json::from_ref(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
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
    match meta.kind {
        Kind::Chat => Json(ChatCompletion::new(&meta.ids, done)).into_response(),
        Kind::Text => Json(TextCompletion::new(&meta.ids, done)).into_response(),
    }
}

/// A completion's ids and which endpoint it answers.
#[derive(Debug, Clone)]
struct Meta {
    ids: CompletionMeta,
    kind: Kind,
}

impl Meta {
    fn new(model: String, kind: Kind) -> Self {
        Meta { ids: CompletionMeta::new(&model, kind == Kind::Chat), kind }
    }

    /// A chunk of text, in the endpoint's shape.
    fn text(&self, text: String) -> SseEvent {
        match self.kind {
            Kind::Chat => json_event(&ChatCompletionChunk::text(&self.ids, text)),
            Kind::Text => json_event(&TextCompletion::text(&self.ids, text)),
        }
    }
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
    let role = (meta.kind == Kind::Chat).then(|| json_event(&ChatCompletionChunk::role(&meta.ids)));
    let state = SseState { stream, first: Some(first), tool_calls: 0, meta, include_usage, metrics };
    let rest = futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        let item = match s.first.take() {
            Some(item) => Some(item),
            None => s.stream.recv().await,
        };
        match item {
            Some(StreamItem::Delta(delta)) => Some((vec![s.meta.text(delta)], Some(s))),
            Some(StreamItem::ToolCall(call)) => {
                // Only chats offer tools; a text completion has no place for calls.
                if s.meta.kind != Kind::Chat {
                    return Some((vec![], Some(s)));
                }
                let chunk = ChatCompletionChunk::tool_call(&s.meta.ids, s.tool_calls, call);
                s.tool_calls += 1;
                Some((vec![json_event(&chunk)], Some(s)))
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
    let ids = &s.meta.ids;
    let mut events = vec![match s.meta.kind {
        Kind::Chat => json_event(&ChatCompletionChunk::finish(ids, done)),
        Kind::Text => json_event(&TextCompletion::finish(ids, done)),
    }];
    if s.include_usage {
        events.push(match s.meta.kind {
            Kind::Chat => json_event(&ChatCompletionChunk::usage(ids, done.usage)),
            Kind::Text => json_event(&TextCompletion::usage(ids, done.usage)),
        });
    }
    events.push(SseEvent::default().data("[DONE]"));
    events
}
