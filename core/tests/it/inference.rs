//! Inference through the facade on the real test model: streaming, seeds, stop strings, cancellation, the
//! bounded queue, prefix reuse, the context policy, replies saved in threads, model state events and remote
//! engines.

use crate::common;
use crate::common::fake_openai;

use std::time::{Duration, Instant};

use jan_core::inference::{
    ChatCompletionRequest, FinishReason, GenerationFields, InferenceConfig, InputMessage, ReplyOptions,
    SamplingOptions, SamplingParams, StreamItem, TextCompletionRequest,
};
use jan_core::models::{ImportMode, ImportRequest, ModelFile};
use jan_core::threads::{MessageStatus, NewMessage, NewThread, Role, ThreadModel, ThreadUpdate};
use jan_core::{Event, Jan};
use serde_json::json;

const QWEN: &str = "qwen";

/// A data folder with the real qwen model imported as `qwen` (hard-linked, not copied) and the given inference
/// settings; `ctx` and `slots` go into its model.json.
async fn setup(inference: InferenceConfig, ctx: u64, slots: u64) -> (tempfile::TempDir, Jan) {
    let dir = tempfile::tempdir().unwrap();
    let jan = Jan::open(common::config(dir.path()).with_inference(inference)).await.unwrap();
    let src = dir.path().join("qwen.gguf");
    let real = common::test_model("qwen2.5-coder-0.5b-instruct.gguf");
    std::fs::hard_link(&real, &src).or_else(|_| std::fs::copy(&real, &src).map(|_| ())).unwrap();
    let request = ImportRequest { id: Some(QWEN.into()), mode: ImportMode::Move, ..ImportRequest::copy(&src) };
    jan.models().import(request).await.unwrap();
    let update = serde_json::from_value(json!({"settings": {"ctx_len": ctx, "n_parallel": slots}})).unwrap();
    jan.models().update(QWEN, update).await.unwrap();
    (dir, jan)
}

fn chat(text: &str, max_tokens: u32, sampling: impl Into<SamplingOptions>) -> ChatCompletionRequest {
    let fields = GenerationFields::from(sampling.into()).with_max_tokens(max_tokens);
    ChatCompletionRequest::new(QWEN, vec![InputMessage::text("user", text)], fields)
}

/// Reads a stream to its end: (deltas, completion).
async fn drain(mut stream: jan_core::inference::CompletionStream) -> (Vec<String>, jan_core::inference::Completion) {
    let mut deltas = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(120), stream.recv()).await.expect("the stream stalled") {
            Some(StreamItem::Delta(d)) => deltas.push(d),
            Some(StreamItem::ToolCall(call)) => panic!("no tools were offered, yet: {call:?}"),
            Some(StreamItem::Done(c)) => return (deltas, c),
            Some(StreamItem::Error(e)) => panic!("completion failed: {e}"),
            None => panic!("the stream ended without Done"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_a_greedy_chat_with_usage_and_timings_and_reports_model_state() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let mut events = jan.subscribe();

    let stream =
        jan.inference().chat(chat("Write a haiku about the sea.", 12, SamplingParams::greedy())).await.unwrap();
    let (deltas, done) = drain(stream).await;

    assert!(deltas.len() > 3, "tokens arrive one by one: {deltas:?}");
    assert_eq!(deltas.concat(), done.text);
    assert_eq!(done.finish_reason, FinishReason::Length);
    assert_eq!(done.usage.completion_tokens, 12);
    assert!(done.usage.prompt_tokens > 10, "the chat template wraps the message: {:?}", done.usage);
    assert_eq!(done.usage.total_tokens, done.usage.prompt_tokens + 12);
    assert!(done.timings.predicted_per_second > 0.0 && done.timings.time_to_first_token_ms > 0.0);

    let states: Vec<String> = std::iter::from_fn(|| events.try_recv_now())
        .filter_map(|e| match e {
            Event::ModelState { model_id, state } if model_id == QWEN => {
                Some(serde_json::to_value(state).unwrap()["state"].as_str().unwrap().to_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(states.first().map(String::as_str), Some("loading"));
    assert_eq!(states.last().map(String::as_str), Some("ready"));
    assert_eq!(jan.inference().loaded()[0].model_id, QWEN);

    // The same greedy request gives the same text (and reuses the whole prompt from the cache).
    let again = jan.inference().chat(chat("Write a haiku about the sea.", 12, SamplingParams::greedy())).await.unwrap();
    let (_, again) = drain(again).await;
    assert_eq!(again.text, done.text);
    assert_eq!(again.timings.cache_n, done.usage.prompt_tokens - 1);

    jan.inference().unload(QWEN).await.unwrap();
    assert!(jan.inference().loaded().is_empty());
    assert_eq!(jan.inference().unload(QWEN).await.unwrap_err().code(), "not_found");
}

/// Pulls an event that is already waiting, without blocking.
trait TryRecvNow {
    fn try_recv_now(&mut self) -> Option<Event>;
}

impl TryRecvNow for jan_core::Events {
    fn try_recv_now(&mut self) -> Option<Event> {
        futures::FutureExt::now_or_never(self.recv()).flatten()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_reproduce_and_stop_strings_are_never_emitted() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let sampled = |seed| SamplingParams { temperature: 1.0, seed: Some(seed), ..Default::default() };
    let prompt = "List five fruits, one per line.";
    let a = drain(jan.inference().chat(chat(prompt, 24, sampled(7))).await.unwrap()).await.1;
    let b = drain(jan.inference().chat(chat(prompt, 24, sampled(7))).await.unwrap()).await.1;
    assert_eq!(a.text, b.text, "same seed, same text");
    let mut differs = false;
    for seed in 8..12 {
        differs |= drain(jan.inference().chat(chat(prompt, 24, sampled(seed))).await.unwrap()).await.1.text != a.text;
    }
    assert!(differs, "other seeds give other texts");

    // Stop on a piece of the greedy answer: the output ends right before it.
    let greedy = drain(jan.inference().chat(chat(prompt, 24, SamplingParams::greedy())).await.unwrap()).await.1;
    let words: Vec<&str> = greedy.text.split_whitespace().collect();
    assert!(words.len() > 4, "{:?}", greedy.text);
    let stop = words[3].to_owned();
    let cut = greedy.text.find(&stop).unwrap();
    let mut request = chat(prompt, 24, SamplingParams::greedy());
    request.fields.stop = Some(json!([stop.clone()]));
    let (deltas, stopped) = drain(jan.inference().chat(request).await.unwrap()).await;
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert_eq!(stopped.text, greedy.text[..cut]);
    assert!(!deltas.concat().contains(&stop), "the stop string never reaches the consumer");
}

/// Requests sent together (their prompts processed in shared passes, two of them longer than a pass takes, and
/// their tokens decoded in shared passes) get exactly what each gets alone: same seed, same text. Where the
/// prompts' chunks end must not depend on the others (a short prompt first leaves less room in a pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_served_together_get_what_each_gets_alone() {
    // Two servers, so that neither side finds the other's prompts in its caches.
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 4).await;
    let (_dir2, fresh) = setup(InferenceConfig::default(), 2048, 4).await;
    let sampled = |seed| SamplingParams { temperature: 1.0, seed: Some(seed), ..Default::default() };
    let log =
        |path: &str| format!("Summarise this log:\n{}", format!("GET /{path} 200 12ms from 10.0.0.7\n").repeat(12));
    let (first, second) = (log("index.html"), log("about.html"));
    let prompts = ["Name a colour.", first.as_str(), second.as_str(), "What is 17 times 3?"];
    let mut alone = Vec::new();
    for (i, p) in prompts.iter().enumerate() {
        alone.push(drain(jan.inference().chat(chat(p, 12, sampled(i as u64))).await.unwrap()).await.1);
    }
    // More than one chunk (256 tokens) each, so they take two passes, and two of them do not fit one pass.
    assert!((257..512).contains(&alone[1].usage.prompt_tokens), "{}", alone[1].usage.prompt_tokens);
    let together = futures::future::join_all(prompts.iter().enumerate().map(|(i, p)| {
        let jan = fresh.clone();
        let request = chat(p, 12, sampled(i as u64));
        async move { drain(jan.inference().chat(request).await.unwrap()).await.1 }
    }))
    .await;
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        assert_eq!(a.text, b.text, "request {i}");
        assert_eq!(a.usage, b.usage, "request {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_or_stopping_frees_the_slot_and_a_full_queue_is_refused_at_once() {
    let inference = InferenceConfig::default().with_queue_size(1);
    let (_dir, jan) = setup(inference, 2048, 1).await;
    jan.inference().load(QWEN).await.unwrap();

    // One long request takes the only slot.
    let mut long = jan.inference().chat(chat("Count from 1 to 1000.", 2000, SamplingParams::greedy())).await.unwrap();
    assert!(matches!(long.recv().await, Some(StreamItem::Delta(_))));
    // One more waits in the queue (size 1); the next is refused at once.
    let queued = jan.inference().chat(chat("Say hi.", 4, SamplingParams::greedy())).await.unwrap();
    let started = Instant::now();
    let err = jan.inference().chat(chat("Say hi.", 4, SamplingParams::greedy())).await.unwrap_err();
    assert_eq!(err.code(), "overloaded");
    assert!(started.elapsed() < Duration::from_secs(1), "refused without waiting");
    assert_eq!(jan.inference().counters().queued, 1);

    // Stop the long one: it ends as cancelled and the queued request runs.
    long.stop();
    let cancelled = loop {
        match long.recv().await {
            Some(StreamItem::Delta(_)) => {}
            Some(StreamItem::Done(c)) => break c,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(cancelled.finish_reason, FinishReason::Cancelled);
    assert!(cancelled.usage.completion_tokens < 2000);
    let (_, done) = drain(queued).await;
    assert_eq!(done.usage.completion_tokens, 4);

    // Dropping a stream also frees the slot at once.
    let mut dropped =
        jan.inference().chat(chat("Count from 1 to 1000.", 2000, SamplingParams::greedy())).await.unwrap();
    assert!(matches!(dropped.recv().await, Some(StreamItem::Delta(_))));
    drop(dropped);
    let started = Instant::now();
    let (_, quick) = drain(jan.inference().chat(chat("Say hi.", 2, SamplingParams::greedy())).await.unwrap()).await;
    assert_eq!(quick.usage.completion_tokens, 2);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(jan.inference().counters().active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_reading_holds_up_nobody_and_is_cancelled_after_the_stall_timeout() {
    let inference = InferenceConfig::default().with_stall_timeout(Duration::from_secs(3));
    let (_dir, jan) = setup(inference, 2048, 2).await;
    jan.inference().load(QWEN).await.unwrap();
    // A client that never reads: once its channel is full its slot waits (before: the engine thread blocked in
    // the send, and every other request of the model with it).
    let counting = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,";
    let request = TextCompletionRequest::new(QWEN, counting, GenerationFields::greedy().with_max_tokens(1500));
    let stalled = jan.inference().complete(request).await.unwrap();
    let generated = || jan.inference().counters().generated_tokens;
    let mut last = (generated(), Instant::now());
    let deadline = Instant::now() + Duration::from_secs(120);
    while generated() < 200 || last.1.elapsed() < Duration::from_millis(1000) {
        assert!(
            Instant::now() < deadline,
            "generated {} tokens, active {}",
            generated(),
            jan.inference().counters().active
        );
        assert!(generated() < 1000, "the unread request kept generating: {}", generated());
        tokio::time::sleep(Duration::from_millis(100)).await;
        if generated() != last.0 {
            last = (generated(), Instant::now());
        }
    }
    assert_eq!(jan.inference().counters().active, 1, "the unread request holds its slot, waiting");

    // Another client is served meanwhile, as usual.
    let (_, quick) = drain(jan.inference().chat(chat("Say hi.", 8, SamplingParams::greedy())).await.unwrap()).await;
    assert_eq!(quick.usage.completion_tokens, 8);

    // After the stall timeout the unread request is cancelled and its slot freed.
    let started = Instant::now();
    while jan.inference().counters().active > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the stalled request was never cancelled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_turn_reuses_the_cached_prefix() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let first = chat("Name three colors.", 8, SamplingParams::greedy());
    let (_, one) = drain(jan.inference().chat(first.clone()).await.unwrap()).await;
    assert_eq!(one.timings.cache_n, 0);

    let mut second = first.clone();
    let turns = second.messages.get_or_insert_default();
    turns.push(InputMessage::text("assistant", one.text.clone()));
    turns.push(InputMessage::text("user", "And three animals."));
    let (_, two) = drain(jan.inference().chat(second).await.unwrap()).await;
    // Turn one's prompt came from the cache: only the new turn was processed.
    assert!(two.timings.cache_n >= one.usage.prompt_tokens - 1, "{:?} vs {:?}", two.timings, one.usage);
    assert_eq!(two.timings.prompt_n + two.timings.cache_n, two.usage.prompt_tokens);
    assert!(two.timings.prompt_n < two.usage.prompt_tokens / 2, "{:?}", two.timings);
    let counters = jan.inference().counters();
    assert_eq!(
        counters.prompt_tokens + counters.cached_tokens,
        (one.usage.prompt_tokens + two.usage.prompt_tokens) as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_longer_than_the_context_are_refused_and_generation_stops_when_it_is_full() {
    let (_dir, jan) = setup(InferenceConfig::default(), 64, 1).await;
    let long = "word ".repeat(200);
    // Refused before it is queued: the caller has it before any stream exists.
    let err = jan.inference().chat(chat(&long, 8, SamplingParams::greedy())).await.unwrap_err();
    assert_eq!(err.code(), "context_length_exceeded", "{err}");
    assert_eq!(jan.inference().counters().queued + jan.inference().counters().active, 0);

    let (_, done) =
        drain(jan.inference().chat(chat("Count to one hundred.", 1000, SamplingParams::greedy())).await.unwrap()).await;
    assert_eq!(done.finish_reason, FinishReason::Length);
    assert_eq!(done.usage.total_tokens, 64, "{:?}", done.usage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_completions_skip_the_chat_template() {
    let (_dir, jan) = setup(InferenceConfig::default(), 512, 1).await;
    let request =
        TextCompletionRequest::new(QWEN, "The capital of France is", GenerationFields::greedy().with_max_tokens(2));
    let (_, done) = drain(jan.inference().complete(request).await.unwrap()).await;
    assert_eq!(done.usage.prompt_tokens, 5, "no template around the prompt");
    assert_eq!(done.text, " Paris.", "llama.cpp's greedy continuation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_a_thread_streams_and_is_saved() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let thread = jan.threads().create(NewThread::default()).await.unwrap();
    let model: ThreadModel =
        serde_json::from_value(json!({"id": QWEN, "parameters": {"temperature": 0, "max_tokens": 10}})).unwrap();
    jan.threads().update(&thread.id, ThreadUpdate { model: Some(model), ..Default::default() }).await.unwrap();
    jan.threads().add_message(&thread.id, NewMessage::text(Role::User, "What is Rust?")).await.unwrap();
    let mut events = jan.subscribe();

    let reply = jan.inference().reply_in_thread(&thread.id).await.unwrap();
    assert_eq!(reply.message.status, MessageStatus::Pending);
    let message_id = reply.message.id.clone();
    let (deltas, done) = drain(reply.stream).await;

    // The bus carries the message's life (created, updated), never its tokens: those go to the reply's stream.
    let seen = common::events_until(
        &mut events,
        |e| matches!(e, Event::MessageUpdated { message } if message.id == message_id),
    )
    .await;
    let about_the_reply = |e: &Event| {
        matches!(
            e,
            Event::ModelState { .. }
                | Event::MessageCreated { .. }
                | Event::ThreadUpdated { .. }
                | Event::MessageUpdated { .. }
        )
    };
    assert!(seen.iter().all(about_the_reply), "no event per token: {seen:?}");
    let saved = jan.threads().message(&thread.id, &message_id).await.unwrap();
    assert_eq!(saved.status, MessageStatus::Ready);
    assert_eq!(saved.text(), done.text);
    assert_eq!(deltas.concat(), done.text, "the stream carried every token");
    assert_eq!(done.usage.completion_tokens, 10);
    let meta = saved.metadata.unwrap();
    assert_eq!(meta["usage"]["completion_tokens"], 10);
    assert_eq!(meta["finish_reason"], "length", "cut at max tokens, which the UI marks");

    // A thread without a model cannot reply.
    let bare = jan.threads().create(NewThread::default()).await.unwrap();
    assert_eq!(jan.inference().reply_in_thread(&bare.id).await.unwrap_err().code(), "invalid_request");
}

/// "Continue" on a reply cut at max tokens: the same message goes on from its last token; with greedy sampling the
/// two parts are the reply one longer generation writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_cut_at_max_tokens_is_continued_in_the_same_message() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let ask = "Count from 1 to 30, separated by commas.";
    let thread_with = |max_tokens: u32| {
        let jan = jan.clone();
        async move {
            let thread = jan.threads().create(NewThread::default()).await.unwrap();
            let model: ThreadModel =
                serde_json::from_value(json!({"id": QWEN, "parameters": {"temperature": 0, "max_tokens": max_tokens}}))
                    .unwrap();
            jan.threads().update(&thread.id, ThreadUpdate { model: Some(model), ..Default::default() }).await.unwrap();
            jan.threads().add_message(&thread.id, NewMessage::text(Role::User, ask)).await.unwrap();
            thread.id
        }
    };
    let continue_ = ReplyOptions { continue_reply: true };

    let whole = thread_with(24).await;
    let (_, done) = drain(jan.inference().reply_in_thread(&whole).await.unwrap().stream).await;
    let expected = done.text;

    let thread = thread_with(12).await;
    // Nothing to continue yet: the last message is the user's.
    let e = jan.inference().reply_with(&thread, continue_).await.unwrap_err();
    assert_eq!(e.code(), "invalid_request", "{e}");
    let first = jan.inference().reply_in_thread(&thread).await.unwrap();
    let id = first.message.id.clone();
    let (_, done) = drain(first.stream).await;
    assert_eq!(done.finish_reason, FinishReason::Length);
    let cut = done.text;

    let more = jan.inference().reply_with(&thread, continue_).await.unwrap();
    assert_eq!(more.message.id, id, "the same message");
    assert_eq!(more.message.status, MessageStatus::Pending);
    assert_eq!(more.message.text(), cut, "it starts with the text so far");
    let meta = more.message.metadata.clone().unwrap_or_default();
    assert!(meta.get("finish_reason").is_none(), "how it ended no longer holds: {meta:?}");
    // A second continue while the first is written is a conflict, not a second writer.
    let e = jan.inference().reply_with(&thread, continue_).await.unwrap_err();
    assert_eq!(e.code(), "conflict", "{e}");
    let (deltas, done) = drain(more.stream).await;
    assert_eq!(deltas.concat(), done.text, "the stream carries only the new text");

    let messages = jan.threads().messages(&thread).await.unwrap();
    assert_eq!(messages.len(), 2, "no new message");
    let saved = &messages[1];
    assert_eq!(saved.id, id);
    assert_eq!(saved.status, MessageStatus::Ready);
    assert_eq!(saved.text(), format!("{cut}{}", done.text));
    assert_eq!(saved.metadata.as_ref().unwrap()["finish_reason"], "length");
    assert_eq!(saved.text(), expected, "greedy: the cut reply and its continuation are the longer reply");
}

/// A chat whose last message is the assistant's is continued from its text (llama.cpp's assistant prefill).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_ending_with_the_assistant_continues_its_text() {
    let (_dir, jan) = setup(InferenceConfig::default(), 512, 1).await;
    let fields = GenerationFields::from(SamplingOptions::from(SamplingParams::greedy())).with_max_tokens(3);
    let request = ChatCompletionRequest::new(
        QWEN,
        vec![
            InputMessage::text("user", "Count from 1 to 10, separated by commas."),
            InputMessage::text("assistant", "1, 2, 3, 4, 5,"),
        ],
        fields,
    );
    let (_, done) = drain(jan.inference().chat(request).await.unwrap()).await;
    assert!(done.text.trim_start().starts_with('6'), "goes on after 5: {:?}", done.text);
}

/// A reply's text is saved while it is generated, not only at its end: what a killed server streamed is kept. While
/// this process writes it, readers see it `pending` (not interrupted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_saves_its_text_as_it_streams() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let thread = jan.threads().create(NewThread::default()).await.unwrap();
    let model: ThreadModel =
        serde_json::from_value(json!({"id": QWEN, "parameters": {"temperature": 0, "max_tokens": 1500}})).unwrap();
    jan.threads().update(&thread.id, ThreadUpdate { model: Some(model), ..Default::default() }).await.unwrap();
    jan.threads().add_message(&thread.id, NewMessage::text(Role::User, "Count from 1 to 500.")).await.unwrap();
    let mut reply = jan.inference().reply_in_thread(&thread.id).await.unwrap();
    let id = reply.message.id.clone();
    let mut streamed = String::new();
    let started = Instant::now();
    let saved = loop {
        match tokio::time::timeout(Duration::from_secs(120), reply.stream.recv()).await.unwrap() {
            Some(StreamItem::Delta(d)) => streamed.push_str(&d),
            other => panic!("the reply ended early: {other:?}"),
        }
        if started.elapsed() > Duration::from_secs(3) {
            let saved = jan.threads().message(&thread.id, &id).await.unwrap();
            if !saved.text().is_empty() {
                break saved;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "nothing saved while streaming {streamed:?}");
    };
    assert_eq!(saved.status, MessageStatus::Pending, "still being written: not taken for interrupted");
    assert!(streamed.starts_with(&saved.text()), "{:?} is what was streamed: {streamed:?}", saved.text());
    reply.stream.stop();
    while let Some(item) = reply.stream.recv().await {
        if matches!(item, StreamItem::Done(_) | StreamItem::Error(_)) {
            break;
        }
    }
    let done = jan.threads().message(&thread.id, &id).await.unwrap();
    assert_eq!(done.status, MessageStatus::Stopped);
    assert!(done.text().starts_with(&saved.text()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_architectures_and_unknown_models_are_clear_errors() {
    let (dir, jan) = common::open_temp().await;
    let folder = dir.path().join("models/odd");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("odd.gguf"), common::tiny_gguf("mamba", "Odd", 2048)).unwrap();
    let err = jan.inference().load("odd").await.unwrap_err();
    assert!(err.to_string().contains("mamba"), "{err}");
    assert_eq!(
        jan.inference()
            .chat(ChatCompletionRequest { model: "ghost".into(), ..chat("x", 1, SamplingParams::greedy()) })
            .await
            .unwrap_err()
            .code(),
        "model_not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_models_stream_from_the_configured_engine() {
    let upstream = fake_openai::FakeOpenAi::start().await;
    upstream.reply(
        "/v1/chat/completions",
        fake_openai::Reply::Stream(fake_openai::Script::chat(&["Hel", "lo!"]).usage(Some((5, 2)))),
    );
    let (_dir, jan) = common::open_temp().await;
    let remote: ModelFile =
        serde_json::from_value(json!({"id": "gpt-4o-mini", "engine": "openai", "name": "GPT"})).unwrap();
    jan.models().create(remote).await.unwrap();
    let err = jan
        .inference()
        .chat(ChatCompletionRequest { model: "gpt-4o-mini".into(), ..chat("hi", 5, SamplingParams::greedy()) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_request", "no URL configured yet: {err}");

    // A settings file another tool left readable by everyone is replaced by one only this user reads.
    let file = jan.data_folder().join("engines").join("openai.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{}").unwrap();
    jan.inference()
        .set_engine_settings("openai", &format!("{}/chat/completions", upstream.base_url()), "sk-test-123456")
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the engine's API key is readable by its user only: {mode:o}");
    }
    let stream = jan
        .inference()
        .chat(ChatCompletionRequest { model: "gpt-4o-mini".into(), ..chat("hi", 5, SamplingParams::greedy()) })
        .await
        .unwrap();
    let (deltas, done) = drain(stream).await;
    assert_eq!(deltas.concat(), "Hello!");
    assert_eq!(done.usage.completion_tokens, 2);
    let sent = &upstream.requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-123456"));
    assert_eq!(jan.inference().engine_settings("openai").await.unwrap().api_key, "sk-test-123456");
}

/// What an upstream refused once stays left out of the next requests to that engine (one engine per engine name
/// and settings, not one per request), until the settings change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_an_upstream_refused_stays_left_out_across_requests() {
    let upstream = fake_openai::FakeOpenAi::start().await;
    upstream.reply(
        "/v1/chat/completions",
        fake_openai::Reply::json(400, json!({"error": {"message": "Unrecognized request argument supplied: stream_options", "type": "invalid_request_error", "param": null, "code": null}})),
    );
    upstream.reply("/v1/chat/completions", fake_openai::Reply::Stream(fake_openai::Script::chat(&["ok"])));
    let (_dir, jan) = common::open_temp().await;
    let remote: ModelFile = serde_json::from_value(json!({"id": "gpt-4o-mini", "engine": "openai"})).unwrap();
    jan.models().create(remote).await.unwrap();
    jan.inference().set_engine_settings("openai", &upstream.base_url(), "sk-first-123456").await.unwrap();
    let ask = || ChatCompletionRequest { model: "gpt-4o-mini".into(), ..chat("hi", 5, SamplingParams::greedy()) };
    for _ in 0..2 {
        let (deltas, _) = drain(jan.inference().chat(ask()).await.unwrap()).await;
        assert_eq!(deltas.concat(), "ok");
    }
    let sent = upstream.requests();
    assert_eq!(sent.len(), 3, "one refusal, then one request per chat");
    assert!(sent[0].body.get("stream_options").is_some());
    assert!(sent[2].body.get("stream_options").is_none(), "the second chat forgot the refusal: {}", sent[2].body);

    // New settings, a new engine: the new key is used (and the refusal is learnt again if it still holds).
    jan.inference().set_engine_settings("openai", &upstream.base_url(), "sk-second-123456").await.unwrap();
    drain(jan.inference().chat(ask()).await.unwrap()).await;
    let last = upstream.requests().pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer sk-second-123456"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_from_the_real_model_come_out_typed() {
    let (_dir, jan) = setup(InferenceConfig::default(), 2048, 1).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                       "required": ["city"]}}}]);
    let question = "What's the weather in Paris?";
    let mut request = chat(question, 80, SamplingOptions::greedy());
    request.tools = Some(tools);

    let mut stream = jan.inference().chat(request).await.unwrap();
    let (mut deltas, mut calls) = (Vec::new(), Vec::new());
    let done = loop {
        match tokio::time::timeout(Duration::from_secs(120), stream.recv()).await.expect("the stream stalled") {
            Some(StreamItem::Delta(d)) => deltas.push(d),
            Some(StreamItem::ToolCall(c)) => calls.push(c),
            Some(StreamItem::Done(c)) => break c,
            other => panic!("unexpected {other:?}"),
        }
    };

    // Greedy, qwen2.5-coder-0.5b answers with the call as a fenced JSON block (no <tool_call> markup).
    assert_eq!(done.finish_reason, FinishReason::ToolCalls, "{:?} / {:?}", done.text, done.tool_calls);
    assert_eq!((deltas.concat(), done.text.as_str()), (String::new(), ""), "the call is not text");
    assert_eq!(done.tool_calls.len(), 1);
    assert_eq!(calls, done.tool_calls);
    let call = &done.tool_calls[0];
    assert_eq!((call.function.name.as_str(), call.function.arguments.as_str()), ("get_weather", r#"{"city":"Paris"}"#));
    assert!(call.id.starts_with("call_"));

    // The same request without tools: the same words are text, nothing is parsed.
    let system = "You can call get_weather(city). To call it, answer with only a JSON object \
                  {\"name\": \"get_weather\", \"arguments\": {\"city\": ...}}.";
    let mut request = chat(question, 80, SamplingOptions::greedy());
    request.messages.get_or_insert_default().insert(0, InputMessage::text("system", system));
    let (deltas, done) = drain(jan.inference().chat(request).await.unwrap()).await;
    assert!(done.text.contains("get_weather"), "{:?}", done.text);
    assert_eq!(deltas.concat(), done.text);
    assert!(done.tool_calls.is_empty());
    assert_eq!(done.finish_reason, FinishReason::Stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_reply_that_calls_tools_keeps_its_calls() {
    let upstream = fake_openai::FakeOpenAi::start().await;
    let call = json!({"index": 0, "id": "call_1", "type": "function",
                      "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}});
    let chunk = json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": null}]});
    let script = fake_openai::Script::chat(&[]).event(chunk).finish(Some("tool_calls"));
    upstream.reply("/v1/chat/completions", fake_openai::Reply::Stream(script));
    upstream.reply("/v1/chat/completions", fake_openai::Reply::Stream(fake_openai::Script::chat(&["Sunny."])));
    let (_dir, jan) = common::open_temp().await;
    let remote: ModelFile = serde_json::from_value(json!({"id": "gpt-4o-mini", "engine": "openai"})).unwrap();
    jan.models().create(remote).await.unwrap();
    jan.inference().set_engine_settings("openai", &upstream.base_url(), "").await.unwrap();
    let thread = jan.threads().create(NewThread::default()).await.unwrap();
    let model: ThreadModel = serde_json::from_value(json!({"id": "gpt-4o-mini"})).unwrap();
    jan.threads().update(&thread.id, ThreadUpdate { model: Some(model), ..Default::default() }).await.unwrap();
    jan.threads().add_message(&thread.id, NewMessage::text(Role::User, "Weather in Paris?")).await.unwrap();

    let reply = jan.inference().reply_in_thread(&thread.id).await.unwrap();
    let mut stream = reply.stream;
    let done = loop {
        match stream.recv().await {
            Some(StreamItem::Done(c)) => break c,
            Some(StreamItem::Error(e)) => panic!("{e}"),
            Some(_) => {}
            None => panic!("no Done"),
        }
    };
    assert_eq!(done.finish_reason, FinishReason::ToolCalls);
    let saved = jan.threads().message(&thread.id, &reply.message.id).await.unwrap();
    assert_eq!(saved.status, MessageStatus::Ready);
    assert_eq!(
        saved.metadata.unwrap()["tool_calls"],
        json!([{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
    );

    // The next reply sends the calls back as the assistant's turn.
    jan.threads().add_message(&thread.id, NewMessage::text(Role::User, "And so?")).await.unwrap();
    let next = jan.inference().reply_in_thread(&thread.id).await.unwrap();
    drain(next.stream).await;
    let sent = upstream.requests()[1].body["messages"].as_array().unwrap().clone();
    let [.., asked, called, again] = sent.as_slice() else { panic!("{sent:?}") };
    assert_eq!((&asked["role"], &asked["content"]), (&json!("user"), &json!("Weather in Paris?")));
    assert_eq!((&called["role"], &called["content"]), (&json!("assistant"), &serde_json::Value::Null));
    assert_eq!(called["tool_calls"][0]["id"], "call_1");
    assert_eq!(again["content"], "And so?");
}
