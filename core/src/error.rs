//! The core's one error type.
//!
//! Every variant has a stable machine code ([`Error::code`]) that hosts map once at their edge: host-web to an
//! HTTP status and OpenAI's error shape, bindings-node to a rejected promise whose `code` is this string. Messages
//! are written for the person using the product; internal detail (paths, OS errors) stays in the `Io` variant,
//! which hosts must not forward to remote clients verbatim.

use std::path::PathBuf;

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object of this kind with this id exists.
    #[error("{kind} '{id}' was not found")]
    NotFound { kind: &'static str, id: String },

    /// An id or file name given by a caller is not acceptable as a single path component.
    #[error("invalid {kind}: {reason}")]
    InvalidId { kind: &'static str, reason: String },

    /// The request is malformed or asks for something impossible (bad URL, bad patch, bad transition).
    #[error("{0}")]
    InvalidRequest(String),

    /// The object already exists or is in a state that forbids the operation (e.g. already downloading).
    #[error("{0}")]
    Conflict(String),

    /// The operation is never allowed on this object (e.g. deleting the default assistant).
    #[error("{0}")]
    Forbidden(String),

    /// A downloaded file's sha256 did not match the expected digest; the file was discarded.
    #[error("checksum mismatch for {file}: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch { file: String, expected: String, actual: String },

    /// The disk (or quota) holding the data folder has no room for the write.
    #[error("not enough disk space: {0}")]
    DiskFull(String),

    /// A remote server answered with an HTTP error status.
    #[error("{url} answered HTTP {status}{}", if *.status == 404 { " (no file at this address)" } else { "" })]
    HttpStatus { url: String, status: u16 },

    /// The network failed (DNS, connect, TLS, connection dropped) and retries did not help.
    #[error("network error: {0}")]
    Network(String),

    /// The operation was cancelled by the caller.
    #[error("{0} was cancelled")]
    Cancelled(String),

    /// A file in the data folder exists but cannot be parsed; it was left untouched.
    #[error("{path} is not valid: {message}")]
    CorruptFile { path: PathBuf, message: String },

    /// A file offered as a GGUF model is not a readable GGUF file.
    #[error("not a valid GGUF file: {0}")]
    InvalidGguf(String),

    /// The inference queue is full; try again later (HTTP hosts answer 429).
    #[error("{0}")]
    Overloaded(String),

    /// The prompt does not fit the model's context window.
    #[error("the prompt has {prompt_tokens} tokens but the context holds {context}")]
    ContextLengthExceeded { prompt_tokens: usize, context: usize },

    /// The model or feature is not supported (e.g. a GGUF architecture the core does not implement).
    #[error("{0}")]
    Unsupported(String),

    /// The inference engine failed while running a model.
    #[error("inference failed: {0}")]
    Engine(String),

    /// A remote (OpenAI-compatible) engine refused or failed the request.
    #[error("the remote engine answered{}: {message}", status.map(|s| format!(" HTTP {s}")).unwrap_or_default())]
    Upstream { status: Option<u16>, message: String },

    /// The system refused an operation on the data folder.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A stable, machine-readable code for this error; hosts map it to statuses and JS error codes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::InvalidId { .. } => "invalid_id",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Conflict(_) => "conflict",
            Error::Forbidden(_) => "forbidden",
            Error::ChecksumMismatch { .. } => "checksum_mismatch",
            Error::DiskFull(_) => "disk_full",
            Error::HttpStatus { .. } => "http_status",
            Error::Network(_) => "network",
            Error::Cancelled(_) => "cancelled",
            Error::CorruptFile { .. } => "corrupt_file",
            Error::InvalidGguf(_) => "invalid_gguf",
            Error::Overloaded(_) => "overloaded",
            Error::ContextLengthExceeded { .. } => "context_length_exceeded",
            Error::Unsupported(_) => "unsupported",
            Error::Engine(_) => "engine_error",
            Error::Upstream { .. } => "upstream_error",
            Error::Io { .. } => "io",
        }
    }

    /// The HTTP status a host answers this error with, and OpenAI's error `type` (see [`status_for_code`]).
    pub fn http_status(&self) -> (u16, &'static str) {
        status_for_code(self.code())
    }

    pub(crate) fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { kind, id: id.into() }
    }

    /// Wraps an I/O error with what was being done; a full disk becomes [`Error::DiskFull`].
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        let context = context.into();
        if is_disk_full(&source) {
            return Error::DiskFull(format!("{context}: {source}"));
        }
        Error::Io { context, source }
    }
}

/// The HTTP status and OpenAI error `type` for an error code ([`Error::code`], or `model_not_found`, which hosts
/// use for a named model that is not there). host-web answers with them, and the desktop's IPC sends them too so
/// the UI reports both transports alike. 500 means the detail is internal (paths, OS errors): remote clients must
/// not see the message.
pub fn status_for_code(code: &str) -> (u16, &'static str) {
    match code {
        "not_found" => (404, "not_found_error"),
        "model_not_found" => (404, "invalid_request_error"),
        "invalid_id" | "invalid_request" | "invalid_gguf" | "context_length_exceeded" => (400, "invalid_request_error"),
        "unsupported" => (422, "invalid_request_error"),
        "conflict" => (409, "invalid_request_error"),
        "forbidden" => (403, "permission_error"),
        "overloaded" => (429, "rate_limit_error"),
        // nginx's "client closed request".
        "cancelled" => (499, "invalid_request_error"),
        "upstream_error" | "network" | "http_status" | "checksum_mismatch" => (502, "upstream_error"),
        "disk_full" => (507, "server_error"),
        _ => (500, "server_error"),
    }
}

/// A reqwest error as a sentence with its causes (reqwest's own text is often just "error sending request"),
/// without the URL, whose query may carry secrets.
pub(crate) fn describe_http(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// Attaches context to `std::io::Result`s inside the core.
pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_maps_to_disk_full() {
        let e = Error::io("writing x", std::io::Error::from_raw_os_error(28));
        assert_eq!(e.code(), "disk_full");
    }

    #[test]
    fn http_404_message_is_clear() {
        let e = Error::HttpStatus { url: "http://h/x.gguf".into(), status: 404 };
        assert_eq!(e.code(), "http_status");
        assert!(e.to_string().contains("no file at this address"), "{e}");
    }
}
