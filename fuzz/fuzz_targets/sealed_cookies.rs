//! Sealed values and the OAuth 1.0a cookies: AES-256-GCM under HKDF-SHA256 keys, and the
//! `Cookie` header they come back in.
//!
//! Asserts that sealing then opening gives the plaintext back; that a value opens only
//! under the key, purpose and associated data it was sealed with, and only as sealed (any
//! edit of the sealed text is refused); that a cookie's outcome depends on its own value
//! alone, whatever other cookies surround it; and that a genuine cookie opens back to what
//! was sealed, only while fresh and only for its own request token.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use xauth_core::{ConsumerSecret, OAuth1AccessToken, OAuth1Token, RequestToken, TokenSecret};
use xauth_worker::fuzzing::{
    CookieKeys, PENDING, PENDING_MAX_AGE_SECS, PendingError, SESSION, SESSION_MAX_AGE_SECS,
    SealKey, cookie_value,
};

const NOW: u64 = 1_800_000_000;
/// The demo's consumer secret, so a committed seed can be a cookie the demo would set.
const SECRET: &str = "xauth-demo-consumer-secret";

struct Keys {
    key: SealKey,
    other_purpose: SealKey,
    other_secret: SealKey,
    cookies: CookieKeys,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    key: SealKey::derive(SECRET.as_bytes(), b"fuzz purpose"),
    other_purpose: SealKey::derive(SECRET.as_bytes(), b"fuzz purpose 2"),
    other_secret: SealKey::derive(b"another consumer secret", b"fuzz purpose"),
    cookies: CookieKeys::new(&ConsumerSecret::new(SECRET.to_owned())),
});

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fuzz_target!(|data: &[u8]| {
    let keys = &*KEYS;
    seal_and_open(keys, data);
    let text = String::from_utf8_lossy(data);
    any_cookie_header(keys, &text);
    genuine_cookies(keys, &text);
});

fn seal_and_open(keys: &Keys, data: &[u8]) {
    let sealed = keys.key.seal(b"aad", data).unwrap();
    assert_eq!(keys.key.open(b"aad", &sealed).as_deref(), Some(data));
    assert_eq!(keys.key.open(b"aae", &sealed), None);
    assert_eq!(keys.other_purpose.open(b"aad", &sealed), None);
    assert_eq!(keys.other_secret.open(b"aad", &sealed), None);
    // Edits the input chooses: replace, insert, delete one character, truncate.
    let at = usize::from(u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ])) % sealed.len();
    let with = char::from(BASE64URL[usize::from(data.get(2).copied().unwrap_or(0)) % 64]);
    let mut edits = Vec::new();
    let mut replaced = sealed.clone();
    replaced.replace_range(at..=at, &with.to_string());
    edits.push(replaced);
    let mut inserted = sealed.clone();
    inserted.insert(at, with);
    edits.push(inserted);
    let mut deleted = sealed.clone();
    deleted.remove(at);
    edits.push(deleted);
    edits.push(sealed[..at].to_owned());
    for edited in edits {
        if edited != sealed {
            assert_eq!(
                keys.key.open(b"aad", &edited),
                None,
                "opened an edit: {edited}"
            );
        }
    }
}

/// Whatever the header, only its first non-empty session (pending) cookie counts.
fn any_cookie_header(keys: &Keys, header: &str) {
    let session = keys.cookies.open_session(Some(header), NOW);
    let alone = cookie_value(Some(header), SESSION).map(|v| format!("{SESSION}={v}"));
    let session_alone = alone.and_then(|h| keys.cookies.open_session(Some(&h), NOW));
    assert_eq!(
        session.map(|s| (s.user_id, s.screen_name, s.token.as_str().to_owned())),
        session_alone.map(|s| (s.user_id, s.screen_name, s.token.as_str().to_owned()))
    );
    let pending = keys.cookies.open_pending(Some(header), "rt", NOW);
    let alone = cookie_value(Some(header), PENDING).map(|v| format!("{PENDING}={v}"));
    let pending_alone = match &alone {
        Some(h) => keys.cookies.open_pending(Some(h), "rt", NOW),
        None => Err(PendingError::Missing),
    };
    assert_eq!(
        pending.map(|p| p.token.as_str().to_owned()),
        pending_alone.map(|p| p.token.as_str().to_owned())
    );
    if let Some(value) = cookie_value(Some(header), SESSION) {
        assert!(!value.is_empty() && !value.contains(';') && value.trim() == value);
    }
}

fn genuine_cookies(keys: &Keys, text: &str) {
    // The fuzzer's cookies around the genuine one, unless they carry one of ours first.
    let surrounding = text.replace('\n', ";");
    let crowd = if cookie_value(Some(&surrounding), SESSION).is_none()
        && cookie_value(Some(&surrounding), PENDING).is_none()
    {
        surrounding
    } else {
        String::new()
    };
    let access = OAuth1AccessToken {
        token: OAuth1Token::new(format!("12-{text}")),
        secret: TokenSecret::new(text.chars().rev().collect()),
        user_id: "12".to_owned(),
        screen_name: text.to_owned(),
    };
    let set = keys.cookies.session_cookie(&access, NOW, false).unwrap();
    let cookie = set.split(';').next().unwrap();
    let header = format!("{crowd}; {cookie}; {crowd}");
    let session = keys
        .cookies
        .open_session(Some(&header), NOW)
        .expect("own cookie refused");
    assert_eq!(session.token.as_str(), access.token.as_str());
    assert_eq!(session.secret.secret(), access.secret.secret());
    assert_eq!(session.screen_name, text);
    for late in [NOW + SESSION_MAX_AGE_SECS + 1, NOW - 61] {
        assert!(keys.cookies.open_session(Some(&header), late).is_none());
    }
    // The session cookie's value is no pending cookie.
    let renamed = format!("{PENDING}={}", cookie_value(Some(cookie), SESSION).unwrap());
    assert_eq!(
        keys.cookies
            .open_pending(Some(&renamed), access.token.as_str(), NOW)
            .err(),
        Some(PendingError::Unreadable)
    );

    let request_token = RequestToken {
        token: OAuth1Token::new(text.to_owned()),
        secret: TokenSecret::new(format!("s{text}")),
    };
    let set = keys
        .cookies
        .pending_cookie(&request_token, NOW, true)
        .unwrap();
    let cookie = set.split(';').next().unwrap();
    let header = format!("{crowd}; {cookie}");
    let opened = keys
        .cookies
        .open_pending(Some(&header), text, NOW + PENDING_MAX_AGE_SECS)
        .expect("own pending cookie refused");
    assert_eq!(opened.secret.secret(), request_token.secret.secret());
    let other = keys
        .cookies
        .open_pending(Some(&header), &format!("{text}x"), NOW);
    assert_eq!(other.err(), Some(PendingError::OtherToken));
    let late = keys
        .cookies
        .open_pending(Some(&header), text, NOW + PENDING_MAX_AGE_SECS + 1);
    assert_eq!(late.err(), Some(PendingError::Expired));
}
