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
