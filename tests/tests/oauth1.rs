//! The worker's OAuth 1.0a sign-in and app-only X API reads, in the real workerd runtime
//! (`wrangler dev`) against the X emulator over HTTP.
//!
//! The harness's checking client keeps cookies the way a browser does, and checks every
//! answer for the secrets, for `Cache-Control: no-store` and for
//! `Access-Control-Allow-Origin: *`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};

use std::sync::LazyLock;

use serde_json::{Value, json};
use xauth_tests::api::{Answer, Api};
use xauth_tests::{Emulator, EmulatorConfig, EmulatorOptions, Worker, random_vault_key};

const CLIENT_ID: &str = "xauth-test-client";
const CLIENT_SECRET: &str = "client-s3cret-never-leaks";
const CONSUMER_KEY: &str = "xauth-test-consumer";
/// Characters that need percent-encoding, as in the signing key (RFC 5849 §3.4.2).
const CONSUMER_SECRET: &str = "consumer-s3cret-never-leaks+/:%";
const CALLBACK: &str = "http://127.0.0.1:8787/callback";
const OTHER_CALLBACK: &str = "http://localhost:8787/oauth1";
const USER_ID: &str = "2244994945";
const SCREEN_NAME: &str = "xauthdemo";
/// The worker's own secret, which keys the OAuth 1.0a cookies.
static VAULT_KEY: LazyLock<String> = LazyLock::new(random_vault_key);

fn emulator_config() -> EmulatorConfig {
    let mut options = EmulatorOptions::default()
        .client(CLIENT_ID, Some(CLIENT_SECRET))
        .redirect_uris(&[CALLBACK, OTHER_CALLBACK]);
    options.config.consumer_key = CONSUMER_KEY.to_owned();
    options.config.consumer_secret = CONSUMER_SECRET.to_owned();
    options.config
}

fn emulator() -> Emulator {
    Emulator::start(EmulatorOptions {
        config: emulator_config(),
    })
}

/// The worker's variables for an emulator at `x_api_url`; tests change what they need.
fn worker_vars(x_api_url: &str) -> BTreeMap<&'static str, String> {
    let mut vars = xauth_tests::worker_vars(
        x_api_url,
        (CLIENT_ID, CLIENT_SECRET),
        &format!("{CALLBACK} {OTHER_CALLBACK}"),
        "tweet.read users.read",
    );
    vars.insert("TWITTER_CONSUMER_KEY", CONSUMER_KEY.to_owned());
    vars.insert("TWITTER_CONSUMER_SECRET", CONSUMER_SECRET.to_owned());
    vars.insert("XAUTH_VAULT_KEY", VAULT_KEY.clone());
    vars.insert("X_TIMEOUT_MS", "2000".to_owned());
    vars
}

/// Signs in with OAuth 1.0a through the worker (callback flow); the session cookie's value.
fn oauth1_sign_in(api: &Api, emulator: &Emulator) -> String {
    let started = request_token(api, &json!({}));
    let location = emulator.approve(started.str("url"));
    let verifier = xauth_tests::query_param(&location, "oauth_verifier").expect("a verifier");
    let signed_in = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": started.str("oauthToken"), "oauthVerifier": verifier }),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    api.cookie("xauth_oauth1_session")
        .expect("a session cookie")
}

/// The cookies are keyed by the worker's own secret, not by the consumer secret, which X
/// (and whoever else was given the app's API key and secret) knows: a cookie from a worker
/// with another vault key does not open, whatever the consumer secret.
#[test]
fn the_cookies_are_keyed_by_the_vault_key_not_the_consumer_secret() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(emulator.base_url()));
    let api = checking_client(&worker);
    let session = oauth1_sign_in(&api, &emulator);
    let started = request_token(&api, &json!({}));
    let pending = api.cookie("xauth_oauth1_pending").unwrap();
    assert_eq!(api.get("/twitter-oauth1/session").json["signedIn"], true);
    drop(worker);

    let mut vars = worker_vars(emulator.base_url());
    vars.insert("XAUTH_VAULT_KEY", random_vault_key());
    let other = Worker::start(&vars);
    let api = checking_client(&other);
    api.store_set_cookie(&format!("xauth_oauth1_session={session}; Path=/"));
    assert_eq!(
        api.get("/twitter-oauth1/session").json,
        json!({ "signedIn": false }),
        "same consumer secret, another vault key: the cookie does not open"
    );
    api.store_set_cookie(&format!(
        "xauth_oauth1_pending={pending}; Path=/twitter-oauth1"
    ));
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": started.str("oauthToken"), "oauthVerifier": "v" }),
    )
    .assert_error(400, "no_pending_sign_in", Some("reauthorize"));
    assert_eq!(
        emulator.stats()["oauth1_access_token"],
        1,
        "only the first sign-in"
    );
}

/// In worker custody the user's vault knows the OAuth 1.0a session: signing out ends it
/// there, so a copy of the cookie kept from before is worth nothing.
#[test]
fn in_worker_custody_sign_out_ends_the_oauth1_session_for_every_copy() {
    let emulator = emulator();
    let mut vars = worker_vars(emulator.base_url());
    vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    let session = oauth1_sign_in(&api, &emulator);
    assert_eq!(api.get("/twitter-oauth1/session").json["signedIn"], true);

    let out = api.post("/twitter-oauth1/sign-out", &json!({}));
    assert_eq!(out.json, json!({ "signedOut": true }));
    assert!(api.cookie("xauth_oauth1_session").is_none());

    // The copy kept from before sign-out.
    api.store_set_cookie(&format!("xauth_oauth1_session={session}; Path=/"));
    let after = api.get("/twitter-oauth1/session");
    assert_eq!(after.json, json!({ "signedIn": false }));
    assert!(
        after
            .set_cookie("xauth_oauth1_session")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "and the worker clears it"
    );
    // A new sign-in is a new session, which works.
    oauth1_sign_in(&api, &emulator);
    assert_eq!(api.get("/twitter-oauth1/session").json["signedIn"], true);
}

/// A checking client that fails on any of the test secrets in any answer.
fn checking_client(worker: &Worker) -> Api {
    Api::new(worker, &[CONSUMER_SECRET, CLIENT_SECRET, "s3cret"])
}

/// Starts a sign-in through the worker; checks the answer and the pending cookie.
fn request_token(api: &Api, body: &Value) -> Answer {
    let started = api.post("/twitter-oauth1/request-token", body);
    assert_eq!(started.status, 200, "{}", started.json);
    started.assert_fields(&["url", "oauthToken"]);
    let pending = started
        .set_cookie("xauth_oauth1_pending")
        .expect("the pending sign-in cookie");
    for attribute in [
        "Path=/twitter-oauth1",
        "Max-Age=600",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(pending.contains(attribute), "{attribute}: {pending}");
    }
    assert!(!pending.contains("Secure"), "http here: {pending}");
    assert!(
        !pending.contains(started.str("oauthToken")),
        "the cookie is sealed: {pending}"
    );
    started
}

/// The PIN on the emulator's page for an approved `oob` request token.
fn approve_for_pin(emulator_base: &str, url: &str) -> String {
    assert!(url.starts_with(emulator_base), "{url}");
    let page = reqwest::blocking::get(format!("{url}&decision=approve"))
        .unwrap()
        .text()
        .unwrap();
    let start = page.find("id=\"pin\">").expect("a #pin element") + "id=\"pin\">".len();
    let end = start + page[start..].find('<').unwrap();
    page[start..end].to_owned()
}

#[test]
fn callback_sign_in_keeps_the_tokens_in_a_sealed_cookie() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(emulator.base_url()));
    let api = checking_client(&worker);

    let before = api.get("/twitter-oauth1/session");
    assert_eq!(before.status, 200);
    assert_eq!(before.json, json!({ "signedIn": false }));

    // Step 1: a request token, for the default callback, with the "Sign in with X" link.
    let started = request_token(&api, &json!({}));
    let token = started.str("oauthToken").to_owned();
    assert_eq!(
        started.str("url"),
        format!(
            "{}/oauth/authenticate?oauth_token={token}",
            emulator.base_url()
        )
    );
    assert_eq!(emulator.stats()["oauth1_request_token"], 1);

    // Step 2: the user approves at X, which redirects to the callback.
    let location = emulator.approve(started.str("url"));
    assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
    assert_eq!(
        xauth_tests::query_param(&location, "oauth_token").as_deref(),
        Some(token.as_str())
    );
    let verifier = xauth_tests::query_param(&location, "oauth_verifier").expect("a verifier");
    let pending = api.cookie("xauth_oauth1_pending").unwrap();

    // Step 3: the page hands the callback's values to the worker, with the cookie.
    let signed_in = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "oauthVerifier": verifier }),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    signed_in.assert_fields(&["userId", "screenName"]);
    assert_eq!(signed_in.str("userId"), USER_ID);
    assert_eq!(signed_in.str("screenName"), SCREEN_NAME);
    assert_eq!(emulator.stats()["oauth1_access_token"], 1);
    let session = signed_in
        .set_cookie("xauth_oauth1_session")
        .expect("the session cookie");
    for attribute in ["Path=/;", "Max-Age=2592000", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{attribute}: {session}");
    }
    for plain in [USER_ID, SCREEN_NAME, &token] {
        assert!(!session.contains(plain), "the session is sealed: {session}");
    }
    let cleared = signed_in
        .set_cookie("xauth_oauth1_pending")
        .expect("the pending cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(api.cookie("xauth_oauth1_pending"), None);

    // The worker reads its session back.
    let now = api.get("/twitter-oauth1/session");
    assert_eq!(
        now.json,
        json!({ "signedIn": true, "userId": USER_ID, "screenName": SCREEN_NAME })
    );

    // The same step again: no pending sign-in is left in this browser.
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "oauthVerifier": verifier }),
    )
    .assert_error(400, "no_pending_sign_in", Some("reauthorize"));
    // A replayed old cookie: the request token is spent at X, which refuses it; the
    // worker clears the cookie.
    api.store_set_cookie(&format!(
        "xauth_oauth1_pending={pending}; Path=/twitter-oauth1; Max-Age=600"
    ));
    let replayed = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "oauthVerifier": verifier }),
    );
    replayed.assert_error(401, "could_not_authenticate", Some("reauthorize"));
    assert!(
        replayed
            .set_cookie("xauth_oauth1_pending")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(api.cookie("xauth_oauth1_pending"), None);
    assert_eq!(emulator.stats()["oauth1_access_token"], 2);

    // Sign-out forgets the session.
    let signed_out = api.post("/twitter-oauth1/sign-out", &json!({}));
    assert_eq!(signed_out.json, json!({ "signedOut": true }));
    assert!(
        signed_out
            .set_cookie("xauth_oauth1_session")
            .is_some_and(|c| c.contains("Max-Age=0") && c.contains("Path=/;"))
    );
    assert_eq!(
        api.get("/twitter-oauth1/session").json,
        json!({ "signedIn": false })
    );

    // The worker logged method, path and status, and no secret, token or verifier.
    let logs = worker.output();
    assert!(
        logs.contains("POST /twitter-oauth1/access-token 200"),
        "logs: {logs}"
    );
    for secret in [CONSUMER_SECRET, &token, &verifier, &pending] {
        assert!(!logs.contains(secret), "a secret is in the logs: {logs}");
    }
}

#[test]
fn pin_sign_in_link_modes_callbacks_and_returned_tokens() {
    let emulator = emulator();
    let mut vars = worker_vars(emulator.base_url());
    vars.insert("TWITTER_OAUTH1_RETURN_TOKENS", "true".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);

    // The PIN flow, with the always-prompting link.
    let started = request_token(&api, &json!({ "callback": "oob", "linkMode": "authorize" }));
    let token = started.str("oauthToken").to_owned();
    assert_eq!(
        started.str("url"),
        format!(
            "{}/oauth/authorize?oauth_token={token}",
            emulator.base_url()
        )
    );
    let pin = approve_for_pin(emulator.base_url(), started.str("url"));
    assert_eq!(pin.len(), 7, "{pin}");
    let signed_in = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "pin": format!(" {pin}\n") }),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    // TWITTER_OAUTH1_RETURN_TOKENS=true: the app keeps the tokens itself.
    signed_in.assert_fields(&["userId", "screenName", "oauthToken", "oauthTokenSecret"]);
    assert!(
        signed_in
            .str("oauthToken")
            .starts_with(&format!("{USER_ID}-")),
        "{}",
        signed_in.json
    );
    assert!(!signed_in.str("oauthTokenSecret").is_empty());
    assert!(signed_in.set_cookie("xauth_oauth1_session").is_some());

    // A callback with its own query, as X allows; another allowed callback.
    let with_query = format!("{CALLBACK}?flow=oauth1");
    for callback in [with_query.as_str(), OTHER_CALLBACK] {
        let started = request_token(&api, &json!({ "callback": callback }));
        let location = emulator.approve(started.str("url"));
        assert!(location.starts_with(callback), "{location}");
        let verifier = xauth_tests::query_param(&location, "oauth_verifier").unwrap();
        let signed_in = api.post(
            "/twitter-oauth1/access-token",
            &json!({ "oauthToken": started.str("oauthToken"), "oauthVerifier": verifier }),
        );
        assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    }

    // Callbacks and link modes that are not allowed never reach X.
    let before = emulator.stats()["oauth1_request_token"].clone();
    for body in [
        json!({ "callback": "https://evil.example/callback" }),
        json!({ "callback": "http://127.0.0.1:8787/other" }),
        json!({ "callback": "not a url" }),
        json!({ "linkMode": "popup" }),
        json!({ "callback": 7 }),
    ] {
        api.post("/twitter-oauth1/request-token", &body)
            .assert_error(400, "invalid_request", None);
    }
    assert_eq!(emulator.stats()["oauth1_request_token"], before);
    let bad_pin = request_token(&api, &json!({ "callback": "oob" }));
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": bad_pin.str("oauthToken"), "pin": "12ab" }),
    )
    .assert_error(400, "invalid_request", None);
}

#[test]
fn denied_missing_tampered_or_foreign_sign_ins_are_refused() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(emulator.base_url()));
    let api = checking_client(&worker);

    // The user cancels at X: the callback has `denied=<token>` and no verifier.
    let started = request_token(&api, &json!({}));
    let token = started.str("oauthToken").to_owned();
    let location = emulator.deny(started.str("url"));
    let denied = xauth_tests::query_param(&location, "denied").expect("denied=");
    assert_eq!(denied, token);
    // A page that passes on only what it got (no verifier):
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token }),
    )
    .assert_error(400, "missing_verifier", Some("reauthorize"));
    // A page that passes on `denied`:
    let refused = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "denied": denied }),
    );
    refused.assert_error(400, "access_denied", Some("reauthorize"));
    assert!(
        refused
            .set_cookie("xauth_oauth1_pending")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    api.post("/twitter-oauth1/access-token", &json!({ "denied": true }))
        .assert_error(400, "access_denied", Some("reauthorize"));

    // Another browser (no pending cookie) cannot finish this browser's sign-in.
    let started = request_token(&api, &json!({}));
    let token = started.str("oauthToken").to_owned();
    let verifier =
        xauth_tests::query_param(&emulator.approve(started.str("url")), "oauth_verifier").unwrap();
    let stranger = checking_client(&worker);
    stranger
        .post(
            "/twitter-oauth1/access-token",
            &json!({ "oauthToken": token, "oauthVerifier": verifier }),
        )
        .assert_error(400, "no_pending_sign_in", Some("reauthorize"));

    // A tampered cookie does not open.
    let sealed = api.cookie("xauth_oauth1_pending").unwrap();
    let flipped = match sealed.as_bytes()[20] {
        b'A' => 'B',
        _ => 'A',
    };
    let mut tampered = sealed.clone();
    tampered.replace_range(20..21, &flipped.to_string());
    api.set_cookie_value("xauth_oauth1_pending", &tampered);
    let refused = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": token, "oauthVerifier": verifier }),
    );
    refused.assert_error(400, "no_pending_sign_in", Some("reauthorize"));
    assert_eq!(
        api.cookie("xauth_oauth1_pending"),
        None,
        "a cookie that can never open is cleared"
    );

    // A pending cookie for another request token.
    let first = request_token(&api, &json!({}));
    let second = request_token(&api, &json!({}));
    let verifier =
        xauth_tests::query_param(&emulator.approve(first.str("url")), "oauth_verifier").unwrap();
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": first.str("oauthToken"), "oauthVerifier": verifier }),
    )
    .assert_error(400, "token_mismatch", Some("reauthorize"));
    assert!(
        api.cookie("xauth_oauth1_pending").is_some(),
        "kept for the second"
    );
    let _ = second;

    // None of these reached X's access token endpoint.
    assert_eq!(emulator.stats()["oauth1_access_token"], 0);

    // Bad bodies.
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthVerifier": "v" }),
    )
    .assert_error(400, "invalid_request", None);
    api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": "t", "denied": 3 }),
    )
    .assert_error(400, "invalid_request", None);
    let wrong_method = api.get("/twitter-oauth1/request-token");
    wrong_method.assert_error(405, "method_not_allowed", None);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    api.get("/twitter-oauth1/nothing")
        .assert_error(404, "not_found", None);

    // CSRF: a foreign page cannot start or finish a sign-in.
    for path in [
        "/twitter-oauth1/request-token",
        "/twitter-oauth1/access-token",
        "/twitter-oauth1/sign-out",
    ] {
        api.send(
            api.http
                .post(format!("{}{path}", api.base))
                .header("origin", "https://evil.example")
                .header("content-type", "application/json")
                .body("{}"),
        )
        .assert_error(403, "origin_not_allowed", None);
    }
}

#[test]
fn x_refusing_the_consumer_is_misconfigured_and_x_failures_are_transient() {
    let emulator = emulator();
    let mut vars = worker_vars(emulator.base_url());
    vars.insert(
        "TWITTER_CONSUMER_SECRET",
        "not-the-registered-consumer-secret".to_owned(),
    );
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    let refused = api.post("/twitter-oauth1/request-token", &json!({}));
    refused.assert_error(401, "could_not_authenticate", Some("misconfigured"));
    assert_eq!(
        refused.str("error_description"),
        "Could not authenticate you."
    );
    assert!(refused.set_cookie("xauth_oauth1_pending").is_none());
    // The app token too: X's 403 (code 99) for bad consumer credentials.
    api.get("/twitter-api/2/tweets/20").assert_error(
        403,
        "unable_to_verify_credentials",
        Some("misconfigured"),
    );
    drop(worker);

    let worker = Worker::start(&worker_vars(emulator.base_url()));
    let api = checking_client(&worker);
    emulator.inject_fault("request_token", "500", 1);
    api.post("/twitter-oauth1/request-token", &json!({}))
        .assert_error(502, "server_error", Some("transient"));
    emulator.inject_fault("request_token", "garbage", 1);
    api.post("/twitter-oauth1/request-token", &json!({}))
        .assert_error(502, "x_unavailable", Some("transient"));
    emulator.inject_fault("request_token", "429", 1);
    let limited = api.post("/twitter-oauth1/request-token", &json!({}));
    limited.assert_error(429, "temporarily_unavailable", Some("transient"));
    assert_eq!(limited.header("retry-after"), Some("7"));

    // X failing at the last step keeps the pending sign-in for a retry.
    let started = request_token(&api, &json!({}));
    let location = emulator.approve(started.str("url"));
    let verifier = xauth_tests::query_param(&location, "oauth_verifier").unwrap();
    let body = json!({ "oauthToken": started.str("oauthToken"), "oauthVerifier": verifier });
    emulator.inject_fault("access_token", "500", 1);
    let failed = api.post("/twitter-oauth1/access-token", &body);
    failed.assert_error(502, "server_error", Some("transient"));
    assert!(failed.set_cookie("xauth_oauth1_pending").is_none());
    let retried = api.post("/twitter-oauth1/access-token", &body);
    assert_eq!(retried.status, 200, "{}", retried.json);
    assert_eq!(retried.str("screenName"), SCREEN_NAME);
}

#[test]
fn missing_or_invalid_consumer_configuration_names_the_variable() {
    let emulator = emulator();
    // The cookies' key is the worker's own secret: without it no OAuth 1.0a sign-in.
    let mut vars = worker_vars(emulator.base_url());
    vars.remove("XAUTH_VAULT_KEY");
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    for answer in [
        api.post("/twitter-oauth1/request-token", &json!({})),
        api.get("/twitter-oauth1/session"),
    ] {
        answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
        assert!(
            answer.str("error_description").contains("XAUTH_VAULT_KEY"),
            "{}",
            answer.json
        );
    }
    assert_eq!(emulator.stats()["oauth1_request_token"], 0);
    drop(worker);

    let cases: [(&str, Option<&str>); 4] = [
        ("TWITTER_CONSUMER_KEY", None),
        ("TWITTER_CONSUMER_SECRET", None),
        ("TWITTER_CONSUMER_SECRET", Some("short")),
        ("TWITTER_CONSUMER_KEY", Some("has spaces in it")),
    ];
    for (variable, value) in cases {
        let mut vars = worker_vars(emulator.base_url());
        match value {
            Some(value) => vars.insert(variable, value.to_owned()),
            None => vars.remove(variable),
        };
        let worker = Worker::start(&vars);
        let api = checking_client(&worker);
        for answer in [
            api.post("/twitter-oauth1/request-token", &json!({})),
            api.post(
                "/twitter-oauth1/access-token",
                &json!({ "oauthToken": "t", "oauthVerifier": "v" }),
            ),
            api.get("/twitter-oauth1/session"),
            api.get("/twitter-api/2/tweets/20"),
        ] {
            answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
            assert!(
                answer.str("error_description").contains(variable),
                "names {variable}: {}",
                answer.json
            );
        }
        // OAuth 1.0a is optional: the OAuth 2.0 routes do not need it.
        let config = api.get("/twitter-config");
        assert_eq!(config.status, 200, "{}", config.json);
        assert_eq!(config.str("clientId"), CLIENT_ID);
    }

    let mut vars = worker_vars(emulator.base_url());
    vars.insert("TWITTER_OAUTH1_RETURN_TOKENS", "yes".to_owned());
    vars.insert(
        "TWITTER_PUBLIC_READ_PATHS",
        "tweets/:id ../secrets".to_owned(),
    );
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    let answer = api.post(
        "/twitter-oauth1/access-token",
        &json!({ "oauthToken": "t", "oauthVerifier": "v" }),
    );
    answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
    assert!(
        answer
            .str("error_description")
            .contains("TWITTER_OAUTH1_RETURN_TOKENS")
    );
    let answer = api.get("/twitter-api/2/tweets/20");
    answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
    assert!(
        answer
            .str("error_description")
            .contains("TWITTER_PUBLIC_READ_PATHS")
    );
    assert_eq!(api.get("/twitter-config").status, 200);
}

#[test]
fn public_reads_use_one_app_token_per_isolate() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(emulator.base_url()));
    let api = checking_client(&worker);

    for _ in 0..20 {
        let tweet = api.get("/twitter-api/2/tweets/20");
        assert_eq!(tweet.status, 200, "{}", tweet.json);
        assert_eq!(tweet.json["data"]["id"], "20");
        assert_eq!(tweet.header("x-rate-limit-limit"), Some("900"));
        assert!(tweet.header("x-rate-limit-remaining").is_some());
        assert!(tweet.header("x-rate-limit-reset").is_some());
        assert!(tweet.headers.get("set-cookie").is_none());
    }
    let stats = emulator.stats();
    assert_eq!(stats["app_token"], 1, "one app token for 20 calls: {stats}");
    assert_eq!(stats["tweets_lookup"], 20);
    assert_eq!(
        api.get("/twitter-api/2/tweets/20")
            .header("x-rate-limit-remaining"),
        Some("879")
    );

    // Users too, with the query string passed on; X's own 400 is passed through.
    let user = api.get("/twitter-api/2/users/2244994945?user.fields=created_at");
    assert_eq!(user.status, 200, "{}", user.json);
    assert_eq!(user.json["data"]["username"], SCREEN_NAME);
    // Not an X id: not a public read (`tweets/:id` takes digits), so only a user's token
    // could reach it; X never sees it.
    api.get("/twitter-api/2/tweets/not-an-id").assert_error(
        401,
        "missing_token",
        Some("reauthorize"),
    );
    api.get("/twitter-api/2/tweets/search/stream/rules")
        .assert_error(401, "missing_token", Some("reauthorize"));
    assert_eq!(emulator.stats()["tweets_lookup"], 21);

    // Only public reads, only GET: paths no token may reach are refused...
    for path in [
        "/twitter-api/2/dm_events",
        "/twitter-api/2/tweetsx/1",
        "/twitter-api/2/",
        "/twitter-api/2/tweets/%2e%2e/x",
        "/twitter-api/1.1/statuses/show.json",
    ] {
        api.get(path).assert_error(403, "path_not_allowed", None);
    }
    // ...and "me" or a write needs the user's own token (tests/proxy.rs).
    for answer in [
        api.get("/twitter-api/2/users/me"),
        api.get("/twitter-api/2/tweets/../users/me"),
        api.post("/twitter-api/2/tweets", &json!({ "text": "hi" })),
    ] {
        answer.assert_error(401, "missing_token", Some("reauthorize"));
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(emulator.stats()["app_token"], 1);
    assert_eq!(emulator.stats()["users_me"], 0);

    // X's rate limit and failures get the error contract.
    emulator.inject_fault("tweets_lookup", "429", 1);
    let limited = api.get("/twitter-api/2/tweets/20");
    limited.assert_error(429, "rate_limited", Some("transient"));
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(limited.header("x-rate-limit-remaining"), Some("0"));
    emulator.inject_fault("tweets_lookup", "500", 1);
    api.get("/twitter-api/2/tweets/20")
        .assert_error(502, "x_unavailable", Some("transient"));
    emulator.inject_fault("tweets_lookup", "garbage", 1);
    api.get("/twitter-api/2/tweets/20")
        .assert_error(502, "x_unavailable", Some("transient"));
    assert_eq!(api.get("/twitter-api/2/tweets/20").status, 200);
    assert_eq!(emulator.stats()["app_token"], 1);
}

#[test]
fn public_read_paths_and_a_configured_bearer_token() {
    let emulator = emulator();
    // The app's bearer token, as X's portal shows it.
    let token: Value = reqwest::blocking::Client::new()
        .post(format!("{}/oauth2/token", emulator.base_url()))
        .basic_auth(CONSUMER_KEY, Some(form_encoded(CONSUMER_SECRET)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    // With TWITTER_BEARER_TOKEN the consumer is not needed and no token is fetched.
    let mut vars = worker_vars(emulator.base_url());
    vars.remove("TWITTER_CONSUMER_KEY");
    vars.remove("TWITTER_CONSUMER_SECRET");
    vars.insert("TWITTER_BEARER_TOKEN", token.clone());
    vars.insert("TWITTER_PUBLIC_READ_PATHS", "users/:id".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    for _ in 0..3 {
        let user = api.get("/twitter-api/2/users/12");
        assert_eq!(user.status, 200, "{}", user.json);
        assert!(
            !user
                .headers
                .values()
                .any(|v| v.to_str().unwrap_or_default().contains(&token))
        );
    }
    // Not a public read here, but a user's token could reach it (TWITTER_API_PATHS).
    api.get("/twitter-api/2/tweets/20")
        .assert_error(401, "missing_token", Some("reauthorize"));
    assert_eq!(emulator.stats()["app_token"], 1, "only the test's own call");
    assert_eq!(emulator.stats()["tweets_lookup"], 0);
    drop(worker);

    // A wrong configured token is not refetched: X's 401 is the app's misconfiguration.
    let mut vars = worker_vars(emulator.base_url());
    vars.insert("TWITTER_BEARER_TOKEN", "AAAA-not-a-token".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    api.get("/twitter-api/2/tweets/20")
        .assert_error(401, "x_unauthorized", Some("misconfigured"));
    assert_eq!(emulator.stats()["app_token"], 1);
}

/// RFC 6749 §2.3.1: each Basic part is form-urlencoded first.
fn form_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An emulator on a port chosen by the test, so that another one can take its place.
struct PortEmulator {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PortEmulator {
    fn start(port: u16) -> PortEmulator {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the port");
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = emulator_config();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    served = xauth_emulator::serve(config, listener) => served.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        PortEmulator {
            base: format!("http://127.0.0.1:{port}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stats(&self) -> Value {
        reqwest::blocking::get(format!("{}/__emulator/stats", self.base))
            .unwrap()
            .json()
            .unwrap()
    }
}

impl Drop for PortEmulator {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.thread.take().unwrap().join();
    }
}

#[test]
fn an_app_token_x_no_longer_takes_is_fetched_again_once() {
    let port = xauth_tests::free_port();
    let first = PortEmulator::start(port);
    let worker = Worker::start(&worker_vars(&first.base));
    let api = checking_client(&worker);
    assert_eq!(api.get("/twitter-api/2/tweets/1").status, 200);
    assert_eq!(first.stats()["app_token"], 1);
    drop(first);

    // Another X at the same address: the cached token means nothing there (401), so the
    // worker fetches a new one and retries, once.
    let second = PortEmulator::start(port);
    let tweet = api.get("/twitter-api/2/tweets/2");
    assert_eq!(tweet.status, 200, "{}", tweet.json);
    assert_eq!(api.get("/twitter-api/2/tweets/3").status, 200);
    let stats = second.stats();
    assert_eq!(stats["app_token"], 1, "{stats}");
    assert_eq!(
        stats["tweets_lookup"], 3,
        "a refused call, its retry, the next: {stats}"
    );
}
