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
use worker::{Delay, DurableObject, Env, Request, Response, State, durable_object};
use xauth_core::{AccessToken, ErrorKind, TokenTypeHint};

use crate::body::read_at_most;
use crate::config::Config;
use crate::error::ApiError;
use crate::grant::{Grant, Sessions, XUser, open_grant, seal_grant};
use crate::sealed::{OpenedWith, SealKeys};
use crate::session_cookie::{SessionHash, is_user_id};
use crate::vault_key::GRANT_INFO;
use crate::x;

/// The Durable Object namespace binding in wrangler.toml.
pub const BINDING: &str = "XAUTH_GRANTS";
/// The origin of the internal calls to an object (never on the network).
const ORIGIN: &str = "https://xauth-vault";
/// Refresh when the access token expires within this many seconds.
pub const REFRESH_SKEW_SECS: u64 = xauth_core::DEFAULT_REFRESH_SKEW_SECS;

const GRANT_KEY: &str = "grant";
const SESSIONS_KEY: &str = "sessions";
/// The user's OAuth 1.0a sessions (their tokens stay in the sealed cookie; the object
/// only knows which sessions are signed in).
const OAUTH1_SESSIONS_KEY: &str = "oauth1_sessions";

/// The Durable Object class: one instance per X user.
#[durable_object(fetch)]
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
            *slot.borrow_mut() = Stored {
                sessions: sessions.filter(|_| grant.is_some()).unwrap_or_default(),
                grant,
                oauth1_sessions: oauth1_sessions.unwrap_or_default(),
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
}

/// What one internal call asks of the object.
#[derive(Default, Deserialize, Serialize)]
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

/// The storage, in memory: the source of truth between writes, written through.
#[derive(Default)]
struct Stored {
    /// The sealed grant.
    grant: Option<String>,
    sessions: Sessions,
    oauth1_sessions: Sessions,
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
        let config = Config::of(&self.env)?;
        let ctx = Ctx {
            keys: config.vault_keys()?.keys_for(GRANT_INFO),
            config,
            user_id: call.user.clone(),
            now: crate::now_unix_secs(),
        };
        match op.as_str() {
            "/sign-in" => self.sign_in(&ctx, &call).await.and_then(json),
            "/session" => self.session(&ctx, &call).await.and_then(json),
            "/token" => self.token(&ctx, &call).await.and_then(json),
            "/sign-out" => self.sign_out(&ctx, &call).await.and_then(json),
            "/revoke" => self.revoke(&ctx, &call).await.and_then(json),
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
        self.stored.borrow_mut().sessions.add(session, ctx.now);
        self.persist().await?;
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
        let grant = self.live_grant(ctx, call).await?;
        let refresh = match call.stale.as_deref() {
            // X refused a token that has been replaced since: the new one will do.
            Some(stale) => grant.holds_access_token(stale),
            None => xauth_core::needs_refresh(grant.expires_at, ctx.now, REFRESH_SKEW_SECS),
        };
        let grant = if !refresh {
            grant
        } else if grant.refresh_token.is_none() {
            // Nothing to refresh with (no offline.access): the grant ends with its token.
            self.end_grant(ctx, false).await?;
            return Err(ApiError::no_session());
        } else {
            let flight = self.flight(ctx, grant);
            wait_for(&flight, ctx.config.x_timeout_ms).await?
        };
        Ok(Token {
            access_token: grant.access_token.secret().to_owned(),
        })
    }

    /// Ends this session (or all of the user's); the last one ends the grant, revoked at X.
    async fn sign_out(&self, ctx: &Ctx, call: &Call) -> Result<Ended, ApiError> {
        self.live_grant(ctx, call).await?;
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
        if any_left {
            self.persist().await?;
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
        self.live_grant(ctx, call).await?;
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
            self.persist().await?;
        }
        Ok(Live { live })
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
                self.persist().await?;
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
        }
        stored.grant = sealed;
        Ok(())
    }

    /// Writes the memory copy to storage (every key in one atomic write, or nothing left).
    async fn persist(&self) -> Result<(), ApiError> {
        #[derive(Serialize)]
        struct Record {
            #[serde(skip_serializing_if = "Option::is_none")]
            grant: Option<String>,
            sessions: Sessions,
            oauth1_sessions: Sessions,
        }
        let record = {
            let stored = self.stored.borrow();
            Record {
                grant: stored.grant.clone(),
                sessions: stored.sessions.clone(),
                oauth1_sessions: stored.oauth1_sessions.clone(),
            }
        };
        let storage = self.state.storage();
        if record.grant.is_none() && record.oauth1_sessions.is_empty() {
            storage.delete_all().await?;
            return Ok(());
        }
        let had_grant = record.grant.is_some();
        storage.put_multiple(record).await?;
        if !had_grant {
            storage.delete(GRANT_KEY).await?;
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
        self.persist().await?;
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
        let config = Config::of(&self.env)?;
        let ctx = Ctx {
            keys: config.vault_keys()?.keys_for(GRANT_INFO),
            config,
            user_id: user_id.to_owned(),
            now: crate::now_unix_secs(),
        };
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
                self.persist().await?;
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
                    self.persist().await?;
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

    pub async fn sign_out(
        &self,
        session: &SessionHash,
        everywhere: bool,
    ) -> Result<Ended, ApiError> {
        let call = Call {
            session: Some(session.clone()),
            everywhere,
            ..self.call()
        };
        self.send("/sign-out", &call).await
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
