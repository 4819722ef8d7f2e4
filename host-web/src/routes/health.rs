//! `/health` (open to all, for load balancers and container health checks) and `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use super::registry::Routes;
use crate::state::AppState;

/// Liveness: `ready`, or `loading` while a model loads.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ready` or `loading`.
    pub status: String,
    pub models_loaded: Vec<String>,
    pub models_loading: Vec<String>,
}

pub fn routes() -> Routes {
    Routes::new().get("/health", health).get("/metrics", metrics)
}

/// `ready`, or `loading` while a model loads, with the models loaded and loading. Always 200: unlike llama.cpp's
/// server (503 while its one model loads) this server answers every other request while a model loads, so a load
/// balancer must not take it out of service.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let inference = state.jan.inference();
    let loaded: Vec<String> = inference.loaded().into_iter().map(|m| m.model_id).collect();
    let loading = inference.loading();
    let status = if loading.is_empty() { "ready" } else { "loading" };
    (StatusCode::OK, axum::Json(Health { status: status.into(), models_loaded: loaded, models_loading: loading }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let inference = state.jan.inference();
    let text = state.metrics.render(&inference.counters(), inference.loaded().len());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
