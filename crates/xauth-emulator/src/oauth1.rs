//! OAuth 1.0a at X's paths (RFC 5849 §2): `POST /oauth/request_token`,
//! `GET /oauth/authorize` and `GET /oauth/authenticate` (the consent page, whose form posts
//! back to `POST /oauth/authorize`), and `POST /oauth/access_token`.
//!
//! Every signed request goes through [`verify`]. A request token is used once: the
//! access token request that names it spends it, whatever happens next.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::Decision;
use crate::authorize::error_page;
use crate::http::{apply_fault, escape_html, parse_form, redirect};
use crate::server::CloseConnection;
use crate::signature::{TokenKind, could_not_authenticate, verify, x_error};
use crate::store::{Endpoint, RequestToken, Shared, random_token};

/// X's dead end for an unknown, spent or already decided request token.
const INVALID_TOKEN_PAGE: &str = "This page is no longer valid. It looks like someone already used the token information you provided.";

/// `POST /oauth/request_token`: a request token for a signed request carrying
/// `oauth_callback`, either `oob` or a registered callback (X's portal has one callback
/// list for OAuth 1.0a and 2.0: here [`EmulatorConfig::redirect_uris`], compared without
/// their queries, since X lets the app add one).
///
/// [`EmulatorConfig::redirect_uris`]: crate::EmulatorConfig::redirect_uris
pub(crate) async fn request_token(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.store().stats.oauth1_request_token += 1;
    if let Some(faulted) = apply_fault(&shared, Endpoint::RequestToken, close).await {
        return faulted;
    }
    let verified = match verify(&shared, &method, &uri, &headers, &body, TokenKind::NoToken) {
        Ok(verified) => verified,
        Err(refused) => return refused,
    };
    let callback = match verified.get("oauth_callback") {
        None | Some("") => {
            return x_error(StatusCode::BAD_REQUEST, 215, "Bad Authentication data.");
        }
        Some("oob") => None,
        Some(url) if is_registered(&shared.config.redirect_uris, url) => Some(url.to_string()),
        Some(_) => {
            return x_error(
                StatusCode::FORBIDDEN,
                415,
                "Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings",
            );
        }
    };
    let token = random_token(32);
    let secret = random_token(32);
    shared.store().request_tokens.insert(
        token.clone(),
        RequestToken {
            secret: secret.clone(),
            consumer: shared.config.consumer_key.clone(),
            callback,
            verifier: None,
            user: None,
        },
    );
    form_response(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", "true"),
    ])
}

/// `url` without its query equals a registered callback without its query.
fn is_registered(registered: &[String], url: &str) -> bool {
    let bare = |u: &str| u.split(['?', '#']).next().unwrap_or_default().to_string();
    registered.iter().any(|r| bare(r) == bare(url))
}

/// `GET /oauth/authorize?oauth_token=…`: always the consent page (or
/// `decision=approve|deny`, or the configured automatic decision).
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    consent(&shared, query, false)
}

/// `GET /oauth/authenticate?oauth_token=…`: like `/oauth/authorize`, but approves at once
/// when the user already approved this consumer.
pub(crate) async fn authenticate(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    consent(&shared, query, true)
}

fn consent(shared: &Shared, query: Option<String>, skip_if_approved: bool) -> Response {
    shared.store().stats.oauth1_authorize += 1;
    let params = match parse_form(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(message) => return error_page(&message),
    };
    let Some(token) = pending_token(shared, &params) else {
        return error_page(INVALID_TOKEN_PAGE);
    };
    let decision = match params.get("decision").map(String::as_str) {
        Some("approve") => Some(Decision::Approve),
        Some("deny") => Some(Decision::Deny),
        Some(_) => return error_page("decision must be approve or deny."),
        None => shared.config.auto_decision,
    };
    let approved_before = skip_if_approved && {
        let store = shared.store();
        store
            .request_tokens
            .get(&token)
            .is_some_and(|t| store.approved_consumers.contains(&t.consumer))
    };
    match (decision, approved_before) {
        (Some(decision), _) => decide(shared, &token, decision, StatusCode::FOUND),
        (None, true) => decide(shared, &token, Decision::Approve, StatusCode::FOUND),
        (None, false) => consent_page(shared, &token),
    }
}

/// `POST /oauth/authorize`: the consent page's form (`oauth_token`, `decision`).
pub(crate) async fn decision(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.store().stats.oauth1_authorize_decision += 1;
    let params = match parse_form(&body) {
        Ok(params) => params,
        Err(message) => return error_page(&message),
    };
    let Some(token) = pending_token(&shared, &params) else {
        return error_page(INVALID_TOKEN_PAGE);
    };
    let decision = match params.get("decision").map(String::as_str) {
        Some("approve") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => return error_page("decision must be approve or deny."),
    };
    decide(&shared, &token, decision, StatusCode::SEE_OTHER)
}

/// The `oauth_token` parameter, if it names a request token not yet decided.
fn pending_token(shared: &Shared, params: &HashMap<String, String>) -> Option<String> {
    let token = params.get("oauth_token")?;
    let store = shared.store();
    let pending = store.request_tokens.get(token)?.verifier.is_none();
    pending.then(|| token.clone())
}

/// Approve: a verifier, sent to the callback, or shown as a PIN for `oob`. Deny: the
/// token dies and the callback gets `denied=<token>`.
fn decide(shared: &Shared, token: &str, decision: Decision, status: StatusCode) -> Response {
    let mut store = shared.store();
    if decision == Decision::Deny {
        let callback = store.request_tokens.remove(token).and_then(|t| t.callback);
        drop(store);
        return match callback {
            Some(callback) => redirect(status, &callback, &[("denied", token)]),
            None => page(
                "Access denied",
                "<p>You did not give access to the app.</p>",
            ),
        };
    }
    let user = store.current_user(&shared.config);
    let Some(request) = store.request_tokens.get_mut(token) else {
        return error_page(INVALID_TOKEN_PAGE);
    };
    let verifier = match request.callback {
        Some(_) => random_token(24),
        None => pin(),
    };
    request.verifier = Some(verifier.clone());
    request.user = Some(user);
    let callback = request.callback.clone();
    let consumer = request.consumer.clone();
    store.approved_consumers.insert(consumer);
    drop(store);
    match callback {
        Some(callback) => redirect(
            status,
            &callback,
            &[("oauth_token", token), ("oauth_verifier", &verifier)],
        ),
        None => page(
            "Authorized",
            &format!(
                "<p>Next, return to the app and enter this PIN to complete the authorization \
                 process:</p>\n<p><code id=\"pin\">{}</code></p>",
                escape_html(&verifier)
            ),
        ),
    }
}

/// A 7-digit PIN, as X shows for `oob`.
fn pin() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    format!("{:07}", u32::from_le_bytes(bytes) % 10_000_000)
}

/// `POST /oauth/access_token`: signed with the request token and its secret, with the
/// `oauth_verifier` the consent step handed out. Spends the request token.
pub(crate) async fn access_token(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.store().stats.oauth1_access_token += 1;
    if let Some(faulted) = apply_fault(&shared, Endpoint::AccessToken, close).await {
        return faulted;
    }
    let verified = match verify(
        &shared,
        &method,
        &uri,
        &headers,
        &body,
        TokenKind::RequestToken,
    ) {
        Ok(verified) => verified,
        Err(refused) => return refused,
    };
    let token = verified.get("oauth_token").unwrap_or_default();
    let mut store = shared.store();
    // Single use: any verified attempt spends the request token.
    let Some(request) = store.request_tokens.remove(token) else {
        return could_not_authenticate();
    };
    let presented = verified.get("oauth_verifier");
    if request.verifier.is_none() || request.verifier.as_deref() != presented {
        return could_not_authenticate();
    }
    let user = request.user.unwrap_or_else(|| shared.config.user.clone());
    let access = format!("{}-{}", user.id, random_token(30));
    let secret = random_token(32);
    store.oauth1_access.insert(access.clone(), secret.clone());
    drop(store);
    form_response(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &secret),
        ("user_id", &user.id),
        ("screen_name", &user.username),
    ])
}

/// A 200 `application/x-www-form-urlencoded` answer, as X's `oauth/*` endpoints give.
fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn consent_page(shared: &Shared, token: &str) -> Response {
    let app = escape_html(&shared.config.consumer_key);
    let user = escape_html(&shared.current_user().username);
    let token = escape_html(token);
    page(
        &format!("Authorize {app}"),
        &format!(
            r#"<h1><strong>{app}</strong> wants to access your X account</h1>
<p>Signed in as <strong>@{user}</strong> (local X emulator, not X).</p>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="oauth_token" value="{token}">
<button type="submit" id="authorize" name="decision" value="approve">Authorize app</button>
<button type="submit" id="cancel" name="decision" value="deny">Cancel</button>
</form>"#
        ),
    )
}

/// A 200 HTML page.
fn page(title: &str, main: &str) -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - X emulator</title></head>
<body>
<main>
{main}
</main>
</body>
</html>
"#
    ))
    .into_response()
}
