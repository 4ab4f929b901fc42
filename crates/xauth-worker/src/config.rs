//! The worker's configuration, read once per request from wrangler's `[vars]` and secrets.
//!
//! Every value is validated here so that a handler never sees a half-configured worker:
//! a missing or invalid variable becomes a 500 that names the variable (never its value).

use worker::Env;
use xauth_core::{AuthorizeEndpoint, ClientId, ClientSecret, RedirectUri, Scopes};

use crate::error::ApiError;

/// How long the worker waits for X before answering 502, unless `X_TIMEOUT_MS` says otherwise.
const DEFAULT_X_TIMEOUT_MS: u32 = 10_000;

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
}

impl Config {
    /// Reads and validates every variable; the first problem found is reported.
    pub fn from_env(env: &Env) -> Result<Config, ApiError> {
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
        Ok(Config {
            client_id: ClientId::new(client_id),
            client_secret,
            redirect_uris,
            scopes,
            allowed_origins,
            authorize_endpoint,
            x_api_url,
            x_timeout_ms,
        })
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
