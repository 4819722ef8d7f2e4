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
    /// Where each loaded model runs (`cpu`, `cuda:0`), so that a check can tell a GPU server that fell back to
    /// the CPU.
    pub devices: Vec<ModelDevice>,
}

/// A loaded model and its device.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelDevice {
    pub model_id: String,
    pub device: String,
}

pub fn routes() -> Routes {
    Routes::new().get("/health", health).get("/metrics", metrics)
}

/// `ready`, or `loading` while a model loads, with the models loaded and loading. Always 200: unlike llama.cpp's
/// server (503 while its one model loads) this server answers every other request while a model loads, so a load
/// balancer must not take it out of service.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let inference = state.jan.inference();
    let loaded = inference.loaded();
    let devices =
        loaded.iter().map(|m| ModelDevice { model_id: m.model_id.clone(), device: m.device.clone() }).collect();
    let models_loaded = loaded.into_iter().map(|m| m.model_id).collect();
    let models_loading = inference.loading();
    let status = if models_loading.is_empty() { "ready" } else { "loading" };
    (StatusCode::OK, axum::Json(Health { status: status.into(), models_loaded, models_loading, devices }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let inference = state.jan.inference();
    let text = state.metrics.render(&inference.counters(), inference.loaded().len());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
