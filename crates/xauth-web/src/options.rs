//! The session options of `new XAuth(…)` and `XAuth.fromWorker(…, options)`: where
//! sessions are kept, how they are refreshed, and the app's hooks. The entry checks them
//! (so a wrong option is `invalid_options` in both custodies, before anything is sent);
//! the keeper module keeps sessions by them.

use js_sys::Function;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;

use crate::js;
use crate::store::StorageKind;

/// How sessions are kept: the options of `new XAuth(…)` and `XAuth.fromWorker(…, options)`.
#[derive(Clone, Debug)]
pub(crate) struct KeeperOptions {
    pub(crate) storage: StorageKind,
    pub(crate) skew_secs: f64,
    pub(crate) refresh_on_403: bool,
    pub(crate) auto_refresh: bool,
    pub(crate) on_token_update: Option<Function>,
    pub(crate) on_token_refresh_error: Option<Function>,
    pub(crate) on_signed_out: Option<Function>,
}

impl KeeperOptions {
    /// The options as the entry hands them over, checked there already (`invalid_options`
    /// comes from the entry, before anything is sent): what is missing or not of its type
    /// takes its default.
    pub(crate) fn read(options: &JsValue) -> KeeperOptions {
        let hook = |name: &str| js::get(options, name).dyn_into::<Function>().ok();
        let flag = |name: &str, default: bool| js::get(options, name).as_bool().unwrap_or(default);
        KeeperOptions {
            storage: StorageKind::read(js::get_string(options, "storage").as_deref()),
            skew_secs: js::get_number(options, "refreshSkewSeconds")
                .filter(|secs| *secs >= 0.0)
                .unwrap_or(xauth_core::DEFAULT_REFRESH_SKEW_SECS as f64),
            refresh_on_403: flag("refreshOn403", false),
            auto_refresh: flag("autoRefresh", true),
            on_token_update: hook("onTokenUpdate"),
            on_token_refresh_error: hook("onTokenRefreshError"),
            on_signed_out: hook("onSignedOut"),
        }
    }
}
