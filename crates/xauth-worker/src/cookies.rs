//! The two OAuth 1.0a cookies, sealed with keys derived from the worker's own secret
//! `XAUTH_VAULT_KEY` (one HKDF `info` each), so only this worker can read or forge them.
//! They are not keyed by the consumer secret: X, and anyone else the app's API key and
//! secret were given to, knows that one.
//!
//! - pending (10 minutes): the request token and its secret between `request-token` and
//!   `access-token`. The secret never reaches script.
//! - session (30 days): the user's access token and secret, so worker routes can sign as
//!   the user, and a session secret by which worker custody's vault knows the session
//!   (sign-out ends it there, whatever copy of the cookie is left).
//!
//! Over https they are `__Host-xauth_oauth1_pending` and `__Host-xauth_oauth1_session`
//! (`Path=/; Secure`: a sibling subdomain cannot plant or shadow them); over plain http
//! `xauth_oauth1_pending` (`Path=/twitter-oauth1`) and `xauth_oauth1_session` (`Path=/`).
//! Both are `HttpOnly; SameSite=Lax`. Their payloads carry the time they were issued,
//! checked again when read: a cookie jar that ignores `Max-Age` cannot stretch their life.
//! Pure Rust, no `worker` types: unit-tested natively.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use xauth_core::{OAuth1AccessToken, OAuth1Token, RequestToken, TokenSecret};

use crate::sealed::{SealError, SealKeys};
use crate::session_cookie::SessionSecret;
use crate::vault_key::VaultKeys;

/// The pending sign-in cookie's name over plain http, and its associated data.
pub const PENDING: &str = "xauth_oauth1_pending";
/// The signed-in user's cookie's name over plain http, and its associated data.
pub const SESSION: &str = "xauth_oauth1_session";
/// The prefix over https: `Secure`, `Path=/`, no `Domain` (RFC 6265bis §4.1.3.2).
const HOST_PREFIX: &str = "__Host-";

/// How long a pending sign-in lives: X's request tokens are short-lived too.
pub const PENDING_MAX_AGE_SECS: u64 = 10 * 60;
/// How long a session cookie lives.
pub const SESSION_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// How far in the future an issued-at may be before a cookie is refused (clock steps).
const CLOCK_SLACK_SECS: u64 = 60;

const PENDING_INFO: &[u8] = b"xauth oauth1 pending cookie v2";
const SESSION_INFO: &[u8] = b"xauth oauth1 session cookie v2";

/// The keys for both cookies, derived from the vault key (and, during a rotation, the
/// previous one, for reading).
#[derive(Debug)]
pub struct CookieKeys {
    pending: Rc<SealKeys>,
    session: Rc<SealKeys>,
}

impl CookieKeys {
    pub fn new(vault: &VaultKeys) -> CookieKeys {
        CookieKeys {
            pending: vault.keys_for(PENDING_INFO),
            session: vault.keys_for(SESSION_INFO),
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
        Ok(set_cookie(PENDING, &sealed, PENDING_MAX_AGE_SECS, secure))
    }

    /// The request token for `oauth_token`, from the `Cookie` header.
    pub fn open_pending(
        &self,
        cookie_header: Option<&str>,
        oauth_token: &str,
        now: u64,
        secure: bool,
    ) -> Result<RequestToken, PendingError> {
        let value =
            cookie_value(cookie_header, &name(PENDING, secure)).ok_or(PendingError::Missing)?;
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

    /// The `Set-Cookie` value that keeps the user's access token and the session's secret.
    pub fn session_cookie(
        &self,
        access: &OAuth1AccessToken,
        session: &SessionSecret,
        now: u64,
        secure: bool,
    ) -> Result<String, SealError> {
        let payload = SessionPayload {
            token: access.token.as_str().to_owned(),
            secret: access.secret.secret().to_owned(),
            user_id: access.user_id.clone(),
            screen_name: access.screen_name.clone(),
            session: session.encode(),
            issued_at: now,
        };
        let sealed = seal_json(&self.session, SESSION, &payload)?;
        Ok(set_cookie(SESSION, &sealed, SESSION_MAX_AGE_SECS, secure))
    }

    /// The signed-in user, from the `Cookie` header; `None` when there is no valid session
    /// cookie (absent, tampered, sealed under another key, or too old).
    pub fn open_session(
        &self,
        cookie_header: Option<&str>,
        now: u64,
        secure: bool,
    ) -> Option<Session> {
        let value = cookie_value(cookie_header, &name(SESSION, secure))?;
        let payload: SessionPayload = open_json(&self.session, SESSION, value)?;
        let session = SessionSecret::decode(&payload.session)?;
        fresh(payload.issued_at, now, SESSION_MAX_AGE_SECS).then(|| Session {
            token: OAuth1Token::new(payload.token),
            secret: TokenSecret::new(payload.secret),
            user_id: payload.user_id,
            screen_name: payload.screen_name,
            session,
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
    /// The session's secret, by which worker custody's vault knows it.
    pub session: SessionSecret,
}

/// Why there is no usable pending sign-in.
#[derive(Debug, PartialEq, Eq)]
pub enum PendingError {
    /// No pending cookie came with the request.
    Missing,
    /// The cookie is not one this worker sealed (tampered, or another key).
    Unreadable,
    /// Older than [`PENDING_MAX_AGE_SECS`].
    Expired,
    /// The sign-in pending is for another request token.
    OtherToken,
}

/// The cookie's name: `__Host-` prefixed over https.
fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("{HOST_PREFIX}{base}")
    } else {
        base.to_owned()
    }
}

/// The `Set-Cookie` value that deletes the pending cookie.
pub fn clear_pending(secure: bool) -> String {
    set_cookie(PENDING, "", 0, secure)
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_session(secure: bool) -> String {
    set_cookie(SESSION, "", 0, secure)
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
    #[serde(rename = "x")]
    session: String,
    #[serde(rename = "i")]
    issued_at: u64,
}

fn seal_json<T: Serialize>(keys: &SealKeys, name: &str, payload: &T) -> Result<String, SealError> {
    let json = serde_json::to_vec(payload).map_err(|_| SealError)?;
    keys.seal(name.as_bytes(), &json)
}

fn open_json<T: for<'de> Deserialize<'de>>(keys: &SealKeys, name: &str, value: &str) -> Option<T> {
    let (json, _) = keys.open(name.as_bytes(), value)?;
    serde_json::from_slice(&json).ok()
}

/// Issued no longer than `max_age` ago, and not (much) in the future.
fn fresh(issued_at: u64, now: u64, max_age: u64) -> bool {
    issued_at <= now.saturating_add(CLOCK_SLACK_SECS) && now.saturating_sub(issued_at) <= max_age
}

/// `Set-Cookie` for cookie `base`: `__Host-`, `Path=/` and `Secure` over https; over plain
/// http the pending cookie is scoped to the OAuth 1.0a routes.
fn set_cookie(base: &str, value: &str, max_age: u64, secure: bool) -> String {
    let name = name(base, secure);
    let (path, secure) = match (base, secure) {
        (_, true) => ("/", "; Secure"),
        (PENDING, false) => ("/twitter-oauth1", ""),
        (_, false) => ("/", ""),
    };
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
    use crate::vault_key::VaultKey;

    const NOW: u64 = 1_800_000_000;

    fn vault(byte: u8) -> VaultKeys {
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        VaultKeys::new(VaultKey::parse(&key).unwrap(), None)
    }

    fn keys() -> CookieKeys {
        CookieKeys::new(&vault(1))
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
        let header = format!("other=1; {}; x=y", as_cookie_header(&set));
        let opened = keys
            .open_pending(Some(&header), "rt", NOW + 600, false)
            .unwrap();
        assert_eq!(opened.token.as_str(), "rt");
        assert_eq!(opened.secret.secret(), "request-secret");
    }

    #[test]
    fn over_https_the_cookies_are_host_prefixed() {
        let keys = keys();
        let pending = keys.pending_cookie(&request_token(), NOW, true).unwrap();
        assert!(
            pending.starts_with("__Host-xauth_oauth1_pending="),
            "{pending}"
        );
        assert!(
            pending.ends_with("; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure"),
            "__Host- needs Path=/ and Secure: {pending}"
        );
        let header = as_cookie_header(&pending);
        assert!(keys.open_pending(Some(&header), "rt", NOW, true).is_ok());
        // The unprefixed name (a cookie a sibling subdomain could set) is not read over https.
        let planted = header.replace("__Host-", "");
        assert_eq!(
            keys.open_pending(Some(&planted), "rt", NOW, true)
                .map(|_| ()),
            Err(PendingError::Missing)
        );
        let session = keys
            .session_cookie(
                &access_token(),
                &SessionSecret::generate().unwrap(),
                NOW,
                true,
            )
            .unwrap();
        assert!(session.starts_with("__Host-xauth_oauth1_session="));
        assert!(session.ends_with("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure"));
        let header = as_cookie_header(&session);
        assert!(keys.open_session(Some(&header), NOW, true).is_some());
        assert!(
            keys.open_session(Some(&header.replace("__Host-", "")), NOW, true)
                .is_none()
        );
        assert_eq!(
            clear_session(true),
            "__Host-xauth_oauth1_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn pending_refusals() {
        let keys = keys();
        let set = keys.pending_cookie(&request_token(), NOW, false).unwrap();
        let header = as_cookie_header(&set);
        let open = |header: Option<&str>, token: &str, now: u64| {
            keys.open_pending(header, token, now, false)
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
        // Sealed under another vault key.
        let other = CookieKeys::new(&vault(2));
        assert_eq!(
            other
                .open_pending(Some(&header), "rt", NOW, false)
                .map(|_| ()),
            Err(PendingError::Unreadable)
        );
        // A session cookie's value renamed as the pending cookie does not open: another key
        // and another associated data.
        let session = keys
            .session_cookie(
                &access_token(),
                &SessionSecret::generate().unwrap(),
                NOW,
                false,
            )
            .unwrap();
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
        let secret = SessionSecret::generate().unwrap();
        let set = keys
            .session_cookie(&access_token(), &secret, NOW, false)
            .unwrap();
        assert!(set.starts_with("xauth_oauth1_session="));
        assert!(set.ends_with("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax"));
        assert!(!set.contains("access-secret") && !set.contains("12-at"));
        assert!(!set.contains(&secret.encode()));
        let header = as_cookie_header(&set);
        let session = keys.open_session(Some(&header), NOW + 60, false).unwrap();
        assert_eq!(session.user_id, "12");
        assert_eq!(session.screen_name, "jack");
        assert_eq!(session.token.as_str(), "12-at");
        assert_eq!(session.secret.secret(), "access-secret");
        assert_eq!(session.session.hash(), secret.hash());
        assert!(!format!("{session:?}").contains("access-secret"));
        assert!(
            keys.open_session(Some(&header), NOW + SESSION_MAX_AGE_SECS + 1, false)
                .is_none()
        );
        assert!(
            keys.open_session(Some(&format!("{header}x")), NOW, false)
                .is_none()
        );
        assert!(keys.open_session(None, NOW, false).is_none());
        assert!(
            CookieKeys::new(&vault(2))
                .open_session(Some(&header), NOW, false)
                .is_none()
        );
    }

    #[test]
    fn clearing_cookies() {
        assert_eq!(
            clear_pending(false),
            "xauth_oauth1_pending=; Path=/twitter-oauth1; Max-Age=0; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            clear_pending(true),
            "__Host-xauth_oauth1_pending=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear_session(false),
            "xauth_oauth1_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
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
