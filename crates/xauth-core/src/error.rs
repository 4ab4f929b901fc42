//! Token endpoint errors (RFC 6749 §5.2, RFC 7009 §2.2.1) sorted into what the caller
//! should do, with X's quirks.

use crate::prelude::*;
use core::fmt;

use crate::encoding::contains_ignore_ascii_case;

/// An error response body (RFC 6749 §5.2), as deserialized from JSON. Unknown fields are
/// ignored, so X's API problem bodies (`title`, `detail`...) deserialize with both `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct RawErrorResponse {
    /// `error`: an RFC 6749 §5.2 code such as `invalid_grant`.
    pub error: Option<String>,
    /// `error_description`: human-readable text.
    pub error_description: Option<String>,
}

/// What the caller should do about an [`XError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The grant is dead (code spent or expired, refresh token rotated away or revoked):
    /// drop the stored tokens and send the user through sign-in again.
    Reauthorize,
    /// The app's setup is wrong (client id/secret, client type, redirect URI, scopes) or the
    /// request is malformed: retrying will not help; fix the configuration. Keep the user's
    /// tokens.
    Misconfigured,
    /// Rate limited, X is down, or the network failed: keep everything and retry later
    /// (with backoff).
    Transient,
}

impl ErrorKind {
    /// `"reauthorize"`, `"misconfigured"` or `"transient"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reauthorize => "reauthorize",
            Self::Misconfigured => "misconfigured",
            Self::Transient => "transient",
        }
    }

    /// The kind [`ErrorKind::as_str`] names; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "reauthorize" => Some(Self::Reauthorize),
            "misconfigured" => Some(Self::Misconfigured),
            "transient" => Some(Self::Transient),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified error from X's token or revocation endpoint (or the network on the way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XError {
    /// HTTP status; `0` when there was no HTTP response (see [`XError::transient`]).
    pub status: u16,
    /// The RFC 6749 §5.2 `error` code X sent, or one filled in when it sent none
    /// (`temporarily_unavailable`, `server_error`).
    pub error: String,
    /// X's `error_description` (or the caller's, for [`XError::transient`]).
    pub description: Option<String>,
    /// What to do about it.
    pub kind: ErrorKind,
}

impl XError {
    /// A [`ErrorKind::Transient`] error for a failure with no HTTP response (DNS, connection
    /// refused or reset, timeout): status `0`, error `temporarily_unavailable`.
    pub fn transient(description: impl Into<String>) -> Self {
        Self {
            status: 0,
            error: "temporarily_unavailable".to_owned(),
            description: Some(description.into()),
            kind: ErrorKind::Transient,
        }
    }
}

impl fmt::Display for XError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X answered ")?;
        f.write_str(&self.error)?;
        if let Some(description) = &self.description {
            f.write_str(": ")?;
            f.write_str(description)?;
        }
        f.write_str(" (")?;
        f.write_str(self.kind.as_str())?;
        f.write_str(")")
    }
}

impl core::error::Error for XError {}

/// Classifies a non-success answer from X's token or revocation endpoint.
///
/// `body` is the JSON body if it deserialized as a [`RawErrorResponse`] (pass `None` for an
/// empty, non-JSON or unparsable body). The rules, first match wins:
///
/// | answer | kind |
/// |---|---|
/// | status 429 or 5xx (any body) | Transient |
/// | no body, or no `error` in it | Transient |
/// | `server_error`, `temporarily_unavailable` | Transient |
/// | `invalid_grant`, `invalid_token` | Reauthorize |
/// | `invalid_request` saying the token or authorization code "was invalid" | Reauthorize |
/// | any other `invalid_request`, `invalid_client`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, unknown codes | Misconfigured |
pub fn classify_error(status: u16, body: Option<&RawErrorResponse>) -> XError {
    let error = body
        .and_then(|b| b.error.as_deref())
        .filter(|e| !e.is_empty());
    let description = body
        .and_then(|b| b.error_description.clone())
        .filter(|d| !d.is_empty());
    let kind = classify(status, error, description.as_deref());
    let error = match error {
        Some(error) => error.to_owned(),
        // Fill in the RFC 6749 §4.1.2.1 code that says what happened.
        None if status == 429 || status == 503 => "temporarily_unavailable".to_owned(),
        None => "server_error".to_owned(),
    };
    XError {
        status,
        error,
        description,
        kind,
    }
}

fn classify(status: u16, error: Option<&str>, description: Option<&str>) -> ErrorKind {
    // Rate limiting (X's token endpoint has no published limit but does answer 429) and
    // server failures say nothing about the grant or the app: the same request may succeed
    // later, whatever the body claims. Checked first so that an `invalid_grant` on a 503
    // from a confused gateway does not log the user out.
    if status == 429 || (500..=599).contains(&status) {
        return ErrorKind::Transient;
    }
    // No RFC 6749 §5.2 body: an HTML error page, a proxy or CDN answer, a captive portal,
    // an empty body. We cannot tell what is wrong, so do nothing destructive: dropping the
    // user's tokens or declaring the app broken on a guess is worse than a retry, and a
    // lasting failure still shows up as repeated transient errors.
    let Some(error) = error else {
        return ErrorKind::Transient;
    };
    match error {
        // RFC 6749 §4.1.2.1 defines these two as temporary conditions; some servers send
        // them from the token endpoint with a 4xx.
        "server_error" | "temporarily_unavailable" => ErrorKind::Transient,
        // RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked, or was
        // issued to another client. Only a new authorization helps. RFC 6750 §3.1's
        // `invalid_token` (an access token that is expired, revoked or malformed) likewise
        // means the credential is dead.
        "invalid_grant" | "invalid_token" => ErrorKind::Reauthorize,
        // X's quirk: it answers a spent (rotated) refresh token with 400 invalid_request
        // "Value passed for the token was invalid." and a reused or expired code with
        // "Value passed for the authorization code was invalid." instead of invalid_grant.
        // Those are dead grants, not malformed requests. Matched narrowly ("token was
        // invalid" does not match "token_type_hint was invalid") so that a genuinely bad
        // request is still reported as a configuration problem.
        "invalid_request" if description.is_some_and(says_grant_invalid) => ErrorKind::Reauthorize,
        // Everything else on a 4xx is about how the app is set up or how it built the
        // request: bad client id or secret or wrong client type (invalid_client,
        // unauthorized_client: X's "Missing valid authorization header"), a grant type or
        // scope the app may not use, a redirect URI that is not the registered one, a
        // missing parameter ("Missing required parameter [grant_type]."), and codes we do
        // not know. Retrying or re-authorizing the user will not fix any of these, and
        // keeping the user's tokens costs nothing.
        _ => ErrorKind::Misconfigured,
    }
}

/// X's description of a dead code or token: "... the token was invalid." or "... the
/// authorization code was invalid." (any case).
fn says_grant_invalid(description: &str) -> bool {
    contains_ignore_ascii_case(description, "token was invalid")
        || contains_ignore_ascii_case(description, "authorization code was invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: Option<&str>, description: Option<&str>) -> RawErrorResponse {
        RawErrorResponse {
            error: error.map(Into::into),
            error_description: description.map(Into::into),
        }
    }

    /// `(status, error, description) -> (kind, error code in XError)`.
    fn check(status: u16, b: Option<RawErrorResponse>, kind: ErrorKind, code: &str) {
        let e = classify_error(status, b.as_ref());
        assert_eq!(
            (e.kind, e.error.as_str(), e.status),
            (kind, code, status),
            "{status} {b:?}"
        );
    }

    #[test]
    fn table() {
        use ErrorKind::*;
        let b = |e: &str, d: &str| Some(body(Some(e), Some(d)).clone());
        let e = |e: &str| Some(body(Some(e), None));
        // Transient: rate limit, server errors, no usable body.
        check(429, None, Transient, "temporarily_unavailable");
        check(429, e("invalid_grant"), Transient, "invalid_grant");
        check(
            429,
            Some(RawErrorResponse::default()),
            Transient,
            "temporarily_unavailable",
        );
        check(500, None, Transient, "server_error");
        check(502, None, Transient, "server_error");
        check(503, None, Transient, "temporarily_unavailable");
        check(503, e("invalid_grant"), Transient, "invalid_grant");
        check(504, e("invalid_client"), Transient, "invalid_client");
        check(400, None, Transient, "server_error");
        check(
            401,
            Some(RawErrorResponse::default()),
            Transient,
            "server_error",
        );
        check(403, None, Transient, "server_error");
        check(404, None, Transient, "server_error");
        check(302, None, Transient, "server_error");
        check(400, e(""), Transient, "server_error");
        check(
            400,
            e("temporarily_unavailable"),
            Transient,
            "temporarily_unavailable",
        );
        check(400, e("server_error"), Transient, "server_error");
        // Reauthorize: dead grants.
        check(400, e("invalid_grant"), Reauthorize, "invalid_grant");
        check(401, e("invalid_token"), Reauthorize, "invalid_token");
        check(
            400,
            b("invalid_request", "Value passed for the token was invalid."),
            Reauthorize,
            "invalid_request",
        );
        check(
            400,
            b(
                "invalid_request",
                "Value passed for the authorization code was invalid.",
            ),
            Reauthorize,
            "invalid_request",
        );
        check(
            400,
            b("invalid_request", "value passed for the TOKEN WAS INVALID"),
            Reauthorize,
            "invalid_request",
        );
        // Misconfigured: the app's setup or request.
        check(
            400,
            b(
                "invalid_request",
                "Missing required parameter [grant_type].",
            ),
            Misconfigured,
            "invalid_request",
        );
        check(
            400,
            b(
                "invalid_request",
                "Value passed for the token_type_hint was invalid.",
            ),
            Misconfigured,
            "invalid_request",
        );
        check(
            400,
            b(
                "invalid_request",
                "Value passed for the redirect_uri was invalid.",
            ),
            Misconfigured,
            "invalid_request",
        );
        check(400, e("invalid_request"), Misconfigured, "invalid_request");
        check(401, e("invalid_client"), Misconfigured, "invalid_client");
        check(
            401,
            b("unauthorized_client", "Missing valid authorization header"),
            Misconfigured,
            "unauthorized_client",
        );
        check(
            400,
            e("unsupported_grant_type"),
            Misconfigured,
            "unsupported_grant_type",
        );
        check(400, e("invalid_scope"), Misconfigured, "invalid_scope");
        check(
            400,
            e("redirect_uri_mismatch"),
            Misconfigured,
            "redirect_uri_mismatch",
        );
        check(400, e("something_new"), Misconfigured, "something_new");
        check(403, e("access_denied"), Misconfigured, "access_denied");
    }

    #[test]
    fn from_json_and_helpers() {
        let raw: RawErrorResponse = serde_json::from_str(
            r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid.","x":1}"#,
        )
        .unwrap();
        let e = classify_error(400, Some(&raw));
        assert_eq!(e.kind.as_str(), "reauthorize");
        assert_eq!(
            e.description.as_deref(),
            Some("Value passed for the token was invalid.")
        );
        assert!(e.to_string().contains("invalid_request"));
        // X's API problem body: no `error`.
        let raw: RawErrorResponse = serde_json::from_str(
            r#"{"title":"Unauthorized","status":401,"detail":"Unauthorized"}"#,
        )
        .unwrap();
        assert_eq!(raw, RawErrorResponse::default());
        let t = XError::transient("connection refused");
        assert_eq!(
            (t.status, t.kind, t.error.as_str()),
            (0, ErrorKind::Transient, "temporarily_unavailable")
        );
        assert_eq!(t.description.as_deref(), Some("connection refused"));
        assert_eq!(ErrorKind::Misconfigured.as_str(), "misconfigured");
        for kind in [
            ErrorKind::Reauthorize,
            ErrorKind::Misconfigured,
            ErrorKind::Transient,
        ] {
            assert_eq!(ErrorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ErrorKind::parse("Transient"), None);
    }
}
