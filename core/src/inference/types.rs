//! What goes into an engine and what comes out, shared by the local (candle) and remote (OpenAI-compatible)
//! engines and by the hosts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One chat turn as the OpenAI API and chat templates see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text (multi-part content is flattened to its text parts by the hosts).
    #[serde(default)]
    pub content: String,
    /// Tool calls an assistant turn made, in OpenAI's shape, passed through to templates and upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    /// For `tool` turns: which call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into(), tool_calls: None, tool_call_id: None, name: None }
    }
}

/// How the next token is picked, every knob resolved: what the local sampler runs with. Defaults follow
/// llama.cpp's server. Requests carry [`SamplingOptions`] instead, which also know what the caller left unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 means greedy (always the most likely token).
    pub temperature: f32,
    /// Keep the k most likely tokens; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability sums to at least p; 1 disables.
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one; 0 disables.
    pub min_p: f32,
    /// Divides positive logits (multiplies negative ones) of tokens seen in the last `repeat_last_n`; 1 disables.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalties look at (0: none).
    pub repeat_last_n: usize,
    /// Subtracted once per occurrence of a token in the window (OpenAI's frequency_penalty).
    pub frequency_penalty: f32,
    /// Subtracted once if a token occurs in the window (OpenAI's presence_penalty).
    pub presence_penalty: f32,
    /// Makes sampling reproducible; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            seed: None,
        }
    }
}

impl SamplingParams {
    /// Always the most likely token, no penalties.
    pub fn greedy() -> Self {
        SamplingParams { temperature: 0.0, ..Default::default() }
    }
}

/// The sampling a request asks for: each knob the caller (or the model's and thread's settings) set, and `None`
/// for what was left unset. A local model fills the gaps with llama.cpp's defaults ([`SamplingOptions::resolve`]);
/// a remote engine sends only what is set, so the upstream's own defaults apply to the rest. The JSON is the same
/// as [`SamplingParams`]'s with every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl SamplingOptions {
    /// Temperature 0 (always the most likely token); nothing else set.
    pub fn greedy() -> Self {
        SamplingOptions { temperature: Some(0.0), ..Default::default() }
    }

    /// The knobs a local model samples with: what is set, llama.cpp's defaults for the rest.
    pub fn resolve(&self) -> SamplingParams {
        let d = SamplingParams::default();
        SamplingParams {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_k: self.top_k.unwrap_or(d.top_k),
            top_p: self.top_p.unwrap_or(d.top_p),
            min_p: self.min_p.unwrap_or(d.min_p),
            repeat_penalty: self.repeat_penalty.unwrap_or(d.repeat_penalty),
            repeat_last_n: self.repeat_last_n.unwrap_or(d.repeat_last_n),
            frequency_penalty: self.frequency_penalty.unwrap_or(d.frequency_penalty),
            presence_penalty: self.presence_penalty.unwrap_or(d.presence_penalty),
            seed: self.seed.or(d.seed),
        }
    }
}

/// Every knob set (the seed only if it is `Some`).
impl From<SamplingParams> for SamplingOptions {
    fn from(p: SamplingParams) -> Self {
        SamplingOptions {
            temperature: Some(p.temperature),
            top_k: Some(p.top_k),
            top_p: Some(p.top_p),
            min_p: Some(p.min_p),
            repeat_penalty: Some(p.repeat_penalty),
            repeat_last_n: Some(p.repeat_last_n),
            frequency_penalty: Some(p.frequency_penalty),
            presence_penalty: Some(p.presence_penalty),
            seed: p.seed,
        }
    }
}

/// A chat completion to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's id (as listed by the models API).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// What the caller set; see [`SamplingOptions`].
    #[serde(default)]
    pub sampling: SamplingOptions,
    /// At most this many new tokens; `None`: until the context is full.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Strings that end the completion; they are never part of the output.
    #[serde(default)]
    pub stop: Vec<String>,
    /// OpenAI tool definitions, passed to the chat template (local) or the upstream (remote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
}

/// A raw-prompt completion (OpenAI's `/v1/completions`): no chat template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub model: String,
    pub prompt: String,
    #[serde(default)]
    pub sampling: SamplingOptions,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub stop: Vec<String>,
}

/// Why a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FinishReason {
    /// End-of-turn / end-of-sequence token, or a stop string.
    Stop,
    /// `max_tokens` reached, or the context is full.
    Length,
    /// The caller stopped it (or went away).
    Cancelled,
    /// The turn ended with calls of the request's tools ([`Completion::tool_calls`]), for the caller to run.
    ToolCalls,
}

impl FinishReason {
    /// The reason a turn that ended normally reports: `tool_calls` when it made calls, else `stop`. `length` and
    /// `cancelled` stay as they are.
    pub fn with_tool_calls(self, made_calls: bool) -> FinishReason {
        match self {
            FinishReason::Stop | FinishReason::ToolCalls if made_calls => FinishReason::ToolCalls,
            FinishReason::ToolCalls => FinishReason::Stop,
            other => other,
        }
    }
}

/// A call of one of the request's tools, in OpenAI's shape: `{"id", "type": "function", "function": {"name",
/// "arguments"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolCall {
    /// `call_<random>` when the model gave none.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

/// Which function a [`ToolCall`] calls, and with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as JSON text, as OpenAI sends them (`{"city":"Paris"}`); not checked against the tool's schema.
    #[serde(default)]
    pub arguments: String,
}

fn function_kind() -> String {
    "function".to_owned()
}

impl ToolCall {
    /// A function call; `id: None` gets a fresh `call_<random>` id.
    pub fn function(id: Option<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        ToolCall {
            id: id.filter(|i| !i.is_empty()).unwrap_or_else(new_call_id),
            kind: function_kind(),
            function: FunctionCall { name: name.into(), arguments: arguments.into() },
        }
    }
}

/// `call_` and 24 random letters and digits, like OpenAI's ids.
pub fn new_call_id() -> String {
    use rand::Rng;
    let random: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(24).map(char::from).collect();
    format!("call_{random}")
}

/// Token counts, as OpenAI reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// Where the time went, as llama.cpp's server reports it (`timings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timings {
    /// Prompt tokens actually processed (the rest came from the KV cache).
    pub prompt_n: u32,
    /// Prompt tokens reused from the KV cache of an earlier request.
    pub cache_n: u32,
    pub prompt_ms: f64,
    pub prompt_per_second: f64,
    pub predicted_n: u32,
    pub predicted_ms: f64,
    pub predicted_per_second: f64,
    /// From the request reaching the engine to its first output token.
    pub time_to_first_token_ms: f64,
    /// Time spent waiting in the queue before the engine took the request.
    pub queued_ms: f64,
}

/// The end of a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Completion {
    /// All generated text (stop strings and tool-call markup excluded).
    pub text: String,
    /// The calls of the request's tools the turn made, in order (finish reason `tool_calls`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    pub timings: Timings,
}

/// One item of a completion stream: text deltas and tool calls, then exactly one `Done` or `Error`.
#[derive(Debug)]
pub enum StreamItem {
    /// New text (whole UTF-8 characters; never part of a stop string or of tool-call markup).
    Delta(String),
    /// A whole tool call, as soon as it is complete; the `n`th of these is `Completion::tool_calls[n]`.
    ToolCall(ToolCall),
    Done(Completion),
    Error(crate::Error),
}
