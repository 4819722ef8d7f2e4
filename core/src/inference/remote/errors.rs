//! What an upstream's failure becomes: [`Error::Upstream`] for anything the upstream answered (with its own
//! words when it gave any, as OpenAI's `{"error": {"message": ...}}` or the shapes other servers use),
//! [`Error::Network`] for anything on the way. Messages never hold the API key: the configured key is cut out
//! of every message, and so is anything shaped like an OpenAI key (`sk-...`), which OpenAI echoes half-masked.

use serde_json::Value;

use super::wire::DROPPABLE;
use crate::error::Error;

/// The longest excerpt of a non-JSON error body kept in a message.
const EXCERPT_CHARS: usize = 300;

/// How the upstream refused a request, read off its response.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// Cuts secrets out of a message: the configured key, and `sk-` tokens.
#[derive(Debug, Clone)]
pub(super) struct Redactor {
    key: Option<String>,
}

impl Redactor {
    pub(super) fn new(key: Option<&str>) -> Self {
        // A very short "key" (local servers take anything) is no secret, and cutting it would garble words.
        Redactor { key: key.filter(|k| k.len() >= 8).map(str::to_owned) }
    }

    pub(super) fn clean(&self, text: &str) -> String {
        let mut text = match &self.key {
            Some(key) => text.replace(key.as_str(), "[api key]"),
            None => text.to_owned(),
        };
        let mut from = 0;
        while let Some(found) = text[from..].find("sk-") {
            let start = from + found;
            let at_word_start = text[..start].chars().next_back().is_none_or(|c| !is_key_char(c));
            let len = text[start..].find(|c: char| !is_key_char(c)).unwrap_or(text.len() - start);
            if at_word_start && len >= 8 {
                text.replace_range(start..start + len, "[api key]");
                from = start + "[api key]".len();
            } else {
                from = start + 3;
            }
        }
        text
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*')
}

/// The error for a non-2xx answer.
pub(super) fn refused(r: &Refusal, has_key: bool, redactor: &Redactor) -> Error {
    let said = upstream_message(&r.body).map(|m| redactor.clean(&m));
    let with = |lead: &str| match &said {
        Some(m) => format!("{lead}: {m}"),
        None => lead.to_owned(),
    };
    let message = match r.status {
        401 if has_key => with("the API key was refused"),
        401 => with("the remote engine needs an API key and none is set"),
        403 => with("the API key was refused for this request"),
        404 => said.unwrap_or_else(|| "no such model or endpoint (is the base URL right?)".to_owned()),
        429 => {
            let mut m = with("too many requests or out of quota");
            // Seconds only; the HTTP-date form is rare from APIs and not worth a date parser.
            let seconds = r.retry_after.as_deref().filter(|a| !a.is_empty() && a.len() <= 6);
            if let Some(after) = seconds.filter(|a| a.bytes().all(|b| b.is_ascii_digit())) {
                m.push_str(&format!(" (retry after {after}s)"));
            }
            m
        }
        _ => said.unwrap_or_else(|| "no details given".to_owned()),
    };
    Error::Upstream { status: Some(r.status), message }
}

/// An error the upstream put inside a 200 stream (`data: {"error": ...}` or `event: error`).
pub(super) fn in_stream(data: &str, redactor: &Redactor) -> Error {
    let parsed: Option<Value> = serde_json::from_str(data).ok();
    let status = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/code").or_else(|| v.get("code")))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c));
    let message = upstream_message(data.as_bytes())
        .map(|m| redactor.clean(&m))
        .unwrap_or_else(|| "the answer stopped with an error".to_owned());
    Error::Upstream { status, message }
}

/// The parameter a 400 says the upstream does not take, if it is one we can leave out. Recognised: OpenAI's
/// `{"param": "x", "code": "unsupported_parameter" | "unsupported_value" | "unknown_parameter"}` and messages
/// such as Azure's "Unrecognized request argument supplied: stream_options".
pub(super) fn unsupported_param(body: &[u8]) -> Option<&'static str> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let code = err.get("code").and_then(Value::as_str).unwrap_or_default();
    let message = upstream_message(body).unwrap_or_default().to_ascii_lowercase();
    let unsupported = matches!(code, "unsupported_parameter" | "unsupported_value" | "unknown_parameter")
        || ["unsupported", "unrecognized", "unknown parameter", "not supported", "extra inputs are not permitted"]
            .iter()
            .any(|w| message.contains(w));
    if !unsupported {
        return None;
    }
    if let Some(param) = err.get("param").and_then(Value::as_str) {
        return DROPPABLE.iter().copied().find(|d| *d == param);
    }
    DROPPABLE.iter().copied().find(|d| contains_word(&message, d))
}

fn contains_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        text[..i].chars().next_back().is_none_or(|c| !is_word(c))
            && text[i + word.len()..].chars().next().is_none_or(|c| !is_word(c))
    })
}

/// The upstream's own words: `error.message` (OpenAI), `error` as a string, `message`, `detail` (FastAPI and
/// vLLM, a string or a list of `{msg}`); otherwise the page title of an HTML page, or an excerpt of the text.
pub(super) fn upstream_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = [v.pointer("/error/message"), v.get("error"), v.get("message"), v.get("detail")]
            .into_iter()
            .flatten()
            .find_map(|m| match m {
                Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                Value::Array(items) => {
                    let msgs: Vec<&str> = items.iter().filter_map(|i| i.get("msg").and_then(Value::as_str)).collect();
                    (!msgs.is_empty()).then(|| msgs.join("; "))
                }
                _ => None,
            });
        if let Some(m) = found {
            return Some(excerpt(&m));
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('<') {
        let lower = text.to_ascii_lowercase();
        let title = lower
            .find("<title>")
            .and_then(|s| lower[s..].find("</title>").map(|e| text[s + 7..s + e].trim().to_owned()))
            .filter(|t| !t.is_empty());
        return Some(match title {
            Some(t) => format!("an HTML page: {}", excerpt(&t)),
            None => "an HTML page".to_owned(),
        });
    }
    Some(excerpt(text))
}

/// Whitespace collapsed, at most [`EXCERPT_CHARS`] characters.
fn excerpt(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_key_and_key_shapes() {
        let r = Redactor::new(Some("my-secret-key-123"));
        let m = r.clean("Incorrect API key provided: my-secret-key-123 (or sk-proj-ab***cdef). task-sk-x fine");
        assert_eq!(m, "Incorrect API key provided: [api key] (or [api key]). task-sk-x fine");
        assert_eq!(Redactor::new(Some("x")).clean("xx"), "xx");
    }

    #[test]
    fn messages_from_various_shapes() {
        assert_eq!(upstream_message(br#"{"error":{"message":"bad"}}"#).as_deref(), Some("bad"));
        assert_eq!(upstream_message(br#"{"error":"worse"}"#).as_deref(), Some("worse"));
        assert_eq!(upstream_message(br#"{"detail":[{"msg":"a"},{"msg":"b"}]}"#).as_deref(), Some("a; b"));
        assert_eq!(
            upstream_message(b"<html><head><TITLE>502 Bad Gateway</TITLE></head></html>").as_deref(),
            Some("an HTML page: 502 Bad Gateway")
        );
        assert_eq!(upstream_message(b"  \n").as_deref(), None);
        let long = "é".repeat(1000);
        assert_eq!(upstream_message(long.as_bytes()).map(|m| m.chars().count()), Some(EXCERPT_CHARS + 1));
    }

    #[test]
    fn finds_unsupported_params() {
        let openai = br#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
        assert_eq!(unsupported_param(openai), Some("max_tokens"));
        let azure = br#"{"error":{"message":"Unrecognized request argument supplied: stream_options","code":null}}"#;
        assert_eq!(unsupported_param(azure), Some("stream_options"));
        let too_big = br#"{"error":{"message":"max_tokens is too large: 99999","param":"max_tokens","code":null}}"#;
        assert_eq!(unsupported_param(too_big), None);
        let tools = br#"{"error":{"message":"tools are not supported by this model","param":"tools"}}"#;
        assert_eq!(unsupported_param(tools), None);
    }
}
