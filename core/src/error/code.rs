//! [`ErrorCode`]: every machine code a client of Jan can see, from the core or from a host, with the one HTTP status
//! and OpenAI error `type` that goes with it. host-web answers with them, bindings-node puts them on its `Error`s,
//! and the UI and the desktop's IPC read the generated table (`bindings-node/error-codes.json`) instead of keeping
//! their own.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal => $status:literal, $kind:literal; )*) => {
        /// A stable, machine-readable error code; serialised as its string (`"not_found"`, `"overloaded"`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            /// The HTTP status a host answers with (IPC reports it too, so the UI treats both transports alike).
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }

            /// OpenAI's error `type` for this code.
            pub const fn openai_type(self) -> &'static str {
                match self { $(ErrorCode::$variant => $kind),* }
            }
        }
    };
}

error_codes! {
    // The core's errors (`Error::code`).
    /// No object of this kind with this id.
    NotFound = "not_found" => 404, "not_found_error";
    /// A request names a model that does not exist (OpenAI's code).
    ModelNotFound = "model_not_found" => 404, "invalid_request_error";
    /// An id or file name that cannot be a single path component.
    InvalidId = "invalid_id" => 400, "invalid_request_error";
    /// A request that is malformed or asks for something impossible.
    InvalidRequest = "invalid_request" => 400, "invalid_request_error";
    /// A field's value is out of range or not one of those allowed.
    InvalidValue = "invalid_value" => 400, "invalid_request_error";
    /// A field has the wrong JSON type.
    InvalidType = "invalid_type" => 400, "invalid_request_error";
    /// A required field is missing.
    MissingField = "missing_field" => 400, "invalid_request_error";
    /// A field's value is valid JSON but not supported here (e.g. `n` other than 1).
    UnsupportedValue = "unsupported_value" => 400, "invalid_request_error";
    /// A message part of a kind this server cannot take (e.g. an image for a text model).
    UnsupportedContent = "unsupported_content" => 400, "invalid_request_error";
    /// The body is not JSON.
    InvalidJson = "invalid_json" => 400, "invalid_request_error";
    /// The body is JSON but not of the expected fields and types.
    InvalidBody = "invalid_body" => 400, "invalid_request_error";
    /// The body is empty where one is needed.
    EmptyBody = "empty_body" => 400, "invalid_request_error";
    /// The prompt does not fit the model's context.
    ContextLengthExceeded = "context_length_exceeded" => 400, "invalid_request_error";
    /// Not a readable GGUF file.
    InvalidGguf = "invalid_gguf" => 400, "invalid_request_error";
    /// A model or feature the core does not support.
    Unsupported = "unsupported" => 422, "invalid_request_error";
    /// The object exists already or is in a state that forbids the operation.
    Conflict = "conflict" => 409, "invalid_request_error";
    /// The operation is never allowed on this object.
    Forbidden = "forbidden" => 403, "permission_error";
    /// The model's queue is full (or memory is taken by busy models); try again shortly.
    Overloaded = "overloaded" => 429, "rate_limit_error";
    /// The caller stopped the operation (nginx's "client closed request").
    Cancelled = "cancelled" => 499, "invalid_request_error";
    /// A remote engine refused or failed the request.
    UpstreamError = "upstream_error" => 502, "upstream_error";
    /// The network failed.
    Network = "network" => 502, "upstream_error";
    /// A remote server answered with an HTTP error status.
    HttpStatus = "http_status" => 502, "upstream_error";
    /// A download's sha256 did not match.
    ChecksumMismatch = "checksum_mismatch" => 502, "upstream_error";
    /// No room left on the disk holding the data folder.
    DiskFull = "disk_full" => 507, "server_error";
    /// A file of the data folder cannot be parsed (its detail stays in the log).
    CorruptFile = "corrupt_file" => 500, "server_error";
    /// The inference engine failed (its detail stays in the log).
    EngineError = "engine_error" => 500, "server_error";
    /// The system refused an operation on the data folder (its detail stays in the log).
    Io = "io" => 500, "server_error";

    // Codes the hosts add at their edge.
    /// The body is larger than the server accepts.
    RequestTooLarge = "request_too_large" => 413, "invalid_request_error";
    /// The route does not take this method.
    MethodNotAllowed = "method_not_allowed" => 405, "invalid_request_error";
    /// The body's type is not the one the route takes.
    UnsupportedMediaType = "unsupported_media_type" => 415, "invalid_request_error";
    /// A name (of an API key) that is not acceptable.
    InvalidName = "invalid_name" => 400, "invalid_request_error";
    /// No session and no valid API key.
    InvalidApiKey = "invalid_api_key" => 401, "authentication_error";
    /// An API key used where only a logged-in session may go (the UI's own API).
    ApiKeyNotAllowed = "api_key_not_allowed" => 403, "permission_error";
    /// A login with the wrong username or password.
    InvalidCredentials = "invalid_credentials" => 401, "authentication_error";
    /// Too many failed logins from this client; try again later.
    TooManyAttempts = "too_many_attempts" => 429, "rate_limit_error";
    /// A login on a server (or the desktop) that has none.
    LoginNotConfigured = "login_not_configured" => 400, "invalid_request_error";
    /// A cross-origin request that would change state.
    CrossOrigin = "cross_origin" => 403, "permission_error";
    /// A request addressed to a host name this server does not answer.
    HostNotAllowed = "host_not_allowed" => 403, "permission_error";
    /// The request took longer than the server allows.
    Timeout = "timeout" => 504, "server_error";
    /// The desktop's IPC was asked for a method it does not have.
    UnknownMethod = "unknown_method" => 400, "invalid_request_error";
    /// Anything else: the detail is in the server's (or the app's) log, never in the answer.
    InternalError = "internal_error" => 500, "server_error";
}

impl ErrorCode {
    /// The code of this string, if it is one.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Whether an error of this code may carry internal detail (paths, OS or engine errors): hosts then answer
    /// with [`ErrorCode::public_message`] and keep the detail in their log.
    pub const fn is_internal(self) -> bool {
        self.http_status() == 500
    }

    /// What a client is told for an internal error.
    pub const fn public_message(self) -> &'static str {
        match self {
            ErrorCode::Io => "The data folder could not be read or written; the server's log has the detail.",
            ErrorCode::CorruptFile => "A file in the data folder could not be read; the server's log names it.",
            ErrorCode::EngineError => "The inference engine failed; the server's log has the detail.",
            _ => "Internal error; the server's log has the detail.",
        }
    }

    /// The table as JSON: `{code: {status, type}}` in the table's order (the generated
    /// `bindings-node/error-codes.json`).
    pub fn table() -> serde_json::Value {
        let map = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), serde_json::json!({"status": c.http_status(), "type": c.openai_type()})))
            .collect();
        serde_json::Value::Object(map)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ErrorCode::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown error code '{text}'")))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let codes = ErrorCode::ALL.iter().map(|c| c.as_str());
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("A stable machine code; its HTTP status and OpenAI type are fixed (`ErrorCode::table`)."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::json!(code.as_str()));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    #[test]
    fn only_500s_are_internal() {
        assert!(ErrorCode::Io.is_internal() && ErrorCode::EngineError.is_internal());
        assert!(!ErrorCode::Overloaded.is_internal() && !ErrorCode::DiskFull.is_internal());
        assert_eq!(ErrorCode::ContextLengthExceeded.http_status(), 400);
        assert_eq!(ErrorCode::Overloaded.openai_type(), "rate_limit_error");
    }
}
