//! Worker custody across instances: two instances of the built worker, each its own
//! isolate (two services of one workerd, started directly from a capnp config), bound to
//! the same Durable Object namespace, as two Cloudflare locations are. Calls on both at
//! once, on a token that needs refreshing, make one refresh at X: the user's object is one,
//! wherever the calls land. See ARCHITECTURE.md ("Worker custody") for why this stands
//! for many locations.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use xauth_tests::api::{Api, get_all_at_once};
use xauth_tests::workerd::Workerd;
use xauth_tests::{Emulator, EmulatorOptions, free_port, random_vault_key};

const CLIENT_ID: &str = "xauth-instances-client";
const CLIENT_SECRET: &str = "instances-s3cret-never-leaks";
const CONSUMER_KEY: &str = "xauth-instances-consumer";
const CONSUMER_SECRET: &str = "instances-consumer-s3cret";
const SCOPES: &str = "tweet.read users.read offline.access";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[test]
fn two_isolates_calling_at_once_on_a_stale_token_make_one_refresh() {
    let ports = [free_port(), free_port()];
    let redirect_uri = format!("http://127.0.0.1:{}/", ports[0]);
    // Access tokens of 70 s are stale (60 s skew) 10 s after they are issued.
    let mut options = EmulatorOptions::default()
        .client(CLIENT_ID, Some(CLIENT_SECRET))
        .redirect_uris(&[&redirect_uri])
        .access_ttl(Duration::from_secs(70));
    options.config.consumer_key = CONSUMER_KEY.to_owned();
    options.config.consumer_secret = CONSUMER_SECRET.to_owned();
    let x = Emulator::start(options);
    let mut vars: BTreeMap<&str, String> = xauth_tests::worker_vars(
        x.base_url(),
        (CLIENT_ID, CLIENT_SECRET),
        &redirect_uri,
        SCOPES,
    );
    vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
    vars.insert("XAUTH_VAULT_KEY", random_vault_key());
    vars.insert("TWITTER_CONSUMER_KEY", CONSUMER_KEY.to_owned());
    vars.insert("TWITTER_CONSUMER_SECRET", CONSUMER_SECRET.to_owned());
    let workerd = Workerd::start_instances(&ports, &vars);

    // Two isolates: each fetches the app's bearer token for itself (a per-isolate cache).
    for (index, expected) in [(0, 1), (1, 2), (0, 2)] {
        let api = Api::at(workerd.base_url(index), &[CLIENT_SECRET, CONSUMER_SECRET]);
        let read = api.get("/twitter-api/2/tweets/20");
        assert_eq!(read.status, 200, "{}", read.json);
        assert_eq!(x.stats()["app_token"], expected, "instance {index}");
    }

    // Sign in through the first instance.
    let first = Api::at(workerd.base_url(0), &[CLIENT_SECRET]);
    let signed_in_at = Instant::now();
    let code = x.authorize(CLIENT_ID, &redirect_uri, SCOPES, "state", CHALLENGE);
    let answer = first.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(answer.status, 200, "{}\n{}", answer.json, workerd.output());
    let cookie = format!("xauth_session={}", first.cookie("xauth_session").unwrap());

    // Both instances know the session: it is in the one object.
    for index in [0, 1] {
        let statuses = calls(&workerd, &[index], &cookie, 1);
        assert_eq!(statuses, [200], "instance {index}");
    }
    assert_eq!(x.stats()["token_by_grant"]["refresh_token"], 0);

    thread::sleep(Duration::from_millis(10_500).saturating_sub(signed_in_at.elapsed()));
    let statuses = calls(&workerd, &[0, 1], &cookie, 25);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.len(), 50);
    assert_eq!(
        x.stats()["token_by_grant"]["refresh_token"],
        1,
        "one refresh for 25 calls on each of two isolates"
    );

    // X refusing the token (401) on both at once: again one refresh.
    x.expire_access_tokens();
    let statuses = calls(&workerd, &[0, 1], &cookie, 25);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(x.stats()["token_by_grant"]["refresh_token"], 2);
}

/// `per_instance` calls of `users/me` on each of `instances`, all at once; their statuses.
fn calls(workerd: &Workerd, instances: &[usize], cookie: &str, per_instance: usize) -> Vec<u16> {
    let urls = instances
        .iter()
        .flat_map(|index| {
            let url = format!("{}/twitter-api/2/users/me", workerd.base_url(*index));
            std::iter::repeat_n(url, per_instance)
        })
        .collect();
    get_all_at_once(urls, &[("cookie", cookie), ("x-xauth", "1")])
}
