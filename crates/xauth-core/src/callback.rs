//! The authorization response: X's redirect back to the app (RFC 6749 §4.1.2, §4.1.2.1).

use crate::prelude::*;
use core::fmt;

use crate::encoding::{before_any, form_pairs, split_at_byte};
use crate::secrets::AuthorizationCode;
use crate::state::CsrfToken;

/// Longest callback input accepted (bytes). X's callback carries a code of about 100
/// characters and a state of at most 500; anything this long is not from X, and refusing
/// it early bounds the work an attacker can cause.
pub const MAX_CALLBACK_LEN: usize = 8 * 1024;

/// The callback's OAuth parameters, decoded but not yet checked. Other parameters are
/// ignored (RFC 6749 §4.1.2: "The client MUST ignore unrecognized response parameters").
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallbackParams {
    /// `code` (redacting `Debug`).
    pub code: Option<AuthorizationCode>,
    /// `state`.
    pub state: Option<String>,
    /// `error` (RFC 6749 §4.1.2.1).
    pub error: Option<String>,
    /// `error_description`: text chosen by whoever made the URL; escape it before showing.
    pub error_description: Option<String>,
}

/// Decodes the callback's parameters: `input` is the full callback URL or its query, with
/// or without the leading `?`. A `#fragment` is ignored; values are
/// `application/x-www-form-urlencoded`-decoded (`+` is a space; invalid UTF-8 becomes
/// U+FFFD).
///
/// Fails with [`CallbackError::Malformed`] if `code`, `state`, `error` or
/// `error_description` appears twice (RFC 6749 §3.1: "Request and response parameters
/// MUST NOT be included more than once"; which copy wins would be a guess an attacker could
/// steer) or the input is longer than [`MAX_CALLBACK_LEN`].
pub fn parse_callback(input: &str) -> Result<CallbackParams, CallbackError> {
    let query = callback_query(input).ok_or(CallbackError::Malformed)?;
    let mut params = CallbackParams::default();
    for (name, value) in form_pairs(query) {
        let slot = match &*name {
            "code" => {
                if params.code.is_some() {
                    return Err(CallbackError::Malformed);
                }
                params.code = Some(AuthorizationCode::new(value));
                continue;
            }
            "state" => &mut params.state,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Malformed);
        }
        *slot = Some(value);
    }
    Ok(params)
}

/// The query of a callback URL (or of a bare query, with or without `?`), without any
/// `#fragment`; `None` if the input is longer than [`MAX_CALLBACK_LEN`].
pub(crate) fn callback_query(input: &str) -> Option<&str> {
    if input.len() > MAX_CALLBACK_LEN {
        return None;
    }
    let input = before_any(input, b"#");
    Some(match split_at_byte(input, b'?') {
        Some((_, query)) => query,
        // A URL without a query: there are no parameters.
        None if looks_like_url(input) => "",
        None => input,
    })
}

/// `scheme://` before the first `=` or `&`: the input is a URL, not a bare query.
fn looks_like_url(input: &str) -> bool {
    let head = before_any(input, b"=&");
    crate::url::split_scheme(head).is_some()
}

/// A callback that passed [`validate_callback`]: the state matched and X granted a code.
/// Only the validator constructs it, so the code exchange cannot skip the checks.
#[derive(Debug)]
pub struct ValidatedCallback {
    code: AuthorizationCode,
}

impl ValidatedCallback {
    /// The authorization code, for [`code_exchange_request`](crate::code_exchange_request).
    pub fn code(&self) -> &AuthorizationCode {
        &self.code
    }

    /// Takes the authorization code.
    pub fn into_code(self) -> AuthorizationCode {
        self.code
    }
}

/// Parses and checks the callback against the `state` sent in the authorization request,
/// strictly and in this order:
///
/// 1. `state` must be present and non-empty ([`CallbackError::MissingState`]) and match in
///    constant time ([`CallbackError::StateMismatch`]) (RFC 6749 §10.12). It comes first so
///    that nothing else in a forged URL, not even its error text, is believed.
/// 2. A non-empty `error` (RFC 6749 §4.1.2.1): `access_denied` is
///    [`CallbackError::AccessDenied`] (the user said no), others
///    [`CallbackError::AuthorizationError`].
/// 3. `code` must be present and non-empty ([`CallbackError::MissingCode`]).
pub fn validate_callback(
    input: &str,
    expected_state: &CsrfToken,
) -> Result<ValidatedCallback, CallbackError> {
    let params = parse_callback(input)?;
    match params.state.as_deref() {
        None | Some("") => return Err(CallbackError::MissingState),
        Some(state) if !expected_state.matches(state) => {
            return Err(CallbackError::StateMismatch);
        }
        Some(_) => {}
    }
    if let Some(error) = params.error.filter(|e| !e.is_empty()) {
        let description = params.error_description.filter(|d| !d.is_empty());
        return Err(if error == "access_denied" {
            CallbackError::AccessDenied { description }
        } else {
            CallbackError::AuthorizationError { error, description }
        });
    }
    match params.code {
        Some(code) if !code.secret().is_empty() => Ok(ValidatedCallback { code }),
        _ => Err(CallbackError::MissingCode),
    }
}

/// Why a callback was refused. Match on [`CallbackError::code`], not on messages.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// The user declined (`error=access_denied`, RFC 6749 §4.1.2.1).
    AccessDenied {
        /// X's `error_description`, if any (escape before showing).
        description: Option<String>,
    },
    /// X reported another error (`invalid_request`, `invalid_scope`, `server_error`...).
    AuthorizationError {
        /// The `error` code.
        error: String,
        /// The `error_description`, if any (escape before showing).
        description: Option<String>,
    },
    /// No (or an empty) `code` and no `error`.
    MissingCode,
    /// No (or an empty) `state`.
    MissingState,
    /// `state` is not the one sent: possible CSRF, or a callback from another sign-in.
    StateMismatch,
    /// Duplicate parameters or an oversized input.
    Malformed,
}

impl CallbackError {
    /// Stable machine-readable code: `access_denied`, `authorization_error`,
    /// `missing_code`, `missing_state`, `state_mismatch` or `malformed_callback`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied { .. } => "access_denied",
            Self::AuthorizationError { .. } => "authorization_error",
            Self::MissingCode => "missing_code",
            Self::MissingState => "missing_state",
            Self::StateMismatch => "state_mismatch",
            Self::Malformed => "malformed_callback",
        }
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let description = match self {
            Self::AccessDenied { description } => {
                f.write_str("the sign-in with X was declined")?;
                description
            }
            Self::AuthorizationError { error, description } => {
                f.write_str("X refused the sign-in request: ")?;
                f.write_str(error)?;
                description
            }
            Self::MissingCode => return f.write_str("the callback from X carries no code"),
            Self::MissingState => return f.write_str("the callback from X carries no state"),
            Self::StateMismatch => {
                return f.write_str("the callback's state does not match this sign-in");
            }
            Self::Malformed => return f.write_str("the callback from X is malformed"),
        };
        if let Some(description) = description {
            f.write_str(" (")?;
            f.write_str(description)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl core::error::Error for CallbackError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATE: &str = "St4te-_~.";

    fn state() -> CsrfToken {
        CsrfToken::parse(STATE).unwrap()
    }

    /// `Ok(code)` or `Err(error code)`.
    fn check(input: &str, expected: Result<&str, &str>) {
        let got = validate_callback(input, &state());
        let got = match &got {
            Ok(v) => Ok(v.code().secret()),
            Err(e) => Err(e.code()),
        };
        assert_eq!(got, expected, "input: {input:?}");
    }

    #[test]
    fn adversarial_callbacks() {
        let ok = Ok("c0de");
        check("https://app.example/cb?state=St4te-_~.&code=c0de", ok);
        check("?code=c0de&state=St4te-_~.", ok);
        check("code=c0de&state=St4te-_~.", ok);
        check("code=c0de&state=St4te-_~.&iss=x&extra", ok);
        check(
            "https://app.example/cb?state=St4te-_~.&code=c0de#state=evil",
            ok,
        );
        check("?state=St4te%2D_%7E%2E&code=c0de", ok);
        check("/cb?state=St4te-_~.&code=c0%26de", Ok("c0&de"));
        check("/cb?state=St4te-_~.&code=c0%3Dde", Ok("c0=de"));
        check("/cb?state=St4te-_~.&code=c0%23de", Ok("c0#de"));
        check("/cb?state=St4te-_~.&code=c0+de", Ok("c0 de"));
        // State first.
        check("", Err("missing_state"));
        check("https://app.example/cb", Err("missing_state"));
        check("https://app.example/cb?", Err("missing_state"));
        check("?code=c0de", Err("missing_state"));
        check("?code=c0de&state=", Err("missing_state"));
        check("?code=c0de&state", Err("missing_state"));
        check("?code=c0de&state=other", Err("state_mismatch"));
        check("?code=c0de&state=St4te-_~", Err("state_mismatch"));
        check("?code=c0de&state=St4te-_~.x", Err("state_mismatch"));
        check("?code=c0de&state=st4te-_~.", Err("state_mismatch"));
        check("?code=c0de&state=St4te-_~.%00", Err("state_mismatch"));
        check("?code=c0de&state=St4te-_~%2E%FF", Err("state_mismatch"));
        check("?code=c0de&state=St4te%26-_~.", Err("state_mismatch"));
        check("?code=c0de#state=St4te-_~.", Err("missing_state"));
        check("?error=access_denied&state=evil", Err("state_mismatch"));
        check("?error=access_denied", Err("missing_state"));
        // Then error.
        check("?error=access_denied&state=St4te-_~.", Err("access_denied"));
        check(
            "?error=access_denied&error_description=User+said+no&state=St4te-_~.&code=c0de",
            Err("access_denied"),
        );
        check(
            "?error=invalid_scope&state=St4te-_~.",
            Err("authorization_error"),
        );
        check("?error=&state=St4te-_~.&code=c0de", ok);
        // Then code.
        check("?state=St4te-_~.", Err("missing_code"));
        check("?state=St4te-_~.&code=", Err("missing_code"));
        check("?state=St4te-_~.&code", Err("missing_code"));
        check("?state=St4te-_~.&Code=c0de", Err("missing_code"));
        // Duplicates.
        check("?state=St4te-_~.&code=a&code=b", Err("malformed_callback"));
        check(
            "?state=St4te-_~.&state=St4te-_~.&code=a",
            Err("malformed_callback"),
        );
        check("?state=&state=St4te-_~.&code=a", Err("malformed_callback"));
        check("?state=St4te-_~.&code=&code=a", Err("malformed_callback"));
        check(
            "?state=St4te-_~.&error=a&error=b",
            Err("malformed_callback"),
        );
        // Size and garbage.
        let huge = format!(
            "?state={STATE}&code=c0de&pad={}",
            "x".repeat(MAX_CALLBACK_LEN)
        );
        check(&huge, Err("malformed_callback"));
        let near = format!("?state={STATE}&code=c0de&pad={}", "x".repeat(7000));
        check(&near, ok);
        check("\u{0}\u{ffff}%%%&&==??##", Err("missing_state"));
        check("?%zz=%&state=St4te-_~.&code=%E2%82", Ok("\u{fffd}"));
        check("?&&&state=St4te-_~.&&code=c0de&&", ok);
        check("????state=St4te-_~.&code=c0de", Err("missing_state"));
    }

    #[test]
    fn access_denied_carries_description() {
        let err = validate_callback(
            "?error=access_denied&error_description=The+user+denied%21&state=St4te-_~.",
            &state(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            CallbackError::AccessDenied {
                description: Some("The user denied!".into())
            }
        );
        assert!(err.to_string().contains("The user denied!"));
        let err = validate_callback("?error=server_error&state=St4te-_~.", &state()).unwrap_err();
        assert_eq!(
            err,
            CallbackError::AuthorizationError {
                error: "server_error".into(),
                description: None
            }
        );
        assert!(err.to_string().contains("server_error"));
    }

    #[test]
    fn parse_keeps_raw_params() {
        let p = parse_callback("https://a/cb?error=e&error_description=d%20x&state=s&code=c#f")
            .unwrap();
        assert_eq!(p.code.as_ref().map(|c| c.secret()), Some("c"));
        assert_eq!(p.state.as_deref(), Some("s"));
        assert_eq!(p.error.as_deref(), Some("e"));
        assert_eq!(p.error_description.as_deref(), Some("d x"));
        assert!(format!("{p:?}").contains("code: Some(AuthorizationCode([redacted]))"));
        let v = validate_callback("?state=St4te-_~.&code=Sup3r-S3cret", &state()).unwrap();
        assert!(!format!("{v:?}").contains("Sup3r") && !format!("{v:#?}").contains("Sup3r"));
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(s in "\\PC{0,300}") {
            let _ = validate_callback(&s, &state());
        }

        #[test]
        fn never_panics_on_queryish(s in "[?#&=%0-9A-Fa-f+a-z_~.-]{0,200}") {
            let _ = validate_callback(&s, &state());
        }

        #[test]
        fn round_trips_encoded_values(code in "\\PC{1,100}", extra in "\\PC{0,50}") {
            let mut q = form_urlencoded::Serializer::new(String::from("https://a.example/cb?"));
            q.append_pair("x", &extra).append_pair("state", STATE).append_pair("code", &code);
            let url = q.finish();
            let v = validate_callback(&url, &state()).unwrap();
            let got = v.into_code();
            prop_assert_eq!(got.secret(), code.as_str());
        }
    }
}
