//! A client that stops reading its stream, over a real socket: it holds only its own buffers and its slot; another
//! client's requests on the same model take their usual time meanwhile; after the stall timeout the stalled
//! request is cancelled and its slot freed.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{MODEL, Server, data_folder_with_model};

/// The stalled request asks for this many tokens; it must stall long before (the engine stops stepping it).
const STALLED_MAX_TOKENS: usize = 1900;
const STALL_TIMEOUT_SECS: u64 = 8;

async fn metric(client: &reqwest::Client, server: &Server, name: &str) -> f64 {
    let text = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Requests in a slot of the model, from `/api/system`.
async fn active(client: &reqwest::Client, server: &Server) -> u64 {
    let system: Value = client.get(server.url("/api/system")).send().await.unwrap().json().await.unwrap();
    system["loaded_models"].as_array().map_or(0, |m| m.iter().map(|m| m["active"].as_u64().unwrap_or(0)).sum())
}

/// Seconds a short greedy chat takes, start to end (the median of `n`), and the tokens the `n` generated.
async fn quick_chats(client: &reqwest::Client, server: &Server, n: usize) -> (f64, u64) {
    let (mut times, mut tokens) = (Vec::new(), 0);
    for _ in 0..n {
        let t = Instant::now();
        let answer = client
            .post(server.url("/v1/chat/completions"))
            .json(&json!({"model": MODEL, "messages": [{"role": "user", "content": "Name a color."}],
                          "max_tokens": 12, "temperature": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.unwrap();
        let generated = body["usage"]["completion_tokens"].as_u64().unwrap();
        assert!(generated > 0, "{body}");
        tokens += generated;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[n / 2], tokens)
}

/// A socket with a small receive buffer that sends a long streamed completion, reads the response's head and
/// then nothing more.
fn stalled_stream(addr: SocketAddr) -> socket2::Socket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let body = json!({"model": MODEL, "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,", "stream": true,
                      "max_tokens": STALLED_MAX_TOKENS, "temperature": 0})
    .to_string();
    let head = format!(
        "POST /v1/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream: std::net::TcpStream = socket.try_clone().unwrap().into();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the connection closed before the response's head");
        seen.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&seen);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_slows_nobody_down_and_is_cancelled() {
    let data = data_folder_with_model().await; // two slots
    let server = Server::start(data.path(), &[], &[("JAN_STALL_TIMEOUT_SECS", &STALL_TIMEOUT_SECS.to_string())]).await;
    let client = reqwest::Client::new();
    quick_chats(&client, &server, 1).await; // loads the model
    let (alone, _) = quick_chats(&client, &server, 5).await;

    let generated_before = metric(&client, &server, "jan_tokens_generated_total").await;
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let stalled = tokio::task::spawn_blocking(move || stalled_stream(addr)).await.unwrap();
    // The stall reaches the engine: the tokens generated stop growing (for 1.5 s) well before max_tokens.
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut last, mut since) = (generated_before, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = metric(&client, &server, "jan_tokens_generated_total").await;
        if now != last {
            (last, since) = (now, Instant::now());
        } else if now > generated_before && since.elapsed() > Duration::from_millis(1500) {
            break;
        }
        assert!(Instant::now() < deadline, "the unread stream never stalled ({} tokens)", now - generated_before);
    }
    let held = (last - generated_before) as usize;
    assert!(held < STALLED_MAX_TOKENS / 2, "the unread stream ran on for {held} tokens before it stalled");
    assert_eq!(active(&client, &server).await, 1, "the stalled request holds its slot, waiting");

    // Meanwhile another client is served as if alone: the stalled request is not stepped at all (every token
    // generated meanwhile is the other client's), and its time stays its usual one (the bound is loose: other
    // tests share these two cores; on a quiet machine the two medians are within a few percent).
    let stalled_at = Instant::now();
    let (beside, tokens) = quick_chats(&client, &server, 5).await;
    let generated = metric(&client, &server, "jan_tokens_generated_total").await - last;
    assert_eq!(generated as u64, tokens, "the stalled request generated tokens while another client was served");
    assert!(
        beside <= alone * 1.5 + 0.1,
        "a short chat took {beside:.3} s beside the stalled stream, {alone:.3} s alone"
    );

    // After the stall timeout the stalled request is cancelled and its slot freed; the socket stays open.
    while active(&client, &server).await > 0 {
        assert!(
            stalled_at.elapsed() < Duration::from_secs(STALL_TIMEOUT_SECS + 30),
            "the stalled request was never cancelled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("stalled after {held} tokens; a short chat: {alone:.3} s alone, {beside:.3} s beside it");
    drop(stalled);
    server.stop();
}
