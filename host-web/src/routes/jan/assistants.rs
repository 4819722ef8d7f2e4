//! `/v1/assistants`: Jan's assistants (the default `jan` assistant cannot be deleted: 403).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use jan_core::assistants::{Assistant, AssistantUpdate, NewAssistant};
use jan_core::views::{self, List};

use crate::error::ApiResult;
use crate::routes::json_body::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/assistants", get(list_assistants).post(create_assistant))
        .route("/v1/assistants/{id}", get(get_assistant).patch(update_assistant).delete(delete_assistant))
}

async fn list_assistants(State(state): State<AppState>) -> ApiResult<Json<List<Assistant>>> {
    Ok(Json(List::of(state.jan.assistants().list().await?)))
}

async fn create_assistant(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewAssistant>,
) -> ApiResult<(StatusCode, Json<Assistant>)> {
    Ok((StatusCode::CREATED, Json(state.jan.assistants().create(new).await?)))
}

async fn get_assistant(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Assistant>> {
    Ok(Json(state.jan.assistants().get(&id).await?))
}

async fn update_assistant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<AssistantUpdate>,
) -> ApiResult<Json<Assistant>> {
    Ok(Json(state.jan.assistants().update(&id, update).await?))
}

async fn delete_assistant(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<views::Deleted>> {
    state.jan.assistants().delete(&id).await?;
    Ok(Json(views::Deleted::assistant(&id)))
}
