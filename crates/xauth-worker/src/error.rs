//! The one error type of the worker and the one place that turns it into a JSON response.
//!
//! Every answer that is not a success is `{error, error_description, kind?}`; messages are
//! written here or taken from X, and never contain a secret or a token.

use serde::Serialize;
use xauth_core::{ErrorKind, XError};

/// An error answer: HTTP status, a stable `error` code, a human description.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
    pub description: String,
    pub kind: Option<ErrorKind>,
    /// Passed on from X's 429 so the caller knows when to come back.
    pub retry_after: Option<String>,
    /// Methods to list in `Allow` on a 405.
    pub allow: Option<&'static str>,
    /// More headers: a `Set-Cookie` clearing a spent OAuth 1.0a sign-in, the
    /// `x-rate-limit-*` headers of a forwarded call's 429 or 401, `WWW-Authenticate`.
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, error: &str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.to_owned(),
            description: description.into(),
            kind: None,
            retry_after: None,
            allow: None,
            headers: Vec::new(),
        }
    }

    /// The same error, also setting (usually clearing) a cookie.
    pub fn with_cookie(mut self, set_cookie: String) -> ApiError {
        self.headers.push(("set-cookie", set_cookie));
        self
    }

    /// A 400 about the caller's OAuth 1.0a sign-in: `error` is a stable code such as
    /// `no_pending_sign_in`, and the kind says to start the sign-in again.
    pub fn sign_in_refused(error: &str, description: impl Into<String>) -> ApiError {
        let mut refused = ApiError::new(400, error, description);
        refused.kind = Some(ErrorKind::Reauthorize);
        refused
    }

    /// A 403 for an X API path the worker does not forward, whoever asks.
    pub fn path_not_allowed() -> ApiError {
        ApiError::new(
            403,
            "path_not_allowed",
            "The worker forwards only the X API paths in TWITTER_API_PATHS (with the caller's bearer token) and GETs of TWITTER_PUBLIC_READ_PATHS (without one).",
        )
    }

    /// A 401 for an X API call that needs the caller's bearer token and came without one
    /// (RFC 6750 §3: `WWW-Authenticate: Bearer`). Signing in gets one.
    pub fn missing_token() -> ApiError {
        let mut error = ApiError::new(
            401,
            "missing_token",
            "This X API call needs the signed-in user's access token: send Authorization: Bearer <token>.",
        );
        error.kind = Some(ErrorKind::Reauthorize);
        error
            .headers
            .push(("www-authenticate", "Bearer".to_owned()));
        error
    }

    /// A 401 for an `Authorization` header that is not a usable bearer token (another
    /// scheme, or no token text); nothing was sent to X (RFC 6750 §3.1).
    pub fn invalid_token() -> ApiError {
        let mut error = ApiError::new(
            401,
            "invalid_token",
            "The Authorization header must be Bearer followed by the user's access token.",
        );
        error.kind = Some(ErrorKind::Reauthorize);
        error.headers.push((
            "www-authenticate",
            r#"Bearer error="invalid_token""#.to_owned(),
        ));
        error
    }

    /// A 401 for a service API call without the service token (`XAUTH_SERVICE_TOKEN`) as
    /// its bearer token; nothing reached a user's object or X.
    pub fn invalid_service_token() -> ApiError {
        let mut error = ApiError::new(
            401,
            "invalid_token",
            "The service API takes Authorization: Bearer <XAUTH_SERVICE_TOKEN>.",
        );
        error.headers.push((
            "www-authenticate",
            r#"Bearer error="invalid_token""#.to_owned(),
        ));
        error
    }

    /// X answered with an error of its own code (its v1.1 bodies, app-only refusals): the
    /// status is passed on for a 4xx, the kind says what to do.
    pub fn from_x_code(status: u16, error: &str, description: String, kind: ErrorKind) -> ApiError {
        let mut refused = ApiError::new(status, error, description);
        refused.kind = Some(kind);
        refused
    }

    /// A variable is missing or invalid. Names the variable, never its value.
    pub fn misconfigured(variable: &str, problem: &str) -> ApiError {
        let mut error = ApiError::new(
            500,
            "server_misconfigured",
            format!("The worker's {variable} {problem}."),
        );
        error.kind = Some(ErrorKind::Misconfigured);
        error
    }

    pub fn bad_request(description: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request", description)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "not_found", "No such route.")
    }

    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        let mut error = ApiError::new(
            405,
            "method_not_allowed",
            format!("This route accepts {allow}."),
        );
        error.allow = Some(allow);
        error
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            413,
            "payload_too_large",
            format!("The request body is over {limit} bytes."),
        )
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            415,
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        )
    }

    pub fn origin_not_allowed() -> ApiError {
        ApiError::new(
            403,
            "origin_not_allowed",
            "This origin is not in the worker's ALLOWED_ORIGINS.",
        )
    }

    /// X said yes (2xx) to a token request but its answer cannot be used: whatever it
    /// issued is lost. Distinct from [`ApiError::upstream_unavailable`] because X may have
    /// spent the code or the refresh token that was sent.
    pub fn token_answer_unusable(reason: &str) -> ApiError {
        let mut error = ApiError::new(
            502,
            "x_token_unusable",
            format!("X accepted the request but its token answer was unusable ({reason})."),
        );
        error.kind = Some(ErrorKind::Transient);
        error
    }

    /// A 429 from the worker's own per-client limit (not X's): `Retry-After` says when.
    pub fn too_many_requests(retry_after: &str) -> ApiError {
        let mut error = ApiError::new(
            429,
            "too_many_requests",
            "Too many requests from this client: wait for Retry-After seconds.",
        );
        error.kind = Some(ErrorKind::Transient);
        error.retry_after = Some(retry_after.to_owned());
        error
    }

    /// A 401 for a cookie-authenticated request without a live session (no cookie, or one
    /// that is forged, expired, signed out or whose grant X ended): sign in again.
    pub fn no_session() -> ApiError {
        let mut error = ApiError::new(
            401,
            "no_session",
            "There is no signed-in session: sign in with X again.",
        );
        error.kind = Some(ErrorKind::Reauthorize);
        error
    }

    /// A 404 for a service API call about a user whose grant is not stored (never signed
    /// in, signed out without `XAUTH_KEEP_GRANTS`, revoked, or ended by X): the user must
    /// sign in again.
    pub fn no_grant() -> ApiError {
        let mut error = ApiError::new(
            404,
            "no_grant",
            "No grant is stored for this user: they must sign in with X again.",
        );
        error.kind = Some(ErrorKind::Reauthorize);
        error
    }

    /// A 403 for a cookie-authenticated request that lacks `X-XAuth: 1` or comes from an
    /// origin outside the allowlist: what a cross-site forgery looks like.
    pub fn csrf() -> ApiError {
        ApiError::new(
            403,
            "csrf",
            "Requests with the session cookie must carry the header X-XAuth: 1 and come from this site or ALLOWED_ORIGINS.",
        )
    }

    /// A 400 for a sign-in over plain http to a host that is not loopback: the session
    /// cookie would travel in the clear.
    pub fn https_required() -> ApiError {
        ApiError::new(
            400,
            "https_required",
            "Worker custody sets its session cookie over https only (or plain http on 127.0.0.1 / localhost).",
        )
    }

    /// The error a user's Durable Object answered, rebuilt from its JSON; anything else
    /// from it is the worker's own failure.
    pub fn from_wire(status: u16, body: &[u8], retry_after: Option<String>) -> ApiError {
        #[derive(serde::Deserialize)]
        struct Wire {
            error: String,
            error_description: String,
            kind: Option<String>,
        }
        let Ok(wire) = serde_json::from_slice::<Wire>(body) else {
            return ApiError::internal("The user's vault answered something unexpected.");
        };
        let mut error = ApiError::new(status, &wire.error, wire.error_description);
        error.kind = wire.kind.as_deref().and_then(ErrorKind::parse);
        error.retry_after = retry_after;
        error
    }

    /// X could not be used: unreachable, too slow, 5xx or an answer that is not X's.
    pub fn upstream_unavailable(description: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(502, "x_unavailable", description);
        error.kind = Some(ErrorKind::Transient);
        error
    }

    /// Something the worker itself did wrong at run time (not the caller's input).
    pub fn internal(description: impl Into<String>) -> ApiError {
        ApiError::new(500, "internal_error", description)
    }

    /// X answered with an error: keep X's code and description, and say what a caller can do.
    pub fn from_x(x: XError, retry_after: Option<String>) -> ApiError {
        let status = match x.kind {
            // 429 is passed on so the caller backs off; any other transient failure is X's fault.
            ErrorKind::Transient if x.status == 429 => 429,
            ErrorKind::Transient => 502,
            _ if (400..500).contains(&x.status) => x.status,
            _ => 502,
        };
        let mut error = ApiError::new(
            status,
            &x.error,
            x.description
                .unwrap_or_else(|| format!("X answered HTTP {}.", x.status)),
        );
        error.kind = Some(x.kind);
        error.retry_after = retry_after.filter(|_| status == 429);
        error
    }

    /// The JSON body of this error.
    pub fn body(&self) -> String {
        let body = ErrorBody {
            error: &self.error,
            error_description: &self.description,
            kind: self.kind.map(|kind| kind.as_str()),
        };
        // Serializing three strings cannot fail; the fallback keeps the JSON contract anyway.
        serde_json::to_string(&body).unwrap_or_else(|_| {
            String::from(r#"{"error":"internal_error","error_description":"unprintable error"}"#)
        })
    }
}

impl From<worker::Error> for ApiError {
    fn from(error: worker::Error) -> ApiError {
        // Runtime errors can echo request data, so the message is logged by kind only.
        worker::console_error!("runtime error: {}", error_variant(&error));
        ApiError::internal("The worker hit a runtime error.")
    }
}

fn error_variant(error: &worker::Error) -> &'static str {
    match error {
        worker::Error::JsError(_) => "JsError",
        worker::Error::Json(_) => "Json",
        worker::Error::SerdeJsonError(_) => "SerdeJson",
        _ => "other",
    }
}
