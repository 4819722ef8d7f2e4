//! Shared helpers for the core's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fake_openai;
pub mod http_server;

use std::path::Path;
use std::time::Duration;

use jan_core::gguf::GgufValue;
use jan_core::gguf::writer::GgufWriter;
use jan_core::{Event, Events, Jan, JanConfig};
use sha2::Digest;

/// A real test model in `$JAN_TEST_MODELS` (default `~/.cache/jan-test-models`), which
/// `ci/fetch-test-models.sh` fills; a clear failure when it is missing.
pub fn test_model(file: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("JAN_TEST_MODELS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/jan-test-models"));
    let path = dir.join(file);
    assert!(path.is_file(), "{} is missing: run ci/fetch-test-models.sh first", path.display());
    path
}

/// A config for tests: fast retries so that failure paths finish quickly.
pub fn config(dir: &Path) -> JanConfig {
    JanConfig::new(dir)
        .with_download_retries(4, Duration::from_millis(20))
        .with_download_read_timeout(Duration::from_secs(5))
}

/// A fresh data folder and the facade on it.
pub async fn open_temp() -> (tempfile::TempDir, Jan) {
    let dir = tempfile::tempdir().unwrap();
    let jan = Jan::open(config(dir.path())).await.unwrap();
    (dir, jan)
}

/// A tiny valid GGUF file with the metadata an import reads.
pub fn tiny_gguf(arch: &str, name: &str, ctx: u32) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", GgufValue::String(arch.into()))
        .kv("general.name", GgufValue::String(name.into()))
        .kv("general.file_type", GgufValue::U32(15))
        .kv(format!("{arch}.context_length"), GgufValue::U32(ctx))
        .kv("tokenizer.chat_template", GgufValue::String("{% for m in messages %}{{ m.content }}{% endfor %}".into()))
        .tensor_f32("token_embd.weight", &[4, 8], &[0.5; 32]);
    w.to_bytes()
}

/// Deterministic pseudo-random bytes (so that a wrong offset shows up as a wrong digest).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Collects events until `stop` says so (or 20 s pass, which fails the test).
pub async fn events_until(events: &mut Events, mut stop: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await.expect("timed out waiting for events");
        let event = event.expect("event stream ended");
        let done = stop(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Every file under `dir`, relative, sorted: to assert that an operation changed nothing.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
