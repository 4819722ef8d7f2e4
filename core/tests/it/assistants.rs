//! Assistants: the default one, CRUD, and how a thread's effective settings are resolved.

use crate::common;

use crate::common::open_temp;
use jan_core::assistants::{AssistantUpdate, NewAssistant};
use jan_core::models::ModelFile;
use jan_core::threads::{NewThread, ThreadModel, ThreadUpdate};
use serde_json::json;

#[tokio::test]
async fn the_default_assistant_exists_and_cannot_be_deleted() {
    let (dir, jan) = open_temp().await;
    let jan_assistant = jan.assistants().get("jan").await.unwrap();
    assert_eq!(jan_assistant.name, "Jan");
    assert_eq!(jan_assistant.model.as_deref(), Some("*"));
    assert_eq!(jan_assistant.instructions.as_deref(), Some("Your name is Jan."));
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("assistants/jan/assistant.json")).unwrap()).unwrap();
    for field in
        ["avatar", "id", "object", "created_at", "name", "description", "model", "instructions", "tools", "file_ids"]
    {
        assert!(raw.get(field).is_some(), "assistant.json lacks {field}");
    }
    assert_eq!(raw["object"], "assistant");

    let err = jan.assistants().delete("jan").await.unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert!(dir.path().join("assistants/jan/assistant.json").is_file());

    // Reopening does not rewrite it.
    let before = std::fs::read(dir.path().join("assistants/jan/assistant.json")).unwrap();
    jan_core::Jan::open(common::config(dir.path())).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("assistants/jan/assistant.json")).unwrap(), before);
}

#[tokio::test]
async fn create_list_update_delete() {
    let (_dir, jan) = open_temp().await;
    let a = jan.assistants();
    let coder = a
        .create(NewAssistant {
            id: Some("coder".into()),
            name: "Coder".into(),
            instructions: Some("Write Rust.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(coder.model.as_deref(), Some("*"));
    let generated = a.create(NewAssistant { name: "Anon".into(), ..Default::default() }).await.unwrap();
    assert_eq!(generated.id.len(), 26, "a ULID");
    let dup = NewAssistant { id: Some("coder".into()), name: "Again".into(), ..Default::default() };
    assert_eq!(a.create(dup).await.unwrap_err().code(), "conflict");
    assert_eq!(
        a.create(NewAssistant { name: " ".into(), ..Default::default() }).await.unwrap_err().code(),
        "invalid_request"
    );

    let names: Vec<_> = a.list().await.unwrap().into_iter().map(|x| x.name).collect();
    assert_eq!(names, ["Jan", "Anon", "Coder"], "default first, then by name");

    let updated = a
        .update(
            "coder",
            AssistantUpdate {
                instructions: Some("Write safe Rust.".into()),
                model: Some("qwen".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.instructions.as_deref(), updated.model.as_deref()), (Some("Write safe Rust."), Some("qwen")));
    assert_eq!(a.get("coder").await.unwrap(), updated);

    a.delete("coder").await.unwrap();
    assert_eq!(a.get("coder").await.unwrap_err().code(), "not_found");
    assert_eq!(a.delete("coder").await.unwrap_err().code(), "not_found");
}

#[tokio::test]
async fn effective_settings_are_thread_over_assistant_over_model() {
    let (dir, jan) = open_temp().await;
    let model: ModelFile = serde_json::from_value(json!({
        "id": "base", "engine": "openai",
        "settings": {"ctx_len": 4096, "prompt_template": "{prompt}"},
        "parameters": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 512, "stop": ["</s>"]}
    }))
    .unwrap();
    jan.models().create(model).await.unwrap();
    jan.assistants()
        .create(NewAssistant {
            id: Some("tuned".into()),
            name: "Tuned".into(),
            model: Some("base".into()),
            instructions: Some("Assistant says hi.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // Assistants may carry settings / parameters of their own (kept as extra fields of assistant.json).
    let path = dir.path().join("assistants/tuned/assistant.json");
    let mut raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    raw["parameters"] = json!({"temperature": 0.3, "top_p": 0.8});
    std::fs::write(&path, serde_json::to_vec(&raw).unwrap()).unwrap();

    let t = jan.threads().create(NewThread { assistant_id: Some("tuned".into()), ..Default::default() }).await.unwrap();
    let e = jan.threads().effective_settings(&t.id).await.unwrap();
    assert_eq!(e.model_id.as_deref(), Some("base"), "the assistant's model");
    assert_eq!(e.engine.as_deref(), Some("openai"));
    assert_eq!(e.instructions.as_deref(), Some("Assistant says hi."));
    assert_eq!(e.settings.ctx_len, Some(4096));
    assert_eq!(
        (e.parameters.temperature, e.parameters.top_p, e.parameters.max_tokens),
        (Some(0.3), Some(0.8), Some(512))
    );

    let overrides: ThreadModel = serde_json::from_value(json!({
        "id": "base", "settings": {"ctx_len": 1024}, "parameters": {"temperature": 0.0, "stop": ["###"]}
    }))
    .unwrap();
    jan.threads()
        .update(
            &t.id,
            ThreadUpdate { model: Some(overrides), instructions: Some("Thread says hi.".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let e = jan.threads().effective_settings(&t.id).await.unwrap();
    assert_eq!(e.instructions.as_deref(), Some("Thread says hi."));
    assert_eq!((e.settings.ctx_len, e.settings.prompt_template.as_deref()), (Some(1024), Some("{prompt}")));
    assert_eq!((e.parameters.temperature, e.parameters.top_p), (Some(0.0), Some(0.8)));
    assert_eq!(e.parameters.stop, Some(vec!["###".to_owned()]));
    assert_eq!(e.parameters.max_tokens, Some(512));

    // A thread on "any model" with no model chosen resolves to no model, not an error.
    let any = jan.threads().create(NewThread::default()).await.unwrap();
    let e = jan.threads().effective_settings(&any.id).await.unwrap();
    assert_eq!(e.model_id, None);
}
