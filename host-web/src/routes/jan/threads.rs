//! `/v1/threads` and their messages. A message's `content` may be Jan's parts (`[{type: "text", text: {value,
//! annotations}}]`), OpenAI's (`[{type: "text", text: "..."}]`) or a plain string; all are saved in Jan's form.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jan_core::threads::{Message, NewThread, Thread, ThreadUpdate};
use jan_core::views::{self, List, MessageList};
use serde_json::Value;

use crate::error::ApiResult;
use crate::routes::json_body::ApiJson;
use crate::routes::registry::Routes;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/threads", list_threads)
        .post("/v1/threads", create_thread)
        .get("/v1/threads/{id}", get_thread)
        .patch("/v1/threads/{id}", update_thread)
        .delete("/v1/threads/{id}", delete_thread)
        .get("/v1/threads/{id}/messages", list_messages)
        .post("/v1/threads/{id}/messages", create_message)
        .get("/v1/threads/{id}/messages/{message_id}", get_message)
        .patch("/v1/threads/{id}/messages/{message_id}", update_message)
        .delete("/v1/threads/{id}/messages/{message_id}", delete_message)
}

async fn list_threads(State(state): State<AppState>) -> ApiResult<Json<List<Thread>>> {
    Ok(Json(List::of(state.jan.threads().list().await?)))
}

async fn create_thread(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewThread>,
) -> ApiResult<(StatusCode, Json<Thread>)> {
    Ok((StatusCode::CREATED, Json(state.jan.threads().create(new).await?)))
}

async fn get_thread(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Thread>> {
    Ok(Json(state.jan.threads().get(&id).await?))
}

async fn update_thread(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<ThreadUpdate>,
) -> ApiResult<Json<Thread>> {
    Ok(Json(state.jan.threads().update(&id, update).await?))
}

async fn delete_thread(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<views::Deleted>> {
    state.jan.threads().delete(&id).await?;
    Ok(Json(views::Deleted::thread(&id)))
}

async fn list_messages(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<MessageList>> {
    Ok(Json(MessageList::of(state.jan.threads().messages(&id).await?)))
}

async fn create_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let new = views::new_message(body)?;
    Ok((StatusCode::CREATED, Json(state.jan.threads().add_message(&id, new).await?)))
}

async fn get_message(
    State(state): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<Json<Message>> {
    Ok(Json(state.jan.threads().message(&id, &message_id).await?))
}

async fn update_message(
    State(state): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Message>> {
    let update = views::message_update(body)?;
    Ok(Json(state.jan.threads().update_message(&id, &message_id, update).await?))
}

async fn delete_message(
    State(state): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<Json<views::Deleted>> {
    state.jan.threads().delete_message(&id, &message_id).await?;
    Ok(Json(views::Deleted::message(&message_id)))
}
