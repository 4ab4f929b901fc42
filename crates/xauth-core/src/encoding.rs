//! Small encoding helpers shared by the modules.

use crate::prelude::*;

// These encoders are written out rather than taken from `percent-encoding` and `base64ct`:
// they are what the browser's sign-in module runs, and written out they are a fraction of
// the generic crates' code and tables there (each is checked against its crate below).

/// Appends `value` to `out` with only unreserved characters left literal (space is `%20`).
pub(crate) fn push_percent_encoded(out: &mut String, value: &str) {
    push_percent_encoded_bytes(out, value.as_bytes());
}

/// [`push_percent_encoded`] for raw bytes (which need not be UTF-8), as RFC 5849 §3.6
/// encodes decoded parameters: unreserved bytes literal, every other byte `%XX` with
/// uppercase hex.
pub(crate) fn push_percent_encoded_bytes(out: &mut String, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0xf] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
}

/// BASE64URL without padding (RFC 7636 Appendix A, RFC 4648 §5): 32 bytes are 43
/// characters. In constant time (no table lookups or branches on the secret bits), as
/// `base64ct` does it.
pub(crate) fn base64url(bytes: &[u8; 32]) -> String {
    let mut out = String::with_capacity(43);
    let mut push = |sextet: u32| out.push(char::from(base64url_char(sextet & 0x3f)));
    // 10 groups of 3 bytes (4 characters each), then 2 bytes (3 characters).
    let (groups, [a, b]) = bytes.as_chunks::<3>() else {
        return out;
    };
    for [a, b, c] in groups {
        let n = (u32::from(*a) << 16) | (u32::from(*b) << 8) | u32::from(*c);
        for shift in [18, 12, 6, 0] {
            push(n >> shift);
        }
    }
    let n = (u32::from(*a) << 16) | (u32::from(*b) << 8);
    for shift in [18, 12, 6] {
        push(n >> shift);
    }
    out
}

/// The BASE64URL character of a 6-bit value, branch-free: `A-Z` for 0-25, `a-z` for
/// 26-51, `0-9` for 52-61, `-` for 62, `_` for 63.
fn base64url_char(v: u32) -> u8 {
    // Each `lt(x, y)` is all ones when x < y, computed without comparing.
    let lt = |x: u32, y: u32| 0u32.wrapping_sub(x.wrapping_sub(y) >> 31);
    let mut c = v.wrapping_add(u32::from(b'A'));
    c = c.wrapping_add(6 & !lt(v, 26));
    c = c.wrapping_sub(75 & !lt(v, 52));
    c = c.wrapping_sub(13 & !lt(v, 62));
    c = c.wrapping_add(49 & !lt(v, 63));
    c as u8
}

/// The `name=value` pairs of an `application/x-www-form-urlencoded` string, decoded as the
/// WHATWG URL standard says (§5.1, the `form_urlencoded` crate's `parse`): split at `&`,
/// empty pairs skipped, the name ends at the first `=`, `+` is a space, `%XX` a byte (a
/// `%` without two hex digits stays as it is), and bytes that are not UTF-8 become U+FFFD.
pub(crate) fn form_pairs(input: &str) -> impl Iterator<Item = (String, String)> + '_ {
    split_bytes(input, b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = split_at_byte(pair, b'=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        })
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|&h| char::from(h).to_digit(16));
        match (b, hex(i.saturating_add(1)), hex(i.saturating_add(2))) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push(hi.wrapping_mul(16).wrapping_add(lo) as u8);
                i = i.saturating_add(3);
            }
            (b'+', _, _) => {
                decoded.push(b' ');
                i = i.saturating_add(1);
            }
            (b, _, _) => {
                decoded.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    utf8_lossy(&decoded)
}

/// `String::from_utf8_lossy`, one U+FFFD per maximal invalid sequence (what Unicode and
/// the URL standard's decoder ask), without its chunk iterator.
fn utf8_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match core::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(error) => {
                let (valid, rest) = bytes
                    .split_at_checked(error.valid_up_to())
                    .unwrap_or((bytes, &[]));
                out.push_str(core::str::from_utf8(valid).unwrap_or_default());
                out.push(char::REPLACEMENT_CHARACTER);
                bytes = rest
                    .get(error.error_len().unwrap_or(rest.len())..)
                    .unwrap_or_default();
            }
        }
    }
}

// Splitting at ASCII delimiters byte by byte: `str`'s char patterns bring a UTF-8 char
// searcher, `memchr` and their panic paths into the browser's wasm for what a byte
// comparison does (an ASCII byte is always a char boundary in UTF-8). Likewise a byte is
// looked for with `iter().any()`: `<[u8]>::contains` is a generic search of its own there.

/// `text` split at the first `byte` (ASCII): what is before it and what is after it.
pub(crate) fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == byte)?;
    Some((text.get(..at)?, text.get(at.checked_add(1)?..)?))
}

/// `text` up to the first of `bytes` (ASCII), or all of it.
#[allow(clippy::manual_contains)]
pub(crate) fn before_any<'a>(text: &'a str, bytes: &[u8]) -> &'a str {
    text.bytes()
        .position(|b| bytes.iter().any(|&x| x == b))
        .and_then(|at| text.get(..at))
        .unwrap_or(text)
}

/// Whether `text` holds any of `bytes` (ASCII).
#[allow(clippy::manual_contains)]
pub(crate) fn has_any(text: &str, bytes: &[u8]) -> bool {
    text.bytes().any(|b| bytes.iter().any(|&x| x == b))
}

/// The pieces of `text` between `byte`s (ASCII), as `str::split` gives them.
pub(crate) fn split_bytes(text: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        match split_at_byte(current, byte) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
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

    use proptest::prelude::*;

    #[test]
    fn base64url_is_rfc_4648_s5() {
        // RFC 7636 Appendix B's verifier.
        let bytes = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(
            base64url(&bytes),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        for v in 0..64 {
            let expected = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[v];
            assert_eq!(base64url_char(v as u32), expected, "{v}");
        }
    }

    proptest! {
        #[test]
        fn base64url_matches_base64ct(bytes in any::<[u8; 32]>()) {
            use base64ct::{Base64UrlUnpadded, Encoding as _};
            prop_assert_eq!(base64url(&bytes), Base64UrlUnpadded::encode_string(&bytes));
        }

        #[test]
        fn percent_encoding_matches_the_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
            const NOT_UNRESERVED: &AsciiSet =
                &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
            let mut ours = String::new();
            push_percent_encoded_bytes(&mut ours, &bytes);
            prop_assert_eq!(ours, percent_encode(&bytes, NOT_UNRESERVED).to_string());
        }

        #[test]
        fn form_pairs_match_form_urlencoded(input in "([a-z=&+%]|%[0-9a-fA-F]{2}|%[0-9a-f]|é|%C3|%A9|%FF|%E2%82|%F0%9F%98){0,24}") {
            let ours: Vec<(String, String)> = form_pairs(&input).collect();
            let theirs: Vec<(String, String)> =
                form_urlencoded::parse(input.as_bytes()).into_owned().collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn form_pairs_decode_like_the_url_standard() {
        let pairs: Vec<(String, String)> =
            form_pairs("a=1&&b&c=x+y%20z&%63=%&d=%zz&e=%C3%A9%FF&=v&f=a=b").collect();
        let expect = [
            ("a", "1"),
            ("b", ""),
            ("c", "x y z"),
            ("c", "%"),
            ("d", "%zz"),
            ("e", "é\u{FFFD}"),
            ("", "v"),
            ("f", "a=b"),
        ];
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs, expect);
    }

    #[test]
    fn byte_splits_are_strs() {
        for text in ["", "a", "&", "a&b", "&&a&", "é&ü&", "x=1&y"] {
            let ours: Vec<&str> = split_bytes(text, b'&').collect();
            let theirs: Vec<&str> = text.split('&').collect();
            assert_eq!(ours, theirs, "{text:?}");
            assert_eq!(split_at_byte(text, b'&'), text.split_once('&'), "{text:?}");
            assert_eq!(
                before_any(text, b"&="),
                text.split(['&', '=']).next().unwrap()
            );
            assert_eq!(has_any(text, b"&="), text.contains(['&', '=']));
        }
    }

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
