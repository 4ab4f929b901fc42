//! Proof Key for Code Exchange (RFC 7636), S256 only.

use crate::prelude::*;
use core::fmt;

use crate::encoding::{base64url, is_unreserved};
#[cfg(feature = "getrandom")]
use crate::random::{RandomnessError, random_32};
use crate::secrets::PkceCodeVerifier;
use crate::sha256::sha256;

/// Shortest verifier RFC 7636 §4.1 allows.
const MIN_VERIFIER_LEN: usize = 43;
/// Longest verifier RFC 7636 §4.1 allows.
const MAX_VERIFIER_LEN: usize = 128;

impl PkceCodeVerifier {
    /// A fresh verifier: 32 bytes from the platform CSPRNG, BASE64URL-encoded into 43
    /// characters.
    ///
    /// RFC 7636 §4.1 recommends exactly this: "a 32-octet sequence ... base64url-encoded to
    /// produce a 43-octet URL safe string", i.e. 256 bits of entropy, the strength of the
    /// SHA-256 challenge itself, so guessing the verifier is no easier than inverting the
    /// hash (§7.1). Longer verifiers add length, not security.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<Self, RandomnessError> {
        Ok(Self::from_random_bytes(&random_32()?))
    }

    /// The verifier for 32 caller-supplied random bytes (43 BASE64URL characters).
    ///
    /// The bytes must come from a CSPRNG (RFC 7636 §7.1); this exists for platforms that
    /// bring their own and for deterministic tests.
    pub fn from_random_bytes(bytes: &[u8; 32]) -> Self {
        Self::new(base64url(bytes))
    }

    /// Checks a verifier received or restored from storage: 43 to 128 characters of
    /// `[A-Za-z0-9-._~]` (RFC 7636 §4.1, `code-verifier = 43*128unreserved`).
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        let len = value.len();
        if len < MIN_VERIFIER_LEN {
            return Err(PkceError::TooShort);
        }
        if len > MAX_VERIFIER_LEN {
            return Err(PkceError::TooLong);
        }
        if !value.bytes().all(is_unreserved) {
            return Err(PkceError::InvalidCharacter);
        }
        Ok(Self::new(value.to_owned()))
    }

    /// The S256 challenge: `BASE64URL-NOPAD(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    pub fn challenge(&self) -> PkceCodeChallenge {
        PkceCodeChallenge(base64url(&sha256(self.secret().as_bytes())))
    }
}

/// The PKCE code challenge sent in the authorization request (RFC 7636 §4.2-4.3).
///
/// Always S256: X also accepts `plain`, which would send the verifier itself in the URL
/// (RFC 7636 §7.2 says clients capable of S256 must use it), so this crate cannot make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkceCodeChallenge(String);

impl PkceCodeChallenge {
    /// The `code_challenge_method` value (RFC 7636 §4.3).
    pub const METHOD: &'static str = "S256";

    /// The challenge: 43 BASE64URL characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a valid PKCE code verifier (RFC 7636 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkceError {
    /// Fewer than 43 characters.
    TooShort,
    /// More than 128 characters.
    TooLong,
    /// A character outside `[A-Za-z0-9-._~]`.
    InvalidCharacter,
}

impl PkceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "verifier_too_short",
            Self::TooLong => "verifier_too_long",
            Self::InvalidCharacter => "verifier_invalid_character",
        }
    }
}

impl fmt::Display for PkceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooShort => "PKCE code verifier is shorter than 43 characters",
            Self::TooLong => "PKCE code verifier is longer than 128 characters",
            Self::InvalidCharacter => "PKCE code verifier has a character outside [A-Za-z0-9-._~]",
        })
    }
}

impl core::error::Error for PkceError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_b64url_43(s: &str) -> bool {
        s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn rfc7636_appendix_b() {
        let v = PkceCodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            v.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        // Appendix B's octets give that same verifier.
        let octets = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(
            PkceCodeVerifier::from_random_bytes(&octets).secret(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert_eq!(PkceCodeChallenge::METHOD, "S256");
    }

    #[cfg(feature = "getrandom")]
    #[test]
    fn generate_gives_fresh_43_char_verifiers() {
        let a = PkceCodeVerifier::generate().unwrap();
        let b = PkceCodeVerifier::generate().unwrap();
        assert!(is_b64url_43(a.secret()));
        assert_ne!(a.secret(), b.secret());
        assert!(PkceCodeVerifier::parse(a.secret()).is_ok());
    }

    #[test]
    fn parse_bounds_and_alphabet() {
        assert_eq!(
            PkceCodeVerifier::parse(&"a".repeat(42)).unwrap_err(),
            PkceError::TooShort
        );
        assert!(PkceCodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(PkceCodeVerifier::parse(&"~".repeat(128)).is_ok());
        assert_eq!(
            PkceCodeVerifier::parse(&"a".repeat(129)).unwrap_err(),
            PkceError::TooLong
        );
        assert_eq!(
            PkceCodeVerifier::parse("").unwrap_err().code(),
            "verifier_too_short"
        );
        for bad in ["+", "/", "=", " ", "%", "é", "\0", "!"] {
            let v = format!("{}{bad}", "a".repeat(43));
            assert_eq!(
                PkceCodeVerifier::parse(&v).unwrap_err(),
                PkceError::InvalidCharacter,
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn from_bytes_is_43_unreserved_and_parses(bytes in any::<[u8; 32]>()) {
            let v = PkceCodeVerifier::from_random_bytes(&bytes);
            prop_assert!(is_b64url_43(v.secret()));
            let parsed = PkceCodeVerifier::parse(v.secret()).unwrap();
            prop_assert_eq!(parsed.challenge(), v.challenge());
        }

        #[test]
        fn challenge_is_43_b64url_for_any_valid_verifier(v in "[A-Za-z0-9._~-]{43,128}") {
            let verifier = PkceCodeVerifier::parse(&v).unwrap();
            prop_assert!(is_b64url_43(verifier.challenge().as_str()));
        }

        #[test]
        fn parse_never_panics_and_accepts_only_valid(s in "\\PC{0,140}") {
            let ok = (43..=128).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            prop_assert_eq!(PkceCodeVerifier::parse(&s).is_ok(), ok);
        }
    }
}
