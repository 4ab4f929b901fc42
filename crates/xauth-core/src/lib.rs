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
//!
//! Secrets ([`ClientSecret`], [`AccessToken`], [`RefreshToken`], [`PkceCodeVerifier`],
//! [`AuthorizationCode`]) never show their value through `Debug` or `Display`.
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

mod authorize;
mod callback;
mod encoding;
mod error;
mod pkce;
mod random;
mod revocation;
mod scope;
mod secrets;
mod state;
mod token;
mod url;

pub use crate::authorize::AuthorizationRequest;
pub use crate::callback::{
    CallbackError, CallbackParams, MAX_CALLBACK_LEN, ValidatedCallback, parse_callback,
    validate_callback,
};
pub use crate::error::{ErrorKind, RawErrorResponse, XError, classify_error};
pub use crate::pkce::{PkceCodeChallenge, PkceError};
pub use crate::random::RandomnessError;
pub use crate::revocation::{TokenTypeHint, revoke_request};
pub use crate::scope::{Scope, ScopeError, Scopes};
pub use crate::secrets::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, PkceCodeVerifier, RefreshToken,
};
pub use crate::state::{CsrfToken, MAX_STATE_LEN, StateError};
pub use crate::token::{
    ClientAuth, FormRequest, RawTokenResponse, TokenResponseError, TokenSet, basic_authorization,
    bearer_authorization, code_exchange_request, process_token_response, refresh_request,
};
pub use crate::url::{
    AuthorizeEndpoint, REVOKE_PATH, RedirectUri, TOKEN_PATH, USERS_ME_PATH, UrlError, X_API_URL,
    X_AUTHORIZE_URL,
};
