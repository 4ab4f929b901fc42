//! OAuth 1.0a answers from X: the request token and access token bodies
//! (`application/x-www-form-urlencoded`), and the PIN a user types.
//!
//! Asserts that an accepted answer carries exactly the (non-empty, unrepeated) values X sent,
//! `oauth_callback_confirmed=true`, a numeric `user_id`, that each refusal names its cause,
//! and that `Debug` never shows a token secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    OAuth1Error, OAuth1Verifier, TokenSecret, process_access_token_response,
    process_request_token_response,
};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    // The value X sent for `name`: `Err` if repeated, `None` if absent or empty.
    let sent = |name: &str| -> Result<Option<&str>, ()> {
        let mut values = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(()),
            (value, None) => Ok(value.filter(|v| !v.is_empty())),
        }
    };

    let names = [
        "oauth_token",
        "oauth_token_secret",
        "oauth_callback_confirmed",
    ];
    let repeated = names.iter().any(|n| sent(n).is_err());
    match process_request_token_response(&body) {
        Ok(rt) => {
            assert!(!repeated);
            assert_eq!(sent("oauth_token"), Ok(Some(rt.token.as_str())));
            assert_eq!(sent("oauth_token_secret"), Ok(Some(rt.secret.secret())));
            assert_eq!(sent("oauth_callback_confirmed"), Ok(Some("true")));
            let mut blank = rt.clone();
            blank.secret = TokenSecret::new(String::new());
            assert_eq!(
                format!("{rt:?}"),
                format!("{blank:?}"),
                "Debug shows the secret"
            );
        }
        Err(OAuth1Error::RepeatedParameter) => assert!(repeated),
        Err(OAuth1Error::MissingToken) => assert_eq!(sent("oauth_token"), Ok(None)),
        Err(OAuth1Error::MissingTokenSecret) => {
            assert_eq!(sent("oauth_token_secret"), Ok(None));
        }
        Err(OAuth1Error::CallbackNotConfirmed) => {
            assert_ne!(sent("oauth_callback_confirmed"), Ok(Some("true")));
        }
        Err(other) => panic!("unexpected {other:?}"),
    }

    let names = [
        "oauth_token",
        "oauth_token_secret",
        "user_id",
        "screen_name",
    ];
    let repeated = names.iter().any(|n| sent(n).is_err());
    match process_access_token_response(&body) {
        Ok(at) => {
            assert!(!repeated);
            assert_eq!(sent("oauth_token"), Ok(Some(at.token.as_str())));
            assert_eq!(sent("oauth_token_secret"), Ok(Some(at.secret.secret())));
            assert_eq!(sent("user_id"), Ok(Some(at.user_id.as_str())));
            assert!(at.user_id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(sent("screen_name"), Ok(Some(at.screen_name.as_str())));
            let mut blank = at.clone();
            blank.secret = TokenSecret::new(String::new());
            assert_eq!(
                format!("{at:?}"),
                format!("{blank:?}"),
                "Debug shows the secret"
            );
        }
        Err(OAuth1Error::RepeatedParameter) => assert!(repeated),
        Err(OAuth1Error::MissingToken) => assert_eq!(sent("oauth_token"), Ok(None)),
        Err(OAuth1Error::MissingTokenSecret) => {
            assert_eq!(sent("oauth_token_secret"), Ok(None));
        }
        Err(OAuth1Error::InvalidUserId) => {
            let id = sent("user_id").unwrap();
            assert!(id.is_none_or(|id| !id.bytes().all(|b| b.is_ascii_digit())));
        }
        Err(OAuth1Error::MissingScreenName) => assert_eq!(sent("screen_name"), Ok(None)),
        Err(other) => panic!("unexpected {other:?}"),
    }

    // The PIN flow: what the user typed.
    if let Some(pin) = OAuth1Verifier::parse_pin(&body) {
        let digits = pin.secret();
        assert_eq!(digits, body.trim());
        assert!((1..=16).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
    }
});
