//! Token endpoint requests and responses (RFC 6749 §2.3.1, §4.1.3, §5.1, §6).

use crate::prelude::*;
use core::fmt;

use base64ct::{Base64, Encoding as _};

use crate::secrets::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, PkceCodeVerifier, RefreshToken,
};
use crate::url::RedirectUri;

/// How the client authenticates to the token and revocation endpoints.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// Web App, Automated App or Bot: HTTP Basic with id and secret (RFC 6749 §2.3.1).
    /// X answers 401 `unauthorized_client` if a confidential client omits it.
    Confidential {
        /// Client id.
        id: &'a ClientId,
        /// Client secret.
        secret: &'a ClientSecret,
    },
    /// Native App or Single Page App: no secret, `client_id` in the body (RFC 6749 §4.1.3).
    Public {
        /// Client id.
        id: &'a ClientId,
    },
}

/// A `POST` with an `application/x-www-form-urlencoded` body, ready for any HTTP client.
///
/// `Debug` redacts both fields: the header holds the client secret and the body holds codes,
/// verifiers or tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct FormRequest {
    /// The `Authorization` header value, for confidential clients.
    pub authorization: Option<String>,
    /// The form-encoded body.
    pub body: String,
}

impl FormRequest {
    /// The `Content-Type` header value to send with [`FormRequest::body`].
    pub const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";
}

impl fmt::Debug for FormRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormRequest")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| Redacted),
            )
            .field("body", &Redacted)
            .finish()
    }
}

/// Prints `[redacted]` in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `Authorization` header for a confidential client (RFC 6749 §2.3.1, RFC 7617):
/// `"Basic " + base64(urlencode(id) ":" urlencode(secret))`, each part
/// `application/x-www-form-urlencoded`-encoded first as §2.3.1 requires (so a `:` in the
/// secret cannot be mistaken for the separator; servers decode both parts).
///
/// # Security warning
///
/// The value contains the client secret, reversibly encoded. Never log it.
pub fn basic_authorization(id: &ClientId, secret: &ClientSecret) -> String {
    basic_form_encoded(id.as_str(), secret.secret())
}

/// `"Basic " + base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 client
/// authentication, also X's app-only token request.
pub(crate) fn basic_form_encoded(id: &str, secret: &str) -> String {
    let mut credentials = String::new();
    credentials.extend(form_urlencoded::byte_serialize(id.as_bytes()));
    credentials.push(':');
    credentials.extend(form_urlencoded::byte_serialize(secret.as_bytes()));
    basic_header(credentials.as_bytes())
}

/// `"Basic " + base64(credentials)` (RFC 7617 §2).
pub(crate) fn basic_header(credentials: &[u8]) -> String {
    let mut header = String::from("Basic ");
    header.push_str(&Base64::encode_string(credentials));
    header
}

/// The `Authorization` header for an API call with an access token (RFC 6750 §2.1):
/// `"Bearer " + token`.
///
/// # Security warning
///
/// The value contains the access token. Never log it.
pub fn bearer_authorization(token: &AccessToken) -> String {
    let mut header = String::from("Bearer ");
    header.push_str(token.secret());
    header
}

/// Builds a token-endpoint style request: `pairs`, then `client_id` for a public client;
/// a confidential client gets the Basic header instead (the secret is never in the body).
pub(crate) fn form_request(auth: ClientAuth<'_>, pairs: &[(&str, &str)]) -> FormRequest {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    let authorization = match auth {
        ClientAuth::Confidential { id, secret } => Some(basic_authorization(id, secret)),
        ClientAuth::Public { id } => {
            form.append_pair("client_id", id.as_str());
            None
        }
    };
    FormRequest {
        authorization,
        body: form.finish(),
    }
}

/// The code exchange (RFC 6749 §4.1.3 with RFC 7636 §4.5): `grant_type=authorization_code`,
/// `code`, `redirect_uri` (the same as in the authorization request), `code_verifier`, and
/// `client_id` for a public client. POST it to `X_API_URL + TOKEN_PATH`.
pub fn code_exchange_request(
    auth: ClientAuth<'_>,
    code: &AuthorizationCode,
    redirect_uri: &RedirectUri,
    verifier: &PkceCodeVerifier,
) -> FormRequest {
    form_request(
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.secret()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.secret()),
        ],
    )
}

/// The refresh (RFC 6749 §6): `grant_type=refresh_token`, `refresh_token`, and `client_id`
/// for a public client. X rotates refresh tokens: store the new one from the answer before
/// anything else, the one sent here is dead once X answers.
pub fn refresh_request(auth: ClientAuth<'_>, refresh_token: &RefreshToken) -> FormRequest {
    form_request(
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.secret()),
        ],
    )
}

/// A successful token response body (RFC 6749 §5.1), as deserialized from JSON. Unknown
/// fields are ignored. Check it with [`process_token_response`]. `Debug` redacts tokens.
#[derive(Clone, Default, serde::Deserialize)]
pub struct RawTokenResponse {
    /// `access_token`.
    pub access_token: Option<String>,
    /// `token_type`; X sends `"bearer"`.
    pub token_type: Option<String>,
    /// `expires_in`, seconds (X: 7200).
    pub expires_in: Option<u64>,
    /// `scope`: the granted scopes, space-separated.
    pub scope: Option<String>,
    /// `refresh_token`, with `offline.access`.
    pub refresh_token: Option<String>,
}

impl fmt::Debug for RawTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawTokenResponse")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| Redacted),
            )
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// Checked tokens from a successful response. `Debug` redacts through the field types.
#[derive(Clone, Debug)]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// Lifetime in seconds, as X sent it.
    pub expires_in: Option<u64>,
    /// `now + expires_in` in Unix seconds (saturating), when `expires_in` was sent.
    pub expires_at: Option<u64>,
    /// Granted scopes, space-separated, as X sent them (may name scopes newer than
    /// [`Scope`](crate::Scope); parse with [`Scopes::parse`](crate::Scopes::parse) if wanted).
    pub scope: Option<String>,
    /// The new refresh token (only with `offline.access`); replaces the one sent.
    pub refresh_token: Option<RefreshToken>,
}

/// Checks a token response (RFC 6749 §5.1), strictly: `access_token` must be present and
/// non-empty; `token_type` must be present and `bearer` in any case (RFC 6749 §7.1: a client
/// must not use a token whose type it does not understand; RFC 6750 names it `Bearer`, X
/// sends `bearer`); `expires_in` is optional and gives `expires_at = now_unix_secs +
/// expires_in`; `refresh_token`, when present, must be non-empty.
pub fn process_token_response(
    raw: RawTokenResponse,
    now_unix_secs: u64,
) -> Result<TokenSet, TokenResponseError> {
    let access_token = match raw.access_token {
        Some(token) if !token.is_empty() => AccessToken::new(token),
        _ => return Err(TokenResponseError::MissingAccessToken),
    };
    match raw.token_type.as_deref() {
        None | Some("") => return Err(TokenResponseError::MissingTokenType),
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(t) => return Err(TokenResponseError::UnsupportedTokenType(t.to_owned())),
    }
    let refresh_token = match raw.refresh_token {
        Some(token) if token.is_empty() => return Err(TokenResponseError::EmptyRefreshToken),
        other => other.map(RefreshToken::new),
    };
    Ok(TokenSet {
        access_token,
        expires_in: raw.expires_in,
        expires_at: raw
            .expires_in
            .map(|secs| now_unix_secs.saturating_add(secs)),
        scope: raw.scope,
        refresh_token,
    })
}

/// Why a token response was refused. Match on [`TokenResponseError::code`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenResponseError {
    /// No (or an empty) `access_token`.
    MissingAccessToken,
    /// No `token_type`.
    MissingTokenType,
    /// A `token_type` other than `bearer` (the value).
    UnsupportedTokenType(String),
    /// `refresh_token` is the empty string.
    EmptyRefreshToken,
}

impl TokenResponseError {
    /// Stable machine-readable code: `missing_access_token`, `missing_token_type`,
    /// `unsupported_token_type` or `empty_refresh_token`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAccessToken => "missing_access_token",
            Self::MissingTokenType => "missing_token_type",
            Self::UnsupportedTokenType(_) => "unsupported_token_type",
            Self::EmptyRefreshToken => "empty_refresh_token",
        }
    }
}

impl fmt::Display for TokenResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAccessToken => f.write_str("token response has no access_token"),
            Self::MissingTokenType => f.write_str("token response has no token_type"),
            Self::UnsupportedTokenType(t) => {
                f.write_str("token response has unsupported token_type ")?;
                fmt::Debug::fmt(t, f)
            }
            Self::EmptyRefreshToken => f.write_str("token response has an empty refresh_token"),
        }
    }
}

impl core::error::Error for TokenResponseError {}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Sup3r-S3cret-Tok3n";

    fn id() -> ClientId {
        ClientId::new("my id:ü".into())
    }

    fn pairs(body: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect()
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn decode_basic(header: &str) -> (String, String) {
        let b64 = header.strip_prefix("Basic ").unwrap();
        let raw = String::from_utf8(Base64::decode_vec(b64).unwrap()).unwrap();
        let (id, secret) = raw.split_once(':').unwrap();
        assert!(!secret.contains(':'));
        let dec = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        };
        (dec(id), dec(secret))
    }

    #[test]
    fn basic_header_round_trips() {
        let secret = ClientSecret::new("a:b+c d%e/é😀=&".into());
        let header = basic_authorization(&id(), &secret);
        let b64 = header.strip_prefix("Basic ").unwrap();
        let raw = String::from_utf8(Base64::decode_vec(b64).unwrap()).unwrap();
        assert_eq!(
            raw,
            "my+id%3A%C3%BC:a%3Ab%2Bc+d%25e%2F%C3%A9%F0%9F%98%80%3D%26"
        );
        assert_eq!(
            decode_basic(&header),
            ("my id:ü".into(), "a:b+c d%e/é😀=&".into())
        );
        // RFC 7617 §2 example credentials, which need no escaping.
        let h = basic_authorization(
            &ClientId::new("Aladdin".into()),
            &ClientSecret::new("open sesame".into()),
        );
        assert_eq!(h, "Basic QWxhZGRpbjpvcGVuK3Nlc2FtZQ==");
    }

    #[test]
    fn code_exchange_bodies() {
        let secret = ClientSecret::new(SECRET.into());
        let code = AuthorizationCode::new("co de&=".into());
        let redirect = RedirectUri::parse("https://app.example/cb?x=1").unwrap();
        let verifier = PkceCodeVerifier::new("v".repeat(43));
        let conf = code_exchange_request(
            ClientAuth::Confidential {
                id: &id(),
                secret: &secret,
            },
            &code,
            &redirect,
            &verifier,
        );
        let expected = kv(&[
            ("grant_type", "authorization_code"),
            ("code", "co de&="),
            ("redirect_uri", "https://app.example/cb?x=1"),
            ("code_verifier", &"v".repeat(43)),
        ]);
        assert_eq!(pairs(&conf.body), expected);
        assert!(!conf.body.contains(SECRET) && !conf.body.contains("client_id"));
        assert_eq!(
            decode_basic(conf.authorization.as_deref().unwrap()).1,
            SECRET
        );

        let public = code_exchange_request(
            ClientAuth::Public { id: &id() },
            &code,
            &redirect,
            &verifier,
        );
        assert_eq!(public.authorization, None);
        let mut expected = expected;
        expected.push(("client_id".into(), "my id:ü".into()));
        assert_eq!(pairs(&public.body), expected);
    }

    #[test]
    fn refresh_bodies() {
        let secret = ClientSecret::new(SECRET.into());
        let rt = RefreshToken::new("rt+1".into());
        let conf = refresh_request(
            ClientAuth::Confidential {
                id: &id(),
                secret: &secret,
            },
            &rt,
        );
        assert_eq!(conf.body, "grant_type=refresh_token&refresh_token=rt%2B1");
        assert!(conf.authorization.is_some());
        let public = refresh_request(ClientAuth::Public { id: &id() }, &rt);
        assert_eq!(
            public.body,
            "grant_type=refresh_token&refresh_token=rt%2B1&client_id=my+id%3A%C3%BC"
        );
        assert_eq!(public.authorization, None);
    }

    #[test]
    fn bearer_header() {
        assert_eq!(
            bearer_authorization(&AccessToken::new("abc".into())),
            "Bearer abc"
        );
    }

    fn raw(json: &str) -> RawTokenResponse {
        serde_json::from_str(json).unwrap()
    }

    fn check(json: &str, expected: Result<(), &str>) {
        let got = process_token_response(raw(json), 1000)
            .map(|_| ())
            .map_err(|e| e.code());
        assert_eq!(got, expected, "{json}");
    }

    #[test]
    fn token_responses() {
        let set = process_token_response(
            raw(
                r#"{"token_type":"bearer","expires_in":7200,"access_token":"at",
                "scope":"tweet.read users.read offline.access","refresh_token":"rt","extra":[1]}"#,
            ),
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(set.access_token.secret(), "at");
        assert_eq!(set.expires_in, Some(7200));
        assert_eq!(set.expires_at, Some(1_700_007_200));
        assert_eq!(
            set.scope.as_deref(),
            Some("tweet.read users.read offline.access")
        );
        assert_eq!(set.refresh_token.as_ref().map(|t| t.secret()), Some("rt"));

        let set = process_token_response(
            raw(r#"{"token_type":"Bearer","access_token":"at","expires_in":18446744073709551615}"#),
            5,
        )
        .unwrap();
        assert_eq!(set.expires_at, Some(u64::MAX));
        assert!(set.refresh_token.is_none());

        check(r#"{"token_type":"BEARER","access_token":"a"}"#, Ok(()));
        check(
            r#"{"token_type":"bearer","access_token":"a","expires_in":0}"#,
            Ok(()),
        );
        check(
            r#"{"token_type":"mac","access_token":"a"}"#,
            Err("unsupported_token_type"),
        );
        check(
            r#"{"token_type":"bearer ","access_token":"a"}"#,
            Err("unsupported_token_type"),
        );
        check(r#"{"access_token":"a"}"#, Err("missing_token_type"));
        check(
            r#"{"token_type":"","access_token":"a"}"#,
            Err("missing_token_type"),
        );
        check(r#"{"token_type":"bearer"}"#, Err("missing_access_token"));
        check(
            r#"{"token_type":"bearer","access_token":""}"#,
            Err("missing_access_token"),
        );
        check(
            r#"{"token_type":"bearer","access_token":null}"#,
            Err("missing_access_token"),
        );
        check(r#"{}"#, Err("missing_access_token"));
        check(
            r#"{"token_type":"bearer","access_token":"a","refresh_token":""}"#,
            Err("empty_refresh_token"),
        );
        assert!(serde_json::from_str::<RawTokenResponse>(r#"{"expires_in":-1}"#).is_err());
    }

    #[test]
    fn nothing_secret_is_formatted() {
        let conf = code_exchange_request(
            ClientAuth::Confidential {
                id: &id(),
                secret: &ClientSecret::new(SECRET.into()),
            },
            &AuthorizationCode::new(SECRET.into()),
            &RedirectUri::parse("https://a.example/").unwrap(),
            &PkceCodeVerifier::new(SECRET.into()),
        );
        let public = refresh_request(
            ClientAuth::Public { id: &id() },
            &RefreshToken::new(SECRET.into()),
        );
        let json = format!(
            r#"{{"token_type":"bearer","access_token":"{SECRET}","refresh_token":"{SECRET}"}}"#
        );
        let raw_response = raw(&json);
        let set = process_token_response(raw(&json), 0).unwrap();
        let auth = ClientAuth::Confidential {
            id: &id(),
            secret: &ClientSecret::new(SECRET.into()),
        };
        for text in [
            format!("{conf:?}"),
            format!("{conf:#?}"),
            format!("{public:?}"),
            format!("{raw_response:?}"),
            format!("{raw_response:#?}"),
            format!("{set:?}"),
            format!("{set:#?}"),
            format!("{auth:?}"),
            format!("{}", set.access_token),
            format!("{}", set.refresh_token.as_ref().unwrap()),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("U3VwM3"), "{text}");
        }
        assert!(format!("{set:?}").contains("AccessToken([redacted])"));
        assert!(format!("{conf:?}").contains("[redacted]"));
    }
}
