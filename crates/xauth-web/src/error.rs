//! The one error type of the crate, and the one place that turns it into a JavaScript
//! `Error` with a stable `code` (plus `kind`, `status`, `error`, `description` or `reason`
//! where they apply). Callers match on `code`, never on the message.

use crate::prelude::*;
use js_sys::Object;
use wasm_bindgen::JsValue;
use xauth_core::CallbackError;

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
    reason: Option<&'static str>,
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
            reason: None,
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

    /// `storage_unavailable`: sessionStorage is missing or refuses (disabled storage,
    /// sandboxed frame, quota).
    pub(crate) fn storage_unavailable() -> Self {
        Self::new(
            "storage_unavailable",
            "sessionStorage is not available in this page, so a sign-in cannot be kept \
             across the trip to X",
        )
    }

    /// `unsupported_environment`: no `window` (e.g. a Web Worker).
    pub(crate) fn no_window() -> Self {
        Self::new(
            "unsupported_environment",
            "xauth-web needs a browser window (location, history, sessionStorage)",
        )
    }

    /// `invalid_response`: the worker answered something that is not its JSON.
    pub(crate) fn invalid_response(message: &str) -> Self {
        Self::new("invalid_response", message)
    }

    /// `no_pending_sign_in` with `reason` `missing` (nothing stored in this tab) or
    /// `expired` (stored more than 10 minutes ago).
    pub(crate) fn no_pending(expired: bool) -> Self {
        let (reason, message) = if expired {
            (
                "expired",
                "the sign-in was started more than 10 minutes ago and has expired; sign in again",
            )
        } else {
            (
                "missing",
                "no sign-in was started in this tab (or it was already used); sign in again",
            )
        };
        let mut error = Self::new("no_pending_sign_in", message);
        error.reason = Some(reason);
        error
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
            reason: None,
        }
    }
}

/// The callback checks of `xauth_core::validate_callback`, with the same codes.
impl From<CallbackError> for Error {
    fn from(error: CallbackError) -> Self {
        let code = error.code();
        let (message, x_error, description) = match error {
            CallbackError::AccessDenied { description } => {
                ("the sign-in with X was declined", None, description)
            }
            CallbackError::AuthorizationError { error, description } => {
                ("X refused the sign-in request", Some(error), description)
            }
            CallbackError::MissingCode => ("the callback from X carries no code", None, None),
            CallbackError::MissingState => ("the callback from X carries no state", None, None),
            CallbackError::StateMismatch => (
                "the callback's state does not match the sign-in started in this tab",
                None,
                None,
            ),
            _ => ("the callback from X is malformed", None, None),
        };
        let mut full = String::from(message);
        if let Some(detail) = description.as_deref().or(x_error.as_deref()) {
            full.push_str(": ");
            full.push_str(detail);
        }
        let mut this = Self::new(code, &full);
        this.error = x_error;
        this.description = description;
        this
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
        js::set_opt_str(object, "reason", error.reason);
        js_error.into()
    }
}
