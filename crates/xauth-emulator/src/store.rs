//! The emulator's memory: codes, tokens, call counters and pending faults.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::{EmulatorConfig, User};

/// Configuration plus mutable state, shared by every handler.
pub(crate) struct Shared {
    pub config: EmulatorConfig,
    store: Mutex<Store>,
}

impl Shared {
    pub fn new(config: EmulatorConfig) -> Self {
        Self {
            config,
            store: Mutex::new(Store::default()),
        }
    }

    /// The state; a panicking handler cannot poison it for the others.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user a grant authorized now is for: the last one `POST /__emulator/user` set,
    /// else the configured one. Locks the store: not while holding it (see
    /// [`Store::current_user`]).
    pub fn current_user(&self) -> User {
        self.store().current_user(&self.config)
    }

    /// The user with this id, among the configured one and those set since.
    pub fn known_user(&self, id: &str) -> Option<User> {
        if self.config.user.id == id {
            return Some(self.config.user.clone());
        }
        self.store().users.iter().find(|u| u.id == id).cloned()
    }
}

#[derive(Default)]
pub(crate) struct Store {
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, Refresh>,
    /// OAuth 1.0a request tokens, until traded for an access token or denied.
    pub request_tokens: HashMap<String, RequestToken>,
    /// OAuth 1.0a access tokens and their secrets.
    pub oauth1_access: HashMap<String, String>,
    /// OAuth 1.0a nonces seen, per (consumer key, nonce), with their timestamps.
    pub nonces: HashMap<(String, String), u64>,
    /// Consumer keys the user has approved: `/oauth/authenticate` skips the prompt for them.
    pub approved_consumers: HashSet<String>,
    /// The app-only bearer token, minted on the first request and then always the same.
    pub app_token: Option<String>,
    /// Posts made with `POST /2/tweets` and not deleted, oldest first.
    pub posts: Vec<Post>,
    /// The user for grants authorized from now on (`POST /__emulator/user`); `None`: the
    /// configured one.
    pub user: Option<User>,
    /// Every user set that way, for `GET /2/users/:id`.
    pub users: Vec<User>,
    /// How many posts were ever made: the next post's id is [`FIRST_POST_ID`] plus this.
    posts_made: u64,
    pub stats: Stats,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
}

/// How the client proved possession of the verifier (RFC 7636 §4.3).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeMethod {
    S256,
    Plain,
}

/// An authorization code, issued by the consent step.
pub(crate) struct Code {
    pub redirect_uri: String,
    pub scope: String,
    pub challenge: String,
    pub method: ChallengeMethod,
    pub issued: Instant,
    pub used: bool,
    /// Who approved it: the tokens it buys act as this user.
    pub user: User,
}

pub(crate) struct Access {
    pub scope: String,
    pub expires: Instant,
    pub user: User,
}

pub(crate) struct Refresh {
    pub scope: String,
    /// The access token issued together with this refresh token.
    pub access: String,
    /// Its successors act as the same user.
    pub user: User,
}

/// An OAuth 1.0a request token (RFC 5849 §2.1).
pub(crate) struct RequestToken {
    pub secret: String,
    /// The consumer that asked for it.
    pub consumer: String,
    /// The callback URL; `None` for `oob` (the PIN flow).
    pub callback: Option<String>,
    /// Set when the user approves; `/oauth/access_token` must present it.
    pub verifier: Option<String>,
    /// Who approved it, set with the verifier: the access token is this user's.
    pub user: Option<User>,
}

/// A post made through the emulator, as `GET /__emulator/stats` lists it.
#[derive(Clone, Serialize)]
pub(crate) struct Post {
    pub id: String,
    pub text: String,
    /// Who posted it (not listed: the stats keep X's shape of a post).
    #[serde(skip)]
    pub author_id: String,
}

/// Where the emulator's post ids start: a 19-digit number, like X's snowflake ids today.
const FIRST_POST_ID: u64 = 1_860_000_000_000_000_001;

/// What a successful grant hands out.
pub(crate) struct Issued {
    pub access: String,
    pub refresh: Option<String>,
}

impl Store {
    /// [`Shared::current_user`], for a caller that holds the store.
    pub fn current_user(&self, config: &EmulatorConfig) -> User {
        self.user.clone().unwrap_or_else(|| config.user.clone())
    }

    /// Mints an access token for `user`, and a refresh token when the scope has
    /// `offline.access`.
    pub fn issue(&mut self, scope: &str, access_ttl: Duration, user: &User) -> Issued {
        let access = random_token(32);
        self.access.insert(
            access.clone(),
            Access {
                scope: scope.to_string(),
                expires: Instant::now() + access_ttl,
                user: user.clone(),
            },
        );
        let refresh = scope.split(' ').any(|s| s == "offline.access").then(|| {
            let refresh = random_token(48);
            self.refresh.insert(
                refresh.clone(),
                Refresh {
                    scope: scope.to_string(),
                    access: access.clone(),
                    user: user.clone(),
                },
            );
            refresh
        });
        Issued { access, refresh }
    }

    /// A live access token: its scope and user.
    pub fn live_access(&self, token: &str) -> Option<&Access> {
        self.access
            .get(token)
            .filter(|a| Instant::now() < a.expires)
    }

    /// Keeps a new post by `author_id` and returns it with its fresh id.
    pub fn add_post(&mut self, text: &str, author_id: &str) -> Post {
        let post = Post {
            id: (FIRST_POST_ID + self.posts_made).to_string(),
            text: text.to_string(),
            author_id: author_id.to_string(),
        };
        self.posts_made += 1;
        self.posts.push(post.clone());
        post
    }

    /// Takes the next pending fault for `endpoint`, if any.
    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let queue = self.faults.get_mut(&endpoint)?;
        let front = queue.front_mut()?;
        let fault = front.clone();
        front.count -= 1;
        if front.count == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    pub fn push_fault(&mut self, endpoint: Endpoint, fault: Fault) {
        if fault.count > 0 {
            self.faults.entry(endpoint).or_default().push_back(fault);
        }
    }

    /// Zeroes the counters, forgets the posts and drops pending faults; codes, tokens and
    /// the current user stay.
    pub fn reset(&mut self) {
        self.stats = Stats::default();
        self.posts.clear();
        self.faults.clear();
    }
}

/// Call counters, as `GET /__emulator/stats` shows them.
#[derive(Serialize)]
pub(crate) struct Stats {
    pub authorize: u64,
    pub authorize_decision: u64,
    pub token: u64,
    /// `authorization_code`, `refresh_token`, and `other` (missing or unsupported).
    pub token_by_grant: BTreeMap<&'static str, u64>,
    pub revoke: u64,
    pub users_me: u64,
    /// Authorization requests with `code_challenge_method=plain` (a client should never
    /// send one).
    pub pkce_plain: u64,
    /// OAuth 1.0a: `POST /oauth/request_token`.
    pub oauth1_request_token: u64,
    /// OAuth 1.0a: `GET /oauth/authorize` and `GET /oauth/authenticate`.
    pub oauth1_authorize: u64,
    /// OAuth 1.0a: the consent page's form, `POST /oauth/authorize`.
    pub oauth1_authorize_decision: u64,
    /// OAuth 1.0a: `POST /oauth/access_token`.
    pub oauth1_access_token: u64,
    /// App-only: `POST /oauth2/token`.
    pub app_token: u64,
    /// X API v2: `GET /2/tweets/:id`.
    pub tweets_lookup: u64,
    /// X API v2: `GET /2/users/:id`.
    pub users_lookup: u64,
    /// X API v2: `POST /2/tweets`.
    pub tweets_create: u64,
    /// X API v2: `DELETE /2/tweets/:id`.
    pub tweets_delete: u64,
    /// X API v2 requests (`/2/...` but not `/2/oauth2/...`) that carried a `Cookie` header:
    /// X's API takes none, and a proxy must not pass a browser's cookies on.
    pub api_requests_with_cookie: u64,
    /// Calls answered by an injected fault (including `slow` ones).
    pub faults_served: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            authorize: 0,
            authorize_decision: 0,
            token: 0,
            token_by_grant: ["authorization_code", "refresh_token", "other"]
                .into_iter()
                .map(|grant| (grant, 0))
                .collect(),
            revoke: 0,
            users_me: 0,
            pkce_plain: 0,
            oauth1_request_token: 0,
            oauth1_authorize: 0,
            oauth1_authorize_decision: 0,
            oauth1_access_token: 0,
            app_token: 0,
            tweets_lookup: 0,
            users_lookup: 0,
            tweets_create: 0,
            tweets_delete: 0,
            api_requests_with_cookie: 0,
            faults_served: 0,
        }
    }
}

/// The endpoints a fault can be injected into.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Endpoint {
    Token,
    Revoke,
    UsersMe,
    RequestToken,
    AccessToken,
    AppToken,
    TweetsLookup,
    UsersLookup,
    TweetsCreate,
    TweetsDelete,
}

/// How a faulted call fails.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum FaultMode {
    /// 500 with an X-style problem body.
    #[serde(rename = "500")]
    ServerError,
    /// 429 with `Retry-After: 7` and a spent rate limit.
    #[serde(rename = "429")]
    TooManyRequests,
    /// 401 with X's problem body "Unauthorized" (X no longer takes the token).
    #[serde(rename = "401")]
    Unauthorized,
    /// 403 with X's problem body "Forbidden".
    #[serde(rename = "403")]
    Forbidden,
    /// 200 with the non-JSON body `<html>oops`.
    #[serde(rename = "garbage")]
    Garbage,
    /// Waits `delay_ms`, then answers normally.
    #[serde(rename = "slow")]
    Slow,
    /// Drops the connection without an answer.
    #[serde(rename = "close")]
    Close,
    /// Answers normally (a token request is carried out, a refresh token rotated), but
    /// the body comes `delay_ms` after the headers.
    #[serde(rename = "slow_body")]
    SlowBody,
}

#[derive(Clone)]
pub(crate) struct Fault {
    pub mode: FaultMode,
    pub count: u32,
    pub delay: Duration,
}

/// A long, opaque, URL-safe token from the OS CSPRNG.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}
