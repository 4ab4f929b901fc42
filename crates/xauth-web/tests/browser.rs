//! The crate's Rust in headless Chromium
//! (`cargo test --target wasm32-unknown-unknown -p xauth-web`): the sign-in module's
//! protocol steps (`signin`) and the keeper module's sessions (`session`). The package's JS entry, which calls them (the `XAuth` class: storage, address
//! bar, the code exchange, worker custody), is tested as built, in `tests/tests/package_e2e.rs`.
//!
//! The worker cannot be reached from the test runner's page, so `globalThis.fetch` is
//! replaced, per test, by a recorder that answers a canned `Response` (the real worker is
//! covered by the end-to-end suites). Tests run one at a time (wasm-bindgen-test's
//! concurrency is 1) and each starts from empty `xauth:` storage. Errors are matched by
//! `code`, never by message.

#![cfg(target_arch = "wasm32")]

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use xauth_core::PkceCodeVerifier;
use xauth_web::session::{self, Session};
use xauth_web::signin::{self, ClientFields, Refusal};

wasm_bindgen_test_configure!(run_in_browser);

const CLIENT_ID: &str = "test-client";
const REDIRECT_URI: &str = "http://127.0.0.1:8787/callback";
const SCOPES: &str = "tweet.read users.read offline.access";
const AUTHORIZE_URL: &str = "http://127.0.0.1:8790/i/oauth2/authorize";
const ENDPOINT: &str = "https://worker.test";
const SESSION_KEY: &str = "xauth:session";

/// The worker's answer to a code exchange, with a user and a refresh token.
const TOKEN_ANSWER: &str = r#"{"access_token":"AT-secret-1","token_type":"bearer",
    "expires_in":7200,"expires_at":1900000000,"scope":"tweet.read users.read offline.access",
    "refresh_token":"RT-secret-1","user":{"id":"42","name":"Ada","username":"ada"}}"#;

// ---- helpers -------------------------------------------------------------------------

fn storage() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

fn stored(key: &str) -> Option<String> {
    storage().get_item(key).unwrap()
}

/// Every value in sessionStorage.
fn all_stored_values() -> Vec<String> {
    let storage = storage();
    (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter_map(|key| storage.get_item(&key).unwrap())
        .collect()
}

/// A clean slate: no stored session.
fn reset() {
    storage().remove_item(SESSION_KEY).unwrap();
    local_storage().remove_item(SESSION_KEY).unwrap();
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn get_str(value: &JsValue, key: &str) -> Option<String> {
    get(value, key).as_string()
}

fn parse_json(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

/// The `code` of a thrown or rejected `XAuthError` (and checks it is one).
fn code(error: &JsValue) -> String {
    assert!(error.is_instance_of::<js_sys::Error>(), "{error:?}");
    assert_eq!(get_str(error, "name").as_deref(), Some("XAuthError"));
    get_str(error, "code").expect("an XAuthError has a code")
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// A promise that must reject; its `XAuthError`.
async fn rejection(promise: Promise) -> JsValue {
    match settle(promise).await {
        Ok(value) => panic!("expected a rejection, got {value:?}"),
        Err(error) => error,
    }
}

const STATE: &str = "st4te-from-the-test";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn callback_url(query: &str) -> String {
    format!("{REDIRECT_URI}?{query}")
}

/// One request the fake fetch saw.
#[derive(Debug)]
struct Seen {
    url: String,
    method: String,
    content_type: Option<String>,
    authorization: Option<String>,
    credentials: Option<String>,
    body: Option<JsValue>,
}

/// Replaces `globalThis.fetch` by a recorder answering `status` with `body` (as the
/// response text), or rejecting like an unreachable host when `status` is 0. Put back the
/// browser's fetch when dropped.
struct FakeFetch;

impl FakeFetch {
    fn answer(status: u16, body: &str) -> FakeFetch {
        let install = Function::new_with_args(
            "status, body",
            r#"
            globalThis.__xauthRealFetch ??= globalThis.fetch;
            globalThis.__xauthSeen = [];
            globalThis.fetch = (url, init = {}) => {
                const headers = new Headers(init.headers || {});
                globalThis.__xauthSeen.push({
                    url: String(url),
                    method: init.method || "GET",
                    contentType: headers.get("content-type") ?? undefined,
                    authorization: headers.get("authorization") ?? undefined,
                    credentials: init.credentials,
                    body: init.body,
                });
                if (status === 0) return Promise.reject(new TypeError("Failed to fetch"));
                return Promise.resolve(new Response(body, { status }));
            };
            "#,
        );
        install
            .call2(&JsValue::NULL, &status.into(), &body.into())
            .unwrap();
        FakeFetch
    }

    fn unreachable() -> FakeFetch {
        FakeFetch::answer(0, "")
    }

    fn seen(&self) -> Vec<Seen> {
        let list: js_sys::Array = get(&js_sys::global(), "__xauthSeen").unchecked_into();
        list.iter()
            .map(|request| Seen {
                url: get_str(&request, "url").unwrap(),
                method: get_str(&request, "method").unwrap(),
                content_type: get_str(&request, "contentType"),
                authorization: get_str(&request, "authorization"),
                credentials: get_str(&request, "credentials"),
                body: get_str(&request, "body").map(|body| parse_json(&body)),
            })
            .collect()
    }
}

impl Drop for FakeFetch {
    fn drop(&mut self) {
        let global = js_sys::global();
        let real = get(&global, "__xauthRealFetch");
        if !real.is_undefined() {
            Reflect::set(&global, &"fetch".into(), &real).unwrap();
        }
    }
}

/// Asserts an expiry (Unix seconds) two hours from now by this page's clock: the token
/// answer's `expires_in` (7200) counted from its arrival, not the worker's `expires_at`.
fn assert_expires_in_two_hours(expires_at: Option<f64>) {
    let left = expires_at.expect("an expiry") - js_sys::Date::now() / 1000.0;
    assert!((7_190.0..=7_201.0).contains(&left), "expires in {left} s");
}

// ---- the sign-in module: the link -------------------------------------------------------

fn fields<'a>(authorize_url: Option<&'a str>) -> ClientFields<'a> {
    ClientFields {
        client_id: Some(CLIENT_ID),
        redirect_uri: Some(REDIRECT_URI),
        scopes: Some(SCOPES),
        authorize_url,
    }
}

/// 64 bytes: the verifier's 32, then the state's.
fn random(seed: u8) -> Vec<u8> {
    (0..64u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// `start`'s three lines.
fn started(answer: &str) -> (String, String, String) {
    let lines: Vec<&str> = answer.split('\n').collect();
    assert_eq!(lines.len(), 3, "{answer:?}");
    (
        lines[0].to_owned(),
        lines[1].to_owned(),
        lines[2].to_owned(),
    )
}

#[wasm_bindgen_test]
fn start_builds_the_link_from_the_random_bytes() {
    let (url, state, verifier) = started(&signin::start(&fields(Some(AUTHORIZE_URL)), &random(1)));
    let bytes = random(1);
    assert_eq!(
        verifier,
        PkceCodeVerifier::from_random_bytes(bytes[..32].try_into().unwrap()).secret()
    );
    assert_eq!(
        state,
        xauth_core::CsrfToken::from_random_bytes(bytes[32..].try_into().unwrap()).as_str()
    );
    let verifier = PkceCodeVerifier::parse(&verifier).expect("a valid RFC 7636 verifier");

    // The link: X's parameters, the challenge being S256 of the verifier.
    let challenge = verifier.challenge();
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, AUTHORIZE_URL);
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let expected = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", SCOPES),
        ("state", &state),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(params, expected);
    assert!(
        !url.contains(verifier.secret()),
        "the verifier never goes to X"
    );
    assert_eq!(state.len(), 43);

    // Other bytes, other secrets; X's own consent page by default.
    let (other_url, other_state, other_verifier) =
        started(&signin::start(&fields(None), &random(2)));
    assert_ne!(other_state, state);
    assert_ne!(other_verifier, verifier.secret());
    assert!(other_url.starts_with("https://x.com/i/oauth2/authorize?response_type=code&"));
    // Too few random bytes: no link.
    assert!(signin::start(&fields(None), &[7; 63]).starts_with('!'));
}

#[wasm_bindgen_test]
fn check_client_says_what_is_wrong() {
    assert_eq!(signin::check_client(&fields(None)), None);
    assert_eq!(signin::check_client(&fields(Some(AUTHORIZE_URL))), None);
    let base = fields(None);
    for (case, wrong) in [
        (
            ClientFields {
                client_id: None,
                ..base
            },
            "clientId",
        ),
        (
            ClientFields {
                client_id: Some(""),
                ..base
            },
            "clientId",
        ),
        (
            ClientFields {
                redirect_uri: None,
                ..base
            },
            "redirectUri",
        ),
        (
            ClientFields {
                redirect_uri: Some("/callback"),
                ..base
            },
            "redirectUri",
        ),
        (
            ClientFields {
                redirect_uri: Some("https://a.example/cb#f"),
                ..base
            },
            "redirectUri",
        ),
        (
            ClientFields {
                scopes: Some("tweet.read nope"),
                ..base
            },
            "scopes",
        ),
        (
            ClientFields {
                scopes: None,
                ..base
            },
            "scopes",
        ),
        (
            ClientFields {
                authorize_url: Some("x.com"),
                ..base
            },
            "authorizeUrl",
        ),
    ] {
        let message = signin::check_client(&case).unwrap_or_else(|| panic!("{case:?}"));
        assert!(message.starts_with(wrong), "{case:?}: {message}");
        let answer = signin::start(&case, &random(0));
        assert_eq!(answer.strip_prefix('!'), Some(message), "{case:?}");
    }
}

#[wasm_bindgen_test]
fn is_callback_needs_state_and_code_or_error() {
    for (url, expected) in [
        ("?state=s&code=c", true),
        ("https://app.example/cb?code=c&state=s#x", true),
        ("?state=s&error=access_denied", true),
        ("?state=s", false),
        ("?code=c", false),
        ("?error=access_denied", false),
        ("https://app.example/cb", false),
        ("https://app.example/cb?page=2", false),
        ("?state=a&state=b&code=c", false),
        ("", false),
        (
            "https://app.example/cb?oauth_token=t&oauth_verifier=v",
            false,
        ),
    ] {
        assert_eq!(signin::is_callback(url), expected, "{url:?}");
    }
}

#[wasm_bindgen_test]
fn proxy_urls_are_for_x_api_v2_only() {
    assert_eq!(
        signin::proxy_url(ENDPOINT, "https://api.x.com/2/users/me?user.fields=id").as_deref(),
        Some("https://worker.test/twitter-api/2/users/me?user.fields=id")
    );
    assert_eq!(
        signin::proxy_url("", "/2/tweets").as_deref(),
        Some("/twitter-api/2/tweets")
    );
    for input in [
        "https://evil.example/2/users/me",
        "/1.1/account/verify_credentials.json",
        "users/me",
        "/2/tweets/../dm_events",
    ] {
        assert_eq!(signin::proxy_url(ENDPOINT, input), None, "{input}");
    }
}

// ---- the sign-in module: the callback ------------------------------------------------------

/// `take_callback` of `url` with the test's pending sign-in made `age_ms` ago.
fn take(url: &str, age_ms: f64) -> Result<String, Refusal> {
    let now = js_sys::Date::now();
    signin::take_callback(url, Some(STATE), Some(VERIFIER), Some(now - age_ms), now)
}

/// The `XAuthError` code of a refused callback.
fn refusal(answer: &Result<String, Refusal>) -> Option<&'static str> {
    answer.as_ref().err().map(|refusal| refusal.code)
}

#[wasm_bindgen_test]
fn a_callback_with_this_tabs_state_gives_the_code() {
    let answer = take(
        &callback_url(&format!("state={STATE}&code=the%2Bcode")),
        1000.0,
    );
    assert_eq!(answer.as_deref(), Ok("the+code"));
    // Outside text comes back as it is.
    let answer = take(
        &callback_url(&format!("state={STATE}&code=a%22b%5C%0A%00")),
        0.0,
    );
    assert_eq!(answer.as_deref(), Ok("a\"b\\\n\0"));
}

#[wasm_bindgen_test]
fn a_state_mismatch_and_xs_refusals_have_their_codes() {
    let denied = take(
        &callback_url(&format!(
            "error=access_denied&error_description=The+user+denied+access%21&state={STATE}"
        )),
        0.0,
    )
    .unwrap_err();
    assert_eq!(denied.code, "access_denied");
    assert_eq!(
        denied.description.as_deref(),
        Some("The user denied access!")
    );
    assert!(denied.message.contains("The user denied access!"));
    for (query, expected) in [
        ("state=forged&code=c".to_string(), "state_mismatch"),
        (
            format!("error=invalid_scope&state={STATE}"),
            "authorization_error",
        ),
        (format!("state={STATE}"), "missing_code"),
        ("code=c".to_string(), "missing_state"),
        (format!("state={STATE}&code=a&code=b"), "malformed_callback"),
        (
            "error=access_denied&state=forged".to_string(),
            "state_mismatch",
        ),
    ] {
        assert_eq!(
            refusal(&take(&callback_url(&query), 0.0)),
            Some(expected),
            "{query}"
        );
    }
    let error = take(
        &callback_url(&format!("error=invalid_scope&state={STATE}")),
        0.0,
    );
    assert_eq!(error.unwrap_err().error.as_deref(), Some("invalid_scope"));
}

#[wasm_bindgen_test]
fn no_pending_sign_in_when_there_is_none_or_it_is_unreadable() {
    let url = callback_url(&format!("state={STATE}&code=c"));
    let now = js_sys::Date::now();
    for (state, verifier, created_at) in [
        (None, None, None),
        (Some(STATE), None, Some(now)),
        (Some(STATE), Some("short"), Some(now)),
        (Some(""), Some(VERIFIER), Some(now)),
        (Some(STATE), Some(VERIFIER), None),
        (Some(STATE), Some(VERIFIER), Some(f64::NAN)),
    ] {
        let refused = signin::take_callback(&url, state, verifier, created_at, now).unwrap_err();
        assert_eq!(
            (refused.code, refused.reason),
            ("no_pending_sign_in", Some("missing"))
        );
    }
}

#[wasm_bindgen_test]
fn a_pending_sign_in_older_than_ten_minutes_has_expired() {
    let url = callback_url(&format!("state={STATE}&code=c"));
    for (age_ms, expired) in [
        (11.0 * 60_000.0, true),
        (24.0 * 3_600_000.0, true),
        (-3_600_000.0, true), // from the future: not trusted forever
        (9.0 * 60_000.0, false),
        (-30_000.0, false), // a clock change of half a minute
    ] {
        match take(&url, age_ms) {
            Err(refused) => {
                assert!(expired, "{age_ms}: {refused:?}");
                assert_eq!(
                    (refused.code, refused.reason),
                    ("no_pending_sign_in", Some("expired"))
                );
                assert!(refused.message.contains("10 minutes"));
            }
            Ok(code) => {
                assert!(!expired, "{age_ms}");
                assert_eq!(code, "c");
            }
        }
    }
}

/// Records each call's argument in `globalThis.__xauthCalls[name]`; the function.
fn recorder(name: &str) -> Function {
    Function::new_with_args(
        "value",
        &format!(
            "(globalThis.__xauthCalls ??= {{}}); \
             (globalThis.__xauthCalls['{name}'] ??= []).push(value);"
        ),
    )
}

fn recorded(name: &str) -> Vec<JsValue> {
    let calls = get(&js_sys::global(), "__xauthCalls");
    if calls.is_undefined() {
        return Vec::new();
    }
    let list = get(&calls, name);
    if list.is_undefined() {
        return Vec::new();
    }
    list.unchecked_into::<js_sys::Array>().iter().collect()
}

fn forget_recorded() {
    let global: Object = js_sys::global().unchecked_into();
    Reflect::delete_property(&global, &"__xauthCalls".into()).unwrap();
}

// ---- the keeper module: sessions -----------------------------------------------------------

/// An object from JSON, for options that mix strings, numbers and functions.
fn js_object(json: &str) -> Object {
    parse_json(json).unchecked_into()
}

/// Session options: `storage`, no timer, and hooks that record what they are told, plus
/// `extra` (JSON fields, with a leading comma).
fn options_with(storage: &str, extra: &str) -> JsValue {
    let options = js_object(&format!(
        r#"{{"storage":"{storage}","autoRefresh":false{extra}}}"#
    ));
    for hook in ["onTokenUpdate", "onTokenRefreshError", "onSignedOut"] {
        Reflect::set(&options, &hook.into(), &recorder(hook)).unwrap();
    }
    options.into()
}

/// A session after a sign-in whose exchange the worker answered with `answer`.
async fn signed_in_with(options: &JsValue, answer: &str) -> Session {
    Session::after_sign_in(&parse_json(answer), ENDPOINT, options, js_sys::Date::now())
        .await
        .unwrap()
}

/// A session in storage "session" after a sign-in answered with `answer`.
async fn signed_in(answer: &str) -> Session {
    reset();
    let session = signed_in_with(&options_with("session", ""), answer).await;
    assert!(stored(SESSION_KEY).is_some());
    session
}

fn restore(storage: &str) -> Option<Session> {
    session::restore_session(ENDPOINT, &options_with(storage, ""))
}

fn resume(options: &JsValue, tokens: &str, user: &str) -> Result<Session, JsValue> {
    let user = if user.is_empty() {
        JsValue::UNDEFINED
    } else {
        parse_json(user)
    };
    session::resume_session(&parse_json(tokens), &user, ENDPOINT, options)
}

#[wasm_bindgen_test]
async fn a_sign_in_gives_a_session_that_keeps_its_refresh_token_inside() {
    reset();
    forget_recorded();
    let session = signed_in_with(&options_with("memory", ""), TOKEN_ANSWER).await;
    let session = JsValue::from(session);
    assert_eq!(
        get_str(&session, "accessToken").as_deref(),
        Some("AT-secret-1")
    );
    assert_eq!(get_str(&session, "custody").as_deref(), Some("browser"));
    assert_expires_in_two_hours(get(&session, "expiresAt").as_f64());
    assert_eq!(get_str(&session, "scope").as_deref(), Some(SCOPES));
    let user = get(&session, "user");
    assert_eq!(get_str(&user, "id").as_deref(), Some("42"));
    assert_eq!(get_str(&user, "name").as_deref(), Some("Ada"));
    assert_eq!(get_str(&user, "username").as_deref(), Some("ada"));
    // The refresh token is not a property, and does not show through JSON either.
    for key in ["refreshToken", "refresh_token"] {
        assert!(get(&session, key).is_undefined(), "{key}");
    }
    let json = JSON::stringify(&session).unwrap().as_string().unwrap();
    assert!(!json.contains("RT-secret-1"), "{json}");
    // The app was handed the first tokens.
    let updates = recorded("onTokenUpdate");
    assert_eq!(updates.len(), 1);
    assert_eq!(
        get_str(&updates[0], "refreshToken").as_deref(),
        Some("RT-secret-1")
    );
    assert_expires_in_two_hours(get(&updates[0], "expiresAt").as_f64());
}

#[wasm_bindgen_test]
async fn a_session_without_user_or_expiry_has_them_undefined() {
    reset();
    let session = signed_in_with(
        &options_with("memory", ""),
        r#"{"access_token":"AT-2","token_type":"bearer"}"#,
    )
    .await;
    assert_eq!(session.access_token(), "AT-2");
    assert!(session.expires_at().is_none());
    assert!(session.scope().is_none());
    assert!(session.user().is_undefined());
}

#[wasm_bindgen_test]
async fn an_answer_without_an_access_token_is_an_invalid_response() {
    for body in [r#""not an object""#, "{}", r#"{"access_token":""}"#, "[1]"] {
        let error = Session::after_sign_in(
            &parse_json(body),
            ENDPOINT,
            &options_with("memory", ""),
            js_sys::Date::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(code(&error), "invalid_response", "{body}");
    }
}

#[wasm_bindgen_test]
async fn memory_mode_writes_no_token_to_storage() {
    reset();
    signed_in_with(&options_with("memory", ""), TOKEN_ANSWER).await;
    assert_eq!(stored(SESSION_KEY), None);
    assert_eq!(local_storage().get_item(SESSION_KEY).unwrap(), None);
    for value in all_stored_values() {
        assert!(
            !value.contains("AT-secret") && !value.contains("RT-secret"),
            "a token in sessionStorage: {value}"
        );
    }
    assert!(restore("memory").is_none());
}

#[wasm_bindgen_test]
async fn session_mode_persists_and_restore_session_reads_it() {
    let _session = signed_in(TOKEN_ANSWER).await;
    let record = stored(SESSION_KEY).expect("the session is stored");
    assert!(record.contains("AT-secret-1"));

    // A reload finds it.
    let session = restore("session").expect("a stored session");
    assert_eq!(session.access_token(), "AT-secret-1");
    assert_eq!(
        session.expires_at(),
        get(&parse_json(&record), "expires_at").as_f64(),
        "as kept, not counted again from now"
    );
    assert_expires_in_two_hours(session.expires_at());
    assert_eq!(session.scope().as_deref(), Some(SCOPES));
    assert_eq!(get_str(&session.user(), "username").as_deref(), Some("ada"));
    // Debug shows no token.
    let debug = format!("{session:?}");
    assert!(
        !debug.contains("AT-secret") && !debug.contains("RT-secret"),
        "{debug}"
    );
    // Memory mode does not read it.
    assert!(restore("memory").is_none());
    assert!(stored(SESSION_KEY).is_some());
}

#[wasm_bindgen_test]
fn a_corrupt_stored_session_is_dropped() {
    reset();
    for junk in ["not json", "{}", r#"{"access_token":""}"#, "42"] {
        storage().set_item(SESSION_KEY, junk).unwrap();
        assert!(restore("session").is_none(), "{junk}");
        assert_eq!(stored(SESSION_KEY), None, "{junk}");
    }
}

fn sign_out(session: &JsValue) -> Promise {
    let sign_out: Function = get(session, "signOut").unchecked_into();
    sign_out.call0(session).unwrap().unchecked_into()
}

fn assert_revoke_request(fetch: &FakeFetch, token: &str, hint: &str) {
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-revoke-token"));
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    let body = seen[0].body.as_ref().unwrap();
    assert_eq!(get_str(body, "token").as_deref(), Some(token));
    assert_eq!(get_str(body, "tokenTypeHint").as_deref(), Some(hint));
}

#[wasm_bindgen_test]
async fn sign_out_revokes_the_refresh_token_and_clears_everything() {
    let session = JsValue::from(signed_in(TOKEN_ANSWER).await);
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    let outcome = settle(sign_out(&session)).await.unwrap();
    assert!(outcome.is_undefined());
    assert_revoke_request(&fetch, "RT-secret-1", "refresh_token");
    assert_eq!(stored(SESSION_KEY), None);
    assert_eq!(get_str(&session, "accessToken").as_deref(), Some(""));
    assert!(restore("session").is_none());
    // Twice: nothing left to revoke.
    settle(sign_out(&session)).await.unwrap();
    assert_eq!(fetch.seen().len(), 1);
}

#[wasm_bindgen_test]
async fn sign_out_without_a_refresh_token_revokes_the_access_token() {
    let session =
        JsValue::from(signed_in(r#"{"access_token":"AT-only","token_type":"bearer"}"#).await);
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    settle(sign_out(&session)).await.unwrap();
    assert_revoke_request(&fetch, "AT-only", "access_token");
}

#[wasm_bindgen_test]
async fn a_failed_revoke_rejects_after_clearing() {
    let session = JsValue::from(signed_in(TOKEN_ANSWER).await);
    let fetch = FakeFetch::answer(
        502,
        r#"{"error":"x_unavailable","error_description":"X did not answer in time.","kind":"transient"}"#,
    );
    let error = rejection(sign_out(&session)).await;
    assert_eq!(code(&error), "revoke_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("transient"));
    assert_eq!(get(&error, "status").as_f64(), Some(502.0));
    assert_revoke_request(&fetch, "RT-secret-1", "refresh_token");
    assert_eq!(
        stored(SESSION_KEY),
        None,
        "cleared although the revoke failed"
    );
    assert_eq!(get_str(&session, "accessToken").as_deref(), Some(""));

    let session = JsValue::from(signed_in(TOKEN_ANSWER).await);
    let _fetch = FakeFetch::unreachable();
    let error = rejection(sign_out(&session)).await;
    assert_eq!(code(&error), "network_error");
    assert_eq!(stored(SESSION_KEY), None);
}

#[wasm_bindgen_test]
async fn a_restored_session_signs_out_too() {
    reset();
    storage()
        .set_item(
            SESSION_KEY,
            r#"{"access_token":"AT-r","refresh_token":"RT-r"}"#,
        )
        .unwrap();
    let session: Session = restore("session").unwrap();
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    let revoked = session.sign_out();
    assert_eq!(
        stored(SESSION_KEY),
        None,
        "cleared at once, before the revoke settles"
    );
    assert_eq!(session.access_token(), "");
    settle(revoked).await.unwrap();
    assert_revoke_request(&fetch, "RT-r", "refresh_token");
}

#[wasm_bindgen_test]
async fn resume_session_takes_what_on_token_update_gave() {
    reset();
    forget_recorded();
    let options = options_with("local", "");
    let error = resume(&options, r#"{"refreshToken":"RT"}"#, "").unwrap_err();
    assert_eq!(code(&error), "invalid_options");

    let session = resume(
        &options,
        r#"{"accessToken":"AT-kept","refreshToken":"RT-kept","expiresAt":1900000000}"#,
        r#"{"id":"42","name":"Ada","username":"ada"}"#,
    )
    .unwrap();
    assert!(session.signed_in());
    assert_eq!(session.access_token(), "AT-kept");
    assert_eq!(session.expires_at(), Some(1_900_000_000.0));
    assert_eq!(get_str(&session.user(), "username").as_deref(), Some("ada"));
    assert!(
        recorded("onTokenUpdate").is_empty(),
        "the app has these already"
    );
    // Restored in another tab (or after a restart) from localStorage:
    let restored = restore("local").unwrap();
    assert_eq!(restored.access_token(), "AT-kept");
}

#[wasm_bindgen_test]
async fn session_fetch_refuses_what_is_not_an_x_api_call_and_sends_nothing() {
    reset();
    let session = resume(
        &options_with("local", ""),
        r#"{"accessToken":"AT","expiresAt":1900000000}"#,
        "",
    )
    .unwrap();
    let fetch = FakeFetch::answer(200, "{}");
    for input in [
        "https://evil.example/2/users/me",
        "/1.1/account/verify_credentials.json",
        "users/me",
        "/2/tweets/../dm_events",
    ] {
        let error = rejection(session.fetch(input.to_owned(), JsValue::UNDEFINED)).await;
        assert_eq!(code(&error), "invalid_request", "{input}");
    }
    assert!(fetch.seen().is_empty());
}

#[wasm_bindgen_test]
async fn session_fetch_sends_the_bearer_token_to_the_proxy() {
    reset();
    let session = resume(
        &options_with("local", ""),
        r#"{"accessToken":"AT-send","expiresAt":1900000000}"#,
        "",
    )
    .unwrap();
    let fetch = FakeFetch::answer(200, r#"{"data":{}}"#);
    let response = settle(session.fetch(
        "https://api.x.com/2/users/me?user.fields=id".to_owned(),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(200.0));
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].url,
        format!("{ENDPOINT}/twitter-api/2/users/me?user.fields=id")
    );
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].credentials.as_deref(), Some("omit"));
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer AT-send"));
}

#[wasm_bindgen_test]
async fn after_sign_out_nothing_is_sent_and_on_signed_out_is_told_once() {
    reset();
    forget_recorded();
    let session = resume(
        &options_with("local", ""),
        r#"{"accessToken":"AT-out","refreshToken":"RT-out","expiresAt":1900000000}"#,
        "",
    )
    .unwrap();
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    settle(session.sign_out()).await.unwrap();
    settle(session.sign_out()).await.unwrap();
    assert!(!session.signed_in());
    let reasons: Vec<String> = recorded("onSignedOut")
        .iter()
        .map(|reason| reason.as_string().unwrap())
        .collect();
    assert_eq!(reasons, ["sign_out"]);
    for call in [
        session.fetch("/2/users/me".to_owned(), JsValue::UNDEFINED),
        session.refresh(),
    ] {
        assert_eq!(code(&rejection(call).await), "signed_out");
    }
    assert_eq!(fetch.seen().len(), 1, "only the one revocation");
    assert_eq!(local_storage().get_item(SESSION_KEY).unwrap(), None);
}

// ---- the keeper's hardening: whose tokens a tab takes, the clock, the channel ----------

/// Resolves after `ms` milliseconds (messages between tabs and spawned requests arrive on
/// later tasks).
async fn sleep(ms: i32) {
    let timeout = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(timeout).await.unwrap();
}

/// The worker's answer to a refresh: new tokens that live two hours.
const REFRESHED: &str = r#"{"access_token":"AT-secret-2","token_type":"bearer","expires_in":7200,
    "scope":"tweet.read users.read offline.access","refresh_token":"RT-secret-2"}"#;

/// `object.method(...args)` for a method that returns a promise.
fn call(object: &JsValue, method: &str, args: &[&str]) -> Promise {
    let function: Function = get(object, method).unchecked_into();
    let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    function.apply(object, &args).unwrap().unchecked_into()
}

fn username(session: &Session) -> Option<String> {
    get_str(&session.user(), "username")
}

/// The session record another tab keeps in localStorage, as JSON.
fn stored_record() -> JsValue {
    parse_json(&local_storage().get_item(SESSION_KEY).unwrap().unwrap())
}

#[wasm_bindgen_test]
async fn another_sign_in_found_in_storage_is_not_adopted_it_ends_this_session() {
    reset();
    forget_recorded();
    let session = resume(
        &options_with("local", ""),
        r#"{"accessToken":"AT-ada","refreshToken":"RT-ada","expiresAt":1900000000}"#,
        r#"{"id":"42","name":"Ada","username":"ada"}"#,
    )
    .unwrap();
    // Another tab signed in as Bob: its session replaced this one in localStorage (and
    // this tab missed that tab's word on the channel).
    let bob = r#"{"access_token":"AT-bob","refresh_token":"RT-bob","expires_at":1900000000,
        "user":{"id":"7","name":"Bob","username":"bob"}}"#;
    local_storage().set_item(SESSION_KEY, bob).unwrap();
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);

    let outcome = settle(session.refresh()).await;
    sleep(50).await;

    assert_ne!(session.access_token(), "AT-bob", "acting as another user");
    assert_eq!(username(&session).as_deref(), Some("ada"));
    assert_eq!(code(&outcome.unwrap_err()), "signed_out");
    assert!(!session.signed_in());
    let reasons: Vec<String> = recorded("onSignedOut")
        .iter()
        .map(|reason| reason.as_string().unwrap())
        .collect();
    assert_eq!(reasons, ["signed_out_elsewhere"]);
    assert!(recorded("onTokenUpdate").is_empty());
    // Its own grant, which nobody will use again, is revoked; Bob's is left alone.
    assert_revoke_request(&fetch, "RT-ada", "refresh_token");
    assert_eq!(
        local_storage().get_item(SESSION_KEY).unwrap().as_deref(),
        Some(bob)
    );
}

#[wasm_bindgen_test]
async fn only_successors_of_this_tabs_grant_are_adopted_from_storage() {
    reset();
    forget_recorded();
    let session = resume(
        &options_with("local", ""),
        r#"{"accessToken":"AT-1","refreshToken":"RT-1","expiresAt":1900000000}"#,
        r#"{"id":"42","name":"Ada","username":"ada"}"#,
    )
    .unwrap();
    let mine = stored_record();
    let rotation = get(&mine, "rotation").as_f64().unwrap_or(0.0);
    let with = |tokens: &str, rotation: f64| {
        let record: Object = JSON::parse(&JSON::stringify(&mine).unwrap().as_string().unwrap())
            .unwrap()
            .unchecked_into();
        Object::assign(&record, &js_object(tokens));
        Reflect::set(&record, &"rotation".into(), &rotation.into()).unwrap();
        let json = JSON::stringify(&record).unwrap().as_string().unwrap();
        local_storage().set_item(SESSION_KEY, &json).unwrap();
    };

    // An older copy of this grant (another tab's view of localStorage lags behind): kept
    // out; this tab refreshes its own refresh token.
    with(
        r#"{"access_token":"AT-0","refresh_token":"RT-0"}"#,
        rotation - 1.0,
    );
    let fetch = FakeFetch::answer(200, REFRESHED);
    settle(session.refresh()).await.unwrap();
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-refresh-token"));
    assert_eq!(
        get_str(seen[0].body.as_ref().unwrap(), "refreshToken").as_deref(),
        Some("RT-1")
    );
    assert_eq!(session.access_token(), "AT-secret-2");

    // A successor three rotations on (this tab missed the news of two): adopted, with
    // nothing sent.
    let now = stored_record();
    let rotation = get(&now, "rotation").as_f64().unwrap_or(0.0);
    with(
        r#"{"access_token":"AT-5","refresh_token":"RT-5"}"#,
        rotation + 3.0,
    );
    let fetch = FakeFetch::answer(500, "{}");
    settle(session.refresh()).await.unwrap();
    assert!(fetch.seen().is_empty(), "{:?}", fetch.seen());
    assert_eq!(session.access_token(), "AT-5");
    assert!(session.signed_in());
    assert_eq!(username(&session).as_deref(), Some("ada"));
}

#[wasm_bindgen_test]
async fn a_new_sign_in_replaces_the_stored_session_and_its_tabs_end() {
    reset();
    forget_recorded();
    let options = options_with("local", "");
    let ada = resume(
        &options,
        r#"{"accessToken":"AT-ada","refreshToken":"RT-ada","expiresAt":1900000000}"#,
        r#"{"id":"42","name":"Ada","username":"ada"}"#,
    )
    .unwrap();
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    // Another sign-in (here in the same page; another tab hears the same on the channel).
    let bob = resume(
        &options,
        r#"{"accessToken":"AT-bob","refreshToken":"RT-bob","expiresAt":1900000000}"#,
        r#"{"id":"7","name":"Bob","username":"bob"}"#,
    )
    .unwrap();
    sleep(100).await;

    assert!(!ada.signed_in());
    let reasons: Vec<String> = recorded("onSignedOut")
        .iter()
        .map(|reason| reason.as_string().unwrap())
        .collect();
    assert_eq!(reasons, ["signed_out_elsewhere"]);
    // Ada's grant is revoked by the new sign-in and by the tab that held it.
    let seen = fetch.seen();
    assert!(!seen.is_empty());
    for request in &seen {
        assert_eq!(request.url, format!("{ENDPOINT}/twitter-revoke-token"));
        let body = request.body.as_ref().unwrap();
        assert_eq!(get_str(body, "token").as_deref(), Some("RT-ada"));
    }
    assert!(bob.signed_in());
    assert_eq!(
        get_str(&stored_record(), "access_token").as_deref(),
        Some("AT-bob")
    );
}

/// Sets the page's clock (`Date.now`) `ahead_ms` ahead until dropped.
struct ClockAhead;

impl ClockAhead {
    fn by(ahead_ms: f64) -> ClockAhead {
        Function::new_with_args(
            "ahead",
            "globalThis.__xauthRealNow ??= Date.now; \
             const real = globalThis.__xauthRealNow; \
             Date.now = () => real.call(Date) + ahead;",
        )
        .call1(&JsValue::NULL, &ahead_ms.into())
        .unwrap();
        ClockAhead
    }
}

impl Drop for ClockAhead {
    fn drop(&mut self) {
        Function::new_no_args(
            "if (globalThis.__xauthRealNow) Date.now = globalThis.__xauthRealNow;",
        )
        .call0(&JsValue::NULL)
        .unwrap();
    }
}

#[wasm_bindgen_test]
async fn expiry_is_counted_on_the_local_clock_from_arrival() {
    reset();
    let real_now_secs = (js_sys::Date::now() / 1000.0).floor();
    let _clock = ClockAhead::by(3.0 * 3_600_000.0);
    // The worker's clock says two hours from its now; this browser's clock is 3 h ahead.
    let answer = format!(
        r#"{{"access_token":"AT-c","token_type":"bearer","expires_in":7200,
            "expires_at":{},"refresh_token":"RT-c","scope":"{SCOPES}"}}"#,
        real_now_secs + 7200.0
    );
    let fetch = FakeFetch::answer(200, "{}");
    let session = JsValue::from(signed_in_with(&options_with("memory", ""), &answer).await);
    let left = get(&session, "expiresAt").as_f64().unwrap() - js_sys::Date::now() / 1000.0;
    assert!((7_190.0..=7_201.0).contains(&left), "expires in {left} s");

    // Fresh, so a call sends it as it is.
    settle(call(&session, "fetch", &["/2/users/me"]))
        .await
        .unwrap();
    let urls: Vec<String> = fetch.seen().into_iter().map(|seen| seen.url).collect();
    assert_eq!(urls, [format!("{ENDPOINT}/twitter-api/2/users/me")]);
}

#[wasm_bindgen_test]
async fn tokens_stale_on_arrival_are_refreshed_at_most_once_per_interval() {
    reset();
    forget_recorded();
    // A skew longer than the tokens live (two hours): every token is stale the moment it
    // arrives.
    let expires_at = (js_sys::Date::now() / 1000.0).floor() + 7200.0;
    let session = resume(
        &options_with("local", r#","refreshSkewSeconds":100000"#),
        &format!(r#"{{"accessToken":"AT-1","refreshToken":"RT-1","expiresAt":{expires_at}}}"#),
        "",
    )
    .unwrap();
    let fetch = FakeFetch::answer(200, REFRESHED);
    for _ in 0..4 {
        let response = settle(session.fetch("/2/users/me".to_owned(), JsValue::UNDEFINED))
            .await
            .unwrap();
        assert_eq!(get(&response, "status").as_f64(), Some(200.0));
    }
    let seen = fetch.seen();
    let refreshes = seen
        .iter()
        .filter(|s| s.url.ends_with("/twitter-refresh-token"))
        .count();
    assert_eq!(refreshes, 1, "{seen:?}");
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(
        seen.iter()
            .skip(2)
            .all(|s| s.authorization.as_deref() == Some("Bearer AT-secret-2"))
    );
}

#[wasm_bindgen_test]
async fn only_local_sessions_speak_on_the_channel() {
    // A listener of the origin, as any script on it can open one.
    Function::new_no_args(&format!(
        "globalThis.__xauthHeard = []; \
         globalThis.__xauthListener?.close(); \
         globalThis.__xauthListener = new BroadcastChannel('xauth:refresh:{ENDPOINT}'); \
         globalThis.__xauthListener.onmessage = (e) => globalThis.__xauthHeard.push(JSON.stringify(e.data));"
    ))
    .call0(&JsValue::NULL)
    .unwrap();
    let heard = || -> Vec<String> {
        let list: js_sys::Array = get(&js_sys::global(), "__xauthHeard").unchecked_into();
        let heard = list.iter().map(|m| m.as_string().unwrap()).collect();
        list.set_length(0);
        heard
    };
    for kind in ["memory", "session", "local"] {
        reset();
        let session = JsValue::from(signed_in_with(&options_with(kind, ""), TOKEN_ANSWER).await);
        let _fetch = FakeFetch::answer(200, REFRESHED);
        settle(call(&session, "refresh", &[])).await.unwrap();
        assert_eq!(
            get_str(&session, "accessToken").as_deref(),
            Some("AT-secret-2")
        );
        let _fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
        settle(sign_out(&session)).await.unwrap();
        sleep(200).await;
        let heard = heard();
        if kind == "local" {
            // Tabs that share the session hear of its refresh (localStorage holds the
            // same tokens for any script of the origin anyway).
            assert!(heard.iter().any(|m| m.contains("AT-secret-2")), "{heard:?}");
        } else {
            assert_eq!(heard, Vec::<String>::new(), "{kind}");
        }
    }
    Function::new_no_args("globalThis.__xauthListener.close();")
        .call0(&JsValue::NULL)
        .unwrap();
}
