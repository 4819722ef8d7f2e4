//! Bad input through the router: malformed JSON, wrong types, an oversized body, an unknown model, ids with
//! `../` or encoded separators on every route that takes one. Each gets a clear 4xx in OpenAI's error shape, and
//! the data folder is byte for byte what it was.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, header};
use clap::Parser;
use jan_server::openapi::{OPERATIONS, RequestBody};
use jan_server::{AppState, Config, app};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Every file under `dir` with its bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.push((path.strip_prefix(root).unwrap().display().to_string() + "/", Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((path.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// An open loopback server (no credentials), a 1 MiB body limit, and one thread with one message.
async fn setup() -> (tempfile::TempDir, AppState, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_string_lossy().into_owned();
    let config = Config::try_parse_from(["jan-server", "--data-folder", &folder, "--max-body-mb", "1"]).unwrap();
    let state = AppState::new(config).await.unwrap();
    let thread = state.jan.threads().create(Default::default()).await.unwrap();
    let message = jan_core::threads::NewMessage::text(jan_core::threads::Role::User, "hello");
    let message = state.jan.threads().add_message(&thread.id, message).await.unwrap();
    (dir, state, thread.id, message.id)
}

/// Sends a request; returns the status and the JSON body (which must be OpenAI's error shape on a 4xx).
async fn send(state: &AppState, method: &str, uri: &str, body: Body) -> (u16, Value) {
    let req = Request::builder()
        .method(method.to_ascii_uppercase().as_str())
        .uri(uri)
        .header(header::HOST, "127.0.0.1:1337")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

fn assert_openai_error(what: &str, status: u16, body: &Value, expected: &[u16]) {
    assert!(expected.contains(&status), "{what}: expected {expected:?}, got {status}: {body}");
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: not OpenAI's shape: {body}");
    assert!(error["type"].is_string() && error.get("code").is_some() && error.get("param").is_some(), "{what}: {body}");
}

#[tokio::test]
async fn malformed_and_mistyped_json_is_a_400_naming_the_problem() {
    let (dir, state, thread, _) = setup().await;
    let before = tree(dir.path());
    let chat = "/v1/chat/completions";
    let thread_path = format!("/v1/threads/{thread}");
    let messages_path = format!("/v1/threads/{thread}/messages");
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("post", chat, r#"{"model": "x", "messages": [ "#.into(), "EOF"),
        ("post", chat, "not json at all".into(), ""),
        ("post", chat, r#"{"model": 7, "messages": []}"#.into(), "model"),
        ("post", chat, r#"{"model": "x", "messages": "hello"}"#.into(), "messages"),
        ("post", chat, r#"{"model": "x", "messages": [{"content": "hi"}]}"#.into(), "role"),
        (
            "post",
            chat,
            r#"{"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}"#.into(),
            "max_tokens",
        ),
        (
            "post",
            chat,
            r#"{"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}"#.into(),
            "stream",
        ),
        ("post", chat, r#"{"model": "x", "messages": [{"role": "wizard", "content": "hi"}]}"#.into(), "role"),
        ("post", "/v1/completions", r#"{"model": "x", "prompt": 42}"#.into(), "prompt"),
        ("post", "/v1/threads", r#"{"title": ["a"]}"#.into(), "title"),
        ("patch", &thread_path, r#"{"title": 5}"#.into(), "title"),
        ("post", &messages_path, r#"{"role": "user", "content": {"x": 1}}"#.into(), "content"),
        ("post", "/v1/assistants", r#"{"id": "a", "name": 3}"#.into(), "name"),
        ("post", "/api/login", r#"{"username": 1}"#.into(), ""),
    ];
    for (method, path, body, names) in cases {
        let (status, value) = send(&state, method, path, Body::from(body.clone())).await;
        let what = format!("{method} {path} {body}");
        assert_openai_error(&what, status, &value, &[400]);
        let message = value["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{what}: the message should name `{names}`: {message}");
    }
    assert!(tree(dir.path()) == before, "bad JSON changed the data folder");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_and_an_unknown_model_a_404() {
    let (dir, state, thread, _) = setup().await;
    let before = tree(dir.path());
    let big = "x".repeat(2 << 20);
    let body = json!({"model": "x", "messages": [{"role": "user", "content": big}]}).to_string();
    let (status, value) = send(&state, "post", "/v1/chat/completions", Body::from(body)).await;
    assert_openai_error("oversized chat", status, &value, &[413]);
    let body = json!({"role": "user", "content": big}).to_string();
    let (status, value) = send(&state, "post", &format!("/v1/threads/{thread}/messages"), Body::from(body)).await;
    assert_openai_error("oversized message", status, &value, &[413]);

    for (path, body) in [
        ("/v1/chat/completions", json!({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]})),
        ("/v1/completions", json!({"model": "no-such-model", "prompt": "hi"})),
        ("/v1/chat/completions", json!({"model": "../../etc/passwd", "messages": [{"role": "user", "content": "hi"}]})),
    ] {
        let (status, value) = send(&state, "post", path, Body::from(body.to_string())).await;
        assert_openai_error(path, status, &value, &[404]);
        assert_eq!(value["error"]["code"], "model_not_found", "{value}");
    }
    let (status, value) = send(&state, "get", "/v1/models/no-such-model", Body::empty()).await;
    assert_openai_error("get unknown model", status, &value, &[404]);
    assert!(tree(dir.path()) == before, "the data folder changed");
}

#[tokio::test]
async fn ids_that_try_to_leave_their_folder_are_refused_on_every_route() {
    let (dir, state, thread, message) = setup().await;
    // Something outside the data folder a traversal could reach.
    let outside = dir.path().join("..").join(format!("{}-outside", dir.path().file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(outside.join("threads")).unwrap();
    let before = tree(dir.path());
    let bad =
        ["..", "%2e%2e", "..%2F..%2Foutside", "a%2Fb", "a%5Cb", "%00", "nul%00x", ".hidden", "CON", "a%2F..%2F..%2Fb"];
    let mut checked = 0;
    for o in OPERATIONS.iter().filter(|o| o.path.contains('{') && o.path != "/api/engines/{engine}") {
        let params: Vec<&str> = ["{id}", "{message_id}"].into_iter().filter(|p| o.path.contains(p)).collect();
        for param in params {
            for value in bad {
                // The other parameter (if any) is a real one, so that only the bad id is wrong.
                let path = o.path.replace(param, value).replace("{id}", &thread).replace("{message_id}", &message);
                let body = match o.body {
                    RequestBody::Json(..) => {
                        Body::from(r#"{"role": "user", "content": "x", "title": "x", "name": "x"}"#)
                    }
                    _ => Body::empty(),
                };
                let (status, value) = send(&state, o.method, &path, body).await;
                assert_openai_error(&format!("{} {path}", o.method), status, &value, &[400, 404]);
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "{checked}");
    assert!(tree(dir.path()) == before, "a bad id changed the data folder");
    assert!(std::fs::read_dir(outside.join("threads")).unwrap().next().is_none(), "something was written outside");
    std::fs::remove_dir_all(outside).unwrap();
}
