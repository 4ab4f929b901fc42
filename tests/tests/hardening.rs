//! Findings of the security review, each held by a test that failed before its fix: the
//! per-client rate limits (Cloudflare's Rate Limiting binding, as wrangler dev runs it),
//! methods workers-rs would have taken for GET, and the demo's security headers.
//! (The public-read patterns are in tests/oauth1.rs and the worker's unit tests; a slow
//! refresh answer in tests/worker.rs; the OAuth 1.0a cookies in tests/oauth1.rs.)

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;
use xauth_tests::api::Api;
use xauth_tests::{Emulator, EmulatorOptions, Worker, random_vault_key};

const CLIENT_ID: &str = "xauth-hardening-client";
const CLIENT_SECRET: &str = "hardening-s3cret-never-leaks";
const CONSUMER_KEY: &str = "xauth-hardening-consumer";
const CONSUMER_SECRET: &str = "hardening-consumer-s3cret";
const REDIRECT_URI: &str = "http://127.0.0.1:8787/";

fn emulator() -> Emulator {
    let mut options = EmulatorOptions::default()
        .client(CLIENT_ID, Some(CLIENT_SECRET))
        .redirect_uris(&[REDIRECT_URI]);
    options.config.consumer_key = CONSUMER_KEY.to_owned();
    options.config.consumer_secret = CONSUMER_SECRET.to_owned();
    Emulator::start(options)
}

fn vars(x: &Emulator) -> BTreeMap<&'static str, String> {
    let mut vars = xauth_tests::worker_vars(
        x.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        REDIRECT_URI,
        "tweet.read users.read offline.access",
    );
    vars.insert("TWITTER_CONSUMER_KEY", CONSUMER_KEY.to_owned());
    vars.insert("TWITTER_CONSUMER_SECRET", CONSUMER_SECRET.to_owned());
    vars.insert("XAUTH_VAULT_KEY", random_vault_key());
    vars
}

/// wrangler.toml's rate limits, with `limit` calls per period instead.
fn with_limit(limit: i64) -> impl FnOnce(&mut toml::Table) {
    move |config: &mut toml::Table| {
        let limits = config
            .get_mut("ratelimits")
            .and_then(|l| l.as_array_mut())
            .expect("wrangler.toml has [[ratelimits]]");
        assert_eq!(
            limits.len(),
            2,
            "one for the token routes, one for anonymous reads"
        );
        for limit_table in limits {
            let simple = limit_table["simple"].as_table_mut().unwrap();
            simple.insert("limit".into(), limit.into());
        }
    }
}

#[test]
fn token_routes_and_anonymous_reads_are_rate_limited_per_client() {
    let x = emulator();
    let worker = Worker::start_adjusted(&vars(&x), with_limit(3));
    let api = Api::new(&worker, &[CLIENT_SECRET, CONSUMER_SECRET]);

    // The token routes share one budget: 3 calls reach X, the 4th does not.
    let refresh = || api.post("/twitter-refresh-token", &json!({ "refreshToken": "r" }));
    for _ in 0..2 {
        refresh().assert_error(400, "invalid_request", Some("reauthorize"));
    }
    api.post("/twitter-revoke-token", &json!({ "token": "t" }));
    let refused = refresh();
    refused.assert_error(429, "too_many_requests", Some("transient"));
    assert_eq!(refused.header("retry-after"), Some("60"));
    let limited = api.post(
        "/twitter-access-token",
        &json!({ "code": "c", "codeVerifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" }),
    );
    limited.assert_error(429, "too_many_requests", Some("transient"));
    let stats = x.stats();
    assert_eq!(stats["token"], 2, "{stats}");
    assert_eq!(stats["revoke"], 1, "{stats}");

    // Anonymous reads with the app's token have their own budget.
    for _ in 0..3 {
        assert_eq!(api.get("/twitter-api/2/tweets/20").status, 200);
    }
    api.get("/twitter-api/2/tweets/20")
        .assert_error(429, "too_many_requests", Some("transient"));
    assert_eq!(x.stats()["tweets_lookup"], 3);
    // What is free of a token route or the app's token is not counted: the config.
    assert_eq!(api.get("/twitter-config").status, 200);
}

#[test]
fn methods_workers_rs_does_not_know_are_405_not_get() {
    let x = emulator();
    let worker = Worker::start(&vars(&x));
    let api = Api::new(&worker, &[CLIENT_SECRET, CONSUMER_SECRET]);
    // Methods the runtime passes on (made-up ones like FOO it refuses itself, 501, before
    // any worker runs) but which workers-rs would have read as GET.
    for (method, path, allow) in [
        (
            "PROPFIND",
            "/twitter-api/2/tweets/20",
            "GET, POST, PUT, DELETE",
        ),
        ("MKCOL", "/twitter-api/2/users/12", "GET, POST, PUT, DELETE"),
        (
            "PURGE",
            "/twitter-api/2/tweets/20",
            "GET, POST, PUT, DELETE",
        ),
        (
            "PATCH",
            "/twitter-api/2/tweets/20",
            "GET, POST, PUT, DELETE",
        ),
        ("SEARCH", "/twitter-config", "GET"),
        ("TRACE", "/twitter-access-token", "POST"),
    ] {
        let answer = api.send(api.http.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", api.base),
        ));
        answer.assert_error(405, "method_not_allowed", None);
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
    let stats = x.stats();
    assert_eq!(stats["tweets_lookup"], 0, "{stats}");
    assert_eq!(stats["users_lookup"], 0, "{stats}");
    assert_eq!(stats["app_token"], 0, "{stats}");
    let log = worker.output();
    assert!(
        !log.contains("GET /twitter-api/2/tweets/20"),
        "not logged as GET: {log}"
    );
}

#[test]
fn the_demo_is_served_with_a_strict_content_security_policy() {
    let x = emulator();
    let worker = Worker::start(&vars(&x));
    let page = reqwest::blocking::get(format!("{}/", worker.base_url())).unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} on the page: {:?}", page.headers()))
            .to_owned()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    // The rules file itself is not served.
    let rules = reqwest::blocking::get(format!("{}/_headers", worker.base_url())).unwrap();
    assert_ne!(rules.status(), 200);
}
