//! The built worker in the real workerd runtime (`wrangler dev`), against the X emulator
//! over HTTP. Each test starts the worker configurations it needs; every answer the
//! worker gives is checked for the client secret and for `Cache-Control: no-store`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use xauth_tests::api::{Answer, Api};
use xauth_tests::workerd::Workerd;
use xauth_tests::{Emulator, EmulatorOptions, Worker};

const CLIENT_ID: &str = "xauth-test-client";
const CLIENT_SECRET: &str = "s3cret-that-must-never-leak+/:%";
const REDIRECT_URI: &str = "http://127.0.0.1:8787/callback";
const OTHER_REDIRECT_URI: &str = "http://localhost:8787/callback";
const SCOPES: &str = "tweet.read users.read offline.access";
const ALLOWED_ORIGIN: &str = "https://app.example.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn confidential_emulator() -> Emulator {
    Emulator::start(
        EmulatorOptions::default()
            .client(CLIENT_ID, Some(CLIENT_SECRET))
            .redirect_uris(&[REDIRECT_URI, OTHER_REDIRECT_URI]),
    )
}

/// The worker's variables for a given emulator; tests change what they need.
fn worker_vars(emulator: &Emulator) -> BTreeMap<&'static str, String> {
    let mut vars = xauth_tests::worker_vars(
        emulator.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        &format!("{REDIRECT_URI} {OTHER_REDIRECT_URI}"),
        SCOPES,
    );
    vars.insert("ALLOWED_ORIGINS", ALLOWED_ORIGIN.to_owned());
    vars.insert("X_TIMEOUT_MS", "2000".to_owned());
    vars
}

/// Signs in at the emulator (approve) and exchanges the code through the worker.
fn sign_in(api: &Api, emulator: &Emulator) -> Answer {
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, SCOPES, "state-1", CHALLENGE);
    api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    )
}

/// A checking client that fails on the client secret in any answer.
fn checking_client(worker: &Worker) -> Api {
    Api::new(worker, &[CLIENT_SECRET, "s3cret"])
}

fn assert_token_answer(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(!answer.str("access_token").is_empty());
    assert!(!answer.str("refresh_token").is_empty());
    assert_eq!(answer.str("token_type"), "bearer");
    assert_eq!(answer.str("scope"), SCOPES);
    let expires_in = answer.json["expires_in"].as_u64().expect("expires_in");
    let expires_at = answer.json["expires_at"].as_u64().expect("expires_at");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires_at.abs_diff(now + expires_in) <= 5,
        "expires_at {expires_at} is now + expires_in"
    );
}

#[test]
fn sign_in_refresh_with_rotation_and_revoke() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);

    let config = api.get("/twitter-config");
    assert_eq!(config.status, 200);
    assert_eq!(config.str("clientId"), CLIENT_ID);
    assert_eq!(config.str("redirectUri"), REDIRECT_URI);
    assert_eq!(config.str("scopes"), SCOPES);
    assert_eq!(
        config.str("authorizeUrl"),
        format!("{}/i/oauth2/authorize", emulator.base_url())
    );

    let signed_in = sign_in(&api, &emulator);
    assert_token_answer(&signed_in);
    assert_eq!(
        signed_in.json["user"],
        json!({ "id": "2244994945", "name": "X Demo User", "username": "xauthdemo" }),
        "the worker asks X who signed in"
    );
    assert_eq!(emulator.stats()["token"], 1, "one exchange reached X");
    let access = signed_in.str("access_token").to_owned();
    assert!(emulator.users_me(&access).is_some(), "X accepts the token");

    // The code is single use at X; the worker passes X's verdict on with a kind.
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, SCOPES, "state-2", CHALLENGE);
    let first = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_token_answer(&first);
    api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    )
    .assert_error(400, "invalid_request", Some("reauthorize"));

    // Refresh rotates: the new refresh token works, the spent one is refused as X refuses it.
    let spent = signed_in.str("refresh_token").to_owned();
    let refreshed = api.post("/twitter-refresh-token", &json!({ "refreshToken": spent }));
    assert_token_answer(&refreshed);
    assert_ne!(refreshed.str("refresh_token"), spent);
    assert_ne!(refreshed.str("access_token"), access);
    let reused = api.post("/twitter-refresh-token", &json!({ "refreshToken": spent }));
    reused.assert_error(400, "invalid_request", Some("reauthorize"));
    assert_eq!(
        reused.str("error_description"),
        "Value passed for the token was invalid."
    );
    let again = api.post(
        "/twitter-refresh-token",
        &json!({ "refresh_token": refreshed.str("refresh_token") }),
    );
    assert_token_answer(&again);

    // Revoke: X answers {"revoked": true} and refuses the token afterwards.
    let live = again.str("access_token").to_owned();
    let revoked = api.post(
        "/twitter-revoke-token",
        &json!({ "token": live, "tokenTypeHint": "access_token" }),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.json);
    assert_eq!(revoked.json, json!({ "revoked": true }));
    assert!(
        emulator.users_me(&live).is_none(),
        "X refuses a revoked token"
    );
    assert_eq!(emulator.stats()["revoke"], 1);

    // The worker logged each request, and neither the secret nor any token.
    let logs = worker.output();
    assert!(
        logs.contains("POST /twitter-access-token 200"),
        "logs: {logs}"
    );
    for secret in [CLIENT_SECRET, &access, &spent, &live] {
        assert!(
            !logs.contains(secret),
            "a secret or token is in the logs: {logs}"
        );
    }
}

#[test]
fn a_sign_in_survives_users_me_failing_or_not_being_allowed() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);

    emulator.inject_fault("users_me", "500", 1);
    let without_user = sign_in(&api, &emulator);
    assert_token_answer(&without_user);
    assert_eq!(without_user.json.get("user"), None);

    // Without users.read the worker does not ask X who signed in.
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, "tweet.read", "s", CHALLENGE);
    let narrow = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(narrow.status, 200, "{}", narrow.json);
    assert_eq!(narrow.json.get("user"), None);
    assert_eq!(
        narrow.json.get("refresh_token"),
        None,
        "no offline.access, no refresh token"
    );
    assert_eq!(
        emulator.stats()["users_me"],
        1,
        "only the allowed sign-in asked"
    );
}

#[test]
fn the_sveltekit_tutorials_field_names_and_redirect_choice_work() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);

    // The tutorial's front end sends the verifier as `codeChallenge`.
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, SCOPES, "s", CHALLENGE);
    let answer = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeChallenge": VERIFIER }),
    );
    assert_token_answer(&answer);

    // A second allowed redirect URI is honoured when it is the one the code was issued for.
    let code = emulator.authorize(CLIENT_ID, OTHER_REDIRECT_URI, SCOPES, "s", CHALLENGE);
    let answer = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "code_verifier": VERIFIER, "redirectUri": OTHER_REDIRECT_URI }),
    );
    assert_token_answer(&answer);
}

#[test]
fn bad_input_gets_a_clear_json_error() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    let url = |path: &str| format!("{}{path}", api.base);

    let not_json = api.send(
        api.http
            .post(url("/twitter-access-token"))
            .header("content-type", "text/plain")
            .body("code=abc"),
    );
    not_json.assert_error(415, "unsupported_media_type", None);

    let malformed = api.send(
        api.http
            .post(url("/twitter-access-token"))
            .header("content-type", "application/json")
            .body("{\"code\": "),
    );
    malformed.assert_error(400, "invalid_request", None);

    api.post("/twitter-access-token", &json!(["code"]))
        .assert_error(400, "invalid_request", None);
    let missing = api.post(
        "/twitter-access-token",
        &json!({ "codeVerifier": VERIFIER }),
    );
    missing.assert_error(400, "invalid_request", None);
    assert!(missing.str("error_description").contains("code"));
    api.post("/twitter-access-token", &json!({ "code": "abc" }))
        .assert_error(400, "invalid_request", None);
    api.post(
        "/twitter-access-token",
        &json!({ "code": 42, "codeVerifier": VERIFIER }),
    )
    .assert_error(400, "invalid_request", None);
    api.post(
        "/twitter-access-token",
        &json!({ "code": "a".repeat(5000), "codeVerifier": VERIFIER }),
    )
    .assert_error(400, "invalid_request", None);

    for bad_verifier in ["short", &"a".repeat(129), &format!("{}!", &VERIFIER[..43])] {
        api.post(
            "/twitter-access-token",
            &json!({ "code": "abc", "codeVerifier": bad_verifier }),
        )
        .assert_error(400, "invalid_request", None);
    }
    api.post(
        "/twitter-access-token",
        &json!({ "code": "abc", "codeVerifier": VERIFIER, "redirectUri": "https://evil.example/" }),
    )
    .assert_error(400, "invalid_request", None);
    api.post("/twitter-refresh-token", &json!({}))
        .assert_error(400, "invalid_request", None);
    api.post(
        "/twitter-revoke-token",
        &json!({ "token": "t", "tokenTypeHint": "id_token" }),
    )
    .assert_error(400, "invalid_request", None);

    let huge = json!({ "code": "x".repeat(17 * 1024), "codeVerifier": VERIFIER });
    api.post("/twitter-access-token", &huge)
        .assert_error(413, "payload_too_large", None);

    let wrong_method = api.get("/twitter-access-token");
    wrong_method.assert_error(405, "method_not_allowed", None);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    api.send(api.http.delete(url("/twitter-config")))
        .assert_error(405, "method_not_allowed", None);
    api.get("/twitter-nothing-here")
        .assert_error(404, "not_found", None);

    assert_eq!(emulator.stats()["token"], 0, "no bad request reached X");
}

#[test]
fn cors_is_an_allowlist_and_foreign_origins_are_refused() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    let url = format!("{}/twitter-refresh-token", api.base);

    let preflight = api.send(
        api.http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", ALLOWED_ORIGIN)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("content-type")
    );
    assert_eq!(preflight.header("vary"), Some("Origin"));

    let allowed = api.send(
        api.http
            .post(&url)
            .header("origin", ALLOWED_ORIGIN)
            .header("content-type", "application/json")
            .body("{}"),
    );
    allowed.assert_error(400, "invalid_request", None);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );

    for method in [reqwest::Method::OPTIONS, reqwest::Method::POST] {
        let refused = api.send(
            api.http
                .request(method, &url)
                .header("origin", "https://evil.example")
                .header("content-type", "application/json")
                .body(r#"{"refreshToken":"x"}"#),
        );
        refused.assert_error(403, "origin_not_allowed", None);
        assert_eq!(refused.header("access-control-allow-origin"), None);
    }

    // The SPA served by the worker itself is same-origin: no CORS needed, not refused.
    let own = api.send(
        api.http
            .get(format!("{}/twitter-config", api.base))
            .header("origin", api.base.clone()),
    );
    assert_eq!(own.status, 200);
    assert_eq!(own.header("access-control-allow-origin"), None);
    assert_eq!(
        emulator.stats()["token"],
        0,
        "refused requests never reach X"
    );
}

#[test]
fn x_failures_become_transient_errors() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    let refresh = |api: &Api| api.post("/twitter-refresh-token", &json!({ "refreshToken": "r" }));

    emulator.inject_fault("token", "500", 1);
    refresh(&api).assert_error(502, "server_error", Some("transient"));

    // X said yes but the answer cannot be read: its own error, since X may have rotated.
    emulator.inject_fault("token", "garbage", 1);
    refresh(&api).assert_error(502, "x_token_unusable", Some("transient"));

    emulator.inject_fault("token", "429", 1);
    let limited = refresh(&api);
    assert_eq!(limited.status, 429, "{}", limited.json);
    assert_eq!(limited.json["kind"], "transient");
    assert_eq!(
        limited.header("retry-after"),
        Some("7"),
        "Retry-After is passed on"
    );

    // Slower than the worker's X_TIMEOUT_MS (2 s here).
    emulator.inject_fault_slow("token", 4000, 1);
    let slow = refresh(&api);
    slow.assert_error(502, "x_unavailable", Some("transient"));
    assert!(slow.str("error_description").contains("2000 ms"));

    // After the faults, X works again and so does the worker.
    assert_token_answer(&sign_in(&api, &emulator));
    assert_eq!(emulator.stats()["token"], 5);
}

/// X answers a refresh in time, but its body comes after `X_TIMEOUT_MS`: the worker reads
/// it to the end, because X has already rotated the refresh token and the answer holds the
/// only copy of the new one.
#[test]
fn a_refresh_whose_answer_comes_slowly_is_read_to_the_end() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    let signed_in = sign_in(&api, &emulator);
    let refresh_token = signed_in.str("refresh_token").to_owned();

    emulator.inject_fault_slow_body("token", 3_000, 1);
    let refreshed = api.post(
        "/twitter-refresh-token",
        &json!({ "refreshToken": refresh_token }),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_token_answer(&refreshed);
    assert_ne!(
        refreshed.str("refresh_token"),
        refresh_token,
        "rotated, and kept"
    );
    // The spent one is dead at X; the new one works.
    api.post(
        "/twitter-refresh-token",
        &json!({ "refreshToken": refresh_token }),
    )
    .assert_error(400, "invalid_request", Some("reauthorize"));
    let again = api.post(
        "/twitter-refresh-token",
        &json!({ "refreshToken": refreshed.str("refresh_token") }),
    );
    assert_eq!(again.status, 200, "{}", again.json);
}

/// Outside a refresh the deadline covers the whole answer: headers in time and a body
/// after `X_TIMEOUT_MS` is X being too slow.
#[test]
fn an_exchange_whose_answer_body_comes_late_is_too_slow() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    emulator.inject_fault_slow_body("token", 4_000, 1);
    let slow = sign_in(&api, &emulator);
    slow.assert_error(502, "x_unavailable", Some("transient"));
    assert!(slow.str("error_description").contains("2000 ms"));
    assert_token_answer(&sign_in(&api, &emulator));
}

/// A body is bounded however it is framed: one streamed without a length is read whole
/// and refused past 16 KiB, and refused as soon as 16 KiB have come, without waiting for
/// its end.
#[test]
fn request_bodies_are_bounded_whatever_their_framing() {
    let emulator = confidential_emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let api = checking_client(&worker);
    let streamed = |body: String| {
        api.send(
            api.http
                .post(format!("{}/twitter-access-token", api.base))
                .header("content-type", "application/json")
                .body(reqwest::blocking::Body::new(std::io::Cursor::new(
                    body.into_bytes(),
                ))),
        )
    };
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, SCOPES, "state-1", CHALLENGE);
    assert_token_answer(&streamed(
        json!({ "code": code, "codeVerifier": VERIFIER }).to_string(),
    ));
    let huge = json!({ "code": "x".repeat(17 * 1024), "codeVerifier": VERIFIER });
    streamed(huge.to_string()).assert_error(413, "payload_too_large", None);

    // Chunks that never end: the answer comes once 16 KiB + 1 have, in workerd itself
    // (no wrangler proxy in front that might buffer the request).
    let port = xauth_tests::free_port();
    let workerd = Workerd::start_instances(&[port], &worker_vars(&emulator));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST /twitter-access-token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
    for _ in 0..5 {
        stream.write_all(chunk.as_bytes()).unwrap();
    }
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap_or_else(|err| {
        panic!(
            "no answer before the body's end: {err}\n{}",
            workerd.output()
        )
    });
    assert_eq!(
        &answer,
        b"HTTP/1.1 413",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        emulator.stats()["token"],
        1,
        "only the good exchange reached X"
    );
}

#[test]
fn x_down_is_a_502() {
    let emulator = confidential_emulator();
    let mut vars = worker_vars(&emulator);
    vars.insert(
        "X_API_URL",
        format!("http://127.0.0.1:{}", xauth_tests::closed_port()),
    );
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    api.post("/twitter-refresh-token", &json!({ "refreshToken": "r" }))
        .assert_error(502, "x_unavailable", Some("transient"));
}

#[test]
fn public_client_mode_sends_client_id_and_no_secret() {
    let emulator = Emulator::start(
        EmulatorOptions::default()
            .client(CLIENT_ID, None)
            .redirect_uris(&[REDIRECT_URI]),
    );
    let mut vars = worker_vars(&emulator);
    vars.remove("TWITTER_CLIENT_SECRET");
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);

    let signed_in = sign_in(&api, &emulator);
    assert_token_answer(&signed_in);
    let refreshed = api.post(
        "/twitter-refresh-token",
        &json!({ "refreshToken": signed_in.str("refresh_token") }),
    );
    assert_token_answer(&refreshed);
}

#[test]
fn a_confidential_app_without_its_secret_is_misconfigured() {
    let emulator = confidential_emulator();
    let mut vars = worker_vars(&emulator);
    vars.remove("TWITTER_CLIENT_SECRET");
    let worker = Worker::start(&vars);
    let api = checking_client(&worker);
    // X wants Basic auth from this client; the worker sent client_id only.
    sign_in(&api, &emulator).assert_error(401, "unauthorized_client", Some("misconfigured"));
}

#[test]
fn missing_or_invalid_configuration_names_the_variable() {
    let emulator = confidential_emulator();
    let cases: [(&str, Option<&str>); 4] = [
        ("TWITTER_CLIENT_ID", None),
        ("TWITTER_SCOPES", Some("tweet.read not.a.scope")),
        ("TWITTER_REDIRECT_URI", Some("not-a-url")),
        ("ALLOWED_ORIGINS", Some("*")),
    ];
    for (variable, value) in cases {
        let mut vars = worker_vars(&emulator);
        match value {
            Some(value) => vars.insert(variable, value.to_owned()),
            None => vars.remove(variable),
        };
        let worker = Worker::start(&vars);
        let api = checking_client(&worker);
        for answer in [
            api.get("/twitter-config"),
            api.post("/twitter-refresh-token", &json!({ "refreshToken": "r" })),
        ] {
            answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
            assert!(
                answer.str("error_description").contains(variable),
                "names {variable}: {}",
                answer.json
            );
        }
    }
}
