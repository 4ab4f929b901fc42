//! Newtypes for credentials and one-time values, after oauth2-rs's `new_secret_type!`.
//!
//! Secret types have no derived `PartialEq` (a naive comparison leaks timing) and a
//! hand-written `Debug`/`Display` that never shows the value, so a stray `{:?}` in a log
//! line cannot leak a token.

use crate::prelude::*;
use core::fmt;

/// Declares a redacting secret newtype over `String`.
macro_rules! new_secret_type {
    (
        $(#[$attr:meta])*
        $name:ident
        $(, derive($($derive:ident),*))?
    ) => {
        $(#[$attr])*
        $(#[derive($($derive),*)])?
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Wraps a value as a [`", stringify!($name), "`] (no validation).")]
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The secret value.
            ///
            /// # Security warning
            ///
            /// Leaking this value may compromise the user's or the app's account. Use it
            /// only to build a request to X or to store it encrypted; never log or
            /// display it, and compare it only in constant time.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

new_secret_type! {
    /// The client secret of a confidential client (RFC 6749 §2.3.1), sent only in the
    /// `Authorization: Basic` header built by [`basic_authorization`](crate::basic_authorization).
    ClientSecret, derive(Clone)
}

new_secret_type! {
    /// An access token (RFC 6749 §1.4), sent as `Authorization: Bearer` (RFC 6750 §2.1).
    /// X's access tokens live 7200 s.
    AccessToken, derive(Clone)
}

new_secret_type! {
    /// A refresh token (RFC 6749 §1.5), issued by X only with the `offline.access` scope.
    ///
    /// X rotates refresh tokens: every refresh answers a new one and the old one dies, so
    /// the new one must be stored before anything else happens.
    RefreshToken, derive(Clone)
}

new_secret_type! {
    /// The authorization code from the callback (RFC 6749 §4.1.2); X's live 30 s and are
    /// single use. Obtain it from [`ValidatedCallback::into_code`](crate::ValidatedCallback::into_code).
    AuthorizationCode, derive(Clone)
}

new_secret_type! {
    /// The PKCE code verifier (RFC 7636 §4.1): a high-entropy random string kept by the
    /// client and sent only with the code exchange.
    ///
    /// Make one with [`PkceCodeVerifier::generate`] (or
    /// [`from_random_bytes`](PkceCodeVerifier::from_random_bytes)); check a stored one with
    /// [`parse`](PkceCodeVerifier::parse). [`new`](PkceCodeVerifier::new) does not validate.
    /// Not `Clone`: a verifier belongs to exactly one authorization request.
    PkceCodeVerifier
}

new_secret_type! {
    /// The consumer secret ("API Key Secret" in X's portal) that signs OAuth 1.0a requests
    /// (RFC 5849 §3.4.2) and, with the [`ConsumerKey`], asks for an app-only token
    /// ([`client_credentials_request`](crate::client_credentials_request)).
    ConsumerSecret, derive(Clone)
}

new_secret_type! {
    /// A password for HTTP Basic authentication (RFC 7617), as X's enterprise APIs use it;
    /// see [`basic_auth_header`](crate::basic_auth_header).
    Password, derive(Clone)
}

#[cfg(feature = "oauth1")]
new_secret_type! {
    /// The secret that goes with an [`OAuth1Token`] (RFC 5849 §2.1, §2.3: the
    /// `oauth_token_secret`), half of the HMAC-SHA1 key of every request signed with that
    /// token. Never sent over the wire after X hands it out.
    TokenSecret, derive(Clone)
}

#[cfg(feature = "oauth1")]
new_secret_type! {
    /// The `oauth_verifier` (RFC 5849 §2.2): from the callback (checked by
    /// [`validate_oauth1_callback`](crate::validate_oauth1_callback)) or the PIN the user
    /// typed ([`OAuth1Verifier::parse_pin`]). Single use, like an authorization code.
    OAuth1Verifier
}

#[cfg(feature = "oauth1")]
impl OAuth1Verifier {
    /// The verifier for a PIN the user copied from X's page (the PIN flow,
    /// `oauth_callback=oob`): surrounding whitespace is dropped, and what is left must be
    /// 1 to 16 ASCII digits (X's PINs are 7). `None` otherwise.
    pub fn parse_pin(pin: &str) -> Option<Self> {
        let pin = pin.trim();
        ((1..=16).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(pin.to_owned()))
    }
}

/// Declares a public identifier newtype over `String`: `Debug` shows the value.
macro_rules! new_public_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Wraps a value as a [`", stringify!($name), "`] (no validation).")]
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

new_public_type! {
    /// The consumer key ("API Key" in X's portal) that names the app in OAuth 1.0a
    /// (`oauth_consumer_key`, RFC 5849 §3.1) and app-only authentication. Public: it is
    /// sent in clear in every signed request, so `Debug` shows it.
    ConsumerKey
}

#[cfg(feature = "oauth1")]
new_public_type! {
    /// An OAuth 1.0a token (`oauth_token`, RFC 5849 §2.1, §2.3): a request token during
    /// sign-in, then the user's access token. Public like a client id: it travels in clear
    /// in URLs and `Authorization` headers and signs nothing without its [`TokenSecret`],
    /// so `Debug` shows it. (X's access tokens start with the user's id.)
    OAuth1Token
}

/// The OAuth client identifier (RFC 6749 §2.2). Public: `Debug` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a client id as issued in X's developer portal.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The client id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-VALUE-do-not-leak";

    fn assert_hidden(debug: String, display: String, name: &str) {
        assert_eq!(debug, format!("{name}([redacted])"));
        assert_eq!(display, "[redacted]");
        assert!(!debug.contains(SECRET) && !display.contains(SECRET));
    }

    #[test]
    fn secrets_redact_debug_and_display() {
        let s = ClientSecret::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "ClientSecret");
        let s = AccessToken::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "AccessToken");
        let s = RefreshToken::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "RefreshToken");
        let s = AuthorizationCode::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "AuthorizationCode");
        let s = PkceCodeVerifier::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "PkceCodeVerifier");
        assert_eq!(s.secret(), SECRET);
        let s = ConsumerSecret::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "ConsumerSecret");
        let s = Password::new(SECRET.into());
        assert_hidden(format!("{s:?}"), format!("{s}"), "Password");
        #[cfg(feature = "oauth1")]
        {
            let s = TokenSecret::new(SECRET.into());
            assert_hidden(format!("{s:?}"), format!("{s}"), "TokenSecret");
            let s = OAuth1Verifier::new(SECRET.into());
            assert_hidden(format!("{s:?}"), format!("{s}"), "OAuth1Verifier");
        }
        // Pretty debug too.
        assert!(!format!("{:#?}", ClientSecret::new(SECRET.into())).contains(SECRET));
    }

    #[test]
    fn client_id_is_public() {
        let id = ClientId::new("abc".into());
        assert_eq!(format!("{id:?}"), "ClientId(\"abc\")");
        assert_eq!(id.as_str(), "abc");
        let key = ConsumerKey::new("ck".into());
        assert_eq!(
            (format!("{key:?}"), key.to_string()),
            ("ConsumerKey(\"ck\")".into(), "ck".into())
        );
    }

    #[cfg(feature = "oauth1")]
    #[test]
    fn pins() {
        for (input, expected) in [
            ("1234567", Some("1234567")),
            (" 0012345\n", Some("0012345")),
            ("1", Some("1")),
            ("", None),
            ("   ", None),
            ("123 4567", None),
            ("12345a7", None),
            ("１２３", None),
            ("12345678901234567", None),
        ] {
            let got = OAuth1Verifier::parse_pin(input);
            assert_eq!(got.as_ref().map(|v| v.secret()), expected, "{input:?}");
        }
    }
}
