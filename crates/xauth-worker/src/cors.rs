//! Origin checks and CORS headers: an allowlist, never `*`.
//!
//! A browser sends `Origin` on every cross-origin request and on same-origin POSTs; a
//! present Origin that is neither this worker's own nor allowed is refused outright, which
//! is also the worker's CSRF defence for its POST routes.

use worker::{Headers, Response};

use crate::config::{Config, Custody};
use crate::error::ApiError;
use crate::incoming::Incoming;

/// Who is calling, as far as CORS is concerned.
pub enum Caller {
    /// No `Origin`, or the worker's own origin (the bundled SPA): no CORS headers needed.
    SameOrigin,
    /// An allowed cross-origin caller: its origin is echoed back.
    CrossOrigin(String),
}

/// Classifies the caller or refuses its origin with a 403.
pub fn check_origin(req: &Incoming, config: &Config) -> Result<Caller, ApiError> {
    let Some(origin) = req.header("origin")? else {
        return Ok(Caller::SameOrigin);
    };
    let own_origin = req.url()?.origin().ascii_serialization();
    if origin == own_origin {
        Ok(Caller::SameOrigin)
    } else if config.is_allowed_origin(&origin) {
        Ok(Caller::CrossOrigin(origin))
    } else {
        Err(ApiError::origin_not_allowed())
    }
}

/// The answer to a CORS preflight for an allowed caller.
pub fn preflight() -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set(
        "access-control-allow-methods",
        "GET, POST, PUT, DELETE, OPTIONS",
    )?;
    headers.set(
        "access-control-allow-headers",
        "content-type, authorization, x-xauth",
    )?;
    headers.set("access-control-max-age", "600")?;
    Ok(Response::empty()?.with_status(204).with_headers(headers))
}

/// The answer headers an allowed cross-origin page may read besides the CORS-safelisted
/// ones: when to retry, and X's rate limits on forwarded calls.
const EXPOSED_HEADERS: &str =
    "retry-after, x-rate-limit-limit, x-rate-limit-remaining, x-rate-limit-reset";

/// Headers every answer carries: CORS for allowed callers, and no caching of tokens. In
/// worker custody an allowed cross-origin page (same site, since the cookie is
/// `SameSite=Strict`) may send the session cookie: `Access-Control-Allow-Credentials`.
pub fn finish(mut response: Response, caller: Option<&(Caller, Custody)>) -> Response {
    let headers = response.headers_mut();
    // Setting a valid header name and value on a mutable response cannot fail.
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("x-content-type-options", "nosniff");
    let _ = headers.set("vary", "Origin");
    if let Some((Caller::CrossOrigin(origin), custody)) = caller {
        let _ = headers.set("access-control-allow-origin", origin);
        let _ = headers.set("access-control-expose-headers", EXPOSED_HEADERS);
        if *custody == Custody::Worker {
            let _ = headers.set("access-control-allow-credentials", "true");
        }
    }
    response
}
