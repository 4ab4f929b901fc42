//! `GET|POST|PUT|DELETE /twitter-api/2/<path>`: X API v2 calls forwarded by the worker,
//! because X's API answers no browser (no CORS) and the app's credentials must stay here.
//!
//! Whose authority a call carries ([`Credential`]):
//! - The caller sent `Authorization: Bearer <token>` (the signed-in user's OAuth 2.0 access
//!   token): the call goes to X with that token, for paths under `TWITTER_API_PATHS`
//!   (default `users/me users tweets`); any other path is a 403 `path_not_allowed`. An
//!   `Authorization` that is not a bearer token is a 401 `invalid_token`.
//! - No `Authorization`: a GET of a public read path (`TWITTER_PUBLIC_READ_PATHS`) goes with
//!   the app's bearer token; anything else under `TWITTER_API_PATHS` is a 401
//!   `missing_token`, and the rest a 403 `path_not_allowed`.
//!
//! Nothing else of the caller's request reaches X: the method, the query, the token, and
//! for writes the body (at most 64 KiB) with its `Content-Type`; never a cookie, `Origin` or
//! any other header.
//!
//! X's answer is passed on when the caller can use it as data (2xx and X's API errors such
//! as 400, 404, and in user context 403: X's status, JSON body and `x-rate-limit-*`
//! headers, nothing else, never X's cookies). When it cannot, the answer is the worker's
//! error JSON like every other route: 401 (user context: the user's token is dead,
//! `x_unauthorized`, `reauthorize`; app context: the app's token, `misconfigured`), 403 in
//! app context (`misconfigured`), 429 (`transient`, with `Retry-After` and the rate limit
//! headers), 5xx, non-JSON or no answer (502 `transient`).

use std::cell::RefCell;

use serde::Deserialize;
use worker::{Env, Method, Response};
use xauth_core::{AccessToken, ErrorKind, RawTokenResponse};

use crate::body::{declared_length, read_request_at_most};
use crate::config::{self, AppCredentials, Config, Consumer, Custody};
use crate::custody;
use crate::error::ApiError;
use crate::incoming::Incoming;
use crate::public_reads::is_public_read;
use crate::rate_limit::{self, Bucket};
use crate::session_cookie::SessionHash;
use crate::vault::VaultClient;
use crate::x::{self, ForwardedBody, XReply};

/// The route's prefix; the rest of the path is X's, after `/2/`.
pub const PREFIX: &str = "/twitter-api/";
const V2_PREFIX: &str = "/twitter-api/2/";
/// The methods the route forwards, for `Allow`.
pub const METHODS: &str = "GET, POST, PUT, DELETE";
/// The largest request body passed on to X. X API v2 bodies are small JSON (a post's text
/// is 280 characters; media goes to the upload endpoint, not through here).
pub const MAX_FORWARDED_BODY_BYTES: usize = 64 * 1024;

/// Whose authority a forwarded call carries.
enum Credential {
    /// The caller's own bearer token: the signed-in user's OAuth 2.0 access token.
    User(AccessToken),
    /// The app's bearer token: public reads, for a caller without a token.
    App(AppCredentials),
    // The OAuth 1.0a session cookie (`cookies::CookieKeys::open_session`), signing as the
    // user, would be another variant, chosen after `User` and before `App`.
}

/// `METHOD /twitter-api/2/<path>?<query>` -> `X_API_URL/2/<path>?<query>`.
pub async fn forward(
    req: &Incoming,
    method: &Method,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let (path, query, url) = target(req, config)?;
    if config.custody == Custody::Worker {
        let call = Call {
            method,
            path: &path,
            query: query.as_deref(),
            url: &url,
        };
        return forward_in_worker_custody(req, config, env, &call).await;
    }
    let caller_token = match req.header("authorization")? {
        Some(authorization) => Some(
            bearer_token(&authorization)
                .map(|token| AccessToken::new(token.to_owned()))
                .ok_or_else(ApiError::invalid_token)?,
        ),
        None => None,
    };
    let credential = credential(caller_token, method, &path, query.as_deref(), config)?;
    match credential {
        Credential::User(token) => {
            let body = forwarded_body(req, method).await?;
            let reply = x::call_with_bearer(
                method.clone(),
                &url,
                &token,
                body.as_ref(),
                config.x_timeout_ms,
            )
            .await?;
            answer(reply, Context::User)
        }
        Credential::App(app) => {
            rate_limit::check(env, req, Bucket::AnonymousReads).await?;
            answer(call_as_app(&url, &app, config).await?, Context::App)
        }
    }
}

/// The X API path (after `/2/`), the query, and X's URL of a forwarded call; a path that
/// is not plain segments is a 403 `path_not_allowed`.
fn target(req: &Incoming, config: &Config) -> Result<(String, Option<String>, String), ApiError> {
    let path = req
        .path()
        .strip_prefix(V2_PREFIX)
        .map(str::to_owned)
        .filter(|path| config::is_api_path(path))
        .ok_or_else(ApiError::path_not_allowed)?;
    let query = req.url()?.query().map(str::to_owned);
    let mut url = format!("{}/2/{path}", config.x_api_url);
    if let Some(query) = &query {
        url.push('?');
        url.push_str(query);
    }
    Ok((path, query, url))
}

/// The service API's X call (see [`crate::service`]): as the user whose object `vault`
/// is, with a token from the stored grant, for paths under `TWITTER_API_PATHS`.
pub async fn forward_as_service(
    req: &Incoming,
    method: &Method,
    config: &Config,
    vault: &VaultClient,
) -> Result<Response, ApiError> {
    let (path, _, url) = target(req, config)?;
    if !is_under(&path, &config.api_paths()?) {
        return Err(ApiError::path_not_allowed());
    }
    let body = forwarded_body(req, method).await?;
    let tokens = UserTokens::Service(vault);
    let reply = call_as_user(&tokens, method, &url, body.as_ref(), config).await?;
    answer(reply, Context::User)
}

/// Where a user's access token comes from in worker custody: the user's object, for a
/// session or for the service API.
enum UserTokens<'a> {
    Session {
        vault: &'a VaultClient,
        session: &'a SessionHash,
    },
    Service(&'a VaultClient),
}

impl UserTokens<'_> {
    /// A fresh access token; with `stale`, one that is not `stale`.
    async fn access_token(&self, stale: Option<&AccessToken>) -> Result<AccessToken, ApiError> {
        match self {
            UserTokens::Session { vault, session } => vault.access_token(session, stale).await,
            UserTokens::Service(vault) => vault.service_access_token(stale).await,
        }
    }
}

/// An X API call as the user, with a token from the user's object: X's 401 to a token
/// that is still current gets one refresh (the object's single flight) and one retry, the
/// body replayed.
async fn call_as_user(
    tokens: &UserTokens<'_>,
    method: &Method,
    url: &str,
    body: Option<&ForwardedBody>,
    config: &Config,
) -> Result<XReply, ApiError> {
    let timeout = config.x_timeout_ms;
    let token = tokens.access_token(None).await?;
    let reply = x::call_with_bearer(method.clone(), url, &token, body, timeout).await?;
    if reply.status != 401 {
        return Ok(reply);
    }
    let token = tokens.access_token(Some(&token)).await?;
    x::call_with_bearer(method.clone(), url, &token, body, timeout).await
}

/// Worker custody: the page holds a session cookie, never a token. With the cookie (after
/// the CSRF check) the call goes as the user with a token from the user's object; X's 401
/// to a token that is still current gets one refresh and one retry, the body replayed.
/// Without it, only a public read goes, as the app. A bearer token from the page is
/// refused: in this mode the page has none.
async fn forward_in_worker_custody(
    req: &Incoming,
    config: &Config,
    env: &Env,
    call: &Call<'_>,
) -> Result<Response, ApiError> {
    let Call {
        method,
        path,
        query,
        url,
    } = *call;
    if req.header("authorization")?.is_some() {
        return Err(ApiError::invalid_token());
    }
    let Some(session) = custody::session_of(req, config)? else {
        if *method == Method::Get && is_public_read(path, query, &config.public_read_paths()?) {
            let app = config.app_credentials()?;
            rate_limit::check(env, req, Bucket::AnonymousReads).await?;
            return answer(call_as_app(url, &app, config).await?, Context::App);
        }
        return Err(if is_under(path, &config.api_paths()?) {
            ApiError::no_session()
        } else {
            ApiError::path_not_allowed()
        });
    };
    if !is_under(path, &config.api_paths()?) {
        return Err(ApiError::path_not_allowed());
    }
    let body = forwarded_body(req, method).await?;
    let vault = session.vault(env)?;
    let hash = session.hash();
    let tokens = UserTokens::Session {
        vault: &vault,
        session: &hash,
    };
    let reply = call_as_user(&tokens, method, url, body.as_ref(), config)
        .await
        .map_err(|error| session.refused(error))?;
    let response = answer(reply, Context::User)?;
    session.finish(response, config)
}

/// What a forwarded call is: method, X API path (after `/2/`) and query, and X's URL.
#[derive(Clone, Copy)]
struct Call<'a> {
    method: &'a Method,
    path: &'a str,
    query: Option<&'a str>,
    url: &'a str,
}

/// The credential for this caller, method and path, or the refusal (see the module docs).
fn credential(
    caller_token: Option<AccessToken>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    config: &Config,
) -> Result<Credential, ApiError> {
    if let Some(token) = caller_token {
        return if is_under(path, &config.api_paths()?) {
            Ok(Credential::User(token))
        } else {
            Err(ApiError::path_not_allowed())
        };
    }
    if *method == Method::Get && is_public_read(path, query, &config.public_read_paths()?) {
        return Ok(Credential::App(config.app_credentials()?));
    }
    if is_under(path, &config.api_paths()?) {
        Err(ApiError::missing_token())
    } else {
        Err(ApiError::path_not_allowed())
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC
/// 6750 §2.1), if it is token text X could have issued.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && config::is_bearer_token(token)).then_some(token)
}

/// The caller's request body for a write, bounded (413 beyond
/// [`MAX_FORWARDED_BODY_BYTES`]), with its `Content-Type`; `None` for a GET or an empty
/// body.
async fn forwarded_body(
    req: &Incoming,
    method: &Method,
) -> Result<Option<ForwardedBody>, ApiError> {
    if *method == Method::Get {
        return Ok(None);
    }
    let declared = declared_length(req)?;
    if declared.is_some_and(|length| length > MAX_FORWARDED_BODY_BYTES as u64) {
        return Err(ApiError::payload_too_large(MAX_FORWARDED_BODY_BYTES));
    }
    let content_type = req.header("content-type")?;
    let bytes = read_request_at_most(req, declared, MAX_FORWARDED_BODY_BYTES)
        .await?
        .ok_or_else(|| ApiError::payload_too_large(MAX_FORWARDED_BODY_BYTES))?;
    Ok((!bytes.is_empty()).then_some(ForwardedBody {
        bytes,
        content_type,
    }))
}

/// `path` is under one of `prefixes`, matching whole segments: `users` covers `users` and
/// `users/12`, not `usersx`.
pub fn is_under(path: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Calls X with the app's token; a cached token X no longer takes (401) is dropped and
/// fetched again, once.
async fn call_as_app(url: &str, app: &AppCredentials, config: &Config) -> Result<XReply, ApiError> {
    let consumer = match app {
        AppCredentials::Static(token) => {
            return x::get_with_bearer(url, token, config.x_timeout_ms).await;
        }
        AppCredentials::ClientCredentials(consumer) => consumer,
    };
    let (token, cached) = match cached_app_token(consumer) {
        Some(token) => (token, true),
        None => (fetch_app_token(consumer, config).await?, false),
    };
    let reply = x::get_with_bearer(url, &token, config.x_timeout_ms).await?;
    if reply.status != 401 || !cached {
        return Ok(reply);
    }
    forget_app_token();
    let token = fetch_app_token(consumer, config).await?;
    x::get_with_bearer(url, &token, config.x_timeout_ms).await
}

thread_local! {
    /// The app-only token, per isolate, with the consumer key it belongs to. X answers the
    /// same token until it is invalidated, so one fetch serves the isolate's life.
    static APP_TOKEN: RefCell<Option<(String, AccessToken)>> = const { RefCell::new(None) };
}

fn cached_app_token(consumer: &Consumer) -> Option<AccessToken> {
    APP_TOKEN.with_borrow(|cached| {
        cached
            .as_ref()
            .filter(|(key, _)| key == consumer.key.as_str())
            .map(|(_, token)| token.clone())
    })
}

fn forget_app_token() {
    APP_TOKEN.with_borrow_mut(|cached| *cached = None);
}

/// The client credentials grant at `X_API_URL/oauth2/token`; the token is cached.
async fn fetch_app_token(consumer: &Consumer, config: &Config) -> Result<AccessToken, ApiError> {
    let form = xauth_core::client_credentials_request(&consumer.key, &consumer.secret);
    let url = format!("{}{}", config.x_api_url, xauth_core::APP_TOKEN_PATH);
    let reply = x::post_form(&url, form, config.x_timeout_ms).await?;
    if !(200..300).contains(&reply.status) {
        return Err(x::v1_error(&reply, ErrorKind::Misconfigured));
    }
    let raw: RawTokenResponse = serde_json::from_slice(&reply.body).map_err(|_| {
        ApiError::upstream_unavailable(
            "X answered the app token request with something that is not a token.",
        )
    })?;
    let token = xauth_core::process_app_token_response(raw).map_err(|e| {
        ApiError::upstream_unavailable(format!("X's app token answer was unusable: {e}."))
    })?;
    APP_TOKEN.with_borrow_mut(|cached| {
        *cached = Some((consumer.key.as_str().to_owned(), token.clone()));
    });
    Ok(token)
}

/// X API v2's problem body, for a description.
#[derive(Deserialize)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
}

/// Whose call X answered, for what its refusals mean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    User,
    App,
}

/// X's answer, passed on or turned into the worker's error (see the module docs).
fn answer(reply: XReply, context: Context) -> Result<Response, ApiError> {
    let description = serde_json::from_slice::<Problem>(&reply.body)
        .ok()
        .and_then(|p| p.detail.or(p.title))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("X answered HTTP {}.", reply.status));
    match (reply.status, context) {
        (401, Context::User) => {
            // The user's token is expired or revoked: refresh it or sign in again.
            let mut refused =
                ApiError::from_x_code(401, "x_unauthorized", description, ErrorKind::Reauthorize);
            refused.headers = reply.rate_limit;
            return Err(refused);
        }
        (401 | 403, Context::App) => {
            let error = if reply.status == 401 {
                "x_unauthorized"
            } else {
                "x_forbidden"
            };
            return Err(ApiError::from_x_code(
                reply.status,
                error,
                format!("X refused the app's credentials for this call: {description}"),
                ErrorKind::Misconfigured,
            ));
        }
        (429, _) => {
            let mut limited = ApiError::from_x_code(
                429,
                "rate_limited",
                "X's rate limit for this call is spent; see x-rate-limit-reset.".to_owned(),
                ErrorKind::Transient,
            );
            limited.retry_after = reply.retry_after;
            limited.headers = reply.rate_limit;
            return Err(limited);
        }
        (500..=599, _) => {
            return Err(ApiError::upstream_unavailable(format!(
                "X answered HTTP {}.",
                reply.status
            )));
        }
        _ => {}
    }
    let mut response = if reply.status == 204 {
        // No content, by definition: nothing to check, nothing to pass on.
        Response::empty()?.with_status(204)
    } else {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&reply.body).is_err() {
            return Err(ApiError::upstream_unavailable(
                "X answered with something that is not JSON.",
            ));
        }
        let content_type = reply
            .content_type
            .filter(|t| t.to_ascii_lowercase().contains("json"))
            .unwrap_or_else(|| "application/json".to_owned());
        Response::builder()
            .with_status(reply.status)
            .with_header("content-type", &content_type)?
            .fixed(reply.body)
    };
    let headers = response.headers_mut();
    for (name, value) in &reply.rate_limit {
        headers.set(name, value)?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_match_whole_segments_and_allow_me() {
        let prefixes = ["users/me", "tweets"];
        for allowed in ["users/me", "users/me/x", "tweets", "tweets/1/liking_users"] {
            assert!(is_under(allowed, &prefixes), "{allowed}");
        }
        for refused in ["users", "users/12", "users/meet", "tweetsx", "dm_events"] {
            assert!(!is_under(refused, &prefixes), "{refused}");
        }
    }

    #[test]
    fn bearer_tokens() {
        for (authorization, token) in [
            ("Bearer abc.DEF-123_~+/=", Some("abc.DEF-123_~+/=")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer a b", None),
            ("Bearer caf\u{e9}", None),
            ("Basic YTpi", None),
            ("Token abc", None),
            ("abc", None),
        ] {
            assert_eq!(bearer_token(authorization), token, "{authorization:?}");
        }
        let long = format!("Bearer {}", "a".repeat(4097));
        assert_eq!(bearer_token(&long), None);
    }
}
