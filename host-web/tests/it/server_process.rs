//! The real `jan-server` binary: the exposure rule at start-up, switches in the environment, secrets never
//! reaching the logs, the loud warning of the insecure flag, and graceful shutdown on SIGTERM.

use crate::common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, wait_ready};

const PASSWORD: &str = "pw-5d41402abc4b2a76";
const KEY: &str = "sk-key-7d793037a0760186";

fn server(data: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = common::command(data, args, env);
    cmd.env("RUST_LOG", "debug").stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

fn output(mut child: Child) -> (std::process::ExitStatus, String) {
    let status = child.wait().unwrap();
    let mut text = String::new();
    child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    (status, text)
}

#[test]
fn refuses_a_public_address_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let child = server(dir.path(), &["--host", "0.0.0.0", "--port", &port], &[]);
    let (status, text) = output(child);
    assert!(!status.success());
    assert!(text.contains("refusing to listen on 0.0.0.0 without credentials"), "{text}");
}

#[tokio::test]
async fn secrets_never_reach_the_logs_and_sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = server(
        dir.path(),
        &["--port", &port.to_string(), "--log-format", "json"],
        &[("JAN_USERNAME", "admin"), ("JAN_PASSWORD", PASSWORD), ("JAN_API_KEY", KEY)],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(client.get(format!("{base}/api/keys")).send().await.unwrap().status().is_success());
    let with_key =
        reqwest::Client::new().get(format!("{base}/v1/models?api_key={KEY}")).bearer_auth(KEY).send().await.unwrap();
    assert_ne!(with_key.status().as_u16(), 401);
    let wrong = reqwest::Client::new()
        .get(format!("{base}/v1/models"))
        .bearer_auth(format!("{KEY}-wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    // SIGTERM: the server finishes and exits cleanly.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    let (status, logs) = output(child);
    assert!(status.success(), "exit status {status:?}\n{logs}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(logs.contains("shutting down") && logs.contains("stopped"), "{logs}");
    assert!(logs.contains("\"path\":\"/v1/models\""), "requests are logged (JSON, with their path): {logs}");
    for secret in [PASSWORD, KEY, cookie.as_str()] {
        assert!(!logs.contains(secret), "a secret reached the logs: {secret}");
    }
}

#[tokio::test]
async fn switches_in_the_environment_take_on_and_off() {
    for (value, secure) in [("off", false), ("0", false), ("on", true), ("yes", true), ("true", true)] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = server(
            dir.path(),
            &["--port", &port.to_string()],
            &[("JAN_USERNAME", "admin"), ("JAN_PASSWORD", PASSWORD), ("JAN_BEHIND_HTTPS_PROXY", value)],
        );
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&base).await;
        let login = reqwest::Client::new()
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        output(child);
        assert_eq!(cookie.contains("; Secure"), secure, "JAN_BEHIND_HTTPS_PROXY={value}: {cookie}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (status, text) = output(server(dir.path(), &[], &[("JAN_BEHIND_HTTPS_PROXY", "banana")]));
    assert!(!status.success() && text.contains("banana"), "{text}");
}

#[tokio::test]
async fn the_insecure_flag_warns_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = server(dir.path(), &["--host", "0.0.0.0", "--port", &port.to_string(), "--insecure-no-auth"], &[]);
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let (_, logs) = output(child);
    assert!(logs.matches("INSECURE").count() >= 3, "{logs}");
}

#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = server(dir.path(), &["--port", &port.to_string()], &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let mut events = reqwest::Client::new().get(format!("{base}/api/events")).send().await.unwrap();
    assert!(events.status().is_success());
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    // The stream ends (rather than hanging until the grace period) and the process exits cleanly.
    let end = tokio::time::timeout(Duration::from_secs(10), async { while let Ok(Some(_)) = events.chunk().await {} });
    assert!(end.await.is_ok(), "the event stream did not end on shutdown");
    let (status, logs) = output(child);
    assert!(status.success(), "{logs}");
    assert!(started.elapsed() < Duration::from_secs(10), "shutdown took {:?}", started.elapsed());
}

/// Sends `GET /health` on `stream` (kept alive): whether a response came back before the connection closed.
async fn answers(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

/// A connection that answers, opened from 127.0.0.1 (tried until one is admitted: the connections of a client
/// that just went away are released as the server notices).
async fn admitted(port: u16) -> tokio::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        if answers(&mut stream).await {
            return stream;
        }
        assert!(Instant::now() < deadline, "no connection admitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A request head fed one line at a time is closed once JAN_HEADER_TIMEOUT_SECS has passed, however long it
/// would go on (before, each line kept it open).
#[tokio::test]
async fn a_slow_request_head_is_closed_at_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(dir.path(), &[], &[("JAN_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let mut buf = [0u8; 256];
    let closed = loop {
        assert!(started.elapsed() < Duration::from_secs(10), "the slow head was never cut off");
        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break started.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(_)) => {} // a 408, then the close
            Err(_) => {}
        }
    };
    assert!(closed >= Duration::from_millis(900), "closed only after the timeout ({closed:?})");
    // A kept-alive connection left idle goes too, and a prompt client is unaffected.
    let mut idle = admitted(server.port).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "an idle kept-alive connection is closed at the header timeout");
}

/// One address gets JAN_MAX_CONNECTIONS_PER_IP connections at once; the next is closed as it is accepted while
/// the others go on working, and a closed one's place is taken again.
#[tokio::test]
async fn connections_per_address_are_capped() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(dir.path(), &[], &[("JAN_MAX_CONNECTIONS_PER_IP", "3")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(admitted(server.port).await);
    }
    let mut over = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), over.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0) | Err(_))), "the fourth connection is closed at once: {n:?}");
    for stream in &mut held {
        assert!(answers(stream).await, "the admitted ones still work");
    }
    held.pop();
    held.push(admitted(server.port).await);
}
