//! The remote engine (Jan's `openai` engine): chat with any OpenAI-compatible upstream (OpenAI, Groq, Mistral,
//! OpenRouter, a llama.cpp / vLLM / Ollama / LM Studio server...) given its base URL and an API key.
//!
//! Requests always stream (`stream: true`, `stream_options.include_usage`). The answer's text is forwarded
//! delta by delta through the [`CompletionSender`] and ends with one `Done` (or one `Error`), like a local
//! model's. Stopping drops the HTTP response at once, which closes the upstream connection (HTTP/1.1) or resets
//! the stream (HTTP/2), so the upstream stops generating (and billing).
//!
//! How an answer ends:
//! - `data: [DONE]`, or the body ending after a chunk carried a `finish_reason`: `Done`. Without a usage chunk
//!   (an upstream that ignores `stream_options`), token counts are 0: we do not guess them.
//! - The body ending cleanly with neither: `Error::Upstream { status: None, "the answer ended early..." }`.
//!   The deltas already sent stay sent; the caller keeps them as a partial answer.
//! - The connection breaking, or nothing arriving for [`RemoteConfig::idle_timeout`]: `Error::Network`.
//! - An error event inside the stream (`data: {"error": ...}`): `Error::Upstream` with the upstream's message.
//!
//! An upstream that refuses a parameter with a 400 ("Unknown parameter: 'stream_options'", OpenAI's reasoning
//! models on `temperature` or `max_tokens`) is asked again without it (`max_tokens` becomes
//! `max_completion_tokens`), and the engine remembers that for the model. Tools and messages are never dropped.
//!
//! Only the sampling parameters the request set are sent ([`crate::inference::SamplingOptions`]); the upstream's
//! own defaults apply to the rest.
//!
//! Tool calls: streamed `delta.tool_calls` fragments are put together by their `index` (an upstream that leaves
//! the index out starts a new call with each new `id`), a non-streamed `message.tool_calls` is taken whole, and
//! the older `function_call` is call 0. The calls go out as [`StreamItem::ToolCall`] items when the answer ends,
//! before `Done`, whose finish reason is then `tool_calls`. Not carried yet: reasoning text.

mod errors;
mod sse;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use self::errors::{Redactor, Refusal};
use self::sse::{SseDecoder, SseEvent};
use self::wire::{Body, CallFragment, UpstreamTimings};
use super::stream::CompletionSender;
use super::types::{ChatRequest, Completion, CompletionRequest, FinishReason, StreamItem, Timings, ToolCall, Usage};
use crate::error::{Error, Result};

/// The most an error body or a non-streamed answer is read into memory.
const MAX_ERROR_BODY: usize = 64 * 1024;
const MAX_JSON_BODY: usize = 32 * 1024 * 1024;
/// How many refused parameters one request may drop before its error is reported.
const MAX_ADAPTATIONS: usize = 4;

/// Where the upstream is and how to talk to it.
#[derive(Clone)]
pub struct RemoteConfig {
    /// The API's base, e.g. `https://api.openai.com/v1`; requests go to `{base}/chat/completions`,
    /// `{base}/completions`, `{base}/models`. A trailing `/` or `/chat/completions` (Jan's settings store the
    /// full endpoint) is tolerated; a query string (e.g. Azure's `?api-version=`) is kept on every request.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`; `None` or empty sends no `Authorization` header (local servers).
    pub api_key: Option<String>,
    /// The longest wait for the upstream to start answering (connect, TLS, response headers). The client's own
    /// `connect_timeout`, if shorter, applies too.
    pub response_timeout: Duration,
    /// The longest silence while an answer streams before the request fails with a network error (reasoning
    /// models can think for minutes before their first chunk).
    pub idle_timeout: Duration,
    /// Headers sent on every request, e.g. Azure's `api-key`, OpenRouter's `HTTP-Referer`. `Authorization` from
    /// `api_key` wins over one given here.
    pub extra_headers: Vec<(String, String)>,
}

impl RemoteConfig {
    /// A config with the default timeouts (2 minutes to start answering, 5 minutes of silence), no key.
    pub fn new(base_url: impl Into<String>) -> Self {
        RemoteConfig {
            base_url: base_url.into(),
            api_key: None,
            response_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(300),
            extra_headers: Vec::new(),
        }
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    pub fn with_timeouts(mut self, response: Duration, idle: Duration) -> Self {
        self.response_timeout = response;
        self.idle_timeout = idle;
        self
    }
}

impl fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("base_url", &self.base_url.split_once('?').map_or(self.base_url.as_str(), |(base, _)| base))
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("response_timeout", &self.response_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("extra_headers", &self.extra_headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish()
    }
}

/// An OpenAI-compatible upstream. Cheap to clone; clones share the HTTP client and what was learnt about
/// parameters the upstream refuses.
#[derive(Clone)]
pub struct RemoteEngine {
    http: reqwest::Client,
    base: Url,
    /// `host[:port]`, for messages and logs (the full URL may carry secrets in its query).
    host: String,
    headers: HeaderMap,
    has_key: bool,
    redactor: Redactor,
    response_timeout: Duration,
    idle_timeout: Duration,
    /// Parameters each model's upstream refused, left out of later requests.
    refused_params: Arc<Mutex<HashMap<String, Vec<&'static str>>>>,
}

impl fmt::Debug for RemoteEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEngine").field("host", &self.host).field("has_key", &self.has_key).finish_non_exhaustive()
    }
}

impl RemoteEngine {
    /// Checks the config (an http(s) URL without credentials; header names and values HTTP can carry).
    pub fn new(config: RemoteConfig, http: reqwest::Client) -> Result<RemoteEngine> {
        let base = parse_base(&config.base_url)?;
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        let key = config.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty());
        let mut headers = HeaderMap::new();
        for (name, value) in &config.extra_headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| Error::InvalidRequest(format!("'{name}' is not a valid HTTP header name")))?;
            let mut value = HeaderValue::from_str(value.trim())
                .map_err(|_| Error::InvalidRequest(format!("the value of header '{name}' is not valid in HTTP")))?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        if let Some(key) = key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| Error::InvalidRequest("the API key has characters HTTP cannot carry".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(RemoteEngine {
            http,
            base,
            host,
            headers,
            has_key: key.is_some(),
            redactor: Redactor::new(key),
            response_timeout: config.response_timeout,
            idle_timeout: config.idle_timeout,
            refused_params: Arc::default(),
        })
    }

    /// Streams a chat completion from `{base}/chat/completions` into `out`: deltas, then one `Done` or `Error`.
    /// Returns when the answer is over, failed, or was stopped (then `Done` with `FinishReason::Cancelled` and
    /// the text so far, if the consumer still listens).
    pub async fn chat(&self, request: &ChatRequest, out: CompletionSender) {
        let body = wire::chat_body(request);
        self.run(&request.model, "chat/completions", body, out).await;
    }

    /// Streams a raw-prompt completion from `{base}/completions` (OpenAI's legacy text completions, still served
    /// by llama.cpp, vLLM and others), exactly like [`RemoteEngine::chat`].
    pub async fn complete(&self, request: &CompletionRequest, out: CompletionSender) {
        let body = wire::completion_body(request);
        self.run(&request.model, "completions", body, out).await;
    }

    /// The ids of the models the upstream serves (`GET {base}/models`, `data[].id`), in its order.
    pub async fn list_models(&self) -> Result<Vec<String>> {
        let url = self.endpoint("models");
        let fetch = async {
            let response =
                self.http.get(url).headers(self.headers.clone()).send().await.map_err(|e| self.network(e))?;
            if !response.status().is_success() {
                return Err(errors::refused(&self.refusal(response).await, self.has_key, &self.redactor));
            }
            let mut body = response.bytes_stream();
            let bytes = read_capped(&mut body, MAX_JSON_BODY).await.map_err(|e| self.network(e))?;
            parse_models(&bytes)
        };
        match tokio::time::timeout(self.response_timeout, fetch).await {
            Ok(result) => result,
            Err(_) => Err(self.silent(self.response_timeout)),
        }
    }

    async fn run<I: Serialize>(&self, model: &str, path: &str, mut body: Body<'_, I>, out: CompletionSender) {
        let started = Instant::now();
        tracing::debug!(host = %self.host, model, path, "remote completion");
        let mut answer = Answer::new(started);
        let ended = tokio::select! {
            biased;
            _ = out.cancelled() => Ok(FinishReason::Cancelled),
            ended = self.answer(model, path, &mut body, &out, &mut answer) => ended,
        };
        let item = match ended {
            Ok(reason) => {
                let completion = answer.into_completion(reason);
                if reason != FinishReason::Cancelled {
                    for call in &completion.tool_calls {
                        let _ = out.send(StreamItem::ToolCall(call.clone())).await;
                    }
                }
                StreamItem::Done(completion)
            }
            Err(e) => {
                tracing::debug!(host = %self.host, model, error = %e, "remote completion failed");
                StreamItem::Error(e)
            }
        };
        // The response is dropped by now; the consumer may be gone too, and that is fine.
        let _ = out.send(item).await;
    }

    /// Sends the request and reads the answer into `answer`, forwarding its deltas. Dropped (with the response)
    /// the moment the request is cancelled.
    async fn answer<I: Serialize>(
        &self,
        model: &str,
        path: &str,
        body: &mut Body<'_, I>,
        out: &CompletionSender,
        answer: &mut Answer,
    ) -> Result<FinishReason> {
        let response = self.open(model, path, body).await?;
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim_start().starts_with("application/json"));
        let mut stream = response.bytes_stream();
        if is_json {
            // The upstream ignored `stream: true` and sent the whole answer at once.
            let read = tokio::time::timeout(self.idle_timeout, read_capped(&mut stream, MAX_JSON_BODY));
            let bytes = match read.await {
                Err(_) => return Err(self.silent(self.idle_timeout)),
                Ok(r) => r.map_err(|e| self.broken(e))?,
            };
            let event = SseEvent { event: "message".into(), data: String::from_utf8_lossy(&bytes).into_owned() };
            if answer.on_event(&event, &self.redactor, out).await? == Flow::Gone {
                return Ok(FinishReason::Cancelled);
            }
            return match answer.finish_reason {
                Some(reason) => Ok(reason),
                None if !answer.text.is_empty() || !answer.calls.is_empty() => Ok(FinishReason::Stop),
                None => Err(Error::Upstream { status: None, message: "the answer is not in OpenAI's format".into() }),
            };
        }
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(self.idle_timeout, stream.next()).await {
                Err(_) => return Err(self.silent(self.idle_timeout)),
                Ok(None) => None,
                Ok(Some(Err(e))) => return Err(self.broken(e)),
                Ok(Some(Ok(chunk))) => Some(chunk),
            };
            match &chunk {
                Some(bytes) => decoder.feed(bytes, &mut events).map_err(|_| Error::Upstream {
                    status: None,
                    message: "the answer is not a server-sent event stream".into(),
                })?,
                None => decoder.finish(&mut events),
            }
            for event in events.drain(..) {
                match answer.on_event(&event, &self.redactor, out).await? {
                    Flow::More => {}
                    Flow::Done => return Ok(answer.finish_reason.unwrap_or(FinishReason::Stop)),
                    Flow::Gone => return Ok(FinishReason::Cancelled),
                }
            }
            if chunk.is_none() {
                return match answer.finish_reason {
                    Some(reason) => Ok(reason),
                    None => Err(Error::Upstream {
                        status: None,
                        message: "the answer ended early (the stream closed without finishing)".into(),
                    }),
                };
            }
        }
    }

    /// POSTs the body and returns the 2xx response; a refused parameter is left out and the request sent again.
    async fn open<I: Serialize>(&self, model: &str, path: &str, body: &mut Body<'_, I>) -> Result<reqwest::Response> {
        let url = self.endpoint(path);
        let known: Vec<&'static str> = match self.refused_params.lock() {
            Ok(map) => map.get(model).cloned().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        for param in known {
            body.params.drop_param(param);
        }
        let mut adaptations = 0;
        loop {
            let json = serde_json::to_vec(&*body)
                .map_err(|e| Error::InvalidRequest(format!("the request cannot be written as JSON: {e}")))?;
            let send = self
                .http
                .post(url.clone())
                .headers(self.headers.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(json)
                .send();
            let response = match tokio::time::timeout(self.response_timeout, send).await {
                Err(_) => return Err(self.silent(self.response_timeout)),
                Ok(Err(e)) => return Err(self.network(e)),
                Ok(Ok(r)) => r,
            };
            if response.status().is_success() {
                return Ok(response);
            }
            let refusal = self.refusal(response).await;
            if matches!(refusal.status, 400 | 422)
                && adaptations < MAX_ADAPTATIONS
                && let Some(param) = errors::unsupported_param(&refusal.body)
                && body.params.drop_param(param)
            {
                adaptations += 1;
                tracing::info!(host = %self.host, model, param, "the upstream refuses this parameter; retrying without it");
                if let Ok(mut map) = self.refused_params.lock() {
                    let list = map.entry(model.to_owned()).or_default();
                    if !list.contains(&param) {
                        list.push(param);
                    }
                }
                continue;
            }
            return Err(errors::refused(&refusal, self.has_key, &self.redactor));
        }
    }

    /// Reads what a refusing response says (a bounded prefix of its body; nothing if it is slow to come).
    async fn refusal(&self, response: reqwest::Response) -> Refusal {
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned());
        let mut stream = response.bytes_stream();
        let mut body = Vec::new();
        let read = async {
            while let Some(Ok(chunk)) = stream.next().await {
                let room = MAX_ERROR_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.idle_timeout.min(Duration::from_secs(30)), read).await;
        Refusal { status, retry_after, body }
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// A failure to send the request or to get the response head.
    fn network(&self, e: reqwest::Error) -> Error {
        Error::Network(self.redactor.clean(&format!(
            "could not reach {}: {}",
            self.host,
            crate::error::describe_http(e)
        )))
    }

    /// A failure while the body was arriving.
    fn broken(&self, e: reqwest::Error) -> Error {
        Error::Network(self.redactor.clean(&format!(
            "the connection to {} broke: {}",
            self.host,
            crate::error::describe_http(e)
        )))
    }

    fn silent(&self, waited: Duration) -> Error {
        let waited = match waited.as_secs() {
            0 => format!("{} ms", waited.as_millis()),
            s => format!("{s} s"),
        };
        Error::Network(format!("{} sent nothing for {waited}", self.host))
    }
}

/// Whether the answer goes on after an event.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    More,
    Done,
    /// The consumer went away.
    Gone,
}

/// What has arrived of an answer.
#[derive(Debug)]
struct Answer {
    started: Instant,
    first_text: Option<Instant>,
    text: String,
    finish_reason: Option<FinishReason>,
    usage: Option<(Usage, u32)>,
    upstream_timings: Option<UpstreamTimings>,
    /// Tool calls so far, in the order they started.
    calls: Vec<PartialCall>,
    skipped: usize,
}

/// A tool call being put together from fragments.
#[derive(Debug)]
struct PartialCall {
    index: Option<usize>,
    id: Option<String>,
    name: String,
    arguments: String,
}

impl Answer {
    fn new(started: Instant) -> Self {
        Answer {
            started,
            first_text: None,
            text: String::new(),
            finish_reason: None,
            usage: None,
            upstream_timings: None,
            calls: Vec::new(),
            skipped: 0,
        }
    }

    async fn on_event(&mut self, event: &SseEvent, redactor: &Redactor, out: &CompletionSender) -> Result<Flow> {
        let data = event.data.trim();
        if event.event == "error" {
            return Err(errors::in_stream(data, redactor));
        }
        if data == "[DONE]" {
            return Ok(Flow::Done);
        }
        if data.is_empty() {
            return Ok(Flow::More);
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(_) => {
                // Not JSON: a keep-alive some proxies invent. Skip it; a stream of nothing else ends "early".
                self.skipped += 1;
                return Ok(Flow::More);
            }
        };
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            return Err(errors::in_stream(data, redactor));
        }
        if let Some(usage) = wire::usage(&chunk) {
            self.usage = Some(usage);
        }
        if let Some(timings) = wire::upstream_timings(&chunk) {
            self.upstream_timings = Some(timings);
        }
        let Some(choice) = wire::first_choice(&chunk) else { return Ok(Flow::More) };
        for fragment in wire::tool_call_fragments(choice) {
            self.add_call_fragment(fragment);
        }
        if let Some(reason) = wire::finish_reason(choice) {
            self.finish_reason = Some(reason);
        }
        if let Some(text) = wire::choice_text(choice).filter(|t| !t.is_empty()) {
            self.first_text.get_or_insert_with(Instant::now);
            if !out.send(StreamItem::Delta(text.clone())).await {
                return Ok(Flow::Gone);
            }
            self.text.push_str(&text);
        }
        Ok(Flow::More)
    }

    /// Adds a fragment to its call: the one with its `index`; without an index, a new call when it brings a new
    /// `id`, else the last call.
    fn add_call_fragment(&mut self, f: CallFragment) {
        let found = match (f.index, &f.id) {
            (Some(index), _) => self.calls.iter().position(|c| c.index == Some(index)),
            (None, Some(id)) => self.calls.iter().position(|c| c.id.as_ref() == Some(id)),
            (None, None) => self.calls.len().checked_sub(1),
        };
        let i = found.unwrap_or_else(|| {
            self.calls.push(PartialCall { index: f.index, id: None, name: String::new(), arguments: String::new() });
            self.calls.len() - 1
        });
        let call = &mut self.calls[i];
        if call.id.is_none() {
            call.id = f.id;
        }
        if let Some(name) = f.name {
            // Names come whole in one fragment; some servers repeat them in every fragment.
            if !call.name.ends_with(&name) {
                call.name.push_str(&name);
            }
        }
        if let Some(arguments) = f.arguments {
            call.arguments.push_str(&arguments);
        }
    }

    fn into_completion(self, reason: FinishReason) -> Completion {
        let end = Instant::now();
        let mut calls: Vec<&PartialCall> = self.calls.iter().collect();
        calls.sort_by_key(|c| c.index);
        let tool_calls: Vec<ToolCall> = calls
            .into_iter()
            .filter(|c| {
                let named = !c.name.trim().is_empty();
                if !named {
                    tracing::debug!("the upstream sent a tool call without a name; it is left out");
                }
                named
            })
            .map(|c| ToolCall::function(c.id.clone(), c.name.clone(), c.arguments.clone()))
            .collect();
        if self.skipped > 0 {
            tracing::debug!(skipped = self.skipped, "the upstream sent events that are not JSON");
        }
        let (usage, cached) = self.usage.unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let rate = |n: u32, ms: f64| if ms > 0.0 && n > 0 { f64::from(n) * 1000.0 / ms } else { 0.0 };
        let first = self.first_text.unwrap_or(end);
        let ttft = ms(first.saturating_duration_since(self.started));
        let predicted_ms = ms(end.saturating_duration_since(first));
        let prompt_n = usage.prompt_tokens.saturating_sub(cached);
        let mut timings = Timings {
            prompt_n,
            cache_n: cached,
            prompt_ms: ttft,
            prompt_per_second: rate(prompt_n, ttft),
            predicted_n: usage.completion_tokens,
            predicted_ms,
            predicted_per_second: rate(usage.completion_tokens, predicted_ms),
            time_to_first_token_ms: ttft,
            queued_ms: 0.0,
        };
        if let Some(t) = self.upstream_timings {
            timings.prompt_n = t.prompt_n.unwrap_or(timings.prompt_n);
            timings.cache_n = t.cache_n.unwrap_or(timings.cache_n);
            timings.prompt_ms = t.prompt_ms.unwrap_or(timings.prompt_ms);
            timings.prompt_per_second = t.prompt_per_second.unwrap_or(timings.prompt_per_second);
            timings.predicted_n = t.predicted_n.unwrap_or(timings.predicted_n);
            timings.predicted_ms = t.predicted_ms.unwrap_or(timings.predicted_ms);
            timings.predicted_per_second = t.predicted_per_second.unwrap_or(timings.predicted_per_second);
        }
        let finish_reason = reason.with_tool_calls(!tool_calls.is_empty());
        Completion { text: self.text, tool_calls, finish_reason, usage, timings }
    }
}

/// The base URL, checked: http(s), a host, no credentials, no fragment; `/chat/completions` cut off the end.
fn parse_base(raw: &str) -> Result<Url> {
    let invalid = |why: &str| Error::InvalidRequest(format!("the remote engine's URL {why}"));
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(&format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold credentials; set the API key instead"));
    }
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/chat/completions").unwrap_or(path).to_owned();
    url.set_path(&path);
    Ok(url)
}

fn parse_models(bytes: &[u8]) -> Result<Vec<String>> {
    let not_a_list = || Error::Upstream { status: None, message: "the models list is not in OpenAI's format".into() };
    let v: Value = serde_json::from_slice(bytes).map_err(|_| not_a_list())?;
    let items = v.get("data").unwrap_or(&v).as_array().ok_or_else(not_a_list)?;
    Ok(items
        .iter()
        .filter_map(|m| m.get("id").unwrap_or(m).as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Reads a body into memory, failing past `cap` bytes.
async fn read_capped<S>(stream: &mut S, cap: usize) -> std::result::Result<Vec<u8>, reqwest::Error>
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        body.extend_from_slice(&chunk[..chunk.len().min(cap.saturating_sub(body.len()))]);
        if body.len() >= cap {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let ok = |raw: &str| parse_base(raw).map(|u| u.to_string()).unwrap_or_else(|e| e.to_string());
        assert_eq!(ok("https://api.openai.com/v1"), "https://api.openai.com/v1");
        assert_eq!(ok("https://api.openai.com/v1/"), "https://api.openai.com/v1");
        assert_eq!(ok(" https://api.openai.com/v1/chat/completions "), "https://api.openai.com/v1");
        assert_eq!(ok("http://h:1/x/?api-version=1#f"), "http://h:1/x?api-version=1");
        for bad in ["ftp://h/v1", "api.openai.com/v1", "", "http://user:pw@h/v1", "file:///v1"] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_lists() {
        let ids = parse_models(br#"{"object":"list","data":[{"id":"a"},{"id":"b"},{"x":1}]}"#).unwrap_or_default();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(parse_models(br#"["c"]"#).unwrap_or_default(), ["c"]);
        assert!(parse_models(b"{}").is_err());
    }
}
