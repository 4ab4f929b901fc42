//! `session.fetch`: X API calls through the worker's `/twitter-api/2/…` proxy with the
//! session's bearer token, refreshed before expiry and once after a 401.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use xauth_core::AccessToken;

use crate::error::network_error;
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

#[wasm_bindgen(module = "/js/keeper_io.js")]
extern "C" {
    fn prepare(url: &str, init: &JsValue) -> Promise;
    fn send(call: &JsValue, authorization: &str) -> Promise;
}

/// A call that can be sent twice: the caller's body is read once, into memory, because a
/// body (a stream in particular) can be read only once and a retry must send it again.
pub(crate) struct Call {
    url: String,
    prepared: JsValue,
}

impl Call {
    /// Lets the browser interpret `init` as `fetch` would (method, headers, body of any
    /// kind and the content-type it implies, signal), then buffers the body.
    pub(crate) async fn prepare(url: String, init: &JsValue) -> Result<Call, JsValue> {
        let prepared = JsFuture::from(prepare(&url, init)).await?;
        Ok(Call { url, prepared })
    }

    /// Sends the call with `token` (and no cookie: the proxy needs none, and it forwards
    /// none to X anyway).
    pub(crate) async fn send(&self, token: &AccessToken) -> Result<Response, JsValue> {
        let authorization = xauth_core::bearer_authorization(token);
        let answer = JsFuture::from(send(&self.prepared, &authorization))
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
