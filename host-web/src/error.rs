//! Errors as HTTP responses in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`. The status and
//! `type` come from the core's [`ErrorCode`] table, the one mapping every host shares; internal detail is logged
//! and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jan_core::error::{ErrorBody, ErrorCode};

/// An error a handler returns.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault (OpenAI's `param`).
    pub param: Option<String>,
}

impl ApiError {
    /// An error of `code`, answered with the code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError { status, code, message: message.into(), param: None }
    }

    /// The same error answered with another status (only for re-shaping a response whose status is already set).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// A route or object that is not there.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// A failure the client cannot act on: logged with its detail, answered without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(ErrorCode::InternalError, ErrorCode::InternalError.public_message())
    }

    /// OpenAI's error object, `{"message", "type", "param", "code"}` (the core's [`ErrorBody`]).
    pub fn body(&self) -> ErrorBody {
        ErrorBody { param: self.param.clone(), ..ErrorBody::new(self.code, self.message.clone()) }
    }
}

impl From<jan_core::Error> for ApiError {
    fn from(e: jan_core::Error) -> Self {
        let code = e.code();
        if code.is_internal() {
            tracing::error!(code = %code, error = %e, "internal error");
        }
        ApiError { param: e.param().map(str::to_owned), ..ApiError::new(code, e.public_message()) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = crate::openapi::ErrorResponse { error: self.body() };
        let mut response = (self.status, Json(body)).into_response();
        if self.code == ErrorCode::Overloaded {
            // OpenAI's clients retry a 429 after `Retry-After`.
            response
                .headers_mut()
                .entry(axum::http::header::RETRY_AFTER)
                .or_insert(axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

/// `Result` for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
