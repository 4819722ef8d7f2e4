//! OpenAI's JSON: the request bodies we send, and what we read out of the chunks we get back.
//!
//! Bodies are typed (so that `f32` sampling values serialize as `0.8`, not `0.800000011920929`); replies are read
//! from `serde_json::Value` field by field, so that one odd field from a "compatible" server (a `null` where
//! OpenAI puts a list, content as a list of parts, a float token count) costs that field, not the chunk.

use serde::Serialize;
use serde_json::Value;

use crate::inference::types::{ChatMessage, ChatRequest, CompletionRequest, FinishReason, SamplingOptions, Usage};

/// A request body: the model, the chat or prompt input, and the parameters.
#[derive(Debug, Serialize)]
pub(super) struct Body<'a, I> {
    model: &'a str,
    #[serde(flatten)]
    input: I,
    #[serde(flatten)]
    pub params: Params<'a>,
}

/// `/chat/completions` input.
#[derive(Debug, Serialize)]
pub(super) struct ChatInput<'a> {
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a Value>,
}

/// `/completions` input.
#[derive(Debug, Serialize)]
pub(super) struct PromptInput<'a> {
    prompt: &'a str,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'a str,
    /// `null` for an assistant turn that only called tools (OpenAI's shape for it).
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The parameters; each optional one can be dropped when an upstream refuses it (see [`Params::drop_param`]).
#[derive(Debug, Serialize)]
pub(super) struct Params<'a> {
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f32>,
}

/// Parameters an upstream may refuse and that we can do without (tools and messages never are).
pub(super) const DROPPABLE: [&str; 9] = [
    "stream_options",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
];

impl<'a> Params<'a> {
    /// OpenAI's parameters from ours: only what the request set (`temperature`, `top_p`, `seed`, the penalties,
    /// `max_tokens`; `stop` when not empty), so the upstream's own defaults apply to the rest. Never sent (no
    /// OpenAI equivalent, and OpenAI refuses them): `top_k`, `min_p`, `repeat_penalty`, `repeat_last_n`.
    fn new(s: &SamplingOptions, max_tokens: Option<u32>, stop: &'a [String]) -> Self {
        Params {
            stream: true,
            stream_options: Some(StreamOptions { include_usage: true }),
            temperature: s.temperature,
            top_p: s.top_p,
            max_tokens,
            max_completion_tokens: None,
            stop: (!stop.is_empty()).then_some(stop),
            seed: s.seed,
            presence_penalty: s.presence_penalty,
            frequency_penalty: s.frequency_penalty,
        }
    }

    /// Stops sending `name` (one of [`DROPPABLE`]); `max_tokens` becomes `max_completion_tokens`, which OpenAI's
    /// reasoning models require. `false` if there was nothing to drop.
    pub(super) fn drop_param(&mut self, name: &str) -> bool {
        fn clear<T>(field: &mut Option<T>) -> bool {
            field.take().is_some()
        }
        match name {
            "stream_options" => clear(&mut self.stream_options),
            "temperature" => clear(&mut self.temperature),
            "top_p" => clear(&mut self.top_p),
            "max_tokens" => match self.max_tokens.take() {
                Some(n) => {
                    self.max_completion_tokens = Some(n);
                    true
                }
                None => false,
            },
            "max_completion_tokens" => clear(&mut self.max_completion_tokens),
            "stop" => clear(&mut self.stop),
            "seed" => clear(&mut self.seed),
            "presence_penalty" => clear(&mut self.presence_penalty),
            "frequency_penalty" => clear(&mut self.frequency_penalty),
            _ => false,
        }
    }
}

pub(super) fn chat_body(r: &ChatRequest) -> Body<'_, ChatInput<'_>> {
    let messages = r.messages.iter().map(wire_message).collect();
    Body {
        model: &r.model,
        input: ChatInput { messages, tools: r.tools.as_ref() },
        params: Params::new(&r.sampling, r.max_tokens, &r.stop),
    }
}

pub(super) fn completion_body(r: &CompletionRequest) -> Body<'_, PromptInput<'_>> {
    Body {
        model: &r.model,
        input: PromptInput { prompt: &r.prompt },
        params: Params::new(&r.sampling, r.max_tokens, &r.stop),
    }
}

fn wire_message(m: &ChatMessage) -> WireMessage<'_> {
    let calls_only = m.content.is_empty() && m.tool_calls.as_ref().is_some_and(|c| !c.is_null());
    WireMessage {
        role: &m.role,
        content: (!calls_only).then_some(m.content.as_str()),
        tool_calls: m.tool_calls.as_ref().filter(|c| !c.is_null()),
        tool_call_id: m.tool_call_id.as_deref(),
        name: m.name.as_deref(),
    }
}

/// The choice we follow (index 0; we never ask for more than one).
pub(super) fn first_choice(chunk: &Value) -> Option<&Value> {
    let choices = chunk.get("choices")?.as_array()?;
    choices.iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

/// A choice's new text: `delta.content` (chat stream), `message.content` (chat, not streamed) or `text`
/// (`/completions`). Content given as a list of parts keeps its text parts.
pub(super) fn choice_text(choice: &Value) -> Option<String> {
    let content = choice
        .pointer("/delta/content")
        .or_else(|| choice.pointer("/message/content"))
        .or_else(|| choice.get("text"))?;
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            Some(parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().concat())
        }
        _ => None,
    }
}

/// A piece of a tool call: a streamed fragment (`delta.tool_calls[]`: the first has the id and name, the rest
/// pieces of the arguments) or a whole call (`message.tool_calls[]`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct CallFragment {
    /// Which call it belongs to; `None` when the upstream leaves it out.
    pub index: Option<usize>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// A choice's tool-call pieces: `delta.tool_calls` (streamed), `message.tool_calls` (not streamed; each entry a
/// whole call, numbered by position), or the older single `function_call`. Entries of another type than
/// `function` are skipped.
pub(super) fn tool_call_fragments(choice: &Value) -> Vec<CallFragment> {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let fragment = |entry: &Value, position: Option<usize>| -> Option<CallFragment> {
        let kind = entry.get("type").and_then(Value::as_str).unwrap_or("function");
        if kind != "function" {
            return None;
        }
        let function = entry.get("function").unwrap_or(entry);
        let index = entry.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok()).or(position);
        Some(CallFragment {
            index,
            id: entry.get("id").and_then(Value::as_str).filter(|i| !i.is_empty()).map(str::to_owned),
            name: function.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_owned),
            arguments: text(function.get("arguments")),
        })
    };
    if let Some(list) = choice.pointer("/delta/tool_calls").and_then(Value::as_array) {
        return list.iter().filter_map(|e| fragment(e, None)).collect();
    }
    if let Some(list) = choice.pointer("/message/tool_calls").and_then(Value::as_array) {
        return list.iter().enumerate().filter_map(|(i, e)| fragment(e, Some(i))).collect();
    }
    let legacy = choice.pointer("/delta/function_call").or_else(|| choice.pointer("/message/function_call"));
    legacy
        .filter(|f| f.is_object())
        .and_then(|f| fragment(&serde_json::json!({"function": f}), Some(0)))
        .into_iter()
        .collect()
}

/// OpenAI's `finish_reason` as ours. `length` (and the names other servers use for it) is `Length`;
/// `tool_calls` and `function_call` are `ToolCalls`; `stop`, `content_filter` and anything unknown end the turn
/// normally: `Stop`. (Whether calls were really made decides in the end: see [`FinishReason::with_tool_calls`].)
pub(super) fn finish_reason(choice: &Value) -> Option<FinishReason> {
    match choice.get("finish_reason")?.as_str()? {
        "length" | "max_tokens" | "model_length" => Some(FinishReason::Length),
        "tool_calls" | "function_call" => Some(FinishReason::ToolCalls),
        "content_filter" => {
            tracing::warn!("the upstream's content filter ended the answer");
            Some(FinishReason::Stop)
        }
        _ => Some(FinishReason::Stop),
    }
}

/// `usage` and the prompt tokens served from the upstream's cache, when the chunk has them.
pub(super) fn usage(chunk: &Value) -> Option<(Usage, u32)> {
    let u = chunk.get("usage").filter(|u| u.is_object())?;
    let count = |v: Option<&Value>| -> Option<u32> {
        let v = v?;
        let n = v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))?;
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    };
    let prompt_tokens = count(u.get("prompt_tokens")).unwrap_or(0);
    let completion_tokens = count(u.get("completion_tokens")).unwrap_or(0);
    let total_tokens = count(u.get("total_tokens")).unwrap_or(prompt_tokens.saturating_add(completion_tokens));
    let cached = count(u.pointer("/prompt_tokens_details/cached_tokens")).unwrap_or(0);
    Some((Usage { prompt_tokens, completion_tokens, total_tokens }, cached))
}

/// llama.cpp's server (a common upstream) adds its own `timings` to the last chunk; the fields it has.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct UpstreamTimings {
    pub prompt_n: Option<u32>,
    pub cache_n: Option<u32>,
    pub prompt_ms: Option<f64>,
    pub prompt_per_second: Option<f64>,
    pub predicted_n: Option<u32>,
    pub predicted_ms: Option<f64>,
    pub predicted_per_second: Option<f64>,
}

pub(super) fn upstream_timings(chunk: &Value) -> Option<UpstreamTimings> {
    let t = chunk.get("timings").filter(|t| t.is_object())?;
    let f = |k: &str| t.get(k).and_then(Value::as_f64).filter(|x| x.is_finite() && *x >= 0.0);
    let n = |k: &str| t.get(k).and_then(Value::as_u64).map(|x| u32::try_from(x).unwrap_or(u32::MAX));
    Some(UpstreamTimings {
        prompt_n: n("prompt_n"),
        cache_n: n("cache_n"),
        prompt_ms: f("prompt_ms"),
        prompt_per_second: f("prompt_per_second"),
        predicted_n: n("predicted_n"),
        predicted_ms: f("predicted_ms"),
        predicted_per_second: f("predicted_per_second"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_serialize_short_and_unset_or_unknown_parameters_are_left_out() {
        let r = ChatRequest {
            model: "m".into(),
            messages: vec![ChatMessage::new("user", "hi")],
            sampling: SamplingOptions {
                temperature: Some(0.8),
                top_k: Some(40),
                min_p: Some(0.05),
                ..Default::default()
            },
            max_tokens: None,
            stop: vec![],
            tools: None,
        };
        let body = serde_json::to_string(&chat_body(&r)).unwrap_or_default();
        assert!(body.contains("\"temperature\":0.8"), "{body}");
        for absent in ["top_p", "max_tokens", "stop", "seed", "penalty", "tools", "top_k", "min_p"] {
            assert!(!body.contains(absent), "{absent} in {body}");
        }
    }

    #[test]
    fn tool_call_pieces() {
        let streamed = json!({"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}},
            {"index": 1, "function": {"arguments": "{\"x\""}},
            {"type": "code_interpreter", "code_interpreter": {}},
        ]}});
        let pieces = tool_call_fragments(&streamed);
        assert_eq!(pieces.len(), 2);
        assert_eq!(
            pieces[0],
            CallFragment {
                index: Some(1),
                id: Some("call_a".into()),
                name: Some("f".into()),
                arguments: Some(String::new())
            }
        );
        assert_eq!(pieces[1].arguments.as_deref(), Some("{\"x\""));
        let whole = json!({"message": {"tool_calls": [
            {"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}, {"id": "b", "function": {"name": "g"}},
        ]}});
        let pieces = tool_call_fragments(&whole);
        assert_eq!(pieces.iter().map(|p| p.index).collect::<Vec<_>>(), [Some(0), Some(1)]);
        assert_eq!(pieces[0].arguments.as_deref(), Some("{\"x\":1}"));
        let legacy = json!({"delta": {"function_call": {"name": "f", "arguments": "{}"}}});
        assert_eq!(tool_call_fragments(&legacy)[0].name.as_deref(), Some("f"));
        assert!(tool_call_fragments(&json!({"delta": {"content": "x", "tool_calls": null}})).is_empty());
    }

    #[test]
    fn dropping_max_tokens_moves_it() {
        let r = CompletionRequest {
            model: "m".into(),
            prompt: "p".into(),
            sampling: SamplingOptions::default(),
            max_tokens: Some(5),
            stop: vec![],
        };
        let mut body = completion_body(&r);
        assert!(body.params.drop_param("max_tokens"));
        assert!(!body.params.drop_param("max_tokens"));
        let v = serde_json::to_value(&body).unwrap_or_default();
        assert_eq!(v["max_completion_tokens"], json!(5));
        assert!(v.get("max_tokens").is_none());
    }

    #[test]
    fn reads_odd_chunks() {
        let c =
            json!({"choices": [{"index": 0, "delta": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]});
        assert_eq!(first_choice(&c).and_then(choice_text).as_deref(), Some("ab"));
        let c = json!({"choices": null, "usage": {"prompt_tokens": 3, "completion_tokens": 2.0}});
        assert!(first_choice(&c).is_none());
        assert_eq!(usage(&c).map(|u| u.0), Some(Usage { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }));
        assert!(usage(&json!({"usage": null})).is_none());
    }
}
