//! HTTP Basic authentication (RFC 7617), as X's enterprise APIs take it.

use crate::prelude::*;
use core::fmt;

use crate::secrets::Password;
use crate::token::basic_header;

/// The `Authorization` header for HTTP Basic authentication (RFC 7617 §2):
/// `"Basic " + base64(user_id ":" password)`, the UTF-8 bytes as they are.
///
/// X's enterprise APIs (PowerTrack, Historical) take it on every request.
///
/// **Not form-encoded**, unlike [`basic_authorization`](crate::basic_authorization) and
/// [`client_credentials_request`](crate::client_credentials_request): RFC 6749 §2.3.1 has
/// an OAuth client form-urlencode its id and secret before joining them, and OAuth servers
/// decode them again; an RFC 7617 server decodes nothing, so `a+b%21` would reach it as
/// those six characters. Hence the user id must not contain `:` (RFC 7617 §2: the password
/// starts after the first colon), and neither part may contain control characters.
///
/// # Security warning
///
/// The value carries the password, reversibly encoded. Never log it; send it over HTTPS
/// only.
pub fn basic_auth_header(user_id: &str, password: &Password) -> Result<String, BasicAuthError> {
    if user_id.contains(':') {
        return Err(BasicAuthError::ColonInUserId);
    }
    if user_id
        .chars()
        .chain(password.secret().chars())
        .any(char::is_control)
    {
        return Err(BasicAuthError::ControlCharacter);
    }
    let mut credentials = String::with_capacity(
        user_id
            .len()
            .saturating_add(password.secret().len())
            .saturating_add(1),
    );
    credentials.push_str(user_id);
    credentials.push(':');
    credentials.push_str(password.secret());
    Ok(basic_header(credentials.as_bytes()))
}

/// Why [`basic_auth_header`] refused its input. Match on [`BasicAuthError::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BasicAuthError {
    /// The user id contains `:` (RFC 7617 §2).
    ColonInUserId,
    /// The user id or password contains a control character (RFC 7617 §2).
    ControlCharacter,
}

impl BasicAuthError {
    /// Stable machine-readable code: `colon_in_user_id` or `control_character`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ColonInUserId => "colon_in_user_id",
            Self::ControlCharacter => "control_character",
        }
    }
}

impl fmt::Display for BasicAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ColonInUserId => "a Basic user id must not contain ':'",
            Self::ControlCharacter => "Basic credentials must not contain control characters",
        })
    }
}

impl core::error::Error for BasicAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(user: &str, password: &str, expected: Result<&str, &str>) {
        let got = basic_auth_header(user, &Password::new(password.into()));
        assert_eq!(
            got.as_deref().map_err(|e| e.code()),
            expected,
            "{user:?} {password:?}"
        );
    }

    #[test]
    fn table() {
        // RFC 7617 §2's example.
        check(
            "Aladdin",
            "open sesame",
            Ok("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        );
        // RFC 7617 §2.1's UTF-8 example ("test" / "123£").
        check("test", "123\u{a3}", Ok("Basic dGVzdDoxMjPCow=="));
        // Nothing is form-encoded: "a+b%21:p:w" goes out as those bytes.
        check("a+b%21", "p:w", Ok("Basic YStiJTIxOnA6dw=="));
        check("", "", Ok("Basic Og=="));
        check("a:b", "pw", Err("colon_in_user_id"));
        check("a\nb", "pw", Err("control_character"));
        check("ab", "p\u{0}w", Err("control_character"));
        check("ab", "p\u{7f}", Err("control_character"));
    }
}
