//! The one error type of the crate, and the one place that turns it into a JavaScript
//! `Error` with a stable `code` (plus `kind`, `status`, `error` or `description` where
//! they apply). Callers match on `code`, never on the message.

use crate::prelude::*;
use js_sys::Object;
use wasm_bindgen::JsValue;

use crate::js;

/// What a caller can do about a failed call to the worker: `kind` of the worker's error
/// JSON (`xauth_core::ErrorKind` on the worker side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Sign in again.
    Reauthorize,
    /// Fix the app or the worker's configuration.
    Misconfigured,
    /// Try again later.
    Transient,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reauthorize => "reauthorize",
            Self::Misconfigured => "misconfigured",
            Self::Transient => "transient",
        }
    }

    /// The worker's `kind`, or, when it sent none (its own input checks, a proxy's
    /// answer), a guess from the HTTP status: 5xx, 408 and 429 are transient, other
    /// errors mean the app or the worker is set up wrong.
    pub(crate) fn from_answer(kind: Option<&str>, status: u16) -> Self {
        match kind {
            Some("reauthorize") => Self::Reauthorize,
            Some("misconfigured") => Self::Misconfigured,
            Some("transient") => Self::Transient,
            _ if status >= 500 || status == 408 || status == 429 => Self::Transient,
            _ => Self::Misconfigured,
        }
    }
}

/// A failure, thrown to JavaScript as an `Error` named `XAuthError`.
///
/// Holds no secret: messages are written here or taken from X's and the worker's error
/// descriptions, which never carry tokens.
#[derive(Debug)]
pub(crate) struct Error {
    code: &'static str,
    message: String,
    kind: Option<Kind>,
    status: Option<u16>,
    error: Option<String>,
    description: Option<String>,
}

impl Error {
    /// An error with a stable `code` and a human message.
    pub(crate) fn new(code: &'static str, message: &str) -> Self {
        Self {
            code,
            message: message.to_owned(),
            kind: None,
            status: None,
            error: None,
            description: None,
        }
    }

    /// An error that says what to do about it.
    pub(crate) fn with_kind(code: &'static str, message: &str, kind: Kind) -> Self {
        let mut error = Self::new(code, message);
        error.kind = Some(kind);
        error
    }

    /// What to do about it, when that is known.
    pub(crate) fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// `signed_out`: the session has ended; its tokens are gone and are never sent again.
    pub(crate) fn signed_out() -> Self {
        Self::with_kind(
            "signed_out",
            "the session has ended (signed out, or X no longer accepts it); sign in again",
            Kind::Reauthorize,
        )
    }

    /// `hook_failed`: an app hook threw or rejected with `thrown`.
    pub(crate) fn hook_failed(hook: &str, thrown: &JsValue) -> Self {
        let mut message = String::from(hook);
        message.push_str(" threw or rejected");
        if let Some(detail) = js::get_string(thrown, "message").or_else(|| thrown.as_string()) {
            message.push_str(": ");
            message.push_str(&detail);
        }
        Self::new("hook_failed", &message)
    }

    /// `invalid_options`: the named option is missing or wrong.
    pub(crate) fn invalid_option(message: &str) -> Self {
        Self::new("invalid_options", message)
    }

    /// `invalid_response`: the worker answered something that is not its JSON.
    pub(crate) fn invalid_response(message: &str) -> Self {
        Self::new("invalid_response", message)
    }

    /// An error answer of the worker: `code` is `exchange_failed`, `revoke_failed` or
    /// `config_failed`; `kind`, `status`, `error` and `description` come from the
    /// worker's `{error, error_description, kind?}` (whatever of it is there).
    pub(crate) fn from_worker(
        code: &'static str,
        lead: &str,
        status: u16,
        answer: &JsValue,
    ) -> Self {
        let error = js::get_string(answer, "error");
        let description = js::get_string(answer, "error_description");
        let kind = Kind::from_answer(js::get_string(answer, "kind").as_deref(), status);
        let mut message = String::from(lead);
        if let Some(detail) = description.as_deref().or(error.as_deref()) {
            message.push_str(": ");
            message.push_str(detail);
        }
        Self {
            code,
            message,
            kind: Some(kind),
            status: Some(status),
            error,
            description,
        }
    }
}

impl From<Error> for JsValue {
    fn from(error: Error) -> JsValue {
        let js_error = js_sys::Error::new(&error.message);
        js_error.set_name("XAuthError");
        let object: &Object = js_error.as_ref();
        js::set(object, "code", &error.code.into());
        if let Some(kind) = error.kind {
            js::set(object, "kind", &kind.as_str().into());
        }
        if let Some(status) = error.status {
            js::set(object, "status", &status.into());
        }
        js::set_opt_str(object, "error", error.error.as_deref());
        js::set_opt_str(object, "description", error.description.as_deref());
        js_error.into()
    }
}

/// `network_error`: fetch rejected (offline, DNS, CORS refused, connection reset, or the
/// caller's AbortSignal).
pub(crate) fn network_error(url: &str, failure: &JsValue) -> Error {
    let mut message = String::from("could not reach the worker at ");
    message.push_str(url);
    if let Some(detail) = js::get_string(failure, "message") {
        message.push_str(": ");
        message.push_str(&detail);
    }
    Error::new("network_error", &message)
}
