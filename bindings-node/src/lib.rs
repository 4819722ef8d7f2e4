//! jan-node: the core ([`jan_core`]) for Node.js and Electron, built with napi-rs.
//!
//! One class, `Jan`, opened on a data folder, with an async method per operation of the core's facade. Results
//! are the JSON objects host-web sends (`jan_core::views`), so the shared UI reads both hosts alike. Errors
//! reject with an `Error` whose `code` is the core's stable code. Streams (thread replies, completions, events)
//! call a JS callback in order and end once.

mod error;
mod generation;
mod jan;

pub use generation::{Generation, Subscription};
pub use jan::{ImportOptions, Jan, OpenOptions};
