//! The two OAuth 1.0a cookies, sealed with [`SealKey`] under keys derived from the consumer
//! secret, so only this worker can read or forge them:
//!
//! - `xauth_oauth1_pending` (`Path=/twitter-oauth1`, 10 minutes): the request token and its
//!   secret between `request-token` and `access-token`. The secret never reaches script.
//! - `xauth_oauth1_session` (`Path=/`, 30 days): the user's access token and secret, so
//!   worker routes can sign as the user.
//!
//! Both are `HttpOnly; SameSite=Lax`, and `Secure` when the request came over https. Their
//! payloads carry the time they were issued, checked again when read: a cookie jar that
//! ignores `Max-Age` cannot stretch their life. Pure Rust, no `worker` types: unit-tested
//! natively.

use serde::{Deserialize, Serialize};
use xauth_core::{ConsumerSecret, OAuth1AccessToken, OAuth1Token, RequestToken, TokenSecret};

use crate::sealed::{SealError, SealKey};

/// The pending sign-in cookie's name (also its associated data).
pub const PENDING: &str = "xauth_oauth1_pending";
/// The signed-in user's cookie's name (also its associated data).
pub const SESSION: &str = "xauth_oauth1_session";

/// How long a pending sign-in lives: X's request tokens are short-lived too.
pub const PENDING_MAX_AGE_SECS: u64 = 10 * 60;
/// How long a session cookie lives.
pub const SESSION_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// How far in the future an issued-at may be before a cookie is refused (clock steps).
const CLOCK_SLACK_SECS: u64 = 60;

const PENDING_INFO: &[u8] = b"xauth oauth1 cookie v1";
const SESSION_INFO: &[u8] = b"xauth oauth1 session v1";

/// The keys for both cookies, derived from the consumer secret.
#[derive(Debug)]
pub struct CookieKeys {
    pending: SealKey,
    session: SealKey,
}

impl CookieKeys {
    pub fn new(consumer_secret: &ConsumerSecret) -> CookieKeys {
        let secret = consumer_secret.secret().as_bytes();
        CookieKeys {
            pending: SealKey::derive(secret, PENDING_INFO),
            session: SealKey::derive(secret, SESSION_INFO),
        }
    }

    /// The `Set-Cookie` value that keeps a request token until `access-token`.
    pub fn pending_cookie(
        &self,
        request_token: &RequestToken,
        now: u64,
        secure: bool,
    ) -> Result<String, SealError> {
        let payload = PendingPayload {
            token: request_token.token.as_str().to_owned(),
            secret: request_token.secret.secret().to_owned(),
            issued_at: now,
        };
        let sealed = seal_json(&self.pending, PENDING, &payload)?;
        Ok(set_cookie(
            PENDING,
            &sealed,
            PENDING_PATH,
            PENDING_MAX_AGE_SECS,
            secure,
        ))
    }

    /// The request token for `oauth_token`, from the `Cookie` header.
    pub fn open_pending(
        &self,
        cookie_header: Option<&str>,
        oauth_token: &str,
        now: u64,
    ) -> Result<RequestToken, PendingError> {
        let value = cookie_value(cookie_header, PENDING).ok_or(PendingError::Missing)?;
        let payload: PendingPayload =
            open_json(&self.pending, PENDING, value).ok_or(PendingError::Unreadable)?;
        if !fresh(payload.issued_at, now, PENDING_MAX_AGE_SECS) {
            return Err(PendingError::Expired);
        }
        if payload.token != oauth_token {
            return Err(PendingError::OtherToken);
        }
        Ok(RequestToken {
            token: OAuth1Token::new(payload.token),
            secret: TokenSecret::new(payload.secret),
        })
    }

    /// The `Set-Cookie` value that keeps the user's access token.
    pub fn session_cookie(
        &self,
        access: &OAuth1AccessToken,
        now: u64,
        secure: bool,
    ) -> Result<String, SealError> {
        let payload = SessionPayload {
            token: access.token.as_str().to_owned(),
            secret: access.secret.secret().to_owned(),
            user_id: access.user_id.clone(),
            screen_name: access.screen_name.clone(),
            issued_at: now,
        };
        let sealed = seal_json(&self.session, SESSION, &payload)?;
        Ok(set_cookie(
            SESSION,
            &sealed,
            "/",
            SESSION_MAX_AGE_SECS,
            secure,
        ))
    }

    /// The signed-in user, from the `Cookie` header; `None` when there is no valid session
    /// cookie (absent, tampered, sealed under another consumer secret, or too old).
    pub fn open_session(&self, cookie_header: Option<&str>, now: u64) -> Option<Session> {
        let value = cookie_value(cookie_header, SESSION)?;
        let payload: SessionPayload = open_json(&self.session, SESSION, value)?;
        fresh(payload.issued_at, now, SESSION_MAX_AGE_SECS).then(|| Session {
            token: OAuth1Token::new(payload.token),
            secret: TokenSecret::new(payload.secret),
            user_id: payload.user_id,
            screen_name: payload.screen_name,
        })
    }
}

/// The user an OAuth 1.0a session cookie stands for, with the credentials to sign as them.
#[derive(Debug)]
pub struct Session {
    /// The user's access token; with `secret`, what a proxy route signs with.
    #[allow(dead_code, reason = "the user API proxy (a later route) signs with it")]
    pub token: OAuth1Token,
    #[allow(dead_code, reason = "the user API proxy (a later route) signs with it")]
    pub secret: TokenSecret,
    pub user_id: String,
    pub screen_name: String,
}

/// Why there is no usable pending sign-in.
#[derive(Debug, PartialEq, Eq)]
pub enum PendingError {
    /// No pending cookie came with the request.
    Missing,
    /// The cookie is not one this worker sealed (tampered, or another consumer secret).
    Unreadable,
    /// Older than [`PENDING_MAX_AGE_SECS`].
    Expired,
    /// The sign-in pending is for another request token.
    OtherToken,
}

const PENDING_PATH: &str = "/twitter-oauth1";

/// The `Set-Cookie` value that deletes the pending cookie.
pub fn clear_pending(secure: bool) -> String {
    set_cookie(PENDING, "", PENDING_PATH, 0, secure)
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_session(secure: bool) -> String {
    set_cookie(SESSION, "", "/", 0, secure)
}

#[derive(Serialize, Deserialize)]
struct PendingPayload {
    #[serde(rename = "t")]
    token: String,
    #[serde(rename = "s")]
    secret: String,
    #[serde(rename = "i")]
    issued_at: u64,
}

#[derive(Serialize, Deserialize)]
struct SessionPayload {
    #[serde(rename = "t")]
    token: String,
    #[serde(rename = "s")]
    secret: String,
    #[serde(rename = "u")]
    user_id: String,
    #[serde(rename = "n")]
    screen_name: String,
    #[serde(rename = "i")]
    issued_at: u64,
}

fn seal_json<T: Serialize>(key: &SealKey, name: &str, payload: &T) -> Result<String, SealError> {
    let json = serde_json::to_vec(payload).map_err(|_| SealError)?;
    key.seal(name.as_bytes(), &json)
}

fn open_json<T: for<'de> Deserialize<'de>>(key: &SealKey, name: &str, value: &str) -> Option<T> {
    let json = key.open(name.as_bytes(), value)?;
    serde_json::from_slice(&json).ok()
}

/// Issued no longer than `max_age` ago, and not (much) in the future.
fn fresh(issued_at: u64, now: u64, max_age: u64) -> bool {
    issued_at <= now.saturating_add(CLOCK_SLACK_SECS) && now.saturating_sub(issued_at) <= max_age
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: `a=1; b=2`). Only one
/// such cookie is expected; with several (another path's), the first is taken.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name)
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn keys() -> CookieKeys {
        CookieKeys::new(&ConsumerSecret::new("consumer-secret-for-tests".into()))
    }

    fn request_token() -> RequestToken {
        RequestToken {
            token: OAuth1Token::new("rt".into()),
            secret: TokenSecret::new("request-secret".into()),
        }
    }

    /// `name=value` of a `Set-Cookie` value, as a `Cookie` header.
    fn as_cookie_header(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn pending_round_trip_and_attributes() {
        let keys = keys();
        let set = keys.pending_cookie(&request_token(), NOW, false).unwrap();
        assert!(set.starts_with("xauth_oauth1_pending="));
        assert!(set.ends_with("; Path=/twitter-oauth1; Max-Age=600; HttpOnly; SameSite=Lax"));
        assert!(!set.contains("request-secret"));
        assert!(
            keys.pending_cookie(&request_token(), NOW, true)
                .unwrap()
                .ends_with("; SameSite=Lax; Secure")
        );
        let header = format!("other=1; {}; x=y", as_cookie_header(&set));
        let opened = keys.open_pending(Some(&header), "rt", NOW + 600).unwrap();
        assert_eq!(opened.token.as_str(), "rt");
        assert_eq!(opened.secret.secret(), "request-secret");
    }

    #[test]
    fn pending_refusals() {
        let keys = keys();
        let set = keys.pending_cookie(&request_token(), NOW, false).unwrap();
        let header = as_cookie_header(&set);
        let open = |header: Option<&str>, token: &str, now: u64| {
            keys.open_pending(header, token, now)
                .map(|_| ())
                .unwrap_err()
        };
        assert_eq!(open(None, "rt", NOW), PendingError::Missing);
        assert_eq!(open(Some("a=b"), "rt", NOW), PendingError::Missing);
        assert_eq!(open(Some(&header), "rt", NOW + 601), PendingError::Expired);
        assert_eq!(open(Some(&header), "rt", NOW - 61), PendingError::Expired);
        assert_eq!(open(Some(&header), "other", NOW), PendingError::OtherToken);
        let tampered = format!("{}A", header);
        assert_eq!(open(Some(&tampered), "rt", NOW), PendingError::Unreadable);
        // Sealed under another consumer secret.
        let other = CookieKeys::new(&ConsumerSecret::new("another-consumer-secret".into()));
        assert_eq!(
            other.open_pending(Some(&header), "rt", NOW).map(|_| ()),
            Err(PendingError::Unreadable)
        );
        // A session cookie's value renamed as the pending cookie does not open: another key
        // and another associated data.
        let access = access_token();
        let session = keys.session_cookie(&access, NOW, false).unwrap();
        let value = as_cookie_header(&session).replace(SESSION, PENDING);
        assert_eq!(open(Some(&value), "rt", NOW), PendingError::Unreadable);
    }

    fn access_token() -> OAuth1AccessToken {
        OAuth1AccessToken {
            token: OAuth1Token::new("12-at".into()),
            secret: TokenSecret::new("access-secret".into()),
            user_id: "12".into(),
            screen_name: "jack".into(),
        }
    }

    #[test]
    fn session_round_trip_and_refusals() {
        let keys = keys();
        let set = keys.session_cookie(&access_token(), NOW, true).unwrap();
        assert!(set.starts_with("xauth_oauth1_session="));
        assert!(set.ends_with("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure"));
        assert!(!set.contains("access-secret") && !set.contains("12-at"));
        let header = as_cookie_header(&set);
        let session = keys.open_session(Some(&header), NOW + 60).unwrap();
        assert_eq!(session.user_id, "12");
        assert_eq!(session.screen_name, "jack");
        assert_eq!(session.token.as_str(), "12-at");
        assert_eq!(session.secret.secret(), "access-secret");
        assert!(!format!("{session:?}").contains("access-secret"));
        assert!(
            keys.open_session(Some(&header), NOW + SESSION_MAX_AGE_SECS + 1)
                .is_none()
        );
        assert!(
            keys.open_session(Some(&format!("{header}x")), NOW)
                .is_none()
        );
        assert!(keys.open_session(None, NOW).is_none());
    }

    #[test]
    fn clearing_cookies() {
        assert_eq!(
            clear_pending(false),
            "xauth_oauth1_pending=; Path=/twitter-oauth1; Max-Age=0; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            clear_session(true),
            "xauth_oauth1_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn cookie_header_parsing() {
        let check = |header: &str, expected: Option<&str>| {
            assert_eq!(cookie_value(Some(header), "a"), expected, "{header}");
        };
        check("a=1", Some("1"));
        check("b=2; a=1", Some("1"));
        check(" a = 1 ;b=2", Some("1"));
        check("ab=1", None);
        check("a=", None);
        check("b=a=1", None);
        check("a=1; a=2", Some("1"));
        assert_eq!(cookie_value(None, "a"), None);
    }
}
