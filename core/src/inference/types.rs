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

/// How the next token is picked. Defaults follow llama.cpp's server.
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

/// A chat completion to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's id (as listed by the models API).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub sampling: SamplingParams,
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
    pub sampling: SamplingParams,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub stop: Vec<String>,
}

/// Why a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End-of-turn / end-of-sequence token, or a stop string.
    Stop,
    /// `max_tokens` reached, or the context is full.
    Length,
    /// The caller stopped it (or went away).
    Cancelled,
}

/// Token counts, as OpenAI reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// Where the time went, as llama.cpp's server reports it (`timings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
pub struct Completion {
    /// All generated text (stop strings excluded).
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    pub timings: Timings,
}

/// One item of a completion stream: text deltas, then exactly one `Done` or `Error`.
#[derive(Debug)]
pub enum StreamItem {
    /// New text (whole UTF-8 characters; never part of a stop string).
    Delta(String),
    Done(Completion),
    Error(crate::Error),
}
