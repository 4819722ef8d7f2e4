//! The remote (OpenAI-compatible) engine against a fake upstream on 127.0.0.1, driven as the scheduler drives
//! it: `chat` spawned with the sender, the stream read by the test.

use crate::common::fake_openai;

use std::time::{Duration, Instant};

use fake_openai::{End, FakeOpenAi, Reply, Script};
use jan_core::Error;
use jan_core::inference::remote::{RemoteConfig, RemoteEngine};
use jan_core::inference::{
    ChatMessage, ChatRequest, Completion, CompletionRequest, CompletionStream, FinishReason, SamplingOptions,
    StreamItem, ToolCall, channel,
};
use serde_json::json;

const KEY: &str = "sk-test-SECRET-0123456789abcdef";
const CHAT: &str = "/v1/chat/completions";
/// Generous for a busy CI machine; the streams these tests stop would otherwise run forever.
const PROMPTLY: Duration = Duration::from_secs(3);

fn engine_with(config: RemoteConfig) -> RemoteEngine {
    RemoteEngine::new(config, reqwest::Client::new()).unwrap()
}

fn engine(fake: &FakeOpenAi) -> RemoteEngine {
    engine_with(RemoteConfig::new(fake.base_url()).with_api_key(KEY))
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-test".into(),
        messages: vec![ChatMessage::new("system", "Be brief."), ChatMessage::new("user", "Hi!")],
        sampling: SamplingOptions::default(),
        max_tokens: None,
        stop: vec![],
        tools: None,
    }
}

/// What a consumer saw: the deltas and tool calls, then the one final item.
struct Seen {
    deltas: Vec<String>,
    calls: Vec<ToolCall>,
    end: StreamItem,
}

impl Seen {
    fn done(self) -> (Vec<String>, Completion) {
        match self.end {
            StreamItem::Done(c) => (self.deltas, c),
            other => panic!("expected Done, got {other:?}"),
        }
    }

    fn error(self) -> Error {
        match self.end {
            StreamItem::Error(e) => e,
            other => panic!("expected Error, got {other:?} after {:?}", self.deltas),
        }
    }
}

fn spawn_chat(engine: &RemoteEngine, req: ChatRequest) -> (CompletionStream, tokio::task::JoinHandle<()>) {
    let (tx, stream) = channel();
    let engine = engine.clone();
    let task = tokio::spawn(async move { engine.chat(&req, tx).await });
    (stream, task)
}

/// Reads a stream to its end and checks that nothing follows the final item.
async fn read_all(mut stream: CompletionStream) -> Seen {
    let mut deltas = Vec::new();
    let mut calls = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.recv().await.expect("the stream ended without Done or Error") {
                StreamItem::Delta(d) => deltas.push(d),
                StreamItem::ToolCall(c) => calls.push(c),
                end => return end,
            }
        }
    })
    .await
    .expect("the completion did not end");
    let after =
        tokio::time::timeout(Duration::from_secs(20), stream.recv()).await.expect("the engine kept the stream open");
    assert!(after.is_none(), "items after the final one");
    Seen { deltas, calls, end }
}

async fn chat(engine: &RemoteEngine, req: ChatRequest) -> Seen {
    let (stream, task) = spawn_chat(engine, req);
    let seen = read_all(stream).await;
    task.await.unwrap();
    seen
}

fn upstream(e: &Error) -> (Option<u16>, String) {
    assert_eq!(e.code(), "upstream_error", "{e:?}");
    match e {
        Error::Upstream { status, message } => (*status, message.clone()),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn streams_deltas_in_order_then_the_completion() {
    let fake = FakeOpenAi::start().await;
    let deltas = ["Hel", "lo", ", wo", "rld ", "é😀", "!"];
    fake.reply(CHAT, Reply::Stream(Script::chat(&deltas).usage(Some((12, 6))).delay(Duration::from_millis(5))));

    let (seen, completion) = chat(&engine(&fake), request()).await.done();

    assert_eq!(seen, deltas);
    assert_eq!(completion.text, "Hello, world é😀!");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    assert_eq!(
        (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens),
        (12, 6, 18)
    );
    let t = completion.timings;
    assert!(t.time_to_first_token_ms > 0.0 && t.predicted_ms > 0.0, "{t:?}");
    assert_eq!((t.prompt_n, t.predicted_n), (12, 6));
    assert!(t.predicted_per_second > 0.0, "{t:?}");
}

#[tokio::test]
async fn sends_the_parameters_messages_and_key_as_openai_expects() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["ok"])));
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let calls = json!([{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]);
    let mut req = request();
    req.messages.push(ChatMessage { tool_calls: Some(calls.clone()), ..ChatMessage::new("assistant", "") });
    req.messages.push(ChatMessage {
        tool_call_id: Some("call_1".into()),
        name: Some("get_weather".into()),
        ..ChatMessage::new("tool", "sunny")
    });
    req.sampling = SamplingOptions {
        temperature: Some(0.3),
        top_p: Some(0.9),
        seed: Some(42),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(-0.25),
        top_k: Some(7),
        min_p: Some(0.1),
        repeat_penalty: Some(1.3),
        repeat_last_n: Some(32),
    };
    req.max_tokens = Some(64);
    req.stop = vec!["\n\n".into(), "END".into()];
    req.tools = Some(tools.clone());
    let engine =
        engine_with(RemoteConfig::new(fake.base_url()).with_api_key(KEY).with_header("OpenAI-Organization", "org-1"));

    chat(&engine, req).await.done();

    let sent = fake.only_request();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", CHAT));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.header("openai-organization"), Some("org-1"));
    assert!(sent.header("content-type").unwrap().starts_with("application/json"));
    let expected = json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi!"},
            {"role": "assistant", "content": null, "tool_calls": calls},
            {"role": "tool", "content": "sunny", "tool_call_id": "call_1", "name": "get_weather"},
        ],
        "tools": tools,
        "stream": true,
        "stream_options": {"include_usage": true},
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": ["\n\n", "END"],
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.25,
    });
    assert_eq!(sent.body, expected, "{:#}", sent.body);
}

#[tokio::test]
async fn no_key_sends_no_authorization_header() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["hi"])));
    fake.reply("/v1/models", Reply::models(&["local"]));
    for key in [None, Some(""), Some("  ")] {
        let mut config = RemoteConfig::new(fake.base_url());
        config.api_key = key.map(str::to_owned);
        let engine = engine_with(config);
        chat(&engine, request()).await.done();
        engine.list_models().await.unwrap();
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 6);
    for r in requests {
        assert_eq!(r.header("authorization"), None, "{r:?}");
    }
}

#[tokio::test]
async fn events_split_across_writes_with_crlf_and_comments_parse() {
    let deltas = ["Ün", "icode ", "😀 split", " everywhere"];
    for size in [1, 3, 7, 64] {
        let fake = FakeOpenAi::start().await;
        fake.reply(CHAT, Reply::Stream(Script::chat(&deltas).split(size).crlf().comments()));
        let (seen, completion) = chat(&engine(&fake), request()).await.done();
        assert_eq!(seen, deltas, "writes of {size} bytes");
        assert_eq!(completion.text, deltas.concat());
        assert_eq!(completion.usage.completion_tokens, 4);
    }
}

#[tokio::test]
async fn multi_line_events_and_a_missing_final_blank_line_parse() {
    let fake = FakeOpenAi::start().await;
    let script = Script::raw(&[
        ": hello\r",
        "\ndata: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\"a\"}}]}\r\r",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n",
        "data: [DONE]",
    ]);
    fake.reply(CHAT, Reply::Stream(script));
    let (seen, completion) = chat(&engine(&fake), request()).await.done();
    assert_eq!(seen, ["a", "b"]);
    assert_eq!(completion.finish_reason, FinishReason::Length);
}

#[tokio::test]
async fn finish_reasons_map_to_ours() {
    for (theirs, ours) in [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tool_calls", FinishReason::Stop), // without any call it is an ordinary end
        ("content_filter", FinishReason::Stop),
        ("something_new", FinishReason::Stop),
    ] {
        let fake = FakeOpenAi::start().await;
        fake.reply(CHAT, Reply::Stream(Script::chat(&["x"]).finish(Some(theirs))));
        let (_, completion) = chat(&engine(&fake), request()).await.done();
        assert_eq!(completion.finish_reason, ours, "{theirs}");
    }
}

#[tokio::test]
async fn without_a_usage_chunk_token_counts_are_zero() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["a", "b"]).usage(None)));
    let (_, completion) = chat(&engine(&fake), request()).await.done();
    assert_eq!(completion.text, "ab");
    assert_eq!(completion.usage, Default::default());
    assert_eq!(completion.timings.predicted_n, 0);
}

#[tokio::test]
async fn finish_reason_without_done_is_complete() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["a"]).no_done().finish(Some("length"))));
    let (_, completion) = chat(&engine(&fake), request()).await.done();
    assert_eq!((completion.text.as_str(), completion.finish_reason), ("a", FinishReason::Length));
}

#[tokio::test]
async fn upstream_timings_and_cached_tokens_are_used() {
    let fake = FakeOpenAi::start().await;
    let timings = json!({"timings": {"prompt_n": 4, "cache_n": 8, "prompt_ms": 12.5, "prompt_per_second": 320.0,
        "predicted_n": 2, "predicted_ms": 40.0, "predicted_per_second": 50.0}});
    fake.reply(CHAT, Reply::Stream(Script::chat(&["a", "b"]).usage(Some((12, 2))).usage_extra(timings)));
    let (_, completion) = chat(&engine(&fake), request()).await.done();
    let t = completion.timings;
    assert_eq!((t.prompt_n, t.cache_n, t.predicted_n), (4, 8, 2));
    assert_eq!((t.prompt_ms, t.predicted_ms, t.predicted_per_second), (12.5, 40.0, 50.0));
}

#[tokio::test]
async fn a_refused_key_is_upstream_401_without_the_key() {
    let fake = FakeOpenAi::start().await;
    // Worse than OpenAI (which masks it): this upstream echoes the whole key.
    let message = format!(
        "Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys."
    );
    fake.reply(CHAT, Reply::error(401, "invalid_request_error", Some("invalid_api_key"), &message));
    fake.reply("/v1/models", Reply::error(401, "invalid_request_error", Some("invalid_api_key"), &message));
    let engine = engine(&fake);

    let e = chat(&engine, request()).await.error();
    let (status, message) = upstream(&e);
    assert_eq!(status, Some(401));
    assert!(message.starts_with("the API key was refused: Incorrect API key provided"), "{message}");
    for text in [message, e.to_string(), format!("{e:?}")] {
        assert!(!text.contains("SECRET"), "{text}");
    }

    let e = engine.list_models().await.unwrap_err();
    assert_eq!(upstream(&e).0, Some(401));
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert!(!format!("{engine:?}").contains("SECRET"));
}

#[tokio::test]
async fn missing_key_and_forbidden_say_so() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::error(401, "invalid_request_error", None, "You didn't provide an API key."));
    let e = chat(&engine_with(RemoteConfig::new(fake.base_url())), request()).await.error();
    let (status, message) = upstream(&e);
    assert_eq!(status, Some(401));
    assert!(message.contains("needs an API key and none is set"), "{message}");

    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::error(
            403,
            "request_forbidden",
            Some("unsupported_country_region_territory"),
            "Country, region, or territory not supported",
        ),
    );
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!(status, Some(403));
    assert_eq!(message, "the API key was refused for this request: Country, region, or territory not supported");
}

#[tokio::test]
async fn an_unknown_model_is_upstream_404() {
    let fake = FakeOpenAi::start().await;
    let says = "The model `gpt-nope` does not exist or you do not have access to it.";
    fake.reply(CHAT, Reply::error(404, "invalid_request_error", Some("model_not_found"), says));
    let mut req = request();
    req.model = "gpt-nope".into();
    let (status, message) = upstream(&chat(&engine(&fake), req).await.error());
    assert_eq!((status, message.as_str()), (Some(404), says));

    // A wrong base URL: whatever 404 page the server has.
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::text(404, "text/plain", ""));
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!(status, Some(404));
    assert!(message.contains("base URL"), "{message}");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_upstream_errors() {
    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::error(429, "requests", Some("rate_limit_exceeded"), "Rate limit reached for gpt-test.")
            .with_header("Retry-After", "20"),
    );
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!(status, Some(429));
    assert!(message.contains("Rate limit reached") && message.contains("retry after 20s"), "{message}");

    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::error(500, "server_error", None, "The server had an error while processing your request."));
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!((status, message.as_str()), (Some(500), "The server had an error while processing your request."));

    let fake = FakeOpenAi::start().await;
    let page = format!("<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>", "x".repeat(5000));
    fake.reply(CHAT, Reply::text(502, "text/html", &page));
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!((status, message.as_str()), (Some(502), "an HTML page: 502 Bad Gateway"));

    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::text(503, "text/plain", &"overloaded ".repeat(200)));
    let (_, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert!(message.starts_with("overloaded overloaded") && message.chars().count() < 400, "{message}");
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let engine = engine_with(RemoteConfig::new(format!("http://127.0.0.1:{port}/v1")).with_api_key(KEY));
    let e = chat(&engine, request()).await.error();
    assert_eq!(e.code(), "network", "{e:?}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    assert_eq!(engine.list_models().await.unwrap_err().code(), "network");
}

#[tokio::test]
async fn a_stream_that_stops_without_finishing_is_an_error() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["par", "tial"]).finish(None).usage(None).no_done()));
    let seen = chat(&engine(&fake), request()).await;
    assert_eq!(seen.deltas, ["par", "tial"]);
    let (status, message) = upstream(&seen.error());
    assert_eq!(status, None);
    assert!(message.contains("ended early"), "{message}");

    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["par"]).finish(None).usage(None).no_done().end(End::Abort)));
    let e = chat(&engine(&fake), request()).await.error();
    assert_eq!(e.code(), "network", "{e:?}");
}

#[tokio::test]
async fn an_error_inside_the_stream_is_an_upstream_error() {
    let fake = FakeOpenAi::start().await;
    let error = json!({"error": {"message": "The server had an error processing your request.", "type": "server_error", "code": null}});
    fake.reply(CHAT, Reply::Stream(Script::chat(&["a"]).event(error).finish(None)));
    let seen = chat(&engine(&fake), request()).await;
    assert_eq!(seen.deltas, ["a"]);
    let (status, message) = upstream(&seen.error());
    assert_eq!((status, message.as_str()), (None, "The server had an error processing your request."));

    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::Stream(Script::raw(&["event: error\ndata: {\"message\":\"model crashed\",\"code\":503}\n\n"])),
    );
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!((status, message.as_str()), (Some(503), "model crashed"));
}

/// Reads `n` deltas from a never-ending answer.
async fn first_deltas(stream: &mut CompletionStream, n: usize) -> Vec<String> {
    let mut deltas = Vec::new();
    while deltas.len() < n {
        match tokio::time::timeout(Duration::from_secs(20), stream.recv()).await.unwrap().unwrap() {
            StreamItem::Delta(d) => deltas.push(d),
            other => panic!("unexpected {other:?}"),
        }
    }
    deltas
}

#[tokio::test]
async fn stop_mid_stream_ends_promptly_and_closes_the_upstream_connection() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::endless(&["one ", "two "], Duration::from_millis(20))));
    let (mut stream, task) = spawn_chat(&engine(&fake), request());
    let mut got = first_deltas(&mut stream, 4).await;

    let stopped = Instant::now();
    stream.stop();
    let end = tokio::time::timeout(PROMPTLY, async {
        loop {
            match stream.recv().await.unwrap() {
                StreamItem::Delta(d) => got.push(d),
                end => return end,
            }
        }
    })
    .await
    .expect("no Done after stop");
    let StreamItem::Done(completion) = end else { panic!("expected Done, got {end:?}") };
    assert!(stopped.elapsed() < PROMPTLY);
    assert_eq!(completion.finish_reason, FinishReason::Cancelled);
    assert_eq!(completion.text, got.concat(), "Done holds exactly the deltas sent");
    assert!(completion.text.starts_with("one two ."), "{}", completion.text);
    tokio::time::timeout(PROMPTLY, task).await.expect("the engine kept running").unwrap();
    assert!(fake.wait_hangups(1, PROMPTLY).await, "the upstream connection stayed open");
}

#[tokio::test]
async fn dropping_the_stream_closes_the_upstream_connection() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::endless(&["a"], Duration::from_millis(20))));
    let (mut stream, task) = spawn_chat(&engine(&fake), request());
    first_deltas(&mut stream, 2).await;
    drop(stream);
    tokio::time::timeout(PROMPTLY, task).await.expect("the engine kept running").unwrap();
    assert!(fake.wait_hangups(1, PROMPTLY).await, "the upstream connection stayed open");
}

#[tokio::test]
async fn stop_before_the_upstream_answers() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Hang);
    let (stream, task) = spawn_chat(&engine(&fake), request());
    while fake.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stream.stop();
    let (deltas, completion) = tokio::time::timeout(PROMPTLY, read_all(stream)).await.unwrap().done();
    assert!(deltas.is_empty());
    assert_eq!((completion.text.as_str(), completion.finish_reason), ("", FinishReason::Cancelled));
    task.await.unwrap();
    assert!(fake.wait_hangups(1, PROMPTLY).await, "the upstream connection stayed open");

    // Stopped before it even started: the upstream is never asked.
    let fake = FakeOpenAi::start().await;
    let (tx, stream) = channel();
    stream.stop();
    engine(&fake).chat(&request(), tx).await;
    let (_, completion) = read_all(stream).await.done();
    assert_eq!(completion.finish_reason, FinishReason::Cancelled);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_silent_upstream_times_out_as_a_network_error() {
    let config = |fake: &FakeOpenAi| {
        RemoteConfig::new(fake.base_url()).with_timeouts(Duration::from_millis(300), Duration::from_millis(300))
    };
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Hang);
    let e = chat(&engine_with(config(&fake)), request()).await.error();
    assert_eq!(e.code(), "network", "{e:?}");
    assert!(fake.wait_hangups(1, PROMPTLY).await);

    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["a"]).finish(None).usage(None).no_done().end(End::Stall)));
    let seen = chat(&engine_with(config(&fake)), request()).await;
    assert_eq!(seen.deltas, ["a"]);
    assert_eq!(seen.error().code(), "network");
    assert!(fake.wait_hangups(1, PROMPTLY).await);
}

#[tokio::test]
async fn a_refused_stream_options_is_dropped_and_remembered() {
    let fake = FakeOpenAi::start().await;
    // Azure's words (no `param`).
    fake.reply(CHAT, Reply::json(400, json!({"error": {"message": "Unrecognized request argument supplied: stream_options", "type": "invalid_request_error", "param": null, "code": null}})));
    fake.reply(CHAT, Reply::Stream(Script::chat(&["fine"]).usage(None)));
    let engine = engine(&fake);
    let (_, completion) = chat(&engine, request()).await.done();
    assert_eq!(completion.text, "fine");
    chat(&engine, request()).await.done();

    let sent = fake.requests();
    assert_eq!(sent.len(), 3, "one refusal, then one request per chat");
    assert!(sent[0].body.get("stream_options").is_some());
    assert!(sent[1].body.get("stream_options").is_none());
    assert!(sent[2].body.get("stream_options").is_none());
    assert_eq!(sent[1].body["messages"], sent[0].body["messages"]);
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::json(400, json!({"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}})));
    fake.reply(CHAT, Reply::json(400, json!({"error": {"message": "Unsupported value: 'temperature' does not support 0.8 with this model. Only the default (1) value is supported.", "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}})));
    fake.reply(CHAT, Reply::Stream(Script::chat(&["thought"])));
    let mut req = request();
    req.max_tokens = Some(100);
    req.sampling.temperature = Some(0.8);
    chat(&engine(&fake), req).await.done();
    let last = fake.requests().pop().unwrap().body;
    assert_eq!(last["max_completion_tokens"], 100);
    assert!(last.get("max_tokens").is_none() && last.get("temperature").is_none(), "{last}");

    // Any other 400 is reported as it is.
    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::json(
            400,
            json!({"error": {"message": "max_tokens is too large: 100000.", "param": "max_tokens", "code": null}}),
        ),
    );
    let (status, message) = upstream(&chat(&engine(&fake), request()).await.error());
    assert_eq!((status, message.as_str()), (Some(400), "max_tokens is too large: 100000."));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_whole_json_answer_is_accepted() {
    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::json(200, json!({"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "all at once"}, "finish_reason": "length"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})),
    );
    let (deltas, completion) = chat(&engine(&fake), request()).await.done();
    assert_eq!(deltas, ["all at once"]);
    assert_eq!((completion.finish_reason, completion.usage.total_tokens), (FinishReason::Length, 7));
}

#[tokio::test]
async fn text_completions_stream_from_completions() {
    let fake = FakeOpenAi::start().await;
    fake.reply("/v1/completions", Reply::Stream(Script::text(&["Once", " upon"]).finish(Some("length"))));
    let req = CompletionRequest {
        model: "gpt-3.5-turbo-instruct".into(),
        prompt: "Tell me a story:".into(),
        sampling: SamplingOptions::greedy(),
        max_tokens: Some(2),
        stop: vec!["\n".into()],
    };
    let (tx, stream) = channel();
    let engine = engine(&fake);
    let task = tokio::spawn(async move { engine.complete(&req, tx).await });
    let (deltas, completion) = read_all(stream).await.done();
    task.await.unwrap();
    assert_eq!(deltas, ["Once", " upon"]);
    assert_eq!((completion.text.as_str(), completion.finish_reason), ("Once upon", FinishReason::Length));

    let sent = fake.only_request();
    assert_eq!(sent.path, "/v1/completions");
    let body = sent.body;
    assert_eq!(body["prompt"], "Tell me a story:");
    assert_eq!(
        (body["max_tokens"].clone(), body["temperature"].clone(), body["stop"].clone()),
        (json!(2), json!(0.0), json!(["\n"]))
    );
    assert!(body.get("messages").is_none() && body["stream"] == true);
}

#[tokio::test]
async fn list_models_returns_the_ids() {
    let fake = FakeOpenAi::start().await;
    fake.reply("/v1/models", Reply::models(&["gpt-4o", "gpt-4o-mini", "o3"]));
    assert_eq!(engine(&fake).list_models().await.unwrap(), ["gpt-4o", "gpt-4o-mini", "o3"]);
    let sent = fake.only_request();
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("GET", "/v1/models"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));

    let fake = FakeOpenAi::start().await;
    fake.reply("/v1/models", Reply::text(200, "text/html", "<html>login</html>"));
    assert_eq!(upstream(&engine(&fake).list_models().await.unwrap_err()).0, None);
}

#[tokio::test]
async fn base_urls_are_checked_and_tolerated() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["x"])));
    let base = fake.base_url();
    for url in [format!("{base}/"), format!("{base}/chat/completions"), format!("{base}?api-version=2024-10-21")] {
        chat(&engine_with(RemoteConfig::new(url.as_str())), request()).await.done();
    }
    let sent = fake.requests();
    assert!(sent.iter().all(|r| r.path == CHAT), "{sent:?}");
    assert_eq!(sent[2].query.as_deref(), Some("api-version=2024-10-21"));

    for bad in ["ftp://example.com/v1", "example.com/v1", "not a url", "http://user:pass@example.com/v1"] {
        let e = RemoteEngine::new(RemoteConfig::new(bad), reqwest::Client::new()).unwrap_err();
        assert_eq!(e.code(), "invalid_request", "{bad}");
    }
    let e = RemoteEngine::new(RemoteConfig::new(base.as_str()).with_api_key("bad\nkey"), reqwest::Client::new())
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    assert!(!e.to_string().contains("bad\nkey"));
}

#[tokio::test]
async fn only_the_sampling_parameters_the_request_set_are_sent() {
    let fake = FakeOpenAi::start().await;
    fake.reply(CHAT, Reply::Stream(Script::chat(&["ok"])));
    fake.reply("/v1/completions", Reply::Stream(Script::text(&["ok"])));
    let engine = engine(&fake);

    // Nothing set: the upstream's own defaults apply to everything.
    chat(&engine, request()).await.done();
    // One knob set, even to llama.cpp's default value: it goes out as it is.
    let mut req = request();
    req.sampling = SamplingOptions { top_p: Some(0.95), ..Default::default() };
    chat(&engine, req).await.done();
    let (tx, stream) = channel();
    let text = CompletionRequest {
        model: "m".into(),
        prompt: "p".into(),
        sampling: SamplingOptions { seed: Some(3), top_k: Some(5), ..Default::default() },
        max_tokens: None,
        stop: vec![],
    };
    let task = tokio::spawn({
        let engine = engine.clone();
        async move { engine.complete(&text, tx).await }
    });
    read_all(stream).await.done();
    task.await.unwrap();

    let sent: Vec<serde_json::Value> = fake.requests().into_iter().map(|r| r.body).collect();
    let knobs = ["temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty", "frequency_penalty"];
    let present =
        |body: &serde_json::Value| knobs.iter().filter(|k| body.get(**k).is_some()).copied().collect::<Vec<_>>();
    assert_eq!(present(&sent[0]), Vec::<&str>::new(), "{}", sent[0]);
    assert_eq!(present(&sent[1]), ["top_p"], "{}", sent[1]);
    assert_eq!(sent[1]["top_p"], json!(0.95));
    assert_eq!(present(&sent[2]), ["seed"], "top_k has no OpenAI equivalent: {}", sent[2]);
}

/// A chunk of a streamed chat answer whose delta is `delta`.
fn delta_chunk(delta: serde_json::Value) -> serde_json::Value {
    json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]})
}

#[tokio::test]
async fn streamed_tool_call_fragments_are_put_together_by_index() {
    let fake = FakeOpenAi::start().await;
    let fragment = |index: u32, head: Option<(&str, &str)>, args: &str| {
        let mut call = json!({"index": index, "function": {"arguments": args}});
        if let Some((id, name)) = head {
            call["id"] = json!(id);
            call["type"] = json!("function");
            call["function"]["name"] = json!(name);
        }
        delta_chunk(json!({"tool_calls": [call]}))
    };
    let script = Script::chat(&["Checking both."])
        .event(fragment(0, Some(("call_paris", "get_weather")), ""))
        .event(fragment(0, None, "{\"city\": "))
        .event(fragment(0, None, "\"Paris\"}"))
        .event(fragment(1, Some(("call_rome", "get_weather")), "{\"city\""))
        .event(fragment(1, None, ": \"Rome\"}"))
        .finish(Some("tool_calls"))
        .split(7);
    fake.reply(CHAT, Reply::Stream(script));
    let mut req = request();
    req.tools = Some(json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]));

    let seen = chat(&engine(&fake), req).await;
    let calls = seen.calls.clone();
    let (deltas, completion) = seen.done();

    assert_eq!(deltas, ["Checking both."]);
    assert_eq!(completion.text, "Checking both.");
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    let expected = vec![
        ToolCall::function(Some("call_paris".into()), "get_weather", r#"{"city": "Paris"}"#),
        ToolCall::function(Some("call_rome".into()), "get_weather", r#"{"city": "Rome"}"#),
    ];
    assert_eq!(completion.tool_calls, expected);
    assert_eq!(calls, expected, "the stream carries the same calls before Done");
    assert_eq!(
        serde_json::to_value(&completion.tool_calls[0]).unwrap(),
        json!({"id": "call_paris",
        "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}})
    );

    // Without an index (some servers), a new id starts a call and a fragment without one continues the last.
    let fake = FakeOpenAi::start().await;
    let script = Script::chat(&[])
        .event(delta_chunk(json!({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{}"}}]})))
        .event(delta_chunk(json!({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": ""}}]})))
        .event(delta_chunk(json!({"tool_calls": [{"function": {"arguments": "{\"x\":1}"}}]})))
        .finish(Some("stop"));
    fake.reply(CHAT, Reply::Stream(script));
    let (_, completion) = chat(&engine(&fake), request()).await.done();
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls, "calls were made, whatever the upstream says");
    let calls: Vec<_> = completion
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.function.name.as_str(), c.function.arguments.as_str()))
        .collect();
    assert_eq!(calls, [("a", "f", "{}"), ("b", "g", r#"{"x":1}"#)]);
}

#[tokio::test]
async fn a_whole_json_answer_with_tool_calls() {
    let fake = FakeOpenAi::start().await;
    fake.reply(
        CHAT,
        Reply::json(200, json!({"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
            "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})),
    );
    let seen = chat(&engine(&fake), request()).await;
    assert_eq!(seen.calls.len(), 2);
    let (deltas, completion) = seen.done();
    assert!(deltas.is_empty());
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    let calls: Vec<_> =
        completion.tool_calls.iter().map(|c| (c.function.name.as_str(), c.function.arguments.as_str())).collect();
    assert_eq!(calls, [("get_weather", r#"{"city":"Paris"}"#), ("get_time", "{}")]);
    assert_eq!(completion.tool_calls[0].id, "call_1");
    assert!(completion.tool_calls[1].id.starts_with("call_"), "a call without an id gets one");
}
