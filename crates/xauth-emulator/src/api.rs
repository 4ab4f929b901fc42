//! X API v2: `GET /2/users/me`, `GET /2/tweets/:id`, `GET /2/users/:id`, `POST /2/tweets`,
//! `DELETE /2/tweets/:id`, and the answer for unknown paths.
//!
//! Every answer that is not an injected fault carries what X sends: the `x-rate-limit-*`
//! headers of the endpoint, and a `guest_id` cookie for `.x.com` (a proxy must not pass it
//! on to its callers).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::User;
use crate::http::{apply_fault, json_response, problem, unix_now};
use crate::server::CloseConnection;
use crate::store::{Endpoint, Shared, Stats};

/// The scopes X requires for `/2/users/me`.
const USERS_ME_SCOPES: [&str; 2] = ["tweet.read", "users.read"];
/// The scopes X requires to post or delete (X's rule: all three).
const TWEET_WRITE_SCOPES: [&str; 3] = ["tweet.read", "tweet.write", "users.read"];

/// X's answer for a tweet text it will not post twice.
const DUPLICATE_CONTENT: &str = "You are not allowed to create a Tweet with duplicate content.";

/// A user-context endpoint: what it counts, which fault queue it takes, the scopes X
/// requires and the per-user limit per 15-minute window the emulator advertises.
struct UserCall {
    endpoint: Endpoint,
    counter: fn(&mut Stats) -> &mut u64,
    scopes: &'static [&'static str],
    limit: u32,
}

const USERS_ME: UserCall = UserCall {
    endpoint: Endpoint::UsersMe,
    counter: |s| &mut s.users_me,
    scopes: &USERS_ME_SCOPES,
    limit: 75,
};
const TWEETS_CREATE: UserCall = UserCall {
    endpoint: Endpoint::TweetsCreate,
    counter: |s| &mut s.tweets_create,
    scopes: &TWEET_WRITE_SCOPES,
    limit: 200,
};
const TWEETS_DELETE: UserCall = UserCall {
    endpoint: Endpoint::TweetsDelete,
    counter: |s| &mut s.tweets_delete,
    scopes: &TWEET_WRITE_SCOPES,
    limit: 50,
};

impl UserCall {
    /// Counts the call, serves a queued fault, applies X's user-context rules, and only
    /// then asks `answer`, with the token's user; every answer but a fault gets X's
    /// headers.
    async fn answer(
        &self,
        shared: &Shared,
        close: Option<Extension<CloseConnection>>,
        headers: &HeaderMap,
        answer: impl FnOnce(User) -> Response,
    ) -> Response {
        let calls = match count_call(shared, self.endpoint, self.counter, close).await {
            Ok(calls) => calls,
            Err(faulted) => return faulted,
        };
        let mut response = match user_context(shared, headers, self.scopes) {
            Err(refused) => refused,
            Ok(user) => answer(user),
        };
        add_x_headers(&mut response, self.limit, calls);
        response
    }
}

pub(crate) async fn users_me(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
) -> Response {
    USERS_ME
        .answer(&shared, close, &headers, |user| {
            json_response(
                StatusCode::OK,
                json!({ "data": { "id": user.id, "name": user.name, "username": user.username } }),
            )
        })
        .await
}

/// `POST /2/tweets` `{"text": "..."}` as the token's user: 201 `{"data":{"id","text",
/// "edit_history_tweet_ids"}}`. Needs a live user token with [`TWEET_WRITE_SCOPES`] (the app
/// token is 403, like `users/me`), a JSON body with a non-empty `text` (400 otherwise), and
/// a text that no kept post of that user has (403, X's duplicate rule).
pub(crate) async fn create_tweet(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    TWEETS_CREATE
        .answer(&shared, close, &headers, |user| {
            post_text(&shared, &headers, &body, &user)
        })
        .await
}

/// The answer to an authorized `POST /2/tweets` by `user`.
fn post_text(shared: &Shared, headers: &HeaderMap, body: &[u8], user: &User) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return invalid_request("Requests with bodies must have content-type of application/json.");
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => match fields.get("text") {
            Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
            Some(Value::String(_)) | None => {
                return invalid_request("The `text` field is required and must not be empty.");
            }
            Some(_) => return invalid_request("The `text` field must be a string."),
        },
        Ok(_) | Err(_) => return invalid_request("The request body is not a JSON object."),
    };
    let mut store = shared.store();
    if store
        .posts
        .iter()
        .any(|post| post.text == text && post.author_id == user.id)
    {
        drop(store);
        return problem(StatusCode::FORBIDDEN, "Forbidden", DUPLICATE_CONTENT);
    }
    let post = store.add_post(&text, &user.id);
    drop(store);
    json_response(
        StatusCode::CREATED,
        json!({ "data": { "edit_history_tweet_ids": [post.id], "id": post.id, "text": post.text } }),
    )
}

/// `DELETE /2/tweets/:id` as the user: `{"data":{"deleted":true}}` for a post made here,
/// 404 for any other id, 400 for an id that is not X's. Same auth rules as
/// [`create_tweet`].
pub(crate) async fn delete_tweet(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    TWEETS_DELETE
        .answer(&shared, close, &headers, |_| delete_post(&shared, &id))
        .await
}

/// The answer to an authorized `DELETE /2/tweets/:id`.
fn delete_post(shared: &Shared, id: &str) -> Response {
    if !is_x_id(id) {
        return invalid_id(id);
    }
    let mut store = shared.store();
    let before = store.posts.len();
    store.posts.retain(|post| post.id != id);
    let deleted = store.posts.len() != before;
    drop(store);
    if deleted {
        json_response(StatusCode::OK, json!({ "data": { "deleted": true } }))
    } else {
        problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            &format!("Could not find tweet with id: [{id}]."),
        )
    }
}

/// Counts a call to `endpoint` and serves its injected fault if one is queued
/// (`Err(faulted answer)`); otherwise `Ok(calls so far)`, for the rate limit headers.
async fn count_call(
    shared: &Shared,
    endpoint: Endpoint,
    counter: fn(&mut Stats) -> &mut u64,
    close: Option<Extension<CloseConnection>>,
) -> Result<u64, Response> {
    let calls = {
        let mut store = shared.store();
        let counter = counter(&mut store.stats);
        *counter += 1;
        *counter
    };
    match apply_fault(shared, endpoint, close).await {
        Some(faulted) => Err(faulted),
        None => Ok(calls),
    }
}

/// X's rules for a user-context endpoint: the app-only token is 403 (it names no user), no
/// live user access token is 401, a token without every one of `scopes` is 403. The user
/// the token was issued for.
fn user_context(shared: &Shared, headers: &HeaderMap, scopes: &[&str]) -> Result<User, Response> {
    let bearer = bearer(headers);
    let store = shared.store();
    if bearer.is_some() && bearer == store.app_token {
        drop(store);
        return Err(problem(
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        ));
    }
    let access = bearer.and_then(|token| {
        let access = store.live_access(&token)?;
        Some((access.scope.clone(), access.user.clone()))
    });
    drop(store);
    let Some((scope, user)) = access else {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
        ));
    };
    let granted: Vec<&str> = scope.split(' ').collect();
    match scopes.iter().find(|s| !granted.contains(s)) {
        Some(lacking) => Err(problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("The access token lacks the scope [{lacking}] this endpoint requires."),
        )),
        None => Ok(user),
    }
}

/// X's 400 for a request it cannot read, with `message` saying what is wrong.
fn invalid_request(message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [{ "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    )
}

/// X's 400 for an id that is not one of its ids.
fn invalid_id(id: &str) -> Response {
    json_response(
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
    )
}

/// X's ids: 1 to 19 digits.
fn is_x_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
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

/// `GET /2/users/:id`: `{"data":{"id","name","username"}}` (the configured user, or one
/// set with `POST /__emulator/user`, for its id; a made-up one for any other), with the
/// same rules as [`tweet`].
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let known = shared.known_user(&id);
    let lookup = Lookup {
        endpoint: Endpoint::UsersLookup,
        counter: |stats| &mut stats.users_lookup,
    };
    lookup.answer(&shared, close, &headers, &id, |id| {
        if let Some(known) = known {
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
        let calls = match count_call(shared, self.endpoint, self.counter, close).await {
            Ok(calls) => calls,
            Err(faulted) => return faulted,
        };
        let mut response = authorized_lookup(shared, headers, id, data);
        add_x_headers(&mut response, LOOKUP_LIMIT, calls);
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
    if !is_x_id(id) {
        return invalid_id(id);
    }
    json_response(StatusCode::OK, data(id))
}

/// What X adds to its API answers: the rate limit headers (a 15-minute window of `limit`
/// calls, `calls` spent) and a `guest_id` cookie for `.x.com`.
fn add_x_headers(response: &mut Response, limit: u32, calls: u64) {
    let now = unix_now();
    let reset = (now / WINDOW_SECS + 1) * WINDOW_SECS;
    let remaining = u64::from(limit).saturating_sub(calls);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", u64::from(limit)),
        ("x-rate-limit-remaining", remaining),
        ("x-rate-limit-reset", reset),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    let guest = format!(
        "guest_id=v1%3A{now}000000; Max-Age=34214400; Path=/; Domain=.x.com; Secure; SameSite=None"
    );
    if let Ok(cookie) = HeaderValue::from_str(&guest) {
        headers.insert(header::SET_COOKIE, cookie);
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
