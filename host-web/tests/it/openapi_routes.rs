//! The OpenAPI table and the router are the same set of routes: every route the router serves (as it records them
//! while it is built) is in `openapi::OPERATIONS` (and so in `/openapi.json`), and every operation of the table is
//! answered by a handler (not a 404 "no route", not a 405, not the UI's fallback) under the access rule it
//! documents.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use jan_server::openapi::{Access, OPERATIONS, RequestBody};
use jan_server::{AppState, Config, app};
use serde_json::Value;
use tower::ServiceExt;

const KEY: &str = "sk-openapi-test-0123456789";

#[test]
fn every_route_served_is_documented_and_nothing_else() {
    // What the router serves, as it was built (`routes::registry::Routes` records each method and path).
    let served_routes = jan_server::routes::routes();
    let in_sources: BTreeSet<(String, String)> =
        served_routes.served().iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(in_sources.len(), served_routes.served().len(), "a route is registered twice");
    let documented: BTreeSet<(String, String)> =
        OPERATIONS.iter().map(|o| (o.method.to_owned(), o.path.to_owned())).collect();
    assert_eq!(documented.len(), OPERATIONS.len(), "an operation is in the table twice");
    let missing: Vec<_> = in_sources.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&in_sources).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI table: {missing:?}");
    assert!(extra.is_empty(), "documented operations no route serves: {extra:?}");

    let document = jan_server::openapi::document();
    let served: usize =
        document["paths"].as_object().unwrap().values().map(|methods| methods.as_object().unwrap().len()).sum();
    assert_eq!(served, OPERATIONS.len());
}

async fn secured() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_string_lossy().into_owned();
    let args = ["jan-server", "--data-folder", &folder, "--username", "u", "--password", "p", "--api-keys", KEY];
    let state = AppState::new(Config::try_parse_from(args).unwrap()).await.unwrap();
    (dir, state)
}

/// The operation's path with its parameters filled in (ids that exist nowhere).
fn concrete(path: &str) -> String {
    path.replace("{id}", "no-such-id").replace("{message_id}", "no-such-message").replace("{engine}", "openai")
}

async fn call(
    state: &AppState,
    method: &str,
    path: &str,
    body: RequestBody,
    auth: Option<&str>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method.to_ascii_uppercase().as_str())
        .uri(path)
        .header(header::HOST, "127.0.0.1:1337")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = auth.filter(|a| a.starts_with("jan_session")) {
        // Browsers send Origin with every POST; the server refuses cookie requests that change state without it.
        req = req.header(header::COOKIE, cookie).header(header::ORIGIN, "http://127.0.0.1:1337");
    } else if let Some(key) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = match body {
        RequestBody::Json(..) => Body::from("{}"),
        _ => Body::empty(),
    };
    let response = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    // Streams (the event stream) never end: the status and type are enough.
    let text = if content_type.starts_with("text/event-stream") {
        content_type
    } else {
        String::from_utf8_lossy(&axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap()).into_owned()
    };
    (status, text)
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_a_handler_under_its_access_rule() {
    let (_dir, state) = secured().await;
    let login = app(state.clone())
        .oneshot(
            Request::post("/api/login")
                .header(header::HOST, "127.0.0.1:1337")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"username":"u","password":"p"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("jan_session"), "{cookie}");

    for o in OPERATIONS {
        if o.path == "/api/logout" {
            continue; // would end the session the other checks use; auth_matrix covers it
        }
        let path = concrete(o.path);
        let what = format!("{} {}", o.method, o.path);

        // With a session: a handler answers (a 404 from a handler names the missing thing, not the route).
        let (status, text) = call(&state, o.method, &path, o.body, Some(&cookie)).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}: {text}");
        assert!(!text.contains("no route for"), "{what}: {text}");
        assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{what}: {status} {text}");
        if o.path.starts_with("/v1") || (o.path.starts_with("/api") && status.is_client_error()) {
            assert!(!text.contains("<html"), "{what} fell through to the UI: {text}");
        }

        // Without credentials: only public routes answer.
        let (status, _) = call(&state, o.method, &path, o.body, None).await;
        match o.access {
            Access::Public => assert!(status != StatusCode::UNAUTHORIZED, "{what} should be public"),
            _ => assert!(
                status == StatusCode::UNAUTHORIZED || status.is_redirection(),
                "{what} answered {status} without credentials"
            ),
        }

        // With an API key: /v1 and /metrics only.
        let (status, _) = call(&state, o.method, &path, o.body, Some(KEY)).await;
        match o.access {
            Access::Public | Access::Api | Access::Metrics => {
                assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{what}: {status}")
            }
            Access::Session => assert!(status.is_client_error(), "{what} took an API key: {status}"),
        }
    }

    // The served document is the table's.
    let (status, text) = call(&state, "get", "/v1/openapi.json", RequestBody::None, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK);
    let served: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(served, jan_server::openapi::document());
}

/// The served document is valid OpenAPI 3.1 (`openapi-spec-validator`, from `ci/python-env.sh`).
#[test]
fn the_document_is_valid_openapi() {
    let python = crate::openai_python::python();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, jan_server::openapi::document().to_string()).unwrap();
    let script =
        "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))";
    let output = std::process::Command::new(python).args(["-c", script]).arg(&file).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
