//! What lives in Web Storage: the pending sign-in (always, in sessionStorage) and the
//! session (with `storage: "session"` in sessionStorage, with `storage: "local"` in
//! localStorage, shared by the origin's tabs). Keys are namespaced `xauth:`.

use js_sys::Object;
use wasm_bindgen::JsValue;
use web_sys::Storage;
use xauth_core::{CsrfToken, PkceCodeVerifier};

use crate::error::Error;
use crate::js;

/// The pending sign-in: `{state, verifier, createdAt}` (JSON, `createdAt` in milliseconds
/// since the epoch, as `Date.now()`).
pub(crate) const PENDING_KEY: &str = "xauth:pending";
/// The session with `storage: "session"` or `"local"`: the worker's token answer
/// (`{access_token, refresh_token?, expires_at?, scope?, user?}`, JSON, `expires_at` by
/// this page's clock) and the grant's `grant_id` and `rotation` (see `keeper`).
pub(crate) const SESSION_KEY: &str = "xauth:session";
/// A pending sign-in older than this (10 minutes) is refused. X's consent page takes a
/// human a minute; a callback arriving much later is a replayed or forgotten one.
pub(crate) const PENDING_MAX_AGE_MS: f64 = 10.0 * 60.0 * 1000.0;
/// A `createdAt` this far in the future (clock changes) still counts as fresh; beyond it
/// the entry is refused as expired rather than trusted forever.
const CLOCK_SKEW_MS: f64 = 60.0 * 1000.0;

/// The page's sessionStorage.
pub(crate) fn session_storage() -> Result<Storage, Error> {
    let window = web_sys::window().ok_or_else(Error::no_window)?;
    match window.session_storage() {
        Ok(Some(storage)) => Ok(storage),
        _ => Err(Error::storage_unavailable()),
    }
}

/// Stores the secrets of a sign-in about to start, replacing any earlier one (one pending
/// sign-in per tab: starting another invalidates the first).
pub(crate) fn store_pending(
    state: &CsrfToken,
    verifier: &PkceCodeVerifier,
    now_ms: f64,
) -> Result<(), Error> {
    let record = js::object(&[("state", state.as_str()), ("verifier", verifier.secret())]);
    js::set(&record, "createdAt", &JsValue::from_f64(now_ms));
    let json = js::to_json(&record).ok_or_else(Error::storage_unavailable)?;
    session_storage()?
        .set_item(PENDING_KEY, &json)
        .map_err(|_| Error::storage_unavailable())
}

/// The pending sign-in, read and deleted in one go (single use, whatever happens next).
pub(crate) struct Pending {
    pub(crate) state: CsrfToken,
    pub(crate) verifier: PkceCodeVerifier,
}

/// Takes the pending sign-in out of storage. Nothing stored or an unreadable entry is
/// `no_pending_sign_in` (`reason: "missing"`), one older than 10 minutes is
/// `no_pending_sign_in` (`reason: "expired"`); either way the entry is gone afterwards.
pub(crate) fn take_pending(now_ms: f64) -> Result<Pending, Error> {
    let storage = session_storage()?;
    let raw = storage.get_item(PENDING_KEY).ok().flatten();
    let _ = storage.remove_item(PENDING_KEY);
    let record = raw
        .and_then(|raw| js::from_json(&raw))
        .ok_or_else(|| Error::no_pending(false))?;
    let state = js::get_string(&record, "state").and_then(|s| CsrfToken::parse(&s).ok());
    let verifier =
        js::get_string(&record, "verifier").and_then(|v| PkceCodeVerifier::parse(&v).ok());
    let created_at = js::get_number(&record, "createdAt");
    let (Some(state), Some(verifier), Some(created_at)) = (state, verifier, created_at) else {
        return Err(Error::no_pending(false));
    };
    let age = now_ms - created_at;
    if !(-CLOCK_SKEW_MS..=PENDING_MAX_AGE_MS).contains(&age) {
        return Err(Error::no_pending(true));
    }
    Ok(Pending { state, verifier })
}

/// Where a session's tokens are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageKind {
    /// In this page's memory only (the default): gone on reload or close.
    Memory,
    /// Also in sessionStorage: survives reloads in this tab.
    Session,
    /// Also in localStorage: survives restarts and is shared with the origin's other tabs,
    /// which keep it fresh together.
    Local,
}

impl StorageKind {
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, Error> {
        match value {
            None | Some("memory") => Ok(Self::Memory),
            Some("session") => Ok(Self::Session),
            Some("local") => Ok(Self::Local),
            Some(_) => Err(Error::invalid_option(
                "storage must be \"memory\", \"session\" or \"local\"",
            )),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Session => "session",
            Self::Local => "local",
        }
    }

    fn storage(self) -> Option<Storage> {
        let window = web_sys::window()?;
        let storage = match self {
            Self::Memory => return None,
            Self::Session => window.session_storage(),
            Self::Local => window.local_storage(),
        };
        storage.ok().flatten()
    }

    /// Writes the session record. A storage that refuses (quota, disabled) leaves the
    /// session in memory only: the tokens themselves must not be lost.
    pub(crate) fn store_session(self, record: &Object) {
        if let (Some(storage), Some(json)) = (self.storage(), js::to_json(record)) {
            let _ = storage.set_item(SESSION_KEY, &json);
        }
    }

    /// The stored session record, parsed (`undefined` when it is not JSON); `None` when
    /// there is none.
    pub(crate) fn load_session(self) -> Option<JsValue> {
        let raw = self.storage()?.get_item(SESSION_KEY).ok()??;
        Some(js::from_json(&raw).unwrap_or(JsValue::UNDEFINED))
    }

    /// Deletes the stored session, if any.
    pub(crate) fn forget_session(self) {
        if let Some(storage) = self.storage() {
            let _ = storage.remove_item(SESSION_KEY);
        }
    }

    /// Deletes the stored session if it is the one whose refresh (or else access) token is
    /// `token`: another tab may have stored a newer one meanwhile.
    pub(crate) fn forget_session_holding(self, token: &str) {
        let stored = self.load_session();
        let holds = |key| js::get_string(stored.as_ref()?, key).filter(|t| t == token);
        if holds("refresh_token")
            .or_else(|| holds("access_token"))
            .is_some()
        {
            self.forget_session();
        }
    }
}
