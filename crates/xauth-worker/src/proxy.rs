//! `GET /twitter-api/2/<path>`: X API v2 calls forwarded by the worker, because X's API
//! answers no browser (no CORS) and its credentials must stay here.
//!
//! Today a caller who is not signed in gets the app's authority (an app-only bearer token)
//! for the public read paths of `TWITTER_PUBLIC_READ_PATHS`; every other path is a 403.
//! [`Credential`] is where the user proxy (a later route set) adds signed-in callers.
//!
//! X's answer is passed on when the caller can use it as data (2xx and X's API errors such
//! as 400 and 404: X's status, JSON body and `x-rate-limit-*` headers, nothing else). When
//! it cannot, the answer is the worker's error JSON like every other route: 401/403 (the
//! app's token or access level is wrong: `misconfigured`), 429 (`transient`, with
//! `Retry-After` and the rate limit headers), 5xx, non-JSON or no answer (502 `transient`).

use std::cell::RefCell;

use serde::Deserialize;
use worker::{Request, Response};
use xauth_core::{AccessToken, ErrorKind, RawTokenResponse};

use crate::config::{AppCredentials, Config, Consumer};
use crate::error::ApiError;
use crate::x::{self, XReply};

/// The route's prefix; the rest of the path is X's, after `/2/`.
pub const PREFIX: &str = "/twitter-api/";
const V2_PREFIX: &str = "/twitter-api/2/";

/// Whose authority a forwarded call carries.
enum Credential {
    /// The app's bearer token: public reads, for a caller who is not signed in.
    App(AppCredentials),
    // The user proxy adds its variants here, chosen before `App`: the caller's OAuth 2.0
    // bearer token, or the OAuth 1.0a session cookie (`cookies::CookieKeys::open_session`),
    // signing as the user.
}

/// `GET /twitter-api/2/<path>?<query>` -> `X_API_URL/2/<path>?<query>`.
pub async fn forward(req: Request, config: &Config) -> Result<Response, ApiError> {
    let path = req
        .path()
        .strip_prefix(V2_PREFIX)
        .map(str::to_owned)
        .filter(|path| crate::config::is_api_path(path))
        .ok_or_else(ApiError::path_not_allowed)?;
    let credential = credential(&path, config)?;
    let mut url = format!("{}/2/{path}", config.x_api_url);
    if let Some(query) = req.url()?.query() {
        url.push('?');
        url.push_str(query);
    }
    let reply = match credential {
        Credential::App(app) => call_as_app(&url, &app, config).await?,
    };
    answer(reply)
}

/// The credential for this path and caller, or a 403.
fn credential(path: &str, config: &Config) -> Result<Credential, ApiError> {
    if is_public_read(path, &config.public_read_paths()?) {
        Ok(Credential::App(config.app_credentials()?))
    } else {
        Err(ApiError::path_not_allowed())
    }
}

/// `path` is under one of `prefixes` (whole segments), and is not `users/me`: the app is
/// nobody, so "me" needs a signed-in user.
fn is_public_read(path: &str, prefixes: &[&str]) -> bool {
    if path == "users/me" || path.starts_with("users/me/") {
        return false;
    }
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

/// X's answer, passed on or turned into the worker's error (see the module docs).
fn answer(reply: XReply) -> Result<Response, ApiError> {
    let description = || {
        serde_json::from_slice::<Problem>(&reply.body)
            .ok()
            .and_then(|p| p.detail.or(p.title))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("X answered HTTP {}.", reply.status))
    };
    match reply.status {
        401 | 403 => {
            let error = if reply.status == 401 {
                "x_unauthorized"
            } else {
                "x_forbidden"
            };
            return Err(ApiError::from_x_code(
                reply.status,
                error,
                format!(
                    "X refused the app's credentials for this call: {}",
                    description()
                ),
                ErrorKind::Misconfigured,
            ));
        }
        429 => {
            let mut limited = ApiError::from_x_code(
                429,
                "rate_limited",
                "X's rate limit for this call is spent; see x-rate-limit-reset.".to_owned(),
                ErrorKind::Transient,
            );
            limited.retry_after = reply.retry_after.clone();
            limited.headers = reply.rate_limit;
            return Err(limited);
        }
        500..=599 => {
            return Err(ApiError::upstream_unavailable(format!(
                "X answered HTTP {}.",
                reply.status
            )));
        }
        _ => {}
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&reply.body).is_err() {
        return Err(ApiError::upstream_unavailable(
            "X answered with something that is not JSON.",
        ));
    }
    let content_type = reply
        .content_type
        .filter(|t| t.to_ascii_lowercase().contains("json"))
        .unwrap_or_else(|| "application/json".to_owned());
    let mut response = Response::builder()
        .with_status(reply.status)
        .with_header("content-type", &content_type)?;
    for (name, value) in &reply.rate_limit {
        response = response.with_header(name, value)?;
    }
    Ok(response.fixed(reply.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_read_paths() {
        let prefixes = ["tweets", "users", "lists/1"];
        for allowed in [
            "tweets",
            "tweets/20",
            "tweets/search/recent",
            "users/12",
            "users/by/username/jack",
            "users/12/tweets",
            "lists/1",
            "lists/1/tweets",
            "users/meet",
        ] {
            assert!(is_public_read(allowed, &prefixes), "{allowed}");
        }
        for refused in [
            "users/me",
            "users/me/x",
            "tweetsx",
            "lists/12",
            "lists",
            "dm_events",
            "spaces/1",
        ] {
            assert!(!is_public_read(refused, &prefixes), "{refused}");
        }
        assert!(!is_public_read("tweets/1", &[]));
    }
}
