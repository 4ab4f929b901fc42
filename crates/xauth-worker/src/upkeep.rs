//! When a user's object must wake up on its own (its Durable Object alarm), and why:
//! - keep-alive: the refresh token reaches `XAUTH_KEEPALIVE_DAYS` of age, so a grant used
//!   rarely never ages out at X (retried with backoff after a transient failure);
//! - a grant without a refresh token has expired: it is deleted once no session remains;
//! - without `XAUTH_KEEP_GRANTS`, the last session reaches its lifetime: the grant ends
//!   with it, as a sign-out would end it;
//! - a scheduled post is due.
//!
//! An object has one alarm: it is set for the earliest of these, and the alarm handler does
//! whatever is due, then sets the next. Pure Rust, no `worker` types: unit-tested natively.

use serde::{Deserialize, Serialize};

use crate::grant::{Grant, Sessions};

/// The first retry after a failed keep-alive comes at most this soon after it...
const FIRST_RETRY_MAX_SECS: u64 = 60;
/// ...and retries back off, doubling, to at most this.
const MAX_RETRY_SECS: u64 = 3600;

/// The keep-alive's failures since its last success. Kept in storage, so a retry survives
/// the object being evicted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepAlive {
    #[serde(rename = "f")]
    pub failures: u32,
    /// When to try again, Unix seconds.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
}

impl KeepAlive {
    /// When the keep-alive of `grant` is due: the retry after a failure, else when its
    /// refresh token reaches `keepalive_secs` of age. `None` without a refresh token.
    pub fn due(&self, grant: &Grant, keepalive_secs: u64) -> Option<u64> {
        let at = grant.keepalive_at(keepalive_secs)?;
        Some(self.retry_at.unwrap_or(at))
    }

    /// One more failure at `now`: the next try comes after a backoff that starts at a
    /// quarter of the keep-alive (at least 1 s, at most a minute) and doubles to an hour.
    pub fn failed(&mut self, now: u64, keepalive_secs: u64) {
        self.failures = self.failures.saturating_add(1);
        let first = (keepalive_secs / 4).clamp(1, FIRST_RETRY_MAX_SECS);
        let doublings = (self.failures - 1).min(16);
        let wait = first.saturating_mul(1 << doublings).min(MAX_RETRY_SECS);
        self.retry_at = Some(now + wait);
    }
}

/// What the object holds that decides when it wakes up.
pub struct Holdings<'a> {
    pub grant: Option<&'a Grant>,
    pub sessions: &'a Sessions,
    pub keepalive: &'a KeepAlive,
    pub posts_due: Option<u64>,
}

/// What the configuration says about upkeep.
#[derive(Clone, Copy)]
pub struct Policy {
    pub keep_grants: bool,
    pub keepalive_secs: u64,
}

/// When the grant without a refresh token may be deleted: once its access token has
/// expired and its last session has ended. `None` for a grant with a refresh token.
pub fn expired_grant_cleanup_at(grant: &Grant, sessions: &Sessions) -> Option<u64> {
    if grant.refresh_token.is_some() {
        return None;
    }
    let expired_at = grant.expires_at.unwrap_or(grant.issued_at);
    Some(expired_at.max(sessions.last_expiry().unwrap_or(0)))
}

/// When the grant ends because its sessions have (without `XAUTH_KEEP_GRANTS`); `None`
/// when kept grants outlive sessions.
pub fn unkept_grant_end_at(sessions: &Sessions, policy: Policy) -> Option<u64> {
    if policy.keep_grants {
        return None;
    }
    // No session at all: at once.
    Some(sessions.last_expiry().unwrap_or(0))
}

/// When the object's next alarm should fire, Unix seconds; `None` when nothing is due ever.
pub fn next_alarm(holdings: &Holdings<'_>, policy: Policy) -> Option<u64> {
    let grant_times = holdings.grant.map(|grant| {
        [
            holdings.keepalive.due(grant, policy.keepalive_secs),
            expired_grant_cleanup_at(grant, holdings.sessions),
            unkept_grant_end_at(holdings.sessions, policy),
        ]
    });
    grant_times
        .into_iter()
        .flatten()
        .chain([holdings.posts_due])
        .flatten()
        .min()
}

#[cfg(test)]
mod tests {
    use xauth_core::{AccessToken, RefreshToken, TokenSet};

    use super::*;
    use crate::grant::XUser;
    use crate::session_cookie::{SESSION_MAX_AGE_SECS, SessionHash};

    const NOW: u64 = 1_800_000_000;
    const KEEPALIVE: u64 = 30 * 86_400;

    fn grant(refresh: bool) -> Grant {
        Grant::signed_in(
            TokenSet {
                access_token: AccessToken::new("AT".into()),
                expires_in: Some(7200),
                expires_at: Some(NOW + 7200),
                scope: Some("tweet.read".into()),
                refresh_token: refresh.then(|| RefreshToken::new("RT".into())),
            },
            XUser {
                id: "1".into(),
                name: "A".into(),
                username: "a".into(),
            },
            NOW,
        )
    }

    fn sessions(created: &[u64]) -> Sessions {
        let mut sessions = Sessions::default();
        for (n, at) in created.iter().enumerate() {
            sessions.add(&SessionHash(format!("s{n}")), *at);
        }
        sessions
    }

    const KEPT: Policy = Policy {
        keep_grants: true,
        keepalive_secs: KEEPALIVE,
    };
    const UNKEPT: Policy = Policy {
        keep_grants: false,
        keepalive_secs: KEEPALIVE,
    };

    #[test]
    fn a_kept_grant_wakes_for_its_keepalive_and_its_retries() {
        let grant = grant(true);
        let none = Sessions::default();
        let mut keepalive = KeepAlive::default();
        let holdings = |keepalive: &KeepAlive| {
            next_alarm(
                &Holdings {
                    grant: Some(&grant),
                    sessions: &none,
                    keepalive,
                    posts_due: None,
                },
                KEPT,
            )
        };
        assert_eq!(holdings(&keepalive), Some(NOW + KEEPALIVE));
        keepalive.failed(NOW + KEEPALIVE, KEEPALIVE);
        assert_eq!(holdings(&keepalive), Some(NOW + KEEPALIVE + 60));
        keepalive.failed(NOW + KEEPALIVE + 60, KEEPALIVE);
        assert_eq!(keepalive.retry_at, Some(NOW + KEEPALIVE + 60 + 120));
        for _ in 0..20 {
            keepalive.failed(NOW, KEEPALIVE);
        }
        assert_eq!(keepalive.retry_at, Some(NOW + MAX_RETRY_SECS));
    }

    #[test]
    fn short_keepalives_retry_sooner() {
        let mut keepalive = KeepAlive::default();
        keepalive.failed(NOW, 4);
        assert_eq!(keepalive.retry_at, Some(NOW + 1));
        keepalive.failed(NOW, 4);
        assert_eq!(keepalive.retry_at, Some(NOW + 2));
        let mut keepalive = KeepAlive::default();
        keepalive.failed(NOW, 2);
        assert_eq!(keepalive.retry_at, Some(NOW + 1), "at least a second");
    }

    #[test]
    fn an_unkept_grant_ends_with_its_last_session() {
        let grant = grant(true);
        let live = sessions(&[NOW, NOW + 100]);
        let keepalive = KeepAlive::default();
        let at = next_alarm(
            &Holdings {
                grant: Some(&grant),
                sessions: &live,
                keepalive: &keepalive,
                posts_due: None,
            },
            Policy {
                keep_grants: false,
                keepalive_secs: 90 * 86_400,
            },
        );
        assert_eq!(at, Some(NOW + 100 + SESSION_MAX_AGE_SECS + 1));
        assert_eq!(unkept_grant_end_at(&Sessions::default(), UNKEPT), Some(0));
        assert_eq!(unkept_grant_end_at(&live, KEPT), None);
    }

    #[test]
    fn a_grant_without_refresh_token_goes_after_expiry_and_sessions() {
        let grant = grant(false);
        assert_eq!(
            expired_grant_cleanup_at(&grant, &Sessions::default()),
            Some(NOW + 7200)
        );
        let live = sessions(&[NOW]);
        assert_eq!(
            expired_grant_cleanup_at(&grant, &live),
            Some(NOW + SESSION_MAX_AGE_SECS + 1)
        );
        assert_eq!(
            expired_grant_cleanup_at(&self::grant(true), &live),
            None,
            "a refresh token keeps it"
        );
    }

    #[test]
    fn a_scheduled_post_wakes_the_object_and_nothing_means_no_alarm() {
        let none = Sessions::default();
        let keepalive = KeepAlive::default();
        let grant = grant(true);
        let holdings = Holdings {
            grant: Some(&grant),
            sessions: &none,
            keepalive: &keepalive,
            posts_due: Some(NOW + 30),
        };
        assert_eq!(next_alarm(&holdings, KEPT), Some(NOW + 30));
        let empty = Holdings {
            grant: None,
            sessions: &none,
            keepalive: &keepalive,
            posts_due: None,
        };
        assert_eq!(next_alarm(&empty, KEPT), None);
    }
}
