//! Server-side use of worker custody (issue 11): grants kept after the last browser session
//! (`XAUTH_KEEP_GRANTS`), the service API for the app's own back end
//! (`XAUTH_SERVICE_TOKEN`: `/twitter-api/2/...` as a named user, `/xauth/grants/<id>`),
//! the keep-alive alarm of each user's object (`XAUTH_KEEPALIVE_DAYS`), scheduled posts,
//! and `examples/service-binding/` reaching xauth through a service binding.
//!
//! The built worker runs in workerd (`wrangler dev`, or workerd directly for the service
//! binding) against the X emulator. Every answer goes through [`Api`], which fails the test
//! on the client secret, the service token, the vault key or any token X issued; the
//! emulator's counters, token list and posts prove what reached X and as whom.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};
use xauth_tests::api::{Answer, Api, get_all_at_once};
use xauth_tests::custody::{
    CHALLENGE, CLIENT_ID, CLIENT_SECRET, COOKIE, SCOPES, Setup, VAULT_KEY, VERIFIER, forbid_tokens,
    get_with_session, post_with_session, session, who_am_i,
};
use xauth_tests::workerd::{Companion, Workerd};
use xauth_tests::{Emulator, EmulatorOptions, User, free_port};

/// Variables on top of a test's base set.
type Vars<'a> = &'a [(&'a str, &'a str)];

/// The app's service token (at least 32 characters).
const SERVICE_TOKEN: &str = "svc-3f9a1c7e5b2d4f608a1e9c3b7d5f2a4e";
/// The emulator's default user, behind every grant unless a test names another.
const DEMO_ID: &str = "2244994945";
/// 4.32 s of keep-alive (the worker counts whole seconds: 4 s).
const KEEPALIVE_4S: &str = "0.00005";

fn ada() -> User {
    User {
        id: "1001".into(),
        name: "Ada".into(),
        username: "ada".into(),
    }
}

fn bob() -> User {
    User {
        id: "1002".into(),
        name: "Bob".into(),
        username: "bob".into(),
    }
}

/// X and a worker in worker custody with the service API on, and `vars` on top.
fn start(
    adjust_x: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
    vars: &[(&'static str, &str)],
) -> Setup {
    Setup::start_with(adjust_x, |all| {
        all.insert("XAUTH_SERVICE_TOKEN", SERVICE_TOKEN.to_owned());
        for (name, value) in vars {
            all.insert(name, (*value).to_owned());
        }
    })
}

/// The app's back end: no cookies, the service token. Fails on every secret, and on CORS
/// headers in any answer (these routes are server-to-server).
struct Service {
    api: Api,
}

impl Service {
    fn new(base: &str) -> Service {
        Service {
            api: Api::at(base, &[CLIENT_SECRET, SERVICE_TOKEN, VAULT_KEY.as_str()]),
        }
    }

    fn of(setup: &Setup) -> Service {
        Service::new(setup.worker.base_url())
    }

    /// `method path` with `token` as the bearer and `user` as `X-XAuth-User`, each only
    /// when given, and `extra` headers.
    fn send(
        &self,
        method: Method,
        path: &str,
        (token, user): (Option<&str>, Option<&str>),
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .api
            .http
            .request(method, format!("{}{path}", self.api.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(user) = user {
            request = request.header("x-xauth-user", user);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let answer = self.api.send(request);
        let cors: Vec<&str> = answer
            .headers
            .keys()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with("access-control-"))
            .collect();
        assert!(
            cors.is_empty(),
            "no CORS on service answers: {cors:?} on {path}"
        );
        answer
    }

    /// `/twitter-api/2/<path>` as `user`, with the service token.
    fn call(&self, method: Method, path: &str, user: &str, body: Option<&Value>) -> Answer {
        self.send(
            method,
            &format!("/twitter-api/2/{path}"),
            (Some(SERVICE_TOKEN), Some(user)),
            body,
            &[],
        )
    }

    fn post_as(&self, user: &str, text: &str) -> Answer {
        self.call(Method::POST, "tweets", user, Some(&json!({ "text": text })))
    }

    fn grant(&self, user: &str) -> Answer {
        self.send(
            Method::GET,
            &format!("/xauth/grants/{user}"),
            (Some(SERVICE_TOKEN), None),
            None,
            &[],
        )
    }

    fn delete_grant(&self, user: &str) -> Answer {
        self.send(
            Method::DELETE,
            &format!("/xauth/grants/{user}"),
            (Some(SERVICE_TOKEN), None),
            None,
            &[],
        )
    }
}

/// Status and error code (the description is for people).
#[track_caller]
fn assert_code(answer: &Answer, status: u16, error: &str) {
    assert_eq!(
        (answer.status, answer.json["error"].as_str()),
        (status, Some(error)),
        "{}",
        answer.json
    );
}

/// Waits (polling every 50 ms) until `done`, for at most `limit`; panics naming `what`.
#[track_caller]
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Posts made at X by `user_id` with `text`.
fn posts_by(x: &Emulator, user_id: &str, text: &str) -> usize {
    x.posts_with_authors()
        .iter()
        .filter(|post| post["author_id"] == user_id && post["text"] == text)
        .count()
}

// ---------------------------------------------------------------------------------------
// Keep-alive

/// Nobody calls: the object refreshes on its own when the refresh token reaches the
/// keep-alive age, again and again, and what it stored is what later calls use.
#[test]
fn keep_alive_refreshes_an_unused_grant_and_the_rotated_token_works() {
    // 8.64 s (9 s in whole seconds): long enough to call between two keep-alive
    // refreshes. Strict rotation: X kills the old access token at the refresh, so only the
    // rotated one can work.
    let setup = start(
        |o| o.strict_rotation(),
        &[("XAUTH_KEEPALIVE_DAYS", "0.0001")],
    );
    let (browser, service) = (setup.browser(), Service::of(&setup));
    let signed_in_at = Instant::now();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let (first_access, first_refresh) = setup.x.tokens();

    let grant = service.grant(DEMO_ID);
    assert_eq!(grant.status, 200, "{}", grant.json);
    assert_eq!(grant.json["lastRefreshAt"], Value::Null, "never refreshed");
    let next = grant.json["nextKeepAliveAt"]
        .as_f64()
        .expect("a keep-alive");
    let due_in = next - unix_now();
    assert!(
        (0.0..=10.0).contains(&due_in),
        "the keep-alive is due 9 s after the sign-in: in {due_in} s"
    );

    wait_for(
        "the first keep-alive refresh",
        Duration::from_secs(40),
        || setup.refreshes() >= 1,
    );
    assert!(
        signed_in_at.elapsed() >= Duration::from_secs(8),
        "not before the keep-alive age: {:?}",
        signed_in_at.elapsed()
    );
    forbid_tokens(&setup.x, &browser);
    forbid_tokens(&setup.x, &service.api);
    let (access, refresh) = setup.x.tokens();
    assert_eq!(refresh.len(), 1, "the worker holds one refresh token");
    assert!(
        !refresh.contains(&first_refresh[0]),
        "the old refresh token is spent"
    );
    assert!(!access.contains(&first_access[0]), "strict rotation");

    // The rotated tokens work, with no refresh of their own.
    let me = who_am_i(&browser);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["data"]["id"], DEMO_ID);
    let me = service.call(Method::GET, "users/me", DEMO_ID, None);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(setup.refreshes(), 1, "the stored tokens were fresh");
    let grant = service.grant(DEMO_ID);
    assert!(grant.json["lastRefreshAt"].is_number(), "{}", grant.json);
    assert!(
        grant.json["refreshTokenAgeDays"]
            .as_f64()
            .is_some_and(|age| age < 0.0001),
        "the refresh token in hand is the new one: {}",
        grant.json
    );

    // And the next one is scheduled from that refresh.
    wait_for(
        "the second keep-alive refresh",
        Duration::from_secs(40),
        || setup.refreshes() >= 2,
    );
    forbid_tokens(&setup.x, &browser);
    assert_eq!(who_am_i(&browser).status, 200);
}

/// The keep-alive and callers share one flight: while the alarm's refresh waits on a slow
/// X, callers whose token X refuses wait for it instead of spending the same refresh token
/// (which strict rotation would punish by ending the grant).
#[test]
fn the_keep_alive_and_callers_share_one_refresh() {
    let setup = start(
        |o| o.strict_rotation(),
        &[
            ("XAUTH_KEEPALIVE_DAYS", KEEPALIVE_4S),
            ("X_TIMEOUT_MS", "8000"),
        ],
    );
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    setup.x.inject_fault_slow("token", 3000, 1);
    wait_for(
        "the keep-alive's refresh to reach X",
        Duration::from_secs(30),
        || setup.stat(&["faults_served"]) >= 1,
    );
    // X is still holding the keep-alive's refresh; every caller's token is now refused.
    setup.x.expire_access_tokens();
    let url = format!("{}/twitter-api/2/users/me", setup.worker.base_url());
    let bearer = format!("Bearer {SERVICE_TOKEN}");
    let statuses = get_all_at_once(
        vec![url; 20],
        &[("authorization", &bearer), ("x-xauth-user", DEMO_ID)],
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        setup.refreshes(),
        1,
        "one refresh for the alarm and 20 callers"
    );
    forbid_tokens(&setup.x, &browser);
    assert_eq!(who_am_i(&browser).status, 200, "the grant lives on");
}

/// X failing at the keep-alive (a 500, then a 429) keeps the tokens and retries with a
/// growing backoff; the third try rotates the tokens and the session goes on.
#[test]
fn keep_alive_retries_transient_failures_with_backoff_and_keeps_the_grant() {
    let setup = start(|o| o, &[("XAUTH_KEEPALIVE_DAYS", KEEPALIVE_4S)]);
    let (browser, service) = (setup.browser(), Service::of(&setup));
    assert_eq!(setup.sign_in(&browser).status, 200);
    let (_, first_refresh) = setup.x.tokens();
    setup.x.inject_fault("token", "500", 1);
    setup.x.inject_fault("token", "429", 1);

    let mut tries = Vec::new();
    wait_for("three keep-alive tries", Duration::from_secs(60), || {
        let count = setup.refreshes();
        while tries.len() < count as usize {
            tries.push(Instant::now());
        }
        if count == 1 {
            // Failed once: the grant is kept, untouched.
            let grant = service.grant(DEMO_ID);
            assert_eq!(grant.status, 200, "{}", grant.json);
            assert_eq!(grant.json["alive"], true, "{}", grant.json);
        }
        count >= 3
    });
    assert_eq!(setup.stat(&["faults_served"]), 2);
    // Alarms are set in whole Unix seconds, so a wait of w seconds can come up to 1 s
    // early: the first retry (4 s / 4 = 1 s) is only known to come after the failure, the
    // second (2 s, doubled) more than 1 s after the first.
    let second_gap = tries[2] - tries[1];
    assert!(
        second_gap >= Duration::from_millis(900),
        "the backoff doubles: {second_gap:?} after {:?}",
        tries[1] - tries[0]
    );

    wait_for("the rotation", Duration::from_secs(5), || {
        !setup.x.tokens().1.contains(&first_refresh[0])
    });
    forbid_tokens(&setup.x, &browser);
    forbid_tokens(&setup.x, &service.api);
    let grant = service.grant(DEMO_ID);
    assert_eq!(grant.json["alive"], true, "{}", grant.json);
    assert!(grant.json["lastRefreshAt"].is_number(), "{}", grant.json);
    let me = who_am_i(&browser);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(session(&browser).json["signedIn"], true);
}

/// X refuses the refresh token at the keep-alive (someone spent it): the grant is deleted
/// and its sessions end.
#[test]
fn keep_alive_deletes_a_dead_grant_and_ends_its_sessions() {
    let setup = start(|o| o, &[("XAUTH_KEEPALIVE_DAYS", KEEPALIVE_4S)]);
    let (browser, service) = (setup.browser(), Service::of(&setup));
    assert_eq!(setup.sign_in(&browser).status, 200);
    let (_, refresh) = setup.x.tokens();
    setup.x.refresh_as((CLIENT_ID, CLIENT_SECRET), &refresh[0]);
    forbid_tokens(&setup.x, &browser);
    forbid_tokens(&setup.x, &service.api);
    assert_eq!(setup.refreshes(), 1);

    wait_for("the grant's deletion", Duration::from_secs(40), || {
        service.grant(DEMO_ID).status == 404
    });
    assert_eq!(setup.refreshes(), 2, "the object tried once, and gave up");
    assert_code(&service.grant(DEMO_ID), 404, "no_grant");
    let users_me = setup.stat(&["users_me"]);
    let ended = who_am_i(&browser);
    assert_code(&ended, 401, "no_session");
    assert_eq!(session(&browser).json["signedIn"], false);
    assert_code(
        &service.call(Method::GET, "users/me", DEMO_ID, None),
        404,
        "no_grant",
    );
    assert_eq!(setup.stat(&["users_me"]), users_me, "nothing reached X");
}

// ---------------------------------------------------------------------------------------
// The service API

/// The service token and a user id make the call as that user, with that user's grant,
/// whatever cookie or origin comes along.
#[test]
fn the_service_api_calls_x_as_the_named_user() {
    let setup = start(|o| o, &[]);
    let (ada_browser, bob_browser) = (setup.browser(), setup.browser());
    setup.x.set_user(ada());
    assert_eq!(setup.sign_in(&ada_browser).status, 200);
    setup.x.set_user(bob());
    assert_eq!(setup.sign_in(&bob_browser).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    let users_me = setup.stat(&["users_me"]);

    for user in [ada(), bob()] {
        let me = service.call(Method::GET, "users/me", &user.id, None);
        assert_eq!(me.status, 200, "{}", me.json);
        assert_eq!(me.json["data"]["username"], user.username.as_str());
    }
    assert_eq!(setup.stat(&["users_me"]), users_me + 2);

    let posted = service.post_as("1001", "written by Ada's back end");
    assert_eq!(posted.status, 201, "{}", posted.json);
    assert_eq!(posted.json["data"]["text"], "written by Ada's back end");
    assert_eq!(posts_by(&setup.x, "1001", "written by Ada's back end"), 1);
    assert_eq!(setup.x.posts().len(), 1);

    // Cookies are ignored: Bob's session cookie does not make it Bob's call, nor does an
    // origin matter (no Origin check, no CORS answer).
    let bob_cookie = format!("{COOKIE}={}", bob_browser.cookie(COOKIE).unwrap());
    for origin in ["https://app.example.com", "https://elsewhere.example"] {
        let me = service.send(
            Method::GET,
            "/twitter-api/2/users/me",
            (Some(SERVICE_TOKEN), Some("1001")),
            None,
            &[("cookie", &bob_cookie), ("origin", origin)],
        );
        assert_eq!(me.status, 200, "{origin}: {}", me.json);
        assert_eq!(me.json["data"]["username"], "ada");
    }
    assert_eq!(
        setup.stat(&["api_requests_with_cookie"]),
        0,
        "no cookie reaches X"
    );

    // The same allowlist and error JSON as a session.
    let from_session = xauth_tests::custody::call(&ada_browser, Method::GET, "dm_events", None);
    let from_service = service.call(Method::GET, "dm_events", "1001", None);
    assert_eq!(
        (from_service.status, &from_service.json),
        (from_session.status, &from_session.json)
    );
    assert!(from_service.status >= 400, "{}", from_service.json);
}

/// Without the right service token, or without a user with a stored grant, nothing is
/// sent to X.
#[test]
fn the_service_api_refuses_a_wrong_token_or_an_unknown_user_and_sends_nothing_to_x() {
    let setup = start(|o| o, &[]);
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    setup.x.reset();
    let near_miss = format!("{}x", &SERVICE_TOKEN[..SERVICE_TOKEN.len() - 1]);
    let (access, _) = setup.x.tokens();
    let grant_path = format!("/xauth/grants/{DEMO_ID}");

    for token in [
        None,
        Some(""),
        Some("wrong"),
        Some(near_miss.as_str()),
        Some(&SERVICE_TOKEN[..SERVICE_TOKEN.len() - 1]),
        Some(access[0].as_str()),
    ] {
        for (method, path, body) in [
            (Method::GET, "/twitter-api/2/users/me", None),
            (
                Method::POST,
                "/twitter-api/2/tweets",
                Some(json!({ "text": "forged" })),
            ),
            (Method::GET, grant_path.as_str(), None),
            (Method::DELETE, grant_path.as_str(), None),
        ] {
            let answer = service.send(method, path, (token, Some(DEMO_ID)), body.as_ref(), &[]);
            if token.is_none() && path.starts_with("/twitter-api/") {
                // No Authorization at all is a session call without a session (or its
                // header): refused all the same.
                assert!(
                    matches!(answer.status, 401 | 403),
                    "{path}: {}",
                    answer.json
                );
            } else {
                assert_code(&answer, 401, "invalid_token");
            }
        }
    }
    // The service token with no user, a user id that is not one, or nobody's.
    for user in [None, Some(""), Some("ada"), Some("1001 "), Some("999")] {
        let me = service.send(
            Method::GET,
            "/twitter-api/2/users/me",
            (Some(SERVICE_TOKEN), user),
            None,
            &[],
        );
        assert_code(&me, 404, "no_grant");
        let posted = service.send(
            Method::POST,
            "/twitter-api/2/tweets",
            (Some(SERVICE_TOKEN), user),
            Some(&json!({ "text": "nobody's" })),
            &[],
        );
        assert_code(&posted, 404, "no_grant");
    }
    assert_code(&service.grant("999"), 404, "no_grant");
    assert_code(&service.delete_grant("999"), 404, "no_grant");
    assert_code(&service.grant("not-a-user"), 404, "no_grant");

    let stats = setup.x.stats();
    for counter in ["users_me", "tweets_create", "token", "revoke"] {
        assert_eq!(stats[counter], 0, "{counter}: {stats}");
    }
    // The grant and the session are as they were.
    assert_eq!(setup.x.tokens().0, access);
    assert_eq!(who_am_i(&browser).status, 200);
}

/// Fifty service calls at once on a stale access token, then on one X refuses: one
/// refresh each time, all fifty served.
#[test]
fn fifty_concurrent_service_calls_on_an_expired_token_make_one_refresh() {
    // Tokens that live 70 s turn stale (60 s refresh skew) 10 s after they are issued.
    let setup = start(|o| o.access_ttl(Duration::from_secs(70)), &[]);
    let browser = setup.browser();
    let signed_in_at = Instant::now();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let service = Service::of(&setup);
    assert_eq!(
        service.call(Method::GET, "users/me", DEMO_ID, None).status,
        200
    );
    assert_eq!(setup.refreshes(), 0, "fresh: no refresh yet");
    let users_me = setup.stat(&["users_me"]);
    thread::sleep(Duration::from_millis(10_500).saturating_sub(signed_in_at.elapsed()));

    let url = format!("{}/twitter-api/2/users/me", setup.worker.base_url());
    let authorization = format!("Bearer {SERVICE_TOKEN}");
    let headers = [
        ("authorization", authorization.as_str()),
        ("x-xauth-user", DEMO_ID),
    ];
    let statuses = get_all_at_once(vec![url.clone(); 50], &headers);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(setup.refreshes(), 1, "one refresh for fifty callers");

    setup.x.expire_access_tokens();
    let statuses = get_all_at_once(vec![url; 50], &headers);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(setup.refreshes(), 2, "one refresh after X's 401s");
    assert!(
        setup.stat(&["users_me"]) <= users_me + 50 + 50 + 50,
        "at most one retry each: {}",
        setup.x.stats()
    );
    forbid_tokens(&setup.x, &browser);
    assert_eq!(
        who_am_i(&browser).status,
        200,
        "the session shares the grant"
    );
}

/// `GET /xauth/grants/<id>` describes the grant and holds no token; `DELETE` revokes it at
/// X and ends its sessions.
#[test]
fn the_grants_route_describes_without_tokens_and_delete_revokes_at_x() {
    let setup = start(|o| o, &[]);
    let (laptop, phone) = (setup.browser(), setup.browser());
    assert_eq!(setup.sign_in(&laptop).status, 200);
    assert_eq!(setup.sign_in(&phone).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    let (access, refresh) = setup.x.tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1));

    let grant = service.grant(DEMO_ID);
    assert_eq!(grant.status, 200, "{}", grant.json);
    grant.assert_fields(&[
        "alive",
        "lastRefreshAt",
        "nextKeepAliveAt",
        "refreshTokenAgeDays",
        "scope",
        "sessions",
        "userId",
        "username",
    ]);
    assert_eq!(grant.str("userId"), DEMO_ID);
    assert_eq!(grant.str("username"), "xauthdemo");
    assert_eq!(grant.str("scope"), SCOPES);
    assert_eq!(grant.json["alive"], true);
    assert_eq!(grant.json["sessions"], 2);
    assert_eq!(grant.json["lastRefreshAt"], Value::Null);
    let age = grant.json["refreshTokenAgeDays"].as_f64().expect("an age");
    assert!((0.0..0.001).contains(&age), "just issued: {age}");
    let keep_alive_in = grant.json["nextKeepAliveAt"].as_f64().expect("a time") - unix_now();
    assert!(
        (29.9 * 86_400.0..=30.0 * 86_400.0 + 5.0).contains(&keep_alive_in),
        "the default keep-alive is 30 days: {keep_alive_in} s"
    );
    let text = grant.json.to_string();
    for token in access.iter().chain(&refresh) {
        assert!(!text.contains(token.as_str()));
    }

    // A refresh shows.
    setup.x.expire_access_tokens();
    assert_eq!(who_am_i(&laptop).status, 200);
    forbid_tokens(&setup.x, &service.api);
    forbid_tokens(&setup.x, &laptop);
    forbid_tokens(&setup.x, &phone);
    let refreshed = service.grant(DEMO_ID);
    let at = refreshed.json["lastRefreshAt"]
        .as_f64()
        .expect("a refresh time");
    assert!((unix_now() - at).abs() < 10.0, "{}", refreshed.json);

    assert_eq!(
        service
            .send(
                Method::POST,
                &format!("/xauth/grants/{DEMO_ID}"),
                (Some(SERVICE_TOKEN), None),
                None,
                &[]
            )
            .status,
        405
    );
    let put = service.send(
        Method::PUT,
        &format!("/xauth/grants/{DEMO_ID}"),
        (Some(SERVICE_TOKEN), None),
        None,
        &[],
    );
    assert_eq!(put.status, 405, "{}", put.json);
    assert_eq!(put.header("allow"), Some("GET, DELETE"));
    for path in ["/xauth/grants", "/xauth/", "/xauth/other/1"] {
        let other = service.send(Method::GET, path, (Some(SERVICE_TOKEN), None), None, &[]);
        assert_eq!(other.status, 404, "{path}: {}", other.json);
    }

    let revokes = setup.stat(&["revoke"]);
    let deleted = service.delete_grant(DEMO_ID);
    assert_eq!(deleted.status, 200, "{}", deleted.json);
    assert_eq!(deleted.json, json!({ "revoked": true, "deleted": true }));
    assert!(setup.stat(&["revoke"]) > revokes, "revoked at X");
    assert_eq!(setup.x.tokens(), (vec![], vec![]), "X takes none of it");
    assert_code(&service.grant(DEMO_ID), 404, "no_grant");
    assert_code(&service.delete_grant(DEMO_ID), 404, "no_grant");
    for browser in [&laptop, &phone] {
        assert_code(&who_am_i(browser), 401, "no_session");
    }
}

/// Without `XAUTH_SERVICE_TOKEN` the service API does not exist; misconfigured, it says
/// which variable is wrong.
#[test]
fn the_service_api_is_off_without_its_token_and_checks_its_settings() {
    let setup = Setup::start();
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    setup.x.reset();
    for (method, path) in [
        (Method::GET, format!("/xauth/grants/{DEMO_ID}")),
        (Method::DELETE, format!("/xauth/grants/{DEMO_ID}")),
        (Method::GET, "/xauth/anything".to_owned()),
    ] {
        for token in [Some(SERVICE_TOKEN), None] {
            let answer = service.send(method.clone(), &path, (token, Some(DEMO_ID)), None, &[]);
            assert_code(&answer, 404, "not_found");
        }
    }
    let me = service.call(Method::GET, "users/me", DEMO_ID, None);
    assert_code(&me, 401, "invalid_token");
    let stats = setup.x.stats();
    assert_eq!(
        (stats["users_me"].clone(), stats["revoke"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(who_am_i(&browser).status, 200, "the grant is untouched");
    drop(setup);

    // Misconfigured: the routes that need the setting say which one.
    let x = Emulator::start(EmulatorOptions::default());
    let base = xauth_tests::custody::vars(&x, "http://127.0.0.1:9/");
    // (variables, route, the variable the answer names)
    let cases: [(Vars, &str, &str); 6] = [
        (
            &[("XAUTH_SERVICE_TOKEN", "too-short-for-a-secret")],
            "/xauth/grants/1",
            "XAUTH_SERVICE_TOKEN",
        ),
        (
            &[
                ("XAUTH_SERVICE_TOKEN", SERVICE_TOKEN),
                ("XAUTH_TOKEN_CUSTODY", "browser"),
            ],
            "/xauth/grants/1",
            "XAUTH_TOKEN_CUSTODY",
        ),
        (
            &[("XAUTH_KEEP_GRANTS", "yes")],
            "/twitter-config",
            "XAUTH_KEEP_GRANTS",
        ),
        (
            &[("XAUTH_KEEPALIVE_DAYS", "0")],
            "/twitter-config",
            "XAUTH_KEEPALIVE_DAYS",
        ),
        (
            &[("XAUTH_KEEPALIVE_DAYS", "151")],
            "/twitter-config",
            "XAUTH_KEEPALIVE_DAYS",
        ),
        (
            &[("XAUTH_KEEPALIVE_DAYS", "monthly")],
            "/twitter-config",
            "XAUTH_KEEPALIVE_DAYS",
        ),
    ];
    for (vars, path, named) in cases {
        let mut all = base.clone();
        for (name, value) in vars {
            all.insert(name, (*value).to_owned());
        }
        let worker = xauth_tests::Worker::start(&all);
        let service = Service::new(worker.base_url());
        let answer = service.send(Method::GET, path, (Some(SERVICE_TOKEN), None), None, &[]);
        assert_eq!(answer.status, 500, "{vars:?}: {}", answer.json);
        assert_eq!(
            answer.json["kind"], "misconfigured",
            "{vars:?}: {}",
            answer.json
        );
        assert!(
            answer.str("error_description").contains(named),
            "{vars:?}: {}",
            answer.json
        );
    }
}

// ---------------------------------------------------------------------------------------
// XAUTH_KEEP_GRANTS

#[test]
fn without_keep_grants_the_last_sign_out_revokes_the_grant() {
    let setup = start(|o| o, &[("XAUTH_KEEP_GRANTS", "false")]);
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    let (access, _) = setup.x.tokens();
    let out = post_with_session(&browser, "/twitter-sign-out", &json!({}));
    assert_eq!(out.status, 200, "{}", out.json);
    assert_eq!(
        out.json,
        json!({ "signedOut": true, "grantEnded": true, "revoked": true })
    );
    assert!(setup.stat(&["revoke"]) >= 1);
    assert!(
        setup.x.users_me(&access[0]).is_none(),
        "X no longer takes it"
    );
    assert_eq!(setup.x.tokens(), (vec![], vec![]));
    assert_code(&service.grant(DEMO_ID), 404, "no_grant");
    assert_code(&service.post_as(DEMO_ID, "too late"), 404, "no_grant");
    assert_eq!(setup.stat(&["tweets_create"]), 0);
}

/// A kept grant without `offline.access` has no refresh token: it serves the service API
/// until its access token expires, and the object's alarm deletes it then (not before).
#[test]
fn a_kept_grant_without_offline_access_is_deleted_once_it_expires() {
    const ACCESS_TTL: Duration = Duration::from_secs(6);
    let setup = start(
        |o| o.access_ttl(ACCESS_TTL),
        &[("XAUTH_KEEP_GRANTS", "true")],
    );
    let browser = setup.browser();
    let online_only = "tweet.read tweet.write users.read";
    let code = setup.x.authorize(
        CLIENT_ID,
        &setup.redirect_uri,
        online_only,
        "state",
        CHALLENGE,
    );
    let signed_in_at = unix_now();
    let signed_in = browser.post(
        "/twitter-access-token",
        &json!({ "code": code, "codeVerifier": VERIFIER }),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &browser);
    forbid_tokens(&setup.x, &service.api);
    let info = service.grant(DEMO_ID);
    assert_eq!(info.status, 200, "{}", info.json);
    assert_eq!(info.json["alive"], true);
    assert_eq!(info.json["refreshTokenAgeDays"], Value::Null);
    assert_eq!(
        info.json["nextKeepAliveAt"],
        Value::Null,
        "nothing to keep alive"
    );

    let out = post_with_session(&browser, "/twitter-sign-out", &json!({}));
    assert_eq!(out.json["grantEnded"], false, "kept: {}", out.json);
    let me = service.call(Method::GET, "users/me", DEMO_ID, None);
    assert_eq!(me.status, 200, "usable until it expires: {}", me.json);

    wait_for(
        "the expired grant is deleted",
        Duration::from_secs(30),
        || service.grant(DEMO_ID).status == 404,
    );
    let gone_after = unix_now() - signed_in_at;
    assert!(
        gone_after >= ACCESS_TTL.as_secs_f64() - 1.0,
        "deleted after {gone_after:.1} s, before its token expired"
    );
    assert_code(&service.grant(DEMO_ID), 404, "no_grant");
    assert_eq!(setup.refreshes(), 0, "nothing to refresh with");
}

/// With `XAUTH_KEEP_GRANTS`, the last sign-out leaves the grant to the service API (which
/// still refreshes it); `forget: true` revokes and deletes it.
#[test]
fn with_keep_grants_the_grant_outlives_sign_out_until_forgotten() {
    let setup = start(|o| o, &[("XAUTH_KEEP_GRANTS", "true")]);
    let (laptop, phone) = (setup.browser(), setup.browser());
    assert_eq!(setup.sign_in(&laptop).status, 200);
    assert_eq!(setup.sign_in(&phone).status, 200);
    let service = Service::of(&setup);
    forbid_tokens(&setup.x, &service.api);
    let revokes = setup.stat(&["revoke"]);

    for (browser, sessions_left) in [(&laptop, 1), (&phone, 0)] {
        let out = post_with_session(browser, "/twitter-sign-out", &json!({}));
        assert_eq!(out.status, 200, "{}", out.json);
        assert_eq!(
            out.json,
            json!({ "signedOut": true, "grantEnded": false, "revoked": false })
        );
        assert_code(&who_am_i(browser), 401, "no_session");
        let grant = service.grant(DEMO_ID);
        assert_eq!(grant.json["sessions"], sessions_left, "{}", grant.json);
        assert_eq!(grant.json["alive"], true, "{}", grant.json);
    }
    assert_eq!(setup.stat(&["revoke"]), revokes, "nothing revoked");
    let (access, refresh) = setup.x.tokens();
    assert_eq!(
        (access.len(), refresh.len()),
        (1, 1),
        "X still takes the grant"
    );

    let posted = service.post_as(DEMO_ID, "posted with nobody signed in");
    assert_eq!(posted.status, 201, "{}", posted.json);
    assert_eq!(
        posts_by(&setup.x, DEMO_ID, "posted with nobody signed in"),
        1
    );
    // An expired access token is refreshed for the service as for a session.
    setup.x.expire_access_tokens();
    let refreshes = setup.refreshes();
    let me = service.call(Method::GET, "users/me", DEMO_ID, None);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(setup.refreshes(), refreshes + 1);
    forbid_tokens(&setup.x, &service.api);

    // Signed in again on two devices; one forgets the user everywhere.
    let (desk, tablet) = (setup.browser(), setup.browser());
    assert_eq!(setup.sign_in(&desk).status, 200);
    assert_eq!(setup.sign_in(&tablet).status, 200);
    forbid_tokens(&setup.x, &service.api);
    assert_eq!(service.grant(DEMO_ID).json["sessions"], 2);
    let out = post_with_session(
        &desk,
        "/twitter-sign-out",
        &json!({ "everywhere": true, "forget": true }),
    );
    assert_eq!(out.status, 200, "{}", out.json);
    assert_eq!(
        out.json,
        json!({ "signedOut": true, "grantEnded": true, "revoked": true })
    );
    assert_eq!(setup.x.tokens(), (vec![], vec![]), "revoked at X");
    assert_code(&who_am_i(&tablet), 401, "no_session");
    assert_code(&service.grant(DEMO_ID), 404, "no_grant");
    assert_code(&service.post_as(DEMO_ID, "after forget"), 404, "no_grant");
}

// ---------------------------------------------------------------------------------------
// Scheduled posts

/// A post scheduled from the page is made by the user's object when due, after the user
/// signed out (the grant kept), and the list says so afterwards.
#[test]
fn a_scheduled_post_is_made_after_the_user_signed_out() {
    let setup = start(|o| o, &[("XAUTH_KEEP_GRANTS", "true")]);
    let browser = setup.browser();
    assert_eq!(setup.sign_in(&browser).status, 200);
    let text = "posted by the server, tab closed";

    // Not without a session, nor without the header, nor out of bounds.
    let stranger = setup.browser();
    assert_code(
        &post_with_session(
            &stranger,
            "/twitter-scheduled-posts",
            &json!({ "text": text }),
        ),
        401,
        "no_session",
    );
    assert_code(&browser.get("/twitter-scheduled-posts"), 403, "csrf");
    for body in [
        json!({ "text": "" }),
        json!({ "text": "x".repeat(281) }),
        json!({ "text": text, "delaySeconds": 0 }),
        json!({ "text": text, "delaySeconds": 86_401 }),
        json!({ "delaySeconds": 2 }),
    ] {
        let refused = post_with_session(&browser, "/twitter-scheduled-posts", &body);
        assert_eq!(refused.status, 400, "{body}: {}", refused.json);
    }

    let scheduled_at = unix_now();
    let scheduled = post_with_session(
        &browser,
        "/twitter-scheduled-posts",
        &json!({ "text": text, "delaySeconds": 2 }),
    );
    assert_eq!(scheduled.status, 202, "{}", scheduled.json);
    // `attempts` is main's addition to the contract's four fields (tries made so far).
    scheduled.assert_fields(&["attempts", "dueAt", "id", "status", "text"]);
    assert_eq!(scheduled.json["attempts"], 0);
    assert_eq!(scheduled.str("status"), "scheduled");
    assert_eq!(scheduled.str("text"), text);
    let due = scheduled.json["dueAt"].as_f64().expect("a due time");
    assert!(
        (scheduled_at + 1.0..=scheduled_at + 4.0).contains(&due),
        "due in 2 s: {due} vs {scheduled_at}"
    );
    let id = scheduled.json["id"].clone();
    let listed = get_with_session(&browser, "/twitter-scheduled-posts");
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert_eq!(listed.json["posts"][0]["id"], id, "{}", listed.json);
    assert_eq!(listed.json["posts"][0]["status"], "scheduled");
    assert_eq!(setup.stat(&["tweets_create"]), 0, "not yet");

    let out = post_with_session(&browser, "/twitter-sign-out", &json!({}));
    assert_eq!(out.json["grantEnded"], false, "{}", out.json);
    assert_code(&who_am_i(&browser), 401, "no_session");
    wait_for("the scheduled post at X", Duration::from_secs(30), || {
        posts_by(&setup.x, DEMO_ID, text) == 1
    });
    assert!(unix_now() >= due - 0.5, "not before it was due");
    assert_eq!(setup.stat(&["tweets_create"]), 1);

    // Back on the page: the list says it was posted, with X's id.
    assert_eq!(setup.sign_in(&browser).status, 200);
    let listed = get_with_session(&browser, "/twitter-scheduled-posts");
    let entry = listed.json["posts"]
        .as_array()
        .and_then(|posts| posts.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("the post is still listed: {}", listed.json))
        .clone();
    assert_eq!(entry["status"], "posted", "{entry}");
    assert_eq!(entry["postId"], setup.x.posts()[0]["id"], "{entry}");
}

// ---------------------------------------------------------------------------------------
// The service-binding example

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/service-binding")
}

/// `examples/service-binding/worker.js` in workerd beside the built xauth worker, bound
/// to it as its wrangler.toml says, with no network of its own: it posts as a user whose
/// last session ended, and relays xauth's refusal for a user with no grant.
#[test]
fn the_service_binding_example_posts_as_a_stored_user() {
    let dir = example_dir();
    let config: toml::Table = toml::from_str(
        &std::fs::read_to_string(dir.join("wrangler.toml")).expect("the example's wrangler.toml"),
    )
    .expect("valid TOML");
    let binding = &config["services"][0];
    assert_eq!(
        binding["service"].as_str(),
        Some("xauth"),
        "binds to the xauth Worker"
    );
    let script = dir.join(config["main"].as_str().expect("a main module"));

    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let x = xauth_tests::custody::emulator(|o| o, &redirect_uri);
    let mut vars: BTreeMap<&str, String> = xauth_tests::custody::vars(&x, &redirect_uri);
    vars.insert("XAUTH_SERVICE_TOKEN", SERVICE_TOKEN.to_owned());
    vars.insert("XAUTH_KEEP_GRANTS", "true".to_owned());
    let companion = Companion {
        script: &script,
        port: free_port(),
        binding: binding["binding"].as_str().expect("a binding name"),
        vars: BTreeMap::from([("XAUTH_SERVICE_TOKEN".to_owned(), SERVICE_TOKEN.to_owned())]),
    };
    let workerd = Workerd::start_with_companion(&[port], &vars, Some(&companion));

    x.set_user(ada());
    let browser = Api::at(workerd.base_url(0), &[CLIENT_SECRET]);
    let signed_in = xauth_tests::custody::sign_in(&x, &redirect_uri, &browser);
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    let out = post_with_session(&browser, "/twitter-sign-out", &json!({}));
    assert_eq!(out.json["grantEnded"], false, "{}", out.json);

    let example = Api::at(workerd.base_url(1), &[CLIENT_SECRET, SERVICE_TOKEN]);
    forbid_tokens(&x, &example);
    let text = "posted by another Worker, through a service binding";
    let posted = example.post("/post-as/1001", &json!({ "text": text }));
    assert_eq!(posted.status, 201, "{}\n{}", posted.json, workerd.output());
    assert_eq!(posted.json["data"]["text"], text);
    assert_eq!(posts_by(&x, "1001", text), 1);

    let nobody = example.post("/post-as/1002", &json!({ "text": text }));
    assert_code(&nobody, 404, "no_grant");
    assert_eq!(x.posts().len(), 1, "nothing more reached X");
}
