//! A real `jan-server` process on 127.0.0.1 with the real test model in its data folder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jan_core::models::{ImportMode, ImportRequest};

/// The model the API tests chat with: the smaller and faster of the two test models.
pub const MODEL: &str = "gemma-3-270m";
pub const MODEL_FILE: &str = "gemma-3-270m-q4_k_m.gguf";

/// A real test model in `$JAN_TEST_MODELS` (default `~/.cache/jan-test-models`), fetched by
/// `ci/fetch-test-models.sh`.
pub fn test_model(file: &str) -> PathBuf {
    let dir = std::env::var_os("JAN_TEST_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/jan-test-models"));
    let path = dir.join(file);
    assert!(path.is_file(), "{} is missing: run ci/fetch-test-models.sh", path.display());
    path
}

/// A data folder holding the test model the way the desktop app leaves it: `models/<id>/model.json` next to
/// its `.gguf` (hard-linked from the cache, not copied).
pub async fn data_folder_with_model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let jan = jan_core::Jan::open(jan_core::JanConfig::new(dir.path())).await.unwrap();
    let src = dir.path().join(MODEL_FILE);
    let real = test_model(MODEL_FILE);
    std::fs::hard_link(&real, &src).or_else(|_| std::fs::copy(&real, &src).map(|_| ())).unwrap();
    let request = ImportRequest { id: Some(MODEL.into()), mode: ImportMode::Move, ..ImportRequest::copy(&src) };
    jan.models().import(request).await.unwrap();
    let update = serde_json::from_value(serde_json::json!({"settings": {"ctx_len": 2048, "n_parallel": 2}})).unwrap();
    jan.models().update(MODEL, update).await.unwrap();
    dir
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `jan-server` binary on `data`, without any `JAN_*` setting from the test's own environment.
pub fn command(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jan-server"));
    cmd.arg("--data-folder").arg(data).args(args);
    for key in ["JAN_USERNAME", "JAN_PASSWORD", "JAN_API_KEY", "JAN_API_HOST", "JAN_API_PORT", "JAN_INSECURE_NO_AUTH"] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits (up to 60 s) until `base`/health answers.
pub async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not start");
}

/// A running `jan-server`; killed when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub base: String,
    pub port: u16,
}

impl Server {
    /// Starts the binary on a free loopback port and waits for `/health`.
    pub async fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let port_arg = port.to_string();
        let mut args = args.to_vec();
        args.extend(["--port", port_arg.as_str()]);
        let child = command(data, &args, env).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = Server { child: Some(child), base: format!("http://127.0.0.1:{port}"), port };
        wait_ready(&server.base).await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits for a clean exit (well before the server's 30 s grace period for stuck requests).
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "jan-server exited with {status:?}");
                return;
            }
            assert!(Instant::now() < deadline, "jan-server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `data:` payloads of an SSE body, in order.
pub fn sse_data(body: &str) -> Vec<String> {
    body.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.trim_start().to_owned()).collect()
}
