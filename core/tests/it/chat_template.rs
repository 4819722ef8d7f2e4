//! Chat templates against the reference: every case in `tests/data/templates/*.expected.json` was rendered by
//! Python's jinja2 configured as Hugging Face's `apply_chat_template` (`ci/gen-template-data.py`), and the Rust
//! render must match it byte for byte. The qwen2.5-coder template comes from the real test model
//! (`ci/fetch-test-models.sh`).

use crate::common;

use std::path::{Path, PathBuf};

use jan_core::gguf::{GgufInfo, GgufValue, ReadOptions, read_info};
use jan_core::inference::ChatMessage;
use jan_core::inference::template::{Capabilities, ChatTemplate, Family, RenderOptions, TemplateSource};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/templates")
}

fn stored_template(name: &str) -> String {
    std::fs::read_to_string(data_dir().join(format!("{name}.jinja"))).unwrap()
}

/// The text of token `key` (e.g. `tokenizer.ggml.bos_token_id`) in the GGUF's vocabulary.
fn special_token(info: &GgufInfo, key: &str) -> String {
    let id = info.get(key).and_then(GgufValue::as_u64).unwrap() as usize;
    match info.get("tokenizer.ggml.tokens") {
        Some(GgufValue::Array(tokens)) => tokens[id].as_str().unwrap().to_owned(),
        other => panic!("no vocabulary: {other:?}"),
    }
}

/// OpenAI clients send tool-call arguments as a JSON string.
fn stringify_arguments(messages: &mut Value) {
    for message in messages.as_array_mut().unwrap() {
        let Some(calls) = message.get_mut("tool_calls").and_then(Value::as_array_mut) else { continue };
        for call in calls {
            let args = &mut call["function"]["arguments"];
            *args = Value::String(serde_json::to_string(args).unwrap());
        }
    }
}

/// Where two strings first differ, with some context around it, for a readable failure.
fn describe_diff(expected: &str, got: &str) -> String {
    let at = expected.bytes().zip(got.bytes()).position(|(a, b)| a != b).unwrap_or(expected.len().min(got.len()));
    let floor = |s: &str, mut i: usize| {
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let window = |s: &str| {
        let start = floor(s, at.saturating_sub(60));
        let end = floor(s, (at + 60).min(s.len()));
        format!("{:?}", &s[start..end])
    };
    format!(
        "first difference at byte {at} (expected {} bytes, got {})\n    expected: ...{}...\n    got:      ...{}...",
        expected.len(),
        got.len(),
        window(expected),
        window(got)
    )
}

/// Renders every case of `NAME.expected.json` with `template` and checks it against the reference; all failures
/// are reported together.
fn check_reference(name: &str, template_text: &str) -> usize {
    let path = data_dir().join(format!("{name}.expected.json"));
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bos = data["bos_token"].as_str().unwrap();
    let eos = data["eos_token"].as_str().unwrap();
    let template = ChatTemplate::from_jinja(template_text, bos, eos).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let case_name = case["name"].as_str().unwrap();
        let mut messages = case["messages"].clone();
        // With "openai_arguments" the reference saw objects, with "arguments_as_strings" the same strings.
        if case["openai_arguments"] == Value::Bool(true) || case["arguments_as_strings"] == Value::Bool(true) {
            stringify_arguments(&mut messages);
        }
        let messages: Vec<ChatMessage> = serde_json::from_value(messages).unwrap();
        let opts = RenderOptions {
            add_generation_prompt: case.get("add_generation_prompt").and_then(Value::as_bool).unwrap_or(true),
            tools: case.get("tools").cloned(),
            kwargs: case.get("kwargs").and_then(Value::as_object).cloned().unwrap_or_default(),
        };
        let got = template.render(&messages, &opts);
        match (case.get("expected").and_then(Value::as_str), case.get("error").and_then(Value::as_str), got) {
            (Some(expected), _, Ok(got)) if got == expected => {}
            (Some(expected), _, Ok(got)) => failures.push(format!("{case_name}: {}", describe_diff(expected, &got))),
            (Some(_), _, Err(e)) => failures.push(format!("{case_name}: expected a render, got error: {e}")),
            (None, Some(error), Err(e)) => {
                if e.code() != "invalid_request" || e.to_string() != error {
                    failures.push(format!(
                        "{case_name}: expected error {error:?}, got {:?} ({})",
                        e.to_string(),
                        e.code()
                    ));
                }
            }
            (None, Some(error), Ok(got)) => {
                failures.push(format!("{case_name}: expected error {error:?}, got a render: {got:?}"))
            }
            (None, None, _) => failures.push(format!("{case_name}: the case has neither expected nor error")),
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} cases differ from jinja2:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn qwen_template_from_the_real_model_matches_jinja2() {
    let info = read_info(&common::test_model("qwen2.5-coder-0.5b-instruct.gguf"), &ReadOptions::full()).unwrap();
    let gguf_template = info.chat_template().unwrap();
    assert_eq!(gguf_template, stored_template("qwen2.5-coder"), "run ci/gen-template-data.py to refresh the data");
    let bos = special_token(&info, "tokenizer.ggml.bos_token_id");
    let eos = special_token(&info, "tokenizer.ggml.eos_token_id");
    assert_eq!((bos.as_str(), eos.as_str()), ("<|endoftext|>", "<|im_end|>"));

    let template = ChatTemplate::select(None, Some(gguf_template), info.architecture().unwrap(), &bos, &eos).unwrap();
    assert_eq!(template.source(), TemplateSource::Gguf);
    assert_eq!(
        template.capabilities(),
        Capabilities { system_role: true, tools: true, tool_calls: true, object_arguments: true }
    );
    // Qwen's template prints no BOS and its GGUF does not ask the tokenizer for one.
    let out = template.render(&[ChatMessage::new("user", "Hi")], &RenderOptions::default()).unwrap();
    assert!(!template.starts_with_bos(&out));
    assert_eq!(info.get("tokenizer.ggml.add_bos_token"), Some(&GgufValue::Bool(false)));

    assert_eq!(check_reference("qwen2.5-coder", gguf_template), 15);
}

#[test]
fn llama_3_2_matches_jinja2() {
    check_reference("llama-3.2-3b-instruct", &stored_template("llama-3.2-3b-instruct"));
}

#[test]
fn gemma_3_matches_jinja2() {
    check_reference("gemma-3-it", &stored_template("gemma-3-it"));
}

#[test]
fn gemma_2_matches_jinja2_with_system_folded() {
    check_reference("gemma-2-2b-it", &stored_template("gemma-2-2b-it"));
    let t = ChatTemplate::from_jinja(&stored_template("gemma-2-2b-it"), "<bos>", "<eos>").unwrap();
    assert!(!t.capabilities().system_role, "Gemma 2 raises on a system message");
}

#[test]
fn mistral_nemo_matches_jinja2() {
    check_reference("mistral-nemo-instruct-2407", &stored_template("mistral-nemo-instruct-2407"));
}

#[test]
fn qwen3_matches_jinja2() {
    check_reference("qwen3-0.6b", &stored_template("qwen3-0.6b"));
    let t = ChatTemplate::from_jinja(&stored_template("qwen3-0.6b"), "", "<|im_end|>").unwrap();
    let caps = t.capabilities();
    assert!(caps.tool_calls && !caps.object_arguments, "Qwen3 prints string arguments as they are: {caps:?}");
}

#[test]
fn llama_3_2_prints_todays_date_and_bos() {
    let t =
        ChatTemplate::from_jinja(&stored_template("llama-3.2-3b-instruct"), "<|begin_of_text|>", "<|eot_id|>").unwrap();
    let out = t.render(&[ChatMessage::new("user", "Hi")], &RenderOptions::default()).unwrap();
    // The date comes from strftime_now("%d %b %Y"), e.g. "26 Jul 2024".
    let line = out.lines().find(|l| l.starts_with("Today Date: ")).unwrap();
    let date: Vec<&str> = line["Today Date: ".len()..].split(' ').collect();
    assert_eq!(date.len(), 3, "{line}");
    assert_eq!(date[0].len(), 2);
    assert!(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].contains(&date[1]));
    assert!(date[2].parse::<u32>().unwrap() >= 2025);
    // The template prints BOS itself: a tokenizer that adds BOS must get the text without it.
    assert!(t.starts_with_bos(&out));
    assert!(t.strip_bos(&out).starts_with("<|start_header_id|>system"));
}

#[test]
fn default_gemma_format_matches_gemma_3_template() {
    let official = ChatTemplate::from_jinja(&stored_template("gemma-3-it"), "<bos>", "<eos>").unwrap();
    let builtin = ChatTemplate::for_family(Family::Gemma, "<bos>", "<eos>").unwrap();
    let conversations = [
        vec![ChatMessage::new("user", "Hi")],
        vec![ChatMessage::new("system", "Be brief."), ChatMessage::new("user", " Hi \n")],
        vec![
            ChatMessage::new("system", "Be brief."),
            ChatMessage::new("user", "Hi"),
            ChatMessage::new("assistant", "Hello!"),
            ChatMessage::new("user", "Why?"),
        ],
    ];
    for messages in &conversations {
        for add_generation_prompt in [true, false] {
            let opts = RenderOptions { add_generation_prompt, ..RenderOptions::default() };
            assert_eq!(builtin.render(messages, &opts).unwrap(), official.render(messages, &opts).unwrap());
        }
    }
}

#[test]
fn gemma_base_model_without_template_gets_the_gemma_format() {
    let info = read_info(&common::test_model("gemma-3-270m-q4_k_m.gguf"), &ReadOptions::full()).unwrap();
    assert_eq!(info.chat_template(), None);
    let bos = special_token(&info, "tokenizer.ggml.bos_token_id");
    let eos = special_token(&info, "tokenizer.ggml.eos_token_id");
    let t = ChatTemplate::select(None, info.chat_template(), info.architecture().unwrap(), &bos, &eos).unwrap();
    assert_eq!(t.source(), TemplateSource::Family(Family::Gemma));
    let messages = [ChatMessage::new("system", "Be brief."), ChatMessage::new("user", "Hi")];
    let out = t.render(&messages, &RenderOptions::default()).unwrap();
    assert_eq!(out, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
    assert!(t.starts_with_bos(&out));
}

#[test]
fn jan_prompt_templates() {
    let chatml =
        "<|im_start|>system\n{system_message}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant";
    // model.json's prompt_template wins over the GGUF's template.
    let t =
        ChatTemplate::select(Some(chatml), Some(&stored_template("qwen2.5-coder")), "qwen2", "", "<|im_end|>").unwrap();
    assert_eq!(t.source(), TemplateSource::PromptTemplate);
    let messages = [
        ChatMessage::new("system", "S"),
        ChatMessage::new("user", "U1"),
        ChatMessage::new("assistant", "A1"),
        ChatMessage::new("user", "U2 {{ x }}"),
    ];
    assert_eq!(
        t.render(&messages, &RenderOptions::default()).unwrap(),
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistantA1<|im_end|>\n\
         <|im_start|>user\nU2 {{ x }}<|im_end|>\n<|im_start|>assistant"
    );
    let opts = RenderOptions { add_generation_prompt: false, ..RenderOptions::default() };
    assert_eq!(t.render(&messages[..2], &opts).unwrap(), "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1");

    let t = ChatTemplate::select(Some("[INST] {prompt} [/INST]"), None, "llama", "<s>", "</s>").unwrap();
    assert_eq!(
        t.render(&messages, &RenderOptions::default()).unwrap(),
        "[INST] S\n\nU1 [/INST]A1[INST] U2 {{ x }} [/INST]"
    );
    assert!(!t.starts_with_bos("[INST]"), "the tokenizer adds BOS for Jan templates");

    let err = ChatTemplate::select(Some("no markers here"), None, "llama", "<s>", "</s>").unwrap_err();
    assert_eq!(err.code(), "invalid_request");
}

#[test]
fn raise_exception_and_syntax_errors_are_invalid_requests() {
    let t = ChatTemplate::from_jinja(&stored_template("gemma-3-it"), "<bos>", "<eos>").unwrap();
    let err = t
        .render(&[ChatMessage::new("assistant", "first"), ChatMessage::new("user", "x")], &RenderOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert_eq!(err.to_string(), "Conversation roles must alternate user/assistant/user/assistant/...");

    let err = ChatTemplate::from_jinja("{% for m in messages %}{{ m.content }", "", "").unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(err.to_string().contains("syntax error"), "{err}");
    assert!(err.to_string().contains("line") || err.to_string().contains(":1)"), "{err}");
}

#[test]
fn undefined_values_render_as_nothing() {
    let t = ChatTemplate::from_jinja(
        "{% for m in messages %}[{{ m.name }}|{{ m.missing }}|{{ undefined_var }}]{% endfor %}{{ tools }}",
        "",
        "",
    )
    .unwrap();
    let out = t.render(&[ChatMessage::new("user", "x")], &RenderOptions::default()).unwrap();
    // `tools` is defined and None when no tools are given, as transformers passes it.
    assert_eq!(out, "[||]None");
}
