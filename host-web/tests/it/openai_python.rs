//! The official `openai` Python package (pip, `ci/python-env.sh`) against a real server with an API key: models,
//! chat completions streamed and not, text completions, and the exception types for an unknown model, a bad
//! value and a wrong key.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use crate::common::{MODEL, Server};

/// `$JAN_TEST_PYTHON`, else the environment `ci/python-env.sh` makes.
pub fn python() -> PathBuf {
    let python = std::env::var_os("JAN_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/jan-test-venv/bin/python")
    });
    let has_openai = Command::new(&python).args(["-c", "import openai"]).status().is_ok_and(|s| s.success());
    assert!(has_openai, "{} has no `openai` package: run ci/python-env.sh (ci/test.sh does)", python.display());
    python
}

#[tokio::test]
async fn the_openai_python_package_works_against_the_server() {
    let python = python();
    let dir = common::data_folder_with_model().await;
    let key = "sk-python-client-0123456789";
    let env = [("JAN_USERNAME", "admin"), ("JAN_PASSWORD", "a long password"), ("JAN_API_KEY", key)];
    let server = Server::start(dir.path(), &[], &env).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openai_client.py");
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || Command::new(python).args([script, &base, key, MODEL]).output())
        .await
        .unwrap()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    assert!(text.contains("all checks passed"), "{text}");
    server.stop();
}
