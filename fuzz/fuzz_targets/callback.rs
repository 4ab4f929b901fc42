//! Callback URLs (OAuth 2.0 and OAuth 1.0a): X's redirect back, as any page could forge it.
//!
//! Asserts that `validate_callback` follows its documented order against the parameters
//! `parse_callback` sees (state first, then error, then code), never accepts a state it was
//! not given, ignores the fragment, and that `validate_oauth1_callback` never accepts a
//! request token it was not given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    CallbackError, CsrfToken, MAX_CALLBACK_LEN, OAuth1Error, OAuth1Token, parse_callback,
    validate_callback, validate_oauth1_callback,
};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    oauth2(&input);
    oauth1(&input);
});

fn oauth2(input: &str) {
    let parsed = parse_callback(input);
    if input.len() > MAX_CALLBACK_LEN {
        assert_eq!(parsed.as_ref().err(), Some(&CallbackError::Malformed));
    }
    // The state the callback carries (to reach the success path), a fixed one, and the
    // carried one altered in its last byte.
    let mut expected = vec![CsrfToken::parse("St4te-_~.").unwrap()];
    if let Some(state) = parsed.as_ref().ok().and_then(|p| p.state.as_deref()) {
        if let Ok(token) = CsrfToken::parse(state) {
            expected.push(token);
        }
        let mut altered = state.as_bytes().to_vec();
        if let Some(last) = altered.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
            if let Ok(token) = CsrfToken::parse(&String::from_utf8_lossy(&altered)) {
                expected.push(token);
            }
        }
    }
    for state in &expected {
        let result = validate_callback(input, state);
        check_order(&parsed, state, &result);
        // A fragment is never read: appending one changes nothing.
        if !input.contains('#') {
            let with_fragment = format!("{input}#state={}&code=evil", state.as_str());
            if with_fragment.len() <= MAX_CALLBACK_LEN {
                let again = validate_callback(&with_fragment, state);
                assert_eq!(
                    summary(&again),
                    summary(&result),
                    "fragment changed the outcome"
                );
            }
        }
    }
}

/// The validator's documented order, checked against the parsed parameters.
fn check_order(
    parsed: &Result<xauth_core::CallbackParams, CallbackError>,
    state: &CsrfToken,
    result: &Result<xauth_core::ValidatedCallback, CallbackError>,
) {
    let Ok(params) = parsed else {
        assert_eq!(result.as_ref().err(), parsed.as_ref().err());
        return;
    };
    let received = params.state.as_deref().filter(|s| !s.is_empty());
    let error = params.error.as_deref().filter(|e| !e.is_empty());
    let code = params
        .code
        .as_ref()
        .map(|c| c.secret())
        .filter(|c| !c.is_empty());
    match result {
        Ok(validated) => {
            // Never a state it was not given.
            assert_eq!(received, Some(state.as_str()), "accepted a foreign state");
            assert_eq!(error, None);
            assert_eq!(Some(validated.code().secret()), code);
        }
        Err(CallbackError::MissingState) => assert_eq!(received, None),
        Err(CallbackError::StateMismatch) => {
            assert!(received.is_some_and(|r| r != state.as_str()));
        }
        Err(CallbackError::AccessDenied { description }) => {
            assert_eq!(received, Some(state.as_str()));
            assert_eq!(error, Some("access_denied"));
            assert_eq!(
                description.as_deref(),
                params
                    .error_description
                    .as_deref()
                    .filter(|d| !d.is_empty())
            );
        }
        Err(CallbackError::AuthorizationError { error: e, .. }) => {
            assert_eq!(received, Some(state.as_str()));
            assert!(error == Some(e.as_str()) && e != "access_denied");
        }
        Err(CallbackError::MissingCode) => {
            assert_eq!(received, Some(state.as_str()));
            assert_eq!((error, code), (None, None));
        }
        Err(CallbackError::Malformed) => panic!("parsed, yet refused as malformed"),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

fn summary(
    result: &Result<xauth_core::ValidatedCallback, CallbackError>,
) -> Result<String, String> {
    match result {
        Ok(v) => Ok(v.code().secret().to_owned()),
        Err(e) => Err(e.code().to_owned()),
    }
}

fn oauth1(input: &str) {
    // The first `oauth_token` (or `denied`) after the `?`, to reach the success path; the
    // validator finds the query itself.
    let query = input.split('#').next().unwrap_or_default();
    let query = query.split_once('?').map_or(query, |(_, q)| q);
    let carried = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "oauth_token" || name == "denied")
        .map(|(_, value)| value.into_owned());
    let tokens = [Some("rt".to_owned()), carried]
        .into_iter()
        .flatten()
        .map(OAuth1Token::new);
    for token in tokens {
        let result = validate_oauth1_callback(input, &token);
        let other = OAuth1Token::new(format!("{}x", token.as_str()));
        let for_other = validate_oauth1_callback(input, &other);
        match &result {
            Ok(verifier) => {
                assert!(!verifier.secret().is_empty());
                // Accepted for this token, so it names this token: any other mismatches.
                assert_eq!(for_other.err(), Some(OAuth1Error::TokenMismatch));
            }
            Err(OAuth1Error::AccessDenied) => {
                assert_eq!(for_other.err(), Some(OAuth1Error::TokenMismatch));
            }
            Err(OAuth1Error::MalformedCallback) => {
                assert_eq!(for_other.err(), Some(OAuth1Error::MalformedCallback));
            }
            Err(
                OAuth1Error::MissingToken
                | OAuth1Error::TokenMismatch
                | OAuth1Error::MissingVerifier,
            ) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}
