//! Tool calls in a local model's streamed text, for requests that offer tools.
//!
//! Two ways models write calls are recognised:
//! - Hermes-style markup (Qwen 2 / 2.5 / 3, Hermes 2 and 3, and the many models trained on it):
//!   `<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>`, anywhere in the reply and
//!   any number of times; a block may hold one object, several objects one after the other, or an array of them.
//!   Any `name` is taken: the markup says it is a call.
//! - A reply that is nothing but a call object (Llama 3.1 / 3.2 / 3.3 style): `{"name": ..., "parameters": {...}}`
//!   (or `"arguments"`, optionally with `"type": "function"` first), possibly fenced as a ```` ```json ```` block
//!   (small Qwen models do that; llama.cpp's Hermes parser accepts it too). Without markup an object is a call only if its `name` is
//!   one of the request's tools, so a reply that merely shows some JSON stays text.
//!
//! While streaming, text that may be markup is held back, like the start of a stop string (see
//! [`crate::inference::sampling::StopMatcher`]): a possible `<tool_call>` opening tag until it is complete or
//! ruled out, a block until its closing tag, and a reply that begins like a call object until it ends. Everything
//! else streams as it comes. Markup whose content is not valid call JSON, and a call object that turns out not to
//! be one, come back as plain text: no text is ever lost.
//!
//! ```
//! use jan_core::inference::tool_calls::ToolCallParser;
//! use serde_json::json;
//!
//! let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]);
//! let mut parser = ToolCallParser::new(&tools).unwrap();
//! let mut text = String::new();
//! let mut calls = Vec::new();
//! for piece in ["Let me check.<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"] {
//!     let out = parser.push(piece);
//!     text.push_str(&out.content);
//!     calls.extend(out.calls);
//! }
//! let out = parser.finish();
//! text.push_str(&out.content);
//! calls.extend(out.calls);
//! assert_eq!(text, "Let me check.");
//! assert_eq!(calls[0].function.name, "get_weather");
//! assert_eq!(calls[0].function.arguments, r#"{"city":"Paris"}"#);
//! assert!(calls[0].id.starts_with("call_"));
//! ```

use serde_json::Value;

use super::types::ToolCall;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// What a push lets through: text to stream now and calls completed by it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolParse {
    pub content: String,
    pub calls: Vec<ToolCall>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At the start of the reply: it may still turn out to be a bare call object.
    Start,
    /// The reply began like a call object: everything is held until the end.
    Bare,
    /// Ordinary text, watching for an opening tag.
    Text,
    /// Inside `<tool_call>`, waiting for the closing tag.
    Block,
}

/// Separates tool calls from text in a reply streamed piece by piece; see the module docs.
#[derive(Debug, Clone)]
pub struct ToolCallParser {
    /// The request's tool names (a bare object must call one of them); empty if none could be read.
    names: Vec<String>,
    mode: Mode,
    /// Text not yet let through: the whole reply so far (`Start`, `Bare`), a possible partial opening tag
    /// (`Text`), the block's content so far (`Block`).
    held: String,
}

impl ToolCallParser {
    /// A parser for a request with these `tools` (OpenAI's list); `None` when there are none (null, not a list,
    /// or empty): then nothing is parsed and the reply is all text.
    pub fn new(tools: &Value) -> Option<Self> {
        let list = tools.as_array().filter(|l| !l.is_empty())?;
        let names = list
            .iter()
            .filter_map(|t| t.pointer("/function/name").or_else(|| t.get("name")).and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        Some(ToolCallParser { names, mode: Mode::Start, held: String::new() })
    }

    /// Feeds the next piece of text.
    pub fn push(&mut self, text: &str) -> ToolParse {
        self.held.push_str(text);
        let mut out = ToolParse::default();
        loop {
            match self.mode {
                Mode::Start => match call_object_prefix(&self.held) {
                    Prefix::Maybe => return out,
                    Prefix::Yes => {
                        self.mode = Mode::Bare;
                        return out;
                    }
                    Prefix::No => self.mode = Mode::Text,
                },
                Mode::Bare => return out,
                Mode::Text => match self.held.find(OPEN) {
                    Some(i) => {
                        out.content.push_str(&self.held[..i]);
                        self.held.drain(..i + OPEN.len());
                        self.mode = Mode::Block;
                    }
                    None => {
                        let keep = partial_tag_suffix(&self.held);
                        let cut = self.held.len() - keep;
                        out.content.push_str(&self.held[..cut]);
                        self.held.drain(..cut);
                        return out;
                    }
                },
                Mode::Block => match self.held.find(CLOSE) {
                    Some(j) => {
                        let inner = &self.held[..j];
                        match parse_block(inner) {
                            Some(calls) => out.calls.extend(calls),
                            None => {
                                out.content.push_str(OPEN);
                                out.content.push_str(inner);
                                out.content.push_str(CLOSE);
                            }
                        }
                        self.held.drain(..j + CLOSE.len());
                        self.mode = Mode::Text;
                    }
                    None => return out,
                },
            }
        }
    }

    /// The reply ended: settles what was held. An unclosed block whose content is a valid call counts (a model
    /// may stop right after the JSON); anything else held is text.
    pub fn finish(&mut self) -> ToolParse {
        let held = std::mem::take(&mut self.held);
        let mut out = ToolParse::default();
        match self.mode {
            Mode::Start | Mode::Bare => match self.parse_bare(&held) {
                Some(calls) => out.calls = calls,
                None => out.content = held,
            },
            Mode::Text => out.content = held,
            Mode::Block => match parse_block(&held) {
                Some(calls) => out.calls = calls,
                None => out.content = format!("{OPEN}{held}"),
            },
        }
        self.mode = Mode::Text;
        out
    }

    /// The reply was stopped: whatever was held, as text, unparsed.
    pub fn abandon(&mut self) -> String {
        let held = std::mem::take(&mut self.held);
        let text = if self.mode == Mode::Block { format!("{OPEN}{held}") } else { held };
        self.mode = Mode::Text;
        text
    }

    /// A whole reply that is one call object, possibly in a ```` ```json ```` fence, calling one of the request's
    /// tools.
    fn parse_bare(&self, reply: &str) -> Option<Vec<ToolCall>> {
        let mut body = reply.trim();
        if let Some(fenced) = body.strip_prefix("```") {
            let fenced = fenced.strip_suffix("```")?;
            let lang = fenced.split(|c: char| c.is_whitespace() || c == '{').next().unwrap_or_default();
            if !(lang.is_empty() || lang.eq_ignore_ascii_case("json")) {
                return None;
            }
            body = fenced[lang.len()..].trim();
        }
        let value: Value = serde_json::from_str(body).ok()?;
        let call = call_from_object(&value)?;
        let known = self.names.is_empty() || self.names.contains(&call.function.name);
        known.then(|| vec![call])
    }
}

/// The calls in a `<tool_call>` block: one object, several objects one after another, or a list; `None` if any
/// part is not a call (the block is then text).
fn parse_block(inner: &str) -> Option<Vec<ToolCall>> {
    let mut calls = Vec::new();
    for value in serde_json::Deserializer::from_str(inner).into_iter::<Value>() {
        match value.ok()? {
            Value::Array(items) => {
                for item in &items {
                    calls.push(call_from_object(item)?);
                }
            }
            object => calls.push(call_from_object(&object)?),
        }
    }
    (!calls.is_empty()).then_some(calls)
}

/// `{"name": "...", "arguments" | "parameters": {...} | "..."}`, also in OpenAI's own `{"function": {...}}`
/// shape; the arguments become JSON text (a string is taken as it is), missing arguments `{}`.
fn call_from_object(v: &Value) -> Option<ToolCall> {
    let object = v.as_object()?;
    let function = object.get("function").filter(|f| f.is_object()).and_then(Value::as_object).unwrap_or(object);
    let name = function.get("name")?.as_str().filter(|n| !n.trim().is_empty())?;
    let arguments = match function.get("arguments").or_else(|| function.get("parameters")) {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let id = object.get("id").and_then(Value::as_str).map(str::to_owned);
    Some(ToolCall::function(id, name.trim(), arguments))
}

/// Bytes at the end of `text` that are a proper prefix of the opening tag (held until the next piece decides).
fn partial_tag_suffix(text: &str) -> usize {
    (1..OPEN.len().min(text.len() + 1)).rev().find(|&k| text.ends_with(&OPEN[..k])).unwrap_or(0)
}

#[derive(Debug, PartialEq, Eq)]
enum Prefix {
    /// The text is not the start of a call object.
    No,
    /// Too short to tell.
    Maybe,
    /// It starts like one: `{"name"` or `{"type"` after optional whitespace and an optional ```` ```json ```` fence.
    Yes,
}

/// Whether a reply beginning with `text` may be a bare call object.
fn call_object_prefix(text: &str) -> Prefix {
    let mut rest = text.trim_start();
    if rest.is_empty() {
        return Prefix::Maybe;
    }
    if rest.starts_with('`') {
        if "```".starts_with(rest) {
            return Prefix::Maybe;
        }
        let Some(after) = rest.strip_prefix("```") else { return Prefix::No };
        let lang = after.split(|c: char| c.is_whitespace() || c == '{').next().unwrap_or_default();
        if lang.len() == after.len() {
            // Still reading the fence's language.
            return if "json".starts_with(&lang.to_ascii_lowercase()) { Prefix::Maybe } else { Prefix::No };
        }
        if !(lang.is_empty() || lang.eq_ignore_ascii_case("json")) {
            return Prefix::No;
        }
        rest = after[lang.len()..].trim_start();
        if rest.is_empty() {
            return Prefix::Maybe;
        }
    }
    let Some(after) = rest.strip_prefix('{') else { return Prefix::No };
    let after = after.trim_start();
    if after.is_empty() {
        return Prefix::Maybe;
    }
    for key in ["\"name\"", "\"type\""] {
        if after.starts_with(key) {
            return Prefix::Yes;
        }
        if key.starts_with(after) {
            return Prefix::Maybe;
        }
    }
    Prefix::No
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools() -> Value {
        json!([
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
        ])
    }

    /// Feeds `pieces` and returns (each push's content, calls as (name, arguments)).
    fn run(pieces: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
        let mut p = ToolCallParser::new(&tools()).unwrap();
        let mut contents = Vec::new();
        let mut calls = Vec::new();
        let pushes = pieces.iter().map(|piece| p.push(piece)).collect::<Vec<_>>();
        for out in pushes.into_iter().chain([p.finish()]) {
            contents.push(out.content);
            calls.extend(out.calls.into_iter().map(|c| {
                assert!(c.id.starts_with("call_") && c.id.len() == 29, "{}", c.id);
                assert_eq!(c.kind, "function");
                (c.function.name, c.function.arguments)
            }));
        }
        (contents, calls)
    }

    fn call(name: &str, args: &str) -> (String, String) {
        (name.to_owned(), args.to_owned())
    }

    #[test]
    fn no_tools_no_parser() {
        assert!(ToolCallParser::new(&Value::Null).is_none());
        assert!(ToolCallParser::new(&json!([])).is_none());
        assert!(ToolCallParser::new(&json!({"a": 1})).is_none());
    }

    #[test]
    fn qwen_block_with_text_before_and_after() {
        let reply = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\nDone.";
        let (contents, calls) = run(&[reply]);
        assert_eq!(contents.concat(), "Sure.\n\nDone.");
        assert_eq!(calls, [call("get_weather", r#"{"city":"Paris"}"#)]);
    }

    #[test]
    fn several_calls_in_blocks_and_in_one_block() {
        let reply = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>\n\
                     <tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>";
        let (contents, calls) = run(&[reply]);
        assert_eq!(contents.concat(), "\n");
        assert_eq!(calls, [call("get_weather", r#"{"city":"Paris"}"#), call("get_time", "{}")]);

        let one_block = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n{\"name\": \"get_time\", \
                         \"arguments\": \"{\\\"tz\\\": \\\"UTC\\\"}\"}\n</tool_call>";
        let (_, calls) = run(&[one_block]);
        assert_eq!(calls, [call("get_time", "{}"), call("get_time", r#"{"tz": "UTC"}"#)]);
        let list = "<tool_call>[{\"name\": \"get_time\"}, {\"function\": {\"name\": \"x\", \"arguments\": \"{}\"}}]</tool_call>";
        let (_, calls) = run(&[list]);
        assert_eq!(calls, [call("get_time", "{}"), call("x", "{}")], "markup takes any name");
    }

    #[test]
    fn a_tag_split_across_pieces_is_held_then_released_or_parsed() {
        let reply = "Hi <tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call> bye";
        // Every way of cutting the reply in three gives the same text and calls, and no piece of markup leaks.
        for i in 1..reply.len() {
            for j in i..reply.len() {
                if !reply.is_char_boundary(i) || !reply.is_char_boundary(j) {
                    continue;
                }
                let (contents, calls) = run(&[&reply[..i], &reply[i..j], &reply[j..]]);
                assert_eq!(contents.concat(), "Hi  bye", "cut at {i}, {j}");
                for c in &contents {
                    assert!(!c.contains('<') && !c.contains('{'), "markup leaked: {contents:?}");
                }
                assert_eq!(calls, [call("get_time", "{}")]);
            }
        }
        // A '<' that is not a tag is held only until the next piece rules the tag out.
        let (contents, calls) = run(&["a <", "b> <tool", "s>"]);
        assert_eq!(contents, ["a ", "<b> ", "<tools>", ""]);
        assert!(calls.is_empty());
    }

    #[test]
    fn text_streams_while_no_markup_is_possible() {
        let (contents, calls) = run(&["Hello", ", world", "!"]);
        assert_eq!(contents, ["Hello", ", world", "!", ""]);
        assert!(calls.is_empty());
    }

    #[test]
    fn malformed_json_in_markup_is_text() {
        let bad = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": </tool_call> after";
        let (contents, calls) = run(&["x ", bad]);
        assert_eq!(contents.concat(), format!("x {bad}"));
        assert!(calls.is_empty());
        for inner in ["", "{\"arguments\": {}}", "{\"name\": 3}", "\"just a string\"", "{\"name\": \"a\"} trailing"] {
            let block = format!("<tool_call>{inner}</tool_call>");
            let (contents, calls) = run(&[&block]);
            assert_eq!(contents.concat(), block);
            assert!(calls.is_empty(), "{inner}");
        }
        // Unclosed at the end: a valid call counts, anything else is text.
        let (contents, calls) = run(&["<tool_call>{\"name\": \"get_time\", \"arguments\": {}}"]);
        assert_eq!((contents.concat(), calls), (String::new(), vec![call("get_time", "{}")]));
        let (contents, calls) = run(&["ok <tool_call>{\"name\": \"get_ti"]);
        assert_eq!(contents.concat(), "ok <tool_call>{\"name\": \"get_ti");
        assert!(calls.is_empty());
    }

    #[test]
    fn a_whole_reply_that_is_a_call_object() {
        let llama = r#"{"name": "get_weather", "parameters": {"city": "Paris"}}"#;
        let pieces: Vec<String> = llama.chars().map(String::from).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (contents, calls) = run(&pieces);
        assert_eq!(contents.concat(), "");
        assert_eq!(calls, [call("get_weather", r#"{"city":"Paris"}"#)]);

        let typed = r#" {"type": "function", "name": "get_time", "parameters": {}} "#;
        assert_eq!(run(&[typed]).1, [call("get_time", "{}")]);
        let fenced =
            "```json\n{\n  \"name\": \"get_weather\",\n  \"arguments\": {\n    \"city\": \"Paris\"\n  }\n}\n```";
        assert_eq!(run(&[&fenced[..5], &fenced[5..]]).1, [call("get_weather", r#"{"city":"Paris"}"#)]);
        let list = r#"[{"name": "get_time", "arguments": {}}]"#;
        assert_eq!(run(&[list]).0.concat(), list, "a bare list is text");
    }

    #[test]
    fn json_that_is_not_a_call_stays_text() {
        for reply in [
            r#"{"name": "Paris", "country": "France"}"#,
            r#"{"name": "get_weather", "arguments": {}} and more"#,
            r#"{"name": "get_weather", "arguments": {"#,
            "```json\n{\"a\": 1}\n```",
            "```python\nprint(1)\n```",
            "{}",
        ] {
            let (contents, calls) = run(&[reply]);
            assert_eq!(contents.concat(), reply);
            assert!(calls.is_empty(), "{reply}");
        }
        // Text that cannot be a call object streams at once.
        let (contents, _) = run(&["```", "python\nx = 1", "\n```"]);
        assert_eq!(contents, ["", "```python\nx = 1", "\n```", ""]);
        let (contents, _) = run(&["{\"answer\"", ": 1}"]);
        assert_eq!(contents, ["{\"answer\"", ": 1}", ""]);
    }

    #[test]
    fn abandon_returns_what_was_held() {
        let mut p = ToolCallParser::new(&tools()).unwrap();
        assert_eq!(p.push("a <tool_call>{\"na").content, "a ");
        assert_eq!(p.abandon(), "<tool_call>{\"na");
    }

    #[test]
    fn prefixes() {
        for (text, expected) in [
            ("", Prefix::Maybe),
            ("  \n", Prefix::Maybe),
            ("`", Prefix::Maybe),
            ("``", Prefix::Maybe),
            ("```", Prefix::Maybe),
            ("```js", Prefix::Maybe),
            ("```jsx", Prefix::No),
            ("```json\n", Prefix::Maybe),
            ("```json\n{", Prefix::Maybe),
            ("```\n{\"name\"", Prefix::Yes),
            ("{", Prefix::Maybe),
            ("{ \"na", Prefix::Maybe),
            ("{\"type\"", Prefix::Yes),
            ("{\"x", Prefix::No),
            ("Hello", Prefix::No),
            ("`x", Prefix::No),
        ] {
            assert_eq!(call_object_prefix(text), expected, "{text:?}");
        }
    }
}
