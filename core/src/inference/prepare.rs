//! One preparation for every request, whichever host it came from: the model's (or thread's) parameters under the
//! request's fields, range checks that name the field, messages and prompts checked and flattened to text. Every
//! mistake is a typed [`Error`] before anything is queued; the prompt's rendering, tokenization and context check
//! follow on the loaded model's [`Prompter`](super::prompt::Prompter), also before the request is queued.

use serde_json::Value;

use super::request::{GenerationFields, InputMessage};
use super::types::{ChatMessage, SamplingOptions};
use crate::error::{Error, ErrorCode, Result};
use crate::models::ModelParameters;

/// Sampling, length and stop strings, every layer merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Resolved {
    pub sampling: SamplingOptions,
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
}

/// A request must name a model.
pub(crate) fn check_model_name(model: &str) -> Result<()> {
    if model.trim().is_empty() {
        return Err(Error::field(ErrorCode::InvalidValue, "model", "`model` must name a model (see GET /v1/models)"));
    }
    Ok(())
}

/// The request's fields over `defaults` (a model.json's parameters, or a thread's effective ones). What neither
/// sets stays unset: a local model then uses llama.cpp's default, a remote upstream its own.
pub(crate) fn resolve(defaults: &ModelParameters, f: &GenerationFields) -> Result<Resolved> {
    if f.n.is_some_and(|n| n != 1) {
        return Err(Error::field(ErrorCode::UnsupportedValue, "n", "only n = 1 is supported"));
    }
    let mut sampling = sampling_from(defaults);
    let set = |slot: &mut Option<f32>, value: Option<f32>, name: &str| -> Result<()> {
        if let Some(v) = value {
            check_range(name, f64::from(v))?;
            *slot = Some(v);
        }
        Ok(())
    };
    set(&mut sampling.temperature, f.temperature, "temperature")?;
    set(&mut sampling.top_p, f.top_p, "top_p")?;
    set(&mut sampling.min_p, f.min_p, "min_p")?;
    set(&mut sampling.presence_penalty, f.presence_penalty, "presence_penalty")?;
    set(&mut sampling.frequency_penalty, f.frequency_penalty, "frequency_penalty")?;
    set(&mut sampling.repeat_penalty, f.repeat_penalty, "repeat_penalty")?;
    if let Some(k) = f.top_k {
        sampling.top_k = Some(usize::try_from(k.max(0)).unwrap_or(0));
    }
    if let Some(n) = f.repeat_last_n {
        sampling.repeat_last_n = Some(usize::try_from(n.max(0)).unwrap_or(0));
    }
    if let Some(seed) = f.seed {
        // llama.cpp's convention: a negative seed asks for a random one.
        sampling.seed = u64::try_from(seed).ok();
    }
    let max_tokens = match f.max_completion_tokens.or(f.max_tokens) {
        Some(0) => {
            let name = if f.max_completion_tokens.is_some() { "max_completion_tokens" } else { "max_tokens" };
            return Err(Error::field(ErrorCode::InvalidValue, name, format!("`{name}` must be at least 1")));
        }
        Some(n) => Some(n),
        None => defaults.max_tokens.map(|m| m.min(u64::from(u32::MAX)) as u32),
    };
    let stop = match &f.stop {
        None | Some(Value::Null) => defaults.stop.clone().unwrap_or_default(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(stop_type_error)?,
        Some(_) => return Err(stop_type_error()),
    };
    let stop = stop.into_iter().filter(|s| !s.is_empty()).collect();
    Ok(Resolved { sampling, max_tokens, stop })
}

/// The ranges of the sampling parameters, the same for a request's fields and for the parameters saved in a
/// thread (the UI's panel checks the same ones).
pub(crate) const RANGES: &[(&str, f64, f64)] = &[
    ("temperature", 0.0, 2.0),
    ("top_p", 0.0, 1.0),
    ("min_p", 0.0, 1.0),
    ("presence_penalty", -2.0, 2.0),
    ("frequency_penalty", -2.0, 2.0),
    ("repeat_penalty", 0.0, 10.0),
];

/// The smallest context a thread may ask for: below it the template and a short question do not fit.
pub(crate) const MIN_CTX_LEN: u64 = 256;

fn check_range(name: &str, v: f64) -> Result<()> {
    let Some(&(_, min, max)) = RANGES.iter().find(|(n, ..)| *n == name) else { return Ok(()) };
    if v.is_finite() && (min..=max).contains(&v) {
        return Ok(());
    }
    Err(Error::field(ErrorCode::InvalidValue, name, format!("`{name}` must be between {min} and {max}, not {v}")))
}

/// Checks parameters about to be saved (a thread's): the ranges a request's fields must keep, and at least one
/// token. A value nobody could use is refused when it is saved, not at the next reply.
pub(crate) fn check_parameters(p: &ModelParameters) -> Result<()> {
    let named = [
        ("temperature", p.temperature),
        ("top_p", p.top_p),
        ("presence_penalty", p.presence_penalty),
        ("frequency_penalty", p.frequency_penalty),
    ];
    for (name, value) in named {
        value.map_or(Ok(()), |v| check_range(name, v))?;
    }
    for name in ["min_p", "repeat_penalty"] {
        match p.extra.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let v = v
                    .as_f64()
                    .ok_or_else(|| Error::field(ErrorCode::InvalidType, name, format!("`{name}` must be a number")))?;
                check_range(name, v)?;
            }
        }
    }
    if p.max_tokens == Some(0) {
        return Err(Error::field(ErrorCode::InvalidValue, "max_tokens", "`max_tokens` must be at least 1"));
    }
    Ok(())
}

fn stop_type_error() -> Error {
    Error::field(ErrorCode::InvalidType, "stop", "`stop` must be a string or an array of strings")
}

/// Sampling from Jan's model / thread parameters: what they set is set; what they leave out stays unset.
pub(crate) fn sampling_from(p: &ModelParameters) -> SamplingOptions {
    let int = |k: &str| p.extra.get(k).and_then(Value::as_u64);
    let float = |k: &str| p.extra.get(k).and_then(Value::as_f64).map(|v| v as f32);
    SamplingOptions {
        temperature: p.temperature.map(|t| t as f32),
        top_k: p.top_k.map(|k| k as usize),
        top_p: p.top_p.map(|v| v as f32),
        min_p: float("min_p"),
        repeat_penalty: float("repeat_penalty"),
        repeat_last_n: int("repeat_last_n").map(|v| v as usize),
        frequency_penalty: p.frequency_penalty.map(|v| v as f32),
        presence_penalty: p.presence_penalty.map(|v| v as f32),
        seed: int("seed"),
    }
}

/// A chat's messages as the templates and upstreams take them: roles checked (`developer` reads as `system`),
/// content flattened to its text parts. `None` is a missing `messages`.
pub(crate) fn chat_messages(messages: Option<&[InputMessage]>) -> Result<Vec<ChatMessage>> {
    let messages =
        messages.ok_or_else(|| Error::field(ErrorCode::MissingField, "messages", "`messages` is required"))?;
    if messages.is_empty() {
        return Err(Error::field(ErrorCode::InvalidValue, "messages", "`messages` must hold at least one message"));
    }
    messages.iter().enumerate().map(|(i, m)| chat_message(i, m)).collect()
}

fn chat_message(i: usize, m: &InputMessage) -> Result<ChatMessage> {
    let role = match m.role.as_str() {
        "system" | "developer" => "system",
        "user" => "user",
        "assistant" => "assistant",
        "tool" => "tool",
        other => {
            return Err(Error::field(
                ErrorCode::InvalidValue,
                format!("messages[{i}].role"),
                format!("messages[{i}].role must be system, developer, user, assistant or tool, not '{other}'"),
            ));
        }
    };
    let content = match &m.content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut text = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                match (part.get("type").and_then(Value::as_str), part.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(t)) => text.push(t),
                    (Some("text"), None) => {
                        let param = format!("messages[{i}].content[{j}].text");
                        return Err(Error::field(ErrorCode::InvalidType, &param, format!("{param} must be a string")));
                    }
                    (kind, _) => {
                        return Err(Error::field(
                            ErrorCode::UnsupportedContent,
                            format!("messages[{i}].content[{j}]"),
                            format!(
                                "messages[{i}].content[{j}] is of type '{}'; only text parts are supported",
                                kind.unwrap_or("?")
                            ),
                        ));
                    }
                }
            }
            text.join("\n")
        }
        Some(_) => {
            return Err(Error::field(
                ErrorCode::InvalidType,
                format!("messages[{i}].content"),
                format!("messages[{i}].content must be a string or an array of content parts"),
            ));
        }
    };
    Ok(ChatMessage {
        role: role.to_owned(),
        content,
        tool_calls: m.tool_calls.clone().filter(|c| !c.is_null()),
        tool_call_id: m.tool_call_id.clone(),
        name: m.name.clone(),
    })
}

/// A text completion's prompt: a string, or an array of one string.
pub(crate) fn prompt_text(prompt: Option<&Value>) -> Result<String> {
    match prompt {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            Ok(items[0].as_str().unwrap_or_default().to_owned())
        }
        Some(Value::Array(_)) => Err(Error::field(
            ErrorCode::UnsupportedValue,
            "prompt",
            "`prompt` must be a string (or an array of one string)",
        )),
        Some(_) => Err(Error::field(ErrorCode::InvalidType, "prompt", "`prompt` must be a string")),
        None => Err(Error::field(ErrorCode::MissingField, "prompt", "`prompt` is required")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(value: Value) -> Result<Vec<ChatMessage>> {
        let input: Vec<InputMessage> = serde_json::from_value(value).unwrap_or_default();
        chat_messages(Some(&input))
    }

    #[test]
    fn content_parts_flatten_to_text_and_bad_roles_are_named() {
        let out = messages(json!([
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "1"}]},
        ]))
        .unwrap_or_default();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].role, "system");
        assert_eq!(out[1].content, "a\nb");
        assert!(out[2].tool_calls.is_some());

        let err = messages(json!([{"role": "wizard", "content": "x"}])).unwrap_err();
        assert_eq!((err.code(), err.param()), (ErrorCode::InvalidValue, Some("messages[0].role")));
        let err = messages(json!([{"role": "user", "content": [{"type": "image_url"}]}])).unwrap_err();
        assert_eq!(err.code(), "unsupported_content");
        assert_eq!(chat_messages(None).unwrap_err().code(), "missing_field");
        assert_eq!(chat_messages(Some(&[])).unwrap_err().code(), "invalid_value");
    }

    #[test]
    fn request_fields_override_the_model_and_are_checked() {
        let defaults: ModelParameters =
            serde_json::from_value(json!({"temperature": 0.2, "max_tokens": 50, "stop": ["<end>"], "min_p": 0.1}))
                .unwrap_or_default();
        let r = resolve(&defaults, &GenerationFields::default()).unwrap_or_default();
        assert_eq!((r.sampling.temperature, r.sampling.min_p), (Some(0.2), Some(0.1)));
        assert_eq!((r.max_tokens, r.stop.as_slice()), (Some(50), ["<end>".to_owned()].as_slice()));
        assert_eq!(r.sampling.top_p, None, "unset stays unset");

        let f = GenerationFields {
            temperature: Some(0.0),
            max_completion_tokens: Some(7),
            max_tokens: Some(9),
            stop: Some(json!("x")),
            seed: Some(-1),
            top_k: Some(-5),
            ..Default::default()
        };
        let r = resolve(&defaults, &f).unwrap_or_default();
        assert_eq!((r.sampling.temperature, r.max_tokens), (Some(0.0), Some(7)));
        assert_eq!((r.sampling.seed, r.sampling.top_k), (None, Some(0)));
        assert_eq!(r.stop, ["x"]);

        let bad = |f: GenerationFields| resolve(&defaults, &f).unwrap_err();
        let e = bad(GenerationFields { temperature: Some(3.0), ..Default::default() });
        assert_eq!((e.code(), e.param()), (ErrorCode::InvalidValue, Some("temperature")));
        assert!(e.to_string().contains("between 0 and 2"), "{e}");
        assert_eq!(bad(GenerationFields { top_p: Some(f32::NAN), ..Default::default() }).param(), Some("top_p"));
        assert_eq!(bad(GenerationFields { max_tokens: Some(0), ..Default::default() }).param(), Some("max_tokens"));
        assert_eq!(bad(GenerationFields { n: Some(2), ..Default::default() }).code(), "unsupported_value");
        assert_eq!(bad(GenerationFields { stop: Some(json!([1])), ..Default::default() }).code(), "invalid_type");
    }

    #[test]
    fn prompts_are_one_string() {
        assert_eq!(prompt_text(Some(&json!(["a"]))).unwrap_or_default(), "a");
        assert_eq!(prompt_text(Some(&json!(["a", "b"]))).unwrap_err().code(), "unsupported_value");
        assert_eq!(prompt_text(Some(&json!(3))).unwrap_err().code(), "invalid_type");
        assert_eq!(prompt_text(None).unwrap_err().code(), "missing_field");
    }
}
