//! What a user's Durable Object keeps in worker custody, as data: the grant (X's tokens
//! for that user, sealed) and the user's sessions (hashes of their secrets).
//!
//! The grant is sealed whole (AES-256-GCM under a key derived from `XAUTH_VAULT_KEY`,
//! [`crate::vault_key::GRANT_INFO`]) with the user id as associated data, so a sealed
//! grant copied into another user's object does not open there. Sessions are stored as
//! SHA-256 hashes of their secrets with their sign-in time: nothing in storage is a token,
//! a session secret or a key in the clear.
//!
//! Pure Rust, no `worker` types: unit-tested natively.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xauth_core::{AccessToken, RefreshToken, TokenSet};

use crate::sealed::{OpenedWith, SealError, SealKeys};
use crate::session_cookie::{SESSION_MAX_AGE_SECS, SessionHash};

/// Who signed in, as X's `/2/users/me` says: `{"data": {"id", "name", "username"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct XUser {
    pub id: String,
    pub name: String,
    pub username: String,
}

/// One user's grant: the tokens X issued to the app for them. `Debug` redacts the tokens.
#[derive(Clone, Debug)]
pub struct Grant {
    pub access_token: AccessToken,
    /// Only with `offline.access`; rotated by every refresh.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires, Unix seconds (X: 7200 s after issue).
    pub expires_at: Option<u64>,
    /// The scopes X granted, space-separated.
    pub scope: String,
    pub user: XUser,
    /// When X issued the tokens in hand (the sign-in or the last refresh), Unix seconds:
    /// the refresh token's age counts from here.
    pub issued_at: u64,
    /// When the grant was last refreshed, Unix seconds; `None` until its first refresh.
    pub last_refresh_at: Option<u64>,
}

impl Grant {
    /// The grant of a sign-in: X's first tokens for `user`.
    pub fn signed_in(tokens: TokenSet, user: XUser, now: u64) -> Grant {
        Grant {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_at,
            scope: tokens.scope.unwrap_or_default(),
            user,
            issued_at: now,
            last_refresh_at: None,
        }
    }

    /// This grant after a refresh answered `tokens`. X always sends a new refresh token;
    /// a server that does not (RFC 6749 §6 allows it) leaves the old one valid, so it is
    /// kept. A refresh answer without a scope keeps the scope (RFC 6749 §5.1).
    pub fn refreshed(&self, tokens: TokenSet, now: u64) -> Grant {
        Grant {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.or_else(|| self.refresh_token.clone()),
            expires_at: tokens.expires_at,
            scope: tokens.scope.unwrap_or_else(|| self.scope.clone()),
            user: self.user.clone(),
            issued_at: now,
            last_refresh_at: Some(now),
        }
    }

    /// When the refresh token in hand reaches `keepalive_secs` of age and the grant should
    /// refresh itself; `None` without a refresh token.
    pub fn keepalive_at(&self, keepalive_secs: u64) -> Option<u64> {
        self.refresh_token
            .as_ref()
            .map(|_| self.issued_at.saturating_add(keepalive_secs))
    }

    /// The token that names this grant: its refresh token, else its access token. Two
    /// grants with the same one are the same grant.
    pub fn grant_token(&self) -> &str {
        self.refresh_token
            .as_ref()
            .map_or(self.access_token.secret(), RefreshToken::secret)
    }

    /// Whether `other` is this same grant (same refresh or access token).
    pub fn is_same_grant(&self, other: &Grant) -> bool {
        constant_time_eq(self.grant_token(), other.grant_token())
    }

    /// Whether `access_token` is this grant's current access token.
    pub fn holds_access_token(&self, access_token: &str) -> bool {
        constant_time_eq(self.access_token.secret(), access_token)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The grant's JSON form; never stored unsealed.
#[derive(Serialize, Deserialize)]
struct GrantRecord {
    #[serde(rename = "at")]
    access_token: String,
    #[serde(rename = "rt", default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(rename = "exp", default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    scope: String,
    user: XUser,
    #[serde(rename = "iat")]
    issued_at: u64,
    #[serde(rename = "lra", default, skip_serializing_if = "Option::is_none")]
    last_refresh_at: Option<u64>,
}

impl Grant {
    /// The grant as JSON, tokens in the clear: only ever sealed, or sent from the worker to
    /// the user's object over the runtime's internal channel.
    pub fn to_json(&self) -> Vec<u8> {
        let record = GrantRecord {
            access_token: self.access_token.secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.secret().to_owned()),
            expires_at: self.expires_at,
            scope: self.scope.clone(),
            user: self.user.clone(),
            issued_at: self.issued_at,
            last_refresh_at: self.last_refresh_at,
        };
        // Strings and numbers only: serializing cannot fail.
        serde_json::to_vec(&record).unwrap_or_default()
    }

    /// The grant [`Grant::to_json`] made; `None` for anything else.
    pub fn from_json(json: &[u8]) -> Option<Grant> {
        let record: GrantRecord = serde_json::from_slice(json).ok()?;
        (!record.access_token.is_empty()).then(|| Grant {
            access_token: AccessToken::new(record.access_token),
            refresh_token: record
                .refresh_token
                .filter(|token| !token.is_empty())
                .map(RefreshToken::new),
            expires_at: record.expires_at,
            scope: record.scope,
            user: record.user,
            issued_at: record.issued_at,
            last_refresh_at: record.last_refresh_at,
        })
    }
}

/// The grant, sealed for the object of `user_id`.
pub fn seal_grant(keys: &SealKeys, user_id: &str, grant: &Grant) -> Result<String, SealError> {
    keys.seal(user_id.as_bytes(), &grant.to_json())
}

/// The grant sealed for the object of `user_id`, and which key opened it; `None` when it
/// does not open (another key, another user's object, tampered).
pub fn open_grant(keys: &SealKeys, user_id: &str, sealed: &str) -> Option<(Grant, OpenedWith)> {
    let (json, opened_with) = keys.open(user_id.as_bytes(), sealed)?;
    Some((Grant::from_json(&json)?, opened_with))
}

/// A user's sessions: the hash of each session's secret, with its sign-in time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sessions(BTreeMap<String, SessionEntry>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEntry {
    /// When the session signed in, Unix seconds.
    #[serde(rename = "c")]
    pub created_at: u64,
}

impl Sessions {
    pub fn add(&mut self, hash: &SessionHash, now: u64) {
        self.0
            .insert(hash.0.clone(), SessionEntry { created_at: now });
    }

    /// Whether `hash` is a live session (signed in less than the session lifetime ago).
    pub fn is_live(&self, hash: &SessionHash, now: u64) -> bool {
        self.0
            .get(&hash.0)
            .is_some_and(|entry| now.saturating_sub(entry.created_at) <= SESSION_MAX_AGE_SECS)
    }

    /// Ends one session; whether it existed.
    pub fn remove(&mut self, hash: &SessionHash) -> bool {
        self.0.remove(&hash.0).is_some()
    }

    /// Drops sessions past their lifetime; whether any was dropped.
    pub fn prune(&mut self, now: u64) -> bool {
        let before = self.0.len();
        self.0
            .retain(|_, entry| now.saturating_sub(entry.created_at) <= SESSION_MAX_AGE_SECS);
        self.0.len() != before
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// When the last of these sessions reaches its lifetime, Unix seconds.
    pub fn last_expiry(&self) -> Option<u64> {
        self.0
            .values()
            .map(|entry| entry.created_at.saturating_add(SESSION_MAX_AGE_SECS + 1))
            .max()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn keys() -> SealKeys {
        SealKeys::derive(b"vault key", None, b"grant")
    }

    fn user() -> XUser {
        XUser {
            id: "12".into(),
            name: "Jack".into(),
            username: "jack".into(),
        }
    }

    fn tokens(access: &str, refresh: Option<&str>, scope: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(access.into()),
            expires_in: Some(7200),
            expires_at: Some(NOW + 7200),
            scope: scope.map(str::to_owned),
            refresh_token: refresh.map(|r| RefreshToken::new(r.into())),
        }
    }

    #[test]
    fn sealed_grants_hide_the_tokens_and_open_only_for_their_user() {
        let grant = Grant::signed_in(
            tokens("AT-secret", Some("RT-secret"), Some("tweet.read")),
            user(),
            NOW,
        );
        let sealed = seal_grant(&keys(), "12", &grant).unwrap();
        assert!(!sealed.contains("secret") && !sealed.contains("jack"));
        let (opened, with) = open_grant(&keys(), "12", &sealed).unwrap();
        assert_eq!(with, OpenedWith::Current);
        assert_eq!(opened.access_token.secret(), "AT-secret");
        assert_eq!(opened.refresh_token.unwrap().secret(), "RT-secret");
        assert_eq!(opened.expires_at, Some(NOW + 7200));
        assert_eq!(opened.scope, "tweet.read");
        assert_eq!(opened.user, user());
        assert!(
            open_grant(&keys(), "13", &sealed).is_none(),
            "another user's object"
        );
        let debug = format!("{grant:?}");
        assert!(
            !debug.contains("AT-secret") && !debug.contains("RT-secret"),
            "{debug}"
        );
    }

    #[test]
    fn a_refresh_rotates_and_keeps_what_x_left_out() {
        let grant = Grant::signed_in(tokens("AT1", Some("RT1"), Some("a b")), user(), NOW);
        let next = grant.refreshed(tokens("AT2", Some("RT2"), None), NOW + 10);
        assert_eq!(next.access_token.secret(), "AT2");
        assert_eq!(next.refresh_token.as_ref().unwrap().secret(), "RT2");
        assert_eq!(next.scope, "a b");
        assert_eq!(next.issued_at, NOW + 10);
        assert_eq!(grant.last_refresh_at, None);
        assert_eq!(next.last_refresh_at, Some(NOW + 10));
        assert_eq!(grant.keepalive_at(100), Some(NOW + 100));
        assert_eq!(next.keepalive_at(100), Some(NOW + 110));
        let reopened = Grant::from_json(&next.to_json()).unwrap();
        assert_eq!(reopened.last_refresh_at, Some(NOW + 10));
        assert!(!next.is_same_grant(&grant));
        let kept = grant.refreshed(tokens("AT3", None, Some("a")), NOW + 20);
        assert_eq!(kept.refresh_token.as_ref().unwrap().secret(), "RT1");
        assert!(kept.is_same_grant(&grant));
        assert!(kept.holds_access_token("AT3") && !kept.holds_access_token("AT1"));
    }

    #[test]
    fn sessions_live_for_their_lifetime() {
        let mut sessions = Sessions::default();
        let one = SessionHash("one".into());
        let two = SessionHash("two".into());
        sessions.add(&one, NOW);
        sessions.add(&two, NOW + 100);
        assert!(sessions.is_live(&one, NOW + SESSION_MAX_AGE_SECS));
        assert_eq!(sessions.len(), 2);
        assert_eq!(
            sessions.last_expiry(),
            Some(NOW + 100 + SESSION_MAX_AGE_SECS + 1)
        );
        assert!(!sessions.is_live(&one, NOW + SESSION_MAX_AGE_SECS + 1));
        assert!(!sessions.is_live(&SessionHash("three".into()), NOW));
        assert!(sessions.prune(NOW + SESSION_MAX_AGE_SECS + 1));
        assert!(sessions.is_live(&two, NOW + SESSION_MAX_AGE_SECS + 1));
        assert!(sessions.remove(&two));
        assert!(!sessions.remove(&two));
        assert!(sessions.is_empty());
        let json = serde_json::to_string(&{
            let mut s = Sessions::default();
            s.add(&one, 5);
            s
        })
        .unwrap();
        assert_eq!(json, r#"{"one":{"c":5}}"#);
    }
}
