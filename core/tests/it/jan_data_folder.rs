//! A real Jan desktop (v0.4.x) data folder, `tests/fixtures/jan-data/`, opened by the core: everything Jan wrote is
//! read, nothing is rewritten by reading, and every write keeps Jan's format and the fields the core does not know.
//! Where each fixture file's shape comes from: `tests/fixtures/jan-data/README.md`.

use crate::common;

use std::path::{Path, PathBuf};

use jan_core::Jan;
use jan_core::models::{ModelFile, ModelUpdate};
use jan_core::threads::{MessageContent, MessageStatus, MessageUpdate, NewMessage, Role};
use serde_json::{Map, Value, json};

// Threads of the fixture, in the order Jan's thread list shows them (most recently updated first).
const PYTHON: &str = "jan_1713502823"; // mistral-ins-7b-q4, a PDF attachment, updated last
const SONNET: &str = "shakespeare_1714300422"; // custom assistant, made through Jan's local API server
const CAP: &str = "jan_1714200007"; // remote gpt-3.5-turbo, a failed reply with `error_code`
const HAIKU: &str = "jan_1714100031"; // llama3-8b-instruct with overrides, messages.jsonl ends in a torn line

/// The torn last line of the haiku thread: Jan stopped writing in the middle of a reply.
const TORN_LINE: &str = r#"{"id":"01HWC5FHXM4HG6QKXT36CTV4D5","thread_id":"jan_1714100031","type":"Thread","assistant_id":"jan","role":"assistant","content":[{"type":"text","text":{"value":"Silent white bla"#;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jan-data")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the fixture and the facade opened on it.
async fn open_fixture() -> (tempfile::TempDir, Jan) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let jan = Jan::open(common::config(dir.path())).await.unwrap();
    (dir, jan)
}

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn read_json(root: &Path, rel: &str) -> Value {
    serde_json::from_slice(&read(root, rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

/// The lines of a JSONL file, without their `\n`, and whether the file ended with one.
fn lines(bytes: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let body = if ends_with_newline { &bytes[..bytes.len() - 1] } else { bytes };
    (body.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect(), ends_with_newline)
}

/// Every file under `dir` with its bytes (the `logs/` folder that opening creates, and its `.jan-instances/`
/// claim, left out).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let ours = |name: &str| name.starts_with("logs") || name.starts_with(".jan-instances");
    common::tree(dir).into_iter().filter(|(name, _)| !name.ends_with('/') && !ours(name)).collect()
}

/// Differences between two JSON values as a JavaScript reader sees them: numbers compare by value (`0` and `0.0`
/// are the same number to Jan), objects by their key/value pairs whatever the key order.
fn json_diff(actual: &Value, expected: &Value, path: &str, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => {
            if a.as_f64() != b.as_f64() {
                out.push(format!("{path}: {a} != expected {b}"));
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => json_diff(av, bv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing (expected {bv})")),
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected {}", a[k]));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                json_diff(av, bv, &format!("{path}[{i}]"), out);
            }
        }
        _ if actual == expected => {}
        _ => out.push(format!("{path}: {actual} != expected {expected}")),
    }
}

#[track_caller]
fn assert_json_same(actual: &Value, expected: &Value, what: &str) {
    let mut diffs = Vec::new();
    json_diff(actual, expected, "$", &mut diffs);
    assert!(diffs.is_empty(), "{what} differs from what was expected:\n  {}", diffs.join("\n  "));
}

/// A timestamp the core wrote just now (milliseconds, as Jan's `Date.now()`), later than `before`.
#[track_caller]
fn assert_fresh_millis(value: &Value, before: &Value) {
    let (now, before) = (value.as_i64().expect("a whole number"), before.as_i64().expect("a whole number"));
    assert!(now > before, "{now} is not later than {before}");
    let wall = jan_core::time::now_millis();
    assert!((wall - 60_000..=wall).contains(&now), "{now} is not a current time in milliseconds");
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn model<'a>(models: &'a [ModelFile], id: &str) -> &'a ModelFile {
    models.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("model {id} is not listed"))
}

#[tokio::test]
async fn lists_the_complete_local_models_and_the_remote_one() {
    let (dir, jan) = open_fixture().await;
    let before = files(dir.path());

    let models = jan.models().list().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    // Not llama2-chat-7b-q4 (its .gguf was never downloaded) nor openhermes-neural-7b (only a .download partial).
    assert_eq!(ids, ["bakllava-1", "gpt-3.5-turbo", "llama3-8b-instruct", "mistral-ins-7b-q4"]);

    // (a) The older `source_url` form, as Jan's repo shipped TheBloke's quantisations.
    let mistral = model(&models, "mistral-ins-7b-q4");
    assert_eq!(mistral.name, "Mistral Instruct 7B Q4");
    assert_eq!(mistral.object, "model");
    assert_eq!(mistral.version, Some(json!("1.0")));
    assert_eq!(mistral.format.as_deref(), Some("gguf"));
    assert_eq!(mistral.engine, "nitro");
    assert!(mistral.is_local());
    assert_eq!(mistral.sources, None);
    let sources = mistral.effective_sources();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].filename, "mistral-7b-instruct-v0.1.Q4_K_M.gguf");
    assert_eq!(
        sources[0].url,
        "https://huggingface.co/TheBloke/Mistral-7B-Instruct-v0.1-GGUF/resolve/main/mistral-7b-instruct-v0.1.Q4_K_M.gguf"
    );
    assert_eq!(mistral.weights_file_name().as_deref(), Some("mistral-7b-instruct-v0.1.Q4_K_M.gguf"));
    assert_eq!(mistral.settings.ctx_len, Some(4096));
    assert_eq!(mistral.settings.prompt_template.as_deref(), Some("<s>[INST]{prompt}\n[/INST]"));
    assert_eq!(mistral.parameters.max_tokens, Some(4096));
    assert_eq!(mistral.parameters.stop, None);
    assert_eq!(mistral.metadata.author.as_deref(), Some("MistralAI, The Bloke"));
    assert_eq!(
        mistral.metadata.tags.as_deref(),
        Some(&["Featured".to_owned(), "7B".into(), "Foundational Model".into()][..])
    );
    assert_eq!(mistral.metadata.size, Some(4_370_000_000));
    assert!(mistral.metadata.cover.as_deref().unwrap().ends_with("/models/mistral-ins-7b-q4/cover.png"));
    assert_eq!(mistral.created, None);
    assert!(mistral.extra.is_empty(), "{:?}", mistral.extra);

    // (b) The `sources` form with the settings and parameters Jan's nitro extension shipped.
    let llama3 = model(&models, "llama3-8b-instruct");
    assert_eq!(llama3.name, "Llama 3 8B Q4");
    assert_eq!(llama3.version, Some(json!("1.2")));
    assert_eq!(llama3.source_url, None);
    let sources = llama3.sources.as_ref().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].filename, "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf");
    assert!(sources[0].url.starts_with("https://huggingface.co/lmstudio-community/Meta-Llama-3-8B-Instruct-GGUF/"));
    assert_eq!(llama3.effective_sources(), *sources);
    assert_eq!(llama3.settings.ctx_len, Some(8192));
    assert_eq!(llama3.settings.ngl, Some(33));
    assert_eq!(llama3.settings.llama_model_path.as_deref(), Some("Meta-Llama-3-8B-Instruct-Q4_K_M.gguf"));
    let template = llama3.settings.prompt_template.as_deref().unwrap();
    assert!(template.starts_with("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system_message}"));
    assert!(template.contains("{prompt}<|eot_id|>"));
    assert_eq!(llama3.parameters.temperature, Some(0.7));
    assert_eq!(llama3.parameters.top_p, Some(0.95));
    assert_eq!(llama3.parameters.stream, Some(true));
    assert_eq!(llama3.parameters.max_tokens, Some(8192));
    assert_eq!(llama3.parameters.stop, Some(vec!["<|end_of_text|>".to_owned(), "<|eot_id|>".to_owned()]));
    assert_eq!(llama3.parameters.frequency_penalty, Some(0.0));
    assert_eq!(llama3.parameters.presence_penalty, Some(0.0));
    assert!(llama3.settings.extra.is_empty() && llama3.parameters.extra.is_empty() && llama3.extra.is_empty());

    // Two files, and a setting the core does not know (`mmproj`).
    let bakllava = model(&models, "bakllava-1");
    let names: Vec<String> = bakllava.effective_sources().into_iter().map(|s| s.filename).collect();
    assert_eq!(names, ["ggml-model-q5_k.gguf", "mmproj-model-f16.gguf"]);
    assert_eq!(bakllava.weights_file_name().as_deref(), Some("ggml-model-q5_k.gguf"));
    assert_eq!(bakllava.settings.extra.get("mmproj"), Some(&json!("mmproj-model-f16.gguf")));

    // (c) A remote OpenAI model: no files, listed anyway.
    let gpt = model(&models, "gpt-3.5-turbo");
    assert_eq!(gpt.engine, "openai");
    assert!(!gpt.is_local());
    assert_eq!(gpt.format.as_deref(), Some("api"));
    assert_eq!(gpt.version, Some(json!(1.0)));
    assert_eq!(gpt.source_url.as_deref(), Some("https://openai.com"));
    assert_eq!(gpt.settings, Default::default());
    assert_eq!(gpt.parameters.max_tokens, Some(4096));
    assert_eq!(gpt.metadata.size, None);

    // (d) and (e): present on disk, not ready.
    for id in ["llama2-chat-7b-q4", "openhermes-neural-7b"] {
        assert_eq!(jan.models().get(id).await.unwrap_err().code(), "model_not_found", "{id}");
    }
    assert_eq!(jan.models().get("mistral-ins-7b-q4").await.unwrap(), *mistral);
    assert_eq!(
        jan.models().weights_path("llama3-8b-instruct").await.unwrap(),
        dir.path().join("models/llama3-8b-instruct/Meta-Llama-3-8B-Instruct-Q4_K_M.gguf")
    );

    // Listing wrote nothing: no generated model.json, no rewritten file, the partial left alone.
    assert_eq!(files(dir.path()), before);
}

#[tokio::test]
async fn lists_threads_most_recently_updated_first_with_their_jan_fields() {
    let (_dir, jan) = open_fixture().await;
    let threads = jan.threads().list().await.unwrap();
    let ids: Vec<&str> = threads.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [PYTHON, SONNET, CAP, HAIKU]);
    let updated: Vec<i64> = threads.iter().map(|t| t.updated.unwrap()).collect();
    assert_eq!(updated, [1714405490150, 1714300422777, 1714203012345, 1714100355901]);

    let haiku = &threads[3];
    assert_eq!(haiku.object, "thread");
    assert_eq!(haiku.title, "Haiku practice");
    assert_eq!(haiku.created, Some(1714100031184));
    assert_eq!(haiku.metadata, Some(obj(json!({"lastMessage": "Now one about snow.", "title": "Haiku practice"}))));
    assert!(haiku.extra.is_empty(), "{:?}", haiku.extra);
    let entry = haiku.assistant().unwrap();
    assert_eq!(entry.assistant_id, "jan");
    assert_eq!(entry.assistant_name.as_deref(), Some("Jan"));
    assert_eq!(entry.instructions.as_deref(), Some(""));
    let tools = entry.tools.as_ref().unwrap();
    assert_eq!(tools[0]["type"], "retrieval");
    assert_eq!(tools[0]["settings"]["chunk_size"], 1024);
    let thread_model = entry.model.as_ref().unwrap();
    assert_eq!(thread_model.id, "llama3-8b-instruct");
    assert_eq!(thread_model.engine.as_deref(), Some("nitro"));
    let settings = thread_model.settings.as_ref().unwrap();
    assert_eq!(settings.ctx_len, Some(4096));
    assert_eq!(settings.ngl, Some(33));
    let parameters = thread_model.parameters.as_ref().unwrap();
    assert_eq!(parameters.temperature, Some(0.4));
    assert_eq!(parameters.stop, Some(vec!["<|end_of_text|>".to_owned(), "<|eot_id|>".to_owned()]));

    let cap = &threads[2];
    assert_eq!(cap.assistant().unwrap().model.as_ref().unwrap().engine.as_deref(), Some("openai"));
    assert_eq!(cap.metadata.as_ref().unwrap().get("title"), None);

    let sonnet = &threads[1];
    assert_eq!(sonnet.assistant().unwrap().assistant_id, "shakespeare");
    assert_eq!(sonnet.metadata, None);
    assert_eq!(sonnet.created, sonnet.updated);

    assert_eq!(jan.threads().get(PYTHON).await.unwrap(), threads[0]);
}

#[tokio::test]
async fn reads_every_message_skips_the_torn_line_and_keeps_unknown_fields() {
    let (_dir, jan) = open_fixture().await;

    // The torn last line (a reply cut off mid-write) is skipped; the three lines before it are read.
    let haiku = jan.threads().messages(HAIKU).await.unwrap();
    let ids: Vec<&str> = haiku.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["01HWC55WT0DXW41VEHBEAK0374", "01HWC55XWM4PG07T2AJCYYYJ1C", "01HWC5FGSXVKG66TNEVGM1JCNH"]);
    let roles: Vec<Role> = haiku.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    let first = &haiku[0];
    assert_eq!(first.object, "thread.message");
    assert_eq!(first.thread_id, HAIKU);
    assert_eq!(first.assistant_id, None);
    assert_eq!(first.status, MessageStatus::Ready);
    assert_eq!((first.created, first.updated), (Some(1714100040512), Some(1714100040512)));
    assert_eq!(first.content, vec![MessageContent::text("Write a haiku about autumn rain.")]);
    assert_eq!(first.metadata, None);
    assert!(first.extra.is_empty());
    let reply = &haiku[1];
    assert_eq!(reply.assistant_id.as_deref(), Some("jan"));
    assert_eq!(reply.text(), "Cold rain on the eaves\nmaple leaves drift in puddles\nthe lamp glows warmer");
    assert_eq!(reply.extra, obj(json!({"type": "Thread"})));

    // A failed reply keeps its `error_code`, a field the core does not know.
    let cap = jan.threads().messages(CAP).await.unwrap();
    assert_eq!(cap.len(), 4);
    assert_eq!(cap[1].status, MessageStatus::Error);
    assert_eq!(cap[1].extra, obj(json!({"type": "Thread", "error_code": "invalid_api_key"})));
    assert!(cap[1].text().starts_with("Incorrect API key provided"));
    assert_eq!(cap[3].status, MessageStatus::Ready);
    assert!(cap[3].text().starts_with("The CAP theorem says"));

    // A PDF attachment part: its kind and annotations (the file's path in the thread folder) are read.
    let python = jan.threads().messages(PYTHON).await.unwrap();
    assert_eq!(python.len(), 4);
    let pdf = &python[2].content[0];
    assert_eq!(pdf.kind, "pdf");
    let text = pdf.text.as_ref().unwrap();
    assert_eq!(text.value, "Summarise this paper in three bullet points");
    assert_eq!(text.annotations, [json!("threads/jan_1713502823/files/01HWN8FFF6PR0XZHKEAA7YXTJG.pdf")]);

    // Lines written by Jan's API server: no assistant_id.
    let sonnet = jan.threads().messages(SONNET).await.unwrap();
    assert_eq!(sonnet.len(), 2);
    assert_eq!(sonnet[1].role, Role::Assistant);
    assert_eq!(sonnet[1].assistant_id, None);

    let one = jan.threads().message(CAP, "01HWF4GX44QNGPJ2AMP83GME47").await.unwrap();
    assert_eq!(one, cap[1]);
    // The torn reply's id is on the torn line only: not found.
    assert_eq!(jan.threads().message(HAIKU, "01HWC5FHXM4HG6QKXT36CTV4D5").await.unwrap_err().code(), "not_found");
}

#[tokio::test]
async fn reads_jan_assistants_and_opening_rewrites_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let before = files(dir.path());
    let jan = Jan::open(common::config(dir.path())).await.unwrap();
    // Opening (which makes sure the default assistant exists) left every file as Jan wrote it; it only adds its
    // claim on the folder (an empty lock file of its own).
    assert_eq!(files(dir.path()), before);
    let claims = std::fs::read_dir(dir.path().join(".jan-instances")).unwrap().count();
    assert_eq!(claims, 1);
    let original = read(dir.path(), "assistants/jan/assistant.json");

    let assistants = jan.assistants().list().await.unwrap();
    let ids: Vec<&str> = assistants.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["jan", "shakespeare"]);

    let default = jan.assistants().get("jan").await.unwrap();
    assert_eq!(default, assistants[0]);
    assert_eq!(default.avatar.as_deref(), Some(""));
    assert_eq!(default.object, "assistant");
    assert_eq!(default.created_at, Some(1713502790551));
    assert_eq!(default.name, "Jan");
    assert_eq!(default.description.as_deref(), Some("A default assistant that can use all downloaded models"));
    assert_eq!(default.model.as_deref(), Some("*"));
    assert_eq!(default.instructions.as_deref(), Some(""));
    assert_eq!(default.file_ids, Some(vec![]));
    assert_eq!(default.thread_location, None);
    assert_eq!(default.metadata, None);
    assert!(default.extra.is_empty(), "{:?}", default.extra);
    let tools = default.tools.as_ref().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["type"], "retrieval");
    assert_eq!(tools[0]["enabled"], false);
    assert_eq!(tools[0]["settings"]["top_k"], 2);
    assert_eq!(tools[0]["settings"]["chunk_overlap"], 64);
    assert!(tools[0]["settings"]["retrieval_template"].as_str().unwrap().contains("CONTEXT: {CONTEXT}"));

    let custom = &assistants[1];
    assert_eq!(custom.name, "Shakespeare");
    assert_eq!(custom.model.as_deref(), Some("llama3-8b-instruct"));
    assert_eq!(
        custom.extra,
        obj(json!({"version": 1, "settings": {"ctx_len": 4096}, "parameters": {"temperature": 0.9, "top_p": 0.8}}))
    );

    // A second open does not touch it either.
    drop(jan);
    let _again = Jan::open(common::config(dir.path())).await.unwrap();
    assert_eq!(read(dir.path(), "assistants/jan/assistant.json"), original);
}

#[tokio::test]
async fn rename_changes_only_the_title_and_updated() {
    let (dir, jan) = open_fixture().await;
    for id in [HAIKU, CAP] {
        let rel = format!("threads/{id}/thread.json");
        let original = read_json(dir.path(), &rel);
        let messages = read(dir.path(), &format!("threads/{id}/messages.jsonl"));

        let thread = jan.threads().rename(id, "Renamed in the cloud").await.unwrap();
        assert_eq!(thread.title, "Renamed in the cloud");

        let written = read_json(dir.path(), &rel);
        assert_fresh_millis(&written["updated"], &original["updated"]);
        let mut expected = original.clone();
        expected["title"] = json!("Renamed in the cloud");
        expected["metadata"]["title"] = json!("Renamed in the cloud"); // added where Jan had none (CAP)
        expected["updated"] = written["updated"].clone();
        assert_json_same(&written, &expected, &rel);
        // Still Jan's style: pretty-printed with two spaces.
        assert!(String::from_utf8(read(dir.path(), &rel)).unwrap().starts_with("{\n  \""));
        assert_eq!(read(dir.path(), &format!("threads/{id}/messages.jsonl")), messages);
    }
    // The renamed threads moved to the top of the list.
    let ids: Vec<String> = jan.threads().list().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, [CAP, HAIKU, PYTHON, SONNET]);
}

#[tokio::test]
async fn add_message_appends_a_jan_shaped_line_and_bumps_updated() {
    let (dir, jan) = open_fixture().await;
    let rel = format!("threads/{CAP}/messages.jsonl");
    let original = read(dir.path(), &rel);
    let original_thread = read_json(dir.path(), &format!("threads/{CAP}/thread.json"));

    let message = jan.threads().add_message(CAP, NewMessage::text(Role::User, "And PACELC?")).await.unwrap();

    let written = read(dir.path(), &rel);
    assert!(written.starts_with(&original), "earlier lines were changed");
    let (new_lines, newline) = lines(&written[original.len()..]);
    assert!(newline);
    assert_eq!(new_lines.len(), 1);
    let line: Value = serde_json::from_slice(&new_lines[0]).unwrap();
    let created = line["created"].clone();
    assert_fresh_millis(&created, &original_thread["updated"]);
    assert_json_same(
        &line,
        &json!({
            "id": message.id, "object": "thread.message", "thread_id": CAP, "role": "user",
            "content": [{"type": "text", "text": {"value": "And PACELC?", "annotations": []}}],
            "status": "ready", "created": created, "updated": created,
        }),
        "the appended line",
    );
    assert_eq!(message.id.len(), 26, "a ULID");
    assert!(message.id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    // One compact line, as Jan's `JSON.stringify(message)`.
    assert_eq!(serde_json::to_vec(&line).unwrap(), new_lines[0]);

    // thread.json: only `updated` (to the message's time) and Jan's preview `metadata.lastMessage` moved.
    let thread = read_json(dir.path(), &format!("threads/{CAP}/thread.json"));
    let mut expected = original_thread.clone();
    expected["updated"] = created.clone();
    expected["metadata"]["lastMessage"] = json!("And PACELC?");
    assert_json_same(&thread, &expected, "thread.json");

    let messages = jan.threads().messages(CAP).await.unwrap();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[4], message);
}

#[tokio::test]
async fn add_message_after_a_torn_line_starts_a_new_line() {
    let (dir, jan) = open_fixture().await;
    let rel = format!("threads/{HAIKU}/messages.jsonl");
    let original = read(dir.path(), &rel);
    assert!(original.ends_with(TORN_LINE.as_bytes()), "the fixture ends in the torn line, without a newline");

    let message = jan.threads().add_message(HAIKU, NewMessage::text(Role::User, "Try again, please.")).await.unwrap();

    // The torn line is kept as it was, ended by a newline, and the new message is a line of its own.
    let written = read(dir.path(), &rel);
    assert!(written.starts_with(&original));
    let (tail, newline) = lines(&written[original.len()..]);
    assert!(newline);
    assert_eq!(tail.len(), 2);
    assert!(tail[0].is_empty(), "a newline first, to end the torn line");
    let line: Value = serde_json::from_slice(&tail[1]).unwrap();
    assert_eq!(line["id"], json!(message.id));

    let ids: Vec<String> = jan.threads().messages(HAIKU).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[3], message.id);
}

#[tokio::test]
async fn update_message_rewrites_only_its_own_line() {
    let (dir, jan) = open_fixture().await;
    let rel = format!("threads/{CAP}/messages.jsonl");
    let original = read(dir.path(), &rel);
    let (original_lines, _) = lines(&original);
    let thread_before = read(dir.path(), &format!("threads/{CAP}/thread.json"));

    // The failed reply, which carries fields the core does not know (`type`, `error_code`).
    let id = "01HWF4GX44QNGPJ2AMP83GME47";
    let mut metadata = Map::new();
    metadata.insert("retried".into(), json!(true));
    let update = MessageUpdate { metadata: Some(metadata), ..Default::default() };
    let updated = jan.threads().update_message(CAP, id, update).await.unwrap();
    assert_eq!(updated.extra["error_code"], "invalid_api_key");

    let written = read(dir.path(), &rel);
    let (new_lines, newline) = lines(&written);
    assert!(newline);
    assert_eq!(new_lines.len(), original_lines.len());
    for (i, (new, old)) in new_lines.iter().zip(&original_lines).enumerate() {
        if i != 1 {
            assert_eq!(new, old, "line {i} changed");
        }
    }
    let line: Value = serde_json::from_slice(&new_lines[1]).unwrap();
    let mut expected: Value = serde_json::from_slice(&original_lines[1]).unwrap();
    assert_fresh_millis(&line["updated"], &expected["updated"]);
    expected["updated"] = line["updated"].clone();
    expected["metadata"] = json!({"retried": true});
    assert_json_same(&line, &expected, "the updated line");
    // Messages do not touch thread.json.
    assert_eq!(read(dir.path(), &format!("threads/{CAP}/thread.json")), thread_before);
}

#[tokio::test]
async fn update_message_keeps_a_torn_line_verbatim() {
    let (dir, jan) = open_fixture().await;
    let rel = format!("threads/{HAIKU}/messages.jsonl");
    let original = read(dir.path(), &rel);
    let (original_lines, newline) = lines(&original);
    assert!(!newline);
    assert_eq!(original_lines.last().unwrap(), TORN_LINE.as_bytes());

    let id = "01HWC55XWM4PG07T2AJCYYYJ1C";
    let update =
        MessageUpdate { content: Some(vec![MessageContent::text("Cold rain on the eaves")]), ..Default::default() };
    jan.threads().update_message(HAIKU, id, update).await.unwrap();

    // Decided behaviour: the file is rewritten line by line, every other line byte for byte, the unparseable torn
    // line included (it is not the core's to drop: a person may want to recover it). The rewrite ends every line
    // with a newline, so the torn line is now terminated and later appends cannot glue onto it.
    let written = read(dir.path(), &rel);
    let (new_lines, newline) = lines(&written);
    assert!(newline);
    assert_eq!(new_lines.len(), original_lines.len());
    for i in [0, 2, 3] {
        assert_eq!(new_lines[i], original_lines[i], "line {i} changed");
    }
    let line: Value = serde_json::from_slice(&new_lines[1]).unwrap();
    let mut expected: Value = serde_json::from_slice(&original_lines[1]).unwrap();
    expected["updated"] = line["updated"].clone();
    expected["content"] = json!([{"type": "text", "text": {"value": "Cold rain on the eaves", "annotations": []}}]);
    assert_json_same(&line, &expected, "the updated line");

    let messages = jan.threads().messages(HAIKU).await.unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1].text(), "Cold rain on the eaves");
}

#[tokio::test]
async fn model_update_keeps_every_other_field() {
    let (dir, jan) = open_fixture().await;

    // The `sources` form: a setting and a parameter change, nothing else.
    let rel = "models/llama3-8b-instruct/model.json";
    let original = read_json(dir.path(), rel);
    let update = ModelUpdate {
        settings: Some(obj(json!({"ctx_len": 4096}))),
        parameters: Some(obj(json!({"temperature": 0.5}))),
        ..Default::default()
    };
    let updated = jan.models().update("llama3-8b-instruct", update).await.unwrap();
    assert_eq!(updated.settings.ctx_len, Some(4096));
    let mut expected = original.clone();
    expected["settings"]["ctx_len"] = json!(4096);
    expected["parameters"]["temperature"] = json!(0.5);
    assert_json_same(&read_json(dir.path(), rel), &expected, rel);
    assert_eq!(jan.models().get("llama3-8b-instruct").await.unwrap(), updated);

    // A setting the core does not know survives, and so do both sources.
    let rel = "models/bakllava-1/model.json";
    let original = read_json(dir.path(), rel);
    let update = ModelUpdate { name: Some("BakLLaVA".into()), ..Default::default() };
    jan.models().update("bakllava-1", update).await.unwrap();
    let mut expected = original.clone();
    expected["name"] = json!("BakLLaVA");
    assert_json_same(&read_json(dir.path(), rel), &expected, rel);

    // The `source_url` form stays in that form (no `sources` appears); metadata merges key by key.
    let rel = "models/mistral-ins-7b-q4/model.json";
    let original = read_json(dir.path(), rel);
    let update = ModelUpdate { metadata: Some(obj(json!({"tags": ["7B"]}))), ..Default::default() };
    jan.models().update("mistral-ins-7b-q4", update).await.unwrap();
    let mut expected = original.clone();
    expected["metadata"]["tags"] = json!(["7B"]);
    assert_json_same(&read_json(dir.path(), rel), &expected, rel);

    // The remote model: an engine-specific parameter lands next to Jan's.
    let rel = "models/gpt-3.5-turbo/model.json";
    let original = read_json(dir.path(), rel);
    let update =
        ModelUpdate { parameters: Some(obj(json!({"max_tokens": 2048, "logit_bias": {}}))), ..Default::default() };
    jan.models().update("gpt-3.5-turbo", update).await.unwrap();
    let mut expected = original.clone();
    expected["parameters"] = json!({"max_tokens": 2048, "logit_bias": {}});
    assert_json_same(&read_json(dir.path(), rel), &expected, rel);

    let ids: Vec<String> = jan.models().list().await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["bakllava-1", "gpt-3.5-turbo", "llama3-8b-instruct", "mistral-ins-7b-q4"]);
}

#[tokio::test]
async fn engines_and_settings_are_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let snapshot = |root: &Path| -> Vec<(String, Vec<u8>)> {
        ["engines", "settings"].iter().flat_map(|sub| common::tree(&root.join(sub))).collect()
    };
    let before = snapshot(dir.path());
    assert_eq!(before.len(), 3);

    let jan = Jan::open(common::config(dir.path())).await.unwrap();
    jan.models().list().await.unwrap();
    jan.threads().list().await.unwrap();
    jan.assistants().list().await.unwrap();
    jan.threads().rename(PYTHON, "Lists and tuples").await.unwrap();
    let message = jan.threads().add_message(HAIKU, NewMessage::pending_reply("jan")).await.unwrap();
    jan.threads()
        .update_message(HAIKU, &message.id, MessageUpdate::finish("Snow", MessageStatus::Ready))
        .await
        .unwrap();
    jan.threads().effective_settings(SONNET).await.unwrap();
    let update = ModelUpdate { settings: Some(obj(json!({"ngl": 20}))), ..Default::default() };
    jan.models().update("mistral-ins-7b-q4", update).await.unwrap();

    assert_eq!(snapshot(dir.path()), before);
}

#[tokio::test]
async fn effective_settings_are_thread_over_assistant_over_model() {
    let (_dir, jan) = open_fixture().await;

    // Thread (made through Jan's API) over the custom assistant's `settings`/`parameters` over llama3's model.json.
    let sonnet = jan.threads().effective_settings(SONNET).await.unwrap();
    assert_eq!(sonnet.model_id.as_deref(), Some("llama3-8b-instruct"));
    assert_eq!(sonnet.engine.as_deref(), Some("nitro"));
    assert_eq!(sonnet.instructions.as_deref(), Some("Answer only in rhyming couplets."));
    assert_eq!(sonnet.settings.ctx_len, Some(2048), "thread 2048 over assistant 4096 over model 8192");
    assert_eq!(sonnet.settings.ngl, Some(33), "model");
    assert_eq!(sonnet.settings.llama_model_path.as_deref(), Some("Meta-Llama-3-8B-Instruct-Q4_K_M.gguf"));
    assert!(sonnet.settings.prompt_template.as_deref().unwrap().starts_with("<|begin_of_text|>"));
    assert_eq!(sonnet.parameters.temperature, Some(0.3), "thread 0.3 over assistant 0.9 over model 0.7");
    assert_eq!(sonnet.parameters.top_p, Some(0.8), "assistant 0.8 over model 0.95");
    assert_eq!(sonnet.parameters.max_tokens, Some(512), "thread 512 over model 8192");
    assert_eq!(sonnet.parameters.stop, Some(vec!["<|end_of_text|>".to_owned(), "<|eot_id|>".to_owned()]));
    assert_eq!(sonnet.parameters.stream, Some(true));

    // Jan's default assistant (model "*", no settings): the thread's copy, edited in the right panel, wins.
    let haiku = jan.threads().effective_settings(HAIKU).await.unwrap();
    assert_eq!(haiku.model_id.as_deref(), Some("llama3-8b-instruct"));
    assert_eq!(haiku.instructions.as_deref(), Some(""));
    assert_eq!(haiku.settings.ctx_len, Some(4096));
    assert_eq!(haiku.parameters.temperature, Some(0.4));
    assert_eq!(haiku.parameters.max_tokens, Some(4096));
    assert_eq!(haiku.parameters.top_p, Some(0.95));

    // A remote model: the thread's engine.
    let cap = jan.threads().effective_settings(CAP).await.unwrap();
    assert_eq!(cap.model_id.as_deref(), Some("gpt-3.5-turbo"));
    assert_eq!(cap.engine.as_deref(), Some("openai"));
    assert_eq!(cap.parameters.max_tokens, Some(4096));
    assert_eq!(cap.settings, Default::default());
}

/// Jan 0.4.x stored a PDF attachment's file name and size inside the content part's `text` object. The core's
/// `TextContent` keeps only `value` and `annotations`, so rewriting that line drops them.
#[tokio::test]
async fn update_message_keeps_unknown_fields_inside_text_parts() {
    let (dir, jan) = open_fixture().await;
    let rel = format!("threads/{PYTHON}/messages.jsonl");
    let (original_lines, _) = lines(&read(dir.path(), &rel));
    let mut metadata = Map::new();
    metadata.insert("pinned".into(), json!(true));
    let update = MessageUpdate { metadata: Some(metadata), ..Default::default() };
    jan.threads().update_message(PYTHON, "01HWN8FFF6PR0XZHKEAA7YXTJG", update).await.unwrap();
    let (new_lines, _) = lines(&read(dir.path(), &rel));
    let line: Value = serde_json::from_slice(&new_lines[2]).unwrap();
    let mut expected: Value = serde_json::from_slice(&original_lines[2]).unwrap();
    expected["updated"] = line["updated"].clone();
    expected["metadata"] = json!({"pinned": true});
    assert_json_same(&line, &expected, "the updated PDF line");
}

/// Jan's remote models carry `"source_url": "https://openai.com"` (a link, not a file). The core derives a weights
/// file name (`openai.com`) from it whatever the engine, so a remote model gets a local weights path.
#[tokio::test]
async fn a_remote_model_has_no_weights_file() {
    let (_dir, jan) = open_fixture().await;
    let gpt = jan.models().get("gpt-3.5-turbo").await.unwrap();
    assert_eq!(gpt.weights_file_name(), None);
    assert_eq!(jan.models().weights_path("gpt-3.5-turbo").await.unwrap_err().code(), "invalid_request");
}
