//! Jinja chat templates (a GGUF's `tokenizer.chat_template`) on minijinja, set up to render what Hugging Face's
//! `apply_chat_template` renders.
//!
//! transformers compiles templates in `jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True,
//! lstrip_blocks=True, extensions=[loopcontrols])` with a `tojson` filter of its own (Python's `json.dumps` with
//! `ensure_ascii=False`), `raise_exception(message)` and `strftime_now(format)`, and renders with `messages`,
//! `tools` (None when absent), `add_generation_prompt`, the tokenizer's special tokens (`bos_token`, ...) and any
//! extra keyword arguments. This module reproduces that environment; where minijinja's defaults differ from
//! Jinja2's and chat templates depend on it, Jinja2's behaviour is restored:
//!
//! - `tojson` is Python's `json.dumps` (see [`super::pyjson`]); minijinja's escapes `<`, `>`, `&` and `'` as
//!   `\u003c`... and has no `ensure_ascii`, `separators` or `sort_keys`.
//! - `{{ value }}` and the `string` filter print Python's `str()` for every value: minijinja 3 already prints
//!   `None`, `True`, `['a', 1]` and `{'k': 'v'}`, but not floats (`1e+16` in Python, `10000000000000000.0`).
//! - `trim` strips what Python's `str.strip()` strips (also U+001C..U+001F).
//! - the `sequence` test is true for strings and dicts, as in Jinja2 (minijinja: lists only); `iterable` is true
//!   for strings in both (Llama 3.2's template prints a string tool result with `tojson` because of it).
//! - Python string and dict methods (`startswith`, `split`, `items`, `get`, ...) come from minijinja-contrib's
//!   `pycompat`.
//! - transformers' `{% generation %}` marker blocks (used to build training masks) render their body, as they do in
//!   transformers.
//!
//! Undefined values behave as Jinja2's default `Undefined`: they print as nothing, iterate as empty and are false,
//! while looking up an attribute of one fails.

use std::borrow::Cow;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value as Json;

use super::pyjson::{self, JsonOptions};
use super::{Capabilities, RenderOptions, strftime};
use crate::error::{Error, Result};
use crate::inference::types::ChatMessage;

const TEMPLATE_NAME: &str = "chat_template";

/// A compiled Jinja chat template with what probing found it supports.
#[derive(Debug, Clone)]
pub(crate) struct JinjaTemplate {
    env: Environment<'static>,
    caps: Capabilities,
}

impl JinjaTemplate {
    /// Compiles `source` (a syntax error is [`Error::InvalidRequest`]) and probes what it supports.
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<Self> {
        let mut env = environment()?;
        let source = rewrite_generation_blocks(source).into_owned();
        env.add_template_owned(TEMPLATE_NAME, source)
            .map_err(|e| Error::InvalidRequest(format!("invalid chat template: {e}")))?;
        let mut template = JinjaTemplate { env, caps: Capabilities::default() };
        template.caps = template.probe(bos, eos);
        Ok(template)
    }

    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// Renders `messages`, first adapting them to what the template lacks (see [`Capabilities`]).
    pub fn render(&self, messages: &[ChatMessage], opts: &RenderOptions, bos: &str, eos: &str) -> Result<String> {
        let messages = if self.caps.system_role { Cow::Borrowed(messages) } else { fold_system(messages) };
        self.render_raw(&messages, opts, bos, eos, self.caps.object_arguments)
    }

    fn render_raw(
        &self,
        messages: &[ChatMessage],
        opts: &RenderOptions,
        bos: &str,
        eos: &str,
        object_arguments: bool,
    ) -> Result<String> {
        let messages: Vec<Value> = messages.iter().map(|m| message_value(m, object_arguments)).collect();
        // An empty tool list is no tools, as llama.cpp's server treats it (templates test `tools is not none`).
        let tools = match &opts.tools {
            None | Some(Json::Null) => Value::from(()),
            Some(Json::Array(a)) if a.is_empty() => Value::from(()),
            Some(tools) => json_to_value(tools),
        };
        // Special tokens first so that keyword arguments can override them (transformers merges them the same way);
        // the conversation itself cannot be overridden.
        let mut ctx: Vec<(&str, Value)> = vec![("bos_token", Value::from(bos)), ("eos_token", Value::from(eos))];
        ctx.extend(opts.kwargs.iter().map(|(k, v)| (k.as_str(), json_to_value(v))));
        ctx.push(("messages", Value::from(messages)));
        ctx.push(("tools", tools));
        ctx.push(("add_generation_prompt", Value::from(opts.add_generation_prompt)));
        let template = self.env.get_template(TEMPLATE_NAME).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        template.render(Value::from_pairs(ctx)).map_err(render_error)
    }

    /// Renders small conversations with marker strings to learn, as llama.cpp's minja does, whether the template
    /// keeps a system message, shows tools, and prints tool-call arguments given as a JSON string or only given as
    /// an object.
    fn probe(&self, bos: &str, eos: &str) -> Capabilities {
        let try_render = |messages: &[ChatMessage], opts: &RenderOptions, object_arguments: bool| {
            self.render_raw(messages, opts, bos, eos, object_arguments).unwrap_or_default()
        };
        let plain = RenderOptions { add_generation_prompt: false, ..RenderOptions::default() };

        let system = [ChatMessage::new("system", "<<system-probe>>"), ChatMessage::new("user", "Hello")];
        let system_role = try_render(&system, &plain, false).contains("<<system-probe>>");

        let tool_opts = RenderOptions {
            tools: Some(serde_json::json!([{
                "type": "function",
                "function": {
                    "name": "tool_probe_needle",
                    "description": "A probe.",
                    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
                }
            }])),
            ..RenderOptions::default()
        };
        let tools = try_render(&[ChatMessage::new("user", "Hello")], &tool_opts, false).contains("tool_probe_needle");

        let call = |arguments: Json| {
            let mut m = ChatMessage::new("assistant", "");
            m.tool_calls = Some(serde_json::json!([{
                // Nine characters: Mistral's templates insist on that.
                "id": "call00001",
                "type": "function",
                "function": {"name": "call_probe_fn", "arguments": arguments}
            }]));
            [ChatMessage::new("user", "Hello"), m]
        };
        let needle = |out: &str| out.contains("\"arg_probe_needle\":") || out.contains("'arg_probe_needle':");
        let args = serde_json::json!({"arg_probe_needle": "value"});
        let renders_string = needle(&try_render(&call(Json::String(args.to_string())), &plain, false));
        let renders_object = needle(&try_render(&call(args), &plain, false));

        Capabilities {
            system_role,
            tools,
            tool_calls: renders_string || renders_object,
            object_arguments: renders_object && !renders_string,
        }
    }
}

/// The environment transformers renders in (see the module documentation).
fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(false)
        .build()
        .map_err(|e| Error::InvalidRequest(format!("chat template syntax: {e}")))?;
    env.set_syntax(syntax);
    env.set_debug(false);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, _state, value| {
        let text = match value.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(pyjson::py_str(value)),
        };
        out.write_str(&text).map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
    });
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", |format: String| strftime::strftime_now(&format));
    env.add_filter("tojson", tojson);
    env.add_filter("trim", trim);
    env.add_filter("string", |value: &Value| match value.kind() {
        ValueKind::String => value.clone(),
        _ => Value::from(pyjson::py_str(value)),
    });
    env.add_test("iterable", |value: &Value| {
        value.is_undefined()
            || matches!(value.kind(), ValueKind::String | ValueKind::Bytes | ValueKind::Seq | ValueKind::Map)
            || value.try_iter().is_ok()
    });
    env.add_test("sequence", |value: &Value| {
        value.is_undefined()
            || matches!(value.kind(), ValueKind::String | ValueKind::Bytes | ValueKind::Seq | ValueKind::Map)
    });
    Ok(env)
}

/// The error `raise_exception` carries, so that its message reaches the caller verbatim.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

fn raise_exception(message: &Value) -> std::result::Result<Value, minijinja::Error> {
    let message = pyjson::py_str(message);
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

/// `raise_exception(msg)` becomes [`Error::InvalidRequest`] with the template's own message; anything else that
/// fails while rendering is reported with minijinja's description and the template line.
fn render_error(e: minijinja::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(err) = source {
        if let Some(raised) = err.downcast_ref::<Raised>() {
            return Error::InvalidRequest(raised.0.clone());
        }
        source = err.source();
    }
    Error::InvalidRequest(format!("the chat template failed: {e}"))
}

/// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`, positional or by
/// keyword.
fn tojson(value: &Value, positional: Rest<Value>, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    if positional.len() > 4 {
        return Err(minijinja::Error::from(ErrorKind::TooManyArguments));
    }
    let arg = |index: usize, name: &str| -> std::result::Result<Option<Value>, minijinja::Error> {
        match positional.get(index) {
            Some(v) => Ok(Some(v.clone())),
            None => kwargs.get::<Option<Value>>(name),
        }
    };
    let ensure_ascii = arg(0, "ensure_ascii")?;
    let indent = arg(1, "indent")?;
    let separators = arg(2, "separators")?;
    let sort_keys = arg(3, "sort_keys")?;
    kwargs.assert_all_used()?;

    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        // Python: an int indents by that many spaces (none when negative), a string by itself.
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_owned(),
            None => " ".repeat(v.as_i64().map_or(0, |n| usize::try_from(n).unwrap_or(0))),
        }),
    };
    let mut opts = JsonOptions::new(indent);
    opts.ensure_ascii = ensure_ascii.is_some_and(|v| v.is_true());
    opts.sort_keys = sort_keys.is_some_and(|v| v.is_true());
    if let Some(separators) = separators.filter(|v| !v.is_none()) {
        let parts: Vec<Value> = separators.try_iter()?.collect();
        match parts.as_slice() {
            [item, key] => {
                opts.item_separator = pyjson::py_str(item);
                opts.key_separator = pyjson::py_str(key);
            }
            _ => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson: separators must be an (item_separator, key_separator) pair",
                ));
            }
        }
    }
    pyjson::dumps(value, &opts).map(Value::from).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
}

/// Jinja2's `trim`: Python's `str.strip()` (which also strips the information separators U+001C..U+001F), or
/// `strip(chars)`.
fn trim(value: &Value, chars: Option<String>) -> String {
    let text = pyjson::py_str(value);
    match chars {
        Some(chars) => text.trim_matches(|c| chars.contains(c)).to_owned(),
        None => text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)).to_owned(),
    }
}

/// `{% generation %}` / `{% endgeneration %}` (transformers' marker for assistant tokens) become `{% if true %}` /
/// `{% endif %}`, keeping their whitespace control, since minijinja has no such tag.
fn rewrite_generation_blocks(source: &str) -> Cow<'_, str> {
    if !source.contains("generation") {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find("%}") else {
            out.push_str(tag);
            rest = "";
            break;
        };
        let inner = &tag[2..end];
        let trimmed = inner.trim_start_matches(['-', '+']).trim_end_matches(['-', '+']).trim();
        let replacement = match trimmed {
            "generation" => Some("if true"),
            "endgeneration" => Some("endif"),
            _ => None,
        };
        match replacement {
            Some(keyword) => {
                out.push_str("{%");
                out.push_str(&inner.replacen(trimmed, keyword, 1));
                out.push_str("%}");
            }
            None => out.push_str(&tag[..end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A message as templates see it: `role` and `content` always; `tool_calls`, `tool_call_id` and `name` only when
/// present (templates test `'tool_calls' in message` and `message.tool_calls is defined`).
fn message_value(m: &ChatMessage, object_arguments: bool) -> Value {
    let mut pairs: Vec<(&str, Value)> =
        vec![("role", Value::from(m.role.as_str())), ("content", Value::from(m.content.as_str()))];
    if let Some(calls) = &m.tool_calls {
        let calls = if object_arguments { Cow::Owned(arguments_as_objects(calls)) } else { Cow::Borrowed(calls) };
        pairs.push(("tool_calls", json_to_value(&calls)));
    }
    if let Some(id) = &m.tool_call_id {
        pairs.push(("tool_call_id", Value::from(id.as_str())));
    }
    if let Some(name) = &m.name {
        pairs.push(("name", Value::from(name.as_str())));
    }
    Value::from_pairs(pairs)
}

/// OpenAI sends a tool call's `function.arguments` as a JSON string; templates written for transformers expect the
/// object (`tool_call.arguments | tojson`). Strings that hold a JSON object are replaced by it.
fn arguments_as_objects(calls: &Json) -> Json {
    let mut calls = calls.clone();
    if let Json::Array(items) = &mut calls {
        for call in items {
            let target = match call.get_mut("function") {
                Some(function) if function.is_object() => function,
                _ => call,
            };
            if let Some(args) = target.get_mut("arguments")
                && let Some(text) = args.as_str()
                && let Ok(parsed @ Json::Object(_)) = serde_json::from_str::<Json>(text)
            {
                *args = parsed;
            }
        }
    }
    calls
}

/// For templates without a system role (they drop it or raise, as Gemma 2's does): the system messages' text goes
/// in front of the first user message, separated by a blank line, as Gemma 3's template does it. Without a user
/// message it becomes one.
fn fold_system(messages: &[ChatMessage]) -> Cow<'_, [ChatMessage]> {
    if !messages.iter().any(|m| m.role == "system") {
        return Cow::Borrowed(messages);
    }
    let system: Vec<&str> = messages.iter().filter(|m| m.role == "system").map(|m| m.content.as_str()).collect();
    let system = system.join("\n\n");
    let mut out: Vec<ChatMessage> = messages.iter().filter(|m| m.role != "system").cloned().collect();
    match out.iter_mut().find(|m| m.role == "user") {
        Some(first) => first.content = format!("{system}\n\n{}", first.content),
        None => out.insert(0, ChatMessage::new("user", system)),
    }
    Cow::Owned(out)
}

/// JSON (with key order kept) as a template value.
pub(crate) fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(json_to_value).collect::<Vec<_>>()),
        Json::Object(map) => Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), json_to_value(v)))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn render(source: &str, messages: &[ChatMessage]) -> Result<String> {
        JinjaTemplate::new(source, "<s>", "</s>")?.render(messages, &RenderOptions::default(), "<s>", "</s>")
    }

    fn user(text: &str) -> Vec<ChatMessage> {
        vec![ChatMessage::new("user", text)]
    }

    #[test]
    fn prints_python_values() {
        let out =
            render("{{ none }}|{{ true }}|{{ [1, 'a', none] }}|{{ {'k': false} }}|{{ 1.5 }}|{{ none|string }}", &[])
                .unwrap();
        assert_eq!(out, "None|True|[1, 'a', None]|{'k': False}|1.5|None");
    }

    #[test]
    fn tojson_options() {
        let src = "{{ x|tojson }}|{{ x|tojson(indent=2) }}|{{ x|tojson(separators=(',', ':')) }}|\
                   {{ x|tojson(sort_keys=true, ensure_ascii=true) }}";
        let mut opts = RenderOptions::default();
        opts.kwargs.insert("x".into(), serde_json::json!({"b": "é</s>", "a": [1]}));
        let t = JinjaTemplate::new(src, "", "").unwrap();
        let out = t.render(&[], &opts, "", "").unwrap();
        assert_eq!(
            out,
            "{\"b\": \"é</s>\", \"a\": [1]}|{\n  \"b\": \"é</s>\",\n  \"a\": [\n    1\n  ]\n}|{\"b\":\"é</s>\",\"a\":[1]}|\
             {\"a\": [1], \"b\": \"\\u00e9</s>\"}"
        );
    }

    #[test]
    fn python_string_methods_and_tests() {
        let src = "{{ messages[0].content.split(',')[1].strip() }}|{{ messages[0].content.startswith('a') }}|\
                   {{ 'abc' is iterable }}|{{ 'abc' is sequence }}|{{ 'x' is string }}|{{ {'a': 1}.get('b', 2) }}|\
                   {% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}";
        assert_eq!(render(src, &user("a, b ,c")).unwrap(), "b|True|True|True|True|2|a=1");
    }

    #[test]
    fn trim_blocks_and_lstrip_blocks() {
        let src = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}\n";
        assert_eq!(render(src, &user("hi")).unwrap(), "[hi]\n");
    }

    #[test]
    fn loop_controls() {
        let src = "{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}";
        assert_eq!(render(src, &[]).unwrap(), "02");
    }

    #[test]
    fn raise_exception_keeps_the_message() {
        let err = render("{{ raise_exception('Roles must alternate') }}", &[]).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert_eq!(err.to_string(), "Roles must alternate");
    }

    #[test]
    fn undefined_is_lenient_like_jinja2() {
        assert_eq!(
            render("[{{ nothing }}][{% for x in nothing %}x{% endfor %}][{{ nothing is defined }}]", &[]).unwrap(),
            "[][][False]"
        );
        assert_eq!(render("[{{ messages[0].name }}]", &user("hi")).unwrap(), "[]");
        // As in Jinja2, an attribute of an undefined value is an error.
        let err = render("{{ nothing.attr }}", &[]).unwrap_err();
        assert!(err.to_string().contains("chat template failed"), "{err}");
    }

    #[test]
    fn syntax_error_is_reported_at_construction() {
        let err = JinjaTemplate::new("{% for m in messages %}{{ m.content }}", "", "").unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().starts_with("invalid chat template: syntax error"), "{err}");
    }

    #[test]
    fn generation_blocks_render_their_body() {
        let src = "{% for m in messages %}{%- generation -%} <{{ m.content }}> {%- endgeneration -%}{% endfor %}";
        assert_eq!(render(src, &user("hi")).unwrap(), "<hi>");
    }

    #[test]
    fn strftime_now_is_available() {
        let out = render("{{ strftime_now('%Y') }}", &[]).unwrap();
        assert_eq!(out, strftime::strftime_now("%Y"));
    }

    #[test]
    fn kwargs_override_special_tokens_but_not_messages() {
        let mut opts = RenderOptions::default();
        opts.kwargs.insert("bos_token".into(), serde_json::json!("<B>"));
        opts.kwargs.insert("messages".into(), serde_json::json!([]));
        let t = JinjaTemplate::new("{{ bos_token }}{{ messages|length }}", "<s>", "").unwrap();
        assert_eq!(t.render(&user("x"), &opts, "<s>", "").unwrap(), "<B>1");
    }

    #[test]
    fn arguments_strings_become_objects() {
        let calls = serde_json::json!([
            {"type": "function", "function": {"name": "f", "arguments": "{\"b\": 1, \"a\": [2]}"}},
            {"function": {"name": "g", "arguments": "not json"}},
            {"name": "h", "arguments": "{}"}
        ]);
        let out = arguments_as_objects(&calls);
        assert_eq!(out[0]["function"]["arguments"], serde_json::json!({"b": 1, "a": [2]}));
        assert_eq!(out[1]["function"]["arguments"], "not json");
        assert_eq!(out[2]["arguments"], serde_json::json!({}));
        // Key order survives.
        assert_eq!(out[0]["function"]["arguments"].to_string(), "{\"b\":1,\"a\":[2]}");
    }

    #[test]
    fn fold_system_into_first_user() {
        let msgs = vec![
            ChatMessage::new("system", "S1"),
            ChatMessage::new("assistant", "A0"),
            ChatMessage::new("system", "S2"),
            ChatMessage::new("user", "U"),
        ];
        let out = fold_system(&msgs);
        assert_eq!(
            out.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect::<Vec<_>>(),
            [("assistant", "A0"), ("user", "S1\n\nS2\n\nU")]
        );
        let only = fold_system(&msgs[..1]);
        assert_eq!(only[0], ChatMessage::new("user", "S1"));
    }
}
