//! Worker custody's routes (`XAUTH_TOKEN_CUSTODY = "worker"`): X's tokens stay in the
//! user's Durable Object ([`crate::vault`]); the page holds a sealed, HttpOnly session
//! cookie ([`crate::session_cookie`]) and never a token.
//!
//! - `POST /twitter-access-token` {code, codeVerifier}: the exchange, then X's users/me,
//!   then the grant into the user's object and the cookie onto the answer:
//!   `{user, scope, expiresAt, custody: "worker"}`.
//! - `GET /twitter-session` -> `{signedIn, user?, scope?, expiresAt?, custody}`.
//! - `POST /twitter-sign-out` {everywhere?, forget?}: ends the session (or all the
//!   user's); the last one revokes the grant at X, unless `XAUTH_KEEP_GRANTS` keeps it;
//!   `forget` revokes and deletes it in any case.
//! - `POST /twitter-scheduled-posts` {text, delaySeconds?} and `GET` of it: a post the
//!   user's object makes later with the stored grant, even with no page open.
//! - `POST /twitter-revoke-token`: revokes the session's grant at X (every session ends).
//!
//! Every request that carries the session cookie is checked for CSRF first
//! ([`session_of`]): the header `X-XAuth: 1` (a cross-site page cannot set it without a
//! CORS preflight, which only allowed origins pass) and an allowed `Origin` (checked for
//! every request in `lib.rs`). A forged, expired or signed-out cookie is a 401
//! `no_session` whose `Set-Cookie` clears it.

use serde::Serialize;
use worker::{Env, Response};
use xauth_core::TokenTypeHint;

use crate::body::read_json_body;
use crate::config::Config;
use crate::error::ApiError;
use crate::grant::{Grant, XUser};
use crate::incoming::Incoming;
use crate::routes;
use crate::sealed::OpenedWith;
use crate::session_cookie::{
    self, CookieState, SessionCookie, SessionHash, SessionSecret, Transport,
};
use crate::vault::VaultClient;
use crate::vault_key::SESSION_COOKIE_INFO;
use crate::x;

/// The header a cookie-authenticated request must carry, with the value `1`.
pub const CSRF_HEADER: &str = "x-xauth";

/// A request's live session cookie, checked for CSRF.
pub struct CookieSession {
    pub cookie: SessionCookie,
    pub transport: Transport,
    /// Sealed under the previous vault key: the answer carries it sealed again.
    reseal: bool,
}

impl CookieSession {
    pub fn hash(&self) -> SessionHash {
        self.cookie.secret.hash()
    }

    /// The user's object.
    pub fn vault(&self, env: &Env) -> Result<VaultClient, ApiError> {
        VaultClient::for_user(env, &self.cookie.user_id)
    }

    /// `error`, and when it says the session is over, the cookie cleared with it.
    pub fn refused(&self, error: ApiError) -> ApiError {
        if error.error == "no_session" {
            error.with_cookie(session_cookie::clear_cookie(self.transport))
        } else {
            error
        }
    }

    /// The JSON answer of a route that ended this session, clearing its cookie.
    fn ended(&self, body: &impl Serialize) -> Result<Response, ApiError> {
        let mut response = Response::from_json(body)?;
        response
            .headers_mut()
            .append("set-cookie", &session_cookie::clear_cookie(self.transport))?;
        Ok(response)
    }

    /// Adds the re-sealed cookie to an answer when the cookie came sealed under
    /// `XAUTH_VAULT_KEY_PREVIOUS`.
    pub fn finish(&self, mut response: Response, config: &Config) -> Result<Response, ApiError> {
        if self.reseal {
            let keys = config.vault_keys()?.keys_for(SESSION_COOKIE_INFO);
            let set = session_cookie::set_cookie(&keys, &self.cookie, self.transport)
                .map_err(|_| ApiError::internal("The session cookie could not be sealed."))?;
            response.headers_mut().append("set-cookie", &set)?;
        }
        Ok(response)
    }
}

/// How this request came in, for the cookie's name; `None` for plain http to a host that
/// is not loopback, which gets no session cookie.
pub fn transport(req: &Incoming) -> Option<Transport> {
    let url = req.url().ok()?;
    Transport::of(url.scheme(), url.host_str().unwrap_or_default())
}

/// Whether the request carries a session cookie at all (valid or not).
pub fn carries_cookie(req: &Incoming) -> bool {
    transport(req).is_some_and(|transport| {
        let header = req.header("cookie").ok().flatten();
        session_cookie::is_present(header.as_deref(), transport)
    })
}

/// The session of a cookie-authenticated request, after the CSRF check; `None` when the
/// request carries no session cookie. A cookie that does not open is `no_session`, and
/// the answer clears it.
pub fn session_of(req: &Incoming, config: &Config) -> Result<Option<CookieSession>, ApiError> {
    let Some(transport) = transport(req) else {
        return Ok(None);
    };
    let header = req.header("cookie")?;
    if !session_cookie::is_present(header.as_deref(), transport) {
        return Ok(None);
    }
    if req.header(CSRF_HEADER)?.as_deref() != Some("1") {
        return Err(ApiError::csrf());
    }
    let keys = config.vault_keys()?.keys_for(SESSION_COOKIE_INFO);
    match session_cookie::read(&keys, header.as_deref(), transport, crate::now_unix_secs()) {
        CookieState::Absent => Ok(None),
        CookieState::Invalid => {
            Err(ApiError::no_session().with_cookie(session_cookie::clear_cookie(transport)))
        }
        CookieState::Valid {
            cookie,
            opened_with,
        } => Ok(Some(CookieSession {
            cookie,
            transport,
            reseal: opened_with == OpenedWith::Previous,
        })),
    }
}

/// [`session_of`], where a session is required.
fn required_session(req: &Incoming, config: &Config) -> Result<CookieSession, ApiError> {
    session_of(req, config)?.ok_or_else(ApiError::no_session)
}

/// `POST /twitter-access-token` in worker custody.
pub async fn access_token(
    req: &Incoming,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let transport = transport(req).ok_or_else(ApiError::https_required)?;
    let now = crate::now_unix_secs();
    let tokens = routes::exchange_code(req, config, now).await?;
    // The grant is kept per user, so the worker must know who signed in. If X will not
    // say, the fresh grant is of no use to anyone: it is revoked, and the sign-in fails.
    let user = match x::signed_in_user(config, &tokens.access_token).await {
        Ok(user) => user,
        Err(error) => {
            let (token, hint) = match &tokens.refresh_token {
                Some(refresh) => (refresh.secret(), TokenTypeHint::RefreshToken),
                None => (tokens.access_token.secret(), TokenTypeHint::AccessToken),
            };
            let _ = x::revoke(config, token, Some(hint)).await;
            return Err(error);
        }
    };
    let grant = Grant::signed_in(tokens, user, now);
    let cookie = SessionCookie {
        user_id: grant.user.id.clone(),
        secret: SessionSecret::generate()
            .map_err(|_| ApiError::internal("No randomness for a session."))?,
        issued_at: now,
    };
    VaultClient::for_user(env, &cookie.user_id)?
        .sign_in(&grant, &cookie.secret.hash())
        .await?;
    // A session this browser had before (perhaps another user's) ends here.
    if let Ok(Some(previous)) = previous_session(req, config)
        && previous.hash() != cookie.secret.hash()
        && let Ok(vault) = previous.vault(env)
    {
        let _ = vault.sign_out(&previous.hash(), false, false).await;
    }

    let keys = config.vault_keys()?.keys_for(SESSION_COOKIE_INFO);
    let set_cookie = session_cookie::set_cookie(&keys, &cookie, transport)
        .map_err(|_| ApiError::internal("The session cookie could not be sealed."))?;
    let mut response = Response::from_json(&SignedIn {
        user: &grant.user,
        scope: &grant.scope,
        expires_at: grant.expires_at,
        custody: "worker",
    })?;
    response.headers_mut().append("set-cookie", &set_cookie)?;
    Ok(response)
}

/// The session cookie a sign-in request came with, if valid (no CSRF check: it is only
/// signed out, never used).
fn previous_session(req: &Incoming, config: &Config) -> Result<Option<CookieSession>, ApiError> {
    let Some(transport) = transport(req) else {
        return Ok(None);
    };
    let header = req.header("cookie")?;
    let keys = config.vault_keys()?.keys_for(SESSION_COOKIE_INFO);
    Ok(
        match session_cookie::read(&keys, header.as_deref(), transport, crate::now_unix_secs()) {
            CookieState::Valid { cookie, .. } => Some(CookieSession {
                cookie,
                transport,
                reseal: false,
            }),
            _ => None,
        },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedIn<'a> {
    user: &'a XUser,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    custody: &'static str,
}

/// `GET /twitter-session`.
pub async fn session(req: &Incoming, config: &Config, env: &Env) -> Result<Response, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SessionAnswer<'a> {
        signed_in: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<&'a XUser>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
        custody: &'static str,
    }
    let Some(session) = session_of(req, config)? else {
        return Ok(Response::from_json(&SessionAnswer {
            signed_in: false,
            user: None,
            scope: None,
            expires_at: None,
            custody: "worker",
        })?);
    };
    let info = session
        .vault(env)?
        .session(&session.hash())
        .await
        .map_err(|error| session.refused(error))?;
    let response = Response::from_json(&SessionAnswer {
        signed_in: true,
        user: Some(&info.user),
        scope: Some(&info.scope),
        expires_at: info.expires_at,
        custody: "worker",
    })?;
    session.finish(response, config)
}

/// `POST /twitter-sign-out` {everywhere?, forget?}.
pub async fn sign_out(req: &Incoming, config: &Config, env: &Env) -> Result<Response, ApiError> {
    let session = required_session(req, config)?;
    // The body is optional: `{}` and no body at all both end this session only.
    let (everywhere, forget) = if req.header("content-type")?.is_some() {
        let body = read_json_body(req).await?;
        (body.is_set("everywhere")?, body.is_set("forget")?)
    } else {
        (false, false)
    };
    let ended = session
        .vault(env)?
        .sign_out(&session.hash(), everywhere, forget)
        .await
        .map_err(|error| session.refused(error))?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SignedOut {
        signed_out: bool,
        grant_ended: bool,
        revoked: bool,
    }
    session.ended(&SignedOut {
        signed_out: true,
        grant_ended: ended.grant_ended,
        revoked: ended.revoked,
    })
}

/// `POST /twitter-revoke-token` in worker custody: only through a session, whose grant it
/// revokes (the body's token, if any, is not used: the page has none).
pub async fn revoke(req: &Incoming, config: &Config, env: &Env) -> Result<Response, ApiError> {
    let session = required_session(req, config)?;
    let ended = session
        .vault(env)?
        .revoke(&session.hash())
        .await
        .map_err(|error| session.refused(error))?;
    #[derive(Serialize)]
    struct Revoked {
        revoked: bool,
    }
    session.ended(&Revoked {
        revoked: ended.revoked,
    })
}

/// `POST /twitter-scheduled-posts` {text, delaySeconds?}: the user's object makes the post
/// with the stored grant when it is due, whether or not a page is open.
pub async fn schedule_post(
    req: &Incoming,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let session = required_session(req, config)?;
    let body = read_json_body(req).await?;
    let text = body.required_string(&["text"])?.to_owned();
    let delay_secs = body.unsigned(&["delaySeconds", "delay_seconds"])?;
    let post = session
        .vault(env)?
        .schedule_post(&session.hash(), &text, delay_secs)
        .await
        .map_err(|error| session.refused(error))?;
    let response = Response::from_json(&post)?.with_status(202);
    session.finish(response, config)
}

/// `GET /twitter-scheduled-posts`: the user's scheduled posts and what became of them.
pub async fn scheduled_posts(
    req: &Incoming,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let session = required_session(req, config)?;
    let list = session
        .vault(env)?
        .scheduled_posts(&session.hash())
        .await
        .map_err(|error| session.refused(error))?;
    session.finish(Response::from_json(&list)?, config)
}
