//! The signed-in session: its tokens (kept fresh by the `Keeper`), X API calls, and
//! signing out.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::keeper::{self, Keeper, KeeperOptions, Tokens};
use crate::{api, js};

/// A signed-in session; the refresh token, if any, stays inside (the app sees it only in
/// `onTokenUpdate`, to persist it).
#[wasm_bindgen]
pub struct Session {
    keeper: Rc<Keeper>,
}

#[wasm_bindgen]
impl Session {
    /// The access token ("" once the session has ended).
    #[wasm_bindgen(getter = accessToken)]
    pub fn access_token(&self) -> String {
        self.keeper
            .tokens()
            .map(|tokens| tokens.access.secret().to_owned())
            .unwrap_or_default()
    }

    /// When the access token expires, in Unix seconds, if known.
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        self.keeper.tokens()?.expires_at
    }

    /// The scopes X granted, space-separated.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> Option<String> {
        self.keeper.tokens()?.scope
    }

    /// Who signed in, when the worker could ask X (scopes tweet.read and users.read).
    #[wasm_bindgen(getter, unchecked_return_type = "XUser | undefined")]
    pub fn user(&self) -> JsValue {
        self.keeper.user()
    }

    /// False once the session has ended (signOut, or X no longer accepts it).
    #[wasm_bindgen(getter = signedIn)]
    pub fn signed_in(&self) -> bool {
        self.keeper.tokens().is_some()
    }

    /// `fetch` for X API v2 through the worker's proxy, with this session's token:
    /// refreshed first when (nearly) expired, and once more, with one retry, after a 401.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        input: String,
        #[wasm_bindgen(unchecked_param_type = "RequestInit")] init: JsValue,
    ) -> Promise {
        js::promise(Box::pin(api::fetch(Rc::clone(&self.keeper), input, init)))
    }

    /// Refreshes the tokens now (joining a refresh under way).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn refresh(&self) -> Promise {
        let keeper = Rc::clone(&self.keeper);
        js::promise(Box::pin(async move {
            keeper.settled().await;
            let current = keeper
                .tokens()
                .ok_or_else(crate::error::Error::signed_out)?;
            keeper.refresh_replacing(&current.access).await?;
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// Ends the session at once (tokens forgotten here, in storage and in the origin's
    /// other tabs; `onSignedOut("sign_out")`), then has the worker revoke the grant.
    /// Rejects, after ending, with `revoke_failed` or `network_error`.
    #[wasm_bindgen(js_name = signOut, unchecked_return_type = "Promise<void>")]
    pub fn sign_out(&self) -> Promise {
        let ended = self.keeper.sign_out();
        let endpoint = self.keeper.endpoint().to_owned();
        js::promise(Box::pin(async move {
            if let Some(tokens) = ended {
                keeper::revoke(&endpoint, &tokens).await?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("tokens", &self.keeper.tokens())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts keeping `tokens` for the app.
    pub(crate) fn start(
        endpoint: &str,
        options: &KeeperOptions,
        tokens: Tokens,
        user: JsValue,
    ) -> Session {
        Session {
            keeper: Keeper::start(endpoint, options, tokens, user),
        }
    }

    /// `onTokenUpdate` with the session's first tokens, awaited.
    pub(crate) async fn announce(&self) {
        if let Some(tokens) = self.keeper.tokens() {
            self.keeper.announce(&tokens).await;
        }
    }

    /// A session from the worker's token answer
    /// (`{access_token, expires_in?, expires_at?, scope?, refresh_token?, user?}`), also the
    /// shape kept in storage. `None` when it has no access token.
    pub(crate) fn from_answer(
        answer: &JsValue,
        endpoint: &str,
        options: &KeeperOptions,
        now_ms: f64,
    ) -> Option<Session> {
        let tokens = Tokens::from_answer(answer, now_ms)?;
        Some(Self::start(
            endpoint,
            options,
            tokens,
            user(&js::get(answer, "user")),
        ))
    }
}

/// A fresh `{id, name, username}` when `value` has all three as strings, else `undefined`
/// (other fields the worker may add later are not passed on).
pub(crate) fn user(value: &JsValue) -> JsValue {
    let (Some(id), Some(name), Some(username)) = (
        js::get_string(value, "id"),
        js::get_string(value, "name"),
        js::get_string(value, "username"),
    ) else {
        return JsValue::UNDEFINED;
    };
    js::object(&[("id", &id), ("name", &name), ("username", &username)]).into()
}
