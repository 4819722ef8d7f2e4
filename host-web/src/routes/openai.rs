//! The OpenAI-compatible API (`POST /v1/chat/completions`, `POST /v1/completions`; `GET /v1/models` is Jan's
//! route in `jan/models.rs`), and the transport pieces every route module shares:
//!
//! - [`ApiJson`]: a JSON body extractor whose rejections are OpenAI-shaped 400s naming the bad field (axum's
//!   plain-text rejections never reach clients);
//! - [`limit_body`]: the global request body limit (the model upload route excepted), and the layer that turns
//!   any non-JSON error response under `/v1` and `/api` (a 413 from the limit, a 405, a path rejection) into
//!   OpenAI's error shape;
//! - the completion SSE: `chat.completion.chunk`s (role first, then content and tool calls, each call whole in one
//!   `delta.tool_calls` chunk, then the finish reason and llama.cpp's `timings`, a usage chunk when asked), then
//!   `data: [DONE]`; an error after the stream started
//!   goes out as a `data:` event with `error`. Dropping the response (the client went away) drops the core's
//!   `CompletionStream`, which stops generation.
//!
//! OpenAI chats are not saved as Jan threads: this API is stateless, as OpenAI's is. Jan's way to keep a chat is
//! `POST /v1/threads/{id}/messages` then `POST /api/threads/{id}/reply`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{BoxError, Json, Router};
use futures::{Stream, StreamExt};
use jan_core::inference::{
    ChatMessage, ChatRequest, Completion, CompletionRequest, CompletionStream, FinishReason, SamplingOptions,
    StreamItem, ToolCall, sampling_from,
};
use jan_core::models::ModelFile;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::state::AppState;

/// How often an idle SSE stream sends a comment, so proxies and clients keep it open.
pub const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The one route whose body is not limited: model uploads (GBs), streamed to disk.
pub const UPLOAD_PATH: &str = "/v1/models/import";

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/chat/completions", post(chat_completions)).route("/v1/completions", post(completions))
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

/// A JSON request body. Malformed JSON, wrong types and missing fields are 400s in OpenAI's shape with the
/// field's path (`messages[0].role: missing field ...`); an empty body reads as `{}` (so `POST /v1/threads`
/// without a body makes a thread with the defaults). The content type is not checked (`curl -d` sends a form
/// type).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req.into_body()).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads a whole body (the global limit applies: over it is a 413).
pub async fn read_body(body: Body) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|e| body_error(&e))
}

/// A body that could not be read: over the limit (413), or cut off.
pub fn body_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return too_large(None);
        }
        source = s.source();
    }
    ApiError::bad_request("invalid_body", "the request body could not be read")
}

/// Parses JSON into `T` with OpenAI-shaped errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    use axum::extract::rejection::JsonRejection;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    match Json::<T>::from_bytes(bytes) {
        Ok(Json(value)) => Ok(value),
        Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::bad_request(
            "invalid_json",
            format!("The body is not valid JSON: {}", strip_axum_prefix(&e.body_text())),
        )),
        Err(JsonRejection::JsonDataError(e)) => Err(ApiError::bad_request(
            "invalid_body",
            format!("The body does not have the expected fields and types: {}", strip_axum_prefix(&e.body_text())),
        )),
        Err(other) => Err(ApiError::bad_request("invalid_body", strip_axum_prefix(&other.body_text()))),
    }
}

/// axum's texts start with "Failed to ... : "; the field path and serde's reason follow.
fn strip_axum_prefix(text: &str) -> String {
    let rest = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| text.strip_prefix("Failed to parse the request body as JSON: "))
        .unwrap_or(text);
    rest.to_owned()
}

fn too_large(limit: Option<usize>) -> ApiError {
    let message = match limit {
        Some(bytes) => format!("The request body is larger than this server accepts ({} MiB).", bytes / (1024 * 1024)),
        None => "The request body is larger than this server accepts.".to_owned(),
    };
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "request_too_large", message)
}

// ---------------------------------------------------------------------------------------------------------------
// The body limit and OpenAI-shaped transport errors

/// Middleware around every route: limits request bodies to `max_body_mb` (except [`UPLOAD_PATH`], which streams
/// to disk), and turns non-JSON error responses under `/v1` and `/api` into OpenAI's error shape.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.max_body_mb.max(1) * 1024 * 1024;
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let response = if method == Method::POST && path == UPLOAD_PATH {
        next.run(req).await
    } else {
        let service =
            ServiceBuilder::new().layer(RequestBodyLimitLayer::new(limit)).map_request(boxed_body).service(next);
        match service.oneshot(req).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    };
    let api = path == "/v1" || path.starts_with("/v1/") || path.starts_with("/api/");
    if api && (response.status().is_client_error() || response.status().is_server_error()) && !is_json(&response) {
        return openai_shaped(response, &method, &path, limit).await;
    }
    response
}

fn boxed_body<B>(req: axum::http::Request<B>) -> Request
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    req.map(Body::new)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Re-renders an error response (axum's plain-text rejections, tower-http's 413) as OpenAI's JSON, keeping its
/// status and headers such as `Allow`.
async fn openai_shaped(response: Response, method: &Method, path: &str, limit: usize) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let text = text.unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(Some(limit)),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "invalid_request_error",
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::NOT_FOUND => ApiError::not_found(format!("no route for {path}")),
        _ => {
            let kind = match status.as_u16() {
                401 => "authentication_error",
                403 => "permission_error",
                429 => "rate_limit_error",
                500.. => "server_error",
                _ => "invalid_request_error",
            };
            let code = status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace([' ', '-'], "_");
            let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
            ApiError::new(status, kind, code, message)
        }
    };
    let mut shaped = error.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

// ---------------------------------------------------------------------------------------------------------------
// /v1/chat/completions and /v1/completions

/// The fields of both endpoints (OpenAI's, plus llama.cpp's sampling extensions). Unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct GenerateBody {
    model: String,
    #[serde(default)]
    messages: Option<Vec<InMessage>>,
    /// `/v1/completions`: a string, or an array of one string.
    #[serde(default)]
    prompt: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    top_k: Option<i64>,
    #[serde(default)]
    min_p: Option<f32>,
    #[serde(default)]
    seed: Option<i64>,
    /// A string or an array of strings.
    #[serde(default)]
    stop: Option<Value>,
    #[serde(default)]
    presence_penalty: Option<f32>,
    #[serde(default)]
    frequency_penalty: Option<f32>,
    #[serde(default)]
    repeat_penalty: Option<f32>,
    #[serde(default)]
    repeat_last_n: Option<i64>,
    #[serde(default)]
    tools: Option<Value>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Debug, Deserialize)]
struct InMessage {
    role: String,
    /// A string, an array of content parts (`{type: "text", text}`), or null (an assistant turn with tool calls).
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Value>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The request after validation, with the model's defaults applied.
struct Prepared {
    model: String,
    sampling: SamplingOptions,
    max_tokens: Option<u32>,
    stop: Vec<String>,
    stream: bool,
    include_usage: bool,
}

/// The model named in a request; an unknown (or impossible) name is OpenAI's 404 `model_not_found`.
pub async fn find_model(state: &AppState, model: &str) -> ApiResult<ModelFile> {
    state.jan.models().get(model).await.map_err(|e| model_error(model, e))
}

/// Maps a core error about a named model: not found and invalid ids are `model_not_found`.
pub fn model_error(model: &str, e: jan_core::Error) -> ApiError {
    match e {
        jan_core::Error::NotFound { .. } | jan_core::Error::InvalidId { .. } => ApiError::model_not_found(model),
        other => ApiError::from(other),
    }
}

/// Sampling: the model's model.json parameters (through the core's `sampling_from`), then the request's fields.
/// What neither sets stays unset: a local model uses llama.cpp's default for it, a remote upstream its own.
async fn prepare(state: &AppState, body: &GenerateBody) -> ApiResult<Prepared> {
    if body.model.trim().is_empty() {
        return Err(ApiError::bad_request("invalid_value", "`model` must name a model (see GET /v1/models)"));
    }
    if body.n.is_some_and(|n| n != 1) {
        return Err(ApiError::bad_request("unsupported_value", "only n = 1 is supported"));
    }
    let model = find_model(state, &body.model).await?;
    let mut sampling = sampling_from(&model.parameters);
    let range = |name: &str, value: Option<f32>, min: f32, max: f32| -> ApiResult<Option<f32>> {
        match value {
            Some(v) if !v.is_finite() || v < min || v > max => Err(ApiError::bad_request(
                "invalid_value",
                format!("`{name}` must be between {min} and {max}, not {v}"),
            )),
            other => Ok(other),
        }
    };
    if let Some(t) = range("temperature", body.temperature, 0.0, 2.0)? {
        sampling.temperature = Some(t);
    }
    if let Some(p) = range("top_p", body.top_p, 0.0, 1.0)? {
        sampling.top_p = Some(p);
    }
    if let Some(p) = range("min_p", body.min_p, 0.0, 1.0)? {
        sampling.min_p = Some(p);
    }
    if let Some(p) = range("presence_penalty", body.presence_penalty, -2.0, 2.0)? {
        sampling.presence_penalty = Some(p);
    }
    if let Some(p) = range("frequency_penalty", body.frequency_penalty, -2.0, 2.0)? {
        sampling.frequency_penalty = Some(p);
    }
    if let Some(p) = range("repeat_penalty", body.repeat_penalty, 0.0, 10.0)? {
        sampling.repeat_penalty = Some(p);
    }
    if let Some(k) = body.top_k {
        sampling.top_k = Some(usize::try_from(k.max(0)).unwrap_or(0));
    }
    if let Some(n) = body.repeat_last_n {
        sampling.repeat_last_n = Some(usize::try_from(n.max(0)).unwrap_or(0));
    }
    if let Some(seed) = body.seed {
        sampling.seed = Some(seed as u64);
    }
    let max_tokens = match body.max_completion_tokens.or(body.max_tokens) {
        Some(0) => return Err(ApiError::bad_request("invalid_value", "`max_tokens` must be at least 1")),
        Some(n) => Some(n),
        None => model.parameters.max_tokens.map(|m| m.min(u64::from(u32::MAX)) as u32),
    };
    let stop = match &body.stop {
        None | Some(Value::Null) => model.parameters.stop.clone().unwrap_or_default(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                ApiError::bad_request("invalid_type", "`stop` must be a string or an array of strings")
            })?
        }
        Some(_) => return Err(ApiError::bad_request("invalid_type", "`stop` must be a string or an array of strings")),
    };
    let stop = stop.into_iter().filter(|s| !s.is_empty()).collect();
    Ok(Prepared {
        model: model.id,
        sampling,
        max_tokens,
        stop,
        stream: body.stream.unwrap_or(false),
        include_usage: body.stream_options.as_ref().is_some_and(|o| o.include_usage),
    })
}

/// OpenAI messages as the core's: content parts flattened to their text; `developer` is a system turn.
fn chat_messages(messages: &[InMessage]) -> ApiResult<Vec<ChatMessage>> {
    if messages.is_empty() {
        return Err(ApiError::bad_request("invalid_value", "`messages` must hold at least one message"));
    }
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.role.as_str() {
                "system" | "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                "tool" => "tool",
                other => {
                    return Err(ApiError::bad_request(
                        "invalid_value",
                        format!("messages[{i}].role must be system, developer, user, assistant or tool, not '{other}'"),
                    ));
                }
            };
            let content = match &m.content {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => {
                    let mut text = Vec::new();
                    for (j, part) in parts.iter().enumerate() {
                        match (part.get("type").and_then(Value::as_str), part.get("text").and_then(Value::as_str)) {
                            (Some("text"), Some(t)) => text.push(t),
                            (Some("text"), None) => {
                                return Err(ApiError::bad_request(
                                    "invalid_type",
                                    format!("messages[{i}].content[{j}].text must be a string"),
                                ));
                            }
                            (kind, _) => {
                                return Err(ApiError::bad_request(
                                    "unsupported_content",
                                    format!(
                                        "messages[{i}].content[{j}] is of type '{}'; only text parts are supported",
                                        kind.unwrap_or("?")
                                    ),
                                ));
                            }
                        }
                    }
                    text.join("\n")
                }
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_type",
                        format!("messages[{i}].content must be a string or an array of content parts"),
                    ));
                }
            };
            Ok(ChatMessage {
                role: role.to_owned(),
                content,
                tool_calls: m.tool_calls.clone(),
                tool_call_id: m.tool_call_id.clone(),
                name: m.name.clone(),
            })
        })
        .collect()
}

/// Errors of the core when starting a completion: an unknown model is `model_not_found`; a full queue is a 429
/// with `Retry-After`.
fn start_error(model: &str, e: jan_core::Error) -> Response {
    let overloaded = e.code() == "overloaded";
    let mut response = model_error(model, e).into_response();
    if overloaded {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

async fn chat_completions(State(state): State<AppState>, ApiJson(body): ApiJson<GenerateBody>) -> Response {
    let messages = match body.messages.as_deref() {
        Some(m) => match chat_messages(m) {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        },
        None => return ApiError::bad_request("missing_field", "`messages` is required").into_response(),
    };
    let prepared = match prepare(&state, &body).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let request = ChatRequest {
        model: prepared.model.clone(),
        messages,
        sampling: prepared.sampling.clone(),
        max_tokens: prepared.max_tokens,
        stop: prepared.stop.clone(),
        tools: body.tools.clone().filter(|t| !t.is_null()),
    };
    let stream = match state.jan.inference().chat(request).await {
        Ok(s) => s,
        Err(e) => return start_error(&body.model, e),
    };
    respond(&state, stream, prepared, Kind::Chat).await
}

async fn completions(State(state): State<AppState>, ApiJson(body): ApiJson<GenerateBody>) -> Response {
    let prompt = match &body.prompt {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().unwrap_or_default().to_owned()
        }
        Some(Value::Array(_)) => {
            return ApiError::bad_request("unsupported_value", "`prompt` must be a string (or an array of one string)")
                .into_response();
        }
        Some(_) => return ApiError::bad_request("invalid_type", "`prompt` must be a string").into_response(),
        None => return ApiError::bad_request("missing_field", "`prompt` is required").into_response(),
    };
    let prepared = match prepare(&state, &body).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let request = CompletionRequest {
        model: prepared.model.clone(),
        prompt,
        sampling: prepared.sampling.clone(),
        max_tokens: prepared.max_tokens,
        stop: prepared.stop.clone(),
    };
    let stream = match state.jan.inference().complete(request).await {
        Ok(s) => s,
        Err(e) => return start_error(&body.model, e),
    };
    respond(&state, stream, prepared, Kind::Text).await
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

async fn respond(state: &AppState, stream: CompletionStream, prepared: Prepared, kind: Kind) -> Response {
    let meta = Meta::new(prepared.model, kind);
    if prepared.stream {
        let sse = completion_sse(stream, meta, prepared.include_usage, state.metrics.clone());
        return sse_response(Sse::new(sse).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE)));
    }
    // Not streamed: the text is collected here; if the client goes away this future is dropped, and with it the
    // stream, which stops generation.
    let done = match stream.collect().await {
        Ok(done) => done,
        Err(e) => return ApiError::from(e).into_response(),
    };
    state.metrics.record_completion(&done.timings);
    let choice = match kind {
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

/// An SSE response that proxies must not buffer.
pub fn sse_response<S>(sse: Sse<S>) -> Response
where
    S: Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
{
    let mut response = sse.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON `data:` event.
pub fn json_event(value: &Value) -> SseEvent {
    SseEvent::default().data(value.to_string())
}

/// An error as a `data:` event, the way OpenAI's clients read it mid-stream.
pub fn error_event(e: jan_core::Error) -> SseEvent {
    let error = ApiError::from(e);
    json_event(&json!({"error": {"message": error.message, "type": error.kind, "param": null, "code": error.code}}))
}

enum Phase {
    Start,
    Streaming,
}

struct SseState {
    stream: CompletionStream,
    phase: Phase,
    /// Tool calls sent so far (the next one's `index`).
    tool_calls: usize,
    meta: Meta,
    include_usage: bool,
    metrics: Arc<Metrics>,
}

/// The completion's chunks. The state owns the core's stream: dropping the response drops it, which stops
/// generation.
fn completion_sse(
    stream: CompletionStream,
    meta: Meta,
    include_usage: bool,
    metrics: Arc<Metrics>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
    let state = SseState { stream, phase: Phase::Start, tool_calls: 0, meta, include_usage, metrics };
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        if let Phase::Start = s.phase {
            s.phase = Phase::Streaming;
            if s.meta.kind == Kind::Chat {
                let role = s.meta.chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                "logprobs": null, "finish_reason": null}]));
                return Some((vec![json_event(&role)], Some(s)));
            }
        }
        match s.stream.recv().await {
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
    .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parts_flatten_to_text_and_bad_roles_are_named() {
        let messages: Vec<InMessage> = serde_json::from_value(json!([
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "1"}]},
        ]))
        .unwrap_or_default();
        let out = chat_messages(&messages).map_err(|e| e.message).unwrap_or_default();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].role, "system");
        assert_eq!(out[1].content, "a\nb");
        assert!(out[2].tool_calls.is_some());

        let bad: Vec<InMessage> =
            serde_json::from_value(json!([{"role": "wizard", "content": "x"}])).unwrap_or_default();
        let err = chat_messages(&bad).err().map(|e| e.message).unwrap_or_default();
        assert!(err.contains("messages[0].role"), "{err}");
        let image: Vec<InMessage> =
            serde_json::from_value(json!([{"role": "user", "content": [{"type": "image_url"}]}])).unwrap_or_default();
        assert_eq!(chat_messages(&image).err().map(|e| e.code).as_deref(), Some("unsupported_content"));
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<GenerateBody>(br#"{"model": 3}"#).err().map(|e| (e.status, e.message));
        let (status, message) = err.unwrap_or((StatusCode::OK, String::new()));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("model"), "{message}");
        let err = parse_json::<GenerateBody>(b"{nope").err().map(|e| e.code).unwrap_or_default();
        assert_eq!(err, "invalid_json");
    }
}
