//! Talking to X: one bounded POST of a form, and turning X's answer into tokens or an error.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};
use xauth_core::{AccessToken, FormRequest, RawErrorResponse, RawTokenResponse, TokenSet, XError};

use crate::body::collect_at_most;
use crate::config::Config;
use crate::error::ApiError;

/// X's token answers are a few hundred bytes; more than this is not X.
const MAX_X_BODY_BYTES: usize = 64 * 1024;

/// What X answered, read in full.
pub struct XReply {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<String>,
}

/// POSTs a form to X's token or revoke endpoint, bounded in time.
pub async fn post_form(url: &str, form: FormRequest, timeout_ms: u32) -> Result<XReply, ApiError> {
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
    send(url, init, timeout_ms).await
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
    send(&url, init, config.x_timeout_ms).await
}

/// Sends one request to X and reads the answer, all within `timeout_ms`:
/// unreachable, too slow or oversized is a 502. Redirects are not followed, so a
/// request carrying credentials never goes anywhere but where it was sent.
async fn send(url: &str, mut init: RequestInit, timeout_ms: u32) -> Result<XReply, ApiError> {
    init.with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init)?;

    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = pin!(async move {
        let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
        let retry_after = response.headers().get("retry-after")?;
        let body = match response.stream() {
            Ok(stream) => collect_at_most(stream, MAX_X_BODY_BYTES).await?,
            Err(_) => Some(Vec::new()),
        };
        Ok::<_, worker::Error>((response.status_code(), body, retry_after))
    });
    let deadline = pin!(Delay::from(Duration::from_millis(u64::from(timeout_ms))));

    match select(exchange, deadline).await {
        Either::Left((Ok((status, Some(body), retry_after)), _)) => Ok(XReply {
            status,
            body,
            retry_after,
        }),
        Either::Left((Ok((_, None, _)), _)) => Err(ApiError::upstream_unavailable(
            "X answered with an oversized body.",
        )),
        // The runtime reports a refused or dropped connection as an error, not a status.
        Either::Left((Err(_), _)) => Err(ApiError::upstream_unavailable("X could not be reached.")),
        Either::Right(((), _)) => {
            controller.abort();
            Err(ApiError::upstream_unavailable(format!(
                "X did not answer within {timeout_ms} ms."
            )))
        }
    }
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

/// X's error answer, classified; a body that is not X's error JSON still gets a kind.
pub fn x_error(reply: &XReply) -> ApiError {
    let parsed = serde_json::from_slice::<RawErrorResponse>(&reply.body).ok();
    let classified: XError = xauth_core::classify_error(reply.status, parsed.as_ref());
    ApiError::from_x(classified, reply.retry_after.clone())
}
