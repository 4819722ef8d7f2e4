//! Tool calls over `POST /v1/chat/completions` of a real `jan-server`, from a remote model whose upstream is the
//! core tests' fake OpenAI server: `message.tool_calls` (content null) and streamed `delta.tool_calls`, finish
//! reason `tool_calls`; and the sampling parameters the client left out are not sent upstream.

use crate::common::{Server, sse_data};
use crate::fake_openai::{FakeOpenAi, Reply, Script};

use jan_core::models::ModelFile;
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";

/// A data folder with the remote model `gpt-test` on the `openai` engine, pointed at `upstream`.
async fn data_folder(upstream: &FakeOpenAi) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let jan = jan_core::Jan::open(jan_core::JanConfig::new(dir.path())).await.unwrap();
    let remote: ModelFile = serde_json::from_value(json!({"id": MODEL, "engine": "openai", "name": "Test"})).unwrap();
    jan.models().create(remote).await.unwrap();
    jan.inference().set_engine_settings("openai", &upstream.base_url(), "sk-test").await.unwrap();
    dir
}

/// The fake's streamed answer: `text`, then two calls in fragments, `finish_reason: tool_calls`.
fn calls_script(text: &[&str]) -> Script {
    let chunk =
        |call: Value| json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": null}]});
    Script::chat(text)
        .event(chunk(json!({"index": 0, "id": "call_paris", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\":"}})))
        .event(chunk(json!({"index": 0, "function": {"arguments": "\"Paris\"}"}})))
        .event(chunk(json!({"index": 1, "id": "call_time", "type": "function",
                            "function": {"name": "get_time", "arguments": "{}"}})))
        .finish(Some("tool_calls"))
}

fn request(extra: Value) -> Value {
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    ]);
    let mut body = json!({"model": MODEL, "messages": [{"role": "user", "content": "Weather and time in Paris?"}],
                          "tools": tools});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn tool_calls_in_both_response_shapes() {
    let upstream = FakeOpenAi::start().await;
    // One reply per request, in order (the last one stays).
    upstream.reply("/v1/chat/completions", Reply::Stream(calls_script(&["Let me look."])));
    upstream.reply("/v1/chat/completions", Reply::Stream(calls_script(&["Let me look."])));
    upstream.reply("/v1/chat/completions", Reply::Stream(calls_script(&[])));
    let dir = data_folder(&upstream).await;
    let server = Server::start(dir.path(), &[], &[]).await;
    let client = reqwest::Client::new();
    let expected = json!([
        {"id": "call_paris", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_time", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]);

    // Not streamed: the calls in the message, finish reason tool_calls.
    let response = client.post(server.url("/v1/chat/completions")).json(&request(json!({}))).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let full: Value = response.json().await.unwrap();
    let choice = &full["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{full}");
    assert_eq!(choice["message"]["content"], "Let me look.");
    assert_eq!(choice["message"]["tool_calls"], expected);

    // Streamed: content, then one `delta.tool_calls` chunk per call with its index, then the finish reason.
    let body = request(json!({"stream": true, "temperature": 0.2}));
    let response = client.post(server.url("/v1/chat/completions")).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let events = sse_data(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let deltas: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]["delta"]).collect();
    let content: String = deltas.iter().filter_map(|d| d["content"].as_str()).collect();
    assert_eq!(content, "Let me look.");
    let calls: Vec<&Value> = deltas.iter().filter_map(|d| d.get("tool_calls")).collect();
    assert_eq!(calls.len(), 2, "{chunks:#?}");
    for (i, call) in calls.iter().enumerate() {
        let mut entry = call[0].clone();
        assert_eq!(entry["index"], i);
        entry.as_object_mut().unwrap().remove("index");
        assert_eq!(entry, expected[i]);
    }
    let last = chunks.iter().rev().find(|c| !c["choices"][0]["finish_reason"].is_null()).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");

    // Only what the client (or the model.json) set goes upstream; the tools always do.
    let sent: Vec<Value> = upstream.requests().into_iter().map(|r| r.body).collect();
    for knob in ["temperature", "top_p", "seed", "presence_penalty", "frequency_penalty", "top_k", "min_p"] {
        assert!(sent[0].get(knob).is_none(), "{knob} sent though unset: {}", sent[0]);
    }
    assert_eq!(sent[1]["temperature"], json!(0.2));
    assert!(sent[1].get("top_p").is_none(), "{}", sent[1]);
    assert_eq!(sent[0]["tools"], request(json!({}))["tools"]);

    // A turn of only calls: content null, as OpenAI sends it.
    let response = client.post(server.url("/v1/chat/completions")).json(&request(json!({}))).send().await.unwrap();
    let full: Value = response.json().await.unwrap();
    assert_eq!(full["choices"][0]["message"]["content"], Value::Null, "{full}");
    assert_eq!(full["choices"][0]["message"]["tool_calls"], expected);
    server.stop();
}
