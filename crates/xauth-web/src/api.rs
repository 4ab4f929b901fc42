//! `session.fetch`: X API calls through the worker's `/twitter-api/2/…` proxy with the
//! session's bearer token, refreshed before expiry and once after a 401.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::ArrayBuffer;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, Request, RequestInit, Response};
use xauth_core::AccessToken;

use crate::error::{Error, network_error};
use crate::keeper::Keeper;
use crate::{js, routes};

/// `session.fetch(input, init)`: resolves to the proxy's `Response` (after at most one
/// refresh and one retry), rejects with an `XAuthError` when no token could be had.
pub(crate) async fn fetch(
    keeper: Rc<Keeper>,
    input: String,
    init: JsValue,
) -> Result<JsValue, JsValue> {
    let call = Call::prepare(routes::proxy_url(keeper.endpoint(), &input)?, &init).await?;
    let token = keeper.token_to_send().await?;
    let response = call.send(&token).await?;
    if !xauth_core::refresh_may_help(response.status(), keeper.options().refresh_on_403) {
        return Ok(response.into());
    }
    let token = keeper.refresh_replacing(&token).await?;
    Ok(call.send(&token).await?.into())
}

/// A call that can be sent twice: the caller's body is read once, into memory, because a
/// body (a stream in particular) can be read only once and a retry must send it again.
pub(crate) struct Call {
    url: String,
    method: String,
    headers: Headers,
    body: Option<ArrayBuffer>,
    signal: AbortSignal,
}

impl Call {
    /// Lets the browser interpret `init` as `fetch` would (method, headers, body of any
    /// kind and the content-type it implies, signal), then buffers the body.
    pub(crate) async fn prepare(url: String, init: &JsValue) -> Result<Call, JsValue> {
        let request = if init.is_undefined() || init.is_null() {
            Request::new_with_str(&url)?
        } else {
            Request::new_with_str_and_init(&url, init.unchecked_ref())?
        };
        let body = js::get(init, "body");
        let body = if !body.is_undefined() && !body.is_null() {
            let buffered = JsFuture::from(request.array_buffer()?).await?;
            Some(buffered.unchecked_into())
        } else {
            None
        };
        Ok(Call {
            url,
            method: request.method(),
            headers: request.headers(),
            body,
            signal: request.signal(),
        })
    }

    /// Sends the call with `token` (and no cookie: the proxy needs none, and it forwards
    /// none to X anyway).
    pub(crate) async fn send(&self, token: &AccessToken) -> Result<Response, JsValue> {
        let headers = Headers::new_with_headers(&self.headers)?;
        headers.set("authorization", &xauth_core::bearer_authorization(token))?;
        let init = RequestInit::new();
        init.set_method(&self.method);
        init.set_headers(&headers);
        if let Some(body) = &self.body {
            init.set_body(body);
        }
        init.set_signal(Some(&self.signal));
        js::set(&init, "credentials", &JsValue::from_str("omit"));
        let window = web_sys::window().ok_or_else(Error::no_window)?;
        let answer = JsFuture::from(window.fetch_with_str_and_init(&self.url, &init))
            .await
            .map_err(|failure| {
                // An abort by the caller's signal stays the browser's AbortError.
                if js::get_string(&failure, "name").as_deref() == Some("AbortError") {
                    failure
                } else {
                    network_error(&self.url, &failure).into()
                }
            })?;
        Ok(answer.unchecked_into())
    }
}
