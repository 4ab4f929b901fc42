//! Sealed values, the OAuth 1.0a cookies and worker custody's session cookie: AES-256-GCM
//! under HKDF-SHA256 keys, and the `Cookie` header they come back in.
//!
//! Asserts that sealing then opening gives the plaintext back; that a value opens only
//! under the key, purpose and associated data it was sealed with, and only as sealed (any
//! edit of the sealed text is refused); that a cookie's outcome depends on its own value
//! alone, whatever other cookies surround it; and that a genuine cookie opens back to what
//! was sealed, only while fresh and only for its own request token.
#![no_main]

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use xauth_core::{OAuth1AccessToken, OAuth1Token, RequestToken, TokenSecret};
use xauth_worker::fuzzing::{
    CookieKeys, CookieState, PENDING, PENDING_MAX_AGE_SECS, PendingError, SESSION,
    SESSION_COOKIE_INFO, SESSION_MAX_AGE_SECS, SealKey, SealKeys, SessionCookie, SessionSecret,
    Transport, VaultKey, VaultKeys, cookie_value, read_session_cookie, set_session_cookie,
};

const NOW: u64 = 1_800_000_000;
/// A fixed vault key (32 bytes of 7, base64), so committed seeds can be cookies it sealed.
const VAULT_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const SECRET: &str = "a seal key secret for the fuzzer";

struct Keys {
    key: SealKey,
    other_purpose: SealKey,
    other_secret: SealKey,
    cookies: CookieKeys,
    session: Rc<SealKeys>,
}

thread_local! {
    // The worker keeps its keys per isolate (`Rc`): one set per fuzzing thread here.
    static KEYS: Keys = make_keys();
}

fn make_keys() -> Keys {
    let vault = VaultKeys::new(VaultKey::parse(VAULT_KEY).expect("a vault key"), None);
    Keys {
        key: SealKey::derive(SECRET.as_bytes(), b"fuzz purpose"),
        other_purpose: SealKey::derive(SECRET.as_bytes(), b"fuzz purpose 2"),
        other_secret: SealKey::derive(b"another secret", b"fuzz purpose"),
        cookies: CookieKeys::new(&vault),
        session: vault.keys_for(SESSION_COOKIE_INFO),
    }
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fuzz_target!(|data: &[u8]| {
    KEYS.with(|keys| {
        seal_and_open(keys, data);
        let text = String::from_utf8_lossy(data);
        any_cookie_header(keys, &text);
        genuine_cookies(keys, &text);
        worker_custody_session(keys, &text);
    });
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
    let session = keys.cookies.open_session(Some(header), NOW, false);
    let alone = cookie_value(Some(header), SESSION).map(|v| format!("{SESSION}={v}"));
    let session_alone = alone.and_then(|h| keys.cookies.open_session(Some(&h), NOW, false));
    assert_eq!(
        session.map(|s| (s.user_id, s.screen_name, s.token.as_str().to_owned())),
        session_alone.map(|s| (s.user_id, s.screen_name, s.token.as_str().to_owned()))
    );
    let pending = keys.cookies.open_pending(Some(header), "rt", NOW, false);
    let alone = cookie_value(Some(header), PENDING).map(|v| format!("{PENDING}={v}"));
    let pending_alone = match &alone {
        Some(h) => keys.cookies.open_pending(Some(h), "rt", NOW, false),
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
    let session_secret = SessionSecret::generate().unwrap();
    let set = keys
        .cookies
        .session_cookie(&access, &session_secret, NOW, false)
        .unwrap();
    let cookie = set.split(';').next().unwrap();
    let header = format!("{crowd}; {cookie}; {crowd}");
    let session = keys
        .cookies
        .open_session(Some(&header), NOW, false)
        .expect("own cookie refused");
    assert_eq!(session.session.hash(), session_secret.hash());
    assert_eq!(session.token.as_str(), access.token.as_str());
    assert_eq!(session.secret.secret(), access.secret.secret());
    assert_eq!(session.screen_name, text);
    for late in [NOW + SESSION_MAX_AGE_SECS + 1, NOW - 61] {
        assert!(
            keys.cookies
                .open_session(Some(&header), late, false)
                .is_none()
        );
    }
    // The session cookie's value is no pending cookie.
    let renamed = format!("{PENDING}={}", cookie_value(Some(cookie), SESSION).unwrap());
    assert_eq!(
        keys.cookies
            .open_pending(Some(&renamed), access.token.as_str(), NOW, false)
            .err(),
        Some(PendingError::Unreadable)
    );

    let request_token = RequestToken {
        token: OAuth1Token::new(text.to_owned()),
        secret: TokenSecret::new(format!("s{text}")),
    };
    let set = keys
        .cookies
        .pending_cookie(&request_token, NOW, false)
        .unwrap();
    let cookie = set.split(';').next().unwrap();
    let header = format!("{crowd}; {cookie}");
    let opened = keys
        .cookies
        .open_pending(Some(&header), text, NOW + PENDING_MAX_AGE_SECS, false)
        .expect("own pending cookie refused");
    assert_eq!(opened.secret.secret(), request_token.secret.secret());
    let other = keys
        .cookies
        .open_pending(Some(&header), &format!("{text}x"), NOW, false);
    assert_eq!(other.err(), Some(PendingError::OtherToken));
    let late =
        keys.cookies
            .open_pending(Some(&header), text, NOW + PENDING_MAX_AGE_SECS + 1, false);
    assert_eq!(late.err(), Some(PendingError::Expired));
}

/// Worker custody's session cookie: any header's outcome depends on its own
/// `xauth_session` value alone; a genuine one opens to what was sealed, only while fresh,
/// and only for its own name.
fn worker_custody_session(keys: &Keys, text: &str) {
    let label = |state: CookieState| match state {
        CookieState::Absent => ("absent", None),
        CookieState::Invalid => ("invalid", None),
        CookieState::Valid { cookie, .. } => {
            ("valid", Some((cookie.user_id, cookie.secret.hash())))
        }
    };
    let header = text.replace('\n', ";");
    let whole = label(read_session_cookie(
        &keys.session,
        Some(&header),
        Transport::Loopback,
        NOW,
    ));
    let alone = cookie_value(Some(&header), Transport::Loopback.cookie_name())
        .map(|v| format!("{}={v}", Transport::Loopback.cookie_name()));
    let alone = match alone {
        Some(h) => label(read_session_cookie(
            &keys.session,
            Some(&h),
            Transport::Loopback,
            NOW,
        )),
        None => ("absent", None),
    };
    assert_eq!(whole, alone);
    if let (_, Some((user_id, _))) = &whole {
        assert!(!user_id.is_empty() && user_id.bytes().all(|b| b.is_ascii_digit()));
    }

    // A genuine cookie among the fuzzer's, unless they carry one first.
    if cookie_value(Some(&header), Transport::Loopback.cookie_name()).is_some() {
        return;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).take(20).collect();
    let user_id = if digits.is_empty() {
        "12".to_owned()
    } else {
        digits
    };
    let cookie = SessionCookie {
        user_id: user_id.clone(),
        secret: SessionSecret::generate().unwrap(),
        issued_at: NOW,
    };
    let set = set_session_cookie(&keys.session, &cookie, Transport::Loopback).unwrap();
    let pair = set.split(';').next().unwrap();
    let crowd = format!("{header}; {pair}; {header}");
    assert_eq!(
        label(read_session_cookie(
            &keys.session,
            Some(&crowd),
            Transport::Loopback,
            NOW
        )),
        ("valid", Some((user_id, cookie.secret.hash())))
    );
    for late in [NOW + SESSION_MAX_AGE_SECS + 1, NOW - 61] {
        assert_eq!(
            label(read_session_cookie(
                &keys.session,
                Some(&crowd),
                Transport::Loopback,
                late
            ))
            .0,
            "invalid"
        );
    }
    // Under the https name it is another cookie.
    assert_eq!(
        label(read_session_cookie(
            &keys.session,
            Some(pair),
            Transport::Https,
            NOW
        ))
        .0,
        "absent"
    );
}
