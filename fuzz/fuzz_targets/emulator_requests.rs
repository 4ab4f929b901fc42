//! The emulator's request parsing: OAuth 1.0a `Authorization` headers, Basic client
//! authentication and form bodies, fed anything, and fed what the core sends.
//!
//! Asserts round trips (what the emulator parses, written back canonically, parses the
//! same), that the emulator reads the core's Basic header (RFC 6749 §2.3.1, also X's
//! app-only request) as exactly the id and secret the core encoded, and the core's token,
//! refresh and revoke bodies as exactly their fields, and that a repeated form parameter
//! is always refused.
#![no_main]

use std::collections::{HashMap, HashSet};

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    AuthorizationCode, ClientAuth, ClientId, ClientSecret, ConsumerKey, ConsumerSecret,
    PkceCodeVerifier, RedirectUri, RefreshToken, TokenTypeHint, basic_authorization,
    client_credentials_request, code_exchange_request, refresh_request, revoke_request,
};
use xauth_emulator::fuzzing::{parse_authorization, parse_basic, parse_form};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    authorization(&text);
    basic(&text);
    form(data);
    core_requests(&text);
});

fn authorization(header: &str) {
    let Some(params) = parse_authorization(header) else {
        return;
    };
    let canonical = params
        .iter()
        .map(|(name, value)| {
            let value =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
            format!("{name}=\"{value}\"")
        })
        .collect::<Vec<_>>()
        .join(", ");
    // An empty list still needs something after the scheme.
    let canonical = if canonical.is_empty() {
        ",".to_owned()
    } else {
        canonical
    };
    let again = parse_authorization(&format!("OAuth {canonical}"));
    assert_eq!(again.as_ref(), Some(&params), "{canonical}");
}

fn basic(header: &str) {
    if let Some((id, secret)) = parse_basic(header) {
        let written = basic_authorization(
            &ClientId::new(id.clone()),
            &ClientSecret::new(secret.clone()),
        );
        assert_eq!(parse_basic(&written), Some((id, secret)));
    }
    // The core's encoding of any id and secret, read back by the emulator.
    let (id, secret) = header.split_once('\n').unwrap_or((header, ""));
    let written = basic_authorization(
        &ClientId::new(id.to_owned()),
        &ClientSecret::new(secret.to_owned()),
    );
    assert_eq!(
        parse_basic(&written),
        Some((id.to_owned(), secret.to_owned()))
    );
    let app = client_credentials_request(
        &ConsumerKey::new(id.to_owned()),
        &ConsumerSecret::new(secret.to_owned()),
    );
    let app_header = app.authorization.expect("app-only requests carry Basic");
    assert_eq!(
        parse_basic(&app_header),
        Some((id.to_owned(), secret.to_owned()))
    );
    assert_eq!(app.body, "grant_type=client_credentials");
}

fn form(data: &[u8]) {
    let names: Vec<String> = form_urlencoded::parse(data)
        .map(|(n, _)| n.into_owned())
        .collect();
    let distinct: HashSet<&String> = names.iter().collect();
    let repeated = distinct.len() < names.len();
    match parse_form(data) {
        Ok(params) => {
            assert!(!repeated);
            assert_eq!(params.len(), names.len());
            let written = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            assert_eq!(parse_form(written.as_bytes()), Ok(params));
        }
        Err(_) => assert!(repeated, "refused a form without repeats"),
    }
}

fn core_requests(text: &str) {
    let mut parts = text.split('\n');
    let mut part = || parts.next().unwrap_or_default().to_owned();
    let (id, secret, code, verifier, token) = (part(), part(), part(), part(), part());
    let redirect = RedirectUri::parse(&part())
        .unwrap_or_else(|_| RedirectUri::parse("http://127.0.0.1:8787/").unwrap());
    let id = ClientId::new(id);
    let secret = ClientSecret::new(secret);
    let confidential = ClientAuth::Confidential {
        id: &id,
        secret: &secret,
    };
    let public = ClientAuth::Public { id: &id };
    for auth in [confidential, public] {
        let expect_client_id = matches!(auth, ClientAuth::Public { .. });
        let check = |request: xauth_core::FormRequest, fields: &[(&str, &str)]| {
            let mut expected: HashMap<String, String> = fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            if expect_client_id {
                expected.insert("client_id".to_owned(), id.as_str().to_owned());
                assert_eq!(request.authorization, None);
            } else {
                let header = request.authorization.as_deref().expect("no Basic header");
                let read = parse_basic(header);
                assert_eq!(
                    read,
                    Some((id.as_str().to_owned(), secret.secret().to_owned()))
                );
            }
            assert_eq!(
                parse_form(request.body.as_bytes()),
                Ok(expected),
                "{}",
                request.body
            );
        };
        let exchange = code_exchange_request(
            auth,
            &AuthorizationCode::new(code.clone()),
            &redirect,
            &PkceCodeVerifier::new(verifier.clone()),
        );
        check(
            exchange,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect.as_str()),
                ("code_verifier", &verifier),
            ],
        );
        let refresh = refresh_request(auth, &RefreshToken::new(token.clone()));
        check(
            refresh,
            &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        );
        let revoke = revoke_request(auth, &token, Some(TokenTypeHint::RefreshToken));
        check(
            revoke,
            &[("token", &token), ("token_type_hint", "refresh_token")],
        );
        let revoke = revoke_request(auth, &token, None);
        check(revoke, &[("token", &token)]);
    }
}
