//! Server-sent events, as every streaming route sends them: JSON `data:` events, a keep-alive comment every 15 s,
//! and headers that keep proxies from buffering.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;

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
pub fn json_event<T: serde::Serialize>(value: &T) -> SseEvent {
    match serde_json::to_string(value) {
        Ok(text) => SseEvent::default().data(text),
        Err(_) => SseEvent::default().comment("an event could not be serialised"),
    }
}

/// An error as a `data:` event, the way OpenAI's clients read it mid-stream.
pub fn error_event(e: jan_core::Error) -> SseEvent {
    json_event(&crate::openapi::ErrorResponse { error: ApiError::from(e).body() })
}
