//! Single values from outside (configuration, storage, X): scopes, the PKCE verifier, the
//! CSRF state, redirect URIs and the authorize link built from them, the OAuth 1.0a
//! callback, and RFC 7617 Basic credentials.
//!
//! The input is up to three lines (the second and third feed Basic's user and password).
//! Asserts the documented rules of each parser, round trips (a scope list printed and parsed
//! again is the same set; the authorize link's query gives back the redirect URI and the
//! state; X's redirect to that URI validates for that state and no other; Basic decodes to
//! exactly `user:password`).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use xauth_core::{
    AuthorizationRequest, AuthorizeEndpoint, BasicAuthError, CallbackError, ClientId, CsrfToken,
    MAX_CALLBACK_LEN, MAX_STATE_LEN, OAuth1Callback, Password, PkceCodeVerifier, RedirectUri,
    Scope, Scopes, basic_auth_header, parse_callback, validate_callback,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let first = text.split('\n').next().unwrap_or_default();
    scopes(&text);
    verifier(first);
    let state = state(first);
    redirect(first, &state);
    let mut lines = text.splitn(3, '\n').skip(1);
    basic(
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
});

fn scopes(text: &str) {
    match Scopes::parse(text) {
        Ok(scopes) => {
            assert!(!scopes.is_empty());
            let printed = scopes.to_string();
            assert_eq!(Scopes::parse(&printed), Ok(scopes));
            for token in text.split_ascii_whitespace() {
                let scope: Scope = token.parse().expect("accepted an unknown scope");
                assert!(scopes.contains(scope));
            }
            assert_eq!(scopes.len(), printed.split(' ').count());
        }
        Err(error) => {
            let unknown = text
                .split_ascii_whitespace()
                .any(|t| !Scope::ALL.iter().any(|s| s.as_str() == t));
            assert!(
                unknown || text.split_ascii_whitespace().next().is_none(),
                "{error:?}"
            );
        }
    }
}

fn verifier(text: &str) {
    let ok = (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    match PkceCodeVerifier::parse(text) {
        Ok(verifier) => {
            assert!(ok);
            let challenge = verifier.challenge();
            assert_eq!(challenge.as_str().len(), 43);
            assert!(
                challenge
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        Err(_) => assert!(!ok),
    }
}

fn state(text: &str) -> CsrfToken {
    match CsrfToken::parse(text) {
        Ok(state) => {
            assert!((1..=MAX_STATE_LEN).contains(&text.len()));
            assert!(text.bytes().all(|b| b.is_ascii_graphic()));
            assert!(state.matches(text) && !state.matches(&format!("{text}x")));
            state
        }
        Err(_) => {
            assert!(
                text.is_empty()
                    || text.len() > MAX_STATE_LEN
                    || !text.bytes().all(|b| b.is_ascii_graphic())
            );
            CsrfToken::from_random_bytes(&[7; 32])
        }
    }
}

fn redirect(text: &str, state: &CsrfToken) {
    match OAuth1Callback::parse(text) {
        Ok(OAuth1Callback::Oob) => assert_eq!(text, "oob"),
        Ok(OAuth1Callback::Url(url)) => assert_eq!(url.as_str(), text),
        Err(_) => {}
    }
    let Ok(uri) = RedirectUri::parse(text) else {
        return;
    };
    assert!(!text.contains('#'));
    assert!(!text.chars().any(|c| c.is_control() || c.is_whitespace()));
    let lower = text.to_ascii_lowercase();
    assert!(lower.starts_with("https://") || lower.starts_with("http://"));
    let endpoint = AuthorizeEndpoint::default();
    let client_id = ClientId::new("client".to_owned());
    let scopes = Scopes::parse("tweet.read users.read").unwrap();
    let verifier = PkceCodeVerifier::from_random_bytes(&[9; 32]);
    let challenge = verifier.challenge();
    let link = AuthorizationRequest {
        endpoint: &endpoint,
        client_id: &client_id,
        redirect_uri: &uri,
        scopes: &scopes,
        state,
        code_challenge: &challenge,
    }
    .url();
    let query = link.split_once('?').expect("the link has a query").1;
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| -> Vec<&str> {
        params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("redirect_uri"), [text]);
    assert_eq!(get("state"), [state.as_str()]);
    assert_eq!(get("code_challenge_method"), ["S256"]);
    assert_eq!(get("scope"), ["tweet.read users.read"]);
    // X sends the user back to the URI with the state and a code.
    let Ok(carried) = parse_callback(text) else {
        return;
    };
    if carried.state.is_some() || carried.code.is_some() || carried.error.is_some() {
        return;
    }
    let mut back = form_urlencoded::Serializer::new(String::new());
    back.append_pair("state", state.as_str())
        .append_pair("code", "c0de");
    let separator = if text.contains('?') { "&" } else { "?" };
    let callback = format!("{text}{separator}{}", back.finish());
    if callback.len() > MAX_CALLBACK_LEN {
        return;
    }
    let validated = validate_callback(&callback, state).expect("X's redirect refused");
    assert_eq!(validated.code().secret(), "c0de");
    // The same state but its last character.
    let mut other = state.as_str().to_owned();
    let last = if other.pop() == Some('A') { 'B' } else { 'A' };
    other.push(last);
    let other = CsrfToken::parse(&other).unwrap();
    assert_eq!(
        validate_callback(&callback, &other).err(),
        Some(CallbackError::StateMismatch)
    );
}

fn basic(user: &str, password: &str) {
    match basic_auth_header(user, &Password::new(password.to_owned())) {
        Ok(header) => {
            let encoded = header.strip_prefix("Basic ").expect("Basic scheme");
            let decoded = STANDARD.decode(encoded).expect("base64");
            assert_eq!(decoded, format!("{user}:{password}").as_bytes());
            assert!(!user.contains(':'));
        }
        Err(BasicAuthError::ColonInUserId) => assert!(user.contains(':')),
        Err(BasicAuthError::ControlCharacter) => assert!(
            user.chars().chain(password.chars()).any(char::is_control) && !user.contains(':')
        ),
        Err(other) => panic!("unexpected {other:?}"),
    }
}
