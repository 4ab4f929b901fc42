//! The harness itself: the in-process emulator, and `Worker` on a throwaway script.

use std::time::Duration;

use xauth_tests::{Emulator, EmulatorOptions, Worker, query_param};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:8787/callback";
const SCOPES: &str = "tweet.read users.read offline.access";

fn emulator() -> Emulator {
    Emulator::start(EmulatorOptions::default().redirect_uris(&[REDIRECT]))
}

#[test]
fn emulator_helpers() {
    let x = emulator();
    assert!(x.base_url().starts_with("http://127.0.0.1:"));
    let code = x.authorize("xauth-demo-client", REDIRECT, SCOPES, "st ate", CHALLENGE);
    assert!(code.len() >= 40);

    let url = format!(
        "{}/i/oauth2/authorize?response_type=code&client_id=xauth-demo-client\
         &redirect_uri={}&scope=tweet.read&state=s1&code_challenge={CHALLENGE}\
         &code_challenge_method=S256",
        x.base_url(),
        "http%3A%2F%2F127.0.0.1%3A8787%2Fcallback",
    );
    let approved = x.approve(&url);
    assert!(approved.starts_with(REDIRECT));
    assert_eq!(query_param(&approved, "state").as_deref(), Some("s1"));
    let denied = x.deny(&url);
    assert_eq!(
        query_param(&denied, "error").as_deref(),
        Some("access_denied")
    );

    let stats = x.stats();
    assert_eq!(stats["authorize"], 3);
    assert_eq!(stats["token"], 0);
    x.inject_fault_slow("users_me", 10, 1);
    assert_eq!(x.users_me("unknown"), None);
    x.inject_fault("token", "500", 1);
    assert_eq!(x.stats()["faults_served"], 1);
    x.reset();
    assert_eq!(x.stats()["authorize"], 0);
    x.expire_access_tokens();
}

#[test]
#[should_panic(expected = "no code in the redirect")]
fn authorize_panics_when_x_refuses() {
    emulator().authorize("xauth-demo-client", REDIRECT, "not.a.scope", "s", CHALLENGE);
}

#[test]
fn emulators_are_independent_and_stop_on_drop() {
    let a = emulator();
    let b = Emulator::start(EmulatorOptions::default().access_ttl(Duration::from_secs(60)));
    assert_ne!(a.base_url(), b.base_url());
    let addr = a.base_url().trim_start_matches("http://").to_owned();
    drop(a);
    assert!(std::net::TcpStream::connect(addr).is_err());
    assert_eq!(b.stats()["token"], 0);
}

#[test]
fn worker_runs_a_script_in_workerd_with_verbatim_vars() {
    let x = emulator();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("worker.mjs");
    std::fs::write(
        &script,
        r#"export default {
  async fetch(request, env) {
    const stats = await fetch(env.X_API_URL + "/__emulator/stats").then((r) => r.json());
    return Response.json({ secret: env.SECRET, plain: env.PLAIN ?? null, stats });
  },
};
"#,
    )
    .unwrap();
    let secret = "s3cret+/:%$HOME 'q' \"dq\"";
    let worker = Worker::start_script(&script, [("X_API_URL", x.base_url()), ("SECRET", secret)]);
    let addr = worker.base_url().trim_start_matches("http://").to_owned();
    let body = reqwest::blocking::get(format!("{}/anything", worker.base_url()))
        .unwrap()
        .text()
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["secret"], secret);
    assert_eq!(body["plain"], serde_json::Value::Null);
    assert_eq!(body["stats"]["token"], 0, "the worker reached the emulator");
    assert!(!worker.output().contains("s3cret"), "{}", worker.output());
    drop(worker);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "wrangler stopped"
    );
}
