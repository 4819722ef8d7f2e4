//! Validation of every id and file name a caller hands the core.
//!
//! Ids become single path components under the data folder (`models/<id>/`, `threads/<id>/`...). Jan's own server
//! mode let clients name paths and paid for it (CVE-2024-36857); here nothing a caller supplies reaches the
//! filesystem before it passes [`check`]. The rules are those of the strictest filesystem the desktop app runs on
//! (Windows), so a folder written on Linux can be copied anywhere.

use crate::error::{Error, Result};

/// What a caller-supplied name identifies; it picks the length limit and names the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Model,
    Thread,
    Message,
    Assistant,
    Download,
    FileName,
}

impl IdKind {
    fn label(self) -> &'static str {
        match self {
            IdKind::Model => "model id",
            IdKind::Thread => "thread id",
            IdKind::Message => "message id",
            IdKind::Assistant => "assistant id",
            IdKind::Download => "download id",
            IdKind::FileName => "file name",
        }
    }

    /// Limits in bytes: ids stay well below the 255-byte component limit so that suffixes (`.download`, temp
    /// names) always fit.
    fn max_len(self) -> usize {
        match self {
            IdKind::FileName => 200,
            _ => 128,
        }
    }
}

const FORBIDDEN_CHARS: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];
const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];

/// Checks that `value` is safe to use as one path component for an object of `kind`, and returns it.
///
/// Refused: empty, longer than the kind's limit, `.`/`..` or any leading dot, separators and the other
/// characters Windows forbids, control characters (NUL included), trailing dot or space, and Windows'
/// reserved device names (`CON`, `NUL`, `COM1`, ... with or without an extension).
pub fn check(kind: IdKind, value: &str) -> Result<&str> {
    let fail = |reason: &str| Err(Error::InvalidId { kind: kind.label(), reason: reason.to_owned() });
    if value.is_empty() {
        return fail("it is empty");
    }
    if value.len() > kind.max_len() {
        return fail(&format!("it is longer than {} bytes", kind.max_len()));
    }
    if value.starts_with('.') {
        return fail("it may not start with '.'");
    }
    if value.ends_with('.') || value.ends_with(' ') {
        return fail("it may not end with '.' or a space");
    }
    if let Some(c) = value.chars().find(|c| FORBIDDEN_CHARS.contains(c) || c.is_control()) {
        return fail(&format!("it contains the character {c:?}"));
    }
    let stem = value.split('.').next().unwrap_or(value).to_ascii_uppercase();
    let device_with_digit =
        (stem.starts_with("COM") || stem.starts_with("LPT")) && stem.len() == 4 && stem.as_bytes()[3].is_ascii_digit();
    if RESERVED.contains(&stem.as_str()) || device_with_digit {
        return fail("it is a reserved device name");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_jan_ids() {
        for ok in [
            "jan",
            "jan_1700000000",
            "01HF2Z4Q9M4S1T6R3V8W0XYZAB",
            "qwen2.5-coder-0.5b-instruct",
            "gemma-3-270m-q4_k_m.gguf",
            "Llama-3.2-1B-Instruct-Q4_K_M",
            "模型",
            "console",
            "com10",
        ] {
            assert_eq!(check(IdKind::Model, ok).ok(), Some(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_anything_that_could_escape_or_misbehave() {
        let long = "a".repeat(129);
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "..\\x",
            "a/b",
            "a\\b",
            "/etc",
            "C:\\x",
            "c:",
            "a\0b",
            "a\nb",
            ".hidden",
            "x.",
            "x ",
            "CON",
            "nul",
            "nul.txt",
            "COM1",
            "lpt9.gguf",
            "a*b",
            "a?b",
            "a|b",
            "<a>",
            &long,
        ] {
            let err = check(IdKind::Thread, bad).expect_err(bad);
            assert_eq!(err.code(), "invalid_id", "{bad:?}");
        }
    }

    #[test]
    fn file_names_may_be_longer_than_ids() {
        let name = format!("{}.gguf", "m".repeat(150));
        assert!(check(IdKind::FileName, &name).is_ok());
        assert!(check(IdKind::Model, &name).is_err());
    }
}
