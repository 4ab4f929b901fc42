//! Small encoding helpers shared by the modules.

use crate::prelude::*;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 §2.3 unreserved characters (`ALPHA / DIGIT / "-" / "." / "_" /
/// "~"`) gets percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `value` to `out` with only unreserved characters left literal (space is `%20`).
pub(crate) fn push_percent_encoded(out: &mut String, value: &str) {
    for part in utf8_percent_encode(value, NOT_UNRESERVED) {
        out.push_str(part);
    }
}

/// [`push_percent_encoded`] for raw bytes (which need not be UTF-8), as RFC 5849 §3.6
/// encodes decoded parameters: unreserved bytes literal, every other byte `%XX` with
/// uppercase hex.
#[cfg(feature = "oauth1")]
pub(crate) fn push_percent_encoded_bytes(out: &mut String, value: &[u8]) {
    for part in percent_encoding::percent_encode(value, NOT_UNRESERVED) {
        out.push_str(part);
    }
}

/// BASE64URL without padding (RFC 7636 Appendix A, RFC 4648 §5).
pub(crate) fn base64url(bytes: &[u8; 32]) -> String {
    // 32 bytes are 43 characters; encoding into a buffer on the stack (rather than
    // `encode_string`) keeps the generic encoder small in the browser wasm. The buffer
    // always fits, so the error arm is never taken.
    let mut buf = [0u8; 43];
    Base64UrlUnpadded::encode(bytes, &mut buf)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// RFC 3986 §2.3 unreserved character.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `needle` occurs in `haystack`, ignoring ASCII case. `needle` must be lowercase ASCII.
pub(crate) fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_all_but_unreserved() {
        let mut s = String::new();
        push_percent_encoded(&mut s, "aZ09-._~ +&=#/?%é");
        assert_eq!(s, "aZ09-._~%20%2B%26%3D%23%2F%3F%25%C3%A9");
    }

    #[test]
    fn contains_ignores_case() {
        assert!(contains_ignore_ascii_case(
            "Value Was INVALID.",
            "was invalid"
        ));
        assert!(!contains_ignore_ascii_case("was", "was invalid"));
    }
}
