//! Per-client rate limits (Cloudflare's Rate Limiting binding, `[[ratelimits]]` in
//! wrangler.toml) on what spends the app's standing at X for anyone who asks: the routes
//! that call X's token endpoints, and anonymous X API reads made with the app's token.
//!
//! The client is `CF-Connecting-IP` (set by Cloudflare, not by the caller). A missing
//! binding means no limit; a limiter that fails lets the request through (logged): the
//! limit protects X quota, and an outage of it should not take sign-in down.

use worker::Env;

use crate::error::ApiError;
use crate::incoming::Incoming;

/// What a limit counts.
#[derive(Clone, Copy)]
pub enum Bucket {
    /// `POST /twitter-access-token`, `-refresh-token`, `-revoke-token`, and OAuth 1.0a's
    /// `request-token` and `access-token`: each one calls X's token endpoints.
    TokenRoutes,
    /// `GET /twitter-api/2/...` without a user: X's API with the app's bearer token.
    AnonymousReads,
}

impl Bucket {
    fn binding(self) -> &'static str {
        match self {
            Bucket::TokenRoutes => "XAUTH_RATE_LIMIT_TOKENS",
            Bucket::AnonymousReads => "XAUTH_RATE_LIMIT_READS",
        }
    }
}

/// How long a refused client is told to wait: Cloudflare's longest period, so a client
/// that honours it is never refused again for the same reason.
const RETRY_AFTER_SECS: &str = "60";

/// `Ok` when `req`'s client is within `bucket`'s limit (or there is no limit), else a 429.
pub async fn check(env: &Env, req: &Incoming, bucket: Bucket) -> Result<(), ApiError> {
    let Ok(limiter) = env.rate_limiter(bucket.binding()) else {
        return Ok(());
    };
    let client = req
        .header("cf-connecting-ip")?
        .unwrap_or_else(|| "unknown".to_owned());
    match limiter.limit(client).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(ApiError::too_many_requests(RETRY_AFTER_SECS)),
        Err(_) => {
            worker::console_warn!("rate limit {} failed; let through", bucket.binding());
            Ok(())
        }
    }
}
