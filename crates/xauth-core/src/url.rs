//! Endpoint constants and validated URL newtypes (no `url` crate: only what OAuth needs).

use crate::encoding::{before_any, has_any, split_at_byte};
use crate::prelude::*;
use core::fmt;

/// X's authorization endpoint (RFC 6749 §3.1). x.com, not twitter.com: on twitter.com the
/// user's x.com session is not seen, which forces a re-login or picks the wrong account.
pub const X_AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";
/// Base URL of X's API, which hosts the token, revocation and user endpoints.
pub const X_API_URL: &str = "https://api.x.com";
/// Token endpoint path (RFC 6749 §3.2), under [`X_API_URL`].
pub const TOKEN_PATH: &str = "/2/oauth2/token";
/// Revocation endpoint path (RFC 7009 §2), under [`X_API_URL`].
pub const REVOKE_PATH: &str = "/2/oauth2/revoke";
/// The signed-in user's profile, under [`X_API_URL`] (`Authorization: Bearer`).
pub const USERS_ME_PATH: &str = "/2/users/me";

/// `scheme://rest` split at the first `:`. Matched byte-wise on purpose: a `&str` pattern
/// search pulls the substring searcher and its panic formatting into the browser's wasm.
pub(crate) fn split_scheme(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = split_at_byte(value, b':')?;
    Some((scheme, rest.strip_prefix("//")?))
}

/// Checks an absolute `http`/`https` URL with a host, no fragment (RFC 6749 §3.1, §3.1.2)
/// and no whitespace or control characters.
pub(crate) fn validate(value: &str) -> Result<(), UrlError> {
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(UrlError::InvalidCharacter);
    }
    if has_any(value, b"#") {
        return Err(UrlError::Fragment);
    }
    let (scheme, rest) = split_scheme(value).ok_or(UrlError::NotAbsolute)?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(UrlError::UnsupportedScheme);
    }
    let authority = before_any(rest, b"/?");
    // Credentials in a redirect URI are never legitimate and a classic phishing trick.
    if has_any(authority, b"@") {
        return Err(UrlError::InvalidHost);
    }
    let port = match authority.strip_prefix('[') {
        // IPv6 literal (RFC 3986 §3.2.2).
        Some(v6) => {
            let (addr, after) = split_at_byte(v6, b']').ok_or(UrlError::InvalidHost)?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(UrlError::InvalidHost);
            }
            match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
            }
        }
        None => {
            let (host, port) = match split_at_byte(authority, b':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() || has_any(host, b"[]") {
                return Err(UrlError::InvalidHost);
            }
            port
        }
    };
    if let Some(port) = port
        && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
    {
        return Err(UrlError::InvalidPort);
    }
    Ok(())
}

/// The client's redirection endpoint (RFC 6749 §3.1.2): absolute `http`/`https`, with a
/// host, without a fragment. X compares it byte for byte with the app's registered
/// callback, so it is kept exactly as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates a redirect URI.
    pub fn parse(value: &str) -> Result<Self, UrlError> {
        validate(value)?;
        Ok(Self(value.to_owned()))
    }

    /// The URI as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The authorization endpoint (RFC 6749 §3.1): X's by default, or a local emulator.
/// May carry a query (kept, parameters are appended), never a fragment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthorizeEndpoint(String);

impl AuthorizeEndpoint {
    /// Validates an endpoint URL (absolute `http`/`https`, with a host, no fragment).
    pub fn parse(value: &str) -> Result<Self, UrlError> {
        validate(value)?;
        Ok(Self(value.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// [`X_AUTHORIZE_URL`].
impl Default for AuthorizeEndpoint {
    fn default() -> Self {
        Self(X_AUTHORIZE_URL.to_owned())
    }
}

impl fmt::Display for AuthorizeEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not an acceptable URL here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Not an absolute URL (`scheme://...`).
    NotAbsolute,
    /// A scheme other than `http` or `https`.
    UnsupportedScheme,
    /// Missing or malformed host (or user credentials in it).
    InvalidHost,
    /// A port that is not a decimal number up to 65535.
    InvalidPort,
    /// Has a `#fragment` (RFC 6749 §3.1.2 forbids it).
    Fragment,
    /// Whitespace or a control character.
    InvalidCharacter,
}

impl UrlError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAbsolute => "url_not_absolute",
            Self::UnsupportedScheme => "url_unsupported_scheme",
            Self::InvalidHost => "url_invalid_host",
            Self::InvalidPort => "url_invalid_port",
            Self::Fragment => "url_has_fragment",
            Self::InvalidCharacter => "url_invalid_character",
        }
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "URL is not absolute",
            Self::UnsupportedScheme => "URL scheme is not http or https",
            Self::InvalidHost => "URL has no valid host",
            Self::InvalidPort => "URL has an invalid port",
            Self::Fragment => "URL has a fragment",
            Self::InvalidCharacter => "URL has whitespace or a control character",
        })
    }
}

impl core::error::Error for UrlError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: Result<(), &str>) {
        let got = RedirectUri::parse(input).map(|_| ()).map_err(|e| e.code());
        assert_eq!(got, expected, "{input:?}");
        let got = AuthorizeEndpoint::parse(input)
            .map(|_| ())
            .map_err(|e| e.code());
        assert_eq!(got, expected, "{input:?}");
    }

    #[test]
    fn table() {
        for ok in [
            "https://app.example/callback",
            "http://127.0.0.1:8787/auth/callback",
            "HTTPS://App.Example",
            "https://app.example?x=1",
            "http://[::1]:8080/cb",
            "https://app.example/cb?next=%2Fhome&a=b",
            "https://x.com/i/oauth2/authorize",
        ] {
            check(ok, Ok(()));
        }
        check("app.example/callback", Err("url_not_absolute"));
        check("/callback", Err("url_not_absolute"));
        check("", Err("url_not_absolute"));
        check("ftp://app.example/", Err("url_unsupported_scheme"));
        check(
            "javascript://app.example/%0aalert(1)",
            Err("url_unsupported_scheme"),
        );
        check("https:///callback", Err("url_invalid_host"));
        check("https://", Err("url_invalid_host"));
        check("https://user:pw@app.example/", Err("url_invalid_host"));
        check("https://[::1/cb", Err("url_invalid_host"));
        check("https://[::1]x/cb", Err("url_invalid_host"));
        check("https://app.example:/cb", Err("url_invalid_port"));
        check("https://app.example:80a/cb", Err("url_invalid_port"));
        check("https://app.example:123456/cb", Err("url_invalid_port"));
        check("https://app.example:65536/cb", Err("url_invalid_port"));
        check("https://app.example:+80/cb", Err("url_invalid_port"));
        check("https://[]/cb", Err("url_invalid_host"));
        check("https://a[b]/cb", Err("url_invalid_host"));
        check("https://app.example/cb#frag", Err("url_has_fragment"));
        check("https://app.example/c b", Err("url_invalid_character"));
        check("https://app.example/\ncb", Err("url_invalid_character"));
        check("https://app.example/\u{85}", Err("url_invalid_character"));
    }

    #[test]
    fn default_endpoint() {
        assert_eq!(AuthorizeEndpoint::default().as_str(), X_AUTHORIZE_URL);
        assert_eq!(
            format!("{X_API_URL}{TOKEN_PATH}"),
            "https://api.x.com/2/oauth2/token"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}", t in "(https?://)?[a-z:@\\[\\]/?#0-9]{0,20}") {
            let _ = RedirectUri::parse(&s);
            let _ = RedirectUri::parse(&t);
        }
    }
}
