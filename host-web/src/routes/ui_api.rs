//! What only the UI uses (`/api/...`, session cookie; open on loopback without credentials):
//!
//! - `GET /api/events`: the core's events as server-sent events, each `data:` one JSON event with its `type`
//!   (`download_progress`, `model_state`, `message_updated`, ...; never tokens), a keep-alive comment every 15 s;
//! - `POST /api/threads/{id}/reply`: the assistant's reply to a thread, streamed (SSE) as it is generated and
//!   saved in the thread by the core; closing the connection stops the reply (saved as `stopped`);
//! - `GET /api/system`: the system monitor and the loaded models;
//! - `GET|PUT /api/engines/{engine}`: a remote engine's URL and API key (the key is never sent back in full);
//! - `GET /api/downloads`, `DELETE /api/downloads/{id}`: downloads in flight, cancel one.

use std::convert::Infallible;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use futures::StreamExt;
use jan_core::events::DownloadProgress;
use jan_core::inference::ReplyOptions;
use jan_core::views::{self, DownloadCancelled, EngineSettingsUpdate, EngineView, List, ReplyEvent, SystemView};

use crate::error::ApiResult;
use crate::routes::json_body::ApiJson;
use crate::routes::registry::Routes;
use crate::routes::sse::{json_event, sse_response};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/events", events)
        .get("/api/system", system)
        .get("/api/engines/{engine}", get_engine)
        .put("/api/engines/{engine}", set_engine)
        .post("/api/threads/{id}/reply", reply)
        .get("/api/downloads", downloads)
        .delete("/api/downloads/{id}", cancel_download)
}

/// Every event of the core from now on. The subscription exists before the response starts, so an action taken
/// after the response's headers arrived is always seen.
async fn events(State(state): State<AppState>) -> Response {
    let stream = state
        .jan
        .subscribe()
        .take_until(state.shutdown.clone().cancelled_owned())
        .map(|event| Ok::<_, Infallible>(json_event(&event)));
    sse_response(stream)
}

async fn system(State(state): State<AppState>) -> ApiResult<Json<SystemView>> {
    Ok(Json(state.jan.system().monitor().await?))
}

async fn get_engine(State(state): State<AppState>, Path(engine): Path<String>) -> ApiResult<Json<EngineView>> {
    Ok(Json(state.jan.inference().engine(&engine).await?))
}

/// Without `api_key` the key stays as it is (the UI never has it); `""` removes it.
async fn set_engine(
    State(state): State<AppState>,
    Path(engine): Path<String>,
    ApiJson(update): ApiJson<EngineSettingsUpdate>,
) -> ApiResult<Json<EngineView>> {
    Ok(Json(state.jan.inference().set_engine(&engine, update).await?))
}

async fn downloads(State(state): State<AppState>) -> Json<List<DownloadProgress>> {
    Json(List::of(state.jan.downloads().list()))
}

async fn cancel_download(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<DownloadCancelled>> {
    state.jan.downloads().cancel(&id).await?;
    Ok(Json(DownloadCancelled::of(&id)))
}

/// Generates the reply to a thread (its last message is usually the user's, added with
/// `POST /v1/threads/{id}/messages`). The SSE events, each a JSON `data:` with a `type`:
/// `message` (the pending assistant message), `delta` (`{delta}`), then `done` (`{finish_reason, usage, timings,
/// message}`: the message as saved) or `error` (`{error: {message, type, code}}`). The body, optional:
/// `{"continue": true}` goes on with the thread's last reply (its `message` event carries the text so far; the
/// deltas are the new text).
async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(options): ApiJson<ReplyOptions>,
) -> ApiResult<Response> {
    let reply = state.jan.inference().reply_with(&id, options).await?;
    let metrics = state.metrics.clone();
    // The stream owns the core's: when the client goes away the response is dropped, the stream with it, and the
    // core stops the reply and saves it as `stopped`.
    let events = views::reply_events(state.jan.clone(), id, reply).map(move |event| {
        if let ReplyEvent::Done { timings, .. } = &event {
            metrics.record_completion(timings);
        }
        Ok::<_, Infallible>(json_event(&event))
    });
    Ok(sse_response(events))
}
