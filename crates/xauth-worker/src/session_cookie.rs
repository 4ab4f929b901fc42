//! Worker custody's session cookie: what the page holds instead of X's tokens.
//!
//! `__Host-xauth_session` over https (`Secure; HttpOnly; SameSite=Strict; Path=/`, so no
//! sibling subdomain can plant or read it), `xauth_session` without `Secure` over
//! plain-http loopback (`wrangler dev`, the tests). Plain http anywhere else gets no
//! cookie at all. Its value is sealed (AES-256-GCM, a key derived from `XAUTH_VAULT_KEY`)
//! and names the user's Durable Object and the session's secret: 256 random bits of which
//! the object keeps only the SHA-256 hash, so neither storage nor a stolen copy of it can
//! be turned back into a cookie.
//!
//! Pure Rust, no `worker` types: unit-tested natively.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cookies::cookie_value;
use crate::sealed::{OpenedWith, SealError, SealKeys};

/// The cookie's name over https.
pub const SECURE_NAME: &str = "__Host-xauth_session";
/// The cookie's name over plain-http loopback, where browsers refuse `Secure` cookies.
pub const LOOPBACK_NAME: &str = "xauth_session";
/// How long a session lives, from sign-in; the object checks it again.
pub const SESSION_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// How far in the future an issue time may be before the cookie is refused (clock steps).
const CLOCK_SLACK_SECS: u64 = 60;
/// The associated data of every sealed session cookie, whichever its name.
const AAD: &[u8] = b"xauth session cookie";
/// X's user ids are decimal numbers (snowflakes, up to 20 digits today).
const MAX_USER_ID_LEN: usize = 32;

/// How the request reached the worker, which decides the cookie's name and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Https,
    /// `http://127.0.0.1`, `http://localhost` or `http://[::1]`.
    Loopback,
}

impl Transport {
    /// The transport for a request URL's scheme and host; `None` for plain http to a
    /// host that is not loopback, where a session cookie would travel in the clear.
    pub fn of(scheme: &str, host: &str) -> Option<Transport> {
        match scheme {
            "https" => Some(Transport::Https),
            "http" if matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") => {
                Some(Transport::Loopback)
            }
            _ => None,
        }
    }

    pub fn cookie_name(self) -> &'static str {
        match self {
            Transport::Https => SECURE_NAME,
            Transport::Loopback => LOOPBACK_NAME,
        }
    }

    fn attributes(self) -> &'static str {
        match self {
            Transport::Https => "; Path=/; Secure; HttpOnly; SameSite=Strict",
            Transport::Loopback => "; Path=/; HttpOnly; SameSite=Strict",
        }
    }
}

/// A session's secret: 256 bits from the CSPRNG. `Debug` never shows it.
pub struct SessionSecret([u8; 32]);

impl SessionSecret {
    pub fn generate() -> Result<SessionSecret, SealError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|_| SealError)?;
        Ok(SessionSecret(secret))
    }

    /// What the user's object keeps instead of the secret: SHA-256, base64url.
    pub fn hash(&self) -> SessionHash {
        SessionHash(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0)))
    }

    /// The secret as base64url, for a sealed cookie's payload only.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// What [`SessionSecret::encode`] made; `None` for anything else.
    pub fn decode(encoded: &str) -> Option<SessionSecret> {
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(encoded.as_bytes())
            .ok()?
            .try_into()
            .ok()?;
        Some(SessionSecret(bytes))
    }
}

impl Drop for SessionSecret {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret([redacted])")
    }
}

/// The hash by which a user's object knows a session.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionHash(pub String);

/// What a session cookie says: whose object, which session, since when.
#[derive(Debug)]
pub struct SessionCookie {
    pub user_id: String,
    pub secret: SessionSecret,
    pub issued_at: u64,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(rename = "u")]
    user_id: String,
    #[serde(rename = "s")]
    secret: String,
    #[serde(rename = "i")]
    issued_at: u64,
}

/// X's user ids: 1 to 32 ASCII digits. Anything else never names an object.
pub fn is_user_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_USER_ID_LEN && value.bytes().all(|b| b.is_ascii_digit())
}

/// The `Set-Cookie` value for a new or re-sealed session cookie.
pub fn set_cookie(
    keys: &SealKeys,
    cookie: &SessionCookie,
    transport: Transport,
) -> Result<String, SealError> {
    let payload = Payload {
        user_id: cookie.user_id.clone(),
        secret: cookie.secret.encode(),
        issued_at: cookie.issued_at,
    };
    let json = serde_json::to_vec(&payload).map_err(|_| SealError)?;
    let sealed = keys.seal(AAD, &json)?;
    Ok(format!(
        "{}={sealed}{}; Max-Age={SESSION_MAX_AGE_SECS}",
        transport.cookie_name(),
        transport.attributes()
    ))
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(transport: Transport) -> String {
    format!(
        "{}={}; Max-Age=0",
        transport.cookie_name(),
        transport.attributes()
    )
}

/// Whether the `Cookie` header carries a session cookie at all, valid or not: such a
/// request is cookie-authenticated and must pass the CSRF checks before anything else.
pub fn is_present(header: Option<&str>, transport: Transport) -> bool {
    cookie_value(header, transport.cookie_name()).is_some()
}

/// What the `Cookie` header says about the session.
#[derive(Debug)]
pub enum CookieState {
    Absent,
    /// Present but not ours, tampered, sealed under a retired key, expired or malformed.
    Invalid,
    Valid {
        cookie: SessionCookie,
        /// `Previous`: sealed under `XAUTH_VAULT_KEY_PREVIOUS`; answer a re-sealed one.
        opened_with: OpenedWith,
    },
}

/// Reads the session cookie of `transport` from the `Cookie` header.
pub fn read(keys: &SealKeys, header: Option<&str>, transport: Transport, now: u64) -> CookieState {
    let Some(value) = cookie_value(header, transport.cookie_name()) else {
        return CookieState::Absent;
    };
    let Some((json, opened_with)) = keys.open(AAD, value) else {
        return CookieState::Invalid;
    };
    let Some(cookie) = serde_json::from_slice::<Payload>(&json)
        .ok()
        .and_then(|payload| parse(payload, now))
    else {
        return CookieState::Invalid;
    };
    CookieState::Valid {
        cookie,
        opened_with,
    }
}

fn parse(payload: Payload, now: u64) -> Option<SessionCookie> {
    let secret = SessionSecret::decode(&payload.secret)?;
    let fresh = payload.issued_at <= now.saturating_add(CLOCK_SLACK_SECS)
        && now.saturating_sub(payload.issued_at) <= SESSION_MAX_AGE_SECS;
    (fresh && is_user_id(&payload.user_id)).then_some(SessionCookie {
        user_id: payload.user_id,
        secret,
        issued_at: payload.issued_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn keys() -> SealKeys {
        SealKeys::derive(b"vault key one", None, b"session")
    }

    fn cookie() -> SessionCookie {
        SessionCookie {
            user_id: "2244994945".into(),
            secret: SessionSecret::generate().unwrap(),
            issued_at: NOW,
        }
    }

    fn header_of(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn https_cookie_is_host_prefixed_strict_and_secure() {
        let set = set_cookie(&keys(), &cookie(), Transport::Https).unwrap();
        assert!(set.starts_with("__Host-xauth_session="), "{set}");
        assert!(
            set.ends_with("; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=2592000"),
            "{set}"
        );
        assert!(!set.contains("Domain"), "__Host- forbids Domain: {set}");
        assert_eq!(
            clear_cookie(Transport::Https),
            "__Host-xauth_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
        );
    }

    #[test]
    fn loopback_cookie_has_no_secure_flag_and_no_prefix() {
        let set = set_cookie(&keys(), &cookie(), Transport::Loopback).unwrap();
        assert!(set.starts_with("xauth_session="), "{set}");
        assert!(set.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000"));
        assert_eq!(
            clear_cookie(Transport::Loopback),
            "xauth_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        );
    }

    #[test]
    fn transports() {
        assert_eq!(Transport::of("https", "a.example"), Some(Transport::Https));
        for host in ["127.0.0.1", "localhost", "[::1]"] {
            assert_eq!(Transport::of("http", host), Some(Transport::Loopback));
        }
        assert_eq!(Transport::of("http", "a.example"), None);
        assert_eq!(Transport::of("http", "127.0.0.2.example"), None);
        assert_eq!(Transport::of("ftp", "localhost"), None);
    }

    #[test]
    fn round_trip_and_hash() {
        let original = cookie();
        let set = set_cookie(&keys(), &original, Transport::Loopback).unwrap();
        let header = format!("other=1; {}", header_of(&set));
        let CookieState::Valid {
            cookie,
            opened_with,
        } = read(&keys(), Some(&header), Transport::Loopback, NOW + 5)
        else {
            panic!("the cookie did not open");
        };
        assert_eq!(opened_with, OpenedWith::Current);
        assert_eq!(cookie.user_id, "2244994945");
        assert_eq!(cookie.secret.hash(), original.secret.hash());
        assert_ne!(
            SessionSecret::generate().unwrap().hash(),
            original.secret.hash()
        );
        assert_eq!(original.secret.hash().0.len(), 43, "base64url of 32 bytes");
        // The sealed value shows neither the secret nor the hash.
        let secret_b64 = URL_SAFE_NO_PAD.encode(original.secret.0);
        assert!(!set.contains(&secret_b64) && !set.contains(&original.secret.hash().0));
        assert!(!format!("{cookie:?}").contains(&secret_b64));
    }

    #[test]
    fn refusals() {
        let set = set_cookie(&keys(), &cookie(), Transport::Loopback).unwrap();
        let header = header_of(&set);
        let state = |keys: &SealKeys, header: &str, transport, now| match read(
            keys,
            Some(header),
            transport,
            now,
        ) {
            CookieState::Absent => "absent",
            CookieState::Invalid => "invalid",
            CookieState::Valid { .. } => "valid",
        };
        assert_eq!(state(&keys(), "a=b", Transport::Loopback, NOW), "absent");
        assert!(matches!(
            read(&keys(), None, Transport::Loopback, NOW),
            CookieState::Absent
        ));
        // The https name is another cookie.
        assert_eq!(state(&keys(), &header, Transport::Https, NOW), "absent");
        let renamed = header.replace(LOOPBACK_NAME, SECURE_NAME);
        assert_eq!(state(&keys(), &renamed, Transport::Https, NOW), "valid");
        assert_eq!(
            state(&keys(), &format!("{header}x"), Transport::Loopback, NOW),
            "invalid"
        );
        let other_key = SealKeys::derive(b"vault key two", None, b"session");
        assert_eq!(
            state(&other_key, &header, Transport::Loopback, NOW),
            "invalid"
        );
        let too_old = NOW + SESSION_MAX_AGE_SECS + 1;
        assert_eq!(
            state(&keys(), &header, Transport::Loopback, too_old),
            "invalid"
        );
        assert_eq!(
            state(&keys(), &header, Transport::Loopback, NOW - 61),
            "invalid"
        );
        // A sealed payload that is not a session (a non-numeric user) is refused too.
        let mut bad = cookie();
        bad.user_id = "../12".into();
        let set_bad = set_cookie(&keys(), &bad, Transport::Loopback).unwrap();
        assert_eq!(
            state(&keys(), &header_of(&set_bad), Transport::Loopback, NOW),
            "invalid"
        );
        assert!(is_present(Some(&format!("{header}x")), Transport::Loopback));
        assert!(!is_present(Some("xauth_session="), Transport::Loopback));
    }

    #[test]
    fn rotation_reports_the_previous_key() {
        let set = set_cookie(&keys(), &cookie(), Transport::Https).unwrap();
        let rotated = SealKeys::derive(b"vault key two", Some(b"vault key one"), b"session");
        assert!(matches!(
            read(&rotated, Some(&header_of(&set)), Transport::Https, NOW),
            CookieState::Valid {
                opened_with: OpenedWith::Previous,
                ..
            }
        ));
    }

    #[test]
    fn user_ids() {
        assert!(is_user_id("2244994945"));
        for refused in ["", "12a", "-1", "1 2", &"1".repeat(33)] {
            assert!(!is_user_id(refused), "{refused}");
        }
    }
}
