//! The sign-in flow in headless Chromium
//! (`cargo test --target wasm32-unknown-unknown -p xauth-web`).
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
use xauth_web::{Session, XAuth, XAuthOptions};

wasm_bindgen_test_configure!(run_in_browser);

const CLIENT_ID: &str = "test-client";
const REDIRECT_URI: &str = "http://127.0.0.1:8787/callback";
const SCOPES: &str = "tweet.read users.read offline.access";
const AUTHORIZE_URL: &str = "http://127.0.0.1:8790/i/oauth2/authorize";
const ENDPOINT: &str = "https://worker.test";
const PENDING_KEY: &str = "xauth:pending";
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

/// A clean slate: no pending sign-in, no stored session, the real address.
fn reset() {
    let storage = storage();
    storage.remove_item(PENDING_KEY).unwrap();
    storage.remove_item(SESSION_KEY).unwrap();
    local_storage().remove_item(SESSION_KEY).unwrap();
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn options(fields: &[(&str, &str)]) -> XAuthOptions {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &(*key).into(), &(*value).into()).unwrap();
    }
    object.unchecked_into()
}

fn client_with(storage_kind: &str) -> XAuth {
    XAuth::new(&options(&[
        ("clientId", CLIENT_ID),
        ("redirectUri", REDIRECT_URI),
        ("scopes", SCOPES),
        ("authorizeUrl", AUTHORIZE_URL),
        ("endpoint", ENDPOINT),
        ("storage", storage_kind),
    ]))
    .unwrap()
}

fn client() -> XAuth {
    client_with("memory")
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

/// Writes a pending sign-in as `signIn()` would, with a chosen age.
fn write_pending(state: &str, verifier: &str, created_at: f64) {
    let record = Object::new();
    Reflect::set(&record, &"state".into(), &state.into()).unwrap();
    Reflect::set(&record, &"verifier".into(), &verifier.into()).unwrap();
    Reflect::set(&record, &"createdAt".into(), &created_at.into()).unwrap();
    let json = JSON::stringify(&record).unwrap().as_string().unwrap();
    storage().set_item(PENDING_KEY, &json).unwrap();
}

const STATE: &str = "st4te-from-the-test";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn fresh_pending() {
    write_pending(STATE, VERIFIER, js_sys::Date::now());
}

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
    /// The `X-XAuth` header (worker custody's CSRF check).
    xauth: Option<String>,
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
                    xauth: headers.get("x-xauth") ?? undefined,
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
                xauth: get_str(&request, "xauth"),
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

/// Asserts the one request sent was the code exchange, with exactly this body.
fn assert_exchange_request(fetch: &FakeFetch, code: &str, verifier: &str) {
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let request = &seen[0];
    assert_eq!(request.url, format!("{ENDPOINT}/twitter-access-token"));
    assert_eq!(request.method, "POST");
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let body = request.body.as_ref().expect("a JSON body");
    let mut keys: Vec<String> = Reflect::own_keys(body)
        .unwrap()
        .iter()
        .map(|key| key.as_string().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["code", "codeVerifier", "redirectUri"]);
    assert_eq!(get_str(body, "code").as_deref(), Some(code));
    assert_eq!(get_str(body, "codeVerifier").as_deref(), Some(verifier));
    assert_eq!(get_str(body, "redirectUri").as_deref(), Some(REDIRECT_URI));
}

// ---- starting a sign-in ---------------------------------------------------------------

#[wasm_bindgen_test]
fn sign_in_url_stores_the_pending_entry_and_builds_the_link() {
    reset();
    let before = js_sys::Date::now();
    let link = client().sign_in_url().unwrap();
    let url = get_str(&link, "url").unwrap();
    let state = get_str(&link, "state").unwrap();

    // The pending entry, under the namespaced key.
    let pending = parse_json(&stored(PENDING_KEY).expect("a pending sign-in is stored"));
    assert_eq!(get_str(&pending, "state").as_deref(), Some(state.as_str()));
    let verifier = get_str(&pending, "verifier").unwrap();
    let verifier = PkceCodeVerifier::parse(&verifier).expect("a valid RFC 7636 verifier");
    let created_at = get(&pending, "createdAt").as_f64().unwrap();
    assert!(created_at >= before && created_at <= js_sys::Date::now());

    // The link: X's parameters, the challenge being S256 of the stored verifier.
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
}

#[wasm_bindgen_test]
fn each_sign_in_gets_fresh_secrets_and_replaces_the_pending_one() {
    reset();
    let xauth = client();
    let first = get_str(&xauth.sign_in_url().unwrap(), "state").unwrap();
    let first_verifier = get_str(&parse_json(&stored(PENDING_KEY).unwrap()), "verifier");
    let second = get_str(&xauth.sign_in_url().unwrap(), "state").unwrap();
    let pending = parse_json(&stored(PENDING_KEY).unwrap());
    assert_ne!(first, second);
    assert_eq!(get_str(&pending, "state"), Some(second));
    assert_ne!(get_str(&pending, "verifier"), first_verifier);
}

#[wasm_bindgen_test]
fn is_callback_needs_state_and_code_or_error() {
    let xauth = client();
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
    ] {
        assert_eq!(xauth.is_callback(Some(url.into())), expected, "{url:?}");
    }
}

#[wasm_bindgen_test]
fn invalid_options_throw_invalid_options() {
    let good = [
        ("clientId", CLIENT_ID),
        ("redirectUri", REDIRECT_URI),
        ("scopes", SCOPES),
    ];
    assert!(XAuth::new(&options(&good)).is_ok());
    let defaults = XAuth::new(&options(&good)).unwrap();
    assert_eq!(defaults.storage(), "memory");
    let link = get_str(&defaults.sign_in_url().unwrap(), "url").unwrap();
    assert!(link.starts_with("https://x.com/i/oauth2/authorize?response_type=code&"));

    let cases: [&[(&str, &str)]; 7] = [
        &[("redirectUri", REDIRECT_URI), ("scopes", SCOPES)],
        &[
            ("clientId", ""),
            ("redirectUri", REDIRECT_URI),
            ("scopes", SCOPES),
        ],
        &[
            ("clientId", CLIENT_ID),
            ("redirectUri", "/callback"),
            ("scopes", SCOPES),
        ],
        &[
            ("clientId", CLIENT_ID),
            ("redirectUri", "https://a.example/cb#f"),
            ("scopes", SCOPES),
        ],
        &[
            ("clientId", CLIENT_ID),
            ("redirectUri", REDIRECT_URI),
            ("scopes", "tweet.read nope"),
        ],
        &[
            ("clientId", CLIENT_ID),
            ("redirectUri", REDIRECT_URI),
            ("scopes", SCOPES),
            ("authorizeUrl", "x.com"),
        ],
        &[
            ("clientId", CLIENT_ID),
            ("redirectUri", REDIRECT_URI),
            ("scopes", SCOPES),
            ("storage", "cookies"),
        ],
    ];
    for fields in cases {
        let error = XAuth::new(&options(fields)).unwrap_err();
        assert_eq!(code(&error), "invalid_options", "{fields:?}");
    }
    assert_eq!(
        code(&XAuth::new(&JsValue::UNDEFINED.unchecked_into()).unwrap_err()),
        "invalid_options"
    );
    let mut xauth = client();
    assert_eq!(
        code(&xauth.set_storage("cookies").unwrap_err()),
        "invalid_options"
    );
    assert_eq!(xauth.storage(), "memory");
}

// ---- the callback: success --------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_callback_exchanges_the_code_and_the_pending_entry_is_single_use() {
    reset();
    let xauth = client();
    let state = get_str(&xauth.sign_in_url().unwrap(), "state").unwrap();
    let verifier = get_str(&parse_json(&stored(PENDING_KEY).unwrap()), "verifier").unwrap();
    let url = callback_url(&format!("state={state}&code=the%2Bcode"));
    assert!(xauth.is_callback(Some(url.clone())));

    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let session = settle(xauth.handle_callback(Some(url.clone())))
        .await
        .unwrap();
    assert_exchange_request(&fetch, "the+code", &verifier);
    assert_eq!(stored(PENDING_KEY), None, "the pending entry is deleted");

    // The session, as JavaScript sees it.
    assert!(session.is_instance_of::<Object>());
    assert_eq!(
        get_str(&session, "accessToken").as_deref(),
        Some("AT-secret-1")
    );
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

    // Single use: the same callback again finds nothing pending and sends nothing.
    let again = rejection(xauth.handle_callback(Some(url))).await;
    assert_eq!(code(&again), "no_pending_sign_in");
    assert_eq!(get_str(&again, "reason").as_deref(), Some("missing"));
    assert_eq!(fetch.seen().len(), 1);
}

#[wasm_bindgen_test]
async fn a_session_without_user_or_expiry_has_them_undefined() {
    reset();
    fresh_pending();
    let _fetch = FakeFetch::answer(200, r#"{"access_token":"AT-2","token_type":"bearer"}"#);
    let session =
        settle(client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await
            .unwrap();
    assert_eq!(get_str(&session, "accessToken").as_deref(), Some("AT-2"));
    assert!(get(&session, "expiresAt").is_undefined());
    assert!(get(&session, "scope").is_undefined());
    assert!(get(&session, "user").is_undefined());
}

#[wasm_bindgen_test]
async fn the_callback_query_is_removed_from_the_address_bar() {
    reset();
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    fresh_pending();
    history
        .push_state_with_url(
            &JsValue::NULL,
            "",
            Some(&format!(
                "/signed-in/page?tab=2&state={STATE}&code=c0de&iss=x#section"
            )),
        )
        .unwrap();
    let xauth = client();
    assert!(xauth.is_callback(None));

    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let outcome = settle(xauth.handle_callback(None)).await;
    let location = window.location();
    let (path, search, hash) = (
        location.pathname().unwrap(),
        location.search().unwrap(),
        location.hash().unwrap(),
    );
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&original))
        .unwrap();

    outcome.unwrap();
    assert_exchange_request(&fetch, "c0de", VERIFIER);
    assert_eq!(path, "/signed-in/page");
    assert_eq!(search, "?tab=2");
    assert_eq!(hash, "#section");
}

#[wasm_bindgen_test]
async fn a_refused_callback_is_removed_from_the_address_bar_too() {
    reset();
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    fresh_pending();
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/cb?state=forged&code=c0de"))
        .unwrap();
    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let error = rejection(client().handle_callback(None)).await;
    let (path, search) = (
        window.location().pathname().unwrap(),
        window.location().search().unwrap(),
    );
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&original))
        .unwrap();
    assert_eq!(code(&error), "state_mismatch");
    assert_eq!((path.as_str(), search.as_str()), ("/cb", ""));
    assert!(fetch.seen().is_empty(), "{:?}", fetch.seen());
}

// ---- storage modes -----------------------------------------------------------------------

#[wasm_bindgen_test]
async fn memory_mode_writes_no_token_to_session_storage() {
    reset();
    fresh_pending();
    let xauth = client();
    let _fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let session =
        settle(xauth.handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await
            .unwrap();
    assert_eq!(
        get_str(&session, "accessToken").as_deref(),
        Some("AT-secret-1")
    );
    assert_eq!(stored(SESSION_KEY), None);
    for value in all_stored_values() {
        assert!(
            !value.contains("AT-secret") && !value.contains("RT-secret"),
            "a token in sessionStorage: {value}"
        );
    }
    assert!(xauth.restore_session().is_none());
}

#[wasm_bindgen_test]
async fn session_mode_persists_and_restore_session_reads_it() {
    reset();
    fresh_pending();
    let xauth = client_with("session");
    assert_eq!(xauth.storage(), "session");
    let _fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    settle(xauth.handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
        .await
        .unwrap();
    let record = stored(SESSION_KEY).expect("the session is stored");
    assert!(record.contains("AT-secret-1"));

    // A reload: a new client finds it.
    let reloaded = client_with("session");
    let session = reloaded.restore_session().expect("a stored session");
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
    let debug = format!("{session:?} {reloaded:?}");
    assert!(
        !debug.contains("AT-secret") && !debug.contains("RT-secret"),
        "{debug}"
    );

    // Memory mode neither reads it nor keeps it.
    assert!(client_with("memory").restore_session().is_none());
    assert!(stored(SESSION_KEY).is_some());
    let mut switched = client_with("session");
    switched.set_storage("memory").unwrap();
    assert_eq!(switched.storage(), "memory");
    assert_eq!(
        stored(SESSION_KEY),
        None,
        "choosing memory forgets the stored session"
    );
    assert!(client_with("session").restore_session().is_none());
}

#[wasm_bindgen_test]
fn a_corrupt_stored_session_is_dropped() {
    reset();
    for junk in ["not json", "{}", r#"{"access_token":""}"#, "42"] {
        storage().set_item(SESSION_KEY, junk).unwrap();
        assert!(client_with("session").restore_session().is_none(), "{junk}");
        assert_eq!(stored(SESSION_KEY), None, "{junk}");
    }
}

// ---- the callback: every error -------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_state_mismatch_is_refused_and_consumes_the_pending_entry() {
    reset();
    fresh_pending();
    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let xauth = client();
    let error = rejection(xauth.handle_callback(Some(callback_url("state=forged&code=c")))).await;
    assert_eq!(code(&error), "state_mismatch");
    assert_eq!(stored(PENDING_KEY), None, "consumed");
    assert!(fetch.seen().is_empty(), "no code is exchanged");
    // The right state afterwards is too late: the pending entry is gone.
    let error =
        rejection(xauth.handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await;
    assert_eq!(code(&error), "no_pending_sign_in");
}

#[wasm_bindgen_test]
async fn access_denied_carries_xs_description_and_deletes_the_pending_entry() {
    reset();
    fresh_pending();
    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let url = callback_url(&format!(
        "error=access_denied&error_description=The+user+denied+access%21&state={STATE}"
    ));
    let error = rejection(client().handle_callback(Some(url))).await;
    assert_eq!(code(&error), "access_denied");
    assert_eq!(
        get_str(&error, "description").as_deref(),
        Some("The user denied access!")
    );
    assert!(
        get_str(&error, "message")
            .unwrap()
            .contains("The user denied access!")
    );
    assert_eq!(stored(PENDING_KEY), None);
    assert!(fetch.seen().is_empty());
}

#[wasm_bindgen_test]
async fn every_other_callback_refusal_has_its_code() {
    for (query, expected) in [
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
        reset();
        fresh_pending();
        let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
        let error = rejection(client().handle_callback(Some(callback_url(&query)))).await;
        assert_eq!(code(&error), expected, "{query}");
        assert_eq!(stored(PENDING_KEY), None, "{query}");
        assert!(fetch.seen().is_empty(), "{query}");
    }
}

#[wasm_bindgen_test]
async fn no_pending_sign_in_when_nothing_was_started() {
    reset();
    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let error =
        rejection(client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await;
    assert_eq!(code(&error), "no_pending_sign_in");
    assert_eq!(get_str(&error, "reason").as_deref(), Some("missing"));
    assert!(fetch.seen().is_empty());

    // An unreadable entry counts as none, and is deleted.
    for junk in [
        "{",
        r#"{"state":"s"}"#,
        r#"{"state":"s","verifier":"short","createdAt":1}"#,
    ] {
        storage().set_item(PENDING_KEY, junk).unwrap();
        let error = rejection(client().handle_callback(Some(callback_url("state=s&code=c")))).await;
        assert_eq!(code(&error), "no_pending_sign_in", "{junk}");
        assert_eq!(stored(PENDING_KEY), None, "{junk}");
    }
}

#[wasm_bindgen_test]
async fn a_pending_entry_older_than_ten_minutes_has_expired() {
    let now = js_sys::Date::now();
    for (age_ms, expired) in [
        (11.0 * 60_000.0, true),
        (24.0 * 3_600_000.0, true),
        (-3_600_000.0, true), // from the future: not trusted forever
        (9.0 * 60_000.0, false),
    ] {
        reset();
        write_pending(STATE, VERIFIER, now - age_ms);
        let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
        let outcome =
            settle(client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
                .await;
        assert_eq!(stored(PENDING_KEY), None, "consumed either way ({age_ms})");
        if expired {
            let error = outcome.unwrap_err();
            assert_eq!(code(&error), "no_pending_sign_in", "{age_ms}");
            assert_eq!(get_str(&error, "reason").as_deref(), Some("expired"));
            assert!(get_str(&error, "message").unwrap().contains("10 minutes"));
            assert!(fetch.seen().is_empty());
        } else {
            outcome.unwrap();
            assert_exchange_request(&fetch, "c", VERIFIER);
        }
    }
}

#[wasm_bindgen_test]
async fn a_worker_error_is_exchange_failed_with_its_kind_and_status() {
    for (status, body, kind, error_code) in [
        (
            400,
            r#"{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid.","kind":"reauthorize"}"#,
            "reauthorize",
            Some("invalid_request"),
        ),
        (
            401,
            r#"{"error":"unauthorized_client","error_description":"Missing valid authorization header","kind":"misconfigured"}"#,
            "misconfigured",
            Some("unauthorized_client"),
        ),
        (
            429,
            r#"{"error":"too_many_requests","error_description":"Slow down.","kind":"transient"}"#,
            "transient",
            Some("too_many_requests"),
        ),
        // No `kind` (the worker's own input checks) or no JSON at all (a proxy): guessed.
        (
            400,
            r#"{"error":"invalid_request","error_description":"codeVerifier must be ..."}"#,
            "misconfigured",
            Some("invalid_request"),
        ),
        (502, "<html>Bad gateway</html>", "transient", None),
    ] {
        reset();
        fresh_pending();
        let fetch = FakeFetch::answer(status, body);
        let error = rejection(
            client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))),
        )
        .await;
        assert_eq!(code(&error), "exchange_failed", "{body}");
        assert_eq!(get_str(&error, "kind").as_deref(), Some(kind), "{body}");
        assert_eq!(get(&error, "status").as_f64(), Some(f64::from(status)));
        assert_eq!(get_str(&error, "error").as_deref(), error_code);
        assert_exchange_request(&fetch, "c", VERIFIER);
        assert_eq!(stored(PENDING_KEY), None);
        assert_eq!(stored(SESSION_KEY), None);
    }
}

#[wasm_bindgen_test]
async fn an_unreachable_worker_is_a_network_error() {
    reset();
    fresh_pending();
    let fetch = FakeFetch::unreachable();
    let error =
        rejection(client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await;
    assert_eq!(code(&error), "network_error");
    assert_exchange_request(&fetch, "c", VERIFIER);
    assert_eq!(stored(PENDING_KEY), None);
}

#[wasm_bindgen_test]
async fn a_success_without_an_access_token_is_an_invalid_response() {
    for body in ["not json", "{}", r#"{"access_token":""}"#, "[1]"] {
        reset();
        fresh_pending();
        let _fetch = FakeFetch::answer(200, body);
        let error = rejection(
            client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))),
        )
        .await;
        assert_eq!(code(&error), "invalid_response", "{body}");
    }
}

// ---- fromWorker ----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn from_worker_gets_the_config_from_the_endpoint() {
    reset();
    let fetch = FakeFetch::answer(200, &worker_config());
    // A trailing slash on the endpoint is dropped.
    let xauth = settle(XAuth::from_worker(
        Some(format!("{ENDPOINT}/")),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    assert_eq!(get_str(&xauth, "storage").as_deref(), Some("memory"));
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-config"));
    assert_eq!(seen[0].method, "GET");
    assert!(seen[0].body.is_none());

    // Without an endpoint: this page's origin.
    let fetch = FakeFetch::answer(200, &worker_config());
    settle(XAuth::from_worker(None, JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(fetch.seen()[0].url, "/twitter-config");
}

/// The worker's `/twitter-config` answer.
fn worker_config() -> String {
    format!(
        r#"{{"clientId":"cid-from-worker","authorizeUrl":"{AUTHORIZE_URL}","redirectUri":"{REDIRECT_URI}","scopes":"users.read tweet.read"}}"#
    )
}

#[wasm_bindgen_test]
async fn from_worker_builds_links_and_exchanges_through_that_worker() {
    reset();
    let fetch = FakeFetch::answer(200, &worker_config());
    let xauth = settle(XAuth::from_worker(
        Some(ENDPOINT.into()),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    let sign_in_url: Function = get(&xauth, "signInUrl").unchecked_into();
    let link = sign_in_url.call0(&xauth).unwrap();
    let url = get_str(&link, "url").unwrap();
    assert!(url.starts_with(&format!(
        "{AUTHORIZE_URL}?response_type=code&client_id=cid-from-worker&"
    )));
    assert!(url.contains("&scope=tweet.read%20users.read&"));
    drop(fetch);

    let state = get_str(&link, "state").unwrap();
    let fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    let handle: Function = get(&xauth, "handleCallback").unchecked_into();
    let promise: Promise = handle
        .call1(
            &xauth,
            &callback_url(&format!("state={state}&code=c")).into(),
        )
        .unwrap()
        .unchecked_into();
    settle(promise).await.unwrap();
    assert_eq!(
        fetch.seen()[0].url,
        format!("{ENDPOINT}/twitter-access-token")
    );
}

#[wasm_bindgen_test]
async fn from_worker_failures_have_codes() {
    for (status, body, expected) in [
        (
            500,
            r#"{"error":"server_misconfigured","error_description":"The worker's TWITTER_CLIENT_ID is missing.","kind":"misconfigured"}"#,
            "config_failed",
        ),
        (200, "not json", "invalid_response"),
        (
            200,
            r#"{"clientId":"c","redirectUri":"/relative","scopes":"tweet.read"}"#,
            "invalid_response",
        ),
        (0, "", "network_error"),
    ] {
        let _fetch = FakeFetch::answer(status, body);
        let error = rejection(XAuth::from_worker(None, JsValue::UNDEFINED)).await;
        assert_eq!(code(&error), expected, "{body}");
        if expected == "config_failed" {
            assert_eq!(get_str(&error, "kind").as_deref(), Some("misconfigured"));
            assert_eq!(get(&error, "status").as_f64(), Some(500.0));
        }
    }
}

// ---- signing out ---------------------------------------------------------------------------

/// A signed-in session in storage mode "session", through the real callback path.
async fn signed_in(answer: &str) -> JsValue {
    reset();
    fresh_pending();
    let _fetch = FakeFetch::answer(200, answer);
    let session = settle(
        client_with("session")
            .handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))),
    )
    .await
    .unwrap();
    assert!(stored(SESSION_KEY).is_some());
    session
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
    let session = signed_in(TOKEN_ANSWER).await;
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    let outcome = settle(sign_out(&session)).await.unwrap();
    assert!(outcome.is_undefined());
    assert_revoke_request(&fetch, "RT-secret-1", "refresh_token");
    assert_eq!(stored(SESSION_KEY), None);
    assert_eq!(get_str(&session, "accessToken").as_deref(), Some(""));
    assert!(client_with("session").restore_session().is_none());
    // Twice: nothing left to revoke.
    settle(sign_out(&session)).await.unwrap();
    assert_eq!(fetch.seen().len(), 1);
}

#[wasm_bindgen_test]
async fn sign_out_without_a_refresh_token_revokes_the_access_token() {
    let session = signed_in(r#"{"access_token":"AT-only","token_type":"bearer"}"#).await;
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    settle(sign_out(&session)).await.unwrap();
    assert_revoke_request(&fetch, "AT-only", "access_token");
}

#[wasm_bindgen_test]
async fn a_failed_revoke_rejects_after_clearing() {
    let session = signed_in(TOKEN_ANSWER).await;
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

    let session = signed_in(TOKEN_ANSWER).await;
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
    let session: Session = client_with("session").restore_session().unwrap();
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

// ---- the token keeper (the refresh paths run against the real worker in keeper_e2e.rs) ----

/// An object from JSON, for options that mix strings, numbers and functions.
fn js_object(json: &str) -> Object {
    parse_json(json).unchecked_into()
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

fn client_with_hooks(extra: &str) -> XAuth {
    let options = js_object(&format!(
        r#"{{"clientId":"{CLIENT_ID}","redirectUri":"{REDIRECT_URI}","scopes":"{SCOPES}",
            "endpoint":"{ENDPOINT}","storage":"local","autoRefresh":false{extra}}}"#
    ));
    for hook in ["onTokenUpdate", "onTokenRefreshError", "onSignedOut"] {
        Reflect::set(&options, &hook.into(), &recorder(hook)).unwrap();
    }
    XAuth::new(options.unchecked_ref()).unwrap()
}

#[wasm_bindgen_test]
fn session_options_are_checked() {
    for extra in [
        r#"{"refreshSkewSeconds":-1}"#,
        r#"{"refreshSkewSeconds":"60"}"#,
        r#"{"refreshOn403":"yes"}"#,
        r#"{"autoRefresh":1}"#,
        r#"{"onTokenUpdate":"persist"}"#,
        r#"{"onSignedOut":{}}"#,
        r#"{"storage":"cookie"}"#,
    ] {
        let options = js_object(&format!(
            r#"{{"clientId":"{CLIENT_ID}","redirectUri":"{REDIRECT_URI}","scopes":"{SCOPES}"}}"#
        ));
        Object::assign(&options, &js_object(extra));
        let error = XAuth::new(options.unchecked_ref()).unwrap_err();
        assert_eq!(code(&error), "invalid_options", "{extra}");
    }
    let fine = js_object(&format!(
        r#"{{"clientId":"{CLIENT_ID}","redirectUri":"{REDIRECT_URI}","scopes":"{SCOPES}",
            "storage":"local","refreshSkewSeconds":0,"refreshOn403":true,"autoRefresh":false}}"#
    ));
    assert_eq!(XAuth::new(fine.unchecked_ref()).unwrap().storage(), "local");
}

#[wasm_bindgen_test]
async fn the_sign_in_hands_the_first_tokens_to_on_token_update() {
    reset();
    forget_recorded();
    let xauth = client_with_hooks("");
    let state = get_str(&xauth.sign_in_url().unwrap(), "state").unwrap();
    let _fetch = FakeFetch::answer(200, TOKEN_ANSWER);
    settle(xauth.handle_callback(Some(callback_url(&format!("state={state}&code=c")))))
        .await
        .unwrap();
    let updates = recorded("onTokenUpdate");
    assert_eq!(updates.len(), 1);
    let tokens = &updates[0];
    assert_eq!(
        get_str(tokens, "accessToken").as_deref(),
        Some("AT-secret-1")
    );
    assert_eq!(
        get_str(tokens, "refreshToken").as_deref(),
        Some("RT-secret-1")
    );
    assert_expires_in_two_hours(get(tokens, "expiresAt").as_f64());
    assert_eq!(get_str(tokens, "scope").as_deref(), Some(SCOPES));
    // storage "local": shared with the origin's other tabs.
    let stored = local_storage().get_item(SESSION_KEY).unwrap().unwrap();
    assert!(stored.contains("RT-secret-1"), "{stored}");
}

#[wasm_bindgen_test]
async fn resume_session_takes_what_on_token_update_gave() {
    reset();
    forget_recorded();
    let xauth = client_with_hooks("");
    let error = xauth
        .resume_session(
            js_object(r#"{"refreshToken":"RT"}"#).into(),
            JsValue::UNDEFINED,
        )
        .unwrap_err();
    assert_eq!(code(&error), "invalid_options");

    let session = xauth
        .resume_session(
            js_object(
                r#"{"accessToken":"AT-kept","refreshToken":"RT-kept","expiresAt":1900000000}"#,
            )
            .into(),
            js_object(r#"{"id":"42","name":"Ada","username":"ada"}"#).into(),
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
    let restored = xauth.restore_session().unwrap();
    assert_eq!(restored.access_token(), "AT-kept");
}

#[wasm_bindgen_test]
async fn session_fetch_refuses_what_is_not_an_x_api_call_and_sends_nothing() {
    reset();
    let session = client_with_hooks("")
        .resume_session(
            js_object(r#"{"accessToken":"AT","expiresAt":1900000000}"#).into(),
            JsValue::UNDEFINED,
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
    let session = client_with_hooks("")
        .resume_session(
            js_object(r#"{"accessToken":"AT-send","expiresAt":1900000000}"#).into(),
            JsValue::UNDEFINED,
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
    let session = client_with_hooks("")
        .resume_session(
            js_object(r#"{"accessToken":"AT-out","refreshToken":"RT-out","expiresAt":1900000000}"#)
                .into(),
            JsValue::UNDEFINED,
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
    let session = client_with_hooks("")
        .resume_session(
            js_object(r#"{"accessToken":"AT-ada","refreshToken":"RT-ada","expiresAt":1900000000}"#)
                .into(),
            js_object(r#"{"id":"42","name":"Ada","username":"ada"}"#).into(),
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
    let session = client_with_hooks("")
        .resume_session(
            js_object(r#"{"accessToken":"AT-1","refreshToken":"RT-1","expiresAt":1900000000}"#)
                .into(),
            js_object(r#"{"id":"42","name":"Ada","username":"ada"}"#).into(),
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
    let xauth = client_with_hooks("");
    let ada = xauth
        .resume_session(
            js_object(r#"{"accessToken":"AT-ada","refreshToken":"RT-ada","expiresAt":1900000000}"#)
                .into(),
            js_object(r#"{"id":"42","name":"Ada","username":"ada"}"#).into(),
        )
        .unwrap();
    let fetch = FakeFetch::answer(200, r#"{"revoked":true}"#);
    // Another sign-in (here in the same page; another tab hears the same on the channel).
    let bob = xauth
        .resume_session(
            js_object(r#"{"accessToken":"AT-bob","refreshToken":"RT-bob","expiresAt":1900000000}"#)
                .into(),
            js_object(r#"{"id":"7","name":"Bob","username":"bob"}"#).into(),
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
    fresh_pending();
    // The worker's clock says two hours from its now; this browser's clock is 3 h ahead.
    let answer = format!(
        r#"{{"access_token":"AT-c","token_type":"bearer","expires_in":7200,
            "expires_at":{},"refresh_token":"RT-c","scope":"{SCOPES}"}}"#,
        real_now_secs + 7200.0
    );
    let fetch = FakeFetch::answer(200, &answer);
    let session =
        settle(client().handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))))
            .await
            .unwrap();
    let left = get(&session, "expiresAt").as_f64().unwrap() - js_sys::Date::now() / 1000.0;
    assert!((7_190.0..=7_201.0).contains(&left), "expires in {left} s");

    // Fresh, so a call sends it as it is.
    settle(call(&session, "fetch", &["/2/users/me"]))
        .await
        .unwrap();
    let urls: Vec<String> = fetch.seen().into_iter().map(|seen| seen.url).collect();
    assert_eq!(
        urls,
        [
            format!("{ENDPOINT}/twitter-access-token"),
            format!("{ENDPOINT}/twitter-api/2/users/me"),
        ]
    );
}

#[wasm_bindgen_test]
async fn tokens_stale_on_arrival_are_refreshed_at_most_once_per_interval() {
    reset();
    forget_recorded();
    // A skew longer than the tokens live (two hours): every token is stale the moment it
    // arrives.
    let expires_at = (js_sys::Date::now() / 1000.0).floor() + 7200.0;
    let session = client_with_hooks(r#","refreshSkewSeconds":100000"#)
        .resume_session(
            js_object(&format!(
                r#"{{"accessToken":"AT-1","refreshToken":"RT-1","expiresAt":{expires_at}}}"#
            ))
            .into(),
            JsValue::UNDEFINED,
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
        fresh_pending();
        let _fetch = FakeFetch::answer(200, TOKEN_ANSWER);
        let session = settle(
            client_with(kind).handle_callback(Some(callback_url(&format!("state={STATE}&code=c")))),
        )
        .await
        .unwrap();
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

// ---- OAuth 1.0a -------------------------------------------------------------------------

fn oauth1_options(fields: &[(&str, &str)]) -> Option<Object> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &(*key).into(), &(*value).into()).unwrap();
    }
    Some(object)
}

/// The one request sent: its URL, and its JSON body's fields, sorted.
fn one_request(fetch: &FakeFetch, path: &str) -> (String, Vec<(String, String)>) {
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let request = &seen[0];
    assert_eq!(request.url, format!("{ENDPOINT}/twitter-oauth1/{path}"));
    // The worker's HttpOnly cookies go along (same origin only).
    assert_eq!(request.credentials.as_deref(), Some("same-origin"));
    let mut fields: Vec<(String, String)> = match &request.body {
        Some(body) => Reflect::own_keys(body)
            .unwrap()
            .iter()
            .map(|key| {
                let key = key.as_string().unwrap();
                let value = get(body, &key);
                (
                    key,
                    value.as_string().unwrap_or_else(|| format!("{value:?}")),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    fields.sort();
    (request.method.clone(), fields)
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const STARTED: &str =
    r#"{"url":"https://x.test/oauth/authorize?oauth_token=rt-1","oauthToken":"rt-1"}"#;
const SIGNED_IN: &str = r#"{"userId":"2244994945","screenName":"xauthdemo","extra":"dropped"}"#;

#[wasm_bindgen_test]
async fn oauth1_sign_in_url_posts_the_callback_and_link_mode() {
    let fetch = FakeFetch::answer(200, STARTED);
    let link = settle(client().oauth1_sign_in_url(None)).await.unwrap();
    assert_eq!(get_str(&link, "oauthToken").as_deref(), Some("rt-1"));
    assert_eq!(
        get_str(&link, "url").as_deref(),
        Some("https://x.test/oauth/authorize?oauth_token=rt-1")
    );
    let (method, body) = one_request(&fetch, "request-token");
    assert_eq!(method, "POST");
    assert_eq!(body, pairs(&[("callback", REDIRECT_URI)]));

    let fetch = FakeFetch::answer(200, STARTED);
    let options = oauth1_options(&[("callback", "oob"), ("linkMode", "authorize")]);
    settle(client().oauth1_sign_in_url(options)).await.unwrap();
    let (_, body) = one_request(&fetch, "request-token");
    assert_eq!(
        body,
        pairs(&[("callback", "oob"), ("linkMode", "authorize")])
    );
    // Nothing of OAuth 1.0a is kept in the page's storage.
    assert!(all_stored_values().iter().all(|v| !v.contains("rt-1")));
}

#[wasm_bindgen_test]
async fn oauth1_request_token_failures_have_codes() {
    let _fetch = FakeFetch::answer(
        500,
        r#"{"error":"server_misconfigured","error_description":"TWITTER_CONSUMER_KEY is missing.","kind":"misconfigured"}"#,
    );
    let error = rejection(client().oauth1_sign_in_url(None)).await;
    assert_eq!(code(&error), "request_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("misconfigured"));
    assert_eq!(get(&error, "status").as_f64(), Some(500.0));
    assert_eq!(
        get_str(&error, "error").as_deref(),
        Some("server_misconfigured")
    );

    let _fetch = FakeFetch::answer(200, r#"{"nothing":1}"#);
    let error = rejection(client().oauth1_sign_in_url(None)).await;
    assert_eq!(code(&error), "invalid_response");

    let _fetch = FakeFetch::unreachable();
    let error = rejection(client().oauth1_sign_in_url(None)).await;
    assert_eq!(code(&error), "network_error");
}

#[wasm_bindgen_test]
fn is_oauth1_callback_needs_token_and_verifier_or_denied() {
    let xauth = client();
    assert!(xauth.is_oauth1_callback(Some(callback_url("oauth_token=t&oauth_verifier=v"))));
    assert!(xauth.is_oauth1_callback(Some(callback_url("denied=t"))));
    assert!(!xauth.is_oauth1_callback(Some(callback_url("oauth_token=t"))));
    assert!(!xauth.is_oauth1_callback(Some(callback_url("oauth_verifier=v"))));
    assert!(!xauth.is_oauth1_callback(Some(callback_url("state=s&code=c"))));
    assert!(!xauth.is_oauth1_callback(Some(format!(
        "{REDIRECT_URI}#oauth_token=t&oauth_verifier=v"
    ))));
    assert!(!xauth.is_callback(Some(callback_url("oauth_token=t&oauth_verifier=v"))));
}

#[wasm_bindgen_test]
async fn oauth1_callback_exchanges_the_verifier_and_cleans_the_address_bar() {
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    history
        .push_state_with_url(
            &JsValue::NULL,
            "",
            Some("/oauth1/page?tab=2&oauth_token=rt-1&oauth_verifier=v3r#top"),
        )
        .unwrap();
    let xauth = client();
    assert!(xauth.is_oauth1_callback(None));
    let fetch = FakeFetch::answer(200, SIGNED_IN);
    let outcome = settle(xauth.handle_oauth1_callback(None)).await;
    let location = window.location();
    let (path, search, hash) = (
        location.pathname().unwrap(),
        location.search().unwrap(),
        location.hash().unwrap(),
    );
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&original))
        .unwrap();

    let user = outcome.unwrap();
    assert_eq!(get_str(&user, "userId").as_deref(), Some("2244994945"));
    assert_eq!(get_str(&user, "screenName").as_deref(), Some("xauthdemo"));
    assert!(get(&user, "extra").is_undefined());
    let (method, body) = one_request(&fetch, "access-token");
    assert_eq!(method, "POST");
    assert_eq!(
        body,
        pairs(&[("oauthToken", "rt-1"), ("oauthVerifier", "v3r")])
    );
    assert_eq!(path, "/oauth1/page");
    assert_eq!(search, "?tab=2");
    assert_eq!(hash, "#top");
}

#[wasm_bindgen_test]
async fn oauth1_denied_callback_is_access_denied_and_cleaned() {
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/oauth1/page?denied=rt-1"))
        .unwrap();
    let fetch = FakeFetch::answer(
        400,
        r#"{"error":"access_denied","error_description":"The user did not authorize the app on X.","kind":"reauthorize"}"#,
    );
    let outcome = settle(client().handle_oauth1_callback(None)).await;
    let search = window.location().search().unwrap();
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&original))
        .unwrap();

    assert_eq!(code(&outcome.unwrap_err()), "access_denied");
    assert_eq!(search, "");
    // The worker is told, so it drops the pending sign-in.
    let (_, body) = one_request(&fetch, "access-token");
    assert_eq!(body, pairs(&[("denied", "rt-1"), ("oauthToken", "rt-1")]));
}

#[wasm_bindgen_test]
async fn oauth1_pin_and_worker_errors() {
    let fetch = FakeFetch::answer(200, SIGNED_IN);
    let user = settle(client().complete_oauth1_pin("rt-1".into(), " 1234567 ".into()))
        .await
        .unwrap();
    assert_eq!(get_str(&user, "screenName").as_deref(), Some("xauthdemo"));
    let (_, body) = one_request(&fetch, "access-token");
    assert_eq!(body, pairs(&[("oauthToken", "rt-1"), ("pin", "1234567")]));

    let _fetch = FakeFetch::answer(
        401,
        r#"{"error":"invalid_request","error_description":"The PIN is not valid.","kind":"reauthorize"}"#,
    );
    let error = rejection(client().complete_oauth1_pin("rt-1".into(), "1".into())).await;
    assert_eq!(code(&error), "exchange_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("reauthorize"));
    assert_eq!(get(&error, "status").as_f64(), Some(401.0));
    assert_eq!(get_str(&error, "error").as_deref(), Some("invalid_request"));

    let _fetch = FakeFetch::answer(502, "<html>Bad gateway</html>");
    let error = rejection(
        client().handle_oauth1_callback(Some(callback_url("oauth_token=t&oauth_verifier=v"))),
    )
    .await;
    assert_eq!(code(&error), "exchange_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("transient"));

    let _fetch = FakeFetch::answer(200, r#"{"userId":"1"}"#);
    let error = rejection(client().complete_oauth1_pin("rt-1".into(), "1".into())).await;
    assert_eq!(code(&error), "invalid_response");
}

#[wasm_bindgen_test]
async fn oauth1_session_and_sign_out() {
    let fetch = FakeFetch::answer(
        200,
        r#"{"signedIn":true,"userId":"2244994945","screenName":"xauthdemo"}"#,
    );
    let session = settle(client().oauth1_session()).await.unwrap();
    assert_eq!(get(&session, "signedIn").as_bool(), Some(true));
    assert_eq!(
        get_str(&session, "screenName").as_deref(),
        Some("xauthdemo")
    );
    let (method, body) = one_request(&fetch, "session");
    assert_eq!((method.as_str(), body.len()), ("GET", 0));

    let _fetch = FakeFetch::answer(200, r#"{"signedIn":false}"#);
    let session = settle(client().oauth1_session()).await.unwrap();
    assert_eq!(get(&session, "signedIn").as_bool(), Some(false));
    assert!(get(&session, "userId").is_undefined());

    let fetch = FakeFetch::answer(200, r#"{"signedOut":true}"#);
    let done = settle(client().oauth1_sign_out()).await.unwrap();
    assert!(done.is_undefined());
    let (method, body) = one_request(&fetch, "sign-out");
    assert_eq!((method.as_str(), body.len()), ("POST", 0));

    let _fetch = FakeFetch::answer(500, r#"{"error":"server_misconfigured"}"#);
    let error = rejection(client().oauth1_session()).await;
    assert_eq!(code(&error), "request_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("transient"));
}

// ---- worker custody ---------------------------------------------------------------------

/// The worker's answer to a code exchange in worker custody: no token.
const CUSTODY_ANSWER: &str = r#"{"user":{"id":"42","name":"Ada","username":"ada"},
    "scope":"tweet.read users.read offline.access","expiresAt":1900000000,"custody":"worker"}"#;

/// `object.method(...args)`, as JavaScript calls it.
fn call_js(object: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let function: Function = get(object, method).unchecked_into();
    let args: js_sys::Array = args.iter().collect();
    function.apply(object, &args).unwrap()
}

fn js_fetch(session: &JsValue, input: &str, init: JsValue) -> Promise {
    call_js(session, "fetch", &[input.into(), init]).unchecked_into()
}

fn is_signed_in(session: &JsValue) -> bool {
    get(session, "signedIn").as_bool().unwrap()
}

/// A worker-custody client (as `fromWorker` makes one from a worker in that mode) whose
/// hooks record what they are told.
fn custody_client() -> XAuth {
    client_with_hooks(r#","custody":"worker""#)
}

async fn custody_session(xauth: &XAuth) -> JsValue {
    fresh_pending();
    let _fetch = FakeFetch::answer(200, CUSTODY_ANSWER);
    let url = callback_url(&format!("state={STATE}&code=c"));
    settle(xauth.handle_callback(Some(url))).await.unwrap()
}

#[wasm_bindgen_test]
async fn worker_custody_sign_in_gives_a_session_without_tokens() {
    reset();
    forget_recorded();
    let xauth = custody_client();
    assert_eq!(xauth.custody(), "worker");
    let session = custody_session(&xauth).await;
    assert_eq!(get_str(&session, "custody").as_deref(), Some("worker"));
    assert!(get(&session, "accessToken").is_undefined());
    assert_eq!(get(&session, "signedIn").as_bool(), Some(true));
    assert_eq!(get(&session, "expiresAt").as_f64(), Some(1_900_000_000.0));
    assert_eq!(
        get_str(&get(&session, "user"), "username").as_deref(),
        Some("ada")
    );
    assert!(
        recorded("onTokenUpdate").is_empty(),
        "there are no tokens to hand over"
    );
    assert_eq!(local_storage().get_item(SESSION_KEY).unwrap(), None);
    assert_eq!(stored(SESSION_KEY), None);
    assert_eq!(stored(PENDING_KEY), None);
}

#[wasm_bindgen_test]
async fn worker_custody_fetch_sends_the_cookie_and_the_csrf_header_and_no_token() {
    reset();
    let xauth = custody_client();
    let session = custody_session(&xauth).await;
    let fetch = FakeFetch::answer(201, r#"{"data":{"id":"1"}}"#);
    let init = js_object(
        r#"{"method":"POST","headers":{"authorization":"Bearer leaked","content-type":"application/json"},"body":"{\"text\":\"hi\"}"}"#,
    );
    let response = settle(js_fetch(&session, "/2/tweets", init.into()))
        .await
        .unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(201.0));
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-api/2/tweets"));
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].credentials.as_deref(), Some("same-origin"));
    assert_eq!(seen[0].xauth.as_deref(), Some("1"));
    assert_eq!(seen[0].authorization, None, "no bearer token from the page");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    let error = rejection(js_fetch(
        &session,
        "https://evil.example/2/users/me",
        JsValue::UNDEFINED,
    ))
    .await;
    assert_eq!(code(&error), "invalid_request");
}

#[wasm_bindgen_test]
async fn worker_custody_no_session_ends_the_session_once() {
    reset();
    forget_recorded();
    let xauth = custody_client();
    let session = custody_session(&xauth).await;
    let fetch = FakeFetch::answer(
        401,
        r#"{"error":"no_session","error_description":"sign in again","kind":"reauthorize"}"#,
    );
    let error = rejection(js_fetch(&session, "/2/users/me", JsValue::UNDEFINED)).await;
    assert_eq!(code(&error), "request_failed");
    assert_eq!(get_str(&error, "kind").as_deref(), Some("reauthorize"));
    assert!(!is_signed_in(&session));
    let error = rejection(js_fetch(&session, "/2/users/me", JsValue::UNDEFINED)).await;
    assert_eq!(code(&error), "signed_out");
    assert_eq!(fetch.seen().len(), 1, "nothing sent after the end");
    let reasons: Vec<String> = recorded("onSignedOut")
        .iter()
        .map(|reason| reason.as_string().unwrap())
        .collect();
    assert_eq!(reasons, ["reauthorize"]);
    // X's own 401 (not the worker's no_session) is the app's answer, and ends nothing.
    let other = custody_session(&xauth).await;
    let _fetch = FakeFetch::answer(401, r#"{"error":"x_unauthorized","kind":"reauthorize"}"#);
    let response = settle(js_fetch(&other, "/2/users/me", JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(401.0));
    assert!(is_signed_in(&other));
}

#[wasm_bindgen_test]
async fn worker_custody_restore_session_asks_the_worker() {
    reset();
    let xauth = custody_client();
    let fetch = FakeFetch::answer(
        200,
        r#"{"signedIn":true,"user":{"id":"42","name":"Ada","username":"ada"},"scope":"tweet.read","custody":"worker"}"#,
    );
    let restored = xauth.restore_session_for_js();
    assert!(
        restored.is_instance_of::<Promise>(),
        "worker custody restores asynchronously"
    );
    let session = settle(restored.unchecked_into()).await.unwrap();
    assert_eq!(get_str(&session, "custody").as_deref(), Some("worker"));
    assert_eq!(get_str(&get(&session, "user"), "id").as_deref(), Some("42"));
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-session"));
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].xauth.as_deref(), Some("1"));
    assert_eq!(seen[0].credentials.as_deref(), Some("same-origin"));

    for (status, body) in [
        (200, r#"{"signedIn":false,"custody":"worker"}"#),
        (401, r#"{"error":"no_session","kind":"reauthorize"}"#),
    ] {
        let _fetch = FakeFetch::answer(status, body);
        let nobody = settle(xauth.restore_session_for_js().unchecked_into())
            .await
            .unwrap();
        assert!(nobody.is_undefined(), "{status} {body}");
    }
    let _fetch = FakeFetch::answer(500, r#"{"error":"server_misconfigured"}"#);
    let error = rejection(xauth.restore_session_for_js().unchecked_into()).await;
    assert_eq!(code(&error), "request_failed");
    // Browser custody restores synchronously, from storage.
    assert!(
        client_with("session")
            .restore_session_for_js()
            .is_undefined()
    );
}

#[wasm_bindgen_test]
async fn worker_custody_sign_out_ends_here_then_at_the_worker() {
    reset();
    forget_recorded();
    let xauth = custody_client();
    let session = custody_session(&xauth).await;
    let fetch = FakeFetch::answer(
        200,
        r#"{"signedOut":true,"grantEnded":true,"revoked":true}"#,
    );
    let options = js_object(r#"{"everywhere":true}"#);
    settle(call_js(&session, "signOut", &[options.into()]).unchecked_into())
        .await
        .unwrap();
    assert!(!is_signed_in(&session));
    let seen = fetch.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url, format!("{ENDPOINT}/twitter-sign-out"));
    assert_eq!(seen[0].xauth.as_deref(), Some("1"));
    assert_eq!(
        get(seen[0].body.as_ref().unwrap(), "everywhere").as_bool(),
        Some(true)
    );
    settle(sign_out(&session)).await.unwrap();
    assert_eq!(fetch.seen().len(), 1, "signed out once");
    let reasons: Vec<String> = recorded("onSignedOut")
        .iter()
        .map(|reason| reason.as_string().unwrap())
        .collect();
    assert_eq!(reasons, ["sign_out"]);

    // fromWorker learns the custody from the worker's configuration.
    let _fetch = FakeFetch::answer(
        200,
        &worker_config().replace("\"scopes\"", "\"custody\":\"worker\",\"scopes\""),
    );
    let from_worker = settle(XAuth::from_worker(
        Some(ENDPOINT.to_owned()),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    assert_eq!(get_str(&from_worker, "custody").as_deref(), Some("worker"));
}
