//! Worker custody (`XAUTH_TOKEN_CUSTODY = "worker"`) test setup shared by the suites that
//! sign users in through the worker: one OAuth 2.0 client, the emulator as X, a worker (or
//! a workerd instance) whose callback is its own origin, and the page's requests (the
//! session cookie plus `X-XAuth: 1`) made with a checking [`Api`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Answer, Api};
use crate::{Emulator, EmulatorOptions, Worker, free_port, random_vault_key};

/// The OAuth 2.0 client the emulator registers and the worker uses.
pub const CLIENT_ID: &str = "xauth-custody-client";
/// Its secret: no answer may ever show it.
pub const CLIENT_SECRET: &str = "custody-s3cret-that-must-never-leak";
/// The scopes signed in with (posting needs all three of X's write scopes).
pub const SCOPES: &str = "tweet.read tweet.write users.read offline.access";
/// The one cross-origin page allowed (`ALLOWED_ORIGINS`).
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";
/// RFC 7636's example verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The challenge of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The session cookie's name over plain-http loopback.
pub const COOKIE: &str = "xauth_session";
/// The vault key of a test run: a fresh random key.
pub static VAULT_KEY: LazyLock<String> = LazyLock::new(random_vault_key);

/// X and a worker in worker custody, on a port chosen first (it is the callback's origin).
pub struct Setup {
    /// X.
    pub x: Emulator,
    /// The worker, under `wrangler dev`.
    pub worker: Worker,
    /// `http://127.0.0.1:<the worker's port>/`.
    pub redirect_uri: String,
}

/// The emulator with [`CLIENT_ID`] registered for `redirect_uri`, changed by `adjust`.
pub fn emulator(
    adjust: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
    redirect_uri: &str,
) -> Emulator {
    Emulator::start(adjust(
        EmulatorOptions::default()
            .client(CLIENT_ID, Some(CLIENT_SECRET))
            .redirect_uris(&[redirect_uri]),
    ))
}

/// The worker variables of worker custody with `x` as X and `redirect_uri` as callback
/// (X calls time out after 2 s).
pub fn vars(x: &Emulator, redirect_uri: &str) -> BTreeMap<&'static str, String> {
    let mut vars = crate::worker_vars(
        x.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        redirect_uri,
        SCOPES,
    );
    vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
    vars.insert("XAUTH_VAULT_KEY", VAULT_KEY.clone());
    vars.insert("ALLOWED_ORIGINS", ALLOWED_ORIGIN.to_owned());
    vars.insert("X_TIMEOUT_MS", "2000".to_owned());
    vars
}

impl Setup {
    /// X and the worker with the defaults.
    pub fn start() -> Setup {
        Setup::start_with(|options| options, |_| {})
    }

    /// X changed by `adjust_x`, the worker's variables by `adjust_vars`.
    pub fn start_with(
        adjust_x: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
        adjust_vars: impl FnOnce(&mut BTreeMap<&'static str, String>),
    ) -> Setup {
        Setup::start_worker(adjust_x, adjust_vars, |port, vars| {
            Worker::start_on(port, vars)
        })
    }

    /// X and the defaults, with the worker started by `start` on the given port with the
    /// given variables (e.g. an app's own Worker with xauth mounted in it).
    pub fn start_worker(
        adjust_x: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
        adjust_vars: impl FnOnce(&mut BTreeMap<&'static str, String>),
        start: impl FnOnce(u16, &BTreeMap<&'static str, String>) -> Worker,
    ) -> Setup {
        let port = free_port();
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let x = emulator(adjust_x, &redirect_uri);
        let mut vars = vars(&x, &redirect_uri);
        adjust_vars(&mut vars);
        let worker = start(port, &vars);
        Setup {
            x,
            worker,
            redirect_uri,
        }
    }

    /// A browser: a cookie jar that fails on the client secret and, once known, tokens.
    pub fn browser(&self) -> Api {
        Api::new(&self.worker, &[CLIENT_SECRET])
    }

    /// Signs `browser` in (X's consent at the emulator, then the worker's exchange);
    /// the worker's answer.
    pub fn sign_in(&self, browser: &Api) -> Answer {
        sign_in(&self.x, &self.redirect_uri, browser)
    }

    /// From now on, every token X ever issued here is a secret `browser` must never see.
    pub fn forbid_tokens(&self, browser: &Api) {
        forbid_tokens(&self.x, browser);
    }

    /// The emulator's counter at `path` (e.g. `["token_by_grant", "refresh_token"]`).
    pub fn stat(&self, path: &[&str]) -> u64 {
        stat(&self.x, path)
    }

    /// How many refreshes X has seen (faulted ones too).
    pub fn refreshes(&self) -> u64 {
        self.stat(&["token_by_grant", "refresh_token"])
    }
}

/// Signs `browser` in at the worker it talks to, whose callback is `redirect_uri`: X's
/// consent at `x`, then the worker's exchange. The worker's answer; every token X issued
/// so far is forbidden in `browser`'s answers from then on.
pub fn sign_in(x: &Emulator, redirect_uri: &str, browser: &Api) -> Answer {
    let code = x.authorize(CLIENT_ID, redirect_uri, SCOPES, "state", CHALLENGE);
    let answer = browser.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    forbid_tokens(x, browser);
    answer
}

/// From now on, every token `x` issued so far is a secret `api` must never see.
pub fn forbid_tokens(x: &Emulator, api: &Api) {
    let (access, refresh) = x.tokens();
    api.forbid(&access);
    api.forbid(&refresh);
}

/// The emulator's counter at `path`.
pub fn stat(x: &Emulator, path: &[&str]) -> u64 {
    let stats = x.stats();
    let mut value = &stats;
    for key in path {
        value = &value[*key];
    }
    value
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {path:?} in {stats}"))
}

/// `method /twitter-api/2/<path>` as the page's JS would in worker custody: the cookie and
/// `X-XAuth: 1`.
pub fn call(browser: &Api, method: Method, path: &str, body: Option<&Value>) -> Answer {
    let mut request = browser
        .http
        .request(method, format!("{}/twitter-api/2/{path}", browser.base))
        .header("x-xauth", "1");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    browser.send(request)
}

/// `GET /twitter-api/2/users/me` with the session.
pub fn who_am_i(browser: &Api) -> Answer {
    call(browser, Method::GET, "users/me", None)
}

/// A cookie-authenticated POST to a worker route, as the browser crate sends it.
pub fn post_with_session(browser: &Api, path: &str, body: &Value) -> Answer {
    browser.send(
        browser
            .http
            .post(format!("{}{path}", browser.base))
            .header("x-xauth", "1")
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
}

/// A cookie-authenticated GET of a worker route.
pub fn get_with_session(browser: &Api, path: &str) -> Answer {
    browser.send(
        browser
            .http
            .get(format!("{}{path}", browser.base))
            .header("x-xauth", "1"),
    )
}

/// `GET /twitter-session`.
pub fn session(browser: &Api) -> Answer {
    get_with_session(browser, "/twitter-session")
}
