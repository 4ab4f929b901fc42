//! Calls to the worker's JSON API with the page's `fetch`.

use crate::prelude::*;
use js_sys::Object;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::cookie_session::CSRF_HEADER;
use crate::error::Error;
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

/// `GET url`.
pub(crate) async fn get(url: &str) -> Result<Reply, Error> {
    send(url, None, false).await
}

/// `POST url` with `body` as JSON.
pub(crate) async fn post(url: &str, body: &Object) -> Result<Reply, Error> {
    send(url, Some(body), false).await
}

/// `GET url` as a worker-custody session: with the header its CSRF check asks for.
pub(crate) async fn get_with_session(url: &str) -> Result<Reply, Error> {
    send(url, None, true).await
}

/// `POST url` with `body` as JSON, as a worker-custody session.
pub(crate) async fn post_with_session(url: &str, body: &Object) -> Result<Reply, Error> {
    send(url, Some(body), true).await
}

async fn send(url: &str, body: Option<&Object>, session: bool) -> Result<Reply, Error> {
    let window = web_sys::window().ok_or_else(Error::no_window)?;
    let init = RequestInit::new();
    // The worker's cookies (HttpOnly: the session of worker custody, OAuth 1.0a's) go
    // along to this origin only.
    js::set(&init, "credentials", &JsValue::from_str("same-origin"));
    let headers = js_sys::Object::new();
    if session {
        let (name, value) = CSRF_HEADER;
        js::set(&headers, name, &JsValue::from_str(value));
    }
    if let Some(body) = body {
        let json = js::to_json(body)
            .ok_or_else(|| Error::new("network_error", "the request could not be encoded"))?;
        init.set_method("POST");
        js::set(
            &headers,
            "content-type",
            &JsValue::from_str("application/json"),
        );
        init.set_body(&JsValue::from_str(&json));
    } else {
        init.set_method("GET");
    }
    init.set_headers(&headers);
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
