//! The web host's integration tests, one module per concern, linked into one test binary (one link instead of one
//! per file). Most start a real `jan-server` process on 127.0.0.1 with the real test model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
/// The core tests' fake OpenAI-compatible upstream.
#[path = "../../../core/tests/it/common/fake_openai.rs"]
mod fake_openai;
/// The core tests' small HTTP server, here a Hugging Face mirror.
#[path = "../../../core/tests/it/common/http_server.rs"]
#[allow(dead_code)]
mod http_server;

mod api_download;
mod api_real;
mod auth_matrix;
mod bad_input;
mod openai_python;
mod openapi_routes;
mod request_table;
mod server_process;
mod stalled_client;
mod tool_calls;
