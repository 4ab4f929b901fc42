//! The session in Web Storage (with `storage: "session"` in sessionStorage, with
//! `storage: "local"` in localStorage, shared by the origin's tabs), under `xauth:session`.
//! (The pending sign-in, `xauth:pending` in sessionStorage, is the entry's: see
//! `js/xauth_web.js`.)

use js_sys::Object;
use wasm_bindgen::JsValue;
use web_sys::Storage;

use crate::js;

/// The session with `storage: "session"` or `"local"`: the worker's token answer
/// (`{access_token, refresh_token?, expires_at?, scope?, user?}`, JSON, `expires_at` by
/// this page's clock) and the grant's `grant_id` and `rotation` (see `keeper`).
pub(crate) const SESSION_KEY: &str = "xauth:session";

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
    /// `storage` as the entry checked it: "session", "local", else memory.
    pub(crate) fn read(value: Option<&str>) -> Self {
        match value {
            Some("session") => Self::Session,
            Some("local") => Self::Local,
            _ => Self::Memory,
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
