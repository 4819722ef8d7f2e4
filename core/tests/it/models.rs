//! Models: import, bare GGUFs, model.json updates that keep unknown fields, remote models, delete.

use crate::common::{open_temp, tiny_gguf};
use jan_core::Event;
use jan_core::models::{ImportMode, ImportRequest, ModelFile, ModelUpdate};
use serde_json::{Value, json};

#[tokio::test]
async fn import_copies_the_file_and_generates_model_json_from_gguf_metadata() {
    let (dir, jan) = open_temp().await;
    let src_dir = tempfile::tempdir().unwrap();
    let src = src_dir.path().join("My Model Q4_K_M.gguf");
    std::fs::write(&src, tiny_gguf("qwen2", "Tiny Qwen", 32768)).unwrap();
    let mut events = jan.subscribe();

    let model = jan.models().import(ImportRequest::copy(&src)).await.unwrap();

    assert_eq!(model.id, "my-model-q4_k_m");
    assert_eq!(model.name, "Tiny Qwen");
    assert_eq!(model.engine, "nitro");
    assert_eq!(model.settings.ctx_len, Some(8192), "capped at the desktop default");
    assert_eq!(model.settings.llama_model_path.as_deref(), Some("My-Model-Q4_K_M.gguf"));
    let gguf = &model.metadata.extra["gguf"];
    assert_eq!(gguf["architecture"], "qwen2");
    assert_eq!(gguf["context_length"], 32768);
    assert_eq!(gguf["quantization"], "Q4_K_M");
    assert_eq!(gguf["parameter_count"], 32);
    assert!(gguf["chat_template"].as_str().unwrap().contains("messages"));
    assert!(src.exists(), "copy leaves the original");
    let folder = dir.path().join("models/my-model-q4_k_m");
    assert_eq!(std::fs::read(folder.join("My-Model-Q4_K_M.gguf")).unwrap(), std::fs::read(&src).unwrap());
    let on_disk: ModelFile = serde_json::from_slice(&std::fs::read(folder.join("model.json")).unwrap()).unwrap();
    assert_eq!(on_disk, model);
    assert_eq!(jan.models().list().await.unwrap(), vec![model.clone()]);
    assert_eq!(jan.models().weights_path(&model.id).await.unwrap(), folder.join("My-Model-Q4_K_M.gguf"));
    assert!(matches!(events.recv().await, Some(Event::ModelUpdated { model_id }) if model_id == model.id));

    // The same id again is a conflict and changes nothing.
    let err = jan.models().import(ImportRequest::copy(&src)).await.unwrap_err();
    assert_eq!(err.code(), "conflict");
}

#[tokio::test]
async fn import_with_move_and_explicit_names() {
    let (dir, jan) = open_temp().await;
    let src = dir.path().join("upload.tmp");
    std::fs::write(&src, tiny_gguf("llama", "", 4096)).unwrap();
    let request = ImportRequest {
        path: src.clone(),
        id: Some("uploaded".into()),
        name: Some("My upload".into()),
        file_name: Some("uploaded.gguf".into()),
        mode: ImportMode::Move,
    };
    let model = jan.models().import(request).await.unwrap();
    assert_eq!((model.id.as_str(), model.name.as_str()), ("uploaded", "My upload"));
    assert_eq!(model.settings.ctx_len, Some(4096));
    assert!(!src.exists(), "moved");
    assert!(dir.path().join("models/uploaded/uploaded.gguf").is_file());
}

#[tokio::test]
async fn import_refuses_what_is_not_a_gguf_and_leaves_nothing() {
    let (dir, jan) = open_temp().await;
    let src = dir.path().join("notes.gguf");
    std::fs::write(&src, b"these are not model weights").unwrap();
    let err = jan.models().import(ImportRequest::copy(&src)).await.unwrap_err();
    assert_eq!(err.code(), "invalid_gguf");
    let mut truncated = tiny_gguf("llama", "x", 1);
    truncated.truncate(truncated.len() - 10);
    std::fs::write(&src, truncated).unwrap();
    assert_eq!(jan.models().import(ImportRequest::copy(&src)).await.unwrap_err().code(), "invalid_gguf");
    assert_eq!(jan.models().import(ImportRequest::copy(dir.path())).await.unwrap_err().code(), "invalid_request");
    assert_eq!(std::fs::read_dir(dir.path().join("models")).unwrap().count(), 0);
    let bad_id = ImportRequest { id: Some("../escape".into()), ..ImportRequest::copy(&src) };
    assert_eq!(jan.models().import(bad_id).await.unwrap_err().code(), "invalid_id");
}

#[tokio::test]
async fn a_bare_gguf_dropped_into_models_gets_a_model_json() {
    let (dir, jan) = open_temp().await;
    let folder = dir.path().join("models/dropped");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("weights.gguf"), tiny_gguf("gemma3", "Dropped Gemma", 32768)).unwrap();
    // And one that is not a GGUF at all: skipped, not fatal.
    std::fs::create_dir_all(dir.path().join("models/junk")).unwrap();
    std::fs::write(dir.path().join("models/junk/junk.gguf"), b"junk").unwrap();

    let models = jan.models().list().await.unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!((models[0].id.as_str(), models[0].name.as_str()), ("dropped", "Dropped Gemma"));
    assert!(folder.join("model.json").is_file(), "written once, like the desktop app");
    assert!(!dir.path().join("models/junk/model.json").exists());
    assert_eq!(jan.models().get("junk").await.unwrap_err().code(), "invalid_gguf");
}

#[tokio::test]
async fn update_keeps_unknown_fields_and_refuses_escaping_paths() {
    let (dir, jan) = open_temp().await;
    let folder = dir.path().join("models/kept");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("kept.gguf"), b"weights").unwrap();
    let original = json!({
        "object": "model", "version": "1.0", "format": "gguf", "id": "kept", "name": "Kept",
        "source_url": "https://example.com/kept.gguf",
        "settings": {"ctx_len": 4096, "llama_model_path": "kept.gguf", "rope_freq_scale": 0.5},
        "parameters": {"temperature": 0.7, "mirostat": 2},
        "metadata": {"author": "me", "tags": ["7B"], "size": 7, "cover": "c.png"},
        "engine": "nitro",
        "x_future": {"a": [1, 2, 3]}
    });
    std::fs::write(folder.join("model.json"), serde_json::to_vec_pretty(&original).unwrap()).unwrap();

    let update: ModelUpdate = serde_json::from_value(json!({
        "name": "Renamed", "settings": {"ctx_len": 2048}, "parameters": {"temperature": 0.1, "stop": ["###"]}
    }))
    .unwrap();
    let model = jan.models().update("kept", update).await.unwrap();
    assert_eq!(model.settings.ctx_len, Some(2048));

    let written: Value = serde_json::from_slice(&std::fs::read(folder.join("model.json")).unwrap()).unwrap();
    let mut expected = original.clone();
    expected["name"] = json!("Renamed");
    expected["settings"]["ctx_len"] = json!(2048);
    expected["parameters"]["temperature"] = json!(0.1);
    expected["parameters"]["stop"] = json!(["###"]);
    assert_eq!(written, expected, "only the updated fields changed");

    let escape: ModelUpdate = serde_json::from_value(json!({"settings": {"llama_model_path": "/etc/passwd"}})).unwrap();
    assert_eq!(jan.models().update("kept", escape).await.unwrap_err().code(), "invalid_id");
    let wrong_type: ModelUpdate = serde_json::from_value(json!({"settings": {"ctx_len": "big"}})).unwrap();
    assert_eq!(jan.models().update("kept", wrong_type).await.unwrap_err().code(), "invalid_request");
    let after: Value = serde_json::from_slice(&std::fs::read(folder.join("model.json")).unwrap()).unwrap();
    assert_eq!(after, expected, "refused updates change nothing");
}

#[tokio::test]
async fn remote_models_are_listed_without_files_and_delete_removes_everything() {
    let (dir, jan) = open_temp().await;
    let remote: ModelFile = serde_json::from_value(json!({
        "id": "gpt-4o-mini", "name": "GPT-4o mini", "engine": "openai", "format": "api",
        "parameters": {"max_tokens": 4096}
    }))
    .unwrap();
    jan.models().create(remote.clone()).await.unwrap();
    assert_eq!(jan.models().create(remote.clone()).await.unwrap_err().code(), "conflict");
    assert_eq!(jan.downloads().start(remote).await.unwrap_err().code(), "invalid_request", "nothing to download");
    let listed = jan.models().list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].is_local());
    assert!(listed[0].created.is_some());

    let mut events = jan.subscribe();
    jan.models().delete("gpt-4o-mini").await.unwrap();
    assert!(!dir.path().join("models/gpt-4o-mini").exists());
    assert!(jan.models().list().await.unwrap().is_empty());
    assert!(matches!(events.recv().await, Some(Event::ModelDeleted { model_id }) if model_id == "gpt-4o-mini"));
    assert_eq!(jan.models().delete("gpt-4o-mini").await.unwrap_err().code(), "model_not_found");
    assert_eq!(jan.models().get("gpt-4o-mini").await.unwrap_err().code(), "model_not_found");
    assert_eq!(jan.models().weights_path("never-existed").await.unwrap_err().code(), "model_not_found");
}

#[tokio::test]
async fn the_catalog_lists_the_test_models_and_popular_instruct_models() {
    let (_dir, jan) = open_temp().await;
    let catalog = jan.models().catalog();
    let ids: Vec<_> = catalog.iter().map(|m| m.id.as_str()).collect();
    for expected in [
        "gemma3-270m-q4_k_m",
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        "llama3.2-1b-instruct-q4_k_m",
        "llama3.2-3b-instruct-q4_k_m",
        "qwen2.5-1.5b-instruct-q4_k_m",
        "qwen2.5-3b-instruct-q4_k_m",
        "qwen2.5-7b-instruct-q4_k_m",
        "gemma3-1b-it-q4_k_m",
        "gemma3-4b-it-q4_k_m",
        "mistral-7b-instruct-v0.3-q4_k_m",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    let qwen = catalog.iter().find(|m| m.id == "qwen2.5-coder-0.5b-instruct-q4_k_m").unwrap();
    assert_eq!(qwen.metadata.size, Some(491_400_064));
    assert_eq!(
        qwen.effective_sources()[0].sha256.as_deref(),
        Some("1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    );
}

#[tokio::test]
async fn uploads_are_staged_in_the_data_folder_and_leave_nothing_when_they_fail() {
    use bytes::Bytes;
    use jan_core::models::UploadRequest;

    let (dir, jan) = open_temp().await;
    let models = dir.path().join("models");
    let leftovers = || std::fs::read_dir(&models).unwrap().filter(|e| e.as_ref().unwrap().file_name() != "x").count();
    let gguf = tiny_gguf("llama", "Uploaded", 2048);
    let chunks: Vec<Result<Bytes, std::io::Error>> = gguf.chunks(100).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let request = UploadRequest { file_name: None, id: Some("up".into()), name: None };
    let model = jan.models().import_upload(request, futures::stream::iter(chunks)).await.unwrap();
    assert_eq!((model.id.as_str(), model.name.as_str()), ("up", "Uploaded"));
    assert!(models.join("up").join("up.gguf").is_file());
    assert_eq!(leftovers(), 1, "only the model's folder: the staging folder is gone");

    // Cut off half-way, empty, unnamed, or not a GGUF: a clear error, and nothing left behind.
    let cut: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::copy_from_slice(&gguf[..50])), Err(std::io::Error::other("connection reset"))];
    let named = || UploadRequest { file_name: Some("cut.gguf".into()), id: None, name: None };
    let e = jan.models().import_upload(named(), futures::stream::iter(cut)).await.unwrap_err();
    assert_eq!(e.code(), "invalid_body", "{e}");
    let none: Vec<Result<Bytes, std::io::Error>> = Vec::new();
    let e = jan.models().import_upload(named(), futures::stream::iter(none)).await.unwrap_err();
    assert_eq!(e.code(), "empty_body");
    let e = jan
        .models()
        .import_upload(UploadRequest::default(), futures::stream::empty::<Result<Bytes, std::io::Error>>())
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.param()), ("missing_field", Some("file_name")));
    let bad: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"not a gguf at all"))];
    let e = jan.models().import_upload(named(), futures::stream::iter(bad)).await.unwrap_err();
    assert_eq!(e.code(), "invalid_gguf");
    let traversal = UploadRequest { file_name: Some("../x.gguf".into()), id: None, name: None };
    let e = jan
        .models()
        .import_upload(traversal, futures::stream::empty::<Result<Bytes, std::io::Error>>())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_id");
    assert_eq!(leftovers(), 1, "{:?}", std::fs::read_dir(&models).unwrap().collect::<Vec<_>>());
}
