//! Typed requests from a client's JSON, with the same errors whichever host received them: `invalid_json` for
//! text that is not JSON, `invalid_body` naming the field at fault (`messages[0].role: missing field ...`) for JSON
//! of the wrong shape.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};

/// A request body. Empty (or blank) reads as `{}`, so a body-less `POST` takes every default. The text is parsed
/// first (`invalid_json`), then typed exactly as [`from_value`] types napi's arguments.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    from_value(value_from_slice(bytes)?)
}

/// A request body as JSON, not yet typed (`invalid_json` when it is not JSON; empty reads as `{}`).
pub fn value_from_slice(bytes: &[u8]) -> Result<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes).map_err(|e| not_json(&e))
}

fn not_json(e: &serde_json::Error) -> Error {
    Error::Field { code: ErrorCode::InvalidJson, param: None, message: format!("The body is not valid JSON: {e}") }
}

/// A request already parsed as JSON (napi's arguments); `null` reads as `{}`.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    let value = if value.is_null() { Value::Object(Default::default()) } else { value };
    serde_path_to_error::deserialize(value).map_err(shape_error)
}

/// Part of a request read from its JSON in place: a body read as several structs (see
/// [`crate::inference::ChatCompletionRequest::from_json`]) is not copied for each.
pub fn from_ref<T: DeserializeOwned>(value: &Value) -> Result<T> {
    if value.is_null() {
        return from_value(Value::Null);
    }
    serde_path_to_error::deserialize(value).map_err(shape_error)
}

fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string();
    let (param, message) = if path.is_empty() || path == "." {
        (None, e.inner().to_string())
    } else {
        (Some(path.clone()), format!("{path}: {}", e.inner()))
    };
    Error::Field {
        code: ErrorCode::InvalidBody,
        param,
        message: format!("The body does not have the expected fields and types: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)]
        model: String,
        #[serde(default)]
        #[allow(dead_code)]
        messages: Vec<Message>,
    }

    #[derive(Debug, Deserialize)]
    struct Message {
        #[allow(dead_code)]
        role: String,
    }

    #[test]
    fn errors_name_the_field_the_same_from_bytes_and_values() {
        let e = from_slice::<Body>(br#"{"model": "m", "messages": [{"content": "x"}]}"#).unwrap_err();
        assert_eq!((e.code(), e.param()), (ErrorCode::InvalidBody, Some("messages[0]")));
        assert!(e.to_string().contains("missing field `role`"), "{e}");
        let v = from_value::<Body>(json!({"model": "m", "messages": [{"content": "x"}]})).unwrap_err();
        assert_eq!((v.code(), v.param()), (e.code(), e.param()));
        let r = from_ref::<Body>(&json!({"model": "m", "messages": [{"content": "x"}]})).unwrap_err();
        assert_eq!((r.code(), r.param()), (e.code(), e.param()));
        assert_eq!(from_slice::<Body>(br#"{"model": 3}"#).unwrap_err().param(), Some("model"));
        assert_eq!(from_slice::<Body>(b"{nope").unwrap_err().code(), "invalid_json");
        assert_eq!(from_slice::<Body>(b"{} x").unwrap_err().code(), "invalid_json");
        assert!(from_slice::<Body>(b"  ").unwrap_err().to_string().contains("missing field `model`"));
    }
}
