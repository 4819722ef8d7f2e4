//! Typed events for the UI, one subscription for all of them.
//!
//! The core publishes; each host subscribes once and forwards (host-web as server-sent events, bindings-node
//! through a JS callback). Events serialise with a `type` tag, so the wire format is the same in both hosts.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::threads::{Message, Thread};

/// How many events a slow subscriber may fall behind before it gets [`Event::Lagged`].
const CAPACITY: usize = 1024;

/// Something the UI may want to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "JanEvent"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JanEvent))]
pub enum Event {
    /// Bytes arrived for a download (rate-limited; the last one has `transferred == total`).
    DownloadProgress(DownloadProgress),
    /// A download finished and verified; the model is listed now.
    DownloadDone { download_id: String, model_id: String },
    /// A download stopped: `code` is the error's [`crate::Error::code`] (`cancelled` when cancelled).
    DownloadFailed {
        download_id: String,
        model_id: String,
        #[cfg_attr(feature = "typescript", ts(type = "ErrorCode"))]
        code: crate::error::ErrorCode,
        message: String,
    },
    /// A model was added (downloaded, imported, or its model.json generated) or changed.
    ModelUpdated { model_id: String },
    /// A model was deleted.
    ModelDeleted { model_id: String },
    /// A model's runtime state changed (loading, ready, failed, stopped).
    ModelState { model_id: String, state: ModelState },
    /// A thread was created or changed (title, settings, `updated`).
    ThreadUpdated { thread: Thread },
    /// A thread was deleted.
    ThreadDeleted { thread_id: String },
    /// A message was appended to a thread.
    MessageCreated { message: Message },
    /// A message changed (content, or status pending -> ready / stopped / error).
    MessageUpdated { message: Message },
    /// This subscriber fell behind and missed `missed` events; it should re-read what it shows.
    Lagged { missed: u64 },
}

/// Progress of one download.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadProgress {
    pub download_id: String,
    pub model_id: String,
    /// The file being fetched now (a model may have several; progress is per file).
    pub file_name: String,
    /// Bytes of this file on disk, bytes resumed from an earlier run included.
    pub transferred: u64,
    /// This file's size, when the server said.
    pub total: Option<u64>,
    /// Recent speed in bytes per second.
    pub bytes_per_second: u64,
}

/// Runtime state of a model in an engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ModelState {
    /// Loading; `progress` runs from 0 to 1.
    Loading {
        progress: f32,
    },
    Ready,
    Failed {
        #[cfg_attr(feature = "typescript", ts(type = "ErrorCode"))]
        code: crate::error::ErrorCode,
        message: String,
    },
    Stopped,
}

/// The publishing side, owned by the facade.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    pub(crate) fn new() -> Self {
        EventBus { tx: broadcast::channel(CAPACITY).0 }
    }

    /// Publishes to every current subscriber; with none, the event is dropped.
    pub(crate) fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub(crate) fn subscribe(&self) -> Events {
        Events { inner: BroadcastStream::new(self.tx.subscribe()) }
    }
}

/// A subscription: a stream of every event published after it was made.
pub struct Events {
    inner: BroadcastStream<Event>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    /// The next event; `None` once the facade is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        futures::StreamExt::next(self).await
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|item| {
            item.map(|r| match r {
                Ok(event) => event,
                Err(BroadcastStreamRecvError::Lagged(missed)) => Event::Lagged { missed },
            })
        })
    }
}
