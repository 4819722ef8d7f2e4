//! A catalog model downloaded through the API from a Hugging Face mirror on 127.0.0.1 (`--hub-url`): progress on
//! the event stream, sha256-verified, then listed and chatting: the "download a model and chat with it".

use crate::common;
use crate::http_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::Server;
use http_server::{Route, TestServer};
use serde_json::{Value, json};

/// The catalog entry whose file and sha256 are those of the cached qwen test model.
const CATALOG_ID: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

#[tokio::test]
async fn a_catalog_model_downloads_from_a_mirror_with_progress_and_then_chats() {
    let bytes = Arc::new(std::fs::read(common::test_model("qwen2.5-coder-0.5b-instruct.gguf")).unwrap());
    let mirror = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--hub-url", &mirror.url("")], &[]).await;
    let client = reqwest::Client::new();

    // The catalog points at the mirror; serve the file at the path it asks for.
    let catalog: Value = client.get(server.url("/v1/catalog")).send().await.unwrap().json().await.unwrap();
    let entry = catalog["data"].as_array().unwrap().iter().find(|m| m["id"] == CATALOG_ID).unwrap().clone();
    assert_eq!(entry["status"], "available");
    let url = entry["sources"][0]["url"].as_str().unwrap();
    let path = url.strip_prefix(&mirror.url("")).unwrap_or_else(|| panic!("not on the mirror: {url}"));
    mirror.route(path, Route::File(bytes.clone()));

    let mut events = client.get(server.url("/api/events")).send().await.unwrap();
    let started = client.get(server.url(&format!("/v1/models/download/{CATALOG_ID}"))).send().await.unwrap();
    assert_eq!(started.status().as_u16(), 202, "{}", started.text().await.unwrap());

    // Progress events rise to the file's size, then the download is done.
    let mut buffer = String::new();
    let mut progress = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    'read: loop {
        let chunk = tokio::time::timeout_at(deadline.into(), events.chunk()).await.expect("download in time");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the event stream ended")));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for data in common::sse_data(&block) {
                let event: Value = serde_json::from_str(&data).unwrap();
                match event["type"].as_str().unwrap() {
                    "download_progress" if event["model_id"] == CATALOG_ID => {
                        progress.push(event["transferred"].as_u64().unwrap());
                        assert_eq!(event["total"], json!(bytes.len()));
                    }
                    "download_failed" => panic!("download failed: {event}"),
                    "download_done" if event["model_id"] == CATALOG_ID => break 'read,
                    _ => {}
                }
            }
        }
    }
    drop(events);
    assert!(!progress.is_empty() && progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    // Listed, on disk under its final name (no partial left), and it chats.
    let models: Value = client.get(server.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    assert!(models["data"].as_array().unwrap().iter().any(|m| m["id"] == CATALOG_ID), "{models}");
    let folder = dir.path().join("models").join(CATALOG_ID);
    let names: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".download")), "{names:?}");
    assert_eq!(
        std::fs::metadata(folder.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")).unwrap().len(),
        bytes.len() as u64
    );

    let body = json!({"model": CATALOG_ID, "max_tokens": 6, "temperature": 0,
                      "messages": [{"role": "user", "content": "Write hello world in Python."}]});
    let response = client.post(server.url("/v1/chat/completions")).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let chat: Value = response.json().await.unwrap();
    assert!(!chat["choices"][0]["message"]["content"].as_str().unwrap().is_empty(), "{chat}");
    let tokens = chat["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=6).contains(&tokens), "{chat}");
    server.stop();
}
