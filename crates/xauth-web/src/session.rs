//! The keeper module's sessions: a browser-custody `Session` (its tokens kept fresh by the
//! `Keeper`), X API calls, and signing out; and the three ways the entry makes one (after
//! a sign-in, from storage, from tokens the app kept).

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::keeper::{self, Keeper, KeeperOptions, Tokens};
use crate::{api, js};

/// A signed-in session in browser custody: it keeps the tokens fresh (the refresh token, if
/// any, stays inside: the app sees it only in `onTokenUpdate`, to persist it).
#[wasm_bindgen]
pub struct Session {
    keeper: Rc<Keeper>,
}

/// After a sign-in: a session from the worker's token answer (`{access_token, expires_in?,
/// scope?, refresh_token?, user?}`, arrived at `arrived_ms` on this page's clock), with
/// `onTokenUpdate` told its first tokens (awaited). Rejects `invalid_response` when the
/// answer has no access token.
#[wasm_bindgen(js_name = startSession, unchecked_return_type = "Promise<Session>")]
pub fn start_session(
    answer: JsValue,
    endpoint: &str,
    options: &JsValue,
    arrived_ms: f64,
) -> Promise {
    let started = Session::after_sign_in(&answer, endpoint, options, arrived_ms);
    js::promise(Box::pin(async move { Ok(started.await?.into()) }))
}

/// `restoreSession()` in browser custody: the session kept in storage "session" or "local"
/// (`options.storage`), else undefined. A stored entry that does not parse is deleted.
#[wasm_bindgen(js_name = restoreSession)]
pub fn restore_session(endpoint: &str, options: &JsValue) -> Option<Session> {
    let options = KeeperOptions::read(options);
    let record = options.storage.load_session()?;
    let session = Session::from_answer(&record, endpoint, &options, js_sys::Date::now());
    if session.is_none() {
        options.storage.forget_session();
    }
    session
}

/// `resumeSession(tokens, user)`: a session from tokens the app kept from `onTokenUpdate`
/// (`{accessToken, refreshToken?, expiresAt?, scope?}`), with its user if known. Throws
/// `invalid_options` without an accessToken.
#[wasm_bindgen(js_name = resumeSession)]
pub fn resume_session(
    tokens: &JsValue,
    user: &JsValue,
    endpoint: &str,
    options: &JsValue,
) -> Result<Session, JsValue> {
    let options = KeeperOptions::read(options);
    let tokens = Tokens::from_app(tokens)
        .ok_or_else(|| Error::invalid_option("resumeSession needs {accessToken, …}"))?;
    Ok(Session::start(endpoint, &options, tokens, self::user(user)))
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
    #[wasm_bindgen(getter)]
    pub fn user(&self) -> JsValue {
        self.keeper.user()
    }

    /// Who holds the tokens: this page.
    #[wasm_bindgen(getter)]
    pub fn custody(&self) -> String {
        "browser".to_owned()
    }

    /// False once the session has ended (signOut, or X no longer accepts it).
    #[wasm_bindgen(getter = signedIn)]
    pub fn signed_in(&self) -> bool {
        self.keeper.tokens().is_some()
    }

    /// `fetch` for X API v2 through the worker's proxy with the session's token, refreshed
    /// first when (nearly) expired, and once more, with one retry, after a 401.
    pub fn fetch(&self, input: String, init: JsValue) -> Promise {
        js::promise(Box::pin(api::fetch(Rc::clone(&self.keeper), input, init)))
    }

    /// Refreshes the tokens now (joining a refresh under way).
    pub fn refresh(&self) -> Promise {
        let keeper = Rc::clone(&self.keeper);
        js::promise(Box::pin(async move {
            keeper.settled().await;
            let current = keeper.tokens().ok_or_else(Error::signed_out)?;
            keeper.refresh_replacing(&current.access).await?;
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// Ends the session at once (tokens forgotten here, in storage and in the origin's
    /// other tabs; `onSignedOut("sign_out")`), then has the worker revoke the grant.
    /// Rejects, after ending, with `revoke_failed` or `network_error`.
    #[wasm_bindgen(js_name = signOut)]
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
    /// `startSession`, for Rust callers.
    pub fn after_sign_in(
        answer: &JsValue,
        endpoint: &str,
        options: &JsValue,
        arrived_ms: f64,
    ) -> impl Future<Output = Result<Session, JsValue>> + use<> {
        let started =
            Session::from_answer(answer, endpoint, &KeeperOptions::read(options), arrived_ms)
                .ok_or_else(|| {
                    Error::invalid_response("the worker's token answer has no access_token")
                });
        async move {
            let session = started?;
            // The app's one chance to keep the first refresh token, which it never sees.
            session.announce().await;
            Ok(session)
        }
    }

    /// Starts keeping `tokens` for the app.
    fn start(endpoint: &str, options: &KeeperOptions, tokens: Tokens, user: JsValue) -> Session {
        Session {
            keeper: Keeper::start(endpoint, options, tokens, user),
        }
    }

    /// `onTokenUpdate` with the session's first tokens, awaited.
    async fn announce(&self) {
        if let Some(tokens) = self.keeper.tokens() {
            self.keeper.announce(&tokens).await;
        }
    }

    /// A session from the worker's token answer, also the shape kept in storage. `None`
    /// when it has no access token.
    fn from_answer(
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
