//! Python's `json.dumps` and `str()` for template values, so that templates written against Hugging Face's
//! `apply_chat_template` print exactly what they print there.
//!
//! transformers replaces Jinja's own `tojson` filter with
//! `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`: no HTML
//! escaping, `", "` and `": "` as separators (`","` and `": "` once `indent` is given), keys in insertion order,
//! floats as Python's `repr`. minijinja's built-in `tojson` differs on all of these (compact separators, HTML
//! escapes), so it is replaced.

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};

/// The options of Python's `json.dumps` that transformers' `tojson` exposes.
#[derive(Debug, Clone)]
pub(crate) struct JsonOptions {
    pub ensure_ascii: bool,
    /// `None`: everything on one line. `Some(s)`: one item per line, indented by `s` per level.
    pub indent: Option<String>,
    pub item_separator: String,
    pub key_separator: String,
    pub sort_keys: bool,
}

impl JsonOptions {
    /// `json.dumps`' defaults for the given indent: `(", ", ": ")` on one line, `(",", ": ")` when indenting.
    pub fn new(indent: Option<String>) -> Self {
        let item_separator = if indent.is_some() { "," } else { ", " }.to_owned();
        JsonOptions { ensure_ascii: false, indent, item_separator, key_separator: ": ".to_owned(), sort_keys: false }
    }
}

/// `json.dumps(value, ...)`. Fails, as Python does, on values JSON cannot hold (undefined, bytes, objects).
pub(crate) fn dumps(value: &Value, opts: &JsonOptions) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, value, opts, 0)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value, opts: &JsonOptions, depth: usize) -> Result<(), String> {
    match value.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value, true),
        ValueKind::String => write_json_str(out, value.as_str().unwrap_or_default(), opts.ensure_ascii),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter().map_err(|e| e.to_string())?.collect();
            write_container(out, '[', ']', &items, opts, depth, |out, item, depth| {
                write_value(out, item, opts, depth)
            })?;
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in value.try_iter().map_err(|e| e.to_string())? {
                let item = value.get_item(&key).map_err(|e| e.to_string())?;
                entries.push((json_key(&key)?, item));
            }
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            write_container(out, '{', '}', &entries, opts, depth, |out, (key, item), depth| {
                write_json_str(out, key, opts.ensure_ascii);
                out.push_str(&opts.key_separator);
                write_value(out, item, opts, depth)
            })?;
        }
        ValueKind::Undefined => return Err("Object of type Undefined is not JSON serializable".to_owned()),
        kind => return Err(format!("Object of type {kind} is not JSON serializable")),
    }
    Ok(())
}

/// Python's layout: `[a, b]` on one line; with an indent, a newline and the indent before each item and before the
/// closing bracket, and nothing inside an empty container.
fn write_container<T>(
    out: &mut String,
    open: char,
    close: char,
    items: &[T],
    opts: &JsonOptions,
    depth: usize,
    mut write_item: impl FnMut(&mut String, &T, usize) -> Result<(), String>,
) -> Result<(), String> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&opts.item_separator);
        }
        if let Some(indent) = &opts.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth + 1));
        }
        write_item(out, item, depth + 1)?;
    }
    if let Some(indent) = &opts.indent {
        out.push('\n');
        out.push_str(&indent.repeat(depth));
    }
    out.push(close);
    Ok(())
}

/// JSON object keys as Python converts them: strings as they are, numbers, booleans and None spelled as JSON.
fn json_key(key: &Value) -> Result<String, String> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_owned()),
        ValueKind::None => Ok("null".to_owned()),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.to_owned()),
        ValueKind::Number => {
            let mut s = String::new();
            write_number(&mut s, key, true);
            Ok(s)
        }
        kind => Err(format!("keys must be str, int, float, bool or None, not {kind}")),
    }
}

/// Integers in full; floats as Python's `repr` (`json` spells the non-finite ones `NaN`, `Infinity`).
fn write_number(out: &mut String, value: &Value, json: bool) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
        return;
    }
    let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
    if f.is_nan() {
        out.push_str(if json { "NaN" } else { "nan" });
    } else if f.is_infinite() {
        let s = if json { "Infinity" } else { "inf" };
        if f < 0.0 {
            out.push('-');
        }
        out.push_str(s);
    } else {
        out.push_str(&float_repr(f));
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for decimal exponents -4..16,
/// scientific (`1e+16`, `1.5e-05`) outside, and always a `.0` on integral positional values.
pub(crate) fn float_repr(f: f64) -> String {
    // Rust's `{:e}` gives the same shortest round-trip digits: "1.5e-5", "-1e16".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::from(sign);
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.push_str(&"0".repeat(int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    }
    out
}

/// A JSON string literal as Python's encoder writes it (lowercase `\u00xx` escapes; with `ensure_ascii`, every
/// non-ASCII character as `\uXXXX`, astral ones as surrogate pairs).
fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `str(value)`, which Jinja uses to print `{{ value }}`: `None`, `True`, `False`, lists and dicts as
/// Python literals (`['a', 1]`, `{'k': None}`), floats as `repr`. Undefined prints as nothing.
pub(crate) fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        _ => {
            let mut out = String::new();
            write_repr(&mut out, value);
            out
        }
    }
}

/// Python's `repr(value)` for the types templates see.
fn write_repr(out: &mut String, value: &Value) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(out, value, false),
        ValueKind::String => write_str_repr(out, value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(items) = value.try_iter() {
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &item);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &key);
                    out.push_str(": ");
                    write_repr(out, &value.get_item(&key).unwrap_or_default());
                }
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has single quotes and no double quotes; non-printable
/// characters escaped (`\n`, `\x00`, `\u200b`). Printability follows Python for the common cases (control and
/// format characters, separators, non-breaking spaces, private use); rarer unassigned code points print as is.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

fn is_printable(c: char) -> bool {
    let n = c as u32;
    !(c.is_control()
        || matches!(n, 0xa0 | 0xad | 0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x3000 | 0xfeff)
        || (0xe000..=0xf8ff).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: serde_json::Value) -> Value {
        super::super::jinja::json_to_value(&v)
    }

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (2.5e-300, "2.5e-300"),
            (3.25159, "3.25159"),
            (100.25, "100.25"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn dumps_matches_python_defaults() {
        let v = json(serde_json::json!({"b": [1, 2.0, "é<>&'\"\n\u{1}"], "a": {}, "c": [], "d": null, "e": true}));
        let got = dumps(&v, &JsonOptions::new(None)).unwrap();
        assert_eq!(got, r#"{"b": [1, 2.0, "é<>&'\"\n\u0001"], "a": {}, "c": [], "d": null, "e": true}"#);
    }

    #[test]
    fn dumps_indent_sort_and_ascii() {
        let v = json(serde_json::json!({"z": [1, {"y": "ü😀"}], "a": []}));
        let mut opts = JsonOptions::new(Some("  ".into()));
        opts.sort_keys = true;
        opts.ensure_ascii = true;
        let got = dumps(&v, &opts).unwrap();
        assert_eq!(
            got,
            "{\n  \"a\": [],\n  \"z\": [\n    1,\n    {\n      \"y\": \"\\u00fc\\ud83d\\ude00\"\n    }\n  ]\n}"
        );
    }

    #[test]
    fn undefined_is_not_serializable() {
        assert!(dumps(&Value::UNDEFINED, &JsonOptions::new(None)).is_err());
    }

    #[test]
    fn str_prints_python_literals() {
        let v = json(serde_json::json!({"a": [1, "it's", "x\"y'z", null, false, 1.0], "b": "\u{200b}\t"}));
        assert_eq!(py_str(&v), r#"{'a': [1, "it's", 'x"y\'z', None, False, 1.0], 'b': '\u200b\t'}"#);
        assert_eq!(py_str(&Value::from(())), "None");
        assert_eq!(py_str(&Value::from(true)), "True");
        assert_eq!(py_str(&Value::UNDEFINED), "");
        assert_eq!(py_str(&Value::from("plain")), "plain");
    }
}
