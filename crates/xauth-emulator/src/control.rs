//! The test control API under `/__emulator/`: not part of X.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::User;
use crate::http::json_response;
use crate::store::{Endpoint, Fault, FaultMode, Shared};

/// `GET /__emulator/stats`: the call counters, and the posts made (`posts`, oldest
/// first: `[{"id","text"}]`).
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store();
    let mut body = serde_json::to_value(&store.stats).unwrap_or_default();
    if let Some(fields) = body.as_object_mut() {
        fields.insert(
            "posts".to_owned(),
            serde_json::to_value(&store.posts).unwrap_or_default(),
        );
    }
    drop(store);
    json_response(StatusCode::OK, body)
}

/// `GET /__emulator/posts`: the posts [`stats`] lists, oldest first, each with its author:
/// `{"posts": [{"id","text","author_id"}]}` (the stats keep X's shape of a post).
pub(crate) async fn posts(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store();
    let posts: Vec<_> = store
        .posts
        .iter()
        .map(|post| json!({ "id": post.id, "text": post.text, "author_id": post.author_id }))
        .collect();
    drop(store);
    json_response(StatusCode::OK, json!({ "posts": posts }))
}

/// `POST /__emulator/reset`: zero the counters, forget the posts, drop pending faults.
pub(crate) async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.store().reset();
    json_response(StatusCode::OK, json!({ "reset": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRequest {
    endpoint: Endpoint,
    mode: FaultMode,
    #[serde(default = "one")]
    count: u32,
    #[serde(default = "default_delay_ms")]
    delay_ms: u64,
}

fn one() -> u32 {
    1
}

fn default_delay_ms() -> u64 {
    2000
}

/// `POST /__emulator/faults`: the next `count` calls to `endpoint` fail as `mode` says.
/// Faults queue up in the order they are posted.
pub(crate) async fn faults(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<FaultRequest>,
) -> Response {
    shared.store().push_fault(
        request.endpoint,
        Fault {
            mode: request.mode,
            count: request.count,
            delay: Duration::from_millis(request.delay_ms),
        },
    );
    json_response(StatusCode::OK, json!({ "queued": request.count }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpireRequest {
    access_token: Option<String>,
}

/// `POST /__emulator/expire`: `{"access_token": "…"}` expires that access token now; an
/// empty body or `{}` expires every access token. Refresh tokens stay valid.
pub(crate) async fn expire(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: ExpireRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExpireRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(err) => {
                return json_response(StatusCode::BAD_REQUEST, json!({ "error": err.to_string() }));
            }
        }
    };
    let now = Instant::now();
    let mut store = shared.store();
    let expired = match request.access_token {
        Some(token) => match store.access.get_mut(&token) {
            Some(access) => {
                access.expires = now;
                1
            }
            None => return json_response(StatusCode::NOT_FOUND, json!({ "expired": 0 })),
        },
        None => {
            store
                .access
                .values_mut()
                .for_each(|access| access.expires = now);
            store.access.len()
        }
    };
    json_response(StatusCode::OK, json!({ "expired": expired }))
}

/// `GET /__emulator/tokens`: the OAuth 2.0 tokens X would take now: `{"access": [...],
/// "refresh": [...]}` (live access tokens, unspent refresh tokens, each sorted). Tests use
/// it to look for tokens where none may be (a page, a response, storage on disk) and to
/// act as someone else holding the same grant.
pub(crate) async fn tokens(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store();
    let now = Instant::now();
    let mut access: Vec<&String> = store
        .access
        .iter()
        .filter(|(_, access)| now < access.expires)
        .map(|(token, _)| token)
        .collect();
    let mut refresh: Vec<&String> = store.refresh.keys().collect();
    access.sort();
    refresh.sort();
    json_response(
        StatusCode::OK,
        json!({ "access": access, "refresh": refresh }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserRequest {
    id: String,
    name: String,
    username: String,
}

/// `POST /__emulator/user`: `{"id","name","username"}` is the user behind every grant
/// authorized from now on (OAuth 2.0 codes and OAuth 1.0a approvals); codes and tokens
/// issued before keep theirs, and refreshes keep the user of the refresh token. The id is
/// X's kind (1 to 19 digits); name and username must not be empty. A reset does not change
/// it; posting the configured user goes back to it.
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<UserRequest>,
) -> Response {
    let id_ok =
        (1..=19).contains(&request.id.len()) && request.id.bytes().all(|b| b.is_ascii_digit());
    if !id_ok || request.name.is_empty() || request.username.is_empty() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "id must be 1 to 19 digits; name and username must not be empty" }),
        );
    }
    let user = User {
        id: request.id,
        name: request.name,
        username: request.username,
    };
    let body = json!({ "user": { "id": user.id, "name": user.name, "username": user.username } });
    let mut store = shared.store();
    store.users.retain(|known| known.id != user.id);
    store.users.push(user.clone());
    store.user = Some(user);
    drop(store);
    json_response(StatusCode::OK, body)
}
