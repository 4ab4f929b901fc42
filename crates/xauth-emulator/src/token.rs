//! `POST /2/oauth2/token` (RFC 6749 §4.1.3, §6) and `POST /2/oauth2/revoke` (RFC 7009).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::EmulatorConfig;
use crate::authorize::is_pkce_value;
use crate::http::{
    apply_fault, is_form, json_response, missing, not_a_form, oauth_error, parse_form,
};
use crate::server::CloseConnection;
use crate::store::{ChallengeMethod, Endpoint, Shared};

type Form = HashMap<String, String>;

const INVALID_CODE: &str = "Value passed for the authorization code was invalid.";
const INVALID_TOKEN: &str = "Value passed for the token was invalid.";

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    {
        let mut store = shared.store();
        store.stats.token += 1;
        let grant = match form
            .as_ref()
            .ok()
            .and_then(|f| f.get("grant_type"))
            .map(String::as_str)
        {
            Some("authorization_code") => "authorization_code",
            Some("refresh_token") => "refresh_token",
            _ => "other",
        };
        *store.stats.token_by_grant.entry(grant).or_default() += 1;
    }
    if let Some(faulted) = apply_fault(&shared, Endpoint::Token, close).await {
        return faulted;
    }
    if !is_form(&headers) {
        return not_a_form();
    }
    let form = match form {
        Ok(form) => form,
        Err(message) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    if let Err(refused) = authenticate(&shared.config, &headers, &form) {
        return refused;
    }
    match form.get("grant_type").map(String::as_str) {
        None => missing("grant_type"),
        Some("authorization_code") => exchange_code(&shared, &form),
        Some("refresh_token") => refresh(&shared, &form),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token.",
        ),
    }
}

fn exchange_code(shared: &Shared, form: &Form) -> Response {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        form.get("code"),
        form.get("redirect_uri"),
        form.get("code_verifier"),
    ) else {
        let name = ["code", "redirect_uri", "code_verifier"]
            .into_iter()
            .find(|name| !form.contains_key(*name))
            .unwrap_or("code");
        return missing(name);
    };
    let mut store = shared.store();
    let Some(grant) = store.codes.get_mut(code) else {
        return invalid(INVALID_CODE);
    };
    // Any attempt spends the code: one verifier guess per code.
    let first_use = !std::mem::replace(&mut grant.used, true);
    let fresh = grant.issued.elapsed() < shared.config.code_ttl;
    let proven = is_pkce_value(verifier)
        && match grant.method {
            ChallengeMethod::S256 => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == grant.challenge
            }
            ChallengeMethod::Plain => *verifier == grant.challenge,
        };
    if !(first_use && fresh && proven && grant.redirect_uri == *redirect_uri) {
        return invalid(INVALID_CODE);
    }
    let scope = grant.scope.clone();
    let user = grant.user.clone();
    let issued = store.issue(&scope, shared.config.access_ttl, &user);
    token_response(shared, &scope, issued.access, issued.refresh)
}

fn refresh(shared: &Shared, form: &Form) -> Response {
    let Some(refresh_token) = form.get("refresh_token") else {
        return missing("refresh_token");
    };
    let mut store = shared.store();
    // Rotation: the presented refresh token dies whatever happens next.
    let Some(spent) = store.refresh.remove(refresh_token) else {
        return invalid(INVALID_TOKEN);
    };
    if shared.config.strict_rotation {
        store.access.remove(&spent.access);
    }
    let issued = store.issue(&spent.scope, shared.config.access_ttl, &spent.user);
    token_response(shared, &spent.scope, issued.access, issued.refresh)
}

fn token_response(
    shared: &Shared,
    scope: &str,
    access: String,
    refresh: Option<String>,
) -> Response {
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": shared.config.access_ttl.as_secs(),
        "access_token": access,
        "scope": scope,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    json_response(StatusCode::OK, body)
}

pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    close: Option<Extension<CloseConnection>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.store().stats.revoke += 1;
    if let Some(faulted) = apply_fault(&shared, Endpoint::Revoke, close).await {
        return faulted;
    }
    if !is_form(&headers) {
        return not_a_form();
    }
    let form = match parse_form(&body) {
        Ok(form) => form,
        Err(message) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    if let Err(refused) = authenticate(&shared.config, &headers, &form) {
        return refused;
    }
    let Some(token) = form.get("token") else {
        return missing("token");
    };
    match form.get("token_type_hint").map(String::as_str) {
        None | Some("access_token" | "refresh_token") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "token_type_hint must be access_token or refresh_token.",
            );
        }
    }
    let mut store = shared.store();
    store.access.remove(token);
    // RFC 7009 §2.1: revoking a refresh token also ends the access token issued with it.
    if let Some(refresh) = store.refresh.remove(token) {
        store.access.remove(&refresh.access);
    }
    // RFC 7009 §2.2: unknown tokens are answered the same way.
    json_response(StatusCode::OK, json!({ "revoked": true }))
}

fn invalid(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Client authentication as X does it: Basic for confidential clients (each part
/// form-urlencoded before base64, RFC 6749 §2.3.1), `client_id` in the body for public ones.
fn authenticate(config: &EmulatorConfig, headers: &HeaderMap, form: &Form) -> Result<(), Response> {
    let unauthorized = |error: &str, description: &str| {
        Err(oauth_error(StatusCode::UNAUTHORIZED, error, description))
    };
    let authorization = headers.get(header::AUTHORIZATION);
    let Some(secret) = &config.client_secret else {
        if authorization.is_some() {
            return unauthorized(
                "invalid_client",
                "A public client must not send an Authorization header.",
            );
        }
        return match form.get("client_id") {
            None => Err(missing("client_id")),
            Some(id) if *id == config.client_id => Ok(()),
            Some(_) => unauthorized("invalid_client", "Client authentication failed."),
        };
    };
    let Some((id, presented)) = authorization
        .and_then(|value| value.to_str().ok())
        .and_then(parse_basic)
    else {
        return unauthorized("unauthorized_client", "Missing valid authorization header");
    };
    if form.contains_key("client_secret") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Use one client authentication method: Basic, not client_secret in the body.",
        ));
    }
    let body_id_matches = form.get("client_id").is_none_or(|body_id| *body_id == id);
    if id != config.client_id || presented != *secret || !body_id_matches {
        return unauthorized("invalid_client", "Client authentication failed.");
    }
    Ok(())
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` -> (id, secret).
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(credentials.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_parts_are_form_decoded() {
        // "a b:c%3Ad" with the id's space as '+' and the secret's colon escaped.
        let header = format!("Basic {}", STANDARD.encode("a+b:c%3Ad"));
        assert_eq!(parse_basic(&header), Some(("a b".into(), "c:d".into())));
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".as_bytes(),
        ));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
