//! Server-sent events, as every streaming route sends them: JSON `data:` events, a keep-alive comment every 15 s,
//! and headers that keep proxies from buffering.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde_json::{Value, json};

use crate::error::ApiError;

/// How often an idle SSE stream sends a comment, so proxies and clients keep it open.
pub const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// An SSE response with keep-alives, which proxies must not buffer.
pub fn sse_response<S>(events: S) -> Response
where
    S: Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
{
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON `data:` event.
pub fn json_event(value: &Value) -> SseEvent {
    SseEvent::default().data(value.to_string())
}

/// An error as a `data:` event, the way OpenAI's clients read it mid-stream.
pub fn error_event(e: jan_core::Error) -> SseEvent {
    json_event(&json!({"error": ApiError::from(e).body()}))
}
