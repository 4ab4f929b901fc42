//! The vault of worker custody: one Durable Object per X user (binding `XAUTH_GRANTS`,
//! class [`GrantVault`], named by the user id) that keeps the user's grant and sessions and
//! refreshes the grant once for every caller on every instance of the worker.
//!
//! Invariants:
//! - Storage holds `grant`, the grant sealed under the vault key with the user id as
//!   associated data ([`crate::grant`]); `sessions`, the hashes of the sessions' secrets;
//!   and `oauth1_sessions`, the same for OAuth 1.0a sessions (whose tokens stay in their
//!   sealed cookie). Nothing else, and nothing in the clear. Sessions exist only with a
//!   grant.
//! - One refresh at a time ([`Flight`]): a caller that needs a fresh token while one runs
//!   waits for that same result. The refreshed grant is written to storage before any
//!   caller gets it. A refresh runs to its end even when every caller has given up
//!   waiting (`X_TIMEOUT_MS`), so a late 2xx from X is still stored.
//! - X's refusal of the refresh token (`reauthorize`) ends the grant and its sessions; any
//!   other failure (X down, slow, 5xx, 429, garbage) keeps the stored grant untouched.
//! - A grant is replaced only once its successor is stored; then the old one is revoked
//!   at X. A refresh whose grant was replaced or ended meanwhile stores nothing and
//!   revokes what it got.
//! - The object's alarm ([`crate::upkeep`]) is set after every write, for the earliest
//!   thing due: the keep-alive refresh, the end of a grant nobody may use any more, a
//!   scheduled post. Its refresh goes through the same single flight as every caller's.
//! - Without `XAUTH_KEEP_GRANTS` a grant lives only while a session does; with it, the
//!   grant stays (for the service API) until revoked, forgotten or ended by X.
//! - Calls with `service` set come from the service API, after the worker checked the
//!   service token; they act on the grant without a session.
//!
//! The worker talks to the object over the runtime's internal channel
//! ([`VaultClient`]): `POST https://xauth-vault/<op>` with a JSON [`Call`].

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{Either, select};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::{JsFuture, future_to_promise};
use worker::web_sys::{self, RequestInit};
use worker::{Delay, DurableObject, Env, Method, Request, Response, State, durable_object};
use xauth_core::{AccessToken, ErrorKind, TokenTypeHint};

use crate::body::read_at_most;
use crate::config::Config;
use crate::error::ApiError;
use crate::grant::{Grant, Sessions, XUser, open_grant, seal_grant};
use crate::scheduled_posts::{Attempt, Invalid, ScheduledPost, ScheduledPosts};
use crate::sealed::{OpenedWith, SealKeys};
use crate::session_cookie::{SessionHash, is_user_id};
use crate::upkeep::{self, Holdings, KeepAlive, Policy};
use crate::vault_key::GRANT_INFO;
use crate::x::{self, ForwardedBody, XReply};

/// The Durable Object namespace binding in wrangler.toml.
pub const BINDING: &str = "XAUTH_GRANTS";
/// The origin of the internal calls to an object (never on the network).
const ORIGIN: &str = "https://xauth-vault";
/// Refresh when the access token expires within this many seconds.
pub const REFRESH_SKEW_SECS: u64 = xauth_core::DEFAULT_REFRESH_SKEW_SECS;

const GRANT_KEY: &str = "grant";
const SESSIONS_KEY: &str = "sessions";
/// The object's user id: its name, which the alarm handler is not told.
const USER_KEY: &str = "user";
const KEEPALIVE_KEY: &str = "keepalive";
const POSTS_KEY: &str = "posts";
/// The user's OAuth 1.0a sessions (their tokens stay in the sealed cookie; the object
/// only knows which sessions are signed in).
const OAUTH1_SESSIONS_KEY: &str = "oauth1_sessions";

/// The Durable Object class: one instance per X user.
#[durable_object(alarm)]
pub struct GrantVault {
    vault: Rc<Vault>,
}

impl DurableObject for GrantVault {
    fn new(state: State, env: Env) -> Self {
        let stored = Rc::new(RefCell::new(Stored::default()));
        let storage = state.storage();
        let slot = Rc::clone(&stored);
        // Every event waits for this (the runtime's constructor idiom), so the memory copy
        // below is the storage from the first request on, and every write goes through it.
        let _loading = state.block_concurrency_while(async move {
            let grant = storage.get::<String>(GRANT_KEY).await?;
            let sessions = storage.get::<Sessions>(SESSIONS_KEY).await?;
            let oauth1_sessions = storage.get::<Sessions>(OAUTH1_SESSIONS_KEY).await?;
            let user_id = storage.get::<String>(USER_KEY).await?;
            let keepalive = storage.get::<KeepAlive>(KEEPALIVE_KEY).await?;
            let posts = storage.get::<ScheduledPosts>(POSTS_KEY).await?;
            *slot.borrow_mut() = Stored {
                sessions: sessions.filter(|_| grant.is_some()).unwrap_or_default(),
                grant,
                oauth1_sessions: oauth1_sessions.unwrap_or_default(),
                user_id,
                keepalive: keepalive.unwrap_or_default(),
                posts: posts.unwrap_or_default(),
            };
            Ok(())
        });
        GrantVault {
            vault: Rc::new(Vault {
                state,
                env,
                stored,
                flight: RefCell::new(None),
            }),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match Rc::clone(&self.vault).handle(req).await {
            Ok(response) => Ok(response),
            Err(error) => crate::error_response(&error),
        }
    }

    /// The object's upkeep ([`crate::upkeep`]). An error (storage failing) makes the
    /// runtime retry the alarm; X failing is handled inside, with the tokens kept.
    async fn alarm(&self) -> worker::Result<Response> {
        match Rc::clone(&self.vault).upkeep().await {
            Ok(()) => Response::empty(),
            Err(error) => {
                worker::console_error!(
                    "vault: upkeep failed ({}); the alarm is retried",
                    error.error
                );
                Err(worker::Error::RustError(error.error))
            }
        }
    }
}

/// What one internal call asks of the object.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct Call {
    /// The user id: the object's name and the sealed grant's associated data.
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<SessionHash>,
    /// `sign-in`: the new grant's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grant: Option<String>,
    /// `token`: the access token X just refused (refresh unless already replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale: Option<String>,
    /// `sign-out`: every session of the user, not only this one.
    #[serde(default)]
    everywhere: bool,
    /// `sign-out`: revoke and delete the grant, even when grants are kept.
    #[serde(default)]
    forget: bool,
    /// From the service API (the service token was checked): no session needed.
    #[serde(default)]
    service: bool,
    /// `schedule-post`: the post's text and delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_secs: Option<u64>,
}

/// `session`: what the page may know of its session.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub user: XUser,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// `token`: an access token good for at least the refresh skew.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    access_token: String,
}

/// `sign-out` and `revoke`: whether the grant ended, and whether X confirmed its
/// revocation.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    pub grant_ended: bool,
    pub revoked: bool,
}

#[derive(Deserialize, Serialize)]
struct Done {}

/// `grant-info`: what the service API may know of a stored grant (never a token).
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantInfo {
    pub user_id: String,
    pub username: String,
    pub scope: String,
    /// Whether the grant can still make calls: it has a refresh token, or an access token
    /// that has not expired.
    pub alive: bool,
    /// Live browser sessions.
    pub sessions: usize,
    pub last_refresh_at: Option<u64>,
    /// Days since the refresh token in hand was issued; `None` without one.
    pub refresh_token_age_days: Option<f64>,
    pub next_keep_alive_at: Option<u64>,
}

/// `scheduled-posts`: the user's scheduled posts, newest first.
#[derive(Deserialize, Serialize)]
pub struct PostList {
    pub posts: Vec<ScheduledPost>,
}

/// The storage, in memory: the source of truth between writes, written through.
#[derive(Default)]
struct Stored {
    /// The sealed grant.
    grant: Option<String>,
    sessions: Sessions,
    oauth1_sessions: Sessions,
    user_id: Option<String>,
    keepalive: KeepAlive,
    posts: ScheduledPosts,
}

/// `oauth1-session`: whether the OAuth 1.0a session is still signed in.
#[derive(Deserialize, Serialize)]
struct Live {
    live: bool,
}

/// The refresh under way: its completion, and its outcome once it completed.
#[derive(Clone)]
struct Flight {
    done: Promise,
    outcome: Rc<RefCell<Option<Result<Grant, ApiError>>>>,
}

struct Vault {
    state: State,
    env: Env,
    stored: Rc<RefCell<Stored>>,
    flight: RefCell<Option<Flight>>,
}

/// What every operation needs: the configuration, the grant's keys, the user, the time.
struct Ctx {
    config: Rc<Config>,
    keys: Rc<SealKeys>,
    user_id: String,
    now: u64,
}

impl Ctx {
    fn new(env: &Env, user_id: &str) -> Result<Ctx, ApiError> {
        let config = Config::of(env)?;
        Ok(Ctx {
            keys: config.vault_keys()?.keys_for(GRANT_INFO),
            config,
            user_id: user_id.to_owned(),
            now: crate::now_unix_secs(),
        })
    }

    fn policy(&self) -> Policy {
        Policy {
            keep_grants: self.config.keep_grants,
            keepalive_secs: self.config.keepalive_secs,
        }
    }
}

impl Vault {
    async fn handle(self: Rc<Self>, req: Request) -> Result<Response, ApiError> {
        let op = req.path();
        let body = match req.inner().body() {
            Some(stream) => read_at_most(stream, None, MAX_CALL_BYTES).await?,
            None => None,
        };
        let call: Call = body
            .and_then(|body| serde_json::from_slice(&body).ok())
            .ok_or_else(|| ApiError::bad_request("The vault takes a JSON call."))?;
        if !is_user_id(&call.user) {
            return Err(ApiError::bad_request("The vault needs the user id."));
        }
        let ctx = Ctx::new(&self.env, &call.user)?;
        {
            // The alarm handler is not told the object's name: it reads it from storage
            // (written with the next write; an object from before alarms learns it here).
            let mut stored = self.stored.borrow_mut();
            if stored.user_id.is_none() && stored.grant.is_some() {
                stored.user_id = Some(call.user.clone());
            }
        }
        match op.as_str() {
            "/sign-in" => self.sign_in(&ctx, &call).await.and_then(json),
            "/session" => self.session(&ctx, &call).await.and_then(json),
            "/token" => self.token(&ctx, &call).await.and_then(json),
            "/sign-out" => self.sign_out(&ctx, &call).await.and_then(json),
            "/revoke" => self.revoke(&ctx, &call).await.and_then(json),
            "/grant-info" => self.grant_info(&ctx).await.and_then(json),
            "/schedule-post" => self.schedule_post(&ctx, &call).await.and_then(json),
            "/scheduled-posts" => self.scheduled_posts(&ctx, &call).await.and_then(json),
            "/oauth1-sign-in" => self
                .oauth1(&ctx, &call, Oauth1Op::SignIn)
                .await
                .and_then(json),
            "/oauth1-session" => self
                .oauth1(&ctx, &call, Oauth1Op::Check)
                .await
                .and_then(json),
            "/oauth1-sign-out" => self
                .oauth1(&ctx, &call, Oauth1Op::SignOut)
                .await
                .and_then(json),
            _ => Err(ApiError::not_found()),
        }
    }

    /// Stores the grant of a sign-in (replacing the user's previous one, which is then
    /// revoked at X) and adds the session.
    async fn sign_in(&self, ctx: &Ctx, call: &Call) -> Result<Done, ApiError> {
        let session = call.session.as_ref().ok_or_else(ApiError::no_session)?;
        let grant = call
            .grant
            .as_deref()
            .and_then(|json| Grant::from_json(json.as_bytes()))
            .filter(|grant| grant.user.id == ctx.user_id)
            .ok_or_else(|| ApiError::bad_request("The sign-in's grant is not this user's."))?;
        let previous = self.grant(ctx).await?;
        self.replace_grant(ctx, Some(&grant))?;
        {
            let mut stored = self.stored.borrow_mut();
            stored.sessions.add(session, ctx.now);
            stored.user_id = Some(ctx.user_id.clone());
        }
        self.persist(ctx).await?;
        if let Some(previous) = previous.filter(|previous| !previous.is_same_grant(&grant)) {
            revoke_at_x(&ctx.config, &previous).await;
        }
        Ok(Done {})
    }

    async fn session(&self, ctx: &Ctx, call: &Call) -> Result<SessionInfo, ApiError> {
        let grant = self.live_grant(ctx, call).await?;
        Ok(SessionInfo {
            user: grant.user,
            scope: grant.scope,
            expires_at: grant.expires_at,
        })
    }

    /// An access token for the session: the stored one while it is fresh, else (or when X
    /// refused `stale`, the current one) the result of the one refresh under way.
    async fn token(self: &Rc<Self>, ctx: &Ctx, call: &Call) -> Result<Token, ApiError> {
        let grant = self.usable_grant(ctx, call).await?;
        let refresh = match call.stale.as_deref() {
            // X refused a token that has been replaced since: the new one will do.
            Some(stale) => grant.holds_access_token(stale),
            None => xauth_core::needs_refresh(grant.expires_at, ctx.now, REFRESH_SKEW_SECS),
        };
        let grant = if !refresh {
            grant
        } else if grant.refresh_token.is_none() {
            // Nothing to refresh with (no offline.access): the token serves until it has
            // expired (or X refused it), and the grant ends with it.
            let dead = call.stale.is_some() || grant.expires_at.is_some_and(|at| at <= ctx.now);
            if !dead {
                return Ok(Token {
                    access_token: grant.access_token.secret().to_owned(),
                });
            }
            self.end_grant(ctx, false).await?;
            return Err(gone(call));
        } else {
            let flight = self.flight(ctx, grant);
            wait_for(&flight, ctx.config.x_timeout_ms)
                .await
                .map_err(|error| {
                    if error.error == "no_session" {
                        gone(call)
                    } else {
                        error
                    }
                })?
        };
        Ok(Token {
            access_token: grant.access_token.secret().to_owned(),
        })
    }

    /// Ends this session (or all of the user's); the last one ends the grant, revoked at X,
    /// unless grants are kept. `forget` revokes and deletes the grant in any case.
    async fn sign_out(&self, ctx: &Ctx, call: &Call) -> Result<Ended, ApiError> {
        self.live_grant(ctx, call).await?;
        if call.forget {
            let revoked = self.end_grant(ctx, true).await?;
            return Ok(Ended {
                grant_ended: true,
                revoked,
            });
        }
        let any_left = {
            let mut stored = self.stored.borrow_mut();
            match (&call.session, call.everywhere) {
                (_, true) => stored.sessions.clear(),
                (Some(session), false) => {
                    stored.sessions.remove(session);
                }
                (None, false) => {}
            }
            stored.sessions.prune(ctx.now);
            !stored.sessions.is_empty()
        };
        if any_left || ctx.config.keep_grants {
            self.persist(ctx).await?;
            return Ok(Ended {
                grant_ended: false,
                revoked: false,
            });
        }
        let revoked = self.end_grant(ctx, true).await?;
        Ok(Ended {
            grant_ended: true,
            revoked,
        })
    }

    /// Revokes the user's grant at X and forgets it, ending every session.
    async fn revoke(&self, ctx: &Ctx, call: &Call) -> Result<Ended, ApiError> {
        self.usable_grant(ctx, call).await?;
        let revoked = self.end_grant(ctx, true).await?;
        Ok(Ended {
            grant_ended: true,
            revoked,
        })
    }

    /// An OAuth 1.0a session: registered at sign-in, checked, ended at sign-out.
    async fn oauth1(&self, ctx: &Ctx, call: &Call, op: Oauth1Op) -> Result<Live, ApiError> {
        let session = call.session.as_ref().ok_or_else(ApiError::no_session)?;
        let (write, live) = {
            let mut stored = self.stored.borrow_mut();
            let changed = stored.oauth1_sessions.prune(ctx.now);
            let live = match op {
                Oauth1Op::SignIn => {
                    stored.oauth1_sessions.add(session, ctx.now);
                    true
                }
                Oauth1Op::Check => stored.oauth1_sessions.is_live(session, ctx.now),
                Oauth1Op::SignOut => {
                    stored.oauth1_sessions.remove(session);
                    false
                }
            };
            (changed || !matches!(op, Oauth1Op::Check), live)
        };
        if write {
            self.persist(ctx).await?;
        }
        Ok(Live { live })
    }

    /// What the service API may know of the stored grant.
    async fn grant_info(&self, ctx: &Ctx) -> Result<GrantInfo, ApiError> {
        let grant = self.grant(ctx).await?.ok_or_else(ApiError::no_grant)?;
        let stored = self.stored.borrow();
        let alive = grant.refresh_token.is_some()
            || grant
                .expires_at
                .is_none_or(|expires_at| expires_at > ctx.now);
        #[allow(clippy::cast_precision_loss)]
        let age_days = |issued_at: u64| ctx.now.saturating_sub(issued_at) as f64 / 86_400.0;
        Ok(GrantInfo {
            user_id: grant.user.id.clone(),
            username: grant.user.username.clone(),
            scope: grant.scope.clone(),
            alive,
            sessions: {
                let mut live = stored.sessions.clone();
                live.prune(ctx.now);
                live.len()
            },
            last_refresh_at: grant.last_refresh_at,
            refresh_token_age_days: grant
                .refresh_token
                .as_ref()
                .map(|_| age_days(grant.issued_at)),
            next_keep_alive_at: stored.keepalive.due(&grant, ctx.config.keepalive_secs),
        })
    }

    /// Schedules a post, made by the object's alarm with the stored grant.
    async fn schedule_post(&self, ctx: &Ctx, call: &Call) -> Result<ScheduledPost, ApiError> {
        self.live_grant(ctx, call).await?;
        let text = call.text.as_deref().unwrap_or_default();
        let id = format!("{}", worker::Date::now().as_millis());
        let post = self
            .stored
            .borrow_mut()
            .posts
            .schedule(text, call.delay_secs, ctx.now, id)
            .map_err(|invalid| {
                ApiError::bad_request(match invalid {
                    Invalid::Text => "text must be 1 to 280 characters, not only spaces.",
                    Invalid::Delay => "delaySeconds must be 1 to 86400.",
                })
            })?;
        self.persist(ctx).await?;
        Ok(post)
    }

    async fn scheduled_posts(&self, ctx: &Ctx, call: &Call) -> Result<PostList, ApiError> {
        self.live_grant(ctx, call).await?;
        Ok(PostList {
            posts: self.stored.borrow().posts.list().to_vec(),
        })
    }

    /// The grant for `call`: a live session's, or for the service API the stored one.
    async fn usable_grant(&self, ctx: &Ctx, call: &Call) -> Result<Grant, ApiError> {
        if call.service {
            self.grant(ctx).await?.ok_or_else(ApiError::no_grant)
        } else {
            self.live_grant(ctx, call).await
        }
    }

    /// The grant, for a live session of it; else `no_session`.
    async fn live_grant(&self, ctx: &Ctx, call: &Call) -> Result<Grant, ApiError> {
        let live = call
            .session
            .as_ref()
            .is_some_and(|session| self.stored.borrow().sessions.is_live(session, ctx.now));
        if !live {
            return Err(ApiError::no_session());
        }
        self.grant(ctx).await?.ok_or_else(ApiError::no_session)
    }

    /// The stored grant, opened. One sealed under the previous vault key is sealed again
    /// under the current one and stored. One that opens under neither key is treated as
    /// absent (and left alone: the keys may be misconfigured).
    async fn grant(&self, ctx: &Ctx) -> Result<Option<Grant>, ApiError> {
        let sealed = self.stored.borrow().grant.clone();
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        match open_grant(&ctx.keys, &ctx.user_id, &sealed) {
            Some((grant, OpenedWith::Current)) => Ok(Some(grant)),
            Some((grant, OpenedWith::Previous)) => {
                self.replace_grant(ctx, Some(&grant))?;
                self.persist(ctx).await?;
                Ok(Some(grant))
            }
            None => {
                worker::console_error!(
                    "vault: the stored grant opens under neither XAUTH_VAULT_KEY nor XAUTH_VAULT_KEY_PREVIOUS"
                );
                Ok(None)
            }
        }
    }

    /// Puts `grant` (sealed) in memory; `None` also ends every session. [`Vault::persist`]
    /// writes it.
    fn replace_grant(&self, ctx: &Ctx, grant: Option<&Grant>) -> Result<(), ApiError> {
        let sealed = grant
            .map(|grant| seal_grant(&ctx.keys, &ctx.user_id, grant))
            .transpose()
            .map_err(|_| ApiError::internal("The grant could not be sealed."))?;
        let mut stored = self.stored.borrow_mut();
        if sealed.is_none() {
            stored.sessions.clear();
            stored.keepalive = KeepAlive::default();
            stored
                .posts
                .fail_all_scheduled("The grant ended before the post was due.", ctx.now);
        }
        stored.grant = sealed;
        Ok(())
    }

    /// Writes the memory copy to storage (every key in one atomic write, or nothing left),
    /// then sets the alarm for whatever is due next.
    async fn persist(&self, ctx: &Ctx) -> Result<(), ApiError> {
        #[derive(Serialize)]
        struct Record {
            #[serde(skip_serializing_if = "Option::is_none")]
            grant: Option<String>,
            sessions: Sessions,
            oauth1_sessions: Sessions,
            #[serde(skip_serializing_if = "Option::is_none")]
            user: Option<String>,
            keepalive: KeepAlive,
            posts: ScheduledPosts,
        }
        let record = {
            let stored = self.stored.borrow();
            Record {
                grant: stored.grant.clone(),
                sessions: stored.sessions.clone(),
                oauth1_sessions: stored.oauth1_sessions.clone(),
                user: stored.user_id.clone(),
                keepalive: stored.keepalive.clone(),
                posts: stored.posts.clone(),
            }
        };
        let storage = self.state.storage();
        if record.grant.is_none() && record.oauth1_sessions.is_empty() {
            storage.delete_all().await?;
            storage.delete_alarm().await?;
            return Ok(());
        }
        let had_grant = record.grant.is_some();
        storage.put_multiple(record).await?;
        if !had_grant {
            storage.delete(GRANT_KEY).await?;
        }
        self.set_alarm(ctx).await
    }

    /// Sets the object's alarm for the earliest thing due ([`upkeep::next_alarm`]), or
    /// deletes it when nothing ever is.
    async fn set_alarm(&self, ctx: &Ctx) -> Result<(), ApiError> {
        let next = {
            let stored = self.stored.borrow();
            let grant = stored
                .grant
                .as_deref()
                .and_then(|sealed| open_grant(&ctx.keys, &ctx.user_id, sealed))
                .map(|(grant, _)| grant);
            let holdings = Holdings {
                grant: grant.as_ref(),
                sessions: &stored.sessions,
                keepalive: &stored.keepalive,
                posts_due: stored.posts.next_due(),
            };
            upkeep::next_alarm(&holdings, ctx.policy())
        };
        let storage = self.state.storage();
        match next {
            Some(at) => {
                let now_ms = worker::Date::now().as_millis();
                let offset_ms = at.saturating_mul(1000).saturating_sub(now_ms);
                storage
                    .set_alarm(i64::try_from(offset_ms).unwrap_or(i64::MAX))
                    .await?;
            }
            None => storage.delete_alarm().await?,
        }
        Ok(())
    }

    /// The alarm: whatever is due (see [`crate::upkeep`]), then the next alarm.
    async fn upkeep(self: Rc<Self>) -> Result<(), ApiError> {
        let user_id = self.stored.borrow().user_id.clone();
        let Some(user_id) = user_id else {
            // No user's grant was ever stored here: nothing to keep up.
            return Ok(());
        };
        let ctx = Ctx::new(&self.env, &user_id)?;
        self.stored.borrow_mut().sessions.prune(ctx.now);
        if self.grant(&ctx).await?.is_some() {
            self.post_due(&ctx).await;
            self.keep_alive(&ctx).await;
            self.end_if_unused(&ctx).await?;
        }
        self.persist(&ctx).await
    }

    /// Makes the scheduled posts that are due, with the stored grant.
    async fn post_due(self: &Rc<Self>, ctx: &Ctx) {
        let due = self.stored.borrow().posts.due(ctx.now);
        for id in due {
            let text = self.stored.borrow().posts.text_of(&id).map(str::to_owned);
            let Some(text) = text else { continue };
            let attempt = self.post_now(ctx, &text).await;
            if let Attempt::Posted { post_id } = &attempt {
                worker::console_log!("vault: a scheduled post was made ({post_id})");
            }
            self.stored
                .borrow_mut()
                .posts
                .record(&id, attempt, crate::now_unix_secs());
        }
    }

    /// One post at X as the user: with a fresh token, and once more after one refresh if
    /// X answers 401 to the token that is still current.
    async fn post_now(self: &Rc<Self>, ctx: &Ctx, text: &str) -> Attempt {
        let url = format!("{}/2/tweets", ctx.config.x_api_url);
        let body = ForwardedBody {
            bytes: serde_json::to_vec(&serde_json::json!({ "text": text })).unwrap_or_default(),
            content_type: Some("application/json".to_owned()),
        };
        let mut call = Call {
            user: ctx.user_id.clone(),
            service: true,
            ..Call::default()
        };
        loop {
            let token = match self.token(ctx, &call).await {
                Ok(token) => AccessToken::new(token.access_token),
                Err(error) => return attempt_failed(&error),
            };
            let timeout = ctx.config.x_timeout_ms;
            match x::call_with_bearer(Method::Post, &url, &token, Some(&body), timeout).await {
                Ok(reply) if reply.status == 401 && call.stale.is_none() => {
                    call.stale = Some(token.secret().to_owned());
                }
                Ok(reply) => return attempt_of(&reply),
                Err(error) => return attempt_failed(&error),
            }
        }
    }

    /// The keep-alive refresh, when due: through the single flight, so it never races a
    /// caller's refresh. A transient failure keeps the tokens and backs off; X refusing
    /// the refresh token has already ended the grant.
    async fn keep_alive(self: &Rc<Self>, ctx: &Ctx) {
        let Ok(Some(grant)) = self.grant(ctx).await else {
            return;
        };
        let due = self
            .stored
            .borrow()
            .keepalive
            .due(&grant, ctx.config.keepalive_secs);
        if due.is_none_or(|due| due > ctx.now) {
            return;
        }
        let flight = self.flight(ctx, grant.clone());
        match wait_for(&flight, KEEPALIVE_WAIT_MS).await {
            Ok(_) => worker::console_log!("vault: keep-alive refreshed a grant"),
            Err(error) => {
                let still_stored = self
                    .grant(ctx)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|stored| stored.is_same_grant(&grant));
                if still_stored {
                    worker::console_warn!(
                        "vault: keep-alive failed ({}); the tokens are kept and it is retried",
                        error.error
                    );
                    let now = crate::now_unix_secs();
                    let mut stored = self.stored.borrow_mut();
                    stored.keepalive.failed(now, ctx.config.keepalive_secs);
                }
            }
        }
    }

    /// Ends a grant nobody may use any more: one without a refresh token whose access
    /// token expired after its last session; without `XAUTH_KEEP_GRANTS`, one whose
    /// sessions all reached their lifetime (revoked at X, as a sign-out would).
    async fn end_if_unused(&self, ctx: &Ctx) -> Result<(), ApiError> {
        let Some(grant) = self.grant(ctx).await? else {
            return Ok(());
        };
        let now = crate::now_unix_secs();
        let (expired, unkept) = {
            let stored = self.stored.borrow();
            (
                upkeep::expired_grant_cleanup_at(&grant, &stored.sessions)
                    .is_some_and(|at| at <= now),
                upkeep::unkept_grant_end_at(&stored.sessions, ctx.policy())
                    .is_some_and(|at| at <= now),
            )
        };
        if expired {
            self.end_grant(ctx, false).await?;
        } else if unkept {
            self.end_grant(ctx, true).await?;
        }
        Ok(())
    }

    /// Forgets the grant and every session, after revoking it at X when `revoke` (whether
    /// X confirmed). A refresh under way is waited for first (its answer may be the
    /// grant's newest tokens); one that outlasts `X_TIMEOUT_MS` finds the grant gone and
    /// revokes what it got.
    async fn end_grant(&self, ctx: &Ctx, revoke: bool) -> Result<bool, ApiError> {
        let flight = self.flight.borrow().clone();
        if let Some(flight) = flight {
            let _ = wait_for(&flight, ctx.config.x_timeout_ms).await;
        }
        let grant = self.grant(ctx).await?;
        let revoked = match (&grant, revoke) {
            (Some(grant), true) => revoke_at_x(&ctx.config, grant).await,
            _ => false,
        };
        self.replace_grant(ctx, None)?;
        self.persist(ctx).await?;
        Ok(revoked)
    }

    /// The refresh under way, or a new one of `grant`.
    fn flight(self: &Rc<Self>, ctx: &Ctx, grant: Grant) -> Flight {
        if let Some(flight) = self.flight.borrow().as_ref() {
            return flight.clone();
        }
        let outcome = Rc::new(RefCell::new(None));
        let (vault, slot, user_id) = (Rc::clone(self), Rc::clone(&outcome), ctx.user_id.clone());
        let done = future_to_promise(async move {
            let result = vault.refresh(&user_id, &grant).await;
            *slot.borrow_mut() = Some(result);
            vault.flight.borrow_mut().take();
            Ok(JsValue::UNDEFINED)
        });
        let flight = Flight { done, outcome };
        *self.flight.borrow_mut() = Some(flight.clone());
        // The refresh runs to its end even when no caller waits any more.
        let running = JsFuture::from(flight.done.clone());
        self.state.wait_until(async move {
            let _ = running.await;
        });
        flight
    }

    /// One refresh of `grant` at X, and what it means for the stored grant.
    async fn refresh(&self, user_id: &str, grant: &Grant) -> Result<Grant, ApiError> {
        let ctx = Ctx::new(&self.env, user_id)?;
        let refresh_token = grant
            .refresh_token
            .as_ref()
            .ok_or_else(ApiError::no_session)?;
        let answered = x::refresh(&ctx.config, refresh_token, x::REFRESH_HEADERS_MS).await;
        let now = crate::now_unix_secs();
        let still_current = |vault: &Vault| {
            let sealed = vault.stored.borrow().grant.clone();
            sealed
                .and_then(|sealed| open_grant(&ctx.keys, user_id, &sealed))
                .is_some_and(|(stored, _)| stored.is_same_grant(grant))
        };
        match answered.and_then(|reply| x::refreshed_token_set(&reply, now)) {
            Ok(tokens) => {
                let fresh = grant.refreshed(tokens, now);
                if !still_current(self) {
                    // Signed out or signed in again while X answered: these belong to no one.
                    revoke_at_x(&ctx.config, &fresh).await;
                    return Err(ApiError::no_session());
                }
                self.replace_grant(&ctx, Some(&fresh))?;
                self.stored.borrow_mut().keepalive = KeepAlive::default();
                self.persist(&ctx).await?;
                Ok(fresh)
            }
            Err(refused) if refused.kind == Some(ErrorKind::Reauthorize) => {
                // X says the refresh token is spent or revoked: the grant is over.
                worker::console_warn!(
                    "vault: X refused the refresh token ({}); the grant ends",
                    refused.error
                );
                if still_current(self) {
                    self.replace_grant(&ctx, None)?;
                    self.persist(&ctx).await?;
                }
                Err(ApiError::no_session())
            }
            // X down, slow, 5xx, 429, garbage, or misconfigured: nothing stored changes.
            Err(failed) => Err(failed),
        }
    }
}

/// What an OAuth 1.0a session call does.
#[derive(Clone, Copy)]
enum Oauth1Op {
    SignIn,
    Check,
    SignOut,
}

/// How long the alarm waits for its keep-alive refresh: X's headers may take
/// [`x::REFRESH_HEADERS_MS`]; a refresh still running after that is stored when it ends.
const KEEPALIVE_WAIT_MS: u32 = x::REFRESH_HEADERS_MS + 10_000;

/// The refusal a call gets when the grant is gone: a session is over (`no_session`); the
/// service API's user has no grant any more (`no_grant`).
fn gone(call: &Call) -> ApiError {
    if call.service {
        ApiError::no_grant()
    } else {
        ApiError::no_session()
    }
}

/// What a scheduled post's attempt came to when no token could be had or X did not
/// answer.
fn attempt_failed(error: &ApiError) -> Attempt {
    let error_text = error.description.clone();
    if error.kind == Some(ErrorKind::Transient) {
        Attempt::Transient { error: error_text }
    } else {
        Attempt::Refused { error: error_text }
    }
}

/// What X's answer to a post means: its id (201), try again later (429, 5xx), or X's
/// reason for refusing it.
fn attempt_of(reply: &XReply) -> Attempt {
    #[derive(Deserialize)]
    struct Created {
        data: CreatedData,
    }
    #[derive(Deserialize)]
    struct CreatedData {
        id: String,
    }
    #[derive(Deserialize)]
    struct Problem {
        detail: Option<String>,
        title: Option<String>,
    }
    if (200..300).contains(&reply.status) {
        return match serde_json::from_slice::<Created>(&reply.body) {
            Ok(created) => Attempt::Posted {
                post_id: created.data.id,
            },
            Err(_) => Attempt::Refused {
                error: "X accepted the post but did not say its id.".to_owned(),
            },
        };
    }
    let said = serde_json::from_slice::<Problem>(&reply.body)
        .ok()
        .and_then(|problem| problem.detail.or(problem.title))
        .map(|said| said.chars().take(200).collect::<String>());
    let error = said.unwrap_or_else(|| format!("X answered {}.", reply.status));
    if reply.status == 429 || reply.status >= 500 {
        Attempt::Transient { error }
    } else {
        Attempt::Refused { error }
    }
}

/// The outcome of `flight`, or a transient error once `timeout_ms` have passed (the
/// refresh goes on).
async fn wait_for(flight: &Flight, timeout_ms: u32) -> Result<Grant, ApiError> {
    let done = pin!(JsFuture::from(flight.done.clone()));
    let timer = pin!(Delay::from(Duration::from_millis(u64::from(timeout_ms))));
    match select(done, timer).await {
        Either::Left(_) => flight
            .outcome
            .borrow()
            .clone()
            .unwrap_or_else(|| Err(ApiError::internal("The refresh ended without an outcome."))),
        Either::Right(_) => Err(ApiError::upstream_unavailable(format!(
            "X did not answer the refresh within {timeout_ms} ms; it goes on, try again."
        ))),
    }
}

/// Revokes `grant` at X (its refresh token, which takes the access token with it; else the
/// access token); whether X confirmed. A failure is logged: the grant is being forgotten
/// either way.
async fn revoke_at_x(config: &Config, grant: &Grant) -> bool {
    let hint = if grant.refresh_token.is_some() {
        TokenTypeHint::RefreshToken
    } else {
        TokenTypeHint::AccessToken
    };
    match x::revoke(config, grant.grant_token(), Some(hint)).await {
        Ok(()) => true,
        Err(error) => {
            worker::console_warn!("vault: X did not revoke a grant ({})", error.error);
            false
        }
    }
}

fn json<T: Serialize>(value: T) -> Result<Response, ApiError> {
    Ok(Response::from_json(&value)?)
}

/// The largest call and answer between the worker and an object: a call carries at most a
/// grant (a few hundred bytes of tokens), an answer a token or the session's user.
const MAX_CALL_BYTES: usize = 64 * 1024;

/// The worker's handle on one user's object.
pub struct VaultClient {
    stub: RawStub,
    user_id: String,
}

#[wasm_bindgen]
extern "C" {
    /// A Durable Object stub, for its `fetch(url, init)` (workers-rs' `Stub` takes only a
    /// workers-rs `Request`).
    type RawStub;

    #[wasm_bindgen(catch, method)]
    fn fetch(this: &RawStub, url: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

impl VaultClient {
    /// The object of `user_id` (an X user id), or a 500 naming the binding.
    pub fn for_user(env: &Env, user_id: &str) -> Result<VaultClient, ApiError> {
        let namespace = env.durable_object(BINDING).map_err(|_| {
            ApiError::misconfigured(
                BINDING,
                "is not bound: worker custody needs a Durable Object namespace of class GrantVault",
            )
        })?;
        Ok(VaultClient {
            stub: namespace.id_from_name(user_id)?.get_stub()?.into_rpc(),
            user_id: user_id.to_owned(),
        })
    }

    fn call(&self) -> Call {
        Call {
            user: self.user_id.clone(),
            ..Call::default()
        }
    }

    /// Stores `grant` for the user with a new session.
    pub async fn sign_in(&self, grant: &Grant, session: &SessionHash) -> Result<(), ApiError> {
        let call = Call {
            session: Some(session.clone()),
            grant: String::from_utf8(grant.to_json()).ok(),
            ..self.call()
        };
        self.send::<Done>("/sign-in", &call).await.map(drop)
    }

    pub async fn session(&self, session: &SessionHash) -> Result<SessionInfo, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            ..self.call()
        };
        self.send("/session", &call).await
    }

    /// A fresh access token for the session; with `stale`, one that is not `stale`.
    pub async fn access_token(
        &self,
        session: &SessionHash,
        stale: Option<&AccessToken>,
    ) -> Result<AccessToken, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            stale: stale.map(|token| token.secret().to_owned()),
            ..self.call()
        };
        let token: Token = self.send("/token", &call).await?;
        Ok(AccessToken::new(token.access_token))
    }

    /// Ends the session (or all of the user's); `forget` also revokes and deletes the grant.
    pub async fn sign_out(
        &self,
        session: &SessionHash,
        everywhere: bool,
        forget: bool,
    ) -> Result<Ended, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            everywhere,
            forget,
            ..self.call()
        };
        self.send("/sign-out", &call).await
    }

    /// Service API: a fresh access token of the user's stored grant, with no session; with
    /// `stale`, one that is not `stale`.
    pub async fn service_access_token(
        &self,
        stale: Option<&AccessToken>,
    ) -> Result<AccessToken, ApiError> {
        let call = Call {
            service: true,
            stale: stale.map(|token| token.secret().to_owned()),
            ..self.call()
        };
        let token: Token = self.send("/token", &call).await?;
        Ok(AccessToken::new(token.access_token))
    }

    /// Service API: what may be known of the user's stored grant.
    pub async fn grant_info(&self) -> Result<GrantInfo, ApiError> {
        let call = Call {
            service: true,
            ..self.call()
        };
        self.send("/grant-info", &call).await
    }

    /// Service API: revokes the user's grant at X and deletes it.
    pub async fn forget(&self) -> Result<Ended, ApiError> {
        let call = Call {
            service: true,
            ..self.call()
        };
        self.send("/revoke", &call).await
    }

    /// Schedules a post the object makes `delay_secs` from now with the stored grant.
    pub async fn schedule_post(
        &self,
        session: &SessionHash,
        text: &str,
        delay_secs: Option<u64>,
    ) -> Result<ScheduledPost, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            text: Some(text.to_owned()),
            delay_secs,
            ..self.call()
        };
        self.send("/schedule-post", &call).await
    }

    pub async fn scheduled_posts(&self, session: &SessionHash) -> Result<PostList, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            ..self.call()
        };
        self.send("/scheduled-posts", &call).await
    }

    pub async fn revoke(&self, session: &SessionHash) -> Result<Ended, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            ..self.call()
        };
        self.send("/revoke", &call).await
    }

    /// Registers an OAuth 1.0a session of the user.
    pub async fn oauth1_sign_in(&self, session: &SessionHash) -> Result<(), ApiError> {
        self.oauth1("/oauth1-sign-in", session).await.map(drop)
    }

    /// Whether an OAuth 1.0a session of the user is still signed in.
    pub async fn oauth1_session(&self, session: &SessionHash) -> Result<bool, ApiError> {
        self.oauth1("/oauth1-session", session).await
    }

    /// Ends an OAuth 1.0a session of the user.
    pub async fn oauth1_sign_out(&self, session: &SessionHash) -> Result<(), ApiError> {
        self.oauth1("/oauth1-sign-out", session).await.map(drop)
    }

    async fn oauth1(&self, op: &str, session: &SessionHash) -> Result<bool, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            ..self.call()
        };
        let live: Live = self.send(op, &call).await?;
        Ok(live.live)
    }

    async fn send<T: DeserializeOwned>(&self, op: &str, call: &Call) -> Result<T, ApiError> {
        let body = serde_json::to_string(call)
            .map_err(|_| ApiError::internal("The vault call could not be encoded."))?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        let promise = self
            .stub
            .fetch(&format!("{ORIGIN}{op}"), &init)
            .map_err(worker::Error::from)?;
        let response: web_sys::Response = JsFuture::from(promise)
            .await
            .map_err(worker::Error::from)?
            .unchecked_into();
        let status = response.status();
        let bytes = match response.body() {
            Some(stream) => read_at_most(stream, None, MAX_CALL_BYTES).await?,
            None => Some(Vec::new()),
        }
        .ok_or_else(|| ApiError::internal("The user's vault answered too much."))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&bytes)
                .map_err(|_| ApiError::internal("The user's vault answered something unexpected."))
        } else {
            let retry_after = response
                .headers()
                .get("retry-after")
                .map_err(worker::Error::from)?;
            Err(ApiError::from_wire(status, &bytes, retry_after))
        }
    }
}
