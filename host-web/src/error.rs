//! Errors as HTTP responses in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`. The core's
//! error codes map to statuses here, once; internal detail is logged and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error a handler returns.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// OpenAI's `type`: invalid_request_error, authentication_error, not_found_error, rate_limit_error, server_error.
    pub kind: &'static str,
    /// A stable machine code (OpenAI's `code`; the core's error codes, or e.g. `model_not_found`).
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { status, kind, code: code.into(), message: message.into() }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", "invalid_api_key", message)
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "permission_error", code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found_error", "not_found", message)
    }

    /// An unknown model, as OpenAI reports it.
    pub fn model_not_found(model: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!("The model '{model}' does not exist"),
        )
    }

    pub fn too_many(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", code, message)
    }

    /// A failure the client cannot act on: logged with its detail, answered without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal_error", "internal error")
    }
}

impl From<jan_core::Error> for ApiError {
    fn from(e: jan_core::Error) -> Self {
        let (status, kind) = e.http_status();
        match StatusCode::from_u16(status) {
            // Paths and OS errors stay in the log.
            Ok(status) if status != StatusCode::INTERNAL_SERVER_ERROR => {
                ApiError::new(status, kind, e.code(), e.to_string())
            }
            _ => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": self.code}});
        (self.status, Json(body)).into_response()
    }
}

/// `Result` for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
