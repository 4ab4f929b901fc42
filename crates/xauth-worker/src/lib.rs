//! xauth-worker: the server half of "Sign in with X", as a Cloudflare Worker.
//!
//! It holds the client secret and does what a browser cannot: the Basic-authenticated code
//! exchange, refresh and revoke against X's token endpoints (which answer no CORS request).
//! Who keeps a signed-in user's tokens is `XAUTH_TOKEN_CUSTODY`: in `browser` custody (the
//! default) each answer goes straight back to the page; in `worker` custody they stay in
//! one Durable Object per user ([`GrantVault`]) and the page holds a session cookie.
//!
//! Routes: `GET /twitter-config`, `POST /twitter-access-token`, `POST /twitter-refresh-token`
//! (browser custody), `POST /twitter-revoke-token`, `GET /twitter-session` and
//! `POST /twitter-sign-out` (worker custody) (OAuth 2.0); `POST /twitter-oauth1/request-token`,
//! `POST /twitter-oauth1/access-token`, `GET /twitter-oauth1/session`,
//! `POST /twitter-oauth1/sign-out` (OAuth 1.0a, optional configuration);
//! `GET|POST|PUT|DELETE /twitter-api/2/<path>` (X API v2 calls with the caller's bearer
//! token, or public reads with the app's); `POST|GET /twitter-scheduled-posts` (worker
//! custody); the service API for the app's own back end (`/xauth/grants/<user id>`, and
//! X API calls as a stored user; see [`service`]). Every other path is served from the
//! static assets by the runtime before the worker runs. Mounted in an app's own workers-rs
//! Worker instead (without the default feature `worker-entry`), [`handle`] answers these
//! paths and leaves every other one to the app.

#![forbid(unsafe_code)]

mod body;
mod config;
mod cookies;
mod cors;
mod custody;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod grant;
mod incoming;
#[cfg(feature = "worker-entry")]
mod microtasks;
mod oauth1;
mod proxy;
mod public_reads;
mod rate_limit;
mod routes;
mod scheduled_posts;
mod sealed;
mod service;
mod session_cookie;
mod upkeep;
mod vault;
mod vault_key;
mod x;

#[cfg(feature = "worker-entry")]
use wasm_bindgen::prelude::*;
#[cfg(feature = "worker-entry")]
use worker::js_sys::Promise;
#[cfg(feature = "worker-entry")]
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{Env, Method, Response};

use crate::config::{Config, Custody};
use crate::error::ApiError;
use crate::incoming::Incoming;
use crate::rate_limit::Bucket;

/// The Durable Object class of worker custody: one per X user (binding `XAUTH_GRANTS`).
pub use crate::vault::GrantVault;

/// Answers xauth's routes (every path starting with `/twitter-` or `/xauth/`) inside an
/// app's own workers-rs Worker, and leaves every other request to the app (`None`):
///
/// ```ignore
/// #[event(fetch)]
/// async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
///     if let Some(answer) = xauth_worker::handle(&req, &env, &ctx).await {
///         return answer;
///     }
///     // ... the app's own routes
/// }
/// ```
///
/// The request is borrowed, not taken, so that the app still has it when xauth passes.
/// Build this crate without its default `worker-entry` feature (which exports xauth's own
/// fetch handler, and would clash with the app's), bind [`GrantVault`] as `XAUTH_GRANTS`
/// for worker custody, and set the variables the README lists.
pub async fn handle(
    req: &worker::Request,
    env: &Env,
    _ctx: &worker::Context,
) -> Option<worker::Result<Response>> {
    // The same JS request, not `Request.clone()` (the inherent `clone`), which tees the body.
    let incoming = Incoming::new(Clone::clone(req.inner()));
    if !owns_path(incoming.path()) {
        return None;
    }
    // No `microtasks::prefer_promise_jobs` here: the app's own entry point has run tasks
    // already, and the queue it made must keep the `queueMicrotask` it found.
    Some(fetch(incoming, env.clone()).await)
}

/// Whether a path is one of xauth's: its routes, its service API, or a 404 of its own.
fn owns_path(path: &str) -> bool {
    path.starts_with("/twitter-") || path.starts_with("/xauth/")
}

/// The fetch handler's export, as `#[event(fetch)]` would write it (worker-build's shim
/// calls the export named `fetch` with the request, `env` and the context), but with
/// [`microtasks::prefer_promise_jobs`] before the isolate's first task. Only in xauth's
/// own Worker (feature `worker-entry`): a Worker that mounts xauth has its own.
#[cfg(feature = "worker-entry")]
#[wasm_bindgen(js_name = fetch)]
pub fn fetch_export(req: worker::web_sys::Request, env: Env, _ctx: JsValue) -> Promise {
    microtasks::prefer_promise_jobs();
    future_to_promise(async move {
        let response = match fetch(Incoming::new(req), env).await {
            Ok(response) => worker::web_sys::Response::from(response),
            // Building the answer's headers failed: nothing is left to answer with JSON.
            Err(_) => {
                worker::console_error!("the answer could not be built");
                let init = worker::web_sys::ResponseInit::new();
                init.set_status(500);
                worker::web_sys::Response::new_with_opt_str_and_init(
                    Some("INTERNAL SERVER ERROR"),
                    &init,
                )?
            }
        };
        Ok(response.into())
    })
}

async fn fetch(req: Incoming, env: Env) -> worker::Result<Response> {
    let method = req.method();
    let path = req.path();
    let (caller, outcome) = match Config::of(&env) {
        // Server to server: no Origin check, no CORS headers, no cookies.
        Ok(config) if service::is_service_call(&req, path, &config) => (
            None,
            service::handle(&req, method, path, &config, &env).await,
        ),
        Ok(config) => match cors::check_origin(&req, &config) {
            Ok(caller) => {
                let outcome = dispatch(&req, method, path, &config, &env).await;
                (Some((caller, config.custody)), outcome)
            }
            // With the session cookie, a foreign origin is a cross-site forgery attempt.
            Err(_) if config.custody == Custody::Worker && custody::carries_cookie(&req) => {
                (None, Err(ApiError::csrf()))
            }
            Err(refused) => (None, Err(refused)),
        },
        Err(misconfigured) => (None, Err(misconfigured)),
    };
    let response = match outcome {
        Ok(response) => response,
        Err(error) => error_response(&error)?,
    };
    // Method, path and status only: bodies and headers carry codes and tokens.
    let logged_method = method.map_or("(other method)", |m| m.as_ref());
    worker::console_log!("{} {} {}", logged_method, path, response.status_code());
    Ok(cors::finish(response, caller.as_ref()))
}

/// The route table. A `match` rather than `worker::Router`, because the router answers
/// unknown paths and wrong methods in plain text and every answer here is JSON.
async fn dispatch(
    req: &Incoming,
    method: Option<&Method>,
    path: &str,
    config: &Config,
    env: &Env,
) -> Result<Response, ApiError> {
    let worker_custody = config.custody == Custody::Worker;
    let allowed = match path {
        "/twitter-config" | "/twitter-oauth1/session" => "GET",
        "/twitter-session" if worker_custody => "GET",
        "/twitter-access-token"
        | "/twitter-revoke-token"
        | "/twitter-oauth1/request-token"
        | "/twitter-oauth1/access-token"
        | "/twitter-oauth1/sign-out" => "POST",
        "/twitter-sign-out" if worker_custody => "POST",
        "/twitter-scheduled-posts" if worker_custody => "GET, POST",
        // In worker custody the page has no refresh token to redeem.
        "/twitter-refresh-token" if !worker_custody => "POST",
        _ if path.starts_with(proxy::PREFIX) => proxy::METHODS,
        _ => return Err(ApiError::not_found()),
    };
    let Some(method) = method else {
        return Err(ApiError::method_not_allowed(allowed));
    };
    let calls_x_token_endpoint = matches!(
        path,
        "/twitter-access-token"
            | "/twitter-refresh-token"
            | "/twitter-revoke-token"
            | "/twitter-oauth1/request-token"
            | "/twitter-oauth1/access-token"
    );
    if calls_x_token_endpoint && *method == Method::Post {
        rate_limit::check(env, req, Bucket::TokenRoutes).await?;
    }
    match (method, path) {
        (Method::Options, _) => Ok(cors::preflight()?),
        (Method::Get, "/twitter-config") => routes::twitter_config(config),
        (Method::Post, "/twitter-access-token") if worker_custody => {
            custody::access_token(req, config, env).await
        }
        (Method::Post, "/twitter-access-token") => routes::access_token(req, config).await,
        (Method::Post, "/twitter-refresh-token") => routes::refresh_token(req, config).await,
        (Method::Post, "/twitter-revoke-token") if worker_custody => {
            custody::revoke(req, config, env).await
        }
        (Method::Post, "/twitter-revoke-token") => routes::revoke_token(req, config).await,
        (Method::Get, "/twitter-session") => custody::session(req, config, env).await,
        (Method::Post, "/twitter-sign-out") => custody::sign_out(req, config, env).await,
        (Method::Post, "/twitter-scheduled-posts") => {
            custody::schedule_post(req, config, env).await
        }
        (Method::Get, "/twitter-scheduled-posts") => {
            custody::scheduled_posts(req, config, env).await
        }
        (Method::Post, "/twitter-oauth1/request-token") => oauth1::request_token(req, config).await,
        (Method::Post, "/twitter-oauth1/access-token") => {
            oauth1::access_token(req, config, env).await
        }
        (Method::Get, "/twitter-oauth1/session") => oauth1::session(req, config, env).await,
        (Method::Post, "/twitter-oauth1/sign-out") => oauth1::sign_out(req, config, env).await,
        (Method::Get | Method::Post | Method::Put | Method::Delete, _)
            if path.starts_with(proxy::PREFIX) =>
        {
            proxy::forward(req, method, config, env).await
        }
        _ => Err(ApiError::method_not_allowed(allowed)),
    }
}

/// The time now, in Unix seconds (the platform's clock; in a Worker it advances only
/// across I/O, which is all the precision sign-in needs).
pub(crate) fn now_unix_secs() -> u64 {
    worker::Date::now().as_millis() / 1000
}

/// The JSON answer of an error, with its headers (`Retry-After`, `Allow`, cookies, ...).
pub(crate) fn error_response(error: &ApiError) -> worker::Result<Response> {
    let mut response = Response::builder()
        .with_status(error.status)
        .with_header("content-type", "application/json")?;
    if let Some(retry_after) = &error.retry_after {
        response = response.with_header("retry-after", retry_after)?;
    }
    if let Some(allow) = error.allow {
        response = response.with_header("allow", allow)?;
    }
    for (name, value) in &error.headers {
        response = response.with_header(name, value)?;
    }
    Ok(response.fixed(error.body().into_bytes()))
}
