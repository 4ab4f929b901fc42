//! One small handler per route. Each validates its input, asks X, and answers JSON.

use serde::Serialize;
use worker::Response;
use xauth_core::{
    AuthorizationCode, PkceCodeVerifier, RefreshToken, Scope, Scopes, TokenSet, TokenTypeHint,
};

use crate::body::read_json_body;
use crate::config::Config;
use crate::error::ApiError;
use crate::grant::XUser;
use crate::incoming::Incoming;
use crate::x;

/// `GET /twitter-config`: what the browser needs to build the authorize link.
pub fn twitter_config(config: &Config) -> Result<Response, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PublicConfig<'a> {
        client_id: &'a str,
        authorize_url: &'a str,
        redirect_uri: &'a str,
        scopes: String,
        /// Who keeps the tokens: "browser" or "worker".
        custody: &'static str,
    }
    let redirect_uri = config.redirect_uri(None)?;
    Ok(Response::from_json(&PublicConfig {
        client_id: config.client_id.as_str(),
        authorize_url: config.authorize_endpoint.as_str(),
        redirect_uri: redirect_uri.as_str(),
        scopes: config.scopes.to_string(),
        custody: config.custody.as_str(),
    })?)
}

/// `POST /twitter-access-token` {code, codeVerifier, redirectUri?}: the code exchange.
pub async fn access_token(req: &Incoming, config: &Config) -> Result<Response, ApiError> {
    let tokens = exchange_code(req, config, crate::now_unix_secs()).await?;
    // X's API answers no browser, so the worker asks who signed in while it holds the token.
    let user = signed_in_user(config, &tokens).await;
    token_answer(&tokens, user.as_ref())
}

/// The exchange of `POST /twitter-access-token` (in both custodies): the body's code and
/// verifier (`codeChallenge` is what the SvelteKit tutorial's front end calls the
/// verifier) for X's tokens.
pub async fn exchange_code(
    req: &Incoming,
    config: &Config,
    now: u64,
) -> Result<TokenSet, ApiError> {
    let body = read_json_body(req).await?;
    let code = AuthorizationCode::new(body.required_string(&["code"])?.to_owned());
    let verifier = body.required_string(&["codeVerifier", "code_verifier", "codeChallenge"])?;
    let verifier = PkceCodeVerifier::parse(verifier).map_err(|_| {
        ApiError::bad_request(
            "codeVerifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636).",
        )
    })?;
    let redirect_uri = config.redirect_uri(body.string(&["redirectUri", "redirect_uri"])?)?;
    let form =
        xauth_core::code_exchange_request(config.client_auth(), &code, redirect_uri, &verifier);
    let reply = x::post_form(&config.token_url(), form, config.x_timeout_ms).await?;
    x::token_set(&reply, now)
}

/// Who signed in, from X's `/2/users/me`, when the granted scope allows it. A failure here
/// is logged and leaves `user` out: the sign-in itself succeeded and its tokens must not be lost.
async fn signed_in_user(config: &Config, tokens: &TokenSet) -> Option<XUser> {
    let granted = Scopes::parse(tokens.scope.as_deref()?).ok()?;
    if !(granted.contains(Scope::UsersRead) && granted.contains(Scope::TweetRead)) {
        return None;
    }
    x::signed_in_user(config, &tokens.access_token)
        .await
        .inspect_err(|error| worker::console_warn!("users/me failed: {}", error.status))
        .ok()
}

/// `POST /twitter-refresh-token` {refreshToken}: a refresh, which rotates the refresh token.
pub async fn refresh_token(req: &Incoming, config: &Config) -> Result<Response, ApiError> {
    let body = read_json_body(req).await?;
    let refresh_token = RefreshToken::new(
        body.required_string(&["refreshToken", "refresh_token"])?
            .to_owned(),
    );

    // X has X_TIMEOUT_MS to start answering; once it has, its answer is read to the end:
    // it may hold the only copy of the rotated refresh token.
    let reply = x::refresh(config, &refresh_token, config.x_timeout_ms).await?;
    token_answer(
        &x::refreshed_token_set(&reply, crate::now_unix_secs())?,
        None,
    )
}

/// `POST /twitter-revoke-token` {token, tokenTypeHint?}: RFC 7009 revocation.
pub async fn revoke_token(req: &Incoming, config: &Config) -> Result<Response, ApiError> {
    let body = read_json_body(req).await?;
    let token = body.required_string(&["token"])?;
    let hint = body
        .string(&["tokenTypeHint", "token_type_hint"])?
        .map(|hint| {
            TokenTypeHint::parse(hint).ok_or_else(|| {
                ApiError::bad_request("tokenTypeHint must be access_token or refresh_token.")
            })
        })
        .transpose()?;

    let form = xauth_core::revoke_request(config.client_auth(), token, hint);
    let reply = x::post_form(&config.revoke_url(), form, config.x_timeout_ms).await?;
    if !(200..300).contains(&reply.status) {
        return Err(x::x_error(&reply));
    }
    #[derive(Serialize)]
    struct Revoked {
        revoked: bool,
    }
    Ok(Response::from_json(&Revoked { revoked: true })?)
}

/// X's token JSON shape, plus `expires_at` (so the browser need not do clock math) and,
/// after a sign-in, `user`.
fn token_answer(tokens: &TokenSet, user: Option<&XUser>) -> Result<Response, ApiError> {
    #[derive(Serialize)]
    struct TokenAnswer<'a> {
        access_token: &'a str,
        token_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_in: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<&'a XUser>,
    }
    Ok(Response::from_json(&TokenAnswer {
        access_token: tokens.access_token.secret(),
        token_type: "bearer",
        expires_in: tokens.expires_in,
        expires_at: tokens.expires_at,
        scope: tokens.scope.as_deref(),
        refresh_token: tokens.refresh_token.as_ref().map(|token| token.secret()),
        user,
    })?)
}
