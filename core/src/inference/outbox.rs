//! [`Outbox`]: how the engine thread hands a request's items to its consumer without ever waiting for it. Items go
//! straight into the request's channel while it has room; what does not fit waits in the outbox, and the engine
//! does not step a request whose outbox is not empty. So a consumer that stops reading holds at most its channel
//! plus one step's items, the other requests of the model run on at full speed, and one that stays behind longer
//! than the stall timeout is cancelled.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::stream::{CompletionSender, TrySend};
use super::types::StreamItem;

/// Where a request's consumer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Everything was handed over.
    Clear,
    /// The consumer's channel is full; items wait in the outbox.
    Behind,
    /// The consumer is gone (dropped its stream or stopped).
    Gone,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    out: CompletionSender,
    backlog: VecDeque<StreamItem>,
    /// Since when the consumer has not taken what it was given.
    behind_since: Option<Instant>,
}

impl Outbox {
    pub fn new(out: CompletionSender) -> Self {
        Outbox { out, backlog: VecDeque::new(), behind_since: None }
    }

    pub fn sender(&self) -> &CompletionSender {
        &self.out
    }

    /// Hands an item over, or keeps it until the consumer has room. `false` when the consumer is gone.
    pub fn send(&mut self, item: StreamItem) -> bool {
        if !self.backlog.is_empty() {
            self.backlog.push_back(item);
            return !self.out.is_cancelled();
        }
        match self.out.try_send(item) {
            TrySend::Sent => true,
            TrySend::Full(item) => {
                self.backlog.push_back(item);
                self.behind_since.get_or_insert_with(Instant::now);
                true
            }
            TrySend::Gone => false,
        }
    }

    /// Hands over what waits, in order.
    pub fn flush(&mut self) -> Flow {
        while let Some(item) = self.backlog.pop_front() {
            match self.out.try_send(item) {
                TrySend::Sent => {}
                TrySend::Full(item) => {
                    self.backlog.push_front(item);
                    self.behind_since.get_or_insert_with(Instant::now);
                    return Flow::Behind;
                }
                TrySend::Gone => return Flow::Gone,
            }
        }
        self.behind_since = None;
        if self.out.is_cancelled() { Flow::Gone } else { Flow::Clear }
    }

    /// Whether the consumer has been behind for longer than `limit`.
    pub fn stalled(&self, limit: Duration) -> bool {
        self.behind_since.is_some_and(|t| t.elapsed() >= limit)
    }

    /// Whether everything was handed over.
    pub fn is_empty(&self) -> bool {
        self.backlog.is_empty()
    }
}
