//! Talking to X: bounded calls (a POST of a form, a signed OAuth 1.0a POST, an X API call
//! with a bearer token), and turning X's answers into tokens or errors.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use serde::Deserialize;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    ResponseBody,
};
use xauth_core::{
    AccessToken, ErrorKind, FormRequest, RawErrorResponse, RawTokenResponse, RefreshToken,
    SignedRequest, TokenSet, TokenTypeHint, XError,
};

use crate::body::read_at_most;
use crate::config::Config;
use crate::error::ApiError;
use crate::grant::XUser;
use crate::session_cookie::is_user_id;

/// X's token answers are a few hundred bytes; more than this is not X.
const MAX_X_BODY_BYTES: usize = 64 * 1024;
/// X API answers (a proxied call) can be larger: a page of tweets with expansions.
pub const MAX_X_API_BODY_BYTES: usize = 2 * 1024 * 1024;

/// X's rate limit headers, passed on to the caller of a proxied call.
pub const RATE_LIMIT_HEADERS: [&str; 3] = [
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
];

/// What X answered, read in full.
pub struct XReply {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    /// The [`RATE_LIMIT_HEADERS`] X sent.
    pub rate_limit: Vec<(&'static str, String)>,
}

/// POSTs a form to X's token or revoke endpoint, bounded in time.
pub async fn post_form(url: &str, form: FormRequest, timeout_ms: u32) -> Result<XReply, ApiError> {
    send(url, form_init(&form)?, timeout_ms, MAX_X_BODY_BYTES).await
}

/// A POST of `form` (its body, and its Basic header when the client is confidential).
fn form_init(form: &FormRequest) -> Result<RequestInit, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", FormRequest::CONTENT_TYPE)?;
    headers.set("accept", "application/json")?;
    if let Some(authorization) = &form.authorization {
        headers.set("authorization", authorization)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(form.body.as_str().into()));
    Ok(init)
}

/// POSTs an OAuth 1.0a signed request (empty body, the signature in `Authorization`).
pub async fn post_signed(request: &SignedRequest, timeout_ms: u32) -> Result<XReply, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", FormRequest::CONTENT_TYPE)?;
    headers.set("authorization", &request.authorization)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers);
    send(&request.url, init, timeout_ms, MAX_X_BODY_BYTES).await
}

/// `GET url` with a bearer token (an X API call), answers up to `MAX_X_API_BODY_BYTES`.
pub async fn get_with_bearer(
    url: &str,
    token: &AccessToken,
    timeout_ms: u32,
) -> Result<XReply, ApiError> {
    call_with_bearer(Method::Get, url, token, None, timeout_ms).await
}

/// A request body passed on to X: the caller's bytes and its `Content-Type`.
#[derive(Clone)]
pub struct ForwardedBody {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// An X API call with a bearer token: `method url`, with `body` for writes, answers up to
/// `MAX_X_API_BODY_BYTES`. The request carries only `accept`, `authorization` and the
/// body's `content-type`: nothing else of the caller's request reaches X.
pub async fn call_with_bearer(
    method: Method,
    url: &str,
    token: &AccessToken,
    body: Option<ForwardedBody>,
    timeout_ms: u32,
) -> Result<XReply, ApiError> {
    let headers = Headers::new();
    headers.set("accept", "application/json")?;
    headers.set("authorization", &xauth_core::bearer_authorization(token))?;
    let mut init = RequestInit::new();
    if let Some(body) = body {
        if let Some(content_type) = &body.content_type {
            headers.set("content-type", content_type)?;
        }
        let bytes = worker::js_sys::Uint8Array::from(body.bytes.as_slice());
        init.with_body(Some(bytes.into()));
    }
    init.with_method(method).with_headers(headers);
    send(url, init, timeout_ms, MAX_X_API_BODY_BYTES).await
}

/// `GET /2/users/me` with the user's token: who signed in.
pub async fn users_me(config: &Config, access_token: &AccessToken) -> Result<XReply, ApiError> {
    let headers = Headers::new();
    headers.set("accept", "application/json")?;
    headers.set(
        "authorization",
        &xauth_core::bearer_authorization(access_token),
    )?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let url = format!("{}{}", config.x_api_url, xauth_core::USERS_ME_PATH);
    send(&url, init, config.x_timeout_ms, MAX_X_BODY_BYTES).await
}

/// Who signed in: X's `/2/users/me` for `access_token`, read strictly. Any other answer
/// is X's error (a 5xx or garbage is transient).
pub async fn signed_in_user(
    config: &Config,
    access_token: &AccessToken,
) -> Result<XUser, ApiError> {
    /// `{"data": {"id", "name", "username"}}`.
    #[derive(Deserialize)]
    struct UsersMe {
        data: XUser,
    }
    let reply = users_me(config, access_token).await?;
    if reply.status != 200 {
        return Err(x_error(&reply));
    }
    serde_json::from_slice::<UsersMe>(&reply.body)
        .ok()
        .map(|me| me.data)
        .filter(|user| is_user_id(&user.id))
        .ok_or_else(|| ApiError::upstream_unavailable("X's users/me answer was not a user."))
}

/// How long the worker waits for X.
#[derive(Clone, Copy)]
pub enum Deadline {
    /// The whole answer, body included, within this many milliseconds; then the request is
    /// aborted.
    Whole(u32),
    /// The answer's headers within this many milliseconds; after that the body is read
    /// whatever it takes (bounded in size). For a refresh: once X has answered, it may
    /// have rotated the refresh token, and dropping its answer would lose the grant.
    Headers(u32),
}

/// How long a refresh may wait for X's answer to begin before it is given up, whatever
/// callers were told meanwhile (they get a transient error at `X_TIMEOUT_MS`). Past this,
/// X is taken not to have answered at all.
pub const REFRESH_HEADERS_MS: u32 = 60_000;

/// The refresh grant at X's token endpoint. X has `headers_within_ms` to begin its answer
/// ([`Deadline::Headers`]); once it has, the answer is read to the end, because it may
/// carry the only copy of the rotated refresh token.
pub async fn refresh(
    config: &Config,
    refresh_token: &RefreshToken,
    headers_within_ms: u32,
) -> Result<XReply, ApiError> {
    let form = xauth_core::refresh_request(config.client_auth(), refresh_token);
    let init = form_init(&form)?;
    send_with_deadline(
        &config.token_url(),
        init,
        Deadline::Headers(headers_within_ms),
        MAX_X_BODY_BYTES,
    )
    .await
}

/// RFC 7009 revocation of `token` at X; an error unless X says it is done (2xx).
pub async fn revoke(
    config: &Config,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<(), ApiError> {
    let form = xauth_core::revoke_request(config.client_auth(), token, hint);
    let reply = post_form(&config.revoke_url(), form, config.x_timeout_ms).await?;
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(x_error(&reply))
    }
}

/// Sends one request to X and reads the answer, within `timeout_ms` for all of it:
/// unreachable, too slow or oversized is a 502. Redirects are not followed, so a
/// request carrying credentials never goes anywhere but where it was sent.
async fn send(
    url: &str,
    init: RequestInit,
    timeout_ms: u32,
    max_body_bytes: usize,
) -> Result<XReply, ApiError> {
    send_with_deadline(url, init, Deadline::Whole(timeout_ms), max_body_bytes).await
}

/// [`send`] with a choice of [`Deadline`].
async fn send_with_deadline(
    url: &str,
    mut init: RequestInit,
    deadline: Deadline,
    max_body_bytes: usize,
) -> Result<XReply, ApiError> {
    init.with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init)?;
    let (Deadline::Whole(timeout_ms) | Deadline::Headers(timeout_ms)) = deadline;

    let controller = AbortController::default();
    let signal = controller.signal();
    let mut timer = pin!(Delay::from(Duration::from_millis(u64::from(timeout_ms))));
    let too_slow =
        || ApiError::upstream_unavailable(format!("X did not answer within {timeout_ms} ms."));
    let fetch = Fetch::Request(request);
    let head = pin!(fetch.send_with_signal(&signal));
    let mut response = match select(head, timer.as_mut()).await {
        Either::Left((Ok(response), _)) => response,
        // The runtime reports a refused or dropped connection as an error, not a status.
        Either::Left((Err(_), _)) => {
            return Err(ApiError::upstream_unavailable("X could not be reached."));
        }
        Either::Right(((), _)) => {
            controller.abort();
            return Err(too_slow());
        }
    };
    let status = response.status_code();
    let body = pin!(read_answer(&mut response, max_body_bytes));
    let read = match deadline {
        Deadline::Whole(_) => match select(body, timer).await {
            Either::Left((read, _)) => read,
            Either::Right(((), _)) => {
                controller.abort();
                return Err(too_slow());
            }
        },
        Deadline::Headers(_) => body.await,
    };
    match read {
        Ok((Some(body), head)) => Ok(XReply {
            status,
            body,
            retry_after: head.retry_after,
            content_type: head.content_type,
            rate_limit: head.rate_limit,
        }),
        Ok((None, _)) => Err(ApiError::upstream_unavailable(
            "X answered with an oversized body.",
        )),
        Err(_) => Err(ApiError::upstream_unavailable(
            "X's answer broke off before its end.",
        )),
    }
}

/// The headers the worker uses and the body (`None` when over `max_body_bytes`).
async fn read_answer(
    response: &mut worker::Response,
    max_body_bytes: usize,
) -> Result<(Option<Vec<u8>>, Head), worker::Error> {
    let headers = response.headers();
    let head = Head {
        retry_after: headers.get("retry-after")?,
        content_type: headers.get("content-type")?,
        rate_limit: RATE_LIMIT_HEADERS
            .iter()
            .filter_map(|name| Some((*name, headers.get(name).ok()??)))
            .collect(),
    };
    // X's `content-length` only sizes the first read: a compressed answer is longer.
    let declared = headers
        .get("content-length")?
        .and_then(|length| length.trim().parse::<u64>().ok());
    let body = match response.body() {
        ResponseBody::Stream(stream) => {
            read_at_most(stream.clone(), declared, max_body_bytes).await?
        }
        _ => Some(Vec::new()),
    };
    Ok((body, head))
}

/// The headers of X's answer that the worker uses.
struct Head {
    retry_after: Option<String>,
    content_type: Option<String>,
    rate_limit: Vec<(&'static str, String)>,
}

/// A 2xx with a valid token answer becomes tokens; anything else becomes X's error.
pub fn token_set(reply: &XReply, now_unix_secs: u64) -> Result<TokenSet, ApiError> {
    if !(200..300).contains(&reply.status) {
        return Err(x_error(reply));
    }
    let raw: RawTokenResponse = serde_json::from_slice(&reply.body).map_err(|_| {
        ApiError::upstream_unavailable("X answered with something that is not a token.")
    })?;
    xauth_core::process_token_response(raw, now_unix_secs)
        .map_err(|e| ApiError::upstream_unavailable(format!("X's token answer was unusable: {e}.")))
}

/// [`token_set`] for a refresh's answer, where a 2xx that cannot be used is its own error
/// (`x_token_unusable`), logged without the body: X said yes, so it may have rotated the
/// refresh token into an answer nobody can read.
pub fn refreshed_token_set(reply: &XReply, now_unix_secs: u64) -> Result<TokenSet, ApiError> {
    if !(200..300).contains(&reply.status) {
        return Err(x_error(reply));
    }
    let unusable = |reason: &str| {
        worker::console_error!(
            "X answered a refresh with {} and an unusable token answer: {reason}",
            reply.status
        );
        ApiError::token_answer_unusable(reason)
    };
    let raw: RawTokenResponse =
        serde_json::from_slice(&reply.body).map_err(|_| unusable("not token JSON"))?;
    xauth_core::process_token_response(raw, now_unix_secs).map_err(|e| unusable(&e.to_string()))
}

/// X's error answer, classified; a body that is not X's error JSON still gets a kind.
pub fn x_error(reply: &XReply) -> ApiError {
    let parsed = serde_json::from_slice::<RawErrorResponse>(&reply.body).ok();
    let classified: XError = xauth_core::classify_error(reply.status, parsed.as_ref());
    ApiError::from_x(classified, reply.retry_after.clone())
}

/// X's error body outside OAuth 2.0 (its v1.1 API, `oauth/*` and `oauth2/token`):
/// `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`.
#[derive(Deserialize)]
struct V1Errors {
    errors: Vec<V1Error>,
}

#[derive(Deserialize)]
struct V1Error {
    code: Option<u32>,
    message: Option<String>,
}

/// An error answer from X's OAuth 1.0a or app-only endpoints, classified like the OAuth 2.0
/// routes' errors: 429, 5xx and anything that is not X's error JSON are transient; X's own
/// refusals keep their 4xx status and get a stable `error` for X's code.
///
/// `refused_credentials` is the kind for X's "Could not authenticate you" (32) and
/// "Invalid or expired token" (89): `Misconfigured` where only the app's consumer key and
/// secret were presented (request token, app token), `Reauthorize` where a request token
/// and verifier were too (access token: the consumer was accepted a moment ago, so the
/// user's half is what X refused).
pub fn v1_error(reply: &XReply, refused_credentials: ErrorKind) -> ApiError {
    let first = serde_json::from_slice::<V1Errors>(&reply.body)
        .ok()
        .and_then(|body| body.errors.into_iter().next());
    let Some(first) = first.filter(|_| (400..500).contains(&reply.status) && reply.status != 429)
    else {
        // Not one of X's refusals: the OAuth 2.0 classification (transient) applies.
        return x_error(reply);
    };
    let (error, kind) = match first.code {
        Some(32) => ("could_not_authenticate", refused_credentials),
        Some(89) => ("invalid_or_expired_token", refused_credentials),
        Some(99) => ("unable_to_verify_credentials", ErrorKind::Misconfigured),
        // The worker's clock is right (it is the platform's): X's is the one to doubt, but
        // retrying does not fix a clock, and signing in again does not either.
        Some(135) => ("timestamp_out_of_bounds", ErrorKind::Misconfigured),
        Some(170) => ("missing_parameter", ErrorKind::Misconfigured),
        Some(215) => ("bad_authentication_data", ErrorKind::Misconfigured),
        Some(415) => ("callback_not_approved", ErrorKind::Misconfigured),
        _ => ("x_refused", ErrorKind::Misconfigured),
    };
    let description = first
        .message
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| format!("X answered HTTP {}.", reply.status));
    ApiError::from_x_code(reply.status, error, description, kind)
}
