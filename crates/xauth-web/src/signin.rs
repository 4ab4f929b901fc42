//! The sign-in module: the protocol steps a page needs before and right after the trip to
//! X, as functions of strings and numbers. The package's JS entry (`js/xauth_web.js`) is
//! the `XAuth` the app sees: it keeps the app's options, reads and writes sessionStorage and
//! the address bar, does the `fetch` calls to the worker, and asks these functions every
//! question about the protocol: is this client valid, the link and its secrets, is this
//! callback X's answer to this tab's sign-in, which proxy URL a call goes to. `abi`
//! exports them to the entry.
//!
//! Nothing here touches a JS object, a promise or a browser API, and nothing outlives a
//! call: so the wasm needs no wasm-bindgen, no futures, no browser bindings, and its
//! allocator is an arena that starts over at every call (`arena`).

use crate::prelude::*;
use xauth_core::{
    AuthorizationRequest, AuthorizeEndpoint, CallbackError, ClientId, CsrfToken, PkceCodeVerifier,
    RedirectUri, Scopes, parse_callback, validate_callback,
};

/// A pending sign-in older than this (10 minutes) is refused. X's consent page takes a
/// human a minute; a callback arriving much later is a replayed or forgotten one.
pub const PENDING_MAX_AGE_MS: f64 = 10.0 * 60.0 * 1000.0;
/// A `createdAt` this far in the future (clock changes) still counts as fresh; beyond it
/// the entry is refused as expired rather than trusted forever.
const CLOCK_SKEW_MS: f64 = 60.0 * 1000.0;

/// Checks an app's client: `clientId`, `redirectUri`, `scopes` and `authorizeUrl` (the
/// options of `new XAuth`, or the worker's `/twitter-config`). `None` when it is valid,
/// else what is wrong (for an `invalid_options` error).
pub fn check_client(fields: &ClientFields<'_>) -> Option<&'static str> {
    client(fields).err()
}

/// A sign-in about to start, from 64 random bytes (the browser's `getRandomValues`): the
/// link to X's consent page, the state and the PKCE verifier, one per line; or `!` and
/// what is wrong with the client.
pub fn start(fields: &ClientFields<'_>, random: &[u8]) -> String {
    let client = match client(fields) {
        Ok(client) => client,
        Err(message) => {
            let mut failed = String::from("!");
            failed.push_str(message);
            return failed;
        }
    };
    let (Some(verifier_bytes), Some(state_bytes)) = (
        random.get(..32).and_then(|b| <&[u8; 32]>::try_from(b).ok()),
        random
            .get(32..64)
            .and_then(|b| <&[u8; 32]>::try_from(b).ok()),
    ) else {
        return String::from("!64 random bytes are needed");
    };
    let verifier = PkceCodeVerifier::from_random_bytes(verifier_bytes);
    let state = CsrfToken::from_random_bytes(state_bytes);
    let mut answer = AuthorizationRequest {
        endpoint: &client.authorize_endpoint,
        client_id: &client.client_id,
        redirect_uri: &client.redirect_uri,
        scopes: &client.scopes,
        state: &state,
        code_challenge: &verifier.challenge(),
    }
    .url();
    // The URL is percent-encoded, the state and the verifier BASE64URL: no line breaks.
    answer.push('\n');
    answer.push_str(state.as_str());
    answer.push('\n');
    answer.push_str(verifier.secret());
    answer
}

/// Whether `url` has a `state` and a `code` or an `error`.
pub fn is_callback(url: &str) -> bool {
    parse_callback(url).is_ok_and(|params| {
        params.state.is_some() && (params.code.is_some() || params.error.is_some())
    })
}

/// The checks of X's redirect back to `url`, given the pending sign-in this tab stored
/// (`state`, `verifier`, `created_at`, already deleted from storage by the entry: single
/// use, whatever happens next) and the time now: the pending sign-in (present, well
/// formed, at most 10 minutes old), then the state in constant time, then X's `error`,
/// then the `code`. The code to exchange, or why the callback is refused.
pub fn take_callback(
    url: &str,
    state: Option<&str>,
    verifier: Option<&str>,
    created_at: Option<f64>,
    now_ms: f64,
) -> Result<String, Refusal> {
    let state = state.and_then(|s| CsrfToken::parse(s).ok());
    let verifier = verifier.and_then(|v| PkceCodeVerifier::parse(v).ok());
    let created_at = created_at.filter(|at| at.is_finite());
    let (Some(state), Some(_), Some(created_at)) = (state, verifier, created_at) else {
        return Err(Refusal::no_pending(false));
    };
    if !(-CLOCK_SKEW_MS..=PENDING_MAX_AGE_MS).contains(&(now_ms - created_at)) {
        return Err(Refusal::no_pending(true));
    }
    match validate_callback(url, &state) {
        Ok(callback) => Ok(callback.into_code().secret().to_owned()),
        Err(error) => Err(Refusal::from(error)),
    }
}

/// A refused callback: an `XAuthError`'s fields, which the entry throws.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The stable `code`: `no_pending_sign_in`, `state_mismatch`, `access_denied`, ...
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
    /// `no_pending_sign_in`: `missing` or `expired`.
    pub reason: Option<&'static str>,
    /// X's `error`, for `authorization_error`.
    pub error: Option<String>,
    /// X's `error_description` (text from outside).
    pub description: Option<String>,
}

impl Refusal {
    /// `no_pending_sign_in` with `reason` `missing` (nothing stored in this tab, or not
    /// readable) or `expired` (stored more than 10 minutes ago).
    fn no_pending(expired: bool) -> Refusal {
        let (reason, message) = if expired {
            (
                "expired",
                "the sign-in was started more than 10 minutes ago and has expired; sign in again",
            )
        } else {
            (
                "missing",
                "no sign-in was started in this tab (or it was already used); sign in again",
            )
        };
        Refusal {
            code: "no_pending_sign_in",
            message: message.to_owned(),
            reason: Some(reason),
            error: None,
            description: None,
        }
    }
}

/// A callback that `validate_callback` refused, with the same codes.
impl From<CallbackError> for Refusal {
    fn from(error: CallbackError) -> Refusal {
        let code = error.code();
        let (message, x_error, description) = match error {
            CallbackError::AccessDenied { description } => {
                ("the sign-in with X was declined", None, description)
            }
            CallbackError::AuthorizationError { error, description } => {
                ("X refused the sign-in request", Some(error), description)
            }
            CallbackError::MissingCode => ("the callback from X carries no code", None, None),
            CallbackError::MissingState => ("the callback from X carries no state", None, None),
            CallbackError::StateMismatch => (
                "the callback's state does not match the sign-in started in this tab",
                None,
                None,
            ),
            _ => ("the callback from X is malformed", None, None),
        };
        let mut full = String::from(message);
        if let Some(detail) = description.as_deref().or(x_error.as_deref()) {
            full.push_str(": ");
            full.push_str(detail);
        }
        Refusal {
            code,
            message: full,
            reason: None,
            error: x_error,
            description,
        }
    }
}

/// The worker's proxy URL for `input`, an X API v2 URL or path; `None` for anything else
/// (`invalid_request`).
pub fn proxy_url(endpoint: &str, input: &str) -> Option<String> {
    let path = xauth_core::x_api_path(input)?;
    let mut url = String::from(endpoint);
    url.push_str("/twitter-api/2/");
    url.push_str(path);
    Some(url)
}

/// An app's client as given: `clientId`, `redirectUri`, `scopes`, `authorizeUrl` (absent
/// ones `None`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFields<'a> {
    /// The app's OAuth 2.0 client id.
    pub client_id: Option<&'a str>,
    /// The callback registered with X.
    pub redirect_uri: Option<&'a str>,
    /// Space-separated X scopes.
    pub scopes: Option<&'a str>,
    /// X's consent page; `None` for X's own.
    pub authorize_url: Option<&'a str>,
}

/// An app's client, parsed.
struct Client {
    client_id: ClientId,
    redirect_uri: RedirectUri,
    scopes: Scopes,
    authorize_endpoint: AuthorizeEndpoint,
}

fn client(fields: &ClientFields<'_>) -> Result<Client, &'static str> {
    let client_id = fields
        .client_id
        .filter(|id| !id.is_empty())
        .ok_or("clientId is missing")?;
    let redirect_uri = fields
        .redirect_uri
        .and_then(|uri| RedirectUri::parse(uri).ok())
        .ok_or("redirectUri must be an absolute http(s) URL, no fragment")?;
    let scopes = fields
        .scopes
        .and_then(|scopes| Scopes::parse(scopes).ok())
        .ok_or("scopes must be X scopes separated by spaces")?;
    let authorize_endpoint = match fields.authorize_url {
        None => AuthorizeEndpoint::default(),
        Some(url) => AuthorizeEndpoint::parse(url)
            .map_err(|_| "authorizeUrl must be an absolute http(s) URL")?,
    };
    Ok(Client {
        client_id: ClientId::new(client_id.to_owned()),
        redirect_uri,
        scopes,
        authorize_endpoint,
    })
}
