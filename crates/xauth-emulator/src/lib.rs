//! A local stand-in for X's OAuth endpoints: the demo's default X and the tests' X.
//!
//! It serves the paths X serves (`/i/oauth2/authorize`, `/2/oauth2/token`,
//! `/2/oauth2/revoke`, `/2/users/me`, two public reads: `/2/tweets/:id`, `/2/users/:id`,
//! and posting as the user: `POST /2/tweets`, `DELETE /2/tweets/:id`) for one registered
//! client and one user, and follows
//! the rules and error bodies of `x-oauth-reference.md`: exact redirect URIs, all 22
//! scopes, PKCE required (S256, plain tolerated), 30 s single-use codes, rotating refresh
//! tokens, Basic client authentication with form-urlencoded parts (RFC 6749 §2.3.1).
//!
//! X's other auth kinds, for one registered consumer (key and secret): OAuth 1.0a
//! (`/oauth/request_token`, `/oauth/authorize`, `/oauth/authenticate`,
//! `/oauth/access_token`; HMAC-SHA1 signatures, single-use nonces, a 600 s timestamp window,
//! callback or PIN) and the app-only bearer token (`/oauth2/token`).
//!
//! It does **not** share code with `xauth-core`: PKCE, client authentication and OAuth 1.0a
//! signatures are implemented again here, so the emulator checks the client independently.
//!
//! Tests drive it through a control API under `/__emulator/` (never at X): call counters,
//! the posts made, a reset, injected faults (500, 429, 401, 403, garbage, slow, dropped
//! connection) and forced token expiry. See [`router`] for the routes.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! xauth_emulator::serve(xauth_emulator::EmulatorConfig::default(), listener).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(
    clippy::result_large_err,
    reason = "validators return the finished refusal as their error; a test server's handlers gain nothing from boxing it"
)]

mod api;
mod app_only;
mod authorize;
mod control;
mod http;
mod oauth1;
mod server;
mod signature;
mod store;
mod token;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

pub use server::serve;

/// The request parsers (OAuth 1.0a `Authorization` headers and signatures, Basic client
/// authentication, forms), re-exported for the fuzz targets in `fuzz/`. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::http::parse_form;
    pub use crate::signature::{base_string, parse_authorization, signature_matches};
    pub use crate::token::parse_basic;
}

/// The client id registered by default.
pub const DEFAULT_CLIENT_ID: &str = "xauth-demo-client";
/// The client secret registered by default (a demo value, not a secret).
pub const DEFAULT_CLIENT_SECRET: &str = "xauth-demo-secret";
/// The redirect URIs registered by default: the worker under `wrangler dev`.
pub const DEFAULT_REDIRECT_URIS: [&str; 2] = ["http://127.0.0.1:8787/", "http://localhost:8787/"];
/// The OAuth 1.0a / app-only consumer key registered by default.
pub const DEFAULT_CONSUMER_KEY: &str = "xauth-demo-consumer";
/// The consumer secret registered by default (a demo value, not a secret).
pub const DEFAULT_CONSUMER_SECRET: &str = "xauth-demo-consumer-secret";
/// How far an OAuth 1.0a `oauth_timestamp` may be from the emulator's clock, in seconds.
pub const OAUTH1_TIMESTAMP_WINDOW_SECS: u64 = signature::TIMESTAMP_WINDOW_SECS;
/// The port the binary listens on by default.
pub const DEFAULT_PORT: u16 = 8790;
/// X's access token lifetime, in seconds.
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 7200;
/// X's authorization code lifetime, in seconds.
pub const DEFAULT_CODE_TTL_SECS: u64 = 30;

/// X's OAuth 2.0 scopes; an authorization request may only ask for these.
pub const KNOWN_SCOPES: [&str; 22] = [
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.email",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "media.write",
];

/// What the emulated user answers on the consent page when no browser is involved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Redirect back with a code.
    Approve,
    /// Redirect back with `error=access_denied`.
    Deny,
}

/// A user of X, as `/2/users/me` describes the one a token was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// X's numeric user id, as a string.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The handle, without `@`.
    pub username: String,
}

impl Default for User {
    fn default() -> Self {
        Self {
            id: "2244994945".into(),
            name: "X Demo User".into(),
            username: "xauthdemo".into(),
        }
    }
}

/// The one registered client, the user and the lifetimes the emulator works with.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// The registered client id.
    pub client_id: String,
    /// The client secret of a confidential client; `None` registers a public client
    /// (no secret, `client_id` in the body, Basic authentication refused).
    pub client_secret: Option<String>,
    /// Registered callbacks; `redirect_uri` must equal one of them exactly. OAuth 1.0a's
    /// `oauth_callback` must equal one of them once both lose their query.
    pub redirect_uris: Vec<String>,
    /// The consumer key ("API Key") for OAuth 1.0a and app-only tokens.
    pub consumer_key: String,
    /// The consumer secret ("API Key Secret").
    pub consumer_secret: String,
    /// Access token lifetime (`expires_in`).
    pub access_ttl: Duration,
    /// How long an authorization code can be exchanged.
    pub code_ttl: Duration,
    /// Decide every authorization request (OAuth 2.0 and 1.0a) at once instead of showing
    /// the consent page.
    pub auto_decision: Option<Decision>,
    /// Stricter than X is known to be: a refresh also kills the access token that was
    /// issued with the spent refresh token.
    pub strict_rotation: bool,
    /// The user behind every grant, until `POST /__emulator/user` names another.
    pub user: User,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: Some(DEFAULT_CLIENT_SECRET.into()),
            redirect_uris: DEFAULT_REDIRECT_URIS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            consumer_key: DEFAULT_CONSUMER_KEY.into(),
            consumer_secret: DEFAULT_CONSUMER_SECRET.into(),
            access_ttl: Duration::from_secs(DEFAULT_ACCESS_TTL_SECS),
            code_ttl: Duration::from_secs(DEFAULT_CODE_TTL_SECS),
            auto_decision: None,
            strict_rotation: false,
            user: User::default(),
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"[redacted]")
            .field("access_ttl", &self.access_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("auto_decision", &self.auto_decision)
            .field("strict_rotation", &self.strict_rotation)
            .field("user", &self.user)
            .finish()
    }
}

/// The emulator's routes, for serving with [`serve`] (or any axum server; only
/// [`serve`] can honour the `close` fault).
///
/// | Route | What |
/// |---|---|
/// | `GET /i/oauth2/authorize` | consent page, or `decision=approve\|deny` to decide at once |
/// | `POST /i/oauth2/authorize/decision` | the consent page's form |
/// | `POST /2/oauth2/token` | `authorization_code` and `refresh_token` grants |
/// | `POST /2/oauth2/revoke` | RFC 7009 revocation, answers `{"revoked":true}` |
/// | `GET /2/users/me` | the user, for a live bearer token with `users.read tweet.read` (403 for the app-only token) |
/// | `GET /2/tweets/:id` | `{"data":{"id","text"}}` for the app-only token or a live user token (401 otherwise), with `x-rate-limit-*` headers |
/// | `GET /2/users/:id` | `{"data":{"id","name","username"}}`, the same way |
/// | `POST /2/tweets` | `{"text"}` as the user (`tweet.read tweet.write users.read`): 201 `{"data":{"id","text"}}`; 403 for a duplicate text or the app token |
/// | `DELETE /2/tweets/:id` | `{"data":{"deleted":true}}` for a post made here, 404 otherwise; the same auth rules |
/// | `POST /oauth/request_token` | OAuth 1.0a request token; signed, `oauth_callback` = registered URL or `oob` |
/// | `GET /oauth/authorize` | consent page, or `decision=approve\|deny`; `oauth_token=…` |
/// | `GET /oauth/authenticate` | the same, approving at once a consumer the user approved before |
/// | `POST /oauth/authorize` | the OAuth 1.0a consent page's form |
/// | `POST /oauth/access_token` | signed with the request token, `oauth_verifier`; answers the user's token |
/// | `POST /oauth2/token` | app-only bearer token: Basic(consumer key, secret), `grant_type=client_credentials` |
/// | `GET /__emulator/stats` | call counters, `api_requests_with_cookie`, and `posts` (`[{"id","text"}]`) |
/// | `GET /__emulator/posts` | `{"posts": [{"id","text","author_id"}]}`: the same posts, with who made each |
/// | `POST /__emulator/reset` | zero the counters, forget the posts, drop pending faults |
/// | `POST /__emulator/faults` | `{"endpoint","mode","count","delay_ms"}` |
/// | `POST /__emulator/expire` | `{"access_token"?}`: expire one or all access tokens now |
/// | `GET /__emulator/tokens` | `{"access": [...], "refresh": [...]}`: the live OAuth 2.0 tokens |
/// | `POST /__emulator/user` | `{"id","name","username"}`: the user behind grants authorized from now on (earlier codes and tokens, and their refreshes, keep theirs; `/2/users/me` and posting answer as the token's user) |
pub fn router(config: EmulatorConfig) -> Router {
    let shared = Arc::new(store::Shared::new(config));
    Router::new()
        .route("/i/oauth2/authorize", get(authorize::page))
        .route("/i/oauth2/authorize/decision", post(authorize::decision))
        .route("/2/oauth2/token", post(token::token))
        .route("/2/oauth2/revoke", post(token::revoke))
        .route("/2/users/me", get(api::users_me))
        .route("/2/tweets", post(api::create_tweet))
        .route("/2/tweets/{id}", get(api::tweet).delete(api::delete_tweet))
        .route("/2/users/{id}", get(api::user))
        .route("/oauth/request_token", post(oauth1::request_token))
        .route(
            "/oauth/authorize",
            get(oauth1::authorize).post(oauth1::decision),
        )
        .route("/oauth/authenticate", get(oauth1::authenticate))
        .route("/oauth/access_token", post(oauth1::access_token))
        .route("/oauth2/token", post(app_only::app_token))
        .route("/__emulator/stats", get(control::stats))
        .route("/__emulator/posts", get(control::posts))
        .route("/__emulator/reset", post(control::reset))
        .route("/__emulator/faults", post(control::faults))
        .route("/__emulator/expire", post(control::expire))
        .route("/__emulator/tokens", get(control::tokens))
        .route("/__emulator/user", post(control::user))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            http::count_cookies,
        ))
        .layer(axum::middleware::from_fn(http::log_request))
        .with_state(shared)
}
