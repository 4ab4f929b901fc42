//! The worker's X API proxy with the caller's own bearer token (`/twitter-api/2/...`), in
//! the real workerd runtime (`wrangler dev`) against the X emulator over HTTP.
//!
//! The user signs in through the worker's OAuth 2.0 routes, then calls X through the
//! worker with `Authorization: Bearer <access token>`, as a page would. The harness's
//! checking client fails on the client secret (and, once known, the user's token) in any
//! answer; the emulator's counters prove what reached X and what did not.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use xauth_tests::api::{Answer, Api};
use xauth_tests::{Emulator, EmulatorOptions, Worker};

const CLIENT_ID: &str = "xauth-test-client";
const CLIENT_SECRET: &str = "s3cret-that-must-never-leak+/:%";
const REDIRECT_URI: &str = "http://127.0.0.1:8787/callback";
/// X's rule for posting: all three, plus refresh tokens.
const SCOPES: &str = "tweet.read tweet.write users.read offline.access";
const ALLOWED_ORIGIN: &str = "https://app.example.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const DUPLICATE_CONTENT: &str = "You are not allowed to create a Tweet with duplicate content.";
/// The largest body the worker forwards.
const MAX_BODY_BYTES: usize = 64 * 1024;

fn emulator() -> Emulator {
    Emulator::start(
        EmulatorOptions::default()
            .client(CLIENT_ID, Some(CLIENT_SECRET))
            .redirect_uris(&[REDIRECT_URI]),
    )
}

/// The worker's variables for an emulator: OAuth 2.0 only (no consumer: the user proxy
/// does not need the app's token), default `TWITTER_API_PATHS`.
fn worker_vars(emulator: &Emulator) -> BTreeMap<&'static str, String> {
    let mut vars = xauth_tests::worker_vars(
        emulator.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        REDIRECT_URI,
        SCOPES,
    );
    vars.insert("ALLOWED_ORIGINS", ALLOWED_ORIGIN.to_owned());
    vars.insert("X_TIMEOUT_MS", "2000".to_owned());
    vars
}

/// Signs in at the emulator and through the worker; returns the user's access token.
fn sign_in(worker: &Worker, emulator: &Emulator) -> String {
    let api = Api::new(worker, &[CLIENT_SECRET, "s3cret"]);
    let code = emulator.authorize(CLIENT_ID, REDIRECT_URI, SCOPES, "state", CHALLENGE);
    let tokens = api.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    tokens.str("access_token").to_owned()
}

/// A checking client that fails on the client secret or `token` in any answer.
fn checking_client(worker: &Worker, token: &str) -> Api {
    Api::new(worker, &[CLIENT_SECRET, "s3cret", token])
}

/// `method /twitter-api/2/<path>` with the user's token (when given) and a JSON body (when
/// given).
fn call(
    api: &Api,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut request = api
        .http
        .request(method, format!("{}/twitter-api/2/{path}", api.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    api.send(request)
}

/// X's rate limit headers were passed on, and nothing X sets for itself (its cookies).
fn assert_x_headers(answer: &Answer, limit: &str) {
    assert_eq!(answer.header("x-rate-limit-limit"), Some(limit));
    assert!(answer.header("x-rate-limit-remaining").is_some());
    let reset: u64 = answer
        .header("x-rate-limit-reset")
        .expect("x-rate-limit-reset")
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000, "a Unix time: {reset}");
    assert!(
        answer.headers.get("set-cookie").is_none(),
        "X's cookies stay at the worker"
    );
}

/// The worker's output never shows the token or the client secret.
fn assert_output_clean(worker: &Worker, token: &str) {
    let output = worker.output();
    assert!(!output.contains(token), "the token was logged:\n{output}");
    assert!(!output.contains(CLIENT_SECRET), "the secret was logged");
}

#[test]
fn a_signed_in_user_reads_posts_and_deletes_through_the_worker() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let token = sign_in(&worker, &emulator);
    let api = checking_client(&worker, &token);

    // Who am I: X's answer, its rate limit headers, none of its cookies.
    let me = call(
        &api,
        Method::GET,
        "users/me?user.fields=created_at",
        Some(&token),
        None,
    );
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(
        me.json,
        json!({ "data": { "id": "2244994945", "name": "X Demo User", "username": "xauthdemo" } })
    );
    assert_x_headers(&me, "75");
    assert!(me.header("content-type").unwrap().contains("json"));

    // Post, from another origin the worker allows, with a cookie the page's browser had.
    let created = api.send(
        api.http
            .post(format!("{}/twitter-api/2/tweets", api.base))
            .bearer_auth(&token)
            .header("origin", ALLOWED_ORIGIN)
            .header("cookie", "xauth_oauth1_session=abc; _ga=GA1.2")
            .header("content-type", "application/json")
            .body(json!({ "text": "Hello from the worker" }).to_string()),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["data"]["text"], "Hello from the worker");
    let id = created.json["data"]["id"].as_str().unwrap().to_owned();
    assert_x_headers(&created, "200");
    assert_eq!(
        created.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    let exposed = created.header("access-control-expose-headers").unwrap();
    for header in [
        "retry-after",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(exposed.contains(header), "{header}: {exposed}");
    }
    assert_eq!(
        emulator.posts(),
        vec![json!({ "id": id, "text": "Hello from the worker" })]
    );
    assert_eq!(
        emulator.stats()["api_requests_with_cookie"],
        0,
        "the caller's cookies never reach X"
    );

    // X's own refusal (a duplicate) is passed on as X said it.
    let duplicate = call(
        &api,
        Method::POST,
        "tweets",
        Some(&token),
        Some(&json!({ "text": "Hello from the worker" })),
    );
    assert_eq!(duplicate.status, 403, "{}", duplicate.json);
    assert_eq!(duplicate.json["detail"], DUPLICATE_CONTENT);
    assert_x_headers(&duplicate, "200");

    // A body of exactly the limit is forwarded.
    let filler = "x".repeat(MAX_BODY_BYTES - r#"{"text":""}"#.len());
    let largest = call(
        &api,
        Method::POST,
        "tweets",
        Some(&token),
        Some(&json!({ "text": filler })),
    );
    assert_eq!(largest.status, 201, "{}", largest.json);
    let largest_id = largest.json["data"]["id"].as_str().unwrap().to_owned();

    // Delete both; a second delete is X's 404, passed on.
    for id in [&id, &largest_id] {
        let deleted = call(
            &api,
            Method::DELETE,
            &format!("tweets/{id}"),
            Some(&token),
            None,
        );
        assert_eq!(deleted.status, 200, "{}", deleted.json);
        assert_eq!(deleted.json, json!({ "data": { "deleted": true } }));
        assert_x_headers(&deleted, "50");
    }
    assert_eq!(emulator.posts(), Vec::<Value>::new());
    let gone = call(
        &api,
        Method::DELETE,
        &format!("tweets/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(gone.status, 404, "{}", gone.json);
    assert_eq!(gone.json["title"], "Not Found Error");

    // Reads go with the user's token too: the app's token is never fetched.
    let tweet = call(&api, Method::GET, "tweets/20", Some(&token), None);
    assert_eq!(tweet.status, 200, "{}", tweet.json);
    assert_x_headers(&tweet, "900");
    let stats = emulator.stats();
    assert_eq!(stats["app_token"], 0, "{stats}");
    assert_eq!(stats["tweets_create"], 3, "{stats}");
    assert_eq!(stats["tweets_delete"], 3, "{stats}");
    assert_eq!(stats["api_requests_with_cookie"], 0, "{stats}");

    assert_output_clean(&worker, &token);
}

#[test]
fn refused_calls_never_reach_x() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let token = sign_in(&worker, &emulator);
    let api = checking_client(&worker, &token);
    let before = emulator.stats();
    let post = json!({ "text": "never posted" });

    // Paths outside TWITTER_API_PATHS, even with a token.
    for path in [
        "dm_events",
        "tweetsx/1",
        "users/me/../../dm_events",
        "spaces/1",
    ] {
        call(&api, Method::GET, path, Some(&token), None).assert_error(
            403,
            "path_not_allowed",
            None,
        );
    }
    call(&api, Method::POST, "dm_events", Some(&token), Some(&post)).assert_error(
        403,
        "path_not_allowed",
        None,
    );

    // No token: writes and users/me need one.
    for (method, path, body) in [
        (Method::POST, "tweets", Some(&post)),
        (Method::DELETE, "tweets/1", None),
        (Method::PUT, "tweets/1/hidden", Some(&post)),
        (Method::GET, "users/me", None),
    ] {
        let refused = call(&api, method.clone(), path, None, body);
        refused.assert_error(401, "missing_token", Some("reauthorize"));
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer"),
            "{method} {path}"
        );
    }
    // Without a token, a path outside both lists is still not forwarded.
    call(&api, Method::POST, "dm_events", None, Some(&post)).assert_error(
        403,
        "path_not_allowed",
        None,
    );

    // An Authorization that is not a bearer token.
    for authorization in [
        "Basic eHh4Onl5eQ==",
        "Bearer",
        "Bearer two words",
        "Token abc",
    ] {
        let refused = api.send(
            api.http
                .get(format!("{}/twitter-api/2/users/me", api.base))
                .header("authorization", authorization),
        );
        refused.assert_error(401, "invalid_token", Some("reauthorize"));
        assert!(
            refused
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{authorization}"
        );
    }

    // Bodies over 64 KiB, with a length or streamed without one.
    let oversized = format!(
        r#"{{"text":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES + 1 - r#"{"text":""}"#.len())
    );
    assert_eq!(oversized.len(), MAX_BODY_BYTES + 1);
    let with_length = api.send(
        api.http
            .post(format!("{}/twitter-api/2/tweets", api.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(oversized.clone()),
    );
    with_length.assert_error(413, "payload_too_large", None);
    let streamed = api.send(
        api.http
            .post(format!("{}/twitter-api/2/tweets", api.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(reqwest::blocking::Body::new(std::io::Cursor::new(
                oversized.into_bytes(),
            ))),
    );
    streamed.assert_error(413, "payload_too_large", None);

    // Methods the route does not forward.
    let patch = call(&api, Method::PATCH, "tweets/1", Some(&token), Some(&post));
    patch.assert_error(405, "method_not_allowed", None);
    assert_eq!(patch.header("allow"), Some("GET, POST, PUT, DELETE"));

    // A preflight from an allowed origin allows the writes and the Authorization header.
    let preflight = api.send(
        api.http
            .request(
                Method::OPTIONS,
                format!("{}/twitter-api/2/tweets/1", api.base),
            )
            .header("origin", ALLOWED_ORIGIN)
            .header("access-control-request-method", "DELETE")
            .header("access-control-request-headers", "authorization"),
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    let methods = preflight.header("access-control-allow-methods").unwrap();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "{method}: {methods}");
    }
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );

    assert_eq!(emulator.stats(), before, "nothing reached X");
    assert_output_clean(&worker, &token);
    drop(worker);

    // TWITTER_API_PATHS narrows what a token may reach: here only posts.
    let mut vars = worker_vars(&emulator);
    vars.insert("TWITTER_API_PATHS", "tweets".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker, &token);
    let before = emulator.stats();
    call(&api, Method::GET, "users/me", Some(&token), None).assert_error(
        403,
        "path_not_allowed",
        None,
    );
    assert_eq!(emulator.stats(), before, "nothing reached X");
    let posted = call(&api, Method::POST, "tweets", Some(&token), Some(&post));
    assert_eq!(posted.status, 201, "{}", posted.json);
    drop(worker);

    // A TWITTER_API_PATHS that is not path prefixes is the proxy's misconfiguration.
    vars.insert("TWITTER_API_PATHS", "tweets ../2/dm_events".to_owned());
    let worker = Worker::start(&vars);
    let api = checking_client(&worker, &token);
    let answer = call(&api, Method::GET, "tweets/20", Some(&token), None);
    answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
    assert!(
        answer
            .str("error_description")
            .contains("TWITTER_API_PATHS")
    );
    assert_eq!(api.get("/twitter-config").status, 200);
}

#[test]
fn x_refusing_or_failing_a_users_call() {
    let emulator = emulator();
    let worker = Worker::start(&worker_vars(&emulator));
    let token = sign_in(&worker, &emulator);
    let api = checking_client(&worker, &token);
    let post = |text: &str| {
        call(
            &api,
            Method::POST,
            "tweets",
            Some(&token),
            Some(&json!({ "text": text })),
        )
    };

    // Rate limited: the worker's error with X's Retry-After and rate limit headers.
    emulator.inject_fault("tweets_create", "429", 1);
    let limited = post("limited");
    limited.assert_error(429, "rate_limited", Some("transient"));
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(limited.header("x-rate-limit-remaining"), Some("0"));
    assert!(limited.header("x-rate-limit-limit").is_some());
    assert!(limited.header("x-rate-limit-reset").is_some());

    // X down, failing or answering nonsense: 502, try later.
    for mode in ["500", "garbage", "close"] {
        emulator.inject_fault("tweets_create", mode, 1);
        post(mode).assert_error(502, "x_unavailable", Some("transient"));
    }
    // Slower than X_TIMEOUT_MS (a read: a late post could still land after the worker gave
    // up, which is X's behaviour too).
    emulator.inject_fault_slow("users_me", 3000, 1);
    call(&api, Method::GET, "users/me", Some(&token), None).assert_error(
        502,
        "x_unavailable",
        Some("transient"),
    );

    // X's 403 is X's answer to pass on; its 401 means the token is dead.
    emulator.inject_fault("tweets_create", "403", 1);
    let forbidden = post("forbidden");
    assert_eq!(forbidden.status, 403, "{}", forbidden.json);
    assert_eq!(forbidden.json["title"], "Forbidden");
    emulator.inject_fault("tweets_delete", "401", 1);
    call(&api, Method::DELETE, "tweets/1", Some(&token), None).assert_error(
        401,
        "x_unauthorized",
        Some("reauthorize"),
    );

    // A token X no longer takes (expired): sign in again, or refresh.
    emulator.expire_access_token(&token);
    let expired = call(&api, Method::GET, "users/me", Some(&token), None);
    expired.assert_error(401, "x_unauthorized", Some("reauthorize"));
    assert_eq!(expired.str("error_description"), "Unauthorized");
    assert_eq!(expired.header("x-rate-limit-limit"), Some("75"));
    assert!(expired.header("x-rate-limit-remaining").is_some());
    assert!(expired.headers.get("set-cookie").is_none());
    post("expired").assert_error(401, "x_unauthorized", Some("reauthorize"));

    // A token X never issued, in good shape: X's 401 too, and nothing posted.
    call(&api, Method::GET, "users/me", Some("made-up-token"), None).assert_error(
        401,
        "x_unauthorized",
        Some("reauthorize"),
    );
    assert_eq!(emulator.posts(), Vec::<Value>::new());
    assert_eq!(emulator.stats()["app_token"], 0);
    assert_output_clean(&worker, &token);
}
