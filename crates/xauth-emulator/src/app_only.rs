//! `POST /oauth2/token`: X's app-only bearer token (OAuth 2.0 client credentials,
//! RFC 6749 §4.4) for the registered consumer.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::http::{apply_fault, is_form, json_response, parse_form};
use crate::server::CloseConnection;
use crate::store::{Endpoint, Shared, random_token};
use crate::token::parse_basic;

/// `Basic base64(urlencode(consumer key) ":" urlencode(consumer secret))` and
/// `grant_type=client_credentials` answer `{"token_type":"bearer","access_token":…}`: the
/// same token on every call, like X. Refusals are X's 403 bodies (code 99 for bad
/// credentials, 170 for a missing `grant_type`).
pub(crate) async fn app_token(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.store().stats.app_token += 1;
    if let Some(faulted) = apply_fault(&shared, Endpoint::AppToken, close).await {
        return faulted;
    }
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic);
    let config = &shared.config;
    if credentials != Some((config.consumer_key.clone(), config.consumer_secret.clone())) {
        return forbidden(
            99,
            "authenticity_token_error",
            "Unable to verify your credentials",
        );
    }
    let form = if is_form(&headers) {
        parse_form(&body).unwrap_or_default()
    } else {
        Default::default()
    };
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        None => {
            return forbidden(
                170,
                "forbidden_missing_parameter",
                "Missing required parameter: grant_type",
            );
        }
        Some(_) => {
            return forbidden(
                99,
                "authenticity_token_error",
                "Unable to verify your credentials",
            );
        }
    }
    let token = shared
        .store()
        .app_token
        .get_or_insert_with(|| format!("AAAAAAAAAAAAAAAAAAAAA{}", random_token(48)))
        .clone();
    json_response(
        StatusCode::OK,
        json!({ "token_type": "bearer", "access_token": token }),
    )
}

fn forbidden(code: u32, label: &str, message: &str) -> Response {
    json_response(
        StatusCode::FORBIDDEN,
        json!({ "errors": [{ "code": code, "label": label, "message": message }] }),
    )
}
