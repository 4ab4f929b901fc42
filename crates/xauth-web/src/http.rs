//! Calls to the worker's JSON API with the page's `fetch`.

use js_sys::Object;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::error::{Error, network_error};
use crate::js;

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

/// `POST url` with `body` as JSON.
pub(crate) async fn post(url: &str, body: &Object) -> Result<Reply, Error> {
    let window = web_sys::window().ok_or_else(Error::no_window)?;
    let init = RequestInit::new();
    // The worker's cookies go along to this origin only.
    js::set(&init, "credentials", &JsValue::from_str("same-origin"));
    let json = js::to_json(body)
        .ok_or_else(|| Error::new("network_error", "the request could not be encoded"))?;
    init.set_method("POST");
    let headers = js::object(&[("content-type", "application/json")]);
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&json));
    let answer = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|failure| network_error(url, &failure))?;
    let response: Response = answer
        .dyn_into()
        .map_err(|_| Error::invalid_response("fetch did not answer a Response"))?;
    let status = response.status();
    let body = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    };
    Ok(Reply { status, body })
}
