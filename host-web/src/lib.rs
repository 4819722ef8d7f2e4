//! jan-server: the core behind HTTP. A thin host: it maps routes onto `jan_core::Jan` and the core's errors onto
//! statuses; decisions about models, threads and inference stay in the core.
//!
//! - `/v1/...`: Jan's API and the OpenAI-compatible API (session cookie or `Authorization: Bearer <key>`).
//! - `/api/...`: what only the UI uses: login, logout, session, API keys, events (SSE), system monitor (cookie).
//! - `/health` (open), `/metrics` (Prometheus), `/openapi.json`, and the UI at `/`.

pub mod auth;
pub mod config;
pub mod connection;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

pub use config::Config;
pub use routes::app;
pub use state::AppState;
