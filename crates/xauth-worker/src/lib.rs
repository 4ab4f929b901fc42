//! xauth-worker: the server half of "Sign in with X", as a Cloudflare Worker.
//!
//! It holds the client secret and does what a browser cannot: the Basic-authenticated code
//! exchange, refresh and revoke against X's token endpoints (which answer no CORS request).
//! It does not store OAuth 2.0 tokens: each answer goes straight back to the caller.
//!
//! Routes: `GET /twitter-config`, `POST /twitter-access-token`, `POST /twitter-refresh-token`,
//! `POST /twitter-revoke-token` (OAuth 2.0); `POST /twitter-oauth1/request-token`,
//! `POST /twitter-oauth1/access-token`, `GET /twitter-oauth1/session`,
//! `POST /twitter-oauth1/sign-out` (OAuth 1.0a, optional configuration);
//! `GET|POST|PUT|DELETE /twitter-api/2/<path>` (X API v2 calls with the caller's bearer
//! token, or public reads with the app's). Every other path is served from the static
//! assets by the runtime before the worker runs.

#![forbid(unsafe_code)]

mod body;
mod config;
mod cookies;
mod cors;
mod error;
mod oauth1;
mod proxy;
mod routes;
mod sealed;
mod x;

use worker::{Context, Env, Method, Request, Response, event};

use crate::config::Config;
use crate::error::ApiError;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let method = req.method();
    let path = req.path();
    let (caller, outcome) = match Config::from_env(&env) {
        Ok(config) => match cors::check_origin(&req, &config) {
            Ok(caller) => {
                let outcome = dispatch(req, &method, &path, &config).await;
                (Some(caller), outcome)
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
    worker::console_log!("{} {} {}", method.as_ref(), path, response.status_code());
    Ok(cors::finish(response, caller.as_ref()))
}

/// The route table. A `match` rather than `worker::Router`, because the router answers
/// unknown paths and wrong methods in plain text and every answer here is JSON.
async fn dispatch(
    req: Request,
    method: &Method,
    path: &str,
    config: &Config,
) -> Result<Response, ApiError> {
    let allowed = match path {
        "/twitter-config" | "/twitter-oauth1/session" => "GET",
        "/twitter-access-token"
        | "/twitter-refresh-token"
        | "/twitter-revoke-token"
        | "/twitter-oauth1/request-token"
        | "/twitter-oauth1/access-token"
        | "/twitter-oauth1/sign-out" => "POST",
        _ if path.starts_with(proxy::PREFIX) => proxy::METHODS,
        _ => return Err(ApiError::not_found()),
    };
    match (method, path) {
        (Method::Options, _) => Ok(cors::preflight()?),
        (Method::Get, "/twitter-config") => routes::twitter_config(config),
        (Method::Post, "/twitter-access-token") => routes::access_token(req, config).await,
        (Method::Post, "/twitter-refresh-token") => routes::refresh_token(req, config).await,
        (Method::Post, "/twitter-revoke-token") => routes::revoke_token(req, config).await,
        (Method::Post, "/twitter-oauth1/request-token") => oauth1::request_token(req, config).await,
        (Method::Post, "/twitter-oauth1/access-token") => oauth1::access_token(req, config).await,
        (Method::Get, "/twitter-oauth1/session") => oauth1::session(&req, config),
        (Method::Post, "/twitter-oauth1/sign-out") => oauth1::sign_out(&req),
        (Method::Get | Method::Post | Method::Put | Method::Delete, _)
            if path.starts_with(proxy::PREFIX) =>
        {
            proxy::forward(req, config).await
        }
        _ => Err(ApiError::method_not_allowed(allowed)),
    }
}

fn error_response(error: &ApiError) -> worker::Result<Response> {
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
