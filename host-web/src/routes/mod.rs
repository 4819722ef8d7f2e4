//! The router: every route, and the layers around them (request ids, logs without secrets, body limit,
//! authentication, CORS allow-list, OpenAI-shaped transport errors, security headers on every response).

pub mod health;
pub mod jan;
pub mod json_body;
pub mod openai;
pub mod registry;
mod security_headers;
pub mod sse;
mod transport_errors;
pub mod ui;
pub mod ui_api;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::state::AppState;
use registry::Routes;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route the server serves (the OpenAPI table documents exactly these).
pub fn routes() -> Routes {
    health::routes()
        .merge(openai::routes())
        .merge(jan::routes())
        .merge(ui_api::routes())
        .merge(crate::openapi::routes())
        .merge(auth::routes())
        .merge(ui::routes())
}

/// The whole application, without a socket (tests drive it with `tower::ServiceExt::oneshot`).
pub fn app(state: AppState) -> Router {
    routes()
        .into_router()
        .fallback(ui::fallback())
        .layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(auth::cors_layer(&state.config))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveHeadersLayer::new([header::AUTHORIZATION, header::COOKIE, header::SET_COOKIE]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings may carry secrets.
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                // OpenAI-shaped errors for what axum answers itself (405, path rejections).
                .layer(middleware::from_fn_with_state(state.clone(), transport_errors::openai_shaped)),
        )
        // The limit of bodies read by extractors (`ApiJson`); a model upload reads its raw body, unlimited.
        .layer(DefaultBodyLimit::max(json_body::limit_bytes(state.config.max_body_mb)))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers::add))
        .with_state(state)
}

/// Counts every response by status class for `/metrics`.
async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    state.metrics.record_request(response.status().as_u16());
    response
}

/// `--request-timeout-secs`: how long a request may take until its response starts (a whole non-streamed
/// completion, reading a body). Streams run on after their headers; model uploads (GBs) have no limit. Past it,
/// a 504 in OpenAI's shape; dropping the handler's future drops its completion stream, which stops generation.
async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path() == jan::UPLOAD_PATH {
        return next.run(req).await;
    }
    let limit = Duration::from_secs(state.config.request_timeout_secs.max(1));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => crate::error::ApiError::new(
            jan_core::error::ErrorCode::Timeout,
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}
