//! What only the UI uses (`/api/...`, session cookie; open on loopback without credentials):
//!
//! - `GET /api/events`: the core's events as server-sent events, each `data:` one JSON event with its `type`
//!   (`download_progress`, `message_delta`, `model_state`, ...), a keep-alive comment every 15 s;
//! - `POST /api/threads/{id}/reply`: the assistant's reply to a thread, streamed (SSE) as it is generated and
//!   saved in the thread by the core; closing the connection stops the reply (saved as `stopped`);
//! - `GET /api/system`: the system monitor and the loaded models;
//! - `GET|PUT /api/engines/{engine}`: a remote engine's URL and API key (the key is never sent back in full);
//! - `GET /api/downloads`, `DELETE /api/downloads/{id}`: downloads in flight, cancel one.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use jan_core::Jan;
use jan_core::inference::{CompletionStream, EngineSettings, StreamItem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::routes::openai::{ApiJson, SSE_KEEP_ALIVE, json_event, sse_response};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(events))
        .route("/api/system", get(system))
        .route("/api/engines/{engine}", get(get_engine).put(set_engine))
        .route("/api/threads/{id}/reply", post(reply))
        .route("/api/downloads", get(downloads))
        .route("/api/downloads/{id}", axum::routing::delete(cancel_download))
}

/// Every event of the core from now on. The subscription exists before the response starts, so an action taken
/// after the response's headers arrived is always seen.
async fn events(State(state): State<AppState>) -> Response {
    let stream = state.jan.subscribe().take_until(state.shutdown.clone().cancelled_owned()).map(|event| {
        Ok::<_, Infallible>(match serde_json::to_value(&event) {
            Ok(value) => json_event(&value),
            Err(_) => SseEvent::default().comment("an event could not be serialised"),
        })
    });
    sse_response(Sse::new(stream).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE)))
}

async fn system(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let info = state.jan.system().info().await?;
    let mut body = serde_json::to_value(info).map_err(ApiError::internal)?;
    body["loaded_models"] = json!(state.jan.inference().loaded());
    body["inference"] = json!(state.jan.inference().counters());
    Ok(Json(body))
}

/// A key shown as its last four characters (long keys only), so the user can tell which one is set.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 16 => format!("••••{}", chars[n - 4..].iter().collect::<String>()),
        _ => "••••".to_owned(),
    }
}

fn engine_view(engine: &str, settings: &EngineSettings) -> Value {
    json!({
        "engine": engine,
        "full_url": settings.full_url,
        "api_key": mask(&settings.api_key),
        "api_key_set": !settings.api_key.is_empty(),
    })
}

async fn get_engine(State(state): State<AppState>, Path(engine): Path<String>) -> ApiResult<Json<Value>> {
    let settings = state.jan.inference().engine_settings(&engine).await?;
    Ok(Json(engine_view(&engine, &settings)))
}

/// `{full_url, api_key?}`: without `api_key` the key stays as it is (the UI never has it); `""` removes it.
#[derive(Debug, Deserialize)]
struct EngineBody {
    full_url: String,
    #[serde(default)]
    api_key: Option<String>,
}

async fn set_engine(
    State(state): State<AppState>,
    Path(engine): Path<String>,
    ApiJson(body): ApiJson<EngineBody>,
) -> ApiResult<Json<Value>> {
    let inference = state.jan.inference();
    let key = match body.api_key {
        Some(key) => key,
        None => inference.engine_settings(&engine).await?.api_key,
    };
    let settings = inference.set_engine_settings(&engine, &body.full_url, &key).await?;
    Ok(Json(engine_view(&engine, &settings)))
}

async fn downloads(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"object": "list", "data": state.jan.downloads().list()}))
}

async fn cancel_download(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.jan.downloads().cancel(&id).await?;
    Ok(Json(json!({"id": id, "object": "download", "cancelled": true})))
}

/// Generates the reply to a thread (its last message is usually the user's, added with
/// `POST /v1/threads/{id}/messages`). The SSE events, each a JSON `data:` with a `type`:
/// `message` (the pending assistant message), `delta` (`{delta}`), then `done` (`{finish_reason, usage, timings,
/// message}`: the message as saved) or `error` (`{error: {message, type, code}}`).
async fn reply(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let reply = state.jan.inference().reply_in_thread(&id).await?;
    let first = json_event(&json!({"type": "message", "message": reply.message}));
    let stream = reply_events(state.jan.clone(), state.metrics.clone(), id, reply.message.id.clone(), reply.stream);
    let events = futures::stream::once(async move { Ok(first) }).chain(stream);
    Ok(sse_response(Sse::new(events).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE))))
}

struct ReplyState {
    jan: Jan,
    metrics: Arc<Metrics>,
    thread_id: String,
    message_id: String,
    stream: CompletionStream,
}

/// The reply's deltas and its end. The state owns the core's stream: when the client goes away the response is
/// dropped, the stream with it, and the core stops the reply and saves it as `stopped`.
fn reply_events(
    jan: Jan,
    metrics: Arc<Metrics>,
    thread_id: String,
    message_id: String,
    stream: CompletionStream,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
    let state = ReplyState { jan, metrics, thread_id, message_id, stream };
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        let event = match s.stream.recv().await {
            Some(StreamItem::Delta(delta)) => {
                let event = json_event(&json!({"type": "delta", "delta": delta}));
                return Some((Ok(event), Some(s)));
            }
            Some(StreamItem::Done(done)) => {
                s.metrics.record_completion(&done.timings);
                // The core saved the message before ending the stream.
                let message = s.jan.threads().message(&s.thread_id, &s.message_id).await.ok();
                json!({"type": "done", "finish_reason": done.finish_reason, "usage": done.usage,
                       "timings": done.timings, "message": message})
            }
            Some(StreamItem::Error(e)) => {
                let error = ApiError::from(e);
                json!({"type": "error", "error": {"message": error.message, "type": error.kind, "code": error.code}})
            }
            None => json!({"type": "error", "error": {"message": "the reply ended unexpectedly",
                           "type": "server_error", "code": "cancelled"}}),
        };
        Some((Ok(json_event(&event)), None))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked() {
        assert_eq!(mask(""), "");
        assert_eq!(mask("short-key"), "••••");
        assert_eq!(mask("sk-abcdefghijklmnopqrstuvwxyz1234"), "••••1234");
    }
}
