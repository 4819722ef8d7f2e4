//! The APIs of a real `jan-server` on 127.0.0.1 chatting with the real test model: OpenAI's chat and text
//! completions (streamed and not, usage, finish reasons, stop strings, seeds), a Jan thread's reply saved and
//! still there after a restart, the event stream, and a disconnecting client stopping its generation.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{MODEL, Server, sse_data};
use serde_json::{Value, json};

async fn post(client: &reqwest::Client, server: &Server, path: &str, body: Value) -> (u16, Value) {
    let response = client.post(server.url(path)).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn get(client: &reqwest::Client, server: &Server, path: &str) -> Value {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().await.unwrap()
}

fn chat(content: &str, extra: Value) -> Value {
    let mut body = json!({"model": MODEL, "messages": [{"role": "user", "content": content}], "temperature": 0});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn openai_chat_and_text_completions_on_the_real_model() {
    let dir = common::data_folder_with_model().await;
    let server = Server::start(dir.path(), &[], &[]).await;
    let client = reqwest::Client::new();

    // Health says `loading` while the model loads, then `ready` with the model loaded.
    assert_eq!(get(&client, &server, "/health").await["status"], "ready");
    let start = tokio::spawn({
        let (client, url) = (client.clone(), server.url(&format!("/v1/models/{MODEL}/start")));
        async move { client.put(url).send().await.unwrap().status().as_u16() }
    });
    let mut seen_loading = false;
    while !start.is_finished() {
        let health = get(&client, &server, "/health").await;
        if health["status"] == "loading" {
            assert_eq!(health["models_loading"], json!([MODEL]));
            seen_loading = true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(start.await.unwrap(), 200);
    assert!(seen_loading, "/health never said `loading`");
    let health = get(&client, &server, "/health").await;
    assert_eq!((&health["status"], &health["models_loaded"]), (&json!("ready"), &json!([MODEL])));
    assert_eq!(health["devices"], json!([{"model_id": MODEL, "device": "cpu"}]));

    // The model the desktop app left in the folder is listed as it is.
    let models = get(&client, &server, "/v1/models").await;
    assert_eq!(models["object"], "list");
    let listed = models["data"].as_array().unwrap().iter().find(|m| m["id"] == MODEL).expect("model listed");
    assert_eq!(listed["object"], "model");
    // Loaded: where it runs, the context of each slot and how many slots (the data folder's model.json: 2048, 2).
    let loaded = &listed["loaded"];
    assert_eq!((&loaded["device"], &loaded["context"], &loaded["slots"]), (&json!("cpu"), &json!(2048), &json!(2)));
    assert_eq!(get(&client, &server, &format!("/v1/models/{MODEL}")).await["loaded"]["context"], 2048);

    // Greedy, not streamed: cut by max_tokens, with usage.
    let prompt = "Write two sentences about the sea.";
    let (status, full) = post(&client, &server, "/v1/chat/completions", chat(prompt, json!({"max_tokens": 16}))).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["object"], "chat.completion");
    assert!(full["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(full["model"], MODEL);
    let choice = &full["choices"][0];
    assert_eq!(choice["finish_reason"], "length");
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap().to_owned();
    assert!(!text.trim().is_empty());
    let usage = &full["usage"];
    assert_eq!(usage["completion_tokens"], 16);
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 5);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );

    // The same request streamed: role first, the same text in pieces, the finish reason, usage, [DONE].
    let body = chat(prompt, json!({"max_tokens": 16, "stream": true, "stream_options": {"include_usage": true}}));
    let response = client.post(server.url("/v1/chat/completions")).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events = sse_data(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
    assert_eq!(streamed, text, "streamed and not streamed greedy texts differ");
    assert!(chunks.len() > 4, "the text came in pieces: {}", chunks.len());
    let finish = chunks.iter().find(|c| !c["choices"][0]["finish_reason"].is_null()).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 16);

    // A stop string from the middle of the greedy text: the reply ends right before it, finish_reason stop.
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.len() >= 3).collect();
    let stop = words[words.len() / 2];
    let cut = text.find(stop).unwrap();
    let (status, stopped) =
        post(&client, &server, "/v1/chat/completions", chat(prompt, json!({"max_tokens": 16, "stop": [stop]}))).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["choices"][0]["message"]["content"].as_str().unwrap(), &text[..cut]);
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");

    // A seed makes a sampled reply reproducible.
    let sampled = chat("Name a colour.", json!({"max_tokens": 8, "temperature": 1.0, "top_p": 0.95, "seed": 7}));
    let (_, a) = post(&client, &server, "/v1/chat/completions", sampled.clone()).await;
    let (_, b) = post(&client, &server, "/v1/chat/completions", sampled).await;
    assert_eq!(a["choices"][0]["message"]["content"], b["choices"][0]["message"]["content"]);

    // Penalties are accepted; an out-of-range one is a 400 naming it.
    let penalised = chat(prompt, json!({"max_tokens": 4, "presence_penalty": 0.5, "frequency_penalty": 0.5}));
    assert_eq!(post(&client, &server, "/v1/chat/completions", penalised).await.0, 200);
    let (status, error) =
        post(&client, &server, "/v1/chat/completions", chat(prompt, json!({"presence_penalty": 9}))).await;
    assert_eq!(status, 400);
    assert!(error["error"]["message"].as_str().unwrap().contains("presence_penalty"), "{error}");

    // Text completion: no chat template.
    let body = json!({"model": MODEL, "prompt": "The capital of France is", "max_tokens": 6, "temperature": 0});
    let (status, completion) = post(&client, &server, "/v1/completions", body).await;
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["object"], "text_completion");
    assert!(completion["usage"]["completion_tokens"].as_u64().unwrap() <= 6);
    assert!(completion["choices"][0]["text"].is_string());

    // An unknown model is OpenAI's 404.
    let (status, error) = post(
        &client,
        &server,
        "/v1/chat/completions",
        json!({"model": "nope", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "model_not_found");

    // What the server did shows in /metrics.
    let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let generated = metrics
        .lines()
        .find_map(|l| l.strip_prefix("jan_tokens_generated_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap();
    assert!(generated >= 16.0 * 3.0, "{metrics}");
    assert!(metrics.contains("jan_time_to_first_token_seconds_count"));
    server.stop();
}

/// Reads an SSE response until `done` says so; returns the JSON events.
async fn read_events(mut response: reqwest::Response, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let chunk = tokio::time::timeout_at(deadline.into(), response.chunk()).await.expect("events in time");
        let Some(chunk) = chunk.unwrap() else { return events };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for data in sse_data(&block) {
                if let Ok(value) = serde_json::from_str::<Value>(&data) {
                    let stop = done(&value);
                    events.push(value);
                    if stop {
                        return events;
                    }
                }
            }
        }
    }
}

async fn thread_with_question(client: &reqwest::Client, server: &Server, max_tokens: u32) -> String {
    let (status, thread) = post(client, server, "/v1/threads", json!({"title": "Sea"})).await;
    assert_eq!(status, 201, "{thread}");
    let id = thread["id"].as_str().unwrap().to_owned();
    let model = json!({"model": {"id": MODEL, "parameters": {"temperature": 0, "max_tokens": max_tokens}}});
    let response = client.patch(server.url(&format!("/v1/threads/{id}"))).json(&model).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let (status, message) = post(
        client,
        server,
        &format!("/v1/threads/{id}/messages"),
        json!({"role": "user", "content": "Tell me about the sea."}),
    )
    .await;
    assert_eq!(status, 201, "{message}");
    id
}

#[tokio::test]
async fn a_chat_in_a_thread_is_saved_streams_events_and_survives_a_restart() {
    let dir = common::data_folder_with_model().await;
    let server = Server::start(dir.path(), &[], &[]).await;
    let client = reqwest::Client::new();
    let thread = thread_with_question(&client, &server, 12).await;

    let events = client.get(server.url("/api/events")).send().await.unwrap();
    assert!(events.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let reply = client.post(server.url(&format!("/api/threads/{thread}/reply"))).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let replied = read_events(reply, |e| e["type"] == "done" || e["type"] == "error").await;
    assert_eq!(replied[0]["type"], "message");
    assert_eq!(replied[0]["message"]["status"], "pending");
    let message_id = replied[0]["message"]["id"].as_str().unwrap().to_owned();
    let done = replied.last().unwrap();
    assert_eq!(done["type"], "done", "{done}");
    assert_eq!(done["usage"]["completion_tokens"], 12);
    let deltas: String = replied.iter().filter_map(|e| e["delta"].as_str()).collect::<Vec<_>>().concat();
    let saved_text = done["message"]["content"][0]["text"]["value"].as_str().unwrap().to_owned();
    assert_eq!(deltas, saved_text);
    assert_eq!(done["message"]["status"], "ready");

    // The event stream saw the reply's life (created, then updated with the saved text); its tokens went only to
    // the reply's own stream.
    let seen = read_events(events, |e| e["type"] == "message_updated" && e["message"]["id"] == message_id).await;
    let kinds: Vec<&str> = seen.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(kinds.contains(&"message_created") && !kinds.contains(&"message_delta"), "{kinds:?}");
    let updated = seen.last().unwrap();
    assert_eq!(updated["message"]["content"][0]["text"]["value"].as_str(), Some(saved_text.as_str()));

    // Stop the server; a new one on the same folder has the thread and both messages.
    server.stop();
    let lines = std::fs::read_to_string(dir.path().join("threads").join(&thread).join("messages.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    let server = Server::start(dir.path(), &[], &[]).await;
    let threads = get(&client, &server, "/v1/threads").await;
    assert!(threads["data"].as_array().unwrap().iter().any(|t| t["id"] == thread.as_str()));
    let messages = get(&client, &server, &format!("/v1/threads/{thread}/messages")).await;
    let messages = messages["data"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["id"], message_id.as_str());
    assert_eq!(messages[1]["status"], "ready");
    assert_eq!(messages[1]["content"][0]["text"]["value"], saved_text.as_str());
    server.stop();
}

/// Waits (up to 20 s) until /metrics has the line `line`; `failure` says what it means when it never comes.
async fn wait_for_metric(client: &reqwest::Client, server: &Server, line: &str, failure: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "{failure}:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 20 s) until /metrics says no request is being generated.
async fn wait_until_idle(client: &reqwest::Client, server: &Server, after: &str) {
    wait_for_metric(client, server, "jan_requests_processing 0", &format!("generation went on after {after}")).await;
}

#[tokio::test]
async fn a_client_that_goes_away_stops_its_generation() {
    let dir = common::data_folder_with_model().await;
    let server = Server::start(dir.path(), &[], &[]).await;
    let client = reqwest::Client::new();

    // A thread reply: the client leaves after the first token; the reply is saved as stopped, short.
    let thread = thread_with_question(&client, &server, 1500).await;
    let reply = client.post(server.url(&format!("/api/threads/{thread}/reply"))).send().await.unwrap();
    let first = read_events(reply, |e| e["type"] == "delta").await;
    let message_id = first[0]["message"]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        let message = get(&client, &server, &format!("/v1/threads/{thread}/messages/{message_id}")).await;
        if message["status"] != "pending" || Instant::now() > deadline {
            break message;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(message["status"], "stopped", "{message}");
    let tokens = message["metadata"]["usage"]["completion_tokens"].as_u64().unwrap_or(0);
    assert!(tokens < 1500, "{message}");

    // An OpenAI stream: the client leaves after the first chunk; the server is idle again soon after.
    let body = chat("Count from one to a thousand.", json!({"max_tokens": 1500, "stream": true}));
    let mut response = client.post(server.url("/v1/chat/completions")).json(&body).send().await.unwrap();
    response.chunk().await.unwrap().unwrap();
    // The first chunk (the role) can come while the request still waits for the slot the reply above frees:
    // wait until it is generating.
    wait_for_metric(&client, &server, "jan_requests_processing 1", "the stream never started generating").await;
    drop(response);
    wait_until_idle(&client, &server, "the client left").await;
    server.stop();
}

#[tokio::test]
async fn a_completion_past_the_request_timeout_is_a_504_and_stops() {
    let dir = common::data_folder_with_model().await;
    let server = Server::start(dir.path(), &["--request-timeout-secs", "3"], &[]).await;
    let client = reqwest::Client::new();
    // Load the model first, so that the timeout falls in the middle of generating. On a slow machine the load
    // itself may pass the timeout: it goes on regardless, and a later start finds the model loaded.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let started = client.put(server.url(&format!("/v1/models/{MODEL}/start"))).send().await.unwrap();
        if started.status().is_success() {
            break;
        }
        assert_eq!(started.status().as_u16(), 504);
        assert!(Instant::now() < deadline, "the model did not load");
    }
    let body = chat("Count from one to a thousand.", json!({"max_tokens": 1500}));
    let (status, error) = post(&client, &server, "/v1/chat/completions", body).await;
    assert_eq!(status, 504, "{error}");
    assert_eq!(error["error"]["code"], "timeout");
    wait_until_idle(&client, &server, "the timeout").await;
    server.stop();
}
