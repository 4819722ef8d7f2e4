//! jan-core: Jan's plugins, host-independent.
//!
//! One facade, [`Jan`], opened on a Jan data folder, implements what Jan's desktop plugins did: models and
//! downloads, threads and messages, assistants, the system monitor, and typed events for the UI. Hosts (the web
//! server, the napi bindings) only map their transport onto these methods and map [`Error::code`] back.
//!
//! ```no_run
//! # async fn demo() -> jan_core::Result<()> {
//! let jan = jan_core::Jan::open(jan_core::JanConfig::new("/tmp/jan")).await?;
//! let thread = jan.threads().create(Default::default()).await?;
//! for model in jan.models().list().await? {
//!     println!("{} ({})", model.id, model.name);
//! }
//! # let _ = thread; Ok(()) }
//! ```

pub mod assistants;
mod config;
pub mod downloads;
pub mod error;
pub mod events;
mod facade;
pub mod gguf;
pub mod ids;
pub mod inference;
mod instance;
pub mod json;
mod locks;
pub mod models;
mod serde_util;
mod storage;
pub mod system;
pub mod threads;
pub mod time;
pub mod views;
#[cfg(feature = "typescript")]
pub mod wire_types;

pub use config::JanConfig;
pub use error::{Error, Result};
pub use events::{Event, Events};
pub use facade::Jan;
