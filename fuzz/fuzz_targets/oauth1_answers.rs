//! OAuth 1.0a answers from X: the request token and access token bodies
//! (`application/x-www-form-urlencoded`), and the PIN a user types.
//!
//! Asserts that an accepted answer carries exactly the (non-empty, unrepeated) values X sent,
//! `oauth_callback_confirmed=true`, a numeric `user_id`, that each refusal names its cause,
//! and that `Debug` never shows a token secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    OAuth1Error, OAuth1Token, OAuth1Verifier, TokenSecret, process_access_token_response,
    process_request_token_response,
};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let answer = Answer {
        pairs: form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
    };

    let names = [
        "oauth_token",
        "oauth_token_secret",
        "oauth_callback_confirmed",
    ];
    match process_request_token_response(&body) {
        Ok(rt) => {
            assert!(!answer.repeats_any(&names));
            let mut blank = rt.clone();
            blank.secret = TokenSecret::new(String::new());
            answer.check_credentials(
                &rt.token,
                &rt.secret,
                format!("{rt:?}"),
                format!("{blank:?}"),
            );
            assert_eq!(answer.sent("oauth_callback_confirmed"), Ok(Some("true")));
        }
        Err(OAuth1Error::CallbackNotConfirmed) => {
            assert_ne!(answer.sent("oauth_callback_confirmed"), Ok(Some("true")));
        }
        Err(error) => answer.check_shared_refusal(error, &names),
    }

    let names = [
        "oauth_token",
        "oauth_token_secret",
        "user_id",
        "screen_name",
    ];
    match process_access_token_response(&body) {
        Ok(at) => {
            assert!(!answer.repeats_any(&names));
            let mut blank = at.clone();
            blank.secret = TokenSecret::new(String::new());
            answer.check_credentials(
                &at.token,
                &at.secret,
                format!("{at:?}"),
                format!("{blank:?}"),
            );
            assert_eq!(answer.sent("user_id"), Ok(Some(at.user_id.as_str())));
            assert!(at.user_id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(
                answer.sent("screen_name"),
                Ok(Some(at.screen_name.as_str()))
            );
        }
        Err(OAuth1Error::InvalidUserId) => {
            let id = answer.sent("user_id").unwrap();
            assert!(id.is_none_or(|id| !id.bytes().all(|b| b.is_ascii_digit())));
        }
        Err(OAuth1Error::MissingScreenName) => {
            assert_eq!(answer.sent("screen_name"), Ok(None));
        }
        Err(error) => answer.check_shared_refusal(error, &names),
    }

    // The PIN flow: what the user typed.
    if let Some(pin) = OAuth1Verifier::parse_pin(&body) {
        let digits = pin.secret();
        assert_eq!(digits, body.trim());
        assert!((1..=16).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
    }
});

/// X's answer, decoded.
struct Answer {
    pairs: Vec<(String, String)>,
}

impl Answer {
    /// The value X sent for `name`: `Err` if repeated, `None` if absent or empty.
    fn sent(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(()),
            (value, None) => Ok(value.filter(|v| !v.is_empty())),
        }
    }

    fn repeats_any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.sent(name).is_err())
    }

    /// The token and its secret are what X sent; `shown` (the answer's `Debug`) reads
    /// like `blank` (the same with an empty secret).
    fn check_credentials(
        &self,
        token: &OAuth1Token,
        secret: &TokenSecret,
        shown: String,
        blank: String,
    ) {
        assert_eq!(self.sent("oauth_token"), Ok(Some(token.as_str())));
        assert_eq!(self.sent("oauth_token_secret"), Ok(Some(secret.secret())));
        assert_eq!(shown, blank, "Debug shows the secret");
    }

    /// The refusals both answers share, each for its cause.
    fn check_shared_refusal(&self, error: OAuth1Error, names: &[&str]) {
        match error {
            OAuth1Error::RepeatedParameter => assert!(self.repeats_any(names)),
            OAuth1Error::MissingToken => assert_eq!(self.sent("oauth_token"), Ok(None)),
            OAuth1Error::MissingTokenSecret => {
                assert_eq!(self.sent("oauth_token_secret"), Ok(None));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
