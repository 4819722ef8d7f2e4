//! No id from a caller reaches the filesystem unchecked: every method that takes an id refuses bad ones with
//! `invalid_id` and changes nothing on disk.

use crate::common::{open_temp, tiny_gguf, tree};
use jan_core::assistants::{AssistantUpdate, NewAssistant};
use jan_core::models::{ImportRequest, ModelFile, ModelUpdate};
use jan_core::threads::{MessageUpdate, NewMessage, NewThread, Role, ThreadUpdate};
use jan_core::{Jan, Result};
use serde_json::json;

const BAD: &[&str] = &[
    "..",
    ".",
    "../outside",
    "..\\outside",
    "a/b",
    "a\\b",
    "/etc/passwd",
    "C:\\Windows",
    "c:",
    "a\0b",
    "tab\there",
    "CON",
    "nul.gguf",
    "COM1",
    "",
    ".hidden",
    "trailing.",
];

fn too_long() -> String {
    "a".repeat(300)
}

/// Calls every id-taking method with `bad` in each id position; returns (method, result).
async fn every_method(
    jan: &Jan,
    bad: &str,
    thread: &str,
    message: &str,
    gguf: &std::path::Path,
) -> Vec<(String, Result<()>)> {
    let b = bad.to_owned();
    let mut out: Vec<(String, Result<()>)> = Vec::new();
    macro_rules! call {
        ($name:expr, $fut:expr) => {
            out.push(($name.to_string(), $fut.await.map(|_| ())));
        };
    }
    let models = jan.models();
    call!("models.get", models.get(&b));
    call!("models.weights_path", models.weights_path(&b));
    call!("models.download", models.download(&b));
    call!("models.update", models.update(&b, ModelUpdate::default()));
    call!("models.delete", models.delete(&b));
    let remote: ModelFile = serde_json::from_value(json!({"id": b, "engine": "openai"})).unwrap();
    call!("models.create", models.create(remote));
    call!("models.import(id)", models.import(ImportRequest { id: Some(b.clone()), ..ImportRequest::copy(gguf) }));
    call!(
        "models.import(file_name)",
        models.import(ImportRequest {
            id: Some("fine".into()),
            file_name: Some(b.clone()),
            ..ImportRequest::copy(gguf)
        })
    );

    let downloads = jan.downloads();
    let by_id: ModelFile =
        serde_json::from_value(json!({"id": b, "sources": [{"filename": "x.gguf", "url": "http://127.0.0.1:9/x"}]}))
            .unwrap();
    call!("downloads.start(id)", downloads.start(by_id));
    let by_file: ModelFile =
        serde_json::from_value(json!({"id": "fine", "sources": [{"filename": b, "url": "http://127.0.0.1:9/x"}]}))
            .unwrap();
    call!("downloads.start(filename)", downloads.start(by_file));
    call!("downloads.cancel", downloads.cancel(&b));

    let threads = jan.threads();
    call!(
        "threads.create(assistant)",
        threads.create(NewThread { assistant_id: Some(b.clone()), ..Default::default() })
    );
    call!("threads.get", threads.get(&b));
    call!("threads.rename", threads.rename(&b, "t"));
    call!("threads.update", threads.update(&b, ThreadUpdate::default()));
    call!("threads.delete", threads.delete(&b));
    call!("threads.effective_settings", threads.effective_settings(&b));
    call!("threads.add_message(thread)", threads.add_message(&b, NewMessage::text(Role::User, "x")));
    call!(
        "threads.add_message(assistant)",
        threads.add_message(
            thread,
            NewMessage { assistant_id: Some(b.clone()), ..NewMessage::text(Role::Assistant, "x") }
        )
    );
    call!("threads.messages", threads.messages(&b));
    call!("threads.message(thread)", threads.message(&b, message));
    call!("threads.message(message)", threads.message(thread, &b));
    call!("threads.update_message(thread)", threads.update_message(&b, message, MessageUpdate::default()));
    call!("threads.update_message(message)", threads.update_message(thread, &b, MessageUpdate::default()));
    call!("threads.delete_message(thread)", threads.delete_message(&b, message));
    call!("threads.delete_message(message)", threads.delete_message(thread, &b));

    let assistants = jan.assistants();
    call!(
        "assistants.create",
        assistants.create(NewAssistant { id: Some(b.clone()), name: "n".into(), ..Default::default() })
    );
    call!("assistants.get", assistants.get(&b));
    call!("assistants.update", assistants.update(&b, AssistantUpdate::default()));
    call!("assistants.delete", assistants.delete(&b));
    out
}

#[tokio::test]
async fn every_method_refuses_every_bad_id_and_changes_nothing() {
    let (dir, jan) = open_temp().await;
    let thread = jan.threads().create(NewThread::default()).await.unwrap();
    let message = jan.threads().add_message(&thread.id, NewMessage::text(Role::User, "hello")).await.unwrap();
    let outside = tempfile::tempdir().unwrap();
    let gguf = outside.path().join("m.gguf");
    std::fs::write(&gguf, tiny_gguf("llama", "m", 2048)).unwrap();
    let before = tree(dir.path());

    const MODEL_LOOKUPS: [&str; 5] =
        ["models.get", "models.weights_path", "models.download", "models.update", "models.delete"];
    let mut checked = 0;
    let long = too_long();
    for bad in BAD.iter().copied().chain([long.as_str()]) {
        for (method, result) in every_method(&jan, bad, &thread.id, &message.id, &gguf).await {
            match result {
                // A model named by a caller that could not exist is a model that does not exist (OpenAI's code).
                Err(e) if MODEL_LOOKUPS.contains(&method.as_str()) => {
                    assert_eq!(e.code(), "model_not_found", "{method}({bad:?}) gave {e}")
                }
                Err(e) => assert_eq!(e.code(), "invalid_id", "{method}({bad:?}) gave {e}"),
                Ok(()) => panic!("{method}({bad:?}) accepted a bad id"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 18 * 30, "checked {checked} calls");
    assert_eq!(tree(dir.path()), before, "nothing changed in the data folder");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1, "nothing written outside it either");
}
