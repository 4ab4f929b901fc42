//! The token keeper behind a `Session`: refreshes before expiry and after a 401, one
//! refresh at a time in this tab and across the origin's tabs, and tells the app.
//!
//! X rotates the refresh token on every refresh and answers a spent one with
//! `invalid_request`, so two refreshes racing with the same token would sign the loser out.
//! Hence:
//! - in this tab, concurrent callers wait on the one refresh under way (`refreshing`);
//! - across tabs, the refresh runs under the Web Lock `xauth:refresh:<endpoint>`; the lock
//!   holder says on the BroadcastChannel of the same name that it is refreshing the grant,
//!   then hands the new tokens over there (and in localStorage with `storage: "local"`). A
//!   tab that gets the lock next waits for that handover if it was announced (the lock and
//!   the messages travel separately, and localStorage reaches other tabs late), and then
//!   uses those tokens instead of refreshing again;
//! - where Web Locks are missing (and in any tab whose refresh X refuses as spent), the
//!   tab waits a moment for another tab's tokens and adopts them before it gives up.
//!
//! Tabs share a session only with `storage: "local"`: only then is there a lock, a channel
//! (which carries tokens that localStorage holds anyway) or a stored record to adopt. With
//! `"memory"` and `"session"` each tab keeps its own grant and says nothing to the others.
//!
//! A tab adopts only successors of its own grant, never another sign-in's tokens: each
//! grant gets a random id when it is first kept (a sign-in, or `resumeSession` of tokens
//! that are not the stored ones), and the stored record carries it with the number of
//! refreshes since (`grant_id`, `rotation`). A record of the same grant and a later
//! rotation is adopted; an older one is a stale view and ignored; another grant's means
//! another sign-in replaced this tab's session, which then ends (`signed_out_elsewhere`)
//! and revokes its grant. The sign-in that replaces a stored session revokes that grant
//! too (no tab may be left to do it) and says so on the channel, so that the tabs of the
//! replaced grant end at once rather than at their next refresh.
//!
//! A refresh token is replaced only by its successor, and only once the worker answered it:
//! a failed refresh keeps the old tokens and is forgotten (the next call tries again),
//! except one that says the grant is dead (`reauthorize`), which ends the session.
//!
//! Expiry is kept on this page's clock: `expires_in` counted from the answer's arrival (the
//! worker's `expires_at` is on the worker's clock, and a page's clock can be hours off).
//! And whatever the clock says, a refresh that the clock prompts (the timer, or a call
//! finding the token stale) comes at least [`MIN_REFRESH_INTERVAL_MS`] after the last
//! successful one of the grant; a token X refuses (401) is refreshed at once.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{BroadcastChannel, MessageEvent};
use xauth_core::{AccessToken, CsrfToken, RefreshToken, TokenTypeHint};

use crate::error::{Error, Kind};
use crate::js::Shared;
pub(crate) use crate::options::KeeperOptions;
use crate::store::StorageKind;
use crate::{http, js};

/// How long a tab whose refresh X refused as spent waits for the tokens of the tab that
/// spent it before it gives up on them: a refresh through the worker takes well under this.
const HANDOVER_WAIT_MS: f64 = 2_000.0;
/// How long a tab waits, once it holds the lock, for the tokens of a tab that said it was
/// refreshing the same grant: past the worker's 10 s timeout for X, with room to spare. A
/// holder that went away (tab closed) releases the lock without a word; then this tab
/// refreshes itself.
const PEER_WAIT_MS: f64 = 15_000.0;
/// How often those waits look again.
const POLL_MS: i32 = 25;
/// setTimeout's largest delay (about 24.8 days); later expiries are re-armed on the way.
const MAX_TIMER_MS: f64 = 2_147_483_647.0;
/// A timer fires this long after the token turns stale, so it never finds it still fresh.
const TIMER_MARGIN_MS: f64 = 1_000.0;
/// After a refresh by the timer failed (and was told to the hooks), the next try is this
/// much later, not at once: a worker or X that is down is not hammered.
const TIMER_RETRY_MS: f64 = 30_000.0;
/// The least time (30 s, on the monotonic clock) between a successful refresh of a grant,
/// in this tab or adopted from another, and the next refresh that the clock prompts. A
/// clock that jumps, or tokens that live shorter than `refreshSkewSeconds`, would
/// otherwise make every token stale on arrival and the timer refresh back to back, each
/// one a rotation at X. X's tokens live two hours; the emulator's in `cargo xtask dev`
/// 90 s, refreshed every 31 s with the default skew, so neither is slowed down.
const MIN_REFRESH_INTERVAL_MS: f64 = 30_000.0;

/// A session's tokens (`Debug` shows them as `[redacted]`).
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    /// Unix seconds.
    pub(crate) expires_at: Option<f64>,
    pub(crate) scope: Option<String>,
}

impl Tokens {
    /// From the worker's token answer, also the stored record
    /// (`{access_token, expires_in?, expires_at?, scope?, refresh_token?}`). `expires_in`
    /// counts from `now_ms`, the answer's arrival on this page's clock, and wins over
    /// `expires_at`, which the worker set by its own clock; a stored record has only the
    /// `expires_at` computed here.
    pub(crate) fn from_answer(answer: &JsValue, now_ms: f64) -> Option<Tokens> {
        Self::read(
            answer,
            ["access_token", "refresh_token", "expires_at", "scope"],
            js::get_number(answer, "expires_in").map(|secs| floor(now_ms / 1000.0) + secs),
        )
    }

    /// From what the app kept of an `onTokenUpdate` (`{accessToken, refreshToken?,
    /// expiresAt?, scope?}`).
    pub(crate) fn from_app(tokens: &JsValue) -> Option<Tokens> {
        Self::read(
            tokens,
            ["accessToken", "refreshToken", "expiresAt", "scope"],
            None,
        )
    }

    fn read(
        value: &JsValue,
        [access, refresh, expires_at, scope]: [&str; 4],
        expires_in: Option<f64>,
    ) -> Option<Tokens> {
        let text = |key| js::get_string(value, key).filter(|t| !t.is_empty());
        Some(Tokens {
            access: AccessToken::new(text(access)?),
            refresh: text(refresh).map(RefreshToken::new),
            // From `expires_in` on this page's clock when given, else `expires_at`.
            expires_at: expires_in.or_else(|| js::get_number(value, expires_at)),
            scope: text(scope),
        })
    }

    /// The stored record: the worker's field names, plus the user (the keeper adds the
    /// grant's id and rotation).
    pub(crate) fn record(&self, user: &JsValue) -> Object {
        let record = self.object(["access_token", "refresh_token", "expires_at", "scope"]);
        if !user.is_undefined() {
            js::set(&record, "user", user);
        }
        record
    }

    /// What `onTokenUpdate` gets, and `resumeSession` takes back.
    fn for_app(&self) -> Object {
        self.object(["accessToken", "refreshToken", "expiresAt", "scope"])
    }

    fn object(&self, [access, refresh, expires_at, scope]: [&str; 4]) -> Object {
        let object = js::object(&[(access, self.access.secret())]);
        js::set_opt_str(
            &object,
            refresh,
            self.refresh.as_ref().map(RefreshToken::secret),
        );
        if let Some(at) = self.expires_at {
            js::set(&object, expires_at, &JsValue::from_f64(at));
        }
        js::set_opt_str(&object, scope, self.scope.as_deref());
        object
    }

    /// The token that names this grant in storage and between tabs: the refresh token, or
    /// the access token when there is none.
    fn grant(&self) -> &str {
        self.refresh
            .as_ref()
            .map_or(self.access.secret(), RefreshToken::secret)
    }

    fn is_stale(&self, skew_secs: f64) -> bool {
        // Seconds fit a u64 for the next few hundred billion years; `as` saturates.
        let expires_at = self.expires_at.map(|at| at.max(0.0) as u64);
        let now = (js_sys::Date::now() / 1000.0) as u64;
        xauth_core::needs_refresh(expires_at, now, skew_secs as u64)
    }
}

/// Why a session ended, as `onSignedOut` gets it.
#[derive(Clone, Copy)]
pub(crate) enum EndReason {
    /// `signOut()` in this tab.
    SignOut,
    /// Signed out in another tab of the same session.
    SignedOutElsewhere,
    /// Replaced by another sign-in in another tab (`storage: "local"`); the app is told
    /// `signed_out_elsewhere`.
    Replaced,
    /// X no longer accepts the refresh token: the user must sign in again.
    Reauthorize,
    /// The access token expired or was refused and there is no refresh token.
    Expired,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignOut => "sign_out",
            Self::SignedOutElsewhere | Self::Replaced => "signed_out_elsewhere",
            Self::Reauthorize => "reauthorize",
            Self::Expired => "expired",
        }
    }
}

/// One session's tokens and their upkeep.
pub(crate) struct Keeper {
    /// The worker's base URL without a trailing `/`.
    endpoint: String,
    options: KeeperOptions,
    state: Shared<State>,
}

struct State {
    /// `None` once the session has ended; never set again after that.
    tokens: Option<Tokens>,
    /// `{id, name, username}` or `undefined`.
    user: JsValue,
    /// The grant's id, the same in every tab and after every refresh (see the module
    /// docs), and how many refreshes it has had.
    grant_id: String,
    rotation: f64,
    /// When the tokens were last replaced by a successful refresh (here or in another
    /// tab), on the monotonic clock: the floor for the next refresh the clock prompts.
    renewed_at: Option<f64>,
    /// The refresh under way in this tab, which every caller waits on.
    refreshing: Option<Promise>,
    /// Another tab said it is refreshing this grant and has not handed over yet. Messages
    /// and the lock travel separately, so a tab can get the lock before it hears the news.
    peer_refreshing: bool,
    /// The refresh-ahead timer (setTimeout's handle and its callback).
    timer: Option<(i32, Closure<dyn FnMut()>)>,
    /// The other tabs' news, and its handler.
    channel: Option<(BroadcastChannel, MessageHandler)>,
}

type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

impl Keeper {
    /// Starts keeping `tokens` (stores them, listens to other tabs, arms the timer).
    ///
    /// When the stored record holds these tokens' grant (a restored session, or the stored
    /// tokens resumed), the session goes on as that grant. Otherwise it is a new grant,
    /// which replaces the stored session, if any: with `storage: "local"`, that grant is
    /// revoked (it may have no tab left to do it) and its tabs are told.
    pub(crate) fn start(
        endpoint: &str,
        options: &KeeperOptions,
        tokens: Tokens,
        user: JsValue,
    ) -> Rc<Keeper> {
        let record = options.storage.load_session();
        let stored = record.as_ref().and_then(|r| Tokens::from_answer(r, 0.0));
        let same_grant = stored.as_ref().is_some_and(|s| s.grant() == tokens.grant());
        let kept = record
            .as_ref()
            .filter(|_| same_grant)
            .and_then(|r| Some((js::get_string(r, "grant_id")?, r)));
        let (grant_id, rotation) = match kept {
            Some((id, record)) => (id, js::get_number(record, "rotation").unwrap_or(0.0)),
            None => (new_grant_id(), 0.0),
        };
        let keeper = Rc::new(Keeper {
            endpoint: endpoint.to_owned(),
            options: options.clone(),
            state: Shared::new(State {
                tokens: Some(tokens),
                user,
                grant_id,
                rotation,
                renewed_at: None,
                refreshing: None,
                peer_refreshing: false,
                timer: None,
                channel: None,
            }),
        });
        if let Some(tokens) = keeper.tokens() {
            options.storage.store_session(&keeper.record(&tokens));
        }
        keeper.listen();
        if let (false, Some(replaced), true) = (same_grant, stored, keeper.shares_tabs()) {
            keeper.revoke_late(&replaced);
            if let Some(id) = record.as_ref().and_then(|r| js::get_string(r, "grant_id")) {
                keeper.post(
                    &js::object(&[("type", "replaced"), ("grant_id", &id)]),
                    None,
                );
            }
        }
        keeper.arm_timer(0.0);
        keeper
    }

    /// Whether this session is shared with the origin's other tabs (`storage: "local"`).
    fn shares_tabs(&self) -> bool {
        self.options.storage == StorageKind::Local
    }

    /// The record kept in storage and handed to other tabs: the tokens, the user, the
    /// grant's id and rotation.
    fn record(&self, tokens: &Tokens) -> Object {
        let state = self.state.borrow();
        let record = tokens.record(&state.user);
        js::set(&record, "grant_id", &JsValue::from_str(&state.grant_id));
        js::set(&record, "rotation", &JsValue::from_f64(state.rotation));
        record
    }

    /// How long until the clock may prompt a refresh again ([`MIN_REFRESH_INTERVAL_MS`]
    /// after the last successful one); 0 when it may now.
    fn floor_left_ms(&self) -> f64 {
        self.state.borrow().renewed_at.map_or(0.0, |at| {
            (at + MIN_REFRESH_INTERVAL_MS - monotonic_ms()).max(0.0)
        })
    }

    /// The name of the Web Lock and the BroadcastChannel by which this origin's tabs
    /// refresh one worker's sessions together.
    fn coordination_name(&self) -> String {
        let mut name = String::from("xauth:refresh:");
        name.push_str(&self.endpoint);
        name
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn options(&self) -> &KeeperOptions {
        &self.options
    }

    /// The tokens, or `None` once the session has ended.
    pub(crate) fn tokens(&self) -> Option<Tokens> {
        self.state.borrow().tokens.clone()
    }

    pub(crate) fn user(&self) -> JsValue {
        self.state.borrow().user.clone()
    }

    /// The tokens, or the `signed_out` error.
    fn current(&self) -> Result<Tokens, JsValue> {
        self.tokens().ok_or_else(|| Error::signed_out().into())
    }

    /// The access token to send now: after the refresh under way, if any, and refreshed
    /// first when it is stale, unless the last refresh was less than
    /// [`MIN_REFRESH_INTERVAL_MS`] ago (if X refuses it, the 401 brings the refresh).
    pub(crate) async fn token_to_send(self: &Rc<Self>) -> Result<AccessToken, JsValue> {
        self.settled().await;
        let tokens = self.current()?;
        if tokens.refresh.is_some()
            && tokens.is_stale(self.options.skew_secs)
            && self.floor_left_ms() <= 0.0
        {
            return self.refresh_replacing(&tokens.access).await;
        }
        Ok(tokens.access)
    }

    /// Waits for the refresh under way in this tab, if any, whatever its outcome.
    pub(crate) async fn settled(&self) {
        let refreshing = self.state.borrow().refreshing.clone();
        if let Some(refreshing) = refreshing {
            let _ = JsFuture::from(refreshing).await;
        }
    }

    /// A successor of `stale` (which X refused or which is about to expire): the one a
    /// refresh under way brings, the one already in place if `stale` was replaced
    /// meanwhile, or else one from a new refresh.
    pub(crate) async fn refresh_replacing(
        self: &Rc<Self>,
        stale: &AccessToken,
    ) -> Result<AccessToken, JsValue> {
        if let Some(refreshing) = self.refresh_to_wait_for(stale)? {
            JsFuture::from(refreshing).await?;
        }
        Ok(self.current()?.access)
    }

    fn refresh_to_wait_for(
        self: &Rc<Self>,
        stale: &AccessToken,
    ) -> Result<Option<Promise>, JsValue> {
        {
            let state = self.state.borrow();
            if let Some(refreshing) = &state.refreshing {
                return Ok(Some(refreshing.clone()));
            }
            let tokens = state.tokens.as_ref().ok_or_else(Error::signed_out)?;
            if tokens.access.secret() != stale.secret() {
                return Ok(None);
            }
        }
        // The task starts on a later microtask, after `refreshing` is set below.
        let keeper = Rc::clone(self);
        let stale = stale.clone();
        let refreshing = js::promise(Box::pin(async move {
            let outcome = keeper.refresh_among_tabs(&stale).await;
            keeper.state.borrow_mut().refreshing = None;
            outcome.map(|()| JsValue::UNDEFINED)
        }));
        self.state.borrow_mut().refreshing = Some(refreshing.clone());
        Ok(Some(refreshing))
    }

    async fn refresh_among_tabs(self: &Rc<Self>, stale: &AccessToken) -> Result<(), JsValue> {
        let Some(locks) = self.shares_tabs().then(js::lock_manager).flatten() else {
            return self.refresh_once(stale, false).await;
        };
        let keeper = Rc::clone(self);
        let stale = stale.clone();
        js::with_lock(
            &locks,
            &self.coordination_name(),
            Box::pin(async move {
                keeper.refresh_once(&stale, true).await?;
                Ok(JsValue::UNDEFINED)
            }),
        )
        .await
        .map(drop)
    }

    /// One refresh of `stale`'s grant, unless another tab did it first.
    async fn refresh_once(
        self: &Rc<Self>,
        stale: &AccessToken,
        locked: bool,
    ) -> Result<(), JsValue> {
        if locked {
            self.wait_for_handover(stale, PEER_WAIT_MS, true).await;
        }
        self.adopt_stored();
        let tokens = self.current()?;
        if tokens.access.secret() != stale.secret() {
            return Ok(());
        }
        let Some(refresh) = tokens.refresh else {
            let error = Error::with_kind(
                "refresh_failed",
                "X refused the access token and the session has no refresh token \
                 (scope offline.access); sign in again",
                Kind::Reauthorize,
            );
            return Err(self.end(EndReason::Expired, Some(error.into())));
        };
        if locked {
            self.post(
                &js::object(&[("type", "refreshing"), ("grant", refresh.secret())]),
                None,
            );
        }
        match self.request_refresh(&refresh).await {
            Ok(answer) => self.accept(&answer, &refresh).await,
            Err(error) if error.kind() == Some(Kind::Reauthorize) => {
                // Another tab may have won a race with the same refresh token (X then says
                // it is spent): its tokens are this session's now.
                if self.shares_tabs() {
                    self.wait_for_handover(stale, HANDOVER_WAIT_MS, false).await;
                    self.adopt_stored();
                }
                let adopted = self
                    .tokens()
                    .is_some_and(|now| now.grant() != refresh.secret());
                if adopted {
                    return Ok(());
                }
                Err(self.end(EndReason::Reauthorize, Some(error.into())))
            }
            Err(error) => {
                self.post(
                    &js::object(&[("type", "refresh_failed"), ("grant", refresh.secret())]),
                    None,
                );
                let error = JsValue::from(error);
                self.notify(self.options.on_token_refresh_error.as_ref(), &error);
                Err(error)
            }
        }
    }

    /// Waits up to `max_ms` for another tab's tokens to replace `stale` (by message, or in
    /// localStorage); with `only_if_announced`, only while a tab said it is refreshing.
    async fn wait_for_handover(
        self: &Rc<Self>,
        stale: &AccessToken,
        max_ms: f64,
        only_if_announced: bool,
    ) {
        let deadline = js_sys::Date::now() + max_ms;
        loop {
            let (replaced, waiting) = {
                let state = self.state.borrow();
                let replaced = state
                    .tokens
                    .as_ref()
                    .is_none_or(|now| now.access.secret() != stale.secret());
                (replaced, !only_if_announced || state.peer_refreshing)
            };
            if replaced || !waiting || js_sys::Date::now() >= deadline {
                break;
            }
            js::sleep(POLL_MS).await;
            self.adopt_stored();
        }
        self.state.borrow_mut().peer_refreshing = false;
    }

    async fn request_refresh(&self, refresh: &RefreshToken) -> Result<JsValue, Error> {
        let mut url = self.endpoint.clone();
        url.push_str("/twitter-refresh-token");
        let reply = http::post(&url, &js::object(&[("refreshToken", refresh.secret())])).await?;
        if reply.is_success() {
            Ok(reply.body)
        } else {
            Err(Error::from_worker(
                "refresh_failed",
                "the worker could not refresh the tokens",
                reply.status,
                &reply.body,
            ))
        }
    }

    /// Takes the worker's answer to a refresh of `spent`: stored first (the old refresh
    /// token is dead now), then `onTokenUpdate` is awaited, then the tokens are used and
    /// handed to the other tabs.
    async fn accept(
        self: &Rc<Self>,
        answer: &JsValue,
        spent: &RefreshToken,
    ) -> Result<(), JsValue> {
        let Some(mut tokens) = Tokens::from_answer(answer, js_sys::Date::now()) else {
            let error: JsValue =
                Error::invalid_response("the worker's refresh answer has no access_token").into();
            self.notify(self.options.on_token_refresh_error.as_ref(), &error);
            return Err(error);
        };
        // RFC 6749 §6: a server may keep the refresh token; X always rotates it.
        tokens.refresh.get_or_insert_with(|| spent.clone());
        if self.tokens().is_none() {
            // Signed out while the refresh was on its way: the new grant is revoked too.
            self.revoke_late(&tokens);
            return Err(Error::signed_out().into());
        }
        {
            let mut state = self.state.borrow_mut();
            state.rotation += 1.0;
            state.renewed_at = Some(monotonic_ms());
        }
        let record = self.record(&tokens);
        self.options.storage.store_session(&record);
        self.announce(&tokens).await;
        if self.tokens().is_none() {
            self.options.storage.forget_session_holding(tokens.grant());
            self.revoke_late(&tokens);
            return Err(Error::signed_out().into());
        }
        self.post(
            &js::object(&[("type", "tokens"), ("replaces", spent.secret())]),
            Some(&record),
        );
        self.install(tokens);
        Ok(())
    }

    /// Awaits `onTokenUpdate(tokens)`; what it throws goes to `onTokenRefreshError` (the
    /// tokens are used anyway: the ones they replace may be spent already).
    pub(crate) async fn announce(&self, tokens: &Tokens) {
        if let Some(hook) = &self.options.on_token_update
            && let Err(thrown) = js::call_awaited(hook, &tokens.for_app()).await
        {
            let error = Error::hook_failed("onTokenUpdate", &thrown).into();
            self.notify(self.options.on_token_refresh_error.as_ref(), &error);
        }
    }

    /// Looks at the session another tab stored (`storage: "local"`): a later rotation of
    /// this tab's grant is adopted (another tab refreshed it), an earlier one ignored (a
    /// late view of localStorage), and another grant ends this session: another sign-in
    /// replaced it, and this tab must not go on as that one.
    fn adopt_stored(self: &Rc<Self>) {
        if !self.shares_tabs() {
            return;
        }
        let Some(record) = self.options.storage.load_session() else {
            return;
        };
        let Some(stored) = Tokens::from_answer(&record, js_sys::Date::now()) else {
            return;
        };
        let (same_tokens, same_grant, later) = {
            let state = self.state.borrow();
            let Some(mine) = &state.tokens else {
                return;
            };
            (
                mine.grant() == stored.grant(),
                js::get_string(&record, "grant_id").as_deref() == Some(state.grant_id.as_str()),
                js::get_number(&record, "rotation").is_some_and(|r| r > state.rotation),
            )
        };
        if same_tokens {
            return;
        }
        if !same_grant {
            self.replaced();
        } else if later {
            self.adopt(&record);
        }
    }

    /// Takes over the tokens of `record`, a successor of this grant another tab got;
    /// `onTokenUpdate` is told (that tab already awaited its own).
    fn adopt(self: &Rc<Self>, record: &JsValue) {
        let Some(tokens) = Tokens::from_answer(record, js_sys::Date::now()) else {
            return;
        };
        if self.tokens().is_none() {
            return;
        }
        let mut state = self.state.borrow_mut();
        state.peer_refreshing = false;
        state.rotation = js::get_number(record, "rotation").unwrap_or(state.rotation + 1.0);
        if let Some(id) = js::get_string(record, "grant_id") {
            state.grant_id = id;
        }
        state.renewed_at = Some(monotonic_ms());
        drop(state);
        self.notify(self.options.on_token_update.as_ref(), &tokens.for_app());
        self.install(tokens);
    }

    /// Another sign-in took this session's place in storage: it ends here
    /// (`signed_out_elsewhere`), and its grant, which no tab will use again, is revoked.
    fn replaced(&self) {
        if let Some(tokens) = self.tokens() {
            self.end(EndReason::Replaced, None);
            self.revoke_late(&tokens);
        }
    }

    fn install(self: &Rc<Self>, tokens: Tokens) {
        let mut state = self.state.borrow_mut();
        if state.tokens.is_some() {
            state.tokens = Some(tokens);
        }
        drop(state);
        self.arm_timer(0.0);
    }

    /// Ends the session once: forgets the tokens here and in storage, stops the timer,
    /// tells the other tabs and the app (`onTokenRefreshError` with `error`, then
    /// `onSignedOut`). Returns the tokens it ended with, or the error to reject with.
    fn end(&self, reason: EndReason, error: Option<JsValue>) -> JsValue {
        let ended = self.state.borrow_mut().tokens.take();
        if let Some(tokens) = ended {
            // A replaced session's record is gone already, and this tab's view of
            // localStorage may lag behind the message that said so: deleting what it
            // still shows as this grant's would delete the new sign-in's.
            if !matches!(reason, EndReason::Replaced) {
                self.options.storage.forget_session_holding(tokens.grant());
            }
            if !matches!(reason, EndReason::SignedOutElsewhere | EndReason::Replaced) {
                self.post(
                    &js::object(&[("type", "signed_out"), ("grant", tokens.grant())]),
                    None,
                );
            }
            self.stop();
            if let Some(error) = &error {
                self.notify(self.options.on_token_refresh_error.as_ref(), error);
            }
            self.notify(self.options.on_signed_out.as_ref(), &reason.as_str().into());
        }
        error.unwrap_or_else(|| Error::signed_out().into())
    }

    /// `signOut()`: ends the session; the tokens to revoke, unless it had already ended.
    pub(crate) fn sign_out(&self) -> Option<Tokens> {
        let tokens = self.tokens()?;
        self.end(EndReason::SignOut, None);
        Some(tokens)
    }

    /// Stops the timer and closes the channel: an ended (or dropped) session has nothing
    /// to keep.
    fn stop(&self) {
        let mut state = self.state.borrow_mut();
        if let (Some((handle, _)), Some(window)) = (state.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(handle);
        }
        if let Some((channel, _)) = &state.channel {
            // The handler itself is dropped with the keeper, never while it may be running.
            channel.set_onmessage(None);
            channel.close();
        }
    }

    /// Revokes the grant of tokens that arrived after sign-out.
    fn revoke_late(&self, tokens: &Tokens) {
        let endpoint = self.endpoint.clone();
        let tokens = tokens.clone();
        spawn_local(async move {
            let _ = revoke(&endpoint, &tokens).await;
        });
    }

    /// Calls an app hook that is not awaited; what it throws is its own business, but it
    /// must not break the keeper.
    fn notify(&self, hook: Option<&Function>, argument: &JsValue) {
        if let Some(hook) = hook {
            let _ = hook.call1(&JsValue::UNDEFINED, argument);
        }
    }

    /// Sends `message` (plus a tokens' record) to the other tabs.
    fn post(&self, message: &Object, record: Option<&Object>) {
        let state = self.state.borrow();
        let Some((channel, _)) = &state.channel else {
            return;
        };
        if let Some(record) = record {
            js::set(message, "record", record);
        }
        let _ = channel.post_message(message);
    }

    /// Opens the channel to the origin's other tabs, with `storage: "local"` only: a
    /// session kept in memory or sessionStorage is this tab's alone, and its tokens are
    /// not told to every listener of the origin. None where BroadcastChannel is missing:
    /// each tab then keeps its session alone.
    fn listen(self: &Rc<Self>) {
        if !self.shares_tabs() {
            return;
        }
        let Ok(channel) = BroadcastChannel::new(&self.coordination_name()) else {
            return;
        };
        let keeper = Rc::downgrade(self);
        let handler = MessageHandler::new(move |event: MessageEvent| {
            if let Some(keeper) = keeper.upgrade() {
                keeper.on_message(&event.data());
            }
        });
        channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        self.state.borrow_mut().channel = Some((channel, handler));
    }

    /// Another tab refreshed this grant (adopt its tokens), signed it out (end here too)
    /// or replaced it with another sign-in (end, and revoke it).
    fn on_message(self: &Rc<Self>, message: &JsValue) {
        let Some(mine) = self.tokens() else {
            return;
        };
        let about = |key| js::get_string(message, key).is_some_and(|t| t == mine.grant());
        let grant_id = self.state.borrow().grant_id.clone();
        match js::get_string(message, "type").as_deref() {
            Some("tokens") if about("replaces") => self.adopt(&js::get(message, "record")),
            Some("signed_out") if about("grant") => {
                self.end(EndReason::SignedOutElsewhere, None);
            }
            Some("replaced") if js::get_string(message, "grant_id") == Some(grant_id) => {
                self.replaced();
            }
            Some("refreshing") if about("grant") => {
                self.state.borrow_mut().peer_refreshing = true;
            }
            Some("refresh_failed") if about("grant") => {
                self.state.borrow_mut().peer_refreshing = false;
            }
            _ => {}
        }
    }

    /// Arms the timer that refreshes shortly before expiry (`autoRefresh`, default on), not
    /// sooner than `not_before_ms` from now, replacing the previous one. No timer without a
    /// refresh token, a known expiry or a window (setTimeout is the window's; nothing here
    /// assumes Node's timers).
    fn arm_timer(self: &Rc<Self>, not_before_ms: f64) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let mut state = self.state.borrow_mut();
        if let Some((handle, _)) = state.timer.take() {
            window.clear_timeout_with_handle(handle);
        }
        let Some(tokens) = state.tokens.as_ref() else {
            return;
        };
        let (Some(expires_at), Some(_), true) = (
            tokens.expires_at,
            &tokens.refresh,
            self.options.auto_refresh,
        ) else {
            return;
        };
        let stale_at_ms = (expires_at - self.options.skew_secs) * 1000.0;
        let floor_ms = state.renewed_at.map_or(0.0, |at| {
            at + MIN_REFRESH_INTERVAL_MS - monotonic_ms() + TIMER_MARGIN_MS
        });
        let delay = (stale_at_ms - js_sys::Date::now() + TIMER_MARGIN_MS)
            .max(not_before_ms)
            .max(floor_ms)
            .clamp(0.0, MAX_TIMER_MS);
        let keeper: Weak<Keeper> = Rc::downgrade(self);
        let callback = Closure::<dyn FnMut()>::new(move || {
            let Some(keeper) = keeper.upgrade() else {
                return;
            };
            // Off the timer's stack: re-arming drops this closure.
            spawn_local(async move {
                // Refreshes only if still stale; failures went to the hooks already.
                let retry_in = match keeper.token_to_send().await {
                    Ok(_) => 0.0,
                    Err(_) => TIMER_RETRY_MS,
                };
                keeper.arm_timer(retry_in);
            });
        });
        if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            delay as i32,
        ) {
            state.timer = Some((handle, callback));
        }
    }
}

/// `x.floor()` (core has no `f64::floor` without std): exact for |x| < 2^63, which
/// milliseconds and seconds since 1970 are.
fn floor(x: f64) -> f64 {
    // `as` saturates; the result is the integer part, one less for negative fractions.
    let whole = x as i64 as f64;
    if whole > x { whole - 1.0 } else { whole }
}

/// A new grant's id: random, so that no two sign-ins share one.
fn new_grant_id() -> String {
    CsrfToken::generate()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default()
}

/// Milliseconds on the page's monotonic clock (`performance.now()`), which no change of
/// the system clock moves; `Date.now()` where there is none.
fn monotonic_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(js_sys::Date::now, |performance| performance.now())
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `POST <endpoint>/twitter-revoke-token` for the grant of `tokens`: its refresh token if
/// any (X then revokes the access token with it), else its access token.
pub(crate) async fn revoke(endpoint: &str, tokens: &Tokens) -> Result<(), Error> {
    let hint = if tokens.refresh.is_some() {
        TokenTypeHint::RefreshToken
    } else {
        TokenTypeHint::AccessToken
    };
    let mut url = String::from(endpoint);
    url.push_str("/twitter-revoke-token");
    let body = js::object(&[("token", tokens.grant()), ("tokenTypeHint", hint.as_str())]);
    let reply = http::post(&url, &body).await?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(Error::from_worker(
            "revoke_failed",
            "signed out here, but the worker could not revoke the token",
            reply.status,
            &reply.body,
        ))
    }
}
