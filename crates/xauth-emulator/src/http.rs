//! Small HTTP helpers shared by the handlers: logging, error bodies, forms, faults.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::CloseConnection;
use crate::store::{Endpoint, FaultMode, Shared};

/// Logs `METHOD /path STATUS` to stderr. Only the path: queries carry codes and state,
/// and nothing with a token or secret is ever printed.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    eprintln!(
        "xauth-emulator: {method} {path} {}",
        response.status().as_u16()
    );
    response
}

/// Counts X API v2 requests (`/2/...`, not the OAuth 2.0 endpoints under `/2/oauth2/`) that
/// carry a `Cookie` header: X's API takes none, so one arriving here was passed on by a
/// proxy that should not have.
pub(crate) async fn count_cookies(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_api = path.starts_with("/2/") && !path.starts_with("/2/oauth2/");
    if is_api && request.headers().contains_key(header::COOKIE) {
        shared.store().stats.api_requests_with_cookie += 1;
    }
    next.run(request).await
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An OAuth error body, `{"error","error_description"}` (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// `400 invalid_request` for a missing parameter, worded like X.
pub(crate) fn missing(name: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Missing required parameter [{name}]."),
    )
}

/// An X API v2 problem body (`application/problem+json`).
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "title": title,
        "type": "about:blank",
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// A redirect to `uri` with `params` added to its query.
pub(crate) fn redirect(status: StatusCode, uri: &str, params: &[(&str, &str)]) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{query}");
    (
        status,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// Parses `application/x-www-form-urlencoded` data; a repeated parameter is refused
/// (RFC 6749 §3.1, §3.2).
pub fn parse_form(data: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(data) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(format!("Parameter [{name}] was repeated."));
        }
    }
    Ok(params)
}

/// Whether the request body is declared as a form.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The standard refusal of a body that is not a form.
pub(crate) fn not_a_form() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Content-Type must be application/x-www-form-urlencoded.",
    )
}

/// Applies the next injected fault for `endpoint`, if any. `Some` is the faulted answer;
/// `None` means answer normally (no fault, or a `slow` one that has already waited).
/// A `close` fault never returns: the connection is dropped under it.
pub(crate) async fn apply_fault(
    shared: &Shared,
    endpoint: Endpoint,
    close: Option<Extension<CloseConnection>>,
) -> Option<Response> {
    let fault = {
        let mut store = shared.store();
        let fault = store.take_fault(endpoint)?;
        store.stats.faults_served += 1;
        fault
    };
    match fault.mode {
        FaultMode::ServerError => Some(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "Internal Server Error",
        )),
        FaultMode::TooManyRequests => {
            let mut response = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
            );
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
            headers.insert("x-rate-limit-limit", HeaderValue::from_static("900"));
            headers.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
            headers.insert(
                "x-rate-limit-reset",
                HeaderValue::from(unix_now().saturating_add(7)),
            );
            Some(response)
        }
        FaultMode::Unauthorized => Some(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
        )),
        FaultMode::Forbidden => Some(problem(StatusCode::FORBIDDEN, "Forbidden", "Forbidden")),
        FaultMode::Garbage => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html>oops",
            )
                .into_response(),
        ),
        FaultMode::Slow => {
            tokio::time::sleep(fault.delay).await;
            None
        }
        FaultMode::SlowBody => {
            if let Some(Extension(connection)) = &close {
                connection.delay_body(fault.delay);
            }
            None
        }
        FaultMode::Close => match close {
            Some(Extension(close)) => {
                eprintln!("xauth-emulator: fault: dropping the connection");
                close.close().await
            }
            // Served by another server than ours: the fault cannot be honoured.
            None => None,
        },
    }
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
