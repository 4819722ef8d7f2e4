//! The core's integration tests, one module per area, linked into one test binary: one link of candle and the
//! core instead of one per file keeps CI's build time and disk use down. The real-model tests need
//! `ci/fetch-test-models.sh` first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod assistants;
mod batched_decode;
mod chat_template;
mod downloads;
mod generated;
mod greedy_llama_cpp;
mod id_validation;
mod inference;
mod jan_data_folder;
mod models;
mod real_models;
mod remote_engine;
mod sampling;
mod system;
mod threads;
mod tokenizer_llama_cpp;
