//! Jan's API under `/v1` (the routes of Jan's desktop API server, `jan-formats.md`): models (list, get, delete,
//! download from the catalog, start / stop, upload), threads and their messages, assistants. Each handler maps
//! one route onto one core call; errors are the core's, mapped by `ApiError`.

mod assistants;
mod models;
mod threads;

pub use models::UPLOAD_PATH;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(models::router()).merge(threads::router()).merge(assistants::router())
}
