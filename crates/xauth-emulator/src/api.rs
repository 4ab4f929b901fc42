//! X API v2 reads: `GET /2/users/me`, `GET /2/tweets/:id`, `GET /2/users/:id`, and the
//! answer for unknown paths.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::http::{apply_fault, json_response, problem};
use crate::server::CloseConnection;
use crate::store::{Endpoint, Shared, Stats};

/// The scopes X requires for `/2/users/me`.
const REQUIRED_SCOPES: [&str; 2] = ["tweet.read", "users.read"];

pub(crate) async fn users_me(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
) -> Response {
    shared.store().stats.users_me += 1;
    if let Some(faulted) = apply_fault(&shared, Endpoint::UsersMe, close).await {
        return faulted;
    }
    let bearer = bearer(&headers);
    let store = shared.store();
    if bearer.is_some() && bearer == store.app_token {
        drop(store);
        // X: an app-only token names no user.
        return problem(
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        );
    }
    let scope = bearer.and_then(|token| store.live_access(&token).map(str::to_string));
    drop(store);
    let Some(scope) = scope else {
        return problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    };
    let granted: Vec<&str> = scope.split(' ').collect();
    if let Some(lacking) = REQUIRED_SCOPES.iter().find(|s| !granted.contains(s)) {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("The access token lacks the scope [{lacking}] this endpoint requires."),
        );
    }
    let user = &shared.config.user;
    json_response(
        StatusCode::OK,
        json!({ "data": { "id": user.id, "name": user.name, "username": user.username } }),
    )
}

/// How many lookups X allows per 15-minute window in the emulator's rate limit headers.
const LOOKUP_LIMIT: u32 = 900;
const WINDOW_SECS: u64 = 15 * 60;

/// `GET /2/tweets/:id`: `{"data":{"id","text"}}` for the app-only token or a live user
/// access token; 401 otherwise. Sends X's `x-rate-limit-*` headers.
pub(crate) async fn tweet(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lookup = Lookup {
        endpoint: Endpoint::TweetsLookup,
        counter: |stats| &mut stats.tweets_lookup,
    };
    lookup.answer(&shared, close, &headers, &id, |id| {
        json!({ "data": { "id": id, "text": format!("Tweet {id}, as the X emulator tells it.") } })
    })
    .await
}

/// `GET /2/users/:id`: `{"data":{"id","name","username"}}` (the configured user for its
/// id, a made-up one for any other), with the same rules as [`tweet`].
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let known = shared.config.user.clone();
    let lookup = Lookup {
        endpoint: Endpoint::UsersLookup,
        counter: |stats| &mut stats.users_lookup,
    };
    lookup.answer(&shared, close, &headers, &id, |id| {
        if id == known.id {
            json!({ "data": { "id": id, "name": known.name, "username": known.username } })
        } else {
            json!({ "data": { "id": id, "name": format!("X User {id}"), "username": format!("user{id}") } })
        }
    })
    .await
}

/// One kind of lookup: where its faults are injected and which counter it bumps.
struct Lookup {
    endpoint: Endpoint,
    counter: fn(&mut Stats) -> &mut u64,
}

impl Lookup {
    /// Counts the call, serves an injected fault if one is queued, and otherwise answers:
    /// 401 without the app token or a live user access token, 400 for an id that is not
    /// X's (1 to 19 digits), else `data(id)`, with X's rate limit headers.
    async fn answer(
        &self,
        shared: &Shared,
        close: Option<Extension<CloseConnection>>,
        headers: &HeaderMap,
        id: &str,
        data: impl FnOnce(&str) -> serde_json::Value,
    ) -> Response {
        let calls = {
            let mut store = shared.store();
            let counter = (self.counter)(&mut store.stats);
            *counter += 1;
            *counter
        };
        if let Some(faulted) = apply_fault(shared, self.endpoint, close).await {
            return faulted;
        }
        let mut response = authorized_lookup(shared, headers, id, data);
        add_rate_limit(&mut response, calls);
        response
    }
}

/// The answer to a lookup that was counted and not faulted.
fn authorized_lookup(
    shared: &Shared,
    headers: &HeaderMap,
    id: &str,
    data: impl FnOnce(&str) -> serde_json::Value,
) -> Response {
    let bearer = bearer(headers);
    let authorized = bearer.as_deref().is_some_and(|token| {
        let store = shared.store();
        store.app_token.as_deref() == Some(token) || store.live_access(token).is_some()
    });
    if !authorized {
        return problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "errors": [{
                    "parameters": { "id": [id] },
                    "message": format!("The `id` query parameter value [{id}] is not valid"),
                }],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }),
        );
    }
    json_response(StatusCode::OK, data(id))
}

/// X's rate limit headers: a 15-minute window of [`LOOKUP_LIMIT`] calls, `calls` spent.
fn add_rate_limit(response: &mut Response, calls: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let reset = (now / WINDOW_SECS + 1) * WINDOW_SECS;
    let remaining = u64::from(LOOKUP_LIMIT).saturating_sub(calls);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", u64::from(LOOKUP_LIMIT)),
        ("x-rate-limit-remaining", remaining),
        ("x-rate-limit-reset", reset),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
}

pub(crate) async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not Found Error",
        "Sorry, that page does not exist.",
    )
}
