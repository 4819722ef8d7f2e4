//! The channel a completion streams through: the engine holds a [`CompletionSender`], the caller a
//! [`CompletionStream`]. Dropping the stream or calling [`CompletionStream::stop`] cancels the work; engines
//! check [`CompletionSender::is_cancelled`] between tokens and free the slot at once.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::types::{Completion, StreamItem};
use crate::error::{Error, Result};

/// Items a consumer may fall behind by; then the engine stops stepping its request (see `outbox.rs`).
const BUFFER: usize = 256;

/// Makes a connected sender / stream pair.
pub fn channel() -> (CompletionSender, CompletionStream) {
    let (tx, rx) = mpsc::channel(BUFFER);
    let cancel = CancellationToken::new();
    (CompletionSender { tx, cancel: cancel.clone() }, CompletionStream { rx, cancel })
}

/// The engine's end.
#[derive(Debug, Clone)]
pub struct CompletionSender {
    tx: mpsc::Sender<StreamItem>,
    cancel: CancellationToken,
}

impl CompletionSender {
    /// Whether the consumer stopped the request or went away; the engine should stop generating.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.tx.is_closed()
    }

    /// Resolves when the request is cancelled (for async engines to `select!` on).
    pub async fn cancelled(&self) {
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            _ = self.tx.closed() => {}
        }
    }

    /// Sends an item from async code; `false` if the consumer is gone.
    pub async fn send(&self, item: StreamItem) -> bool {
        self.tx.send(item).await.is_ok()
    }

    /// Sends an item if the channel has room, without waiting (the engine thread never waits for a consumer).
    pub fn try_send(&self, item: StreamItem) -> TrySend {
        match self.tx.try_send(item) {
            Ok(()) => TrySend::Sent,
            Err(mpsc::error::TrySendError::Full(item)) => TrySend::Full(item),
            Err(mpsc::error::TrySendError::Closed(_)) => TrySend::Gone,
        }
    }
}

/// What [`CompletionSender::try_send`] did.
#[derive(Debug)]
pub enum TrySend {
    Sent,
    /// The consumer has not read enough: the item is given back.
    Full(StreamItem),
    /// The consumer is gone.
    Gone,
}

/// The caller's end: text deltas and tool calls, then one `Done` or `Error`.
#[derive(Debug)]
pub struct CompletionStream {
    rx: mpsc::Receiver<StreamItem>,
    cancel: CancellationToken,
}

impl CompletionStream {
    /// Asks the engine to stop; the stream then ends with `Done` (finish reason `cancelled`).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// A handle that stops this completion from elsewhere (e.g. a "stop" button's handler).
    pub fn stop_handle(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The next item; `None` after the last one.
    pub async fn recv(&mut self) -> Option<StreamItem> {
        self.rx.recv().await
    }

    /// Waits for the end and returns the completion (deltas and tool calls are dropped: `Completion::text` and
    /// `Completion::tool_calls` hold them all).
    pub async fn collect(mut self) -> Result<Completion> {
        while let Some(item) = self.rx.recv().await {
            match item {
                StreamItem::Delta(_) | StreamItem::ToolCall(_) => {}
                StreamItem::Done(c) => return Ok(c),
                StreamItem::Error(e) => return Err(e),
            }
        }
        Err(Error::Cancelled("the completion".into()))
    }
}

impl Stream for CompletionStream {
    type Item = StreamItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for CompletionStream {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
