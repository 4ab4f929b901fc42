//! A session in worker custody: the worker holds X's tokens (one Durable Object per user)
//! and this page holds only an HttpOnly session cookie it cannot read. So there is nothing
//! here to refresh, store or share between tabs: calls carry the cookie
//! (`credentials: "same-origin"`) and the header `X-XAuth: 1` the worker's CSRF check
//! asks for, and a 401 `no_session` from the worker ends the session (once).

use crate::prelude::*;
use core::cell::Cell;

use js_sys::Function;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::api::{Authority, Call, proxy_url};
use crate::error::Error;
use crate::{http, js};

/// The header the worker's CSRF check asks of every cookie-authenticated request.
pub(crate) const CSRF_HEADER: (&str, &str) = ("x-xauth", "1");

/// What the page knows of a session the worker keeps.
pub(crate) struct CookieSession {
    /// The worker's base URL without a trailing `/`.
    endpoint: String,
    /// `{id, name, username}`.
    user: JsValue,
    scope: Option<String>,
    /// When the access token the worker held at sign-in expires (Unix seconds); the worker
    /// refreshes it on its own, so this is informational.
    expires_at: Option<f64>,
    on_signed_out: Option<Function>,
    ended: Cell<bool>,
}

impl CookieSession {
    /// A session from the worker's sign-in or `/twitter-session` answer
    /// (`{user, scope, expiresAt, ...}`).
    pub(crate) fn from_answer(
        answer: &JsValue,
        endpoint: &str,
        on_signed_out: Option<Function>,
    ) -> CookieSession {
        CookieSession {
            endpoint: endpoint.to_owned(),
            user: crate::session::user(&js::get(answer, "user")),
            scope: js::get_string(answer, "scope"),
            expires_at: js::get_number(answer, "expiresAt"),
            on_signed_out,
            ended: Cell::new(false),
        }
    }

    pub(crate) fn user(&self) -> JsValue {
        self.user.clone()
    }

    pub(crate) fn scope(&self) -> Option<String> {
        self.scope.clone()
    }

    pub(crate) fn expires_at(&self) -> Option<f64> {
        self.expires_at
    }

    pub(crate) fn signed_in(&self) -> bool {
        !self.ended.get()
    }

    /// Ends the session here, telling `onSignedOut` once.
    fn end(&self, reason: &str) {
        if !self.ended.replace(true)
            && let Some(hook) = &self.on_signed_out
        {
            let _ = hook.call1(&JsValue::UNDEFINED, &JsValue::from_str(reason));
        }
    }

    /// `session.fetch` in worker custody: the call through the worker's proxy with the
    /// cookie. A 401 `no_session` ends the session and rejects; any other answer is the
    /// app's.
    pub(crate) async fn fetch(&self, input: String, init: JsValue) -> Result<JsValue, JsValue> {
        if self.ended.get() {
            return Err(Error::signed_out().into());
        }
        let call = Call::prepare(proxy_url(&self.endpoint, &input)?, &init).await?;
        let response = call.send(Authority::SessionCookie).await?;
        if response.status() == 401 {
            let body = match response.clone().map(|copy| copy.json()) {
                Ok(Ok(json)) => JsFuture::from(json).await.unwrap_or(JsValue::UNDEFINED),
                _ => JsValue::UNDEFINED,
            };
            if js::get_string(&body, "error").as_deref() == Some("no_session") {
                self.end("reauthorize");
                return Err(Error::from_worker(
                    "request_failed",
                    "the worker no longer knows this session",
                    401,
                    &body,
                )
                .into());
            }
        }
        Ok(response.into())
    }

    /// Ends the session here at once (`onSignedOut("sign_out")`), then at the worker
    /// (`everywhere`: all of the user's sessions); the last one revokes the grant at X.
    pub(crate) async fn sign_out(&self, everywhere: bool) -> Result<(), Error> {
        if self.ended.get() {
            return Ok(());
        }
        self.end("sign_out");
        let mut url = self.endpoint.clone();
        url.push_str("/twitter-sign-out");
        let body = js_sys::Object::new();
        js::set(&body, "everywhere", &JsValue::from_bool(everywhere));
        let reply = http::post_with_session(&url, &body).await?;
        // A session the worker had already ended is signed out all the same.
        let gone = reply.status == 401
            && js::get_string(&reply.body, "error").as_deref() == Some("no_session");
        if reply.is_success() || gone {
            Ok(())
        } else {
            Err(Error::from_worker(
                "revoke_failed",
                "signed out here, but the worker could not end the session",
                reply.status,
                &reply.body,
            ))
        }
    }
}

/// `restoreSession()` in worker custody: the session the worker knows by this page's
/// cookie (`GET /twitter-session`), if any.
pub(crate) async fn restore(
    endpoint: &str,
    on_signed_out: Option<Function>,
) -> Result<Option<CookieSession>, Error> {
    let mut url = String::from(endpoint);
    url.push_str("/twitter-session");
    let reply = http::get_with_session(&url).await?;
    if reply.status == 401 {
        // A cookie the worker no longer knows: it has cleared it; nobody is signed in.
        return Ok(None);
    }
    if !reply.is_success() {
        return Err(Error::from_worker(
            "request_failed",
            "the worker could not say who is signed in",
            reply.status,
            &reply.body,
        ));
    }
    if js::get(&reply.body, "signedIn").as_bool() != Some(true) {
        return Ok(None);
    }
    Ok(Some(CookieSession::from_answer(
        &reply.body,
        endpoint,
        on_signed_out,
    )))
}

/// Whether a worker answer (`/twitter-config`, or an exchange's) says worker custody.
pub(crate) fn is_worker_custody(answer: &JsValue) -> bool {
    js::get_string(answer, "custody").as_deref() == Some("worker")
}
