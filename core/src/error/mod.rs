//! The core's one error type.
//!
//! Every variant has a stable machine code ([`Error::code`], an [`ErrorCode`]) that carries the HTTP status and
//! OpenAI type hosts answer with. Messages are written for the person using the product; errors whose code is
//! internal (paths, OS and engine errors) leave a process only as [`Error::public_message`].

mod code;

use std::path::PathBuf;

pub use code::ErrorCode;

/// OpenAI's error object, as every host sends it: `{"message", "type", "param", "code"}` (host-web wraps it in
/// `{"error": ...}`; a thread reply's `error` event carries it; napi's `Error` has the same fields). The message of
/// an internal error is its public sentence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub message: String,
    /// OpenAI's error type (`invalid_request_error`, `rate_limit_error`, ...), fixed by the code.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
    #[cfg_attr(feature = "typescript", ts(type = "ErrorCode"))]
    pub code: ErrorCode,
}

impl ErrorBody {
    /// An error of `code` with this message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody { message: message.into(), kind: code.openai_type().to_owned(), param: None, code }
    }
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody { param: e.param().map(str::to_owned), ..ErrorBody::new(e.code(), e.public_message()) }
    }
}

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object of this kind with this id exists.
    #[error("{kind} '{id}' was not found")]
    NotFound { kind: &'static str, id: String },

    /// A request names a model that does not exist (or whose id could not be one).
    #[error("The model '{id}' does not exist")]
    ModelNotFound { id: String },

    /// A field of a request is missing, of the wrong type, out of range or not supported; `param` names it as
    /// OpenAI's errors do (`temperature`, `messages[1].content[0]`).
    #[error("{message}")]
    Field { code: ErrorCode, param: Option<String>, message: String },

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
    /// The stable, machine-readable code of this error; it decides the HTTP status and OpenAI type.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::ModelNotFound { .. } => ErrorCode::ModelNotFound,
            Error::Field { code, .. } => *code,
            Error::InvalidId { .. } => ErrorCode::InvalidId,
            Error::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::ChecksumMismatch { .. } => ErrorCode::ChecksumMismatch,
            Error::DiskFull(_) => ErrorCode::DiskFull,
            Error::HttpStatus { .. } => ErrorCode::HttpStatus,
            Error::Network(_) => ErrorCode::Network,
            Error::Cancelled(_) => ErrorCode::Cancelled,
            Error::CorruptFile { .. } => ErrorCode::CorruptFile,
            Error::InvalidGguf(_) => ErrorCode::InvalidGguf,
            Error::Overloaded(_) => ErrorCode::Overloaded,
            Error::ContextLengthExceeded { .. } => ErrorCode::ContextLengthExceeded,
            Error::Unsupported(_) => ErrorCode::Unsupported,
            Error::Engine(_) => ErrorCode::EngineError,
            Error::Upstream { .. } => ErrorCode::UpstreamError,
            Error::Io { .. } => ErrorCode::Io,
        }
    }

    /// The HTTP status a host answers this error with, and OpenAI's error `type`.
    pub fn http_status(&self) -> (u16, &'static str) {
        let code = self.code();
        (code.http_status(), code.openai_type())
    }

    /// The message a client may see: the error's own, or for an internal error ([`ErrorCode::is_internal`]) a
    /// sentence without its detail (which the host logs).
    pub fn public_message(&self) -> String {
        let code = self.code();
        if code.is_internal() { code.public_message().to_owned() } else { self.to_string() }
    }

    /// The request field at fault, for OpenAI's `param`.
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::Field { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// A field problem (`code` one of the field codes: invalid_value, invalid_type, missing_field, ...).
    pub fn field(code: ErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Field { code, param: Some(param.into()), message: message.into() }
    }

    /// A model that is not there, by the id the caller gave.
    pub fn model_not_found(id: impl Into<String>) -> Self {
        Error::ModelNotFound { id: id.into() }
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
    fn internal_detail_stays_inside() {
        let e = Error::io("reading /secret/path", std::io::Error::from_raw_os_error(13));
        assert_eq!(e.code(), "io");
        assert!(e.to_string().contains("/secret/path"));
        assert!(!e.public_message().contains("/secret/path"), "{}", e.public_message());
        let e = Error::Overloaded("the queue is full".into());
        assert_eq!(e.public_message(), "the queue is full");
        assert_eq!(e.http_status(), (429, "rate_limit_error"));
    }

    #[test]
    fn http_404_message_is_clear() {
        let e = Error::HttpStatus { url: "http://h/x.gguf".into(), status: 404 };
        assert_eq!(e.code(), "http_status");
        assert!(e.to_string().contains("no file at this address"), "{e}");
    }
}
