//! [`ApiJson`]: a JSON body extractor whose rejections are OpenAI-shaped 400s naming the field at fault (the
//! core's [`jan_core::json`], the same errors bindings-node gives), and 413 over the body limit. The limit is
//! axum's [`DefaultBodyLimit`](axum::extract::DefaultBodyLimit), set for the whole router in `routes/mod.rs`;
//! its rejection is matched by type.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use jan_core::error::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body; an empty body reads as `{}` (so `POST /v1/threads` without a body makes a thread with
/// the defaults). The content type is not checked (`curl -d` sends a form type).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| body_rejection(&e, state))?;
        Ok(ApiJson(jan_core::json::from_slice(&bytes)?))
    }
}

/// A body that could not be read: over the limit (413), or cut off (400).
fn body_rejection(e: &BytesRejection, state: &AppState) -> ApiError {
    match e {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            too_large(state.config.max_body_mb)
        }
        _ => ApiError::new(ErrorCode::InvalidBody, "the request body could not be read"),
    }
}

/// The 413 of a body over the limit, in OpenAI's shape.
pub fn too_large(max_body_mb: usize) -> ApiError {
    ApiError::new(
        ErrorCode::RequestTooLarge,
        format!("The request body is larger than this server accepts ({} MiB).", max_body_mb.max(1)),
    )
}

/// The body limit in bytes.
pub fn limit_bytes(max_body_mb: usize) -> usize {
    max_body_mb.max(1) * 1024 * 1024
}
