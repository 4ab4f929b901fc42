//! Worker custody (`XAUTH_TOKEN_CUSTODY = "worker"`) in the real workerd runtime
//! (`wrangler dev`, with its Durable Objects), against the X emulator over HTTP.
//!
//! The page's part is played by [`Api`], which keeps cookies like a browser and fails the
//! test if the client secret, or any token X issued (listed by the emulator), shows up in
//! any answer. The emulator's counters prove what reached X; its token list proves what X
//! still takes.

use std::path::Path;
use std::sync::LazyLock;
use std::thread;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use xauth_tests::api::{Api, get_all_at_once};
use xauth_tests::custody::{
    ALLOWED_ORIGIN, CLIENT_ID, CLIENT_SECRET, COOKIE, SCOPES, Setup, VAULT_KEY, emulator,
    post_with_session, session, vars, who_am_i,
};
use xauth_tests::{Worker, free_port, random_vault_key};

/// A second vault key, for rotation: fresh and random.
static NEXT_VAULT_KEY: LazyLock<String> = LazyLock::new(random_vault_key);

// ---------------------------------------------------------------------------------------

#[test]
fn a_sign_in_answers_no_token_and_sets_a_strict_http_only_cookie() {
    let setup = Setup::start();
    let browser = setup.browser();
    let config = browser.get("/twitter-config");
    assert_eq!(config.str("custody"), "worker");

    let signed_in = setup.sign_in(&browser);
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    signed_in.assert_fields(&["custody", "expiresAt", "scope", "user"]);
    assert_eq!(signed_in.str("custody"), "worker");
    assert_eq!(signed_in.json["user"]["username"], "xauthdemo");
    assert_eq!(signed_in.str("scope"), SCOPES);
    let set_cookie = signed_in.set_cookie(COOKIE).expect("a session cookie");
    let attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=2592000"],
        "plain-http loopback: no Secure, no __Host- (https is unit-tested): {set_cookie}"
    );
    let value = browser.cookie(COOKIE).unwrap();
    assert!(value.len() > 60, "a sealed value: {value}");

    let me = session(&browser);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["signedIn"], true);
    assert_eq!(me.json["user"]["id"], "2244994945");
    assert_eq!(me.str("custody"), "worker");

    let users_me = setup.stat(&["users_me"]);
    let answer = who_am_i(&browser);
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["username"], "xauthdemo");
    assert_eq!(setup.stat(&["users_me"]), users_me + 1);
    assert_eq!(
        setup.stat(&["api_requests_with_cookie"]),
        0,
        "no cookie reaches X"
    );

    // Nothing to redeem: the refresh route is gone, and a bearer token is refused.
    browser
        .post("/twitter-refresh-token", &json!({ "refreshToken": "x" }))
        .assert_error(404, "not_found", None);
    let (access, _) = setup.x.tokens();
    let bearer = browser.send(
        browser
            .http
            .get(format!("{}/twitter-api/2/users/me", browser.base))
            .bearer_auth(&access[0]),
    );
    bearer.assert_error(401, "invalid_token", Some("reauthorize"));

    // A browser without the cookie is nobody.
    let stranger = setup.browser();
    assert_eq!(
        session(&stranger).json,
        json!({ "signedIn": false, "custody": "worker" })
    );
    who_am_i(&stranger).assert_error(401, "no_session", Some("reauthorize"));
    assert_eq!(setup.stat(&["users_me"]), users_me + 1, "nothing reached X");
}

#[test]
fn csrf_a_cookie_without_the_header_or_from_a_foreign_origin_reaches_nothing() {
    let setup = Setup::start();
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    setup.x.reset();

    let url = format!("{}/twitter-api/2/users/me", browser.base);
    browser
        .send(browser.http.get(&url))
        .assert_error(403, "csrf", None);
    browser
        .send(browser.http.get(&url).header("x-xauth", "yes"))
        .assert_error(403, "csrf", None);
    for origin in ["https://evil.example", "null"] {
        browser
            .send(
                browser
                    .http
                    .get(&url)
                    .header("x-xauth", "1")
                    .header("origin", origin),
            )
            .assert_error(403, "csrf", None);
    }
    let post = format!("{}/twitter-api/2/tweets", browser.base);
    browser
        .send(
            browser
                .http
                .post(&post)
                .header("content-type", "application/json")
                .body(r#"{"text":"forged"}"#),
        )
        .assert_error(403, "csrf", None);
    browser
        .send(
            browser
                .http
                .post(format!("{}/twitter-sign-out", browser.base)),
        )
        .assert_error(403, "csrf", None);
    browser
        .send(
            browser
                .http
                .get(format!("{}/twitter-session", browser.base)),
        )
        .assert_error(403, "csrf", None);
    let stats = setup.x.stats();
    assert_eq!(stats["users_me"], 0, "{stats}");
    assert_eq!(stats["tweets_create"], 0, "{stats}");
    assert_eq!(stats["revoke"], 0, "{stats}");

    // The allowed origin, with the header, is served.
    let allowed = browser.send(
        browser
            .http
            .get(&url)
            .header("x-xauth", "1")
            .header("origin", ALLOWED_ORIGIN),
    );
    assert_eq!(allowed.status, 200, "{}", allowed.json);
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    // The preflight lets the header through.
    let preflight = browser.send(
        browser
            .http
            .request(Method::OPTIONS, &url)
            .header("origin", ALLOWED_ORIGIN)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "x-xauth"),
    );
    assert_eq!(preflight.status, 204);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("x-xauth")),
        "{:?}",
        preflight.headers
    );
}

#[test]
fn forged_expired_and_foreign_cookies_are_no_session_and_cleared() {
    let setup = Setup::start();
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let good = browser.cookie(COOKIE).unwrap();
    setup.x.reset();

    let mut forged = good.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    for value in [
        String::from_utf8(forged).unwrap(),
        "garbage".to_owned(),
        "A".repeat(200),
    ] {
        browser.set_cookie_value(COOKIE, &value);
        let answer = who_am_i(&browser);
        answer.assert_error(401, "no_session", Some("reauthorize"));
        let cleared = answer.set_cookie(COOKIE).expect("the cookie is cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert!(browser.cookie(COOKIE).is_none());
        browser.store_set_cookie(&format!("{COOKIE}={good}; Path=/"));
    }
    assert_eq!(setup.stat(&["users_me"]), 0);
    // The genuine cookie still works.
    assert_eq!(who_am_i(&browser).status, 200);
    // Sealed under another vault key: refused the same way.
    let other = Setup::start_with(
        |o| o,
        |vars| {
            vars.insert("XAUTH_VAULT_KEY", NEXT_VAULT_KEY.clone());
        },
    );
    let elsewhere = other.browser();
    elsewhere.store_set_cookie(&format!("{COOKIE}={good}; Path=/"));
    who_am_i(&elsewhere).assert_error(401, "no_session", Some("reauthorize"));
}

/// Fifty calls at once on an access token the object considers expired: one refresh at
/// X, and all fifty served with its result.
#[test]
fn fifty_concurrent_calls_on_an_expired_token_make_one_refresh() {
    // Tokens that live 70 s turn stale (60 s refresh skew) 10 s after they are issued.
    let setup = Setup::start_with(|o| o.access_ttl(Duration::from_secs(70)), |_| {});
    let browser = setup.browser();
    let signed_in_at = Instant::now();
    assert_eq!(setup.sign_in(&browser).status, 200);
    assert_eq!(who_am_i(&browser).status, 200, "fresh: no refresh yet");
    assert_eq!(setup.refreshes(), 0);
    thread::sleep(Duration::from_millis(10_500).saturating_sub(signed_in_at.elapsed()));

    let statuses = concurrently(&browser, 50);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(setup.refreshes(), 1, "one refresh for fifty callers");
    setup.forbid_tokens(&browser);

    // X refusing the current token (401) is the other trigger: again one refresh.
    setup.x.expire_access_tokens();
    let statuses = concurrently(&browser, 50);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(setup.refreshes(), 2, "one refresh after X's 401s");
}

/// `n` calls of `users/me` at once with `browser`'s cookie; their statuses.
fn concurrently(browser: &Api, n: usize) -> Vec<u16> {
    let cookie = format!("{COOKIE}={}", browser.cookie(COOKIE).unwrap());
    let url = format!("{}/twitter-api/2/users/me", browser.base);
    get_all_at_once(vec![url; n], &[("cookie", &cookie), ("x-xauth", "1")])
}

#[test]
fn x_failing_during_a_refresh_loses_nothing_and_a_spent_token_ends_the_session() {
    let setup = Setup::start();
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);

    for (mode, status) in [("500", 502), ("429", 429), ("garbage", 502), ("close", 502)] {
        setup.x.expire_access_tokens();
        setup.x.inject_fault("token", mode, 1);
        let failed = who_am_i(&browser);
        assert_eq!(failed.status, status, "{mode}: {}", failed.json);
        assert_eq!(failed.json["kind"], "transient", "{mode}: {}", failed.json);
        assert!(
            failed.set_cookie(COOKIE).is_none(),
            "{mode}: the session stays"
        );
        let next = who_am_i(&browser);
        assert_eq!(
            next.status, 200,
            "{mode}: the next call refreshes: {}",
            next.json
        );
        setup.forbid_tokens(&browser);
    }

    // Slow: the caller gives up at X_TIMEOUT_MS (2 s), the refresh goes on and is kept.
    setup.x.expire_access_tokens();
    setup.x.inject_fault_slow("token", 3_000, 1);
    let before = setup.refreshes();
    let slow = who_am_i(&browser);
    assert_eq!(slow.status, 502, "{}", slow.json);
    assert_eq!(slow.json["kind"], "transient");
    thread::sleep(Duration::from_millis(1_800));
    let next = who_am_i(&browser);
    assert_eq!(next.status, 200, "{}", next.json);
    assert_eq!(
        setup.refreshes(),
        before + 1,
        "X's late answer was stored: no second refresh (which would have used a spent token)"
    );
    setup.forbid_tokens(&browser);

    // Someone else spends the refresh token: X says so, and the session ends.
    let (_, refresh) = setup.x.tokens();
    assert_eq!(refresh.len(), 1);
    setup.x.refresh_as((CLIENT_ID, CLIENT_SECRET), &refresh[0]);
    setup.forbid_tokens(&browser);
    setup.x.expire_access_tokens();
    let ended = who_am_i(&browser);
    ended.assert_error(401, "no_session", Some("reauthorize"));
    assert!(
        ended
            .set_cookie(COOKIE)
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(session(&browser).json["signedIn"], false);
}

#[test]
fn sign_out_ends_the_session_and_the_last_one_revokes_the_grant() {
    let setup = Setup::start();
    let (laptop, phone) = (setup.browser(), setup.browser());
    assert_eq!(setup.sign_in(&laptop).status, 200);
    let (first_access, _) = setup.x.tokens();
    // The same user signs in again: the new grant replaces the old, which X then revokes.
    assert_eq!(setup.sign_in(&phone).status, 200);
    assert!(
        setup.x.users_me(&first_access[0]).is_none(),
        "the old grant is revoked"
    );
    assert_eq!(
        who_am_i(&laptop).status,
        200,
        "the laptop's session uses the new grant"
    );
    let (access, refresh) = setup.x.tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1), "one live grant");

    let out = post_with_session(&laptop, "/twitter-sign-out", &json!({}));
    assert_eq!(out.status, 200, "{}", out.json);
    assert_eq!(out.json["grantEnded"], false);
    assert!(
        out.set_cookie(COOKIE)
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert!(laptop.cookie(COOKIE).is_none());
    assert!(
        setup.x.users_me(&access[0]).is_some(),
        "the phone still holds the grant"
    );
    assert_eq!(who_am_i(&phone).status, 200);

    let revokes = setup.stat(&["revoke"]);
    let out = post_with_session(&phone, "/twitter-sign-out", &json!({}));
    assert_eq!(out.status, 200, "{}", out.json);
    assert_eq!(
        (out.json["grantEnded"].clone(), out.json["revoked"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(setup.stat(&["revoke"]), revokes + 1);
    assert!(
        setup.x.users_me(&access[0]).is_none(),
        "X no longer takes the token"
    );
    assert_eq!(setup.x.tokens(), (vec![], vec![]));

    // `everywhere`, and revoke through a session.
    let (a, b) = (setup.browser(), setup.browser());
    assert_eq!(setup.sign_in(&a).status, 200);
    assert_eq!(setup.sign_in(&b).status, 200);
    let out = post_with_session(&a, "/twitter-sign-out", &json!({ "everywhere": true }));
    assert_eq!(out.json["grantEnded"], true, "{}", out.json);
    who_am_i(&b).assert_error(401, "no_session", Some("reauthorize"));
    assert_eq!(setup.x.tokens(), (vec![], vec![]));

    assert_eq!(setup.sign_in(&a).status, 200);
    a.post("/twitter-revoke-token", &json!({ "token": "anything" }))
        .assert_error(403, "csrf", None);
    let revoked = post_with_session(&a, "/twitter-revoke-token", &json!({}));
    assert_eq!(revoked.json, json!({ "revoked": true }));
    assert_eq!(setup.x.tokens(), (vec![], vec![]));
    setup
        .browser()
        .post("/twitter-revoke-token", &json!({ "token": "anything" }))
        .assert_error(401, "no_session", Some("reauthorize"));
}

/// Everything the object keeps on disk (`--persist-to`), byte for byte, has none of the
/// tokens, the cookie or the vault key in it.
#[test]
fn the_stored_state_on_disk_holds_no_token_cookie_or_key() {
    let setup = Setup::start();
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    setup.x.expire_access_tokens();
    assert_eq!(who_am_i(&browser).status, 200, "a refresh, stored");
    let (access, refresh) = setup.x.tokens();
    let cookie = browser.cookie(COOKIE).unwrap();
    let stored = read_tree(setup.worker.state_dir());
    assert!(
        stored.len() > 1_000,
        "the object's storage is on disk: {} bytes under {}",
        stored.len(),
        setup.worker.state_dir().display()
    );
    let key_bytes = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(VAULT_KEY.as_bytes())
            .unwrap()
    };
    for (what, needle) in [
        ("access token", access[0].as_bytes()),
        ("refresh token", refresh[0].as_bytes()),
        ("session cookie", cookie.as_bytes()),
        ("vault key", VAULT_KEY.as_bytes()),
        ("vault key bytes", key_bytes.as_slice()),
        ("user name", b"X Demo User".as_slice()),
    ] {
        assert!(
            !stored.windows(needle.len()).any(|w| w == needle),
            "the {what} is on disk in the clear"
        );
    }
}

fn read_tree(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return bytes;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(read_tree(&path));
        } else if let Ok(content) = std::fs::read(&path) {
            bytes.extend(content);
        }
    }
    bytes
}

/// The vault key is rotated: sessions and grants sealed under the previous key still work,
/// and are sealed again under the new one, so the previous key can then be retired.
#[test]
fn key_rotation_keeps_sessions_and_reseals_them() {
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let x = emulator(|o| o, &redirect_uri);
    let state = tempfile::tempdir().unwrap();
    let base_vars = vars(&x, &redirect_uri);
    let browser;
    {
        let worker = Worker::start_persisting(port, &base_vars, state.path());
        let setup = Setup {
            x,
            worker,
            redirect_uri: redirect_uri.clone(),
        };
        browser = setup.browser();
        assert_eq!(setup.sign_in(&browser).status, 200);
        assert_eq!(who_am_i(&browser).status, 200);
        drop(setup.worker);
        // Keep X running across the restarts.
        let x = setup.x;
        let old_cookie = browser.cookie(COOKIE).unwrap();

        let mut rotating = base_vars.clone();
        rotating.insert("XAUTH_VAULT_KEY", NEXT_VAULT_KEY.clone());
        rotating.insert("XAUTH_VAULT_KEY_PREVIOUS", VAULT_KEY.clone());
        let worker = Worker::start_persisting(port, &rotating, state.path());
        let answer = who_am_i(&browser);
        assert_eq!(
            answer.status, 200,
            "the old cookie and grant open: {}",
            answer.json
        );
        let resealed = answer
            .set_cookie(COOKIE)
            .expect("the cookie is sealed again");
        assert!(!resealed.contains(&old_cookie));
        assert_ne!(browser.cookie(COOKIE).unwrap(), old_cookie);
        drop(worker);

        let mut retired = base_vars.clone();
        retired.insert("XAUTH_VAULT_KEY", NEXT_VAULT_KEY.clone());
        let worker = Worker::start_persisting(port, &retired, state.path());
        let answer = who_am_i(&browser);
        assert_eq!(
            answer.status, 200,
            "cookie and grant were re-sealed under the new key: {}",
            answer.json
        );
        assert!(answer.set_cookie(COOKIE).is_none());
        // The old cookie no longer opens.
        browser.store_set_cookie(&format!("{COOKIE}={old_cookie}; Path=/"));
        who_am_i(&browser).assert_error(401, "no_session", Some("reauthorize"));
        drop(worker);
        drop(x);
    }
}

#[test]
fn worker_custody_refuses_to_run_without_its_key_or_scopes() {
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let x = emulator(|o| o, &redirect_uri);
    for (name, value, expected) in [
        ("XAUTH_VAULT_KEY", "", "XAUTH_VAULT_KEY"),
        ("XAUTH_VAULT_KEY", "dG9vIHNob3J0", "XAUTH_VAULT_KEY"),
        (
            "TWITTER_SCOPES",
            "tweet.read offline.access",
            "TWITTER_SCOPES",
        ),
        ("XAUTH_TOKEN_CUSTODY", "server", "XAUTH_TOKEN_CUSTODY"),
    ] {
        let mut vars = vars(&x, &redirect_uri);
        if value.is_empty() {
            vars.remove(name);
        } else {
            vars.insert(name, value.to_owned());
        }
        let worker = Worker::start(&vars);
        let api = Api::new(&worker, &[CLIENT_SECRET, &VAULT_KEY]);
        let answer = api.get("/twitter-config");
        answer.assert_error(500, "server_misconfigured", Some("misconfigured"));
        assert!(
            answer.str("error_description").contains(expected),
            "{name}={value:?}: {}",
            answer.json
        );
    }
}

/// Two X users: one object each. A second user signing in with the same browser ends the
/// first user's session in that browser (at her object), and leaves her other sessions
/// alone: her grant ends only when her last session does.
#[test]
fn each_user_has_an_object_and_a_new_user_in_the_same_browser_ends_the_old_session() {
    let setup = Setup::start();
    let (shared, ada_elsewhere) = (setup.browser(), setup.browser());
    let ada = xauth_tests::User {
        id: "1001".into(),
        name: "Ada".into(),
        username: "ada".into(),
    };
    let bob = xauth_tests::User {
        id: "1002".into(),
        name: "Bob".into(),
        username: "bob".into(),
    };
    setup.x.set_user(ada.clone());
    assert_eq!(setup.sign_in(&shared).status, 200);
    assert_eq!(setup.sign_in(&ada_elsewhere).status, 200);
    assert_eq!(who_am_i(&shared).json["data"]["username"], "ada");
    let ada_access = setup.x.tokens().0;

    setup.x.set_user(bob);
    let signed_in = setup.sign_in(&shared);
    assert_eq!(
        signed_in.json["user"]["username"], "bob",
        "{}",
        signed_in.json
    );
    assert_eq!(who_am_i(&shared).json["data"]["username"], "bob");
    assert_eq!(session(&shared).json["user"]["id"], "1002");
    // Ada's other session goes on with her grant, in her own object.
    assert_eq!(who_am_i(&ada_elsewhere).json["data"]["username"], "ada");
    assert!(
        setup.x.users_me(&ada_access[0]).is_some(),
        "Ada's grant is still live"
    );

    // Ada signs out of her last session: her grant is revoked; Bob's is untouched.
    let out = post_with_session(&ada_elsewhere, "/twitter-sign-out", &json!({}));
    assert_eq!(out.json["grantEnded"], true, "{}", out.json);
    assert!(setup.x.users_me(&ada_access[0]).is_none());
    assert_eq!(who_am_i(&shared).json["data"]["username"], "bob");
}
