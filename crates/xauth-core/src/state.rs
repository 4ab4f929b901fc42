//! The `state` parameter: CSRF protection for the callback (RFC 6749 §10.12).

use crate::prelude::*;
use core::fmt;

use subtle::ConstantTimeEq as _;

use crate::encoding::base64url;
#[cfg(feature = "getrandom")]
use crate::random::{RandomnessError, random_32};

/// Longest `state` X accepts.
pub const MAX_STATE_LEN: usize = 500;

/// An opaque `state` value binding the callback to the browser that started the sign-in
/// (RFC 6749 §4.1.1, §10.12).
///
/// Not a long-lived secret, but it guards the login against CSRF, so `Debug` redacts it
/// anyway and there is no `PartialEq`: compare with [`CsrfToken::matches`], which runs in
/// constant time.
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// A fresh token: 32 bytes (256 bits) from the platform CSPRNG, BASE64URL-encoded
    /// (43 characters). RFC 6749 §10.10 asks that guessing it be below 2^-128; this is
    /// far below.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<Self, RandomnessError> {
        Ok(Self::from_random_bytes(&random_32()?))
    }

    /// The token for 32 caller-supplied random bytes (must come from a CSPRNG).
    pub fn from_random_bytes(bytes: &[u8; 32]) -> Self {
        Self(base64url(bytes))
    }

    /// Checks a stored state: 1 to 500 characters (X's limit) of visible ASCII
    /// (`%x21-7E`; RFC 6749 Appendix A.5 allows `%x20-7E`, space is left out because it
    /// does not survive form encoding round trips unchanged everywhere).
    pub fn parse(value: &str) -> Result<Self, StateError> {
        if value.is_empty() {
            return Err(StateError::Empty);
        }
        if value.len() > MAX_STATE_LEN {
            return Err(StateError::TooLong);
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StateError::InvalidCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The state value to put in the authorization request or store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `received` (the callback's `state`) equals this token.
    ///
    /// Constant time in the content (via `subtle`); only a length difference may be
    /// observable, and the length of a generated token is public anyway.
    pub fn matches(&self, received: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(received.as_bytes()))
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken([redacted])")
    }
}

/// Why a string is not a valid `state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// The empty string.
    Empty,
    /// Longer than [`MAX_STATE_LEN`] (500) characters.
    TooLong,
    /// A character outside visible ASCII.
    InvalidCharacter,
}

impl StateError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "state_empty",
            Self::TooLong => "state_too_long",
            Self::InvalidCharacter => "state_invalid_character",
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "state is empty",
            Self::TooLong => "state is longer than 500 characters",
            Self::InvalidCharacter => "state has a character outside visible ASCII",
        })
    }
}

impl core::error::Error for StateError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[cfg(feature = "getrandom")]
    #[test]
    fn generated_and_parsed() {
        let t = CsrfToken::generate().unwrap();
        assert_eq!(t.as_str().len(), 43);
        assert!(CsrfToken::parse(t.as_str()).unwrap().matches(t.as_str()));
        assert_ne!(t.as_str(), CsrfToken::generate().unwrap().as_str());
        assert_eq!(format!("{t:?}"), "CsrfToken([redacted])");
    }

    #[test]
    fn parse_limits() {
        assert_eq!(CsrfToken::parse("").unwrap_err(), StateError::Empty);
        assert!(CsrfToken::parse("x").is_ok());
        assert!(CsrfToken::parse(&"x".repeat(500)).is_ok());
        assert_eq!(
            CsrfToken::parse(&"x".repeat(501)).unwrap_err(),
            StateError::TooLong
        );
        for bad in ["a b", "a\tb", "a\nb", "é", "a\u{7f}"] {
            assert_eq!(
                CsrfToken::parse(bad).unwrap_err().code(),
                "state_invalid_character"
            );
        }
    }

    #[test]
    fn matches_only_exact() {
        let t = CsrfToken::parse("abc").unwrap();
        assert!(t.matches("abc"));
        for other in ["", "ab", "abcd", "abC", "xbc"] {
            assert!(!t.matches(other));
        }
    }

    proptest! {
        #[test]
        fn matches_itself_and_no_other(a in any::<[u8; 32]>(), b in "\\PC{0,60}") {
            let t = CsrfToken::from_random_bytes(&a);
            prop_assert!(t.matches(t.as_str()));
            prop_assert_eq!(t.matches(&b), b == t.as_str());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,600}") {
            let _ = CsrfToken::parse(&s);
        }
    }
}
