//! Sign in with X (Twitter): the OAuth 2.0 authorization code flow with PKCE, as data.
//!
//! This crate does **not** do any network I/O, read a clock or keep state. It builds
//! requests as plain data (URLs, form bodies, header values) and checks responses
//! handed back to it; the browser crate and the Cloudflare Worker crate send them with
//! whatever HTTP client their platform has. Randomness comes from the platform CSPRNG
//! (`getrandom`), or is passed in with the `from_random_bytes` constructors; the current
//! time is always passed in.
//!
//! The steps, one function each:
//!
//! 1. [`PkceCodeVerifier::generate`] and [`PkceCodeVerifier::challenge`] (RFC 7636 §4.1-4.2),
//!    [`CsrfToken::generate`] (RFC 6749 §10.12).
//! 2. [`AuthorizationRequest::url`]: the link to X's consent page (RFC 6749 §4.1.1).
//! 3. [`validate_callback`]: the redirect back, checked strictly (RFC 6749 §4.1.2); only it
//!    makes a [`ValidatedCallback`], the one source of the code for step 4.
//! 4. [`code_exchange_request`], [`refresh_request`], [`revoke_request`]: token endpoint
//!    requests as [`FormRequest`] data (RFC 6749 §4.1.3, §6; RFC 7009 §2.1).
//! 5. [`process_token_response`] (RFC 6749 §5.1) and [`classify_error`] (RFC 6749 §5.2 plus
//!    X's quirks) turn the answers into a [`TokenSet`] or an [`XError`].
//! 6. [`needs_refresh`], [`refresh_may_help`] and [`x_api_path`]: keeping the tokens
//!    usable (refresh before expiry, one refresh and retry on 401) for X API calls.
//!
//! Secrets ([`ClientSecret`], [`AccessToken`], [`RefreshToken`], [`PkceCodeVerifier`],
//! [`AuthorizationCode`], [`ConsumerSecret`], [`Password`], and with `oauth1` `TokenSecret`
//! and `OAuth1Verifier`) never show their value through `Debug` or `Display`.
//!
//! X's other ways to authenticate:
//!
//! - App-only (an app bearer token, RFC 6749 §4.4): [`client_credentials_request`] and
//!   [`process_app_token_response`].
//! - HTTP Basic for X's enterprise APIs (RFC 7617): [`basic_auth_header`].
//! - OAuth 1.0a (RFC 5849), with the `oauth1` cargo feature (off by default, so the browser
//!   does not carry HMAC-SHA1): request signing (`signature_base_string`, `sign_hmac_sha1`,
//!   `authorization_header`) and the three-legged sign-in by callback or PIN
//!   (`request_token_request` ... `process_access_token_response`).
//!
//! ```
//! use xauth_core::*;
//!
//! // 1. Per sign-in secrets, kept server-side (or in the session) until the callback.
//! let verifier = PkceCodeVerifier::generate()?;
//! let state = CsrfToken::generate()?;
//!
//! // 2. The link to X.
//! let client_id = ClientId::new("my-client-id".to_string());
//! let redirect_uri = RedirectUri::parse("https://app.example/callback")?;
//! let scopes = Scopes::parse("tweet.read users.read offline.access")?;
//! let endpoint = AuthorizeEndpoint::default();
//! let challenge = verifier.challenge();
//! let url = AuthorizationRequest {
//!     endpoint: &endpoint,
//!     client_id: &client_id,
//!     redirect_uri: &redirect_uri,
//!     scopes: &scopes,
//!     state: &state,
//!     code_challenge: &challenge,
//! }
//! .url();
//! assert!(url.starts_with("https://x.com/i/oauth2/authorize?response_type=code&"));
//! assert!(url.contains("&code_challenge_method=S256"));
//!
//! // 3. X redirects the user back; only a matching state yields the code.
//! let callback = format!("https://app.example/callback?state={}&code=abc123", state.as_str());
//! let code = validate_callback(&callback, &state)?.into_code();
//! let forged = validate_callback("?state=forged&code=abc123", &state).unwrap_err();
//! assert_eq!(forged.code(), "state_mismatch");
//!
//! // 4. The token request, sent by the server to X_API_URL + TOKEN_PATH.
//! let secret = ClientSecret::new("my-client-secret".to_string());
//! let auth = ClientAuth::Confidential { id: &client_id, secret: &secret };
//! let request = code_exchange_request(auth, &code, &redirect_uri, &verifier);
//! assert!(request.authorization.as_deref().is_some_and(|h| h.starts_with("Basic ")));
//! assert!(request.body.starts_with("grant_type=authorization_code&code=abc123&"));
//! assert_eq!(FormRequest::CONTENT_TYPE, "application/x-www-form-urlencoded");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// No std: the browser's wasm builds without it (no std panic machinery, no formatting on
// a panic path); `alloc` gives String and Vec. Tests have std.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Nothing from outside may panic the caller: no unwrap, expect, unchecked indexing or
// overflowing arithmetic outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

/// What std's prelude would give: the `alloc` types and macros the modules use (which of
/// them depends on the features and on `cfg(test)`).
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::format;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;
}

mod app_only;
mod authorize;
mod basic;
mod callback;
mod encoding;
mod error;
mod freshness;
#[cfg(feature = "oauth1")]
mod oauth1;
mod pkce;
#[cfg(feature = "getrandom")]
mod random;
mod revocation;
mod scope;
mod secrets;
mod sha256;
mod state;
mod token;
mod url;

pub use crate::app_only::{APP_TOKEN_PATH, client_credentials_request, process_app_token_response};
pub use crate::authorize::AuthorizationRequest;
pub use crate::basic::{BasicAuthError, basic_auth_header};
pub use crate::callback::{
    CallbackError, CallbackParams, MAX_CALLBACK_LEN, ValidatedCallback, parse_callback,
    validate_callback,
};
pub use crate::error::{ErrorKind, RawErrorResponse, XError, classify_error};
pub use crate::freshness::{
    DEFAULT_REFRESH_SKEW_SECS, needs_refresh, refresh_may_help, x_api_path,
};
#[cfg(all(feature = "oauth1", feature = "getrandom"))]
pub use crate::oauth1::generate_nonce;
#[cfg(feature = "oauth1")]
pub use crate::oauth1::{
    ACCESS_TOKEN_PATH, OAUTH1_AUTHENTICATE_PATH, OAUTH1_AUTHORIZE_PATH, OAuth1AccessToken,
    OAuth1Callback, OAuth1Error, OAuth1Params, OAuth1Request, REQUEST_TOKEN_PATH, RequestToken,
    SIGNATURE_METHOD, SignedRequest, access_token_request, authorization_header,
    nonce_from_random_bytes, oauth1_authenticate_url, oauth1_authorize_url,
    process_access_token_response, process_request_token_response, request_token_request,
    sign_hmac_sha1, signature_base_string, validate_oauth1_callback,
};
pub use crate::pkce::{PkceCodeChallenge, PkceError};
#[cfg(feature = "getrandom")]
pub use crate::random::RandomnessError;
pub use crate::revocation::{TokenTypeHint, revoke_request};
pub use crate::scope::{Scope, ScopeError, Scopes};
pub use crate::secrets::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, ConsumerKey, ConsumerSecret, Password,
    PkceCodeVerifier, RefreshToken,
};
#[cfg(feature = "oauth1")]
pub use crate::secrets::{OAuth1Token, OAuth1Verifier, TokenSecret};
pub use crate::state::{CsrfToken, MAX_STATE_LEN, StateError};
pub use crate::token::{
    ClientAuth, FormRequest, RawTokenResponse, TokenResponseError, TokenSet, basic_authorization,
    bearer_authorization, code_exchange_request, process_token_response, refresh_request,
};
pub use crate::url::{
    AuthorizeEndpoint, REVOKE_PATH, RedirectUri, TOKEN_PATH, USERS_ME_PATH, UrlError, X_API_URL,
    X_AUTHORIZE_URL,
};
