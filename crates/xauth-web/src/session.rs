//! The signed-in session: its tokens (kept fresh by the `Keeper`), X API calls, and
//! signing out.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::cookie_session::CookieSession;
use crate::keeper::{self, Keeper, KeeperOptions, Tokens};
use crate::{api, js};

/// A signed-in session. In browser custody it keeps the tokens fresh (the refresh token,
/// if any, stays inside: the app sees it only in `onTokenUpdate`, to persist it); in
/// worker custody the worker keeps them and this page has none.
#[wasm_bindgen]
pub struct Session {
    held: Held,
}

/// Who holds the session's tokens.
enum Held {
    /// This page, kept fresh by a `Keeper`.
    Page(Rc<Keeper>),
    /// The worker; the page has a session cookie.
    Worker(Rc<CookieSession>),
}

#[wasm_bindgen]
impl Session {
    /// The access token ("" once the session has ended); undefined in worker custody,
    /// where the page never holds one.
    #[wasm_bindgen(getter = accessToken)]
    pub fn access_token_for_js(&self) -> Option<String> {
        match &self.held {
            Held::Page(_) => Some(self.access_token()),
            Held::Worker(_) => None,
        }
    }

    /// When the access token expires, in Unix seconds, if known.
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        match &self.held {
            Held::Page(keeper) => keeper.tokens()?.expires_at,
            Held::Worker(session) => session.expires_at(),
        }
    }

    /// The scopes X granted, space-separated.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> Option<String> {
        match &self.held {
            Held::Page(keeper) => keeper.tokens()?.scope,
            Held::Worker(session) => session.scope(),
        }
    }

    /// Who signed in, when the worker could ask X (scopes tweet.read and users.read).
    #[wasm_bindgen(getter, unchecked_return_type = "XUser | undefined")]
    pub fn user(&self) -> JsValue {
        match &self.held {
            Held::Page(keeper) => keeper.user(),
            Held::Worker(session) => session.user(),
        }
    }

    /// Who holds the tokens: "browser" (this page) or "worker".
    #[wasm_bindgen(getter, unchecked_return_type = "Custody")]
    pub fn custody(&self) -> String {
        match &self.held {
            Held::Page(_) => "browser",
            Held::Worker(_) => "worker",
        }
        .to_owned()
    }

    /// False once the session has ended (signOut, or X no longer accepts it).
    #[wasm_bindgen(getter = signedIn)]
    pub fn signed_in(&self) -> bool {
        match &self.held {
            Held::Page(keeper) => keeper.tokens().is_some(),
            Held::Worker(session) => session.signed_in(),
        }
    }

    /// `fetch` for X API v2 through the worker's proxy as this session's user. Browser
    /// custody: with the session's token, refreshed first when (nearly) expired, and once
    /// more, with one retry, after a 401. Worker custody: with the session cookie.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        input: String,
        #[wasm_bindgen(unchecked_param_type = "RequestInit")] init: JsValue,
    ) -> Promise {
        match &self.held {
            Held::Page(keeper) => js::promise(Box::pin(api::fetch(Rc::clone(keeper), input, init))),
            Held::Worker(session) => {
                let session = Rc::clone(session);
                js::promise(Box::pin(async move { session.fetch(input, init).await }))
            }
        }
    }

    /// Refreshes the tokens now (joining a refresh under way). In worker custody the worker
    /// refreshes them itself: this resolves at once.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn refresh(&self) -> Promise {
        let keeper = match &self.held {
            Held::Page(keeper) => Rc::clone(keeper),
            Held::Worker(_) => return Promise::resolve(&JsValue::UNDEFINED),
        };
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
    /// other tabs; `onSignedOut("sign_out")`), then has the worker revoke the grant. In
    /// worker custody `{everywhere: true}` ends all of the user's sessions; the worker
    /// revokes the grant when the last one ends.
    /// Rejects, after ending, with `revoke_failed` or `network_error`.
    #[wasm_bindgen(js_name = signOut, unchecked_return_type = "Promise<void>")]
    pub fn sign_out_for_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ everywhere?: boolean }")] options: JsValue,
    ) -> Promise {
        self.sign_out_with(js::get(&options, "everywhere").as_bool() == Some(true))
    }
}

impl Session {
    /// `signOut()`: this session only.
    pub fn sign_out(&self) -> Promise {
        self.sign_out_with(false)
    }

    fn sign_out_with(&self, everywhere: bool) -> Promise {
        let keeper = match &self.held {
            Held::Page(keeper) => keeper,
            Held::Worker(session) => {
                let session = Rc::clone(session);
                return js::promise(Box::pin(async move {
                    session.sign_out(everywhere).await?;
                    Ok(JsValue::UNDEFINED)
                }));
            }
        };
        let ended = keeper.sign_out();
        let endpoint = keeper.endpoint().to_owned();
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
        let tokens = match &self.held {
            Held::Page(keeper) => keeper.tokens(),
            Held::Worker(_) => None,
        };
        f.debug_struct("Session")
            .field("custody", &self.custody())
            .field("tokens", &tokens)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The access token this page holds ("" once the session has ended, and always in
    /// worker custody).
    pub fn access_token(&self) -> String {
        match &self.held {
            Held::Page(keeper) => keeper
                .tokens()
                .map(|tokens| tokens.access.secret().to_owned())
                .unwrap_or_default(),
            Held::Worker(_) => String::new(),
        }
    }

    /// Starts keeping `tokens` for the app.
    pub(crate) fn start(
        endpoint: &str,
        options: &KeeperOptions,
        tokens: Tokens,
        user: JsValue,
    ) -> Session {
        Session {
            held: Held::Page(Keeper::start(endpoint, options, tokens, user)),
        }
    }

    /// A worker-custody session, from the worker's sign-in or `/twitter-session` answer.
    pub(crate) fn held_by_worker(session: CookieSession) -> Session {
        Session {
            held: Held::Worker(Rc::new(session)),
        }
    }

    /// `onTokenUpdate` with the session's first tokens, awaited (browser custody: in worker
    /// custody the page gets no tokens).
    pub(crate) async fn announce(&self) {
        if let Held::Page(keeper) = &self.held
            && let Some(tokens) = keeper.tokens()
        {
            keeper.announce(&tokens).await;
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
