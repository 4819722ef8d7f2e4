//! The layer that gives every error under `/v1` and `/api` OpenAI's JSON shape: axum's own plain-text answers (a
//! 405, a path rejection, a request over the body limit that no extractor read) are re-rendered with their status
//! and headers (such as `Allow`) kept.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jan_core::error::ErrorCode;

use super::json_body::too_large;
use crate::error::ApiError;
use crate::state::AppState;

/// Middleware around every route.
pub async fn openai_shaped(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let response = next.run(req).await;
    let api = path == "/v1" || path.starts_with("/v1/") || path.starts_with("/api/");
    let failed = response.status().is_client_error() || response.status().is_server_error();
    if api && failed && !is_json(&response) {
        return reshape(response, &method, &path, state.config.max_body_mb).await;
    }
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn reshape(response: Response, method: &Method, path: &str, max_body_mb: usize) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let text = text.unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(max_body_mb),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {path}"))
        }
        StatusCode::NOT_FOUND => ApiError::not_found(format!("no route for {path}")),
        _ if status.is_server_error() => ApiError::internal(format!("{status} on {path}: {text}")).with_status(status),
        _ => {
            let code = match status.as_u16() {
                401 => ErrorCode::InvalidApiKey,
                403 => ErrorCode::Forbidden,
                415 => ErrorCode::UnsupportedMediaType,
                429 => ErrorCode::Overloaded,
                _ => ErrorCode::InvalidRequest,
            };
            let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
            ApiError::new(code, message).with_status(status)
        }
    };
    let mut shaped = error.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}
