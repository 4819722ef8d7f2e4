//! Streams into JavaScript: a generation (a thread's reply or a chat / text completion) delivers its events to a
//! callback in order and ends once; a subscription forwards the core's events until it is closed.
//!
//! Order and completeness: every event goes through one thread-safe function, whose queue keeps order, and each
//! call is acknowledged from the JS thread; `wait()` settles only after every call was acknowledged, so the last
//! event always arrives before the promise resolves and no callback runs after it.

use std::sync::Mutex;

use futures::{Stream, StreamExt};
use jan_core::error::ErrorCode;
use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::error::{Failure, spawn};

/// A JS callback that takes one JSON value; `Weak` ones do not keep Node's event loop alive.
pub type Callback<const WEAK: bool = false> = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false, WEAK>;

/// One item for the callback: `Event` goes to the callback, `End` is the result `wait()` settles with (after the
/// callback got `last`, when there is one).
#[allow(missing_debug_implementations)]
pub enum Item {
    Event(Value),
    End { last: Option<Value>, result: Result<Value, Failure> },
}

/// A generation under way: its events reach the callback given when it started.
/// (No `Debug`: it holds a JS callback's channel.)
#[napi]
#[allow(missing_debug_implementations)]
pub struct Generation {
    stop: CancellationToken,
    message_id: Option<String>,
    end: Mutex<Option<oneshot::Receiver<Result<Value, Failure>>>>,
}

impl Generation {
    /// Starts forwarding `items` to `callback`; `stop` cancels the generation in the core.
    pub fn start(
        items: impl Stream<Item = Item> + Send + 'static,
        callback: Callback,
        stop: CancellationToken,
        message_id: Option<String>,
    ) -> Generation {
        let (tx, rx) = oneshot::channel();
        napi::bindgen_prelude::spawn(async move {
            let mut items = std::pin::pin!(items);
            let mut result = Err(Failure::new(ErrorCode::Cancelled, "the generation ended early"));
            // Every call is acknowledged once JavaScript ran it; the end waits for all of them.
            let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let mut sent = 0usize;
            let mut send = |value: Value| {
                let ack = ack_tx.clone();
                let status =
                    callback.call_with_return_value(value, ThreadsafeFunctionCallMode::NonBlocking, move |_, _| {
                        let _ = ack.send(());
                        Ok(())
                    });
                if status == Status::Ok {
                    sent += 1;
                }
            };
            while let Some(item) = items.next().await {
                match item {
                    Item::Event(value) => send(value),
                    Item::End { last, result: end } => {
                        if let Some(value) = last {
                            send(value);
                        }
                        result = end;
                        break;
                    }
                }
            }
            drop(ack_tx);
            for _ in 0..sent {
                if ack_rx.recv().await.is_none() {
                    break;
                }
            }
            // The callback is released before `wait()` settles: nothing runs after the end.
            drop(callback);
            let _ = tx.send(result);
        });
        Generation { stop, message_id, end: Mutex::new(Some(rx)) }
    }
}

#[napi]
impl Generation {
    /// The assistant message this reply writes (thread replies only).
    #[napi(getter)]
    pub fn message_id(&self) -> Option<String> {
        self.message_id.clone()
    }

    /// Stops the generation; it then ends normally (a thread reply is saved as `stopped`).
    #[napi]
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Settles when the generation has ended and its last event was delivered: with the result (a completion's
    /// text, finish reason, usage and timings; a reply's `done` event), or rejects with the core's error. Only the
    /// first call waits; later calls reject with `invalid_request`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn wait<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Value>> {
        let rx = self.end.lock().map_err(|_| napi::Error::from_reason("poisoned"))?.take();
        spawn(env, async move {
            let rx = rx.ok_or_else(|| Failure::invalid("wait() was already called on this generation"))?;
            rx.await.unwrap_or_else(|_| Err(Failure::new(ErrorCode::Cancelled, "the generation was dropped")))
        })
    }
}

/// The core's events, forwarded to a callback until `close()`.
#[napi]
#[allow(missing_debug_implementations)]
pub struct Subscription {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Subscription {
    pub fn start(mut events: jan_core::Events, callback: Callback<true>) -> Subscription {
        let task = napi::bindgen_prelude::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Ok(value) = serde_json::to_value(&event)
                    && callback.call(value, ThreadsafeFunctionCallMode::NonBlocking) == Status::Closing
                {
                    break;
                }
            }
        });
        Subscription { task: Mutex::new(Some(task)) }
    }
}

#[napi]
impl Subscription {
    /// Stops forwarding events; calling it again does nothing.
    #[napi]
    pub fn close(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }
}
