//! The OAuth 1.0a sign-in routes (RFC 5849 §2), one handler each:
//!
//! - `POST /twitter-oauth1/request-token` {callback?, linkMode?} -> {url, oauthToken}
//! - `POST /twitter-oauth1/access-token` {oauthToken, oauthVerifier | pin} -> {userId, screenName}
//! - `GET /twitter-oauth1/session` -> {signedIn, userId?, screenName?}
//! - `POST /twitter-oauth1/sign-out` -> {signedOut: true}
//!
//! The request token's secret waits for step 2 in a sealed, HttpOnly cookie (see
//! [`crate::cookies`]), never in script's reach; the user's access token and secret go into
//! another one, and into the answer only when `TWITTER_OAUTH1_RETURN_TOKENS=true`.

use serde::Serialize;
use worker::{Env, Response};
use xauth_core::{ErrorKind, OAuth1Callback, OAuth1Verifier};

use crate::body::read_json_body;
use crate::config::{Config, Custody};
use crate::cookies::{self, CookieKeys, PendingError};
use crate::error::ApiError;
use crate::incoming::Incoming;
use crate::session_cookie::SessionSecret;
use crate::vault::VaultClient;
use crate::x;

/// `POST /twitter-oauth1/request-token`: asks X for a request token and answers the link
/// to X's consent page. The token's secret is set as the pending cookie.
pub async fn request_token(req: &Incoming, config: &Config) -> Result<Response, ApiError> {
    let consumer = config.consumer()?;
    // Checked before X is asked: a sign-in that cannot be sealed must not spend a token.
    let keys = CookieKeys::new(config.vault_keys()?);
    let body = read_json_body(req).await?;
    let callback = callback(config, body.string(&["callback", "oauthCallback"])?)?;
    let authenticate = match body.string(&["linkMode"])? {
        None | Some("authenticate") => true,
        Some("authorize") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "linkMode must be authenticate or authorize.",
            ));
        }
    };

    let now = crate::now_unix_secs();
    let signed = xauth_core::request_token_request(
        &config.x_api_url,
        &consumer.key,
        &consumer.secret,
        &callback,
        &nonce()?,
        now,
    )
    .map_err(|e| ApiError::internal(format!("The request token request: {e}.")))?;
    let reply = x::post_signed(&signed, config.x_timeout_ms).await?;
    if !(200..300).contains(&reply.status) {
        return Err(x::v1_error(&reply, ErrorKind::Misconfigured));
    }
    let request_token =
        xauth_core::process_request_token_response(&form_text(&reply)?).map_err(|e| {
            ApiError::upstream_unavailable(format!("X's request token answer was unusable: {e}."))
        })?;

    let url = if authenticate {
        xauth_core::oauth1_authenticate_url(&config.x_api_url, &request_token.token)
    } else {
        xauth_core::oauth1_authorize_url(&config.x_api_url, &request_token.token)
    };
    let pending = keys
        .pending_cookie(&request_token, now, is_https(req))
        .map_err(|_| ApiError::internal("The sign-in could not be sealed."))?;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Started<'a> {
        url: &'a str,
        oauth_token: &'a str,
    }
    let mut response = Response::from_json(&Started {
        url: &url,
        oauth_token: request_token.token.as_str(),
    })?;
    response.headers_mut().append("set-cookie", &pending)?;
    Ok(response)
}

/// The callback to register with X: `oob`, or one of `TWITTER_REDIRECT_URI` (compared
/// without query and fragment, as X compares it), by default the first.
fn callback(config: &Config, requested: Option<&str>) -> Result<OAuth1Callback, ApiError> {
    let Some(requested) = requested else {
        return Ok(OAuth1Callback::Url(config.redirect_uri(None)?.clone()));
    };
    let callback = OAuth1Callback::parse(requested)
        .map_err(|_| ApiError::bad_request("callback must be oob or an absolute URL."))?;
    let bare = |url: &str| url.split(['?', '#']).next().unwrap_or_default().to_owned();
    match &callback {
        OAuth1Callback::Oob => Ok(callback),
        OAuth1Callback::Url(url)
            if config
                .redirect_uris
                .iter()
                .any(|allowed| bare(allowed.as_str()) == bare(url.as_str())) =>
        {
            Ok(callback)
        }
        OAuth1Callback::Url(_) => Err(ApiError::bad_request(
            "callback is not one of the allowed redirect URIs.",
        )),
    }
}

/// `POST /twitter-oauth1/access-token` {oauthToken, oauthVerifier | pin}: trades the pending
/// request token and the verifier for the user's access token, kept in the session cookie.
/// In worker custody the session is also registered in the user's vault, so that signing
/// out ends it there.
pub async fn access_token(
    req: &Incoming,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let consumer = config.consumer()?;
    let return_tokens = config.oauth1_return_tokens()?;
    let secure = is_https(req);
    let body = read_json_body(req).await?;
    // The callback said `denied=…`: the request token is dead at X.
    if body.is_set("denied")? {
        return Err(ApiError::sign_in_refused(
            "access_denied",
            "The user did not authorize the app on X.",
        )
        .with_cookie(cookies::clear_pending(secure)));
    }
    let oauth_token = body.required_string(&["oauthToken", "oauth_token"])?;
    let verifier = verifier(
        body.string(&["oauthVerifier", "oauth_verifier"])?,
        body.string(&["pin"])?,
    )?;

    let now = crate::now_unix_secs();
    let keys = CookieKeys::new(config.vault_keys()?);
    let request_token = keys
        .open_pending(req.header("cookie")?.as_deref(), oauth_token, now, secure)
        .map_err(|e| pending_refused(&e, secure))?;

    let signed = xauth_core::access_token_request(
        &config.x_api_url,
        &consumer.key,
        &consumer.secret,
        &request_token,
        &verifier,
        &nonce()?,
        now,
    )
    .map_err(|e| ApiError::internal(format!("The access token request: {e}.")))?;
    let reply = x::post_signed(&signed, config.x_timeout_ms).await?;
    if !(200..300).contains(&reply.status) {
        let error = x::v1_error(&reply, ErrorKind::Reauthorize);
        // X refused: the request token is spent (single use). A transient failure keeps it
        // for a retry.
        return Err(if error.kind == Some(ErrorKind::Transient) {
            error
        } else {
            error.with_cookie(cookies::clear_pending(secure))
        });
    }
    let access = xauth_core::process_access_token_response(&form_text(&reply)?).map_err(|e| {
        ApiError::upstream_unavailable(format!("X's access token answer was unusable: {e}."))
    })?;
    let session_secret = SessionSecret::generate()
        .map_err(|_| ApiError::internal("No randomness for a session."))?;
    if config.custody == Custody::Worker {
        VaultClient::for_user(env, &access.user_id)?
            .oauth1_sign_in(&session_secret.hash())
            .await?;
    }
    let session = keys
        .session_cookie(&access, &session_secret, now, secure)
        .map_err(|_| ApiError::internal("The session could not be sealed."))?;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SignedIn<'a> {
        user_id: &'a str,
        screen_name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        oauth_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        oauth_token_secret: Option<&'a str>,
    }
    let mut response = Response::from_json(&SignedIn {
        user_id: &access.user_id,
        screen_name: &access.screen_name,
        oauth_token: return_tokens.then(|| access.token.as_str()),
        oauth_token_secret: return_tokens.then(|| access.secret.secret()),
    })?;
    let headers = response.headers_mut();
    headers.append("set-cookie", &session)?;
    headers.append("set-cookie", &cookies::clear_pending(secure))?;
    Ok(response)
}

/// The verifier from the callback's `oauth_verifier`, or the PIN the user typed.
fn verifier(verifier: Option<&str>, pin: Option<&str>) -> Result<OAuth1Verifier, ApiError> {
    match (verifier, pin) {
        (Some(verifier), _) if !verifier.is_empty() => Ok(OAuth1Verifier::new(verifier.to_owned())),
        (_, Some(pin)) if !pin.trim().is_empty() => OAuth1Verifier::parse_pin(pin)
            .ok_or_else(|| ApiError::bad_request("pin must be the digits X showed.")),
        _ => Err(ApiError::sign_in_refused(
            "missing_verifier",
            "Send oauthVerifier from X's callback, or the pin X showed. A callback without one means the user did not authorize the app.",
        )),
    }
}

fn pending_refused(error: &PendingError, secure: bool) -> ApiError {
    let (code, description) = match error {
        PendingError::Missing => (
            "no_pending_sign_in",
            "No sign-in is pending in this browser: start again with /twitter-oauth1/request-token.",
        ),
        PendingError::Unreadable => (
            "no_pending_sign_in",
            "The pending sign-in cookie is not valid: start again with /twitter-oauth1/request-token.",
        ),
        PendingError::Expired => (
            "no_pending_sign_in",
            "The pending sign-in is older than 10 minutes: start again with /twitter-oauth1/request-token.",
        ),
        PendingError::OtherToken => (
            "token_mismatch",
            "oauthToken is not the sign-in pending in this browser.",
        ),
    };
    let refused = ApiError::sign_in_refused(code, description);
    match error {
        // Keep a good pending sign-in; drop one that can never be used.
        PendingError::Missing | PendingError::OtherToken => refused,
        PendingError::Unreadable | PendingError::Expired => {
            refused.with_cookie(cookies::clear_pending(secure))
        }
    }
}

/// `GET /twitter-oauth1/session`: who is signed in with OAuth 1.0a in this browser. In
/// worker custody the user's vault must still know the session (a signed-out one is not).
pub async fn session(req: &Incoming, config: &Config, env: &Env) -> Result<Response, ApiError> {
    config.consumer()?;
    let secure = is_https(req);
    let mut session = open_session(req, config, secure)?;
    let mut ended_elsewhere = false;
    if let (Some(open), Custody::Worker) = (&session, config.custody)
        && !VaultClient::for_user(env, &open.user_id)?
            .oauth1_session(&open.session.hash())
            .await?
    {
        session = None;
        ended_elsewhere = true;
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SessionAnswer<'a> {
        signed_in: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        screen_name: Option<&'a str>,
    }
    let mut response = Response::from_json(&SessionAnswer {
        signed_in: session.is_some(),
        user_id: session.as_ref().map(|s| s.user_id.as_str()),
        screen_name: session.as_ref().map(|s| s.screen_name.as_str()),
    })?;
    if ended_elsewhere {
        response
            .headers_mut()
            .append("set-cookie", &cookies::clear_session(secure))?;
    }
    Ok(response)
}

/// The OAuth 1.0a session cookie of this request, if valid.
fn open_session(
    req: &Incoming,
    config: &Config,
    secure: bool,
) -> Result<Option<cookies::Session>, ApiError> {
    let cookie = req.header("cookie")?;
    Ok(CookieKeys::new(config.vault_keys()?).open_session(
        cookie.as_deref(),
        crate::now_unix_secs(),
        secure,
    ))
}

/// `POST /twitter-oauth1/sign-out`: forgets the session cookie and, in worker custody,
/// ends the session in the user's vault, so no copy of the cookie works any more. X's
/// OAuth 1.0a tokens cannot be revoked by the app; the user can, in their X settings.
pub async fn sign_out(req: &Incoming, config: &Config, env: &Env) -> Result<Response, ApiError> {
    if config.custody == Custody::Worker
        && let Some(session) = open_session(req, config, is_https(req))?
    {
        VaultClient::for_user(env, &session.user_id)?
            .oauth1_sign_out(&session.session.hash())
            .await?;
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SignedOut {
        signed_out: bool,
    }
    let mut response = Response::from_json(&SignedOut { signed_out: true })?;
    response
        .headers_mut()
        .append("set-cookie", &cookies::clear_session(is_https(req)))?;
    Ok(response)
}

/// X's `oauth/*` answers are form-encoded text.
fn form_text(reply: &x::XReply) -> Result<String, ApiError> {
    String::from_utf8(reply.body.clone())
        .map_err(|_| ApiError::upstream_unavailable("X answered with something that is not text."))
}

fn nonce() -> Result<String, ApiError> {
    xauth_core::generate_nonce().map_err(|_| ApiError::internal("No randomness for a nonce."))
}

/// Cookies get `Secure` when the request came over https (always, deployed).
fn is_https(req: &Incoming) -> bool {
    req.url().is_ok_and(|url| url.scheme() == "https")
}
