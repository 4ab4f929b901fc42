//! OAuth 1.0a (RFC 5849) as X uses it: HMAC-SHA1 request signing (§3.4) and the
//! three-legged sign-in, by callback or by PIN (§2). Behind the `oauth1` feature.
//!
//! The steps, one function each; the nonce and the timestamp are always passed in:
//!
//! 1. [`request_token_request`] (POST it) and [`process_request_token_response`]
//!    (RFC 5849 §2.1): temporary credentials, a [`RequestToken`].
//! 2. [`oauth1_authenticate_url`] or [`oauth1_authorize_url`]: the link to X's consent page
//!    (§2.2).
//! 3. [`validate_oauth1_callback`] (callback flow) or [`OAuth1Verifier::parse_pin`] (PIN
//!    flow, `oauth_callback=oob`): the [`OAuth1Verifier`].
//! 4. [`access_token_request`] and [`process_access_token_response`] (§2.3): the user's
//!    [`OAuth1AccessToken`].
//!
//! Then every API call is signed with [`authorization_header`] (§3.1, §3.5.1).
//!
//! ```
//! use xauth_core::*;
//!
//! let key = ConsumerKey::new("my-consumer-key".to_string());
//! let secret = ConsumerSecret::new("my-consumer-secret".to_string());
//! let now = 1_700_000_000; // the caller's clock, Unix seconds
//!
//! // 1. A request token, for a callback URL (or OAuth1Callback::Oob for a PIN).
//! let callback = OAuth1Callback::parse("https://app.example/oauth1/callback")?;
//! let request = request_token_request(X_API_URL, &key, &secret, &callback, &generate_nonce()?, now)?;
//! assert_eq!(request.url, "https://api.x.com/oauth/request_token");
//! assert!(request.authorization.starts_with("OAuth oauth_callback=\"https%3A%2F%2Fapp.example"));
//! // POST it with `Authorization: {request.authorization}` and an empty body; X answers:
//! let request_token = process_request_token_response(
//!     "oauth_token=rt&oauth_token_secret=rts&oauth_callback_confirmed=true",
//! )?;
//!
//! // 2. Send the user to X (keep request_token.secret server-side meanwhile).
//! let link = oauth1_authenticate_url(X_API_URL, &request_token.token);
//! assert_eq!(link, "https://api.x.com/oauth/authenticate?oauth_token=rt");
//!
//! // 3. X redirects back; in the PIN flow, OAuth1Verifier::parse_pin(typed) instead.
//! let callback = "https://app.example/oauth1/callback?oauth_token=rt&oauth_verifier=v3r";
//! let verifier = validate_oauth1_callback(callback, &request_token.token)?;
//!
//! // 4. The user's access token.
//! let request = access_token_request(
//!     X_API_URL, &key, &secret, &request_token, &verifier, &generate_nonce()?, now,
//! )?;
//! assert!(request.authorization.contains("oauth_verifier=\"v3r\""));
//! let user = process_access_token_response(
//!     "oauth_token=12-at&oauth_token_secret=ats&user_id=12&screen_name=jack",
//! )?;
//!
//! // Then every call as the user is signed, its form body included.
//! let header = authorization_header(
//!     &OAuth1Request {
//!         method: "POST",
//!         url: "https://api.x.com/1.1/statuses/update.json",
//!         form_params: &[("status", "hello")],
//!         oauth_params: OAuth1Params {
//!             consumer_key: &key,
//!             token: Some(&user.token),
//!             nonce: &generate_nonce()?,
//!             timestamp: now,
//!             callback: None,
//!             verifier: None,
//!         },
//!     },
//!     &secret,
//!     Some(&user.secret),
//! )?;
//! assert!(header.contains("oauth_token=\"12-at\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::prelude::*;
use core::fmt;

use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use subtle::ConstantTimeEq as _;

use crate::callback::callback_query;
use crate::encoding::{push_percent_encoded, push_percent_encoded_bytes};
#[cfg(feature = "getrandom")]
use crate::random::{RandomnessError, random_32};
use crate::secrets::{ConsumerKey, ConsumerSecret, OAuth1Token, OAuth1Verifier, TokenSecret};
use crate::url::{RedirectUri, UrlError, validate};

/// Temporary credentials endpoint (RFC 5849 §2.1), under [`X_API_URL`](crate::X_API_URL).
pub const REQUEST_TOKEN_PATH: &str = "/oauth/request_token";
/// Consent page that skips the prompt when the user already approved the app, under
/// [`X_API_URL`](crate::X_API_URL) ("Sign in with X").
pub const OAUTH1_AUTHENTICATE_PATH: &str = "/oauth/authenticate";
/// Consent page that always prompts (RFC 5849 §2.2), under [`X_API_URL`](crate::X_API_URL).
pub const OAUTH1_AUTHORIZE_PATH: &str = "/oauth/authorize";
/// Token credentials endpoint (RFC 5849 §2.3), under [`X_API_URL`](crate::X_API_URL).
pub const ACCESS_TOKEN_PATH: &str = "/oauth/access_token";

/// The only signature method this crate speaks (RFC 5849 §3.4.2); X takes no other.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";

/// `oauth_callback` (RFC 5849 §2.1): where X sends the user back, or `oob` for the PIN flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OAuth1Callback {
    /// A callback URL; X requires it to be one of the app's registered callbacks.
    Url(RedirectUri),
    /// `oob` ("out of band"): X shows the user a PIN to type into the app.
    Oob,
}

impl OAuth1Callback {
    /// `oob` for [`OAuth1Callback::Oob`], else a validated URL.
    pub fn parse(value: &str) -> Result<Self, UrlError> {
        match value {
            "oob" => Ok(Self::Oob),
            url => RedirectUri::parse(url).map(Self::Url),
        }
    }

    /// The parameter value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Url(url) => url.as_str(),
            Self::Oob => "oob",
        }
    }
}

/// The protocol parameters of one request (RFC 5849 §3.1), all but the signature.
/// `oauth_signature_method="HMAC-SHA1"` and `oauth_version="1.0"` are always added.
#[derive(Clone, Copy, Debug)]
pub struct OAuth1Params<'a> {
    /// `oauth_consumer_key`.
    pub consumer_key: &'a ConsumerKey,
    /// `oauth_token`: the request token (step 4) or the access token (API calls); `None`
    /// when asking for a request token.
    pub token: Option<&'a OAuth1Token>,
    /// `oauth_nonce` (RFC 5849 §3.3): unique per timestamp; see [`generate_nonce`].
    pub nonce: &'a str,
    /// `oauth_timestamp` (RFC 5849 §3.3): now, in Unix seconds. X refuses a timestamp more
    /// than a few minutes off its clock.
    pub timestamp: u64,
    /// `oauth_callback`, only when asking for a request token.
    pub callback: Option<&'a OAuth1Callback>,
    /// `oauth_verifier`, only when trading the request token for an access token.
    pub verifier: Option<&'a OAuth1Verifier>,
}

/// One HTTP request to sign (RFC 5849 §3.4.1).
#[derive(Clone, Copy, Debug)]
pub struct OAuth1Request<'a> {
    /// The HTTP method (any case; uppercased for signing).
    pub method: &'a str,
    /// The absolute `http`/`https` URL the request goes to, query included, exactly as it
    /// will be sent: the host and the query are signed.
    pub url: &'a str,
    /// The decoded parameters of an `application/x-www-form-urlencoded` body, which are
    /// signed too (RFC 5849 §3.4.1.3.1); empty for any other body (JSON is not signed).
    pub form_params: &'a [(&'a str, &'a str)],
    /// The protocol parameters.
    pub oauth_params: OAuth1Params<'a>,
}

/// The signature base string (RFC 5849 §3.4.1.1): the uppercase method, the base string
/// URI (§3.4.1.2) and the normalized parameters (§3.4.1.3), each encoded (§3.6) and joined
/// by `&`.
///
/// The parameters are the URL's query and the form body, both decoded, plus the protocol
/// parameters (never `realm` or `oauth_signature`). Refuses a URL that
/// [`RedirectUri::parse`] would refuse, a method that is not ASCII letters, an empty
/// nonce, and an `oauth_*` parameter in the query or the body (RFC 5849 §3.5: protocol
/// parameters go in one place, here the header).
pub fn signature_base_string(request: &OAuth1Request<'_>) -> Result<String, OAuth1Error> {
    let p = &request.oauth_params;
    if p.nonce.is_empty() {
        return Err(OAuth1Error::EmptyNonce);
    }
    let timestamp = p.timestamp.to_string();
    base_string(
        request.method,
        request.url,
        request.form_params,
        &protocol_params(p, &timestamp),
    )
}

/// The HMAC-SHA1 signature (RFC 5849 §3.4.2) of a base string, BASE64-encoded: the key is
/// `encode(consumer_secret) "&" encode(token_secret)`, with an empty token secret when
/// there is no token yet.
pub fn sign_hmac_sha1(
    base_string: &str,
    consumer_secret: &ConsumerSecret,
    token_secret: Option<&TokenSecret>,
) -> String {
    use base64ct::{Base64, Encoding as _};
    let mut key = String::new();
    push_percent_encoded(&mut key, consumer_secret.secret());
    key.push('&');
    if let Some(token_secret) = token_secret {
        push_percent_encoded(&mut key, token_secret.secret());
    }
    #[allow(
        clippy::expect_used,
        reason = "HMAC takes keys of any length (RFC 2104 §2): new_from_slice cannot fail"
    )]
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base_string.as_bytes());
    Base64::encode_string(&mac.finalize().into_bytes())
}

/// The `Authorization` header value (RFC 5849 §3.5.1) for a request:
/// `OAuth oauth_callback="…", oauth_consumer_key="…", oauth_nonce="…", oauth_signature="…",
/// oauth_signature_method="HMAC-SHA1", oauth_timestamp="…", oauth_token="…",
/// oauth_verifier="…", oauth_version="1.0"` (absent parameters left out), values
/// percent-encoded. Fails as [`signature_base_string`] does.
///
/// # Security warning
///
/// Within the server's timestamp window (X: minutes) the value can be replayed once, until
/// the server has seen its nonce. Never log it.
pub fn authorization_header(
    request: &OAuth1Request<'_>,
    consumer_secret: &ConsumerSecret,
    token_secret: Option<&TokenSecret>,
) -> Result<String, OAuth1Error> {
    let signature = sign_hmac_sha1(
        &signature_base_string(request)?,
        consumer_secret,
        token_secret,
    );
    let timestamp = request.oauth_params.timestamp.to_string();
    let mut params = protocol_params(&request.oauth_params, &timestamp);
    params.push(("oauth_signature", &signature));
    params.sort_unstable_by_key(|(name, _)| *name);
    let mut header = String::from("OAuth ");
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            header.push_str(", ");
        }
        header.push_str(name);
        header.push_str("=\"");
        push_percent_encoded(&mut header, value);
        header.push('"');
    }
    Ok(header)
}

/// A fresh `oauth_nonce`: 32 bytes (256 bits) from the platform CSPRNG as 64 lowercase hex
/// digits, which every server takes.
#[cfg(feature = "getrandom")]
pub fn generate_nonce() -> Result<String, RandomnessError> {
    Ok(nonce_from_random_bytes(&random_32()?))
}

/// The nonce for 32 caller-supplied random bytes (must come from a CSPRNG).
pub fn nonce_from_random_bytes(bytes: &[u8; 32]) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .filter_map(|nibble| char::from_digit(u32::from(nibble), 16))
        .collect()
}

/// A `POST` with an empty body and a signed `Authorization` header, ready for any HTTP
/// client. `Debug` redacts the header.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Where to POST: exactly this URL was signed.
    pub url: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("url", &self.url)
            .field("authorization", &crate::token::Redacted)
            .finish()
    }
}

/// Step 1 (RFC 5849 §2.1): asks for a request token, signed with the consumer secret
/// alone. `api_base` is [`X_API_URL`](crate::X_API_URL) or an emulator's base URL; the
/// request goes to `api_base + REQUEST_TOKEN_PATH`.
pub fn request_token_request(
    api_base: &str,
    consumer_key: &ConsumerKey,
    consumer_secret: &ConsumerSecret,
    callback: &OAuth1Callback,
    nonce: &str,
    timestamp: u64,
) -> Result<SignedRequest, OAuth1Error> {
    let url = join(api_base, REQUEST_TOKEN_PATH);
    let params = OAuth1Params {
        consumer_key,
        token: None,
        nonce,
        timestamp,
        callback: Some(callback),
        verifier: None,
    };
    post(url, params, consumer_secret, None)
}

/// Step 4 (RFC 5849 §2.3): trades the request token and the verifier for the user's
/// access token, signed with the request token's secret. Goes to
/// `api_base + ACCESS_TOKEN_PATH`; `oauth_verifier` travels in the header.
pub fn access_token_request(
    api_base: &str,
    consumer_key: &ConsumerKey,
    consumer_secret: &ConsumerSecret,
    request_token: &RequestToken,
    verifier: &OAuth1Verifier,
    nonce: &str,
    timestamp: u64,
) -> Result<SignedRequest, OAuth1Error> {
    let url = join(api_base, ACCESS_TOKEN_PATH);
    let params = OAuth1Params {
        consumer_key,
        token: Some(&request_token.token),
        nonce,
        timestamp,
        callback: None,
        verifier: Some(verifier),
    };
    post(url, params, consumer_secret, Some(&request_token.secret))
}

fn post(
    url: String,
    oauth_params: OAuth1Params<'_>,
    consumer_secret: &ConsumerSecret,
    token_secret: Option<&TokenSecret>,
) -> Result<SignedRequest, OAuth1Error> {
    let request = OAuth1Request {
        method: "POST",
        url: &url,
        form_params: &[],
        oauth_params,
    };
    let authorization = authorization_header(&request, consumer_secret, token_secret)?;
    Ok(SignedRequest { url, authorization })
}

/// Step 2, "Sign in with X": `api_base + OAUTH1_AUTHENTICATE_PATH + "?oauth_token=…"`. X
/// skips the prompt when the user already approved the app.
pub fn oauth1_authenticate_url(api_base: &str, request_token: &OAuth1Token) -> String {
    consent_url(api_base, OAUTH1_AUTHENTICATE_PATH, request_token)
}

/// Step 2, always prompting (RFC 5849 §2.2):
/// `api_base + OAUTH1_AUTHORIZE_PATH + "?oauth_token=…"`.
pub fn oauth1_authorize_url(api_base: &str, request_token: &OAuth1Token) -> String {
    consent_url(api_base, OAUTH1_AUTHORIZE_PATH, request_token)
}

fn consent_url(api_base: &str, path: &str, token: &OAuth1Token) -> String {
    let mut url = join(api_base, path);
    url.push_str("?oauth_token=");
    push_percent_encoded(&mut url, token.as_str());
    url
}

/// `api_base` without trailing slashes, then `path`.
fn join(api_base: &str, path: &str) -> String {
    let mut url = api_base.trim_end_matches('/').to_owned();
    url.push_str(path);
    url
}

/// Temporary credentials (RFC 5849 §2.1): the request token and its secret. `Debug`
/// redacts the secret.
#[derive(Clone, Debug)]
pub struct RequestToken {
    /// `oauth_token`: goes into the consent link and comes back in the callback.
    pub token: OAuth1Token,
    /// `oauth_token_secret`: keep it server-side until step 4, which it signs.
    pub secret: TokenSecret,
}

/// Token credentials (RFC 5849 §2.3) and X's account fields. `Debug` redacts the secret.
#[derive(Clone, Debug)]
pub struct OAuth1AccessToken {
    /// `oauth_token`: the user's access token.
    pub token: OAuth1Token,
    /// `oauth_token_secret`: signs every call made as the user.
    pub secret: TokenSecret,
    /// `user_id`: X's numeric account id.
    pub user_id: String,
    /// `screen_name`: the handle, without `@`.
    pub screen_name: String,
}

/// Checks X's answer to [`request_token_request`] (an `application/x-www-form-urlencoded`
/// body), strictly: non-empty `oauth_token` and `oauth_token_secret`, and
/// `oauth_callback_confirmed=true` (RFC 5849 §2.1; its absence means an OAuth 1.0 server
/// that would ignore the callback). No known parameter may repeat.
pub fn process_request_token_response(body: &str) -> Result<RequestToken, OAuth1Error> {
    let [token, secret, confirmed] = fields(
        body,
        [
            "oauth_token",
            "oauth_token_secret",
            "oauth_callback_confirmed",
        ],
    )?;
    let token = token.ok_or(OAuth1Error::MissingToken)?;
    let secret = secret.ok_or(OAuth1Error::MissingTokenSecret)?;
    if confirmed.as_deref() != Some("true") {
        return Err(OAuth1Error::CallbackNotConfirmed);
    }
    Ok(RequestToken {
        token: OAuth1Token::new(token),
        secret: TokenSecret::new(secret),
    })
}

/// Checks X's answer to [`access_token_request`], strictly: non-empty `oauth_token` and
/// `oauth_token_secret`, a `user_id` of ASCII digits, a non-empty `screen_name`. No known
/// parameter may repeat.
pub fn process_access_token_response(body: &str) -> Result<OAuth1AccessToken, OAuth1Error> {
    let [token, secret, user_id, screen_name] = fields(
        body,
        [
            "oauth_token",
            "oauth_token_secret",
            "user_id",
            "screen_name",
        ],
    )?;
    let token = token.ok_or(OAuth1Error::MissingToken)?;
    let secret = secret.ok_or(OAuth1Error::MissingTokenSecret)?;
    let user_id = user_id
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(OAuth1Error::InvalidUserId)?;
    let screen_name = screen_name.ok_or(OAuth1Error::MissingScreenName)?;
    Ok(OAuth1AccessToken {
        token: OAuth1Token::new(token),
        secret: TokenSecret::new(secret),
        user_id,
        screen_name,
    })
}

/// Step 3 of the callback flow: checks X's redirect back (`input` is the callback URL or
/// its query), strictly and in this order:
///
/// 1. No more than [`MAX_CALLBACK_LEN`](crate::MAX_CALLBACK_LEN) bytes, no repeated
///    `oauth_token`, `oauth_verifier` or `denied` ([`OAuth1Error::MalformedCallback`]).
/// 2. `denied=<token>` (the user said no) is [`OAuth1Error::AccessDenied`], but only for
///    this request token ([`OAuth1Error::TokenMismatch`] otherwise).
/// 3. `oauth_token` must be present ([`OAuth1Error::MissingToken`]) and equal the request
///    token, compared in constant time ([`OAuth1Error::TokenMismatch`]): it ties the
///    callback to the sign-in this browser started.
/// 4. `oauth_verifier` must be non-empty ([`OAuth1Error::MissingVerifier`]).
pub fn validate_oauth1_callback(
    input: &str,
    request_token: &OAuth1Token,
) -> Result<OAuth1Verifier, OAuth1Error> {
    let query = callback_query(input).ok_or(OAuth1Error::MalformedCallback)?;
    let [token, verifier, denied] = fields(query, ["oauth_token", "oauth_verifier", "denied"])
        .map_err(|_| OAuth1Error::MalformedCallback)?;
    let matches =
        |token: &str| bool::from(token.as_bytes().ct_eq(request_token.as_str().as_bytes()));
    if let Some(denied) = denied {
        return Err(if matches(&denied) {
            OAuth1Error::AccessDenied
        } else {
            OAuth1Error::TokenMismatch
        });
    }
    match token {
        None => return Err(OAuth1Error::MissingToken),
        Some(token) if !matches(&token) => return Err(OAuth1Error::TokenMismatch),
        Some(_) => {}
    }
    verifier
        .map(OAuth1Verifier::new)
        .ok_or(OAuth1Error::MissingVerifier)
}

/// The non-empty values of `names` in a form-encoded string; a repeated name is
/// [`OAuth1Error::RepeatedParameter`].
fn fields<const N: usize>(
    form: &str,
    names: [&str; N],
) -> Result<[Option<String>; N], OAuth1Error> {
    let mut values: [Option<String>; N] = [const { None }; N];
    for (name, value) in form_urlencoded::parse(form.as_bytes()) {
        let Some(slot) = names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get_mut(i))
        else {
            continue;
        };
        if slot.is_some() {
            return Err(OAuth1Error::RepeatedParameter);
        }
        *slot = Some(value.into_owned());
    }
    Ok(values.map(|value| value.filter(|v| !v.is_empty())))
}

/// The protocol parameters but the signature, in name order.
fn protocol_params<'a>(p: &OAuth1Params<'a>, timestamp: &'a str) -> Vec<(&'static str, &'a str)> {
    let mut params = Vec::with_capacity(9);
    if let Some(callback) = p.callback {
        params.push(("oauth_callback", callback.as_str()));
    }
    params.push(("oauth_consumer_key", p.consumer_key.as_str()));
    params.push(("oauth_nonce", p.nonce));
    params.push(("oauth_signature_method", SIGNATURE_METHOD));
    params.push(("oauth_timestamp", timestamp));
    if let Some(token) = p.token {
        params.push(("oauth_token", token.as_str()));
    }
    if let Some(verifier) = p.verifier {
        params.push(("oauth_verifier", verifier.secret()));
    }
    params.push(("oauth_version", "1.0"));
    params
}

/// RFC 5849 §3.4.1.1 over raw parts (`protocol` as given: the RFC's own examples omit
/// `oauth_version`).
fn base_string(
    method: &str,
    url: &str,
    form_params: &[(&str, &str)],
    protocol: &[(&str, &str)],
) -> Result<String, OAuth1Error> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(OAuth1Error::InvalidMethod);
    }
    let (uri, query) = base_string_uri(url)?;
    let mut params: Vec<(String, String)> = Vec::new();
    // §3.4.1.3.1: the query, form-decoded (`+` is a space) into raw bytes.
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((form_decoded(name), form_decoded(value)));
    }
    for (name, value) in form_params {
        params.push((encode(name.as_bytes()), encode(value.as_bytes())));
    }
    // Encoded `oauth_` is still `oauth_`.
    if params.iter().any(|(name, _)| name.starts_with("oauth_")) {
        return Err(OAuth1Error::OAuthParameterOutsideHeader);
    }
    for (name, value) in protocol {
        params.push((encode(name.as_bytes()), encode(value.as_bytes())));
    }
    let mut out = method.to_ascii_uppercase();
    out.push('&');
    push_percent_encoded(&mut out, &uri);
    out.push('&');
    push_percent_encoded(&mut out, &normalize(params));
    Ok(out)
}

/// §3.4.1.3.2: encoded pairs sorted by name, then value (byte order), as `name=value`
/// joined by `&`.
fn normalize(mut params: Vec<(String, String)>) -> String {
    params.sort_unstable();
    let mut out = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// §3.4.1.2: lowercase scheme and host, no default port (80 for http, 443 for https),
/// path as sent (`/` if empty), no query; the query is returned apart.
fn base_string_uri(url: &str) -> Result<(String, &str), OAuth1Error> {
    validate(url).map_err(OAuth1Error::Url)?;
    let (scheme, rest) =
        crate::url::split_scheme(url).ok_or(OAuth1Error::Url(UrlError::NotAbsolute))?;
    let scheme = scheme.to_ascii_lowercase();
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match before_query.find('/') {
        Some(at) => before_query
            .split_at_checked(at)
            .unwrap_or((before_query, "")),
        None => (before_query, ""),
    };
    // `validate` checked the port's digits; an IPv6 literal ends in `]` without one.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !authority.ends_with(']') => (host, port.parse::<u16>().ok()),
        _ => (authority, None),
    };
    let mut uri = scheme;
    uri.push_str("://");
    uri.push_str(&host.to_ascii_lowercase());
    match (uri.starts_with("https:"), port) {
        (_, None) | (false, Some(80)) | (true, Some(443)) => {}
        (_, Some(port)) => {
            uri.push(':');
            uri.push_str(&port.to_string());
        }
    }
    uri.push_str(if path.is_empty() { "/" } else { path });
    Ok((uri, query))
}

/// §3.6 encoding of the UTF-8 bytes of `value`.
fn encode(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    push_percent_encoded_bytes(&mut out, value);
    out
}

/// A query component, form-decoded into bytes, then §3.6-encoded.
fn form_decoded(component: &str) -> String {
    let spaced: Vec<u8> = component
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    encode(&percent_encoding::percent_decode(&spaced).collect::<Vec<u8>>())
}

/// Why an OAuth 1.0a request could not be built or an answer was refused. Match on
/// [`OAuth1Error::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuth1Error {
    /// The request URL is not acceptable.
    Url(UrlError),
    /// The HTTP method is empty or not ASCII letters.
    InvalidMethod,
    /// `oauth_nonce` is empty.
    EmptyNonce,
    /// The query or the form body has an `oauth_*` parameter (they go in the header).
    OAuthParameterOutsideHeader,
    /// A parameter of X's answer appears twice.
    RepeatedParameter,
    /// No (or an empty) `oauth_token`.
    MissingToken,
    /// No (or an empty) `oauth_token_secret`.
    MissingTokenSecret,
    /// `oauth_callback_confirmed` is not `true`.
    CallbackNotConfirmed,
    /// `user_id` is missing, empty or not digits.
    InvalidUserId,
    /// No (or an empty) `screen_name`.
    MissingScreenName,
    /// The callback is too long or repeats a parameter.
    MalformedCallback,
    /// The user declined (`denied=<token>` in the callback).
    AccessDenied,
    /// The callback's `oauth_token` (or `denied`) is not this sign-in's request token.
    TokenMismatch,
    /// The callback has no (or an empty) `oauth_verifier`.
    MissingVerifier,
}

impl OAuth1Error {
    /// Stable machine-readable code: the [`UrlError::code`] for a bad URL, else
    /// `invalid_method`, `empty_nonce`, `oauth_parameter_outside_header`,
    /// `repeated_parameter`, `missing_oauth_token`, `missing_oauth_token_secret`,
    /// `callback_not_confirmed`, `invalid_user_id`, `missing_screen_name`,
    /// `malformed_callback`, `access_denied`, `token_mismatch` or `missing_oauth_verifier`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Url(error) => error.code(),
            Self::InvalidMethod => "invalid_method",
            Self::EmptyNonce => "empty_nonce",
            Self::OAuthParameterOutsideHeader => "oauth_parameter_outside_header",
            Self::RepeatedParameter => "repeated_parameter",
            Self::MissingToken => "missing_oauth_token",
            Self::MissingTokenSecret => "missing_oauth_token_secret",
            Self::CallbackNotConfirmed => "callback_not_confirmed",
            Self::InvalidUserId => "invalid_user_id",
            Self::MissingScreenName => "missing_screen_name",
            Self::MalformedCallback => "malformed_callback",
            Self::AccessDenied => "access_denied",
            Self::TokenMismatch => "token_mismatch",
            Self::MissingVerifier => "missing_oauth_verifier",
        }
    }
}

impl fmt::Display for OAuth1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(error) => fmt::Display::fmt(error, f),
            Self::InvalidMethod => f.write_str("the HTTP method is not ASCII letters"),
            Self::EmptyNonce => f.write_str("oauth_nonce is empty"),
            Self::OAuthParameterOutsideHeader => {
                f.write_str("oauth_* parameters belong in the Authorization header")
            }
            Self::RepeatedParameter => f.write_str("a parameter of X's answer is repeated"),
            Self::MissingToken => f.write_str("no oauth_token"),
            Self::MissingTokenSecret => f.write_str("no oauth_token_secret"),
            Self::CallbackNotConfirmed => f.write_str("oauth_callback_confirmed is not true"),
            Self::InvalidUserId => f.write_str("user_id is missing or not numeric"),
            Self::MissingScreenName => f.write_str("no screen_name"),
            Self::MalformedCallback => f.write_str("the callback is malformed"),
            Self::AccessDenied => f.write_str("the user denied access"),
            Self::TokenMismatch => f.write_str("the callback is for another request token"),
            Self::MissingVerifier => f.write_str("no oauth_verifier in the callback"),
        }
    }
}

impl core::error::Error for OAuth1Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// X's "Creating a signature" example.
    const X_CONSUMER_KEY: &str = "xvz1evFS4wEEPTGEFPHBog";
    const X_CONSUMER_SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
    const X_TOKEN: &str = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb";
    const X_TOKEN_SECRET: &str = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
    const X_NONCE: &str = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
    const X_STATUS: &str = "Hello Ladies + Gentlemen, a signed OAuth request!";
    const X_BASE_STRING: &str = "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521";

    fn x_example(host: &str) -> (String, String) {
        let url = format!("https://{host}/1.1/statuses/update.json?include_entities=true");
        let key = ConsumerKey::new(X_CONSUMER_KEY.into());
        let token = OAuth1Token::new(X_TOKEN.into());
        let request = OAuth1Request {
            method: "post",
            url: &url,
            form_params: &[("status", X_STATUS)],
            oauth_params: OAuth1Params {
                consumer_key: &key,
                token: Some(&token),
                nonce: X_NONCE,
                timestamp: 1_318_622_958,
                callback: None,
                verifier: None,
            },
        };
        let consumer_secret = ConsumerSecret::new(X_CONSUMER_SECRET.into());
        let token_secret = TokenSecret::new(X_TOKEN_SECRET.into());
        let header = authorization_header(&request, &consumer_secret, Some(&token_secret)).unwrap();
        (signature_base_string(&request).unwrap(), header)
    }

    #[test]
    fn x_signature_example_for_both_hosts() {
        let (base, header) = x_example("api.twitter.com");
        assert_eq!(base, X_BASE_STRING);
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", \
             oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\", \
             oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\", \
             oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1318622958\", \
             oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\", \
             oauth_version=\"1.0\""
        );
        let (base, header) = x_example("api.x.com");
        assert_eq!(base, X_BASE_STRING.replace("api.twitter.com", "api.x.com"));
        assert!(header.contains("oauth_signature=\"Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D\""));
        // Case and the default port are not signed.
        let (base, _) = x_example("API.X.com:443");
        assert!(base.starts_with("POST&https%3A%2F%2Fapi.x.com%2F1.1%2F"));
    }

    #[test]
    fn x_sign_in_request_token_example() {
        // X's "Implementing Sign in with Twitter" step 1.
        let request = request_token_request(
            "https://api.twitter.com/",
            &ConsumerKey::new("cChZNFj6T5R0TigYB9yd1w".into()),
            &ConsumerSecret::new("L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg".into()),
            &OAuth1Callback::parse("http://localhost/sign-in-with-twitter/").unwrap(),
            "ea9ec8429b68d6b77cd5600adbbb0456",
            1_318_467_427,
        )
        .unwrap();
        assert_eq!(request.url, "https://api.twitter.com/oauth/request_token");
        assert_eq!(
            request.authorization,
            "OAuth oauth_callback=\"http%3A%2F%2Flocalhost%2Fsign-in-with-twitter%2F\", \
             oauth_consumer_key=\"cChZNFj6T5R0TigYB9yd1w\", \
             oauth_nonce=\"ea9ec8429b68d6b77cd5600adbbb0456\", \
             oauth_signature=\"F1Li3tvehgcraF8DMJ7OyxO4w9Y%3D\", \
             oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1318467427\", \
             oauth_version=\"1.0\""
        );
        assert_eq!(
            format!("{request:?}"),
            "SignedRequest { url: \"https://api.twitter.com/oauth/request_token\", authorization: [redacted] }"
        );
    }

    #[test]
    fn rfc5849_3_4_1_1_base_string() {
        let body: Vec<(String, String)> =
            form_urlencoded::parse(b"c2&a3=2+q").into_owned().collect();
        let form: Vec<(&str, &str)> = body.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let base = base_string(
            "POST",
            "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
            &form,
            &[
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_token", "kkk9d7dh3k39sjv7"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "7d8f3e4a"),
            ],
        )
        .unwrap();
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    #[test]
    fn rfc5849_1_2_examples() {
        let consumer_secret = ConsumerSecret::new("kd94hf93k423kf44".into());
        // Temporary credentials request: RFC 5849 §1.2 prints this signature.
        let base = base_string(
            "POST",
            "https://photos.example.net/initiate",
            &[],
            &[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131200"),
                ("oauth_nonce", "wIjqoS"),
                ("oauth_callback", "http://printer.example.com/ready"),
            ],
        )
        .unwrap();
        assert_eq!(
            sign_hmac_sha1(&base, &consumer_secret, None),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        );
        // The protected resource request: the RFC's base string, and the signature its
        // Authorization header prints percent-encoded (MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D).
        let base = base_string(
            "GET",
            "http://photos.example.net/photos?file=vacation.jpg&size=original",
            &[],
            &[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_token", "nnch734d00sl2jdk"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131202"),
                ("oauth_nonce", "chapoH"),
            ],
        )
        .unwrap();
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26\
             oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_\
             signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_to\
             ken%3Dnnch734d00sl2jdk%26size%3Doriginal"
        );
        let token_secret = TokenSecret::new("pfkkdhi9sl3r4s00".into());
        assert_eq!(
            sign_hmac_sha1(&base, &consumer_secret, Some(&token_secret)),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
    }

    #[test]
    fn percent_encoding_edge_cases() {
        for (input, expected) in [
            ("a b", "a%20b"),
            ("*", "%2A"),
            ("~-._", "~-._"),
            ("+", "%2B"),
            ("!'()", "%21%27%28%29"),
            ("é", "%C3%A9"),
            ("😀", "%F0%9F%98%80"),
            ("%2F", "%252F"),
            ("", ""),
        ] {
            assert_eq!(encode(input.as_bytes()), expected, "{input:?}");
        }
        // Decoded bytes that are not UTF-8 are encoded as they are.
        assert_eq!(form_decoded("%ff+%2a"), "%FF%20%2A");
    }

    #[test]
    fn base_string_uris() {
        for (url, expected) in [
            (
                "HTTP://EXAMPLE.COM:80/r%20v/X?id=123",
                "http://example.com/r%20v/X",
            ),
            (
                "https://www.example.net:8080/?q=1",
                "https://www.example.net:8080/",
            ),
            ("https://example.net:443", "https://example.net/"),
            ("http://example.net:443/a", "http://example.net:443/a"),
            ("https://example.net:80/a", "https://example.net:80/a"),
            (
                "http://[::1]:8790/oauth/request_token",
                "http://[::1]:8790/oauth/request_token",
            ),
            ("http://[::1]/x", "http://[::1]/x"),
            ("http://127.0.0.1:8790", "http://127.0.0.1:8790/"),
        ] {
            assert_eq!(base_string_uri(url).unwrap().0, expected, "{url}");
        }
    }

    fn params<'a>(key: &'a ConsumerKey, nonce: &'a str) -> OAuth1Params<'a> {
        OAuth1Params {
            consumer_key: key,
            token: None,
            nonce,
            timestamp: 1,
            callback: None,
            verifier: None,
        }
    }

    #[test]
    fn refusals() {
        let key = ConsumerKey::new("k".into());
        let check = |method: &str, url: &str, form: &[(&str, &str)], nonce: &str, code: &str| {
            let request = OAuth1Request {
                method,
                url,
                form_params: form,
                oauth_params: params(&key, nonce),
            };
            assert_eq!(
                signature_base_string(&request).map_err(|e| e.code()),
                Err(code),
                "{method} {url} {form:?} {nonce:?}"
            );
        };
        let ok = "https://api.x.com/2/tweets";
        check("", ok, &[], "n", "invalid_method");
        check("GE T", ok, &[], "n", "invalid_method");
        check("POST", ok, &[], "", "empty_nonce");
        check("POST", "api.x.com/2/tweets", &[], "n", "url_not_absolute");
        check(
            "POST",
            "ftp://api.x.com/",
            &[],
            "n",
            "url_unsupported_scheme",
        );
        check("POST", "https://api.x.com/#f", &[], "n", "url_has_fragment");
        check(
            "POST",
            "https://api.x.com/?oauth_token=t",
            &[],
            "n",
            "oauth_parameter_outside_header",
        );
        check(
            "POST",
            "https://api.x.com/?oauth%5Fnonce=t",
            &[],
            "n",
            "oauth_parameter_outside_header",
        );
        check(
            "POST",
            ok,
            &[("oauth_verifier", "v")],
            "n",
            "oauth_parameter_outside_header",
        );
        let request = OAuth1Request {
            method: "GET",
            url: ok,
            form_params: &[],
            oauth_params: params(&key, "n"),
        };
        assert!(signature_base_string(&request).is_ok());
    }

    #[test]
    fn header_carries_callback_and_verifier() {
        let key = ConsumerKey::new("key".into());
        let secret = ConsumerSecret::new("sec".into());
        let request_token = RequestToken {
            token: OAuth1Token::new("rt".into()),
            secret: TokenSecret::new("rts".into()),
        };
        let request = access_token_request(
            "http://127.0.0.1:8790",
            &key,
            &secret,
            &request_token,
            &OAuth1Verifier::new("v 1".into()),
            "nonce",
            7,
        )
        .unwrap();
        assert_eq!(request.url, "http://127.0.0.1:8790/oauth/access_token");
        assert!(request.authorization.starts_with(
            "OAuth oauth_consumer_key=\"key\", oauth_nonce=\"nonce\", oauth_signature=\""
        ));
        assert!(request.authorization.ends_with(
            "\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"7\", \
             oauth_token=\"rt\", oauth_verifier=\"v%201\", oauth_version=\"1.0\""
        ));
        // Signed with the request token's secret.
        let oauth_params = OAuth1Params {
            consumer_key: &key,
            token: Some(&request_token.token),
            nonce: "nonce",
            timestamp: 7,
            callback: None,
            verifier: Some(&OAuth1Verifier::new("v 1".into())),
        };
        let base = signature_base_string(&OAuth1Request {
            method: "POST",
            url: &request.url,
            form_params: &[],
            oauth_params,
        })
        .unwrap();
        let mut signature = String::new();
        push_percent_encoded(
            &mut signature,
            &sign_hmac_sha1(&base, &secret, Some(&request_token.secret)),
        );
        assert!(request.authorization.contains(&signature));

        let oob = request_token_request(
            "https://api.x.com",
            &key,
            &secret,
            &OAuth1Callback::Oob,
            "n",
            1,
        )
        .unwrap();
        assert!(
            oob.authorization
                .starts_with("OAuth oauth_callback=\"oob\", ")
        );
        assert!(!oob.authorization.contains("oauth_token"));
        assert_eq!(
            OAuth1Callback::parse("nope").map_err(|e| e.code()),
            Err("url_not_absolute")
        );
    }

    #[test]
    fn consent_links() {
        let token = OAuth1Token::new("Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik".into());
        assert_eq!(
            oauth1_authenticate_url(crate::X_API_URL, &token),
            "https://api.x.com/oauth/authenticate?oauth_token=Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik"
        );
        assert_eq!(
            oauth1_authorize_url("http://127.0.0.1:8790/", &OAuth1Token::new("a+b/c".into())),
            "http://127.0.0.1:8790/oauth/authorize?oauth_token=a%2Bb%2Fc"
        );
    }

    fn check_request_token(body: &str, expected: Result<(&str, &str), &str>) {
        let got = process_request_token_response(body);
        assert_eq!(
            got.as_ref()
                .map(|t| (t.token.as_str(), t.secret.secret()))
                .map_err(|e| e.code()),
            expected,
            "{body}"
        );
    }

    #[test]
    fn request_token_responses() {
        check_request_token(
            "oauth_token=NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0&oauth_token_secret=veNRnAWe6inFuo8o2u8SLLZLjolYDmDP7SzL0YfYI&oauth_callback_confirmed=true",
            Ok((
                "NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0",
                "veNRnAWe6inFuo8o2u8SLLZLjolYDmDP7SzL0YfYI",
            )),
        );
        check_request_token(
            "oauth_callback_confirmed=true&oauth_token_secret=s%2Bx&oauth_token=t&extra=1",
            Ok(("t", "s+x")),
        );
        check_request_token(
            "oauth_token_secret=s&oauth_callback_confirmed=true",
            Err("missing_oauth_token"),
        );
        check_request_token(
            "oauth_token=&oauth_token_secret=s&oauth_callback_confirmed=true",
            Err("missing_oauth_token"),
        );
        check_request_token(
            "oauth_token=t&oauth_callback_confirmed=true",
            Err("missing_oauth_token_secret"),
        );
        check_request_token(
            "oauth_token=t&oauth_token_secret=s",
            Err("callback_not_confirmed"),
        );
        check_request_token(
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=TRUE",
            Err("callback_not_confirmed"),
        );
        check_request_token(
            "oauth_token=t&oauth_token=u&oauth_token_secret=s&oauth_callback_confirmed=true",
            Err("repeated_parameter"),
        );
        check_request_token("<html>oops", Err("missing_oauth_token"));
        check_request_token("", Err("missing_oauth_token"));
    }

    #[test]
    fn access_token_responses() {
        let ok = process_access_token_response(
            "oauth_token=6253282-eWudHldSbIaelX7swmsiHImEL4KinwaGloHANdrY&oauth_token_secret=2EEfA6BG3ly3sR3RjE0IBSnlQu4ZrUzPiYKmrkVU&user_id=6253282&screen_name=twitterapi",
        )
        .unwrap();
        assert_eq!(
            ok.token.as_str(),
            "6253282-eWudHldSbIaelX7swmsiHImEL4KinwaGloHANdrY"
        );
        assert_eq!(
            ok.secret.secret(),
            "2EEfA6BG3ly3sR3RjE0IBSnlQu4ZrUzPiYKmrkVU"
        );
        assert_eq!(
            (ok.user_id.as_str(), ok.screen_name.as_str()),
            ("6253282", "twitterapi")
        );
        assert!(!format!("{ok:?}").contains("2EEfA6BG"));
        for (body, code) in [
            (
                "oauth_token_secret=s&user_id=1&screen_name=n",
                "missing_oauth_token",
            ),
            (
                "oauth_token=t&user_id=1&screen_name=n",
                "missing_oauth_token_secret",
            ),
            (
                "oauth_token=t&oauth_token_secret=s&screen_name=n",
                "invalid_user_id",
            ),
            (
                "oauth_token=t&oauth_token_secret=s&user_id=&screen_name=n",
                "invalid_user_id",
            ),
            (
                "oauth_token=t&oauth_token_secret=s&user_id=12a&screen_name=n",
                "invalid_user_id",
            ),
            (
                "oauth_token=t&oauth_token_secret=s&user_id=1",
                "missing_screen_name",
            ),
            (
                "oauth_token=t&oauth_token_secret=s&user_id=1&user_id=2&screen_name=n",
                "repeated_parameter",
            ),
        ] {
            assert_eq!(
                process_access_token_response(body)
                    .map(|_| ())
                    .map_err(|e| e.code()),
                Err(code),
                "{body}"
            );
        }
    }

    #[test]
    fn callbacks() {
        let token = OAuth1Token::new("rt".into());
        let check = |input: &str, expected: Result<&str, &str>| {
            let got = validate_oauth1_callback(input, &token);
            assert_eq!(
                got.as_ref().map(|v| v.secret()).map_err(|e| e.code()),
                expected,
                "{input}"
            );
        };
        check(
            "https://app.example/cb?oauth_token=rt&oauth_verifier=v%2B1",
            Ok("v+1"),
        );
        check("?oauth_verifier=v&oauth_token=rt&x=1#frag", Ok("v"));
        check("oauth_token=rt&oauth_verifier=v", Ok("v"));
        check("https://app.example/cb?denied=rt", Err("access_denied"));
        check("https://app.example/cb?denied=other", Err("token_mismatch"));
        check(
            "https://app.example/cb?oauth_token=other&oauth_verifier=v",
            Err("token_mismatch"),
        );
        check(
            "https://app.example/cb?oauth_token=r&oauth_verifier=v",
            Err("token_mismatch"),
        );
        check(
            "https://app.example/cb?oauth_verifier=v",
            Err("missing_oauth_token"),
        );
        check("https://app.example/cb", Err("missing_oauth_token"));
        check(
            "https://app.example/cb?oauth_token=rt",
            Err("missing_oauth_verifier"),
        );
        check(
            "https://app.example/cb?oauth_token=rt&oauth_verifier=",
            Err("missing_oauth_verifier"),
        );
        check(
            "https://app.example/cb?oauth_token=rt&oauth_verifier=a&oauth_verifier=b",
            Err("malformed_callback"),
        );
        check(
            &format!("?oauth_token=rt&oauth_verifier=v&x={}", "a".repeat(9000)),
            Err("malformed_callback"),
        );
    }

    #[test]
    fn nonces() {
        let nonce = nonce_from_random_bytes(&[0xab; 32]);
        assert_eq!(nonce, "ab".repeat(32));
    }

    #[cfg(feature = "getrandom")]
    #[test]
    fn generated_nonces() {
        let a = generate_nonce().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, generate_nonce().unwrap());
    }

    /// Query and form pairs whose names are not `oauth_*`.
    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[a-np-z]\\PC{0,6}", "\\PC{0,8}"), 0..8)
    }

    fn query(pairs: &[(String, String)]) -> String {
        let mut query = String::new();
        for (name, value) in pairs {
            query.push('&');
            push_percent_encoded(&mut query, name);
            query.push('=');
            query.push_str(&form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
        }
        query
    }

    fn signed(method: &str, url: &str, form: &[(String, String)], nonce: &str, ts: u64) -> String {
        let key = ConsumerKey::new("ck".into());
        let token = OAuth1Token::new("tok".into());
        let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = OAuth1Request {
            method,
            url,
            form_params: &form,
            oauth_params: OAuth1Params {
                token: Some(&token),
                timestamp: ts,
                ..params(&key, nonce)
            },
        };
        signature_base_string(&request).unwrap()
    }

    proptest! {
        #[test]
        fn normalization_is_order_independent(
            (query_pairs, shuffled_query) in pairs().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
            (form, shuffled_form) in pairs().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        ) {
            let a = signed("POST", &format!("https://api.x.com/p?x=1{}", query(&query_pairs)), &form, "n", 1);
            let b = signed("POST", &format!("https://api.x.com/p?x=1{}", query(&shuffled_query)), &shuffled_form, "n", 1);
            prop_assert_eq!(&a, &b);
            // Moving the pairs between the query and the body changes nothing either.
            let mut all = form.clone();
            all.extend(query_pairs.iter().cloned());
            let c = signed("POST", "https://api.x.com/p?x=1", &all, "n", 1);
            prop_assert_eq!(a, c);
        }

        #[test]
        fn every_part_is_signed(form in pairs(), which in 0usize..8, extra in "[a-z0-9]{1,4}") {
            let secret = ConsumerSecret::new("cs".into());
            let token_secret = TokenSecret::new("ts".into());
            let sign = |method: &str, url: &str, form: &[(String, String)], nonce: &str, ts: u64,
                        cs: &ConsumerSecret, tsec: &TokenSecret| {
                sign_hmac_sha1(&signed(method, url, form, nonce, ts), cs, Some(tsec))
            };
            let url = "https://api.x.com/2/tweets?a=1";
            let original = sign("POST", url, &form, "n", 1, &secret, &token_secret);
            let mut changed_form = form.clone();
            let changed = match which {
                0 => sign("GET", url, &form, "n", 1, &secret, &token_secret),
                1 => sign("POST", &format!("https://api.x.com/2/tweets{extra}?a=1"), &form, "n", 1, &secret, &token_secret),
                2 => sign("POST", &format!("{url}{extra}"), &form, "n", 1, &secret, &token_secret),
                3 => {
                    changed_form.push((format!("z{extra}"), extra.clone()));
                    sign("POST", url, &changed_form, "n", 1, &secret, &token_secret)
                }
                4 => sign("POST", url, &form, &format!("n{extra}"), 1, &secret, &token_secret),
                5 => sign("POST", url, &form, "n", 2, &secret, &token_secret),
                6 => sign("POST", url, &form, "n", 1, &ConsumerSecret::new(format!("cs{extra}")), &token_secret),
                _ => sign("POST", url, &form, "n", 1, &secret, &TokenSecret::new(format!("ts{extra}"))),
            };
            prop_assert_ne!(original, changed);
        }

        #[test]
        fn changing_any_form_value_changes_the_signature(
            form in prop::collection::vec(("[a-z]{1,6}", "\\PC{0,8}"), 1..6),
            index in any::<prop::sample::Index>(),
            extra in "\\PC{1,3}",
        ) {
            let mut changed = form.clone();
            let at = index.index(changed.len());
            if let Some((_, value)) = changed.get_mut(at) {
                value.push_str(&extra);
            }
            prop_assert_ne!(
                signed("POST", "https://api.x.com/", &form, "n", 1),
                signed("POST", "https://api.x.com/", &changed, "n", 1)
            );
        }

        #[test]
        fn encoding_keeps_only_unreserved_and_round_trips(value in "\\PC{0,20}") {
            let encoded = encode(value.as_bytes());
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            // Every escape is `%` and two uppercase hex digits.
            for escape in encoded.split('%').skip(1) {
                let hex: Vec<u8> = escape.bytes().take(2).collect();
                prop_assert!(hex.len() == 2 && hex.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)));
            }
            let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8().unwrap();
            prop_assert_eq!(decoded, value);
        }
    }
}
