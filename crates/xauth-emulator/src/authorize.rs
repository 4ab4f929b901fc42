//! `GET /i/oauth2/authorize` and its consent form (RFC 6749 §4.1.1-4.1.2, RFC 7636 §4.3).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::http::{escape_html, parse_form, redirect};
use crate::store::{ChallengeMethod, Code, Shared, random_token};
use crate::{Decision, EmulatorConfig, KNOWN_SCOPES};

/// The parameters X's authorize endpoint reads, in the order the consent form repeats them.
const PARAMS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// An authorization request that passed every check.
struct Valid {
    redirect_uri: String,
    scope: String,
    state: String,
    challenge: String,
    method: ChallengeMethod,
}

pub(crate) async fn page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    shared.store().stats.authorize += 1;
    let params = match parse_form(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(message) => return error_page(&message),
    };
    let valid = match validate(&shared.config, &params) {
        Ok(valid) => valid,
        Err(response) => return response,
    };
    if valid.method == ChallengeMethod::Plain {
        eprintln!("xauth-emulator: warning: code_challenge_method=plain (use S256)");
        shared.store().stats.pkce_plain += 1;
    }
    let decision = match params.get("decision").map(String::as_str) {
        Some("approve") => Some(Decision::Approve),
        Some("deny") => Some(Decision::Deny),
        Some(_) => return error_page("decision must be approve or deny."),
        None => shared.config.auto_decision,
    };
    match decision {
        Some(decision) => decide(&shared, valid, decision, StatusCode::FOUND),
        None => consent_page(&shared, &params, &valid),
    }
}

pub(crate) async fn decision(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.store().stats.authorize_decision += 1;
    let params = match parse_form(&body) {
        Ok(params) => params,
        Err(message) => return error_page(&message),
    };
    let valid = match validate(&shared.config, &params) {
        Ok(valid) => valid,
        Err(response) => return response,
    };
    let decision = match params.get("decision").map(String::as_str) {
        Some("approve") => Decision::Approve,
        Some("deny") => Decision::Deny,
        _ => return error_page("decision must be approve or deny."),
    };
    decide(&shared, valid, decision, StatusCode::SEE_OTHER)
}

/// Checks a request like X does. A bad client or redirect URI gets an HTML page (never
/// a redirect to an unverified URI); everything else is reported to the redirect URI.
fn validate(config: &EmulatorConfig, params: &HashMap<String, String>) -> Result<Valid, Response> {
    let get = |name: &str| params.get(name).map(String::as_str);
    if get("client_id") != Some(config.client_id.as_str()) {
        return Err(error_page("The client_id is missing or not registered."));
    }
    let redirect_uri = match get("redirect_uri") {
        Some(uri) if config.redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
        _ => {
            return Err(error_page(
                "The redirect_uri is missing or does not match a registered callback exactly.",
            ));
        }
    };
    let state = get("state");
    let fail = |error: &str, description: &str| {
        let mut query = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            query.push(("state", state));
        }
        Err(redirect(StatusCode::FOUND, &redirect_uri, &query))
    };
    if get("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code.");
    }
    let state = match state {
        None | Some("") => return fail("invalid_request", "Missing required parameter [state]."),
        Some(state) if state.chars().count() > 500 => {
            return fail("invalid_request", "state must be at most 500 characters.");
        }
        Some(state) => state.to_string(),
    };
    let scopes: Vec<&str> = get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() {
        return fail("invalid_scope", "Missing required parameter [scope].");
    }
    if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(s)) {
        return fail("invalid_scope", &format!("Unknown scope [{unknown}]."));
    }
    let Some(challenge) = get("code_challenge").filter(|c| !c.is_empty()) else {
        return fail(
            "invalid_request",
            "Missing required parameter [code_challenge].",
        );
    };
    let method = match get("code_challenge_method") {
        Some("S256") => ChallengeMethod::S256,
        Some("plain") => ChallengeMethod::Plain,
        None => {
            return fail(
                "invalid_request",
                "Missing required parameter [code_challenge_method].",
            );
        }
        Some(_) => return fail("invalid_request", "code_challenge_method must be S256."),
    };
    if !is_pkce_value(challenge) {
        return fail(
            "invalid_request",
            "code_challenge must be 43-128 characters of [A-Za-z0-9-._~].",
        );
    }
    Ok(Valid {
        redirect_uri,
        scope: scopes.join(" "),
        state,
        challenge: challenge.to_string(),
        method,
    })
}

/// RFC 7636 §4.1-4.2: 43-128 unreserved characters (verifiers and challenges alike).
pub(crate) fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn decide(shared: &Shared, valid: Valid, decision: Decision, status: StatusCode) -> Response {
    match decision {
        Decision::Deny => redirect(
            status,
            &valid.redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user denied the authorization request.",
                ),
                ("state", &valid.state),
            ],
        ),
        Decision::Approve => {
            let code = random_token(32);
            let user = shared.current_user();
            shared.store().codes.insert(
                code.clone(),
                Code {
                    redirect_uri: valid.redirect_uri.clone(),
                    scope: valid.scope,
                    challenge: valid.challenge,
                    method: valid.method,
                    issued: Instant::now(),
                    used: false,
                    user,
                },
            );
            redirect(
                status,
                &valid.redirect_uri,
                &[("state", &valid.state), ("code", &code)],
            )
        }
    }
}

fn consent_page(shared: &Shared, params: &HashMap<String, String>, valid: &Valid) -> Response {
    let hidden: String = PARAMS
        .iter()
        .filter_map(|name| {
            let value = params.get(*name)?;
            Some(format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape_html(value)
            ))
        })
        .collect();
    let scopes: String = valid
        .scope
        .split(' ')
        .map(|s| format!("<li><code>{}</code></li>", escape_html(s)))
        .collect();
    let app = escape_html(&shared.config.client_id);
    let user = escape_html(&shared.current_user().username);
    let host = escape_html(&valid.redirect_uri);
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {app} - X emulator</title></head>
<body>
<main>
<h1><strong>{app}</strong> wants to access your X account</h1>
<p>Signed in as <strong>@{user}</strong> (local X emulator, not X).</p>
<h2 id="scopes-heading">It will be able to</h2>
<ul aria-labelledby="scopes-heading">{scopes}</ul>
<p>You will be sent back to <code>{host}</code>.</p>
<form method="post" action="/i/oauth2/authorize/decision">
{hidden}
<button type="submit" id="authorize" name="decision" value="approve">Authorize app</button>
<button type="submit" id="cancel" name="decision" value="deny">Cancel</button>
</form>
</main>
</body>
</html>
"#
    ))
    .into_response()
}

/// X's dead end for a request that cannot be sent back to the client.
pub(crate) fn error_page(message: &str) -> Response {
    let message = escape_html(message);
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Something went wrong - X emulator</title></head>
<body><main role="alert">
<h1>Something went wrong</h1>
<p>You weren't able to give access to the App. Go back and try logging in again.</p>
<p id="reason">{message}</p>
</main></body>
</html>
"#
        )),
    )
        .into_response()
}
