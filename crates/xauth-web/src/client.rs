//! `XAuth`: the sign-in flow of one app (its client id, callback, scopes and worker).

use crate::prelude::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use xauth_core::{
    AuthorizationRequest, AuthorizeEndpoint, ClientId, CsrfToken, PkceCodeVerifier, RedirectUri,
    Scopes, ValidatedCallback, parse_callback, validate_callback,
};

use crate::cookie_session::{self, CookieSession};
use crate::error::Error;
use crate::keeper::{KeeperOptions, Tokens};
use crate::session::{self, Session};
use crate::store::StorageKind;
use crate::{address, http, js, store};

#[wasm_bindgen]
extern "C" {
    /// The options of `new XAuth(options)` (the TypeScript `XAuthOptions`).
    #[wasm_bindgen(typescript_type = "XAuthOptions")]
    pub type XAuthOptions;
}

/// Sign in with X for one app (its client id, callback, scopes and worker).
// The PKCE verifier and the state never reach JavaScript: they are kept in sessionStorage
// (`xauth:pending`) during the trip to X and checked and deleted on the way back.
#[wasm_bindgen]
#[derive(Debug)]
pub struct XAuth {
    client_id: ClientId,
    redirect_uri: RedirectUri,
    scopes: Scopes,
    authorize_endpoint: AuthorizeEndpoint,
    /// The worker's base URL without a trailing `/`; empty for the page's own origin.
    endpoint: String,
    /// The worker keeps the tokens (`custody: "worker"`), not this page.
    worker_custody: bool,
    /// Where sessions are kept, how they are refreshed, and the app's hooks.
    sessions: KeeperOptions,
}

// Doc comments on exported items are copied into the JS glue as well as the .d.ts, where
// they cost download size on every page: they stay short, and the README has the details.
#[wasm_bindgen]
impl XAuth {
    /// A client from explicit options. Throws `invalid_options`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &XAuthOptions) -> Result<XAuth, JsValue> {
        Ok(Self::from_options(options, None)?)
    }

    /// A client configured by the worker's `GET <endpoint>/twitter-config` (`endpoint`
    /// defaults to this origin), with `options` for its sessions.
    /// Rejects: network_error, config_failed, invalid_response, invalid_options.
    #[wasm_bindgen(js_name = fromWorker, unchecked_return_type = "Promise<XAuth>")]
    pub fn from_worker(
        endpoint: Option<String>,
        #[wasm_bindgen(unchecked_param_type = "SessionOptions")] options: JsValue,
    ) -> Promise {
        let sessions = KeeperOptions::parse(&options);
        js::promise(Box::pin(async move {
            Ok(
                Self::configured_by_worker(endpoint.unwrap_or_default(), sessions?)
                    .await?
                    .into(),
            )
        }))
    }

    /// Where new sessions are kept: "memory" or "session".
    #[wasm_bindgen(getter, unchecked_return_type = "StorageKind")]
    pub fn storage(&self) -> String {
        self.sessions.storage.as_str().to_owned()
    }

    /// Where new sessions are kept: "memory", "session" or "local"; "memory" also deletes
    /// a stored one. Throws `invalid_options`.
    #[wasm_bindgen(js_name = setStorage)]
    pub fn set_storage(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StorageKind")] kind: &str,
    ) -> Result<(), JsValue> {
        self.sessions.storage = StorageKind::parse(Some(kind))?;
        if self.sessions.storage == StorageKind::Memory {
            StorageKind::Session.forget_session();
            StorageKind::Local.forget_session();
        }
        Ok(())
    }

    /// Stores a fresh PKCE verifier and state, then sends the browser to X.
    /// Throws `storage_unavailable`, `randomness_unavailable`.
    #[wasm_bindgen(js_name = signIn)]
    pub fn sign_in(&self) -> Result<(), JsValue> {
        let url = self.start()?.0;
        web_sys::window()
            .ok_or_else(Error::no_window)?
            .location()
            .assign(&url)
    }

    /// Like `signIn()`, but returns the link to X instead of following it.
    #[wasm_bindgen(js_name = signInUrl, unchecked_return_type = "SignInLink")]
    pub fn sign_in_url(&self) -> Result<JsValue, JsValue> {
        let (url, state) = self.start()?;
        Ok(js::object(&[("url", &url), ("state", state.as_str())]).into())
    }

    /// Whether `url` (default: this page) has a `state` and a `code` or an `error`.
    #[wasm_bindgen(js_name = isCallback)]
    pub fn is_callback(&self, url: Option<String>) -> bool {
        let Some(url) = url.or_else(address::current_href) else {
            return false;
        };
        parse_callback(&url).is_ok_and(|params| {
            params.state.is_some() && (params.code.is_some() || params.error.is_some())
        })
    }

    /// Finishes the sign-in on X's redirect back to `url` (default: this page): consumes
    /// the pending sign-in, cleans the address bar, checks the state, exchanges the code.
    /// Rejects with an `XAuthError` (see its `code`).
    #[wasm_bindgen(js_name = handleCallback, unchecked_return_type = "Promise<Session>")]
    pub fn handle_callback(&self, url: Option<String>) -> Promise {
        // The checks run now, before the promise settles: the pending sign-in is gone and
        // the address bar clean whatever happens next.
        let checked = self.check_callback(url);
        let endpoint = self.endpoint.clone();
        let redirect_uri = self.redirect_uri.clone();
        let sessions = self.sessions.clone();
        js::promise(Box::pin(async move {
            let (callback, verifier) = checked?;
            let answer = exchange(&endpoint, callback, verifier, &redirect_uri).await?;
            if cookie_session::is_worker_custody(&answer) {
                // The worker kept the tokens and set the session cookie.
                let held = CookieSession::from_answer(&answer, &endpoint, sessions.on_signed_out());
                return Ok(Session::held_by_worker(held).into());
            }
            let session = Session::from_answer(&answer, &endpoint, &sessions, js_sys::Date::now())
                .ok_or_else(|| {
                    Error::invalid_response("the worker's token answer has no access_token")
                })?;
            // The app's one chance to keep the first refresh token, which it never sees.
            session.announce().await;
            Ok(session.into())
        }))
    }

    /// The session to pick up on page load, else undefined. Browser custody: the one kept
    /// in storage "session" or "local", at once. Worker custody: a promise of the one the
    /// worker knows by this page's cookie (`GET /twitter-session`). `await` works for both.
    #[wasm_bindgen(
        js_name = restoreSession,
        unchecked_return_type = "Session | undefined | Promise<Session | undefined>"
    )]
    pub fn restore_session_for_js(&self) -> JsValue {
        if self.worker_custody {
            let endpoint = self.endpoint.clone();
            let on_signed_out = self.sessions.on_signed_out();
            return js::promise(Box::pin(async move {
                Ok(cookie_session::restore(&endpoint, on_signed_out)
                    .await?
                    .map_or(JsValue::UNDEFINED, |held| {
                        Session::held_by_worker(held).into()
                    }))
            }))
            .into();
        }
        self.restore_session()
            .map_or(JsValue::UNDEFINED, JsValue::from)
    }

    /// Who keeps the tokens: "browser" (this page) or "worker" (the worker; the page holds
    /// a session cookie).
    #[wasm_bindgen(getter, unchecked_return_type = "Custody")]
    pub fn custody(&self) -> String {
        if self.worker_custody {
            "worker"
        } else {
            "browser"
        }
        .to_owned()
    }

    /// A session from tokens the app kept from `onTokenUpdate` (`{accessToken,
    /// refreshToken?, expiresAt?, scope?}`), with its user if known. Throws
    /// `invalid_options` without an accessToken.
    #[wasm_bindgen(js_name = resumeSession)]
    pub fn resume_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TokenSet")] tokens: JsValue,
        #[wasm_bindgen(unchecked_param_type = "XUser | undefined")] user: JsValue,
    ) -> Result<Session, JsValue> {
        let tokens = Tokens::from_app(&tokens)
            .ok_or_else(|| Error::invalid_option("resumeSession needs {accessToken, …}"))?;
        Ok(Session::start(
            &self.endpoint,
            &self.sessions,
            tokens,
            session::user(&user),
        ))
    }
}

impl XAuth {
    /// Browser custody's `restoreSession()`: the session kept in storage "session" or
    /// "local".
    pub fn restore_session(&self) -> Option<Session> {
        let storage = self.sessions.storage;
        let record = storage.load_session()?;
        let session =
            Session::from_answer(&record, &self.endpoint, &self.sessions, js_sys::Date::now());
        if session.is_none() {
            storage.forget_session();
        }
        session
    }

    /// The worker's base URL without a trailing `/` ("" for this origin).
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The callback registered with X.
    pub(crate) fn redirect_uri_str(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// `fromWorker`: the configuration from `GET <endpoint>/twitter-config`
    /// (`{clientId, authorizeUrl, redirectUri, scopes}`).
    async fn configured_by_worker(
        endpoint: String,
        sessions: KeeperOptions,
    ) -> Result<XAuth, Error> {
        let mut url = String::from(trim_endpoint(&endpoint));
        url.push_str("/twitter-config");
        let reply = http::get(&url).await?;
        if !reply.is_success() {
            return Err(Error::from_worker(
                "config_failed",
                "the worker did not answer its configuration",
                reply.status,
                &reply.body,
            ));
        }
        // A configuration that does not validate is the worker's fault, not the page's.
        Self::from_options(reply.body.unchecked_ref(), Some((&endpoint, sessions))).map_err(|_| {
            Error::invalid_response("the worker's /twitter-config is not a valid configuration")
        })
    }

    /// The constructor's checks; the endpoint and session options are given by
    /// `fromWorker`.
    fn from_options(
        options: &XAuthOptions,
        given: Option<(&str, KeeperOptions)>,
    ) -> Result<XAuth, Error> {
        let client_id = js::get_string(options, "clientId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::invalid_option("clientId is missing"))?;
        let redirect_uri = js::get_string(options, "redirectUri")
            .and_then(|uri| RedirectUri::parse(&uri).ok())
            .ok_or_else(|| {
                Error::invalid_option("redirectUri must be an absolute http(s) URL, no fragment")
            })?;
        let scopes = js::get_string(options, "scopes")
            .and_then(|scopes| Scopes::parse(&scopes).ok())
            .ok_or_else(|| Error::invalid_option("scopes must be X scopes separated by spaces"))?;
        let authorize_endpoint = match js::get_string(options, "authorizeUrl") {
            None => AuthorizeEndpoint::default(),
            Some(url) => AuthorizeEndpoint::parse(&url).map_err(|_| {
                Error::invalid_option("authorizeUrl must be an absolute http(s) URL")
            })?,
        };
        let (endpoint, sessions) = match given {
            Some((endpoint, sessions)) => (endpoint.to_owned(), sessions),
            None => (
                js::get_string(options, "endpoint").unwrap_or_default(),
                KeeperOptions::parse(options)?,
            ),
        };
        let worker_custody = match js::get_string(options, "custody").as_deref() {
            None | Some("browser") => false,
            Some("worker") => true,
            Some(_) => {
                return Err(Error::invalid_option(
                    "custody must be \"browser\" or \"worker\"",
                ));
            }
        };
        Ok(XAuth {
            client_id: ClientId::new(client_id),
            redirect_uri,
            scopes,
            authorize_endpoint,
            endpoint: trim_endpoint(&endpoint).to_owned(),
            worker_custody,
            sessions,
        })
    }

    /// A fresh verifier and state, stored as the pending sign-in, and the link to X.
    fn start(&self) -> Result<(String, CsrfToken), Error> {
        let unavailable = |_| {
            Error::new(
                "randomness_unavailable",
                "the browser's crypto.getRandomValues failed",
            )
        };
        let verifier = PkceCodeVerifier::generate().map_err(unavailable)?;
        let state = CsrfToken::generate().map_err(unavailable)?;
        store::store_pending(&state, &verifier, js_sys::Date::now())?;
        let url = AuthorizationRequest {
            endpoint: &self.authorize_endpoint,
            client_id: &self.client_id,
            redirect_uri: &self.redirect_uri,
            scopes: &self.scopes,
            state: &state,
            code_challenge: &verifier.challenge(),
        }
        .url();
        Ok((url, state))
    }

    /// The synchronous half of `handleCallback`.
    fn check_callback(
        &self,
        url: Option<String>,
    ) -> Result<(ValidatedCallback, PkceCodeVerifier), Error> {
        let current = address::current_href();
        let is_current = url.is_none() || url == current;
        let url = url.or(current).unwrap_or_default();
        let pending = store::take_pending(js_sys::Date::now());
        if is_current {
            address::remove_callback_params();
        }
        let pending = pending?;
        let callback = validate_callback(&url, &pending.state)?;
        Ok((callback, pending.verifier))
    }
}

/// The code exchange through the worker; its token answer.
async fn exchange(
    endpoint: &str,
    callback: ValidatedCallback,
    verifier: PkceCodeVerifier,
    redirect_uri: &RedirectUri,
) -> Result<JsValue, Error> {
    let mut url = String::from(endpoint);
    url.push_str("/twitter-access-token");
    let body = js::object(&[
        ("code", callback.code().secret()),
        ("codeVerifier", verifier.secret()),
        ("redirectUri", redirect_uri.as_str()),
    ]);
    let reply = http::post(&url, &body).await?;
    if !reply.is_success() {
        return Err(Error::from_worker(
            "exchange_failed",
            "the worker could not exchange the code for tokens",
            reply.status,
            &reply.body,
        ));
    }
    Ok(reply.body)
}

/// `endpoint` without trailing slashes, so paths can be appended.
fn trim_endpoint(mut endpoint: &str) -> &str {
    // A loop rather than `trim_end_matches`, whose pattern machinery costs ~300 bytes.
    while let Some(rest) = endpoint.strip_suffix('/') {
        endpoint = rest;
    }
    endpoint
}
