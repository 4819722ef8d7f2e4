//! The core's errors as JavaScript `Error`s: `code` is the core's [`ErrorCode`], `status` and `type` its row of
//! the one table (`bindings-node/error-codes.json`), so the desktop's UI reports failures as the browser's does.
//! An internal error's message is its public sentence; the detail stays out of JavaScript as it stays out of
//! HTTP answers.
//!
//! napi's async functions can only reject with a Node-API status as `code`, so every async method runs through
//! [`spawn`]: the future ends with the core's error, and the completion callback, back on the JS thread, builds
//! the `Error` object itself and rejects with it.

use std::future::Future;

use jan_core::error::ErrorCode;
use napi::Env;
use napi::bindgen_prelude::{JsObjectValue, JsValue, PromiseRaw, ToNapiValue};

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
}

impl From<jan_core::Error> for Failure {
    fn from(e: jan_core::Error) -> Self {
        Failure { code: e.code(), message: e.public_message(), param: e.param().map(str::to_owned) }
    }
}

impl From<jan_core::error::ErrorBody> for Failure {
    fn from(e: jan_core::error::ErrorBody) -> Self {
        Failure { code: e.code, message: e.message, param: e.param }
    }
}

impl Failure {
    /// A failure of this code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure { code, message: message.into(), param: None }
    }

    /// A bad argument from JavaScript.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ErrorCode::InvalidRequest, message)
    }
}

/// The `Error` object for a failure, with `code`, `status`, `type` and `param`.
fn js_error(env: &Env, failure: Failure) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = env.create_error(napi::Error::from_reason(failure.message.clone()))?;
        object.set_named_property("code", failure.code.as_str())?;
        object.set_named_property("status", failure.code.http_status())?;
        object.set_named_property("type", failure.code.openai_type())?;
        if let Some(param) = &failure.param {
            object.set_named_property("param", param.as_str())?;
        }
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|_| napi::Error::from_reason(failure.message))
}

/// Runs a core future on napi's tokio runtime and settles a promise with its value or its [`Failure`].
pub fn spawn<'env, T, F>(env: &'env Env, future: F) -> napi::Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
{
    env.spawn_future_with_callback(async move { Ok(future.await) }, |env, result| result.map_err(|f| js_error(env, f)))
}
