//! `/health` (open to all, for load balancers and container health checks) and `/metrics` (Prometheus).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics))
}

/// `ok` once the server answers; lists the loaded models and whether one is loading (llama.cpp's server answers
/// 503 while its single model loads; here the server is usable while models load, so it stays 200).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let loaded: Vec<String> = state.jan.inference().loaded().into_iter().map(|m| m.model_id).collect();
    (StatusCode::OK, axum::Json(json!({"status": "ok", "models_loaded": loaded})))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let inference = state.jan.inference();
    let text = state.metrics.render(&inference.counters(), inference.loaded().len());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
