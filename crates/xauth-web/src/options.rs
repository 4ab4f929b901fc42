//! The session options of `new XAuth(…)` and `XAuth.fromWorker(…, options)`: where
//! sessions are kept, how they are refreshed, and the app's hooks. The sign-in module
//! checks them (so a wrong option is `invalid_options` in both custodies, before anything
//! is sent); the keeper module keeps sessions by them.

use crate::prelude::*;
use js_sys::Function;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;

use crate::error::Error;
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
    pub(crate) fn parse(options: &JsValue) -> Result<KeeperOptions, Error> {
        let hook = |name: &str| -> Result<Option<Function>, Error> {
            let value = js::get(options, name);
            if value.is_undefined() || value.is_null() {
                return Ok(None);
            }
            value.dyn_into().map(Some).map_err(|_| {
                let mut message = String::from(name);
                message.push_str(" must be a function");
                Error::invalid_option(&message)
            })
        };
        let flag = |name: &str, default: bool| -> Result<bool, Error> {
            let value = js::get(options, name);
            if value.is_undefined() {
                return Ok(default);
            }
            value.as_bool().ok_or_else(|| {
                let mut message = String::from(name);
                message.push_str(" must be true or false");
                Error::invalid_option(&message)
            })
        };
        let skew = js::get(options, "refreshSkewSeconds");
        let skew_secs = if skew.is_undefined() {
            xauth_core::DEFAULT_REFRESH_SKEW_SECS as f64
        } else {
            skew.as_f64()
                .filter(|secs| secs.is_finite() && *secs >= 0.0)
                .ok_or_else(|| {
                    Error::invalid_option("refreshSkewSeconds must be a number of seconds >= 0")
                })?
        };
        Ok(KeeperOptions {
            storage: StorageKind::parse(js::get_string(options, "storage").as_deref())?,
            skew_secs,
            refresh_on_403: flag("refreshOn403", false)?,
            auto_refresh: flag("autoRefresh", true)?,
            on_token_update: hook("onTokenUpdate")?,
            on_token_refresh_error: hook("onTokenRefreshError")?,
            on_signed_out: hook("onSignedOut")?,
        })
    }
}
