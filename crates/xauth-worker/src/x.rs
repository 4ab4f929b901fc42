//! Talking to X: bounded calls (a POST of a form, a signed OAuth 1.0a POST, an X API call
//! with a bearer token), and turning X's answers into tokens or errors.
//!
//! A call is the runtime's `fetch` with an `AbortController` whose `abort` a `setTimeout`
//! calls after the deadline ([`Deadline`]) and which is cleared as soon as the deadline no
//! longer applies: aborting fails the `fetch`, or a read of the body under way, and a
//! failure with the signal aborted is X being too slow. The timer is a bound JS function
//! (no Rust closure) and is always cleared, so nothing of a call outlives it.

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use worker::Method;
use worker::js_sys::{Function, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys::{
    AbortController, Headers, RequestInit, RequestRedirect, Response as JsResponse,
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
    /// X API calls only (`None` from the token endpoints).
    pub content_type: Option<String>,
    /// The [`RATE_LIMIT_HEADERS`] X sent (X API calls only).
    pub rate_limit: Vec<(&'static str, String)>,
}

/// Which of X's endpoints a call goes to: how big its answer may be, and which headers of
/// it the worker uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// The token, revoke, users/me and OAuth 1.0a endpoints: small JSON.
    Token,
    /// An X API call passed on to the caller, with its content type and rate limits.
    Api,
}

impl Endpoint {
    fn max_body_bytes(self) -> usize {
        match self {
            Endpoint::Token => MAX_X_BODY_BYTES,
            Endpoint::Api => MAX_X_API_BODY_BYTES,
        }
    }
}

/// One request to X, as the worker builds it: nothing of the caller's request but what
/// is put here.
struct Outgoing<'a> {
    method: Method,
    url: &'a str,
    /// `accept: application/json` is always added.
    headers: Vec<(&'static str, &'a str)>,
    body: Option<JsValue>,
    endpoint: Endpoint,
}

/// POSTs a form to X's token or revoke endpoint, bounded in time.
pub async fn post_form(url: &str, form: FormRequest, timeout_ms: u32) -> Result<XReply, ApiError> {
    send(&form_request(url, &form), Deadline::Whole(timeout_ms)).await
}

/// A POST of `form` (its body, and its Basic header when the client is confidential).
fn form_request<'a>(url: &'a str, form: &'a FormRequest) -> Outgoing<'a> {
    let mut headers = vec![("content-type", FormRequest::CONTENT_TYPE)];
    if let Some(authorization) = &form.authorization {
        headers.push(("authorization", authorization));
    }
    Outgoing {
        method: Method::Post,
        url,
        headers,
        body: Some(JsValue::from_str(&form.body)),
        endpoint: Endpoint::Token,
    }
}

/// POSTs an OAuth 1.0a signed request (empty body, the signature in `Authorization`).
pub async fn post_signed(request: &SignedRequest, timeout_ms: u32) -> Result<XReply, ApiError> {
    let outgoing = Outgoing {
        method: Method::Post,
        url: &request.url,
        headers: vec![
            ("content-type", FormRequest::CONTENT_TYPE),
            ("authorization", &request.authorization),
        ],
        body: None,
        endpoint: Endpoint::Token,
    };
    send(&outgoing, Deadline::Whole(timeout_ms)).await
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
    body: Option<&ForwardedBody>,
    timeout_ms: u32,
) -> Result<XReply, ApiError> {
    let authorization = xauth_core::bearer_authorization(token);
    let mut headers = vec![("authorization", authorization.as_str())];
    if let Some(content_type) = body.and_then(|body| body.content_type.as_deref()) {
        headers.push(("content-type", content_type));
    }
    let outgoing = Outgoing {
        method,
        url,
        headers,
        body: body.map(|body| Uint8Array::from(body.bytes.as_slice()).into()),
        endpoint: Endpoint::Api,
    };
    send(&outgoing, Deadline::Whole(timeout_ms)).await
}

/// `GET /2/users/me` with the user's token: who signed in.
pub async fn users_me(config: &Config, access_token: &AccessToken) -> Result<XReply, ApiError> {
    let url = format!("{}{}", config.x_api_url, xauth_core::USERS_ME_PATH);
    let authorization = xauth_core::bearer_authorization(access_token);
    let outgoing = Outgoing {
        method: Method::Get,
        url: &url,
        headers: vec![("authorization", &authorization)],
        body: None,
        endpoint: Endpoint::Token,
    };
    send(&outgoing, Deadline::Whole(config.x_timeout_ms)).await
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
    let url = config.token_url();
    send(
        &form_request(&url, &form),
        Deadline::Headers(headers_within_ms),
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

/// Sends one request to X and reads the answer within `deadline`: unreachable, too slow
/// or oversized is a 502. Redirects are not followed, so a request carrying credentials
/// never goes anywhere but where it was sent.
async fn send(outgoing: &Outgoing<'_>, deadline: Deadline) -> Result<XReply, ApiError> {
    let (Deadline::Whole(timeout_ms) | Deadline::Headers(timeout_ms)) = deadline;
    let too_slow =
        || ApiError::upstream_unavailable(format!("X did not answer within {timeout_ms} ms."));
    let controller = AbortController::new().map_err(worker::Error::from)?;
    let init = request_init(outgoing, &controller)?;
    let timer = Timer::abort_after(&controller, timeout_ms)?;
    let head = match global_fetch(outgoing.url, &init) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(error) => Err(error),
    };
    let response: JsResponse = match head {
        Ok(response) => response.unchecked_into(),
        Err(_) if controller.signal().aborted() => return Err(too_slow()),
        // The runtime reports a refused or dropped connection as an error, not a status.
        Err(_) => return Err(ApiError::upstream_unavailable("X could not be reached.")),
    };
    if let Deadline::Headers(_) = deadline {
        // X has begun its answer: it is read to the end, whatever that takes.
        drop(timer);
    }
    let status = response.status();
    let read = read_answer(&response, outgoing.endpoint).await;
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
        Err(_) if controller.signal().aborted() => Err(too_slow()),
        Err(_) => Err(ApiError::upstream_unavailable(
            "X's answer broke off before its end.",
        )),
    }
}

/// `fetch`'s options for `outgoing`: its method, headers and body, no redirects, and the
/// controller's signal.
fn request_init(
    outgoing: &Outgoing<'_>,
    controller: &AbortController,
) -> worker::Result<RequestInit> {
    let headers = Headers::new()?;
    headers.set("accept", "application/json")?;
    for (name, value) in &outgoing.headers {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method(outgoing.method.as_ref());
    init.set_headers(&headers);
    if let Some(body) = &outgoing.body {
        init.set_body(body);
    }
    init.set_redirect(RequestRedirect::Manual);
    init.set_signal(Some(&controller.signal()));
    Ok(init)
}

/// A `setTimeout` that aborts a controller, cleared when dropped (so at the latest when the
/// call is over).
struct Timer(JsValue);

impl Timer {
    fn abort_after(controller: &AbortController, timeout_ms: u32) -> worker::Result<Timer> {
        thread_local! {
            /// `Function.prototype.call.bind(AbortController.prototype.abort)`: called with
            /// a controller, aborts it. A JS function, so the timer holds no Rust closure.
            static ABORT: Result<Function, JsValue> = abort_function();
        }
        let id = ABORT.with(|abort| match abort {
            Ok(abort) => set_timeout(abort, timeout_ms, controller),
            Err(error) => Err(error.clone()),
        })?;
        Ok(Timer(id))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

fn abort_function() -> Result<Function, JsValue> {
    let prototype = ABORT_CONTROLLER_PROTOTYPE.with(JsValue::clone);
    let abort: Function = Reflect::get(&prototype, &"abort".into())?.dyn_into()?;
    let call: Function = Reflect::get(&abort, &"call".into())?.dyn_into()?;
    Ok(call.bind0(&abort))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    /// `setTimeout(handler, ms, argument)`: the id, whatever the runtime makes it.
    #[wasm_bindgen(catch, js_name = setTimeout)]
    fn set_timeout(
        handler: &Function,
        ms: u32,
        argument: &AbortController,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);

    /// `AbortController.prototype`.
    #[wasm_bindgen(thread_local_v2, js_namespace = AbortController, js_name = prototype)]
    static ABORT_CONTROLLER_PROTOTYPE: JsValue;
}

/// The headers the worker uses and the body (`None` when over the endpoint's limit).
async fn read_answer(
    response: &JsResponse,
    endpoint: Endpoint,
) -> worker::Result<(Option<Vec<u8>>, Head)> {
    let headers = response.headers();
    let get = |name: &str| headers.get(name).map_err(worker::Error::from);
    let mut head = Head {
        retry_after: get("retry-after")?,
        content_type: None,
        rate_limit: Vec::new(),
    };
    if endpoint == Endpoint::Api {
        head.content_type = get("content-type")?;
        for name in RATE_LIMIT_HEADERS {
            if let Some(value) = get(name)? {
                head.rate_limit.push((name, value));
            }
        }
    }
    // X's `content-length` only sizes the first read: a compressed answer is longer.
    let declared = get("content-length")?.and_then(|length| length.trim().parse::<u64>().ok());
    let body = match response.body() {
        Some(stream) => read_at_most(stream, declared, endpoint.max_body_bytes()).await?,
        None => Some(Vec::new()),
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
