//! The signed-in session: the tokens the worker answered, and signing out.

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use xauth_core::{AccessToken, RefreshToken, TokenTypeHint};

use crate::error::Error;
use crate::{http, js, store};

/// A signed-in session; the refresh token, if any, stays inside.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Session {
    access_token: Option<AccessToken>,
    refresh_token: Option<RefreshToken>,
    expires_at: Option<f64>,
    scope: Option<String>,
    /// `{id, name, username}` or `undefined`.
    user: JsValue,
    endpoint: String,
}

#[wasm_bindgen]
impl Session {
    /// The access token ("" after `signOut()`).
    #[wasm_bindgen(getter = accessToken)]
    pub fn access_token(&self) -> String {
        self.access_token
            .as_ref()
            .map(|token| token.secret().to_owned())
            .unwrap_or_default()
    }

    /// When the access token expires, in Unix seconds, if the worker said.
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        self.expires_at
    }

    /// The scopes X granted, space-separated.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> Option<String> {
        self.scope.clone()
    }

    /// Who signed in, when the worker could ask X (scopes tweet.read and users.read).
    #[wasm_bindgen(getter, unchecked_return_type = "XUser | undefined")]
    pub fn user(&self) -> JsValue {
        self.user.clone()
    }

    /// Forgets the tokens here and in sessionStorage at once, then has the worker revoke
    /// them (the refresh token if any, else the access token). Rejects, after clearing,
    /// with `revoke_failed` or `network_error`.
    #[wasm_bindgen(js_name = signOut, unchecked_return_type = "Promise<void>")]
    pub fn sign_out(&mut self) -> Promise {
        store::forget_session();
        let access = self.access_token.take();
        let revoke = match (self.refresh_token.take(), access) {
            (Some(refresh), _) => Some((refresh.secret().to_owned(), TokenTypeHint::RefreshToken)),
            (None, Some(access)) => Some((access.secret().to_owned(), TokenTypeHint::AccessToken)),
            (None, None) => None,
        };
        let endpoint = self.endpoint.clone();
        js::promise(Box::pin(async move {
            if let Some((token, hint)) = revoke {
                revoke_token(&endpoint, &token, hint).await?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

impl Session {
    /// A session from the worker's token answer
    /// (`{access_token, expires_in?, expires_at?, scope?, refresh_token?, user?}`), also the
    /// shape kept in sessionStorage. `None` when it has no access token.
    pub(crate) fn from_answer(answer: &JsValue, endpoint: &str, now_ms: f64) -> Option<Session> {
        let access_token = js::get_string(answer, "access_token").filter(|t| !t.is_empty())?;
        let refresh_token = js::get_string(answer, "refresh_token").filter(|t| !t.is_empty());
        // `expires_at` from the worker; computed from `expires_in` only if it is missing.
        let expires_at = js::get_number(answer, "expires_at").or_else(|| {
            js::get_number(answer, "expires_in").map(|secs| (now_ms / 1000.0).floor() + secs)
        });
        Some(Session {
            access_token: Some(AccessToken::new(access_token)),
            refresh_token: refresh_token.map(RefreshToken::new),
            expires_at,
            scope: js::get_string(answer, "scope"),
            user: user(&js::get(answer, "user")),
            endpoint: endpoint.to_owned(),
        })
    }

    /// The record kept in sessionStorage (the token answer's field names).
    pub(crate) fn record(&self) -> Object {
        let record = Object::new();
        js::set_opt_str(
            &record,
            "access_token",
            self.access_token.as_ref().map(AccessToken::secret),
        );
        js::set_opt_str(
            &record,
            "refresh_token",
            self.refresh_token.as_ref().map(RefreshToken::secret),
        );
        if let Some(expires_at) = self.expires_at {
            js::set(&record, "expires_at", &JsValue::from_f64(expires_at));
        }
        js::set_opt_str(&record, "scope", self.scope.as_deref());
        if !self.user.is_undefined() {
            js::set(&record, "user", &self.user);
        }
        record
    }
}

/// A fresh `{id, name, username}` when `value` has all three as strings, else `undefined`
/// (other fields the worker may add later are not passed on).
fn user(value: &JsValue) -> JsValue {
    let (Some(id), Some(name), Some(username)) = (
        js::get_string(value, "id"),
        js::get_string(value, "name"),
        js::get_string(value, "username"),
    ) else {
        return JsValue::UNDEFINED;
    };
    js::object(&[("id", &id), ("name", &name), ("username", &username)]).into()
}

async fn revoke_token(endpoint: &str, token: &str, hint: TokenTypeHint) -> Result<(), Error> {
    let mut url = String::from(endpoint);
    url.push_str("/twitter-revoke-token");
    let body = js::object(&[("token", token), ("tokenTypeHint", hint.as_str())]);
    let reply = http::post(&url, &body).await?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(Error::from_worker(
            "revoke_failed",
            "signed out here, but the worker could not revoke the token",
            reply.status,
            &reply.body,
        ))
    }
}
