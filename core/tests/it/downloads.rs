//! Downloads against a real HTTP server on 127.0.0.1: progress, resume, checksum, cancel, errors.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use crate::common::http_server::{Route, TestServer};
use crate::common::{events_until, open_temp, random_bytes, sha256_hex};
use jan_core::Event;
use jan_core::models::ModelFile;
use serde_json::json;

const FILE: &str = "weights.gguf";

fn model(id: &str, url: &str, sha256: Option<&str>) -> ModelFile {
    let mut source = json!({"filename": FILE, "url": url});
    if let Some(sha) = sha256 {
        source["sha256"] = json!(sha);
    }
    serde_json::from_value(json!({
        "id": id, "name": id, "format": "gguf", "engine": "nitro", "sources": [source],
        "settings": {"ctx_len": 2048}, "metadata": {"author": "test", "custom": 1}
    }))
    .unwrap()
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[tokio::test]
async fn progress_is_monotonic_reaches_the_total_and_the_model_appears() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(3_000_000, 1));
    server.route("/m.gguf", Route::File(bytes.clone()));
    let (dir, jan) = open_temp().await;
    let mut events = jan.subscribe();

    let handle = jan.downloads().start(model("m", &server.url("/m.gguf"), Some(&sha256_hex(&bytes)))).await.unwrap();
    assert_eq!(handle.id, "m");
    let seen = events_until(&mut events, |e| matches!(e, Event::DownloadDone { .. })).await;
    let listed = handle.wait().await.unwrap();

    let progress: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::DownloadProgress(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert!(!progress.is_empty());
    assert!(progress.windows(2).all(|w| w[0].transferred <= w[1].transferred), "progress went backwards");
    let last = progress.last().unwrap();
    assert_eq!((last.transferred, last.total), (3_000_000, Some(3_000_000)));
    assert!(progress.iter().all(|p| p.total == Some(3_000_000) && p.download_id == "m" && p.file_name == FILE));

    let model_dir = dir.path().join("models/m");
    assert_eq!(std::fs::read(model_dir.join(FILE)).unwrap(), *bytes);
    assert_eq!(files_in(&model_dir), vec!["model.json".to_owned(), FILE.to_owned()]);
    assert_eq!(listed.metadata.size, Some(3_000_000));
    assert_eq!(listed.settings.llama_model_path.as_deref(), Some(FILE));
    assert_eq!(listed.metadata.extra["custom"], 1, "fields of the catalog entry are kept");
    assert_eq!(jan.models().list().await.unwrap().iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m"]);
    assert!(jan.downloads().list().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_mid_file_is_resumed_and_the_file_is_identical() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(2_500_000, 2));
    server.route("/drop.gguf", Route::DropOnceAt(bytes.clone(), 1_000_000));
    let (dir, jan) = open_temp().await;

    let handle = jan.downloads().start(model("d", &server.url("/drop.gguf"), Some(&sha256_hex(&bytes)))).await.unwrap();
    handle.wait().await.unwrap();

    let ranges = server.ranges("/drop.gguf");
    assert_eq!(ranges.len(), 2, "one request, then one resume: {ranges:?}");
    assert_eq!(ranges[0], None);
    let resumed_at: u64 =
        ranges[1].as_deref().unwrap().trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
    assert!(resumed_at > 0 && resumed_at <= 1_000_000, "resumed at {resumed_at}");
    assert_eq!(std::fs::read(dir.path().join("models/d").join(FILE)).unwrap(), *bytes);
}

#[tokio::test]
async fn a_partial_file_from_an_earlier_run_is_resumed_with_range() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(1_000_000, 3));
    server.route("/r.gguf", Route::File(bytes.clone()));
    let (dir, jan) = open_temp().await;
    let model_dir = dir.path().join("models/r");
    std::fs::create_dir_all(&model_dir).unwrap();
    std::fs::write(model_dir.join(format!("{FILE}.download")), &bytes[..400_000]).unwrap();
    assert!(jan.models().list().await.unwrap().is_empty(), "a partial download is not a model");

    jan.downloads()
        .start(model("r", &server.url("/r.gguf"), Some(&sha256_hex(&bytes))))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    assert_eq!(server.ranges("/r.gguf"), vec![Some("bytes=400000-".to_owned())]);
    assert_eq!(std::fs::read(model_dir.join(FILE)).unwrap(), *bytes);
    assert!(!model_dir.join(format!("{FILE}.download")).exists());
}

#[tokio::test]
async fn a_server_that_ignores_range_makes_the_download_start_over_cleanly() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(600_000, 4));
    server.route("/i.gguf", Route::IgnoreRange(bytes.clone()));
    let (dir, jan) = open_temp().await;
    let model_dir = dir.path().join("models/i");
    std::fs::create_dir_all(&model_dir).unwrap();
    std::fs::write(model_dir.join(format!("{FILE}.download")), &bytes[..100_000]).unwrap();

    jan.downloads()
        .start(model("i", &server.url("/i.gguf"), Some(&sha256_hex(&bytes))))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    assert_eq!(std::fs::read(model_dir.join(FILE)).unwrap(), *bytes, "not appended to the stale partial");
}

#[tokio::test]
async fn a_checksum_mismatch_leaves_no_file_under_the_final_name() {
    let server = TestServer::start().await;
    server.route("/c.gguf", Route::File(Arc::new(random_bytes(200_000, 5))));
    let (dir, jan) = open_temp().await;
    let mut events = jan.subscribe();
    let wrong = "0".repeat(64);

    let err = jan
        .downloads()
        .start(model("c", &server.url("/c.gguf"), Some(&wrong)))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap_err();

    assert_eq!(err.code(), "checksum_mismatch");
    assert!(err.to_string().contains(&wrong), "{err}");
    let model_dir = dir.path().join("models/c");
    assert!(!model_dir.join(FILE).exists());
    assert!(!model_dir.join(format!("{FILE}.download")).exists(), "a corrupt partial is not kept for resuming");
    assert!(!model_dir.join("model.json").exists());
    assert!(jan.models().list().await.unwrap().is_empty());
    let seen = events_until(&mut events, |e| matches!(e, Event::DownloadFailed { .. })).await;
    assert!(matches!(seen.last(), Some(Event::DownloadFailed { code, .. }) if code == "checksum_mismatch"));
}

#[tokio::test]
async fn cancel_stops_the_download_and_leaves_nothing() {
    let server = TestServer::start().await;
    server.route("/slow.gguf", Route::Slow(Arc::new(random_bytes(2_000_000, 6)), Duration::from_millis(30)));
    let (dir, jan) = open_temp().await;
    let mut events = jan.subscribe();

    let handle = jan.downloads().start(model("s", &server.url("/slow.gguf"), None)).await.unwrap();
    events_until(&mut events, |e| matches!(e, Event::DownloadProgress(p) if p.transferred > 0)).await;
    assert_eq!(jan.downloads().list().len(), 1);
    jan.downloads().cancel("s").await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), handle.wait()).await.expect("cancel was slow").unwrap_err();

    assert_eq!(err.code(), "cancelled");
    let seen = events_until(&mut events, |e| matches!(e, Event::DownloadFailed { .. })).await;
    assert!(matches!(seen.last(), Some(Event::DownloadFailed { code, .. }) if code == "cancelled"));
    assert!(!dir.path().join("models/s").exists(), "the folder the download created is gone");
    assert!(jan.downloads().list().is_empty());
    assert_eq!(jan.downloads().cancel("s").await.unwrap_err().code(), "not_found");
}

#[tokio::test]
async fn a_404_is_a_clear_error() {
    let server = TestServer::start().await;
    let (dir, jan) = open_temp().await;

    let err =
        jan.downloads().start(model("n", &server.url("/missing.gguf"), None)).await.unwrap().wait().await.unwrap_err();

    assert_eq!(err.code(), "http_status");
    let text = err.to_string();
    assert!(text.contains("404") && text.contains("/missing.gguf"), "{text}");
    assert!(!dir.path().join("models/n").join(FILE).exists());
    assert_eq!(server.ranges("/missing.gguf").len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn redirects_are_followed() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(300_000, 7));
    server.route("/real.gguf", Route::File(bytes.clone()));
    server.route("/moved.gguf", Route::Redirect(server.url("/real.gguf")));
    let (dir, jan) = open_temp().await;

    jan.downloads()
        .start(model("rd", &server.url("/moved.gguf"), Some(&sha256_hex(&bytes))))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    assert_eq!(std::fs::read(dir.path().join("models/rd").join(FILE)).unwrap(), *bytes);
}

#[tokio::test]
async fn several_downloads_run_at_once() {
    let server = TestServer::start().await;
    let (dir, jan) = open_temp().await;
    let mut handles = Vec::new();
    let mut expected = Vec::new();
    for i in 0..4u64 {
        let bytes = Arc::new(random_bytes(800_000, 10 + i));
        let path = format!("/p{i}.gguf");
        server.route(&path, Route::Slow(bytes.clone(), Duration::from_millis(2)));
        handles.push(
            jan.downloads()
                .start(model(&format!("p{i}"), &server.url(&path), Some(&sha256_hex(&bytes))))
                .await
                .unwrap(),
        );
        expected.push(bytes);
    }
    assert!(jan.downloads().list().len() > 1, "downloads run side by side");
    for (i, handle) in handles.into_iter().enumerate() {
        handle.wait().await.unwrap();
        assert_eq!(std::fs::read(dir.path().join(format!("models/p{i}")).join(FILE)).unwrap(), *expected[i]);
    }
    assert_eq!(jan.models().list().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_full_disk_is_refused_before_writing() {
    let server = TestServer::start().await;
    server.route("/huge.gguf", Route::Huge(1 << 52));
    let (dir, jan) = open_temp().await;

    let err =
        jan.downloads().start(model("h", &server.url("/huge.gguf"), None)).await.unwrap().wait().await.unwrap_err();

    assert_eq!(err.code(), "disk_full", "{err}");
    assert!(!dir.path().join("models/h").join(FILE).exists());
}

#[tokio::test]
async fn starting_twice_or_after_completion_conflicts_and_bad_urls_are_refused() {
    let server = TestServer::start().await;
    let bytes = Arc::new(random_bytes(400_000, 8));
    server.route("/twice.gguf", Route::Slow(bytes.clone(), Duration::from_millis(5)));
    let (_dir, jan) = open_temp().await;
    let m = model("t", &server.url("/twice.gguf"), None);

    let handle = jan.downloads().start(m.clone()).await.unwrap();
    assert_eq!(jan.downloads().start(m.clone()).await.unwrap_err().code(), "conflict");
    handle.wait().await.unwrap();
    assert_eq!(jan.downloads().start(m).await.unwrap_err().code(), "conflict");

    for url in ["file:///etc/passwd", "ftp://h/x.gguf", "not a url"] {
        let err = jan.downloads().start(model("u", url, None)).await.unwrap_err();
        assert_eq!(err.code(), "invalid_request", "{url}");
    }
}

#[tokio::test]
async fn a_catalog_model_downloads_from_a_mirror() {
    let server = TestServer::start().await;
    let (dir, _) = open_temp().await;
    let jan = jan_core::Jan::open(common::config(dir.path()).with_hub_base_url(server.url(""))).await.unwrap();
    let entry = jan.models().catalog().into_iter().find(|m| m.id == "gemma3-270m-q4_k_m").unwrap();
    let source = &entry.sources.as_ref().unwrap()[0];
    let path = source.url.strip_prefix(&server.url("")).unwrap().to_owned();
    let bytes = Arc::new(common::tiny_gguf("gemma3", "Gemma", 32768));
    server.route(&path, Route::File(bytes.clone()));

    let model = jan.models().download("gemma3-270m-q4_k_m").await.unwrap().wait().await.unwrap();

    assert_eq!(model.name, entry.name);
    assert_eq!(jan.models().get("gemma3-270m-q4_k_m").await.unwrap().id, "gemma3-270m-q4_k_m");
    assert_eq!(std::fs::read(dir.path().join("models/gemma3-270m-q4_k_m").join(&source.filename)).unwrap(), *bytes);
    assert_eq!(jan.models().download("no-such-model").await.unwrap_err().code(), "model_not_found");
}
