//! The worker's configuration, read from wrangler's `[vars]` and secrets once per isolate
//! and environment ([`Config::of`]).
//!
//! Every value is validated here so that a handler never sees a half-configured worker:
//! a missing or invalid variable becomes a 500 that names the variable (never its value).

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;
use worker::wasm_bindgen::{JsCast, JsValue};
use xauth_core::{
    AccessToken, AuthorizeEndpoint, ClientAuth, ClientId, ClientSecret, ConsumerKey,
    ConsumerSecret, RedirectUri, Scope, Scopes,
};

use crate::error::ApiError;
use crate::public_reads::{self, DEFAULT_PUBLIC_READS, ReadPattern};
use crate::vault_key::{VaultKey, VaultKeys};

/// How long the worker waits for X before answering 502, unless `X_TIMEOUT_MS` says otherwise.
const DEFAULT_X_TIMEOUT_MS: u32 = 10_000;
/// The refresh token age at which a stored grant refreshes itself, unless
/// `XAUTH_KEEPALIVE_DAYS` says otherwise; X's refresh tokens last about six months.
const DEFAULT_KEEPALIVE_DAYS: f64 = 30.0;
/// The longest keep-alive allowed: X's refresh tokens last about six months (~180 days).
const MAX_KEEPALIVE_DAYS: f64 = 150.0;
const SECS_PER_DAY: f64 = 86_400.0;

/// Everything the routes need, validated.
#[derive(Debug)]
pub struct Config {
    pub client_id: ClientId,
    /// `None` makes the worker a public client: client_id in the body, no Basic header.
    pub client_secret: Option<ClientSecret>,
    /// The allowed redirect URIs; the first is the default.
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: Scopes,
    /// Exact origins (`scheme://host[:port]`) allowed to call the worker cross-origin.
    pub allowed_origins: Vec<String>,
    pub authorize_endpoint: AuthorizeEndpoint,
    /// X's API base without a trailing slash; token, revoke and users/me hang off it.
    pub x_api_url: String,
    pub x_timeout_ms: u32,
    /// OAuth 1.0a and app-only settings, read here but validated only by the routes that
    /// use them: they are optional, and their absence must not break the OAuth 2.0 routes.
    pub oauth1: OAuth1Vars,
    /// `TWITTER_API_PATHS`, raw; validated by [`Config::api_paths`] when the proxy needs it,
    /// so a bad value breaks only the proxy.
    api_paths: Option<String>,
    /// `XAUTH_TOKEN_CUSTODY`: who keeps the user's tokens.
    pub custody: Custody,
    /// `XAUTH_VAULT_KEY` and `XAUTH_VAULT_KEY_PREVIOUS`; always there in worker custody.
    vault_keys: Option<VaultKeys>,
    /// `XAUTH_KEEP_GRANTS`: a grant outlives its user's last browser session.
    pub keep_grants: bool,
    /// `XAUTH_KEEPALIVE_DAYS`, in seconds: the refresh token age at which a stored grant
    /// refreshes itself.
    pub keepalive_secs: u64,
    /// `XAUTH_SERVICE_TOKEN`, raw; validated by [`Config::service_token`] when a service
    /// route needs it, so a bad value breaks only the service API.
    service_token: Option<ServiceToken>,
}

/// The app's own back-end credential for the service API (`XAUTH_SERVICE_TOKEN`). `Debug`
/// prints `[redacted]`.
pub struct ServiceToken(String);

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceToken([redacted])")
    }
}

impl ServiceToken {
    /// The shortest service token accepted: 32 characters (`openssl rand -base64 32` gives
    /// 44), so guessing it is out of the question.
    pub const MIN_CHARS: usize = 32;

    /// Whether `presented` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let (ours, theirs) = (self.0.as_bytes(), presented.as_bytes());
        ours.len() == theirs.len() && bool::from(ours.ct_eq(theirs))
    }
}

/// Who keeps a signed-in user's tokens (`XAUTH_TOKEN_CUSTODY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Custody {
    /// The page does (the default, the SvelteKit split): the worker answers X's tokens.
    Browser,
    /// The worker does, in one Durable Object per user; the page holds a session cookie.
    Worker,
}

impl Custody {
    pub fn as_str(self) -> &'static str {
        match self {
            Custody::Browser => "browser",
            Custody::Worker => "worker",
        }
    }
}

/// The raw OAuth 1.0a / app-only variables; see [`Config::consumer`] and friends.
#[derive(Debug)]
pub struct OAuth1Vars {
    consumer_key: Option<String>,
    /// Redacting from the start, though not yet validated.
    consumer_secret: Option<ConsumerSecret>,
    bearer_token: Option<AccessToken>,
    return_tokens: Option<String>,
    public_read_paths: Option<String>,
}

/// The app's OAuth 1.0a consumer credentials ("API Key" and "API Key Secret"), validated.
#[derive(Debug)]
pub struct Consumer {
    pub key: ConsumerKey,
    pub secret: ConsumerSecret,
}

/// How the worker gets an app-only bearer token.
#[derive(Debug)]
pub enum AppCredentials {
    /// `TWITTER_BEARER_TOKEN`: used as is, never refetched.
    Static(AccessToken),
    /// No bearer token configured: the client credentials grant with the consumer's key
    /// and secret.
    ClientCredentials(Consumer),
}

/// The X API v2 path prefixes the worker forwards with the caller's own bearer token,
/// unless `TWITTER_API_PATHS` says otherwise: who signed in, users, and posts.
const DEFAULT_API_PATHS: &str = "users/me users tweets";

/// The longest bearer token the worker passes on. X's are about 100 characters; the bound
/// only keeps junk out of X's logs.
const MAX_BEARER_TOKEN_CHARS: usize = 4096;

/// How many environments the per-isolate cache keeps: the worker's, and a Durable
/// Object's when workerd hands it another object.
const CACHED_ENVIRONMENTS: usize = 4;

thread_local! {
    /// The configuration of each environment this isolate has seen, by the identity of its
    /// `env` object. workerd hands every request of an isolate the same `env`, and its
    /// variables cannot change under it (new variables come with new isolates); any other
    /// `env` is read and validated anew. A configuration that fails is not kept.
    static CACHE: RefCell<Vec<(JsValue, Rc<Config>)>> = const { RefCell::new(Vec::new()) };
}

impl Config {
    /// The configuration of `env`: read and validated on the first request of the isolate
    /// that brings this `env`, then kept for the isolate's life. A problem is reported
    /// (and looked for again) on every request.
    pub fn of(env: &Env) -> Result<Rc<Config>, ApiError> {
        let env: &JsValue = env.as_ref();
        let cached = CACHE.with_borrow(|cache| {
            cache
                .iter()
                .find(|(seen, _)| seen == env)
                .map(|(_, config)| Rc::clone(config))
        });
        if let Some(config) = cached {
            return Ok(config);
        }
        let config = Rc::new(Config::from_env(env.unchecked_ref())?);
        CACHE.with_borrow_mut(|cache| {
            if cache.len() == CACHED_ENVIRONMENTS {
                cache.remove(0);
            }
            cache.push((env.clone(), Rc::clone(&config)));
        });
        Ok(config)
    }

    /// Reads and validates every variable; the first problem found is reported.
    fn from_env(env: &Env) -> Result<Config, ApiError> {
        let client_id = required(env, "TWITTER_CLIENT_ID")?;
        let client_secret = optional(env, "TWITTER_CLIENT_SECRET")
            .map(|secret| {
                if secret.trim().is_empty() {
                    Err(ApiError::misconfigured(
                        "TWITTER_CLIENT_SECRET",
                        "is set but empty; delete it to run as a public client",
                    ))
                } else {
                    Ok(ClientSecret::new(secret))
                }
            })
            .transpose()?;
        let redirect_uris = parse_redirect_uris(&required(env, "TWITTER_REDIRECT_URI")?)?;
        let scopes = Scopes::parse(&required(env, "TWITTER_SCOPES")?)
            .map_err(|e| ApiError::misconfigured("TWITTER_SCOPES", &e.to_string()))?;
        let allowed_origins = parse_origins(&optional(env, "ALLOWED_ORIGINS").unwrap_or_default())?;
        let authorize_endpoint = match optional(env, "X_AUTHORIZE_URL") {
            Some(url) => AuthorizeEndpoint::parse(url.trim())
                .map_err(|e| ApiError::misconfigured("X_AUTHORIZE_URL", &e.to_string()))?,
            None => AuthorizeEndpoint::default(),
        };
        let x_api_url = match optional(env, "X_API_URL") {
            Some(url) => parse_api_url(&url)?,
            None => xauth_core::X_API_URL.to_owned(),
        };
        let x_timeout_ms = match optional(env, "X_TIMEOUT_MS") {
            Some(ms) => ms
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|ms| (1..=60_000).contains(ms))
                .ok_or_else(|| {
                    ApiError::misconfigured("X_TIMEOUT_MS", "must be milliseconds from 1 to 60000")
                })?,
            None => DEFAULT_X_TIMEOUT_MS,
        };
        let custody = match optional(env, "XAUTH_TOKEN_CUSTODY")
            .as_deref()
            .map(str::trim)
        {
            None | Some("" | "browser") => Custody::Browser,
            Some("worker") => Custody::Worker,
            Some(_) => {
                return Err(ApiError::misconfigured(
                    "XAUTH_TOKEN_CUSTODY",
                    "must be browser or worker",
                ));
            }
        };
        let vault_keys = vault_keys(env, custody)?;
        // Worker custody stores each grant in its user's object: it must learn who signed
        // in, and X's users/me needs both scopes.
        if custody == Custody::Worker
            && !(scopes.contains(Scope::UsersRead) && scopes.contains(Scope::TweetRead))
        {
            return Err(ApiError::misconfigured(
                "TWITTER_SCOPES",
                "must include users.read and tweet.read in worker custody (the worker asks X who signed in)",
            ));
        }
        let keep_grants = match optional(env, "XAUTH_KEEP_GRANTS").as_deref().map(str::trim) {
            None | Some("" | "false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::misconfigured(
                    "XAUTH_KEEP_GRANTS",
                    "must be true or false",
                ));
            }
        };
        let keepalive_secs = keepalive_secs(optional(env, "XAUTH_KEEPALIVE_DAYS").as_deref())?;
        Ok(Config {
            client_id: ClientId::new(client_id),
            client_secret,
            redirect_uris,
            scopes,
            allowed_origins,
            authorize_endpoint,
            x_api_url,
            x_timeout_ms,
            oauth1: OAuth1Vars {
                consumer_key: optional(env, "TWITTER_CONSUMER_KEY"),
                consumer_secret: optional(env, "TWITTER_CONSUMER_SECRET").map(ConsumerSecret::new),
                bearer_token: optional(env, "TWITTER_BEARER_TOKEN").map(AccessToken::new),
                return_tokens: optional(env, "TWITTER_OAUTH1_RETURN_TOKENS"),
                public_read_paths: optional(env, "TWITTER_PUBLIC_READ_PATHS"),
            },
            api_paths: optional(env, "TWITTER_API_PATHS"),
            custody,
            vault_keys,
            keep_grants,
            keepalive_secs,
            service_token: optional(env, "XAUTH_SERVICE_TOKEN")
                .filter(|token| !token.is_empty())
                .map(ServiceToken),
        })
    }

    /// Whether `XAUTH_SERVICE_TOKEN` is set (valid or not).
    pub fn has_service_token(&self) -> bool {
        self.service_token.is_some()
    }

    /// The service API's token: `None` when `XAUTH_SERVICE_TOKEN` is unset (the API is
    /// off); a 500 naming the variable when it is too short, or when the worker keeps no
    /// grants (browser custody).
    pub fn service_token(&self) -> Result<Option<&ServiceToken>, ApiError> {
        let Some(token) = &self.service_token else {
            return Ok(None);
        };
        if self.custody != Custody::Worker {
            return Err(ApiError::misconfigured(
                "XAUTH_TOKEN_CUSTODY",
                "must be worker for the service API (XAUTH_SERVICE_TOKEN is set): only worker custody keeps grants",
            ));
        }
        if token.0.chars().count() < ServiceToken::MIN_CHARS || token.0.trim() != token.0 {
            return Err(ApiError::misconfigured(
                "XAUTH_SERVICE_TOKEN",
                "must be at least 32 characters without surrounding spaces (e.g. `openssl rand -base64 32`)",
            ));
        }
        Ok(Some(token))
    }

    /// The vault keys, or a 500 naming `XAUTH_VAULT_KEY` (set in worker custody, optional
    /// otherwise).
    pub fn vault_keys(&self) -> Result<&VaultKeys, ApiError> {
        self.vault_keys
            .as_ref()
            .ok_or_else(|| ApiError::misconfigured("XAUTH_VAULT_KEY", "is missing"))
    }

    /// How the worker authenticates to X's token endpoint: Basic with the client secret,
    /// or as a public client.
    pub fn client_auth(&self) -> ClientAuth<'_> {
        match &self.client_secret {
            Some(secret) => ClientAuth::Confidential {
                id: &self.client_id,
                secret,
            },
            None => ClientAuth::Public {
                id: &self.client_id,
            },
        }
    }

    /// The consumer key and secret, or a 500 naming the one that is missing or invalid.
    pub fn consumer(&self) -> Result<Consumer, ApiError> {
        let key = self
            .oauth1
            .consumer_key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or_else(|| ApiError::misconfigured("TWITTER_CONSUMER_KEY", "is missing"))?;
        if !is_token_text(key) {
            return Err(ApiError::misconfigured(
                "TWITTER_CONSUMER_KEY",
                "must be printable ASCII without spaces (the app's API Key)",
            ));
        }
        let secret = self
            .oauth1
            .consumer_secret
            .as_ref()
            .map(|secret| secret.secret().trim())
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| ApiError::misconfigured("TWITTER_CONSUMER_SECRET", "is missing"))?;
        // It signs every OAuth 1.0a request and keys the cookies: a short one is a mistake.
        if !is_token_text(secret) || secret.len() < MIN_CONSUMER_SECRET_LEN {
            return Err(ApiError::misconfigured(
                "TWITTER_CONSUMER_SECRET",
                "must be at least 16 characters of printable ASCII without spaces (the app's API Key Secret)",
            ));
        }
        Ok(Consumer {
            key: ConsumerKey::new(key.to_owned()),
            secret: ConsumerSecret::new(secret.to_owned()),
        })
    }

    /// `TWITTER_OAUTH1_RETURN_TOKENS`: `true` puts the user's OAuth 1.0a token and secret
    /// in the `access-token` answer; default `false`.
    pub fn oauth1_return_tokens(&self) -> Result<bool, ApiError> {
        match self.oauth1.return_tokens.as_deref().map(str::trim) {
            None | Some("" | "false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::misconfigured(
                "TWITTER_OAUTH1_RETURN_TOKENS",
                "must be true or false",
            )),
        }
    }

    /// Where the app-only token comes from: `TWITTER_BEARER_TOKEN`, else the consumer.
    pub fn app_credentials(&self) -> Result<AppCredentials, ApiError> {
        match &self.oauth1.bearer_token {
            Some(token) => {
                let token = token.secret().trim();
                if token.is_empty() || !is_token_text(token) {
                    return Err(ApiError::misconfigured(
                        "TWITTER_BEARER_TOKEN",
                        "must be the app's bearer token (printable ASCII, no spaces); delete it to use the consumer key and secret",
                    ));
                }
                Ok(AppCredentials::Static(AccessToken::new(token.to_owned())))
            }
            None => self.consumer().map(AppCredentials::ClientCredentials),
        }
    }

    /// `TWITTER_PUBLIC_READ_PATHS`: space-separated X API v2 endpoint patterns (after
    /// `/2/`) the worker reads as the app for anyone, such as `tweets/:id users/:id`
    /// ([`crate::public_reads`]); default [`DEFAULT_PUBLIC_READS`].
    pub fn public_read_paths(&self) -> Result<Vec<ReadPattern>, ApiError> {
        let value = self
            .oauth1
            .public_read_paths
            .as_deref()
            .unwrap_or(DEFAULT_PUBLIC_READS);
        public_reads::parse_patterns(value).ok_or_else(|| {
            ApiError::misconfigured(
                "TWITTER_PUBLIC_READ_PATHS",
                "must be space-separated X API v2 endpoint patterns such as `tweets/:id users/by/username/:username tweets?ids=`",
            )
        })
    }

    /// `TWITTER_API_PATHS`: the X API v2 path prefixes forwarded as the signed-in user,
    /// space-separated, each one or more segments of letters, digits, `_` and `-` (whole
    /// segments match: `users` covers `users/12`, not `usersx`); default
    /// `users/me users tweets`.
    pub fn api_paths(&self) -> Result<Vec<&str>, ApiError> {
        path_prefixes(
            "TWITTER_API_PATHS",
            self.api_paths.as_deref().unwrap_or(DEFAULT_API_PATHS),
        )
    }

    /// The redirect URI a request asked for, if it is one of the allowed ones; else the default.
    pub fn redirect_uri(&self, requested: Option<&str>) -> Result<&RedirectUri, ApiError> {
        match requested {
            None => self
                .redirect_uris
                .first()
                .ok_or_else(|| ApiError::misconfigured("TWITTER_REDIRECT_URI", "is empty")),
            Some(requested) => self
                .redirect_uris
                .iter()
                .find(|allowed| allowed.as_str() == requested)
                .ok_or_else(|| {
                    ApiError::bad_request("redirectUri is not one of the allowed redirect URIs")
                }),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}{}", self.x_api_url, xauth_core::TOKEN_PATH)
    }

    pub fn revoke_url(&self) -> String {
        format!("{}{}", self.x_api_url, xauth_core::REVOKE_PATH)
    }

    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}

const MIN_CONSUMER_SECRET_LEN: usize = 16;

/// Space-separated path prefixes, each [`is_api_path`] once its outer `/` are trimmed.
pub fn path_prefixes<'a>(variable: &str, value: &'a str) -> Result<Vec<&'a str>, ApiError> {
    value
        .split_whitespace()
        .map(|prefix| {
            let prefix = prefix.trim_matches('/');
            if is_api_path(prefix) {
                Ok(prefix)
            } else {
                Err(ApiError::misconfigured(
                    variable,
                    "must be space-separated X API v2 path prefixes such as `tweets users`",
                ))
            }
        })
        .collect()
}

/// Printable ASCII without spaces: what X's keys, secrets and tokens are made of.
fn is_token_text(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_graphic())
}

/// A bearer token the worker may pass on to X: non-empty token text of sane length.
pub fn is_bearer_token(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_BEARER_TOKEN_CHARS && is_token_text(value)
}

/// `segment(/segment)*`, each segment non-empty letters, digits, `_` or `-`: no `.`, `..`,
/// `%` or empty segment can reach X's URL.
pub fn is_api_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// `XAUTH_VAULT_KEY` (required in worker custody) and `XAUTH_VAULT_KEY_PREVIOUS`: 32
/// random bytes each, base64. A malformed one is a 500 naming it, never a weak key.
fn vault_keys(env: &Env, custody: Custody) -> Result<Option<VaultKeys>, ApiError> {
    const HOW: &str = "must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)";
    let key = |name: &'static str| -> Result<Option<VaultKey>, ApiError> {
        optional(env, name)
            .filter(|value| !value.trim().is_empty())
            .map(|value| VaultKey::parse(&value).ok_or_else(|| ApiError::misconfigured(name, HOW)))
            .transpose()
    };
    let current = key("XAUTH_VAULT_KEY")?;
    let previous = key("XAUTH_VAULT_KEY_PREVIOUS")?;
    match (current, custody) {
        (Some(current), _) => Ok(Some(VaultKeys::new(current, previous))),
        (None, Custody::Worker) => Err(ApiError::misconfigured(
            "XAUTH_VAULT_KEY",
            &format!("is missing (worker custody needs it): it {HOW}"),
        )),
        (None, Custody::Browser) => Ok(None),
    }
}

/// `XAUTH_KEEPALIVE_DAYS` in seconds: a positive decimal number of days, at most
/// [`MAX_KEEPALIVE_DAYS`] (fractions of a day allow short keep-alives in tests).
fn keepalive_secs(value: Option<&str>) -> Result<u64, ApiError> {
    let days = match value.map(str::trim) {
        None | Some("") => DEFAULT_KEEPALIVE_DAYS,
        Some(days) => days
            .parse::<f64>()
            .ok()
            .filter(|days| days.is_finite() && *days > 0.0 && *days <= MAX_KEEPALIVE_DAYS)
            .ok_or_else(|| {
                ApiError::misconfigured(
                    "XAUTH_KEEPALIVE_DAYS",
                    "must be a number of days above 0 and at most 150 (X's refresh tokens last about six months)",
                )
            })?,
    };
    // At least a second: an alarm cannot be finer, and 0 would refresh without end.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(((days * SECS_PER_DAY).round() as u64).max(1))
}

/// A `[vars]` value or a secret: both are plain strings in the worker's environment.
fn optional(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|value| value.to_string())
}

fn required(env: &Env, name: &'static str) -> Result<String, ApiError> {
    optional(env, name)
        .filter(|value| !value.trim().is_empty())
        .map(|value| value.trim().to_owned())
        .ok_or_else(|| ApiError::misconfigured(name, "is missing"))
}

fn parse_redirect_uris(value: &str) -> Result<Vec<RedirectUri>, ApiError> {
    value
        .split_whitespace()
        .map(|uri| {
            RedirectUri::parse(uri)
                .map_err(|e| ApiError::misconfigured("TWITTER_REDIRECT_URI", &e.to_string()))
        })
        .collect()
}

fn parse_origins(value: &str) -> Result<Vec<String>, ApiError> {
    value
        .split_whitespace()
        .map(|origin| {
            if is_origin(origin) {
                Ok(origin.to_owned())
            } else {
                Err(ApiError::misconfigured(
                    "ALLOWED_ORIGINS",
                    "must be space-separated origins like https://app.example.com (no path, no `*`)",
                ))
            }
        })
        .collect()
}

/// `scheme://host[:port]` exactly as a browser sends it in the `Origin` header.
fn is_origin(value: &str) -> bool {
    let Some((scheme, authority)) = value.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

fn parse_api_url(value: &str) -> Result<String, ApiError> {
    let url = value.trim().trim_end_matches('/');
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty())
        && !url.contains(['?', '#', ' ']);
    if valid {
        Ok(url.to_owned())
    } else {
        Err(ApiError::misconfigured(
            "X_API_URL",
            "must be an absolute http(s) URL such as https://api.x.com",
        ))
    }
}
