//! `GET /2/users/me` (X API v2) and the answer for unknown paths.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::http::{apply_fault, json_response, problem};
use crate::server::CloseConnection;
use crate::store::{Endpoint, Shared};

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
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
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

pub(crate) async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not Found Error",
        "Sorry, that page does not exist.",
    )
}
