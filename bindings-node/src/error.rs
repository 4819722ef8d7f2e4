//! The core's errors as JavaScript `Error`s: `code` is the core's stable code ([`jan_core::Error::code`], or
//! `model_not_found`), `status` and `type` what host-web would answer, so the desktop's UI reports failures as the
//! browser's does.
//!
//! napi's async functions can only reject with a Node-API status as `code`, so every async method runs through
//! [`spawn`]: the future ends with the core's error, and the completion callback, back on the JS thread, builds
//! the `Error` object itself and rejects with it.

use std::future::Future;

use napi::Env;
use napi::bindgen_prelude::{JsObjectValue, JsValue, PromiseRaw, ToNapiValue};

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl From<jan_core::Error> for Failure {
    fn from(e: jan_core::Error) -> Self {
        Failure { code: e.code().to_owned(), message: e.to_string() }
    }
}

impl Failure {
    /// A core error about a named model: not found and invalid ids become `model_not_found`, as over HTTP.
    pub fn model(id: &str, e: jan_core::Error) -> Self {
        match e {
            jan_core::Error::NotFound { .. } | jan_core::Error::InvalidId { .. } => {
                Failure { code: "model_not_found".into(), message: format!("The model '{id}' does not exist") }
            }
            other => other.into(),
        }
    }

    /// A bad argument from JavaScript.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure { code: "invalid_request".into(), message: message.into() }
    }
}

/// The `Error` object for a failure, with `code`, `status` and `type`.
fn js_error(env: &Env, failure: Failure) -> napi::Error {
    let (status, kind) = jan_core::error::status_for_code(&failure.code);
    let build = || -> napi::Result<napi::Error> {
        let mut object = env.create_error(napi::Error::from_reason(failure.message.clone()))?;
        object.set_named_property("code", failure.code.as_str())?;
        object.set_named_property("status", status)?;
        object.set_named_property("type", kind)?;
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
