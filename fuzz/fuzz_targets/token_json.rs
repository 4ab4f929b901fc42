//! Token JSON from X: the OAuth 2.0 token answer and the app-only token answer.
//!
//! Asserts that a processed answer never yields an empty access token or an empty refresh
//! token, keeps exactly what X sent, computes `expires_at` without overflow, that every
//! refusal names the field at fault, that the app-only check agrees with the user one, and
//! that `Debug` output does not depend on the secrets' values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    AccessToken, RawTokenResponse, RefreshToken, TokenResponseError, TokenSet,
    process_app_token_response, process_token_response,
};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<RawTokenResponse>(data) else {
        return;
    };
    let bearer = raw
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    for now in [0, 1_800_000_000, u64::MAX - 1] {
        match process_token_response(raw.clone(), now) {
            Ok(set) => {
                let token = set.access_token.secret();
                assert!(!token.is_empty(), "an empty access token was accepted");
                assert_eq!(Some(token), raw.access_token.as_deref());
                assert!(bearer, "accepted token_type {:?}", raw.token_type);
                assert_eq!(set.expires_in, raw.expires_in);
                assert_eq!(
                    set.expires_at,
                    raw.expires_in.map(|secs| now.saturating_add(secs))
                );
                assert!(set.expires_at.is_none_or(|at| at >= now));
                let refresh = set.refresh_token.as_ref().map(|r| r.secret());
                assert!(refresh.is_none_or(|r| !r.is_empty()));
                assert_eq!(refresh, raw.refresh_token.as_deref());
                assert_eq!(set.scope, raw.scope);
                assert_eq!(format!("{set:?}"), format!("{:?}", blanked(&set)));
            }
            Err(TokenResponseError::MissingAccessToken) => {
                assert!(raw.access_token.as_deref().is_none_or(str::is_empty));
            }
            Err(TokenResponseError::MissingTokenType) => {
                assert!(raw.access_token.as_deref().is_some_and(|t| !t.is_empty()));
                assert!(raw.token_type.as_deref().is_none_or(str::is_empty));
            }
            Err(TokenResponseError::UnsupportedTokenType(t)) => {
                assert_eq!(Some(t.as_str()), raw.token_type.as_deref());
                assert!(!bearer && !t.is_empty());
            }
            Err(TokenResponseError::EmptyRefreshToken) => {
                assert!(bearer && raw.access_token.as_deref().is_some_and(|t| !t.is_empty()));
                assert_eq!(raw.refresh_token.as_deref(), Some(""));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // The app-only answer is checked the same way, refresh token aside.
    let user = process_token_response(raw.clone(), 0);
    let app = process_app_token_response(raw.clone());
    match (&user, &app) {
        (Ok(set), Ok(token)) => assert_eq!(set.access_token.secret(), token.secret()),
        (Err(TokenResponseError::EmptyRefreshToken), Ok(_)) => {}
        (Err(u), Err(a)) => assert_eq!(u, a),
        _ => panic!("user and app-only checks disagree: {user:?} vs {app:?}"),
    }
    if let Ok(token) = &app {
        assert!(!token.secret().is_empty());
        assert_eq!(
            format!("{token:?}"),
            format!("{:?}", AccessToken::new(String::new()))
        );
    }
    let mut blank_raw = raw.clone();
    blank_raw.access_token = raw.access_token.as_ref().map(|_| String::new());
    blank_raw.refresh_token = raw.refresh_token.as_ref().map(|_| String::new());
    assert_eq!(
        format!("{raw:?}"),
        format!("{blank_raw:?}"),
        "Debug shows a token"
    );
});

/// The same set with empty secrets: its `Debug` must read the same.
fn blanked(set: &TokenSet) -> TokenSet {
    let mut blank = set.clone();
    blank.access_token = AccessToken::new(String::new());
    blank.refresh_token = set
        .refresh_token
        .as_ref()
        .map(|_| RefreshToken::new(String::new()));
    blank
}
