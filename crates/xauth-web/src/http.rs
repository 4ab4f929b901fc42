//! Calls to the worker's JSON API: `fetch` in `js/keeper_io.js`, the answer read here.

use js_sys::{Object, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, network_error};
use crate::js;

#[wasm_bindgen(module = "/js/keeper_io.js")]
extern "C" {
    #[wasm_bindgen(js_name = post)]
    fn post_json(url: &str, body: &Object) -> Promise;
}

/// The worker's answer: its HTTP status and its body parsed as JSON (`undefined` when the
/// body is not JSON).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: JsValue,
}

impl Reply {
    /// A 2xx status.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `POST url` with `body` as JSON (the worker's cookies go along to this origin only).
pub(crate) async fn post(url: &str, body: &Object) -> Result<Reply, Error> {
    let answer = JsFuture::from(post_json(url, body))
        .await
        .map_err(|failure| network_error(url, &failure))?;
    let status = js::get_number(&answer, "status").unwrap_or(0.0);
    Ok(Reply {
        // An HTTP status is at most 599: `as` cannot truncate it.
        status: status as u16,
        body: js::get(&answer, "body"),
    })
}
