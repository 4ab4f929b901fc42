//! The service API: the app's own back-end code acts as a signed-in user, with the grant
//! the user's object keeps (worker custody; `XAUTH_KEEP_GRANTS` keeps it after the user's
//! last browser session). Enabled only when the secret `XAUTH_SERVICE_TOKEN` is set;
//! without it every `/xauth/` route is a 404.
//!
//! - `GET|POST|PUT|DELETE /twitter-api/2/<path>` with `Authorization: Bearer <service
//!   token>` and `X-XAuth-User: <X user id>`: the call goes to X as that user, with the
//!   proxy's allowlist, single-flight refresh and error contract.
//! - `GET /xauth/grants/<user id>`: what is known of the stored grant, never a token.
//! - `DELETE /xauth/grants/<user id>`: revoked at X and deleted.
//!
//! These are server-to-server routes: no `Origin` check and no CORS headers (a page cannot
//! read their answers), and cookies are ignored. The token is checked, in constant time,
//! before anything reaches a user's object; a user without a stored grant is a 404
//! `no_grant` and nothing reaches X.

use serde::Serialize;
use worker::{Env, Method, Response};

use crate::config::{Config, Custody};
use crate::error::ApiError;
use crate::incoming::Incoming;
use crate::proxy;
use crate::session_cookie::is_user_id;
use crate::vault::VaultClient;

/// The service API's own routes.
pub const PREFIX: &str = "/xauth/";
const GRANTS_PREFIX: &str = "/xauth/grants/";
/// The header naming the user a service call acts as.
pub const USER_HEADER: &str = "x-xauth-user";

/// Whether this request is for the service API: a `/xauth/` route, or (in worker custody,
/// with a service token configured) an X API call that carries an `Authorization` or
/// `X-XAuth-User` header, which a page in worker custody never sends.
pub fn is_service_call(req: &Incoming, path: &str, config: &Config) -> bool {
    // A header that cannot be read counts as present: the call then fails authentication.
    let carries = |name| !matches!(req.header(name), Ok(None));
    path.starts_with(PREFIX)
        || (config.custody == Custody::Worker
            && config.has_service_token()
            && path.starts_with(proxy::PREFIX)
            && (carries("authorization") || carries(USER_HEADER)))
}

/// A service API request: authenticated, then routed.
pub async fn handle(
    req: &Incoming,
    method: Option<&Method>,
    path: &str,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    authenticate(req, config)?;
    if path.starts_with(proxy::PREFIX) {
        let method = method
            .filter(|method| {
                matches!(
                    method,
                    Method::Get | Method::Post | Method::Put | Method::Delete
                )
            })
            .ok_or_else(|| ApiError::method_not_allowed(proxy::METHODS))?;
        let vault = vault_of(env, req.header(USER_HEADER)?.as_deref())?;
        return proxy::forward_as_service(req, method, config, &vault).await;
    }
    let user = path
        .strip_prefix(GRANTS_PREFIX)
        .filter(|user| !user.is_empty() && !user.contains('/'))
        .ok_or_else(ApiError::not_found)?;
    let vault = vault_of(env, Some(user))?;
    match method {
        Some(Method::Get) => Ok(Response::from_json(&vault.grant_info().await?)?),
        Some(Method::Delete) => {
            let ended = vault.forget().await?;
            #[derive(Serialize)]
            struct Forgotten {
                revoked: bool,
                deleted: bool,
            }
            Ok(Response::from_json(&Forgotten {
                revoked: ended.revoked,
                deleted: true,
            })?)
        }
        _ => Err(ApiError::method_not_allowed("GET, DELETE")),
    }
}

/// The service token as the bearer token, or a 401 (a 404 when the API is off).
fn authenticate(req: &Incoming, config: &Config) -> Result<(), ApiError> {
    let expected = config.service_token()?.ok_or_else(ApiError::not_found)?;
    let authorization = req.header("authorization")?;
    let presented = authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if presented.is_some_and(|token| expected.matches(token)) {
        Ok(())
    } else {
        Err(ApiError::invalid_service_token())
    }
}

/// The object of the named user; a missing or malformed user id is `no_grant` (no
/// object is reached for it).
fn vault_of(env: &Env, user: Option<&str>) -> Result<VaultClient, ApiError> {
    let user = user.map(str::trim).filter(|user| is_user_id(user));
    VaultClient::for_user(env, user.ok_or_else(ApiError::no_grant)?)
}
