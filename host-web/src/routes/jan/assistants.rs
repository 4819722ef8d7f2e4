//! `/v1/assistants`: Jan's assistants (the default `jan` assistant cannot be deleted: 403).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jan_core::assistants::{Assistant, AssistantUpdate, NewAssistant};
use jan_core::views::{self, List};

use crate::error::ApiResult;
use crate::routes::json_body::ApiJson;
use crate::routes::registry::Routes;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/assistants", list_assistants)
        .post("/v1/assistants", create_assistant)
        .get("/v1/assistants/{id}", get_assistant)
        .patch("/v1/assistants/{id}", update_assistant)
        .delete("/v1/assistants/{id}", delete_assistant)
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
