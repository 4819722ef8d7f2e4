//! The real test models (`ci/fetch-test-models.sh` puts them in `~/.cache/jan-test-models`): their GGUF
//! metadata as the import reads it.

use crate::common;

use jan_core::gguf::{ReadOptions, read_info};
use jan_core::models::{ImportMode, ImportRequest};

#[test]
fn gemma_metadata() {
    let info = read_info(&common::test_model("gemma-3-270m-q4_k_m.gguf"), &ReadOptions::default()).unwrap();
    assert_eq!(info.architecture(), Some("gemma3"));
    assert_eq!(info.context_length(), Some(32768));
    assert_eq!(info.quantization(), "Q4_K_M");
    assert_eq!(info.chat_template(), None, "the base model has no chat template");
    let params = info.parameter_count();
    assert!((260_000_000..280_000_000).contains(&params), "{params}");
    assert_eq!(info.get("tokenizer.ggml.model").and_then(|v| v.as_str()), Some("llama"));
}

#[test]
fn qwen_metadata() {
    let info = read_info(&common::test_model("qwen2.5-coder-0.5b-instruct.gguf"), &ReadOptions::default()).unwrap();
    assert_eq!(info.architecture(), Some("qwen2"));
    assert_eq!(info.context_length(), Some(32768));
    assert_eq!(info.quantization(), "Q4_K_M");
    assert!(info.chat_template().unwrap().contains("<|im_start|>"));
    // As llama.cpp counts (every tensor): 494M plus the file's separate 136M output matrix.
    assert_eq!(info.parameter_count(), 630_167_424);
    assert_eq!(info.get("tokenizer.ggml.pre").and_then(|v| v.as_str()), Some("qwen2"));
    let types: std::collections::BTreeSet<_> = info.tensors.iter().map(|t| t.type_name()).collect();
    for t in ["Q5_0", "Q8_0", "Q6_K", "F32"] {
        assert!(types.contains(t), "{t} not in {types:?}");
    }
}

#[tokio::test]
async fn both_import_and_list() {
    let (dir, jan) = common::open_temp().await;
    for file in ["gemma-3-270m-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct.gguf"] {
        // A hard link stands in for the user's file so the test does not copy 750 MB.
        let src = dir.path().join(format!("src-{file}"));
        std::fs::hard_link(common::test_model(file), &src)
            .or_else(|_| std::fs::copy(common::test_model(file), &src).map(|_| ()))
            .unwrap();
        let request = ImportRequest { mode: ImportMode::Move, ..ImportRequest::copy(&src) };
        jan.models().import(request).await.unwrap();
    }
    let models = jan.models().list().await.unwrap();
    let summary: Vec<_> = models
        .iter()
        .map(|m| (m.id.as_str(), m.metadata.extra["gguf"]["architecture"].as_str().unwrap(), m.settings.ctx_len))
        .collect();
    assert_eq!(
        summary,
        [("src-gemma-3-270m-q4_k_m", "gemma3", Some(8192)), ("src-qwen2.5-coder-0.5b-instruct", "qwen2", Some(8192))]
    );
    assert_eq!(models[1].name, "Qwen2.5 Coder 0.5B Instruct AWQ", "general.name as the file has it");
    assert_eq!(models[0].metadata.size, Some(253_113_024));
}
