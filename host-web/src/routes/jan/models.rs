//! `/v1/models...`: the ready models (OpenAI's list shape, items are Jan's model.json plus OpenAI's `owned_by`),
//! one model, delete, start / stop (load / unload), a catalog download (progress on `/api/events`), the catalog,
//! and the upload of a `.gguf` (the raw request body, streamed into a temp file in the data folder, then moved
//! into place by the core's import).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jan_core::error::ErrorCode;
use jan_core::models::UploadRequest;
use jan_core::views::{self, DownloadStarted, List, ModelStateInfo, ModelView};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::routes::registry::Routes;
use crate::state::AppState;

/// The one route whose body is not limited: model uploads (GBs), streamed to disk.
pub const UPLOAD_PATH: &str = "/v1/models/import";

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/models", list_models)
        .get("/v1/models/{id}", get_model)
        .delete("/v1/models/{id}", delete_model)
        .put("/v1/models/{id}/start", start_model)
        .put("/v1/models/{id}/stop", stop_model)
        .get("/v1/models/download/{id}", download_model)
        .post("/v1/models/download/{id}", download_model)
        // Other methods on this path are the `{id}` routes for a model named "import".
        .route("post", UPLOAD_PATH, post(import_model).fallback(model_named_import))
        .get("/v1/catalog", catalog)
}

async fn list_models(State(state): State<AppState>) -> ApiResult<Json<List<ModelView>>> {
    let loaded = state.jan.inference().loaded();
    Ok(Json(List::of(state.jan.models().list().await?.iter().map(|m| ModelView::of(m).with_loaded(&loaded)).collect())))
}

async fn get_model(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ModelView>> {
    let model = state.jan.models().get(&id).await?;
    Ok(Json(ModelView::of(&model).with_loaded(&state.jan.inference().loaded())))
}

async fn delete_model(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<views::Deleted>> {
    state.jan.models().delete(&id).await?;
    Ok(Json(views::Deleted::model(&id)))
}

/// GET and DELETE of a model whose id is "import" (the upload route's path).
async fn model_named_import(state: State<AppState>, method: Method, uri: Uri) -> Response {
    let id = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    match method {
        Method::GET => get_model(state, Path(id)).await.into_response(),
        Method::DELETE => delete_model(state, Path(id)).await.into_response(),
        _ => ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {}", uri.path()))
            .into_response(),
    }
}

/// Loads a model (Jan's "start"); answers when it is ready.
async fn start_model(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ModelStateInfo>> {
    Ok(Json(state.jan.inference().start(&id).await?))
}

/// Unloads a model (Jan's "stop"); a model that is not loaded is already stopped.
async fn stop_model(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ModelStateInfo>> {
    Ok(Json(state.jan.inference().stop(&id).await?))
}

/// Starts downloading a catalog model and answers at once; progress, completion and failure are events on
/// `/api/events`, the downloads in flight are `GET /api/downloads`.
async fn download_model(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<DownloadStarted>)> {
    Ok((StatusCode::ACCEPTED, Json(state.jan.models().start_download(&id).await?)))
}

/// The built-in catalog, each entry with `status`: `downloaded`, `downloading` or `available`.
async fn catalog(State(state): State<AppState>) -> ApiResult<Json<List<ModelView>>> {
    Ok(Json(List::of(state.jan.models().catalog_with_status().await?)))
}

/// `POST /v1/models/import?file_name=x.gguf[&id=..][&name=..]`.
#[derive(Debug, Deserialize)]
struct ImportQuery {
    /// The file's name (its model folder gets it; the id defaults to a slug of it).
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Uploads a `.gguf` as the raw request body (any size: this route is exempt from the body limit) and imports
/// it: the core stages it in the data folder, checks it is a GGUF and writes its model.json. 201 with the model.
async fn import_model(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ModelView>)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the .gguf file as the raw request body (Content-Type: application/octet-stream), not as a form",
        ));
    }
    let request = UploadRequest { file_name: query.file_name, id: query.id, name: query.name };
    let model = state.jan.models().import_upload(request, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(ModelView::of(&model))))
}
