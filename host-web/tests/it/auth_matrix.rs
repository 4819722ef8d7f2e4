//! Who may do what, driven through the router without a socket: routes without credentials, wrong password,
//! expired session, API keys (on /v1 only), login rate limiting, cookie flags, cross-origin requests, CORS, and
//! the open loopback mode.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use jan_server::{AppState, Config, app};
use serde_json::Value;
use tower::ServiceExt;

const USER: &str = "admin";
const PASS: &str = "correct horse battery staple";
const KEY: &str = "sk-env-key-0123456789";

async fn state(extra: &[&str]) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_string_lossy().into_owned();
    let mut args = vec!["jan-server", "--data-folder", &folder];
    args.extend_from_slice(extra);
    let config = Config::try_parse_from(args).unwrap();
    (dir, AppState::new(config).await.unwrap())
}

async fn secured() -> (tempfile::TempDir, AppState) {
    state(&["--username", USER, "--password", PASS, "--api-keys", KEY, "--allowed-origins", "https://app.example"])
        .await
}

struct Sent {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Sent {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Sent {
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec();
    Sent { status, headers, body }
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder().uri(path).header(header::HOST, "127.0.0.1:1337")
}

fn post(path: &str) -> axum::http::request::Builder {
    get(path).method("POST").header(header::CONTENT_TYPE, "application/json")
}

async fn login(state: &AppState) -> String {
    let body = serde_json::json!({"username": USER, "password": PASS}).to_string();
    let sent = send(state, post("/api/login").body(Body::from(body)).unwrap()).await;
    assert_eq!(sent.status, StatusCode::OK);
    let cookie = sent.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn without_credentials_only_public_routes_answer() {
    let (_dir, s) = secured().await;
    for public in ["/health", "/login", "/api/session"] {
        let sent = send(&s, get(public).body(Body::empty()).unwrap()).await;
        assert_eq!(sent.status, StatusCode::OK, "{public}");
    }
    for path in [
        "/v1/models",
        "/v1/threads",
        "/v1/assistants",
        "/v1/chat/completions",
        "/metrics",
        "/api/keys",
        "/api/events",
        "/openapi.json",
    ] {
        let sent = send(&s, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(sent.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(sent.json()["error"]["type"], "authentication_error", "{path}: OpenAI's shape");
    }
    // A page asked for by a browser goes to the login page (relative, so it works behind a path prefix).
    let sent = send(&s, get("/threads/abc").header(header::ACCEPT, "text/html").body(Body::empty()).unwrap()).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(sent.headers[header::LOCATION], "../login");
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_that_opens_everything() {
    let (_dir, s) = secured().await;
    let wrong = serde_json::json!({"username": USER, "password": "nope"}).to_string();
    let sent = send(&s, post("/api/login").body(Body::from(wrong)).unwrap()).await;
    assert_eq!((sent.status, sent.code().as_str()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    assert!(sent.headers.get(header::SET_COOKIE).is_none());

    let body = serde_json::json!({"username": USER, "password": PASS}).to_string();
    let sent = send(&s, post("/api/login").body(Body::from(body)).unwrap()).await;
    let set = sent.headers[header::SET_COOKIE].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag");
    let cookie = set.split(';').next().unwrap();
    for path in ["/api/keys", "/metrics", "/api/session"] {
        let sent = send(&s, get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await;
        assert_eq!(sent.status, StatusCode::OK, "{path}");
    }
    let session = send(&s, get("/api/session").header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(session.json()["authenticated"], true);

    // Logout ends the session.
    let out = send(
        &s,
        post("/api/logout")
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, "http://127.0.0.1:1337")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after = send(&s, get("/api/keys").header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let (_dir, s) = state(&["--username", USER, "--password", PASS, "--behind-https-proxy"]).await;
    let body = serde_json::json!({"username": USER, "password": PASS}).to_string();
    let sent = send(&s, post("/api/login").body(Body::from(body)).unwrap()).await;
    assert!(sent.headers[header::SET_COOKIE].to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let (_dir, s) = secured().await;
    let cookie = login(&s).await;
    s.auth.expire_sessions();
    let sent = send(&s, get("/api/keys").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(sent.status, StatusCode::UNAUTHORIZED);
    let forged =
        send(&s, get("/api/keys").header(header::COOKIE, "jan_session=forged").body(Body::empty()).unwrap()).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_keys_open_v1_and_metrics_only() {
    let (_dir, s) = secured().await;
    let with = |path: &str, key: &str| {
        get(path).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).unwrap()
    };
    let sent = send(&s, with("/v1/models", KEY)).await;
    assert_ne!(sent.status, StatusCode::UNAUTHORIZED);
    assert_ne!(sent.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&s, with("/metrics", KEY)).await.status, StatusCode::OK);
    let ui = send(&s, with("/api/keys", KEY)).await;
    assert_eq!((ui.status, ui.code().as_str()), (StatusCode::FORBIDDEN, "api_key_not_allowed"));
    let bad = send(&s, with("/v1/models", "sk-wrong")).await;
    assert_eq!((bad.status, bad.code().as_str()), (StatusCode::UNAUTHORIZED, "invalid_api_key"));

    // Keys the user creates work until revoked, and are shown once.
    let cookie = login(&s).await;
    let created = send(
        &s,
        post("/api/keys")
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, "http://127.0.0.1:1337")
            .body(Body::from(r#"{"name":"laptop"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(send(&s, with("/v1/models", &key)).await.status, StatusCode::UNAUTHORIZED);
    let listed = send(&s, get("/api/keys").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(!String::from_utf8_lossy(&listed.body).contains(&key), "listing never shows the key");
    let revoke = Request::builder()
        .method("DELETE")
        .uri(format!("/api/keys/{id}"))
        .header(header::HOST, "127.0.0.1:1337")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "http://127.0.0.1:1337")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s, revoke).await.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&s, with("/v1/models", &key)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_requests_that_change_state_must_come_from_this_origin() {
    let (_dir, s) = secured().await;
    let cookie = login(&s).await;
    let create = |origin: Option<&str>| {
        let mut b = post("/api/keys").header(header::COOKIE, &cookie);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::from("{}")).unwrap()
    };
    let evil = send(&s, create(Some("https://evil.example"))).await;
    assert_eq!((evil.status, evil.code().as_str()), (StatusCode::FORBIDDEN, "cross_origin"));
    assert_eq!(send(&s, create(None)).await.status, StatusCode::FORBIDDEN, "no Origin on a cookie POST");
    assert_eq!(send(&s, create(Some("http://127.0.0.1:1337"))).await.status, StatusCode::CREATED);
    assert_eq!(send(&s, create(Some("https://app.example"))).await.status, StatusCode::CREATED, "allow-listed origin");
}

#[tokio::test]
async fn failed_logins_are_limited_per_client_with_backoff() {
    let (_dir, s) = secured().await;
    let attempt = |password: &str| {
        let body = serde_json::json!({"username": USER, "password": password}).to_string();
        post("/api/login").body(Body::from(body)).unwrap()
    };
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(send(&s, attempt("wrong")).await.status);
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert!(statuses[5..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Even the right password waits out the backoff.
    let blocked = send(&s, attempt(PASS)).await;
    assert_eq!((blocked.status, blocked.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"));
    assert!(blocked.json()["error"]["message"].as_str().unwrap().contains("try again in"));
}

#[tokio::test]
async fn cors_is_an_allow_list_never_a_wildcard() {
    let (_dir, s) = secured().await;
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/chat/completions")
            .header(header::HOST, "127.0.0.1:1337")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&s, preflight("https://app.example")).await;
    assert_eq!(allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
    let other = send(&s, preflight("https://evil.example")).await;
    assert!(other.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let plain =
        send(&s, get("/health").header(header::ORIGIN, "https://evil.example").body(Body::empty()).unwrap()).await;
    assert_ne!(plain.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()), Some(&b"*"[..]));
}

#[tokio::test]
async fn without_credentials_loopback_is_open_but_not_to_other_sites() {
    let (_dir, s) = state(&[]).await;
    assert_eq!(send(&s, get("/api/keys").body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    let rebound = send(
        &s,
        Request::builder().uri("/api/keys").header(header::HOST, "evil.example:1337").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((rebound.status, rebound.code().as_str()), (StatusCode::FORBIDDEN, "host_not_allowed"));
    // A cross-site form post to the loopback server.
    let csrf =
        send(&s, post("/api/keys").header(header::ORIGIN, "https://evil.example").body(Body::from("{}")).unwrap())
            .await;
    assert_eq!(csrf.status, StatusCode::FORBIDDEN);
    // Scripts without an Origin (curl, SDKs) work.
    assert_eq!(send(&s, post("/api/keys").body(Body::from("{}")).unwrap()).await.status, StatusCode::CREATED);
}

#[test]
fn refuses_to_listen_beyond_loopback_without_credentials() {
    let parse = |args: &[&str]| {
        let mut all = vec!["jan-server", "--data-folder", "/tmp/x"];
        all.extend_from_slice(args);
        Config::try_parse_from(all).unwrap()
    };
    let err = parse(&["--host", "0.0.0.0"]).check_exposure().unwrap_err();
    assert!(err.contains("JAN_USERNAME"), "{err}");
    assert!(parse(&["--host", "0.0.0.0", "--insecure-no-auth"]).check_exposure().is_ok());
    assert!(parse(&["--host", "0.0.0.0", "--username", "u", "--password", "p"]).check_exposure().is_ok());
    assert!(parse(&["--host", "0.0.0.0", "--api-keys", "k"]).check_exposure().is_ok());
    assert!(parse(&["--host", "::1"]).check_exposure().is_ok());
    assert!(parse(&["--host", "0.0.0.0", "--username", "u"]).check_exposure().is_err(), "a username alone is no login");
}

/// Every response (the UI, the API, the login, a 404, a 405, a refusal) carries Referrer-Policy and nosniff;
/// Strict-Transport-Security only where the server is reached over HTTPS (behind a TLS proxy here).
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let requests = || {
        [
            get("/").header(header::ACCEPT, "text/html").body(Body::empty()).unwrap(),
            get("/login").body(Body::empty()).unwrap(),
            get("/health").body(Body::empty()).unwrap(),
            get("/v1/models").body(Body::empty()).unwrap(),
            get("/v1/no-such-route")
                .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
                .body(Body::empty())
                .unwrap(),
            get("/api/login").body(Body::empty()).unwrap(),
            post("/api/login").body(Body::from("{")).unwrap(),
        ]
    };
    let (_d1, plain) = secured().await;
    let (_d2, proxied) =
        state(&["--username", USER, "--password", PASS, "--api-keys", KEY, "--behind-https-proxy"]).await;
    for (s, hsts) in [(&plain, false), (&proxied, true)] {
        for req in requests() {
            let what = format!("{} {}", req.method(), req.uri());
            let sent = send(s, req).await;
            assert_eq!(
                sent.headers.get(header::REFERRER_POLICY).map(|v| v.as_bytes()),
                Some(&b"no-referrer"[..]),
                "{what}"
            );
            assert_eq!(
                sent.headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
                Some(&b"nosniff"[..]),
                "{what}"
            );
            assert_eq!(sent.headers.contains_key(header::STRICT_TRANSPORT_SECURITY), hsts, "{what} ({})", sent.status);
        }
    }
}

/// Jan's GET that starts a download is a change of state: open on loopback, a cross-site page cannot start one
/// (an `<img>` sends `Sec-Fetch-Site: cross-site` and no Origin), nor can an Origin with another scheme; the same
/// origin can, by GET or by the POST the UI sends. Refusals are 403 `cross_origin` before any folder is made.
#[tokio::test]
async fn cross_site_requests_cannot_start_downloads_and_origins_match_with_their_scheme() {
    let (dir, s) = state(&[]).await;
    let download = |method: &str, headers: &[(&str, &str)]| {
        let mut b = get("/v1/models/download/no-such-model").method(method);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    };
    for (what, headers) in [
        ("an <img> on another site", vec![("sec-fetch-site", "cross-site")]),
        ("a page on a sibling site", vec![("sec-fetch-site", "same-site")]),
        ("a cross-site fetch", vec![("origin", "http://evil.com"), ("sec-fetch-site", "cross-site")]),
        ("another scheme, same host and port", vec![("origin", "evil://127.0.0.1:1337")]),
        ("https to an http server", vec![("origin", "https://127.0.0.1:1337")]),
    ] {
        for method in ["GET", "POST"] {
            let sent = send(&s, download(method, &headers)).await;
            assert_eq!(
                (sent.status, sent.code().as_str()),
                (StatusCode::FORBIDDEN, "cross_origin"),
                "{method}: {what}"
            );
        }
    }
    assert!(!dir.path().join("models").join("no-such-model").exists(), "no folder left behind");
    for (what, headers) in [
        ("the UI", vec![("origin", "http://127.0.0.1:1337"), ("sec-fetch-site", "same-origin")]),
        ("a typed address", vec![("sec-fetch-site", "none")]),
        ("curl", vec![]),
    ] {
        for method in ["GET", "POST"] {
            let sent = send(&s, download(method, &headers)).await;
            assert_eq!(sent.status, StatusCode::NOT_FOUND, "{method}: {what}: {}", sent.code());
        }
    }
    // Reads stay open to any page's navigation (nothing changes).
    let read = send(&s, get("/v1/models").header("sec-fetch-site", "cross-site").body(Body::empty()).unwrap()).await;
    assert_eq!(read.status, StatusCode::OK);
}

/// The login race: 30 attempts from one address that all arrived before their bodies (so all were before any
/// failure was counted) are counted as their bodies come, so 29 wrong passwords and then the right one do not
/// get a session: the right one waits out the backoff like any other.
#[tokio::test]
async fn login_attempts_waiting_on_their_bodies_are_counted_one_by_one() {
    let (_dir, s) = secured().await;
    let mut feeds = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..30 {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        let req = post("/api/login").body(body).unwrap();
        let state = s.clone();
        answers.push(tokio::spawn(async move { send(&state, req).await.status }));
        feeds.push(tx);
    }
    // Every request is in the handler, waiting on its body, before any password is checked.
    tokio::task::yield_now().await;
    let mut statuses = Vec::new();
    for (i, (feed, answer)) in feeds.into_iter().zip(answers).enumerate() {
        let password = if i == 29 { PASS } else { "wrong" };
        let body = serde_json::json!({"username": USER, "password": password}).to_string();
        feed.send(Ok(body.into_bytes())).await.unwrap();
        drop(feed);
        statuses.push(answer.await.unwrap());
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}
