//! OAuth 1.0a `Authorization` headers, across two implementations: every request the core
//! signs (RFC 5849 §3.4-3.5) is parsed and verified by the emulator's own verifier, which
//! shares no code with it.
//!
//! Asserts that the emulator reads back exactly the protocol parameters the core put in
//! the header, that both compute the same signature base string, that the signature
//! verifies, and that it no longer verifies under another token or consumer secret. The
//! one known difference (a decoded query value that is not UTF-8, which the emulator reads
//! lossily as X's servers may too) is left out of the comparison.
//!
//! The input is a request, a line each: method, `Host`, path, query, form body, consumer
//! key, consumer secret, token, token secret, nonce, timestamp, callback, verifier.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use xauth_core::{
    ConsumerKey, ConsumerSecret, OAuth1Callback, OAuth1Error, OAuth1Params, OAuth1Request,
    OAuth1Token, OAuth1Verifier, TokenSecret, authorization_header, signature_base_string,
};
use xauth_emulator::fuzzing::{base_string, parse_authorization, signature_matches};

/// One request, a line each (an empty line is an absent optional value).
struct Input<'a> {
    method: &'a str,
    /// The `Host` header: host and optional port.
    host: &'a str,
    path: &'a str,
    query: &'a str,
    /// The form body, as sent.
    body: &'a str,
    consumer_key: &'a str,
    consumer_secret: &'a str,
    token: Option<(&'a str, &'a str)>,
    nonce: &'a str,
    timestamp: u64,
    callback: Option<&'a str>,
    verifier: Option<&'a str>,
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut line = || lines.next().unwrap_or_default();
    let (method, host, path, query, body) = (line(), line(), line(), line(), line());
    let (consumer_key, consumer_secret, token, token_secret) = (line(), line(), line(), line());
    let (nonce, timestamp, callback, verifier) = (line(), line(), line(), line());
    check(Input {
        method,
        host,
        path,
        query,
        body,
        consumer_key,
        consumer_secret,
        token: Some((token, token_secret)).filter(|(t, _)| !t.is_empty()),
        nonce,
        timestamp: timestamp.trim().parse().unwrap_or(0),
        callback: Some(callback).filter(|c| !c.is_empty()),
        verifier: Some(verifier).filter(|v| !v.is_empty()),
    });
});

fn check(input: Input<'_>) {
    let method = input.method;
    // What a Host header and a request path can be; anything else is not a request.
    let (name, port) = match input.host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (input.host, None),
    };
    let plain_host = !name.is_empty()
        && !name.contains(['/', '?', '#', '@', ':', '[', ']', '\\', '%'])
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n.to_string() == p));
    let plain_path =
        (input.path.is_empty() || input.path.starts_with('/')) && !input.path.contains(['?', '#']);
    if !plain_host || !plain_path {
        return;
    }
    let host = input.host;
    let query = input.query;
    let url = if query.is_empty() {
        format!("http://{host}{}", input.path)
    } else {
        format!("http://{host}{}?{query}", input.path)
    };
    let form_pairs: Vec<(String, String)> = form_urlencoded::parse(input.body.as_bytes())
        .into_owned()
        .collect();
    let key = ConsumerKey::new(input.consumer_key.to_owned());
    let consumer_secret = ConsumerSecret::new(input.consumer_secret.to_owned());
    let token = input.token.map(|(t, s)| {
        (
            OAuth1Token::new(t.to_owned()),
            TokenSecret::new(s.to_owned()),
        )
    });
    let callback = input.callback.and_then(|c| OAuth1Callback::parse(c).ok());
    let verifier = input.verifier.map(|v| OAuth1Verifier::new(v.to_owned()));
    let form: Vec<(&str, &str)> = form_pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = OAuth1Request {
        method,
        url: &url,
        form_params: &form,
        oauth_params: OAuth1Params {
            consumer_key: &key,
            token: token.as_ref().map(|(t, _)| t),
            nonce: input.nonce,
            timestamp: input.timestamp,
            callback: callback.as_ref(),
            verifier: verifier.as_ref(),
        },
    };
    let token_secret = token.as_ref().map(|(_, s)| s);
    let header = match authorization_header(&request, &consumer_secret, token_secret) {
        Ok(header) => header,
        Err(error) => {
            if input.nonce.is_empty() {
                assert_eq!(error, OAuth1Error::EmptyNonce);
            }
            return;
        }
    };
    assert!(!input.nonce.is_empty(), "signed with an empty nonce");
    let core_base = signature_base_string(&request).unwrap();

    // The emulator's side: the header, then the request as it would arrive.
    let oauth = parse_authorization(&header).expect("the emulator cannot parse the header");
    let mut expected: HashMap<String, String> = [
        ("oauth_consumer_key", input.consumer_key),
        ("oauth_nonce", input.nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", &input.timestamp.to_string()),
        ("oauth_version", "1.0"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    let optional = [
        ("oauth_token", token.as_ref().map(|(t, _)| t.as_str())),
        ("oauth_callback", callback.as_ref().map(|c| c.as_str())),
        ("oauth_verifier", verifier.as_ref().map(|v| v.secret())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            expected.insert(name.to_owned(), value.to_owned());
        }
    }
    let signature = oauth
        .get("oauth_signature")
        .expect("no oauth_signature")
        .clone();
    let mut without_signature = oauth.clone();
    without_signature.remove("oauth_signature");
    assert_eq!(
        without_signature, expected,
        "the header says something else"
    );

    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .chain(form_urlencoded::parse(input.body.as_bytes()))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let path = if input.path.is_empty() {
        "/"
    } else {
        input.path
    };
    let emulator_base = base_string(method, host, path, &params, &oauth);
    if !decodes_to_utf8(query) {
        return;
    }
    assert_eq!(emulator_base, core_base, "the base strings differ");
    let token_secret = token_secret.map_or("", |s| s.secret());
    assert!(
        signature_matches(
            &emulator_base,
            input.consumer_secret,
            token_secret,
            &signature
        ),
        "the emulator refuses the core's signature"
    );
    assert!(!signature_matches(
        &emulator_base,
        input.consumer_secret,
        &format!("{token_secret}x"),
        &signature
    ));
    assert!(!signature_matches(
        &emulator_base,
        &format!("{}x", input.consumer_secret),
        token_secret,
        &signature
    ));
}

/// Whether every name and value of a query form-decodes to UTF-8.
fn decodes_to_utf8(form: &str) -> bool {
    form.split('&').all(|pair| {
        pair.split('=').all(|part| {
            let spaced = part.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .is_ok()
        })
    })
}
