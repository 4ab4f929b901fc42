//! The token keeper (`session.fetch`, refresh, hooks, tabs) in headless Chromium, against
//! the built worker in workerd and the emulator as X, counted at the emulator.
//!
//! Each test opens a plain page of the worker's origin (`/twitter-config`, so that the demo
//! app's own session does not refresh behind the test's back), loads the browser package
//! there, makes an `XAuth` with recording hooks (`window.t`), signs in with `signInUrl()`,
//! the emulator's consent and `handleCallback(url)`, and works from there. The last test
//! clicks through the demo's own "Who am I" and "Post a test post". "Expired" means
//! what the browser believes: the tokens the app kept from `onTokenUpdate`, resumed with
//! an `expiresAt` in the past (X still takes them, so only the keeper's own judgement
//! triggers the refresh). Observing the page's `fetch` (it is wrapped, not replaced) shows
//! which token each request carried.

use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use serde_json::{Value, json};
use xauth_tests::User;
use xauth_tests::browser::{Demo, PATIENCE, Page};

/// A page of the worker's origin that runs no app: `GET /twitter-config`'s JSON.
const BLANK: &str = "/twitter-config";

/// Makes `window.t`: an `XAuth` from the worker with recording hooks and the options in
/// `args[0]` (over `storage: "local"`, `autoRefresh: false`), and a recorder of what the
/// page sends.
const SETUP: &str = r#"
    const xauthWeb = await import("/pkg/xauth_web.js");
    await xauthWeb.default();
    const { XAuth } = xauthWeb;
    const t = (window.t = { updates: [], refreshErrors: [], signedOut: [], sent: [], hookDelayMs: 0 });
    const options = {
        storage: "local",
        autoRefresh: false,
        async onTokenUpdate(tokens) {
            const update = { ...tokens, start: performance.now() };
            t.updates.push(update);
            if (t.hookDelayMs) await new Promise((resolve) => setTimeout(resolve, t.hookDelayMs));
            update.end = performance.now();
        },
        onTokenRefreshError(error) {
            t.refreshErrors.push({ code: error.code, kind: error.kind ?? null });
        },
        onSignedOut(reason) {
            t.signedOut.push(reason);
        },
        ...args[0],
    };
    t.xauth = await XAuth.fromWorker("", options);
    if (!window.realFetch) {
        window.realFetch = window.fetch;
        window.fetch = (input, init) => {
            const headers = new Headers(init?.headers);
            t.sent.push({ url: String(input), auth: headers.get("authorization"), at: performance.now() });
            return window.realFetch.call(window, input, init);
        };
    }
    return null;
"#;

/// Replaces `t.session` by one resumed from the tokens the app was last given, as if they
/// had expired a minute ago.
const RESUME_EXPIRED: &str = r#"
    const last = t.updates.at(-1);
    t.session?.free();
    t.session = t.xauth.resumeSession({
        accessToken: last.accessToken,
        refreshToken: last.refreshToken,
        scope: last.scope,
        expiresAt: Math.floor(Date.now() / 1000) - 60,
    });
    return t.session.accessToken;
"#;

const WHO_AM_I: &str = r#"
    const response = await t.session.fetch("/2/users/me");
    return { status: response.status, body: await response.json() };
"#;

// ---------------------------------------------------------------------------------------
// The scenarios

#[tokio::test]
async fn fifty_concurrent_calls_on_an_expired_token_refresh_once_and_wait_for_on_token_update() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    let old_token = run(&page, RESUME_EXPIRED).await;
    demo.x.reset();

    let outcome = run(
        &page,
        r#"
        t.hookDelayMs = 300;
        const calls = Array.from({ length: 50 }, () =>
            t.session.fetch("https://api.x.com/2/users/me").then((r) => r.status));
        return { statuses: await Promise.all(calls), token: t.session.accessToken };
        "#,
    )
    .await;

    assert!(
        outcome["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s == 200),
        "{outcome}"
    );
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 1,
        "one refresh for 50 callers: {stats}"
    );
    assert_eq!(stats["users_me"], 50, "{stats}");

    // The new token was first sent after onTokenUpdate (held up 300 ms) had finished, and
    // the stale one not at all.
    let new_token = outcome["token"].as_str().unwrap();
    assert_ne!(new_token, old_token);
    let t = run(&page, "return { updates: t.updates, sent: t.sent };").await;
    let update = t["updates"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(update["accessToken"], new_token);
    let hook_end = update["end"].as_f64().expect("the hook finished");
    let bearer = |token: &str| format!("Bearer {token}");
    let sent = t["sent"].as_array().unwrap();
    let with_new: Vec<f64> = sent
        .iter()
        .filter(|s| s["auth"] == bearer(new_token))
        .map(|s| s["at"].as_f64().unwrap())
        .collect();
    assert_eq!(with_new.len(), 50, "{t}");
    assert!(
        with_new.iter().all(|at| *at >= hook_end),
        "sent before onTokenUpdate finished ({hook_end}): {with_new:?}"
    );
    assert!(
        !sent
            .iter()
            .any(|s| s["auth"] == bearer(old_token.as_str().unwrap())),
        "the expired token was sent: {t}"
    );

    page.close().await;
}

#[tokio::test]
async fn two_tabs_racing_on_an_expired_token_refresh_once() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    let (first, second) = two_tabs_on_one_expired_session(&page, json!({})).await;
    // The first refresh is held at X for a while, so the second tab asks while it is open.
    demo.x.inject_fault_slow("token", 1_500, 1);

    let results = race(&page, &first, &second).await;

    for (tab, result) in [("first", &results.0), ("second", &results.1)] {
        assert_eq!(result["status"], 200, "{tab} tab: {result}");
        assert_eq!(result["signedOut"], json!([]), "{tab} tab: {result}");
    }
    assert_eq!(
        results.0["token"], results.1["token"],
        "both tabs use the one new token"
    );
    let stats = demo.x.stats();
    assert_eq!(stats["token_by_grant"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["users_me"], 2, "{stats}");

    // Signing out in one tab ends the session in the other too.
    page.client.switch_to_window(first).await.unwrap();
    let signed_out = try_run(&page, "await t.session.signOut(); return t.signedOut;").await;
    assert_eq!(signed_out, Ok(json!(["sign_out"])));
    page.client.switch_to_window(second).await.unwrap();
    let told = page
        .wait_until(
            "the second tab to hear of it",
            "return t.signedOut.length ? { reasons: t.signedOut, signedIn: t.session.signedIn } : null;",
        )
        .await;
    assert_eq!(
        told,
        json!({ "reasons": ["signed_out_elsewhere"], "signedIn": false })
    );
    assert_eq!(
        demo.x.stats()["revoke"],
        1,
        "revoked once, by the first tab"
    );

    page.close().await;
}

#[tokio::test]
async fn without_web_locks_the_tab_that_loses_the_race_adopts_the_winners_tokens() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    let no_locks = json!({});
    let (first, second) = two_tabs_on_one_expired_session_without_locks(&page, no_locks).await;
    demo.x.inject_fault_slow("token", 1_500, 1);

    let results = race(&page, &first, &second).await;

    // Both refreshes reach X; the one sent with the spent refresh token loses and its tab
    // takes the tokens the winner stored instead of signing the user out.
    let stats = demo.x.stats();
    assert_eq!(stats["token_by_grant"]["refresh_token"], 2, "{stats}");
    for (tab, result) in [("first", &results.0), ("second", &results.1)] {
        assert_eq!(result["status"], 200, "{tab} tab: {result}");
        assert_eq!(result["signedOut"], json!([]), "{tab} tab: {result}");
        assert_eq!(result["signedIn"], true, "{tab} tab: {result}");
    }
    assert_eq!(results.0["token"], results.1["token"]);

    page.close().await;
}

#[tokio::test]
async fn a_refresh_that_fails_transiently_is_not_remembered() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    run(&page, RESUME_EXPIRED).await;
    demo.x.reset();
    demo.x.inject_fault("token", "500", 1);

    let failed = try_run(&page, WHO_AM_I).await.expect_err("X is down");
    assert_eq!(failed["code"], "refresh_failed", "{failed}");
    assert_eq!(failed["kind"], "transient", "{failed}");
    let t = run(
        &page,
        "return { errors: t.refreshErrors, signedOut: t.signedOut, signedIn: t.session.signedIn };",
    )
    .await;
    assert_eq!(
        t,
        json!({ "errors": [{ "code": "refresh_failed", "kind": "transient" }], "signedOut": [], "signedIn": true })
    );

    let answer = run(&page, WHO_AM_I).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["data"]["username"], "xauthdemo");
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 2,
        "tried again: {stats}"
    );
    assert_eq!(stats["users_me"], 1, "{stats}");

    page.close().await;
}

#[tokio::test]
async fn a_dead_grant_signs_out_once_and_is_never_tried_again() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    // The user revoked the app (here: its refresh token, through the worker) elsewhere.
    let revoked = run(
        &page,
        r#"
        const response = await fetch("/twitter-revoke-token", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ token: t.updates.at(-1).refreshToken, tokenTypeHint: "refresh_token" }),
        });
        return response.status;
        "#,
    )
    .await;
    assert_eq!(revoked, 200);
    run(&page, RESUME_EXPIRED).await;
    demo.x.reset();

    let failed = try_run(&page, WHO_AM_I)
        .await
        .expect_err("the grant is dead");
    assert_eq!(failed["code"], "refresh_failed", "{failed}");
    assert_eq!(failed["kind"], "reauthorize", "{failed}");
    for _ in 0..3 {
        let refused = try_run(&page, WHO_AM_I).await.expect_err("signed out");
        assert_eq!(refused["code"], "signed_out", "{refused}");
    }
    let refused = try_run(&page, "await t.session.refresh();")
        .await
        .expect_err("signed out");
    assert_eq!(refused["code"], "signed_out", "{refused}");

    let t = run(
        &page,
        r#"return { signedOut: t.signedOut, errors: t.refreshErrors, signedIn: t.session.signedIn,
                    token: t.session.accessToken, stored: localStorage.getItem("xauth:session") };"#,
    )
    .await;
    assert_eq!(t["signedOut"], json!(["reauthorize"]), "told once: {t}");
    assert_eq!(t["errors"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["signedIn"], false);
    assert_eq!(t["token"], "");
    assert_eq!(t["stored"], Value::Null, "the dead tokens are not kept");
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 1,
        "no second try: {stats}"
    );
    assert_eq!(stats["users_me"], 0, "no call with a dead token: {stats}");

    page.close().await;
}

#[tokio::test]
async fn a_401_retry_replays_the_post_body_and_a_403_is_not_retried() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    let token = sign_in(&page).await;
    // X stops taking the token although it has not expired yet (as after a revocation
    // of just that token): the first call gets a 401.
    demo.x.expire_access_token(&token);
    demo.x.reset();
    const POST: &str = r#"
        const response = await (args[1] ?? t.session).fetch("/2/tweets", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: new Blob([JSON.stringify({ text: args[0] })]),
        });
        return { status: response.status, body: await response.json() };
    "#;
    let text = "a body that must survive a retry ✓";

    let posted = try_run_with(&page, POST, vec![json!(text)]).await.unwrap();
    assert_eq!(posted["status"], 201, "{posted}");
    assert_eq!(posted["body"]["data"]["text"], text);
    let stats = demo.x.stats();
    assert_eq!(stats["tweets_create"], 2, "refused, then retried: {stats}");
    assert_eq!(stats["token_by_grant"]["refresh_token"], 1, "{stats}");
    assert_eq!(demo.x.posts().len(), 1);
    assert_eq!(demo.x.posts()[0]["text"], text);

    // The same text again: X's 403 for duplicate content is not about the token.
    let duplicate = try_run_with(&page, POST, vec![json!(text)]).await.unwrap();
    assert_eq!(duplicate["status"], 403, "{duplicate}");
    assert!(
        duplicate["body"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("duplicate content"),
        "X's answer is passed on: {duplicate}"
    );
    let stats = demo.x.stats();
    assert_eq!(stats["tweets_create"], 3, "not retried: {stats}");
    assert_eq!(stats["token_by_grant"]["refresh_token"], 1, "{stats}");

    // With refreshOn403 a 403 is worth one refresh and one retry.
    run(
        &page,
        r#"
        const x403 = await t.xauth.constructor.fromWorker("", { refreshOn403: true, autoRefresh: false });
        const last = t.updates.at(-1);
        t.session.free();
        t.session = x403.resumeSession(last);
        return null;
        "#,
    )
    .await;
    let duplicate = try_run_with(&page, POST, vec![json!(text)]).await.unwrap();
    assert_eq!(duplicate["status"], 403, "{duplicate}");
    let stats = demo.x.stats();
    assert_eq!(stats["tweets_create"], 5, "retried once: {stats}");
    assert_eq!(stats["token_by_grant"]["refresh_token"], 2, "{stats}");

    page.close().await;
}

#[tokio::test]
async fn the_proxy_refuses_other_paths_and_passes_xs_rate_limit_headers() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    demo.x.reset();

    let answer = run(
        &page,
        r#"
        const me = await t.session.fetch("/2/users/me");
        const dm = await t.session.fetch("https://api.x.com/2/dm_events");
        return {
            me: me.status,
            limit: me.headers.get("x-rate-limit-limit"),
            remaining: me.headers.get("x-rate-limit-remaining"),
            reset: me.headers.get("x-rate-limit-reset"),
            cookie: me.headers.get("set-cookie"),
            dm: dm.status,
            dmBody: await dm.json(),
        };
        "#,
    )
    .await;
    assert_eq!(answer["me"], 200, "{answer}");
    for header in ["limit", "remaining", "reset"] {
        let value = answer[header].as_str().unwrap_or_default();
        assert!(
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            "x-rate-limit-{header}: {answer}"
        );
    }
    assert_eq!(answer["dm"], 403, "{answer}");
    assert_eq!(answer["dmBody"]["error"], "path_not_allowed", "{answer}");

    let refused = try_run(
        &page,
        r#"await t.session.fetch("https://evil.example/2/users/me");"#,
    )
    .await
    .expect_err("not an X API URL");
    assert_eq!(refused["code"], "invalid_request", "{refused}");

    let stats = demo.x.stats();
    assert_eq!(stats["users_me"], 1, "{stats}");
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 0,
        "a 403 from the worker is not a reason to refresh: {stats}"
    );

    page.close().await;
}

#[tokio::test]
async fn auto_refresh_runs_before_expiry_and_stops_at_sign_out() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({ "autoRefresh": true })).await;
    sign_in(&page).await;
    // Tokens that turn stale (60 s skew) two seconds from now.
    const RESUME_SOON_STALE: &str = r#"
        const last = t.updates.at(-1);
        t.session?.free();
        t.session = t.xauth.resumeSession({ ...last, expiresAt: Math.floor(Date.now() / 1000) + 62 });
        return t.updates.length;
    "#;
    let updates = run(&page, RESUME_SOON_STALE).await;
    demo.x.reset();

    let deadline = Instant::now() + PATIENCE;
    while run(&page, "return t.updates.length;").await == updates {
        assert!(Instant::now() < deadline, "no refresh by the timer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(demo.x.stats()["token_by_grant"]["refresh_token"], 1);
    assert_eq!(demo.x.stats()["users_me"], 0, "no call was needed");

    // Signed out before its timer fires, a session refreshes nothing.
    run(&page, RESUME_SOON_STALE).await;
    let revoked = try_run(&page, "await t.session.signOut(); return t.signedOut;").await;
    assert_eq!(revoked, Ok(json!(["sign_out"])));
    demo.x.reset();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stats = demo.x.stats();
    assert_eq!(stats["token"], 0, "the timer stopped: {stats}");

    page.close().await;
}

#[tokio::test]
async fn the_demo_calls_x_through_the_proxy_and_logs_it() {
    // Tokens that turn stale (60 s skew) three seconds after they are issued, as
    // `cargo xtask dev` makes them short, so the demo's refreshes show while one watches.
    let demo = Demo::start_with(|x| x.access_ttl(Duration::from_secs(63))).await;
    let page = demo.open().await;
    page.sign_in().await;
    let refreshed = page
        .wait_until(
            "a refresh in the demo's log",
            r#"const log = document.getElementById("log").innerText;
               return (log.match(/Token updated/g) ?? []).length >= 2 ? log : null;"#,
        )
        .await;
    assert!(
        refreshed
            .as_str()
            .unwrap()
            .contains("and a new refresh token"),
        "{refreshed}"
    );
    assert!(
        demo.x.stats()["token_by_grant"]["refresh_token"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "the refresh reached X"
    );
    demo.x.reset();

    page.click("who-am-i").await;
    let logged = page.wait_for_log("/2/users/me").await;
    assert!(logged.contains("200: X Demo User (@xauthdemo)"), "{logged}");

    page.click("post-test").await;
    let logged = page.wait_for_log("/2/tweets").await;
    assert!(logged.contains("201: posted"), "{logged}");
    let posts = demo.x.posts();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Hello from xauth")
    );
    let stats = demo.x.stats();
    assert_eq!(stats["users_me"], 1, "{stats}");
    assert_eq!(stats["tweets_create"], 1, "{stats}");
    assert_eq!(stats["token_by_grant"]["authorization_code"], 0, "{stats}");

    page.close().await;
}

// ---------------------------------------------------------------------------------------
// Whose tokens a tab takes, the page's clock, and the channel

/// Bob, a second user of X (the emulator's default user is @xauthdemo).
fn bob() -> User {
    User {
        id: "1002".into(),
        name: "Bob".into(),
        username: "bob".into(),
    }
}

/// What the first tab does after a sign-in in the second: asks for a refresh (which, in
/// a tab that takes whatever localStorage holds, swaps in the other sign-in's tokens),
/// then calls `users/me`.
const PROBE: &str = r#"
    let refresh = "ok";
    try { await t.session.refresh(); } catch (e) { refresh = e.code; }
    let me;
    try {
        const response = await t.session.fetch("/2/users/me");
        me = { status: response.status, username: (await response.json()).data?.username };
    } catch (e) {
        me = { error: e.code };
    }
    return { refresh, me, signedIn: t.session.signedIn, signedOut: t.signedOut,
             user: t.session.user?.username ?? null };
"#;

/// Waits (the revocations are sent in the background) until X no longer takes the grant's
/// access token, then tries a refresh with its refresh token through the worker: whether
/// that still works (it spends the token, if it is alive).
async fn revoked_but_refreshable(page: &Page<'_>, access: &str, refresh: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while page.demo.x.users_me(access).is_some() {
        assert!(
            Instant::now() < deadline,
            "X still takes the access token of the replaced grant"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refreshed = try_run_with(
        page,
        r#"
        const response = await fetch("/twitter-refresh-token", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ refreshToken: args[0] }),
        });
        return response.status;
        "#,
        vec![json!(refresh)],
    )
    .await
    .unwrap();
    refreshed == 200
}

/// Signs in in a second tab (a fresh `handleCallback`, not a restore); its handle.
async fn sign_in_in_a_second_tab(page: &Page<'_>, options: Value) -> WindowHandle {
    let second = page
        .client
        .new_window(true)
        .await
        .expect("a second tab")
        .handle;
    page.client.switch_to_window(second.clone()).await.unwrap();
    goto_blank(page).await;
    setup(page, options).await;
    sign_in(page).await;
    second
}

#[tokio::test]
async fn a_sign_in_as_someone_else_in_another_tab_ends_this_tabs_session_and_revokes_it() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    let first = page.client.window().await.unwrap();
    let ada = run(&page, "return t.updates.at(-1);").await;

    demo.x.set_user(bob());
    let second = sign_in_in_a_second_tab(&page, json!({})).await;
    let bobs = run(&page, "return t.updates.at(-1);").await;
    demo.x.reset();

    page.client.switch_to_window(first.clone()).await.unwrap();
    let probe = run(&page, PROBE).await;
    assert_ne!(
        probe["me"]["username"], "bob",
        "the first tab acts as another user: {probe}"
    );
    assert_ne!(probe["user"], "bob", "{probe}");
    assert_eq!(probe["refresh"], "signed_out", "{probe}");
    assert_eq!(probe["me"], json!({ "error": "signed_out" }), "{probe}");
    assert_eq!(probe["signedIn"], false, "{probe}");
    assert_eq!(
        probe["signedOut"],
        json!(["signed_out_elsewhere"]),
        "{probe}"
    );
    let stats = demo.x.stats();
    assert_eq!(
        stats["users_me"], 0,
        "nothing sent for the first tab: {stats}"
    );
    // Ada's grant is revoked: nobody holds it any more.
    let refreshable = revoked_but_refreshable(
        &page,
        ada["accessToken"].as_str().unwrap(),
        ada["refreshToken"].as_str().unwrap(),
    )
    .await;
    assert!(!refreshable, "Ada's refresh token still works");

    // Bob's session goes on in the second tab, and stays the stored one.
    page.client.switch_to_window(second).await.unwrap();
    let stored = run(
        &page,
        r#"return JSON.parse(localStorage.getItem("xauth:session"))?.access_token ?? null;"#,
    )
    .await;
    assert_eq!(
        stored, bobs["accessToken"],
        "the first tab's end left it alone"
    );
    let answer = run(&page, WHO_AM_I).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["data"]["username"], "bob", "{answer}");
    let t = run(
        &page,
        r#"await t.session.refresh();
           return { signedOut: t.signedOut, stored: JSON.parse(localStorage.getItem("xauth:session")),
                    token: t.session.accessToken };"#,
    )
    .await;
    assert_eq!(t["signedOut"], json!([]), "{t}");
    assert_eq!(t["stored"]["access_token"], t["token"], "{t}");
    assert_eq!(t["stored"]["user"]["username"], "bob", "{t}");
    assert_ne!(t["token"], bobs["accessToken"], "refreshed");

    page.close().await;
}

#[tokio::test]
async fn a_fresh_sign_in_of_the_same_user_in_another_tab_replaces_this_tabs_grant() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    setup(&page, json!({})).await;
    sign_in(&page).await;
    let first = page.client.window().await.unwrap();
    let old = run(&page, "return t.updates.at(-1);").await;

    let second = sign_in_in_a_second_tab(&page, json!({})).await;
    demo.x.reset();

    page.client.switch_to_window(first).await.unwrap();
    let probe = run(&page, PROBE).await;
    assert_eq!(
        probe["signedOut"],
        json!(["signed_out_elsewhere"]),
        "{probe}"
    );
    assert_eq!(probe["me"], json!({ "error": "signed_out" }), "{probe}");
    let refreshable = revoked_but_refreshable(
        &page,
        old["accessToken"].as_str().unwrap(),
        old["refreshToken"].as_str().unwrap(),
    )
    .await;
    assert!(
        !refreshable,
        "the replaced grant's refresh token still works"
    );
    // The app can follow the other tab: the stored session is the new sign-in.
    let followed = run(
        &page,
        r#"t.session = t.xauth.restoreSession();
           const response = await t.session.fetch("/2/users/me");
           return { status: response.status, username: (await response.json()).data.username };"#,
    )
    .await;
    assert_eq!(followed, json!({ "status": 200, "username": "xauthdemo" }));

    page.client.switch_to_window(second).await.unwrap();
    let t = run(
        &page,
        "return { signedOut: t.signedOut, signedIn: t.session.signedIn };",
    )
    .await;
    assert_eq!(t, json!({ "signedOut": [], "signedIn": true }));

    page.close().await;
}

/// Puts the page's clock (`Date.now`) `args[0]` milliseconds ahead; run before `SETUP`.
const CLOCK_AHEAD: &str = r#"
    const real = Date.now.bind(Date);
    Date.now = () => real() + args[0];
    return null;
"#;

#[tokio::test]
async fn a_browser_clock_hours_ahead_makes_no_refresh_storm() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    try_run_with(&page, CLOCK_AHEAD, vec![json!(3 * 3_600_000)])
        .await
        .unwrap();
    setup(&page, json!({ "autoRefresh": true })).await;
    sign_in(&page).await;
    demo.x.reset();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let answer = run(&page, WHO_AM_I).await;
    assert_eq!(answer["status"], 200, "{answer}");
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 0,
        "the tokens are two hours fresh by the page's own clock: {stats}"
    );
    let left = run(&page, "return t.session.expiresAt - Date.now() / 1000;").await;
    let left = left.as_f64().unwrap();
    assert!((7_000.0..=7_201.0).contains(&left), "expires in {left} s");

    page.close().await;
}

#[tokio::test]
async fn tokens_stale_on_arrival_are_refreshed_at_most_once_per_interval() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    // A skew longer than X's tokens live: each one is stale the moment it arrives.
    setup(
        &page,
        json!({ "autoRefresh": true, "refreshSkewSeconds": 7300 }),
    )
    .await;
    sign_in(&page).await;
    let deadline = Instant::now() + PATIENCE;
    while demo.x.stats()["token_by_grant"]["refresh_token"] == 0 {
        assert!(Instant::now() < deadline, "no refresh by the timer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    demo.x.reset();

    tokio::time::sleep(Duration::from_secs(5)).await;
    for _ in 0..3 {
        let answer = run(&page, WHO_AM_I).await;
        assert_eq!(answer["status"], 200, "{answer}");
    }
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["refresh_token"], 0,
        "one refresh, then none within the interval: {stats}"
    );
    assert_eq!(stats["users_me"], 3, "{stats}");
    let t = run(
        &page,
        "return { errors: t.refreshErrors, signedOut: t.signedOut };",
    )
    .await;
    assert_eq!(t, json!({ "errors": [], "signedOut": [] }));

    page.close().await;
}

#[tokio::test]
async fn a_listener_on_the_channel_hears_no_tokens_of_memory_or_session_sessions() {
    let demo = Demo::start().await;
    let page = open(&demo).await;
    // Any script of the origin can open the channel the tabs coordinate on.
    run(
        &page,
        r#"window.heard = [];
           window.listener = new BroadcastChannel("xauth:refresh:");
           listener.onmessage = (event) => heard.push(JSON.stringify(event.data));
           return null;"#,
    )
    .await;
    const SIGN_IN_REFRESH_SIGN_OUT: &str = r#"
        const first = t.session.accessToken;
        await t.session.refresh();
        const refreshed = t.session.accessToken !== first;
        await t.session.signOut();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const heard = window.heard.splice(0);
        return { refreshed, heard };
    "#;
    for storage in ["memory", "session"] {
        setup(&page, json!({ "storage": storage })).await;
        sign_in(&page).await;
        let outcome = run(&page, SIGN_IN_REFRESH_SIGN_OUT).await;
        assert_eq!(
            outcome,
            json!({ "refreshed": true, "heard": [] }),
            "storage {storage}"
        );
    }
    // With "local" the tabs share the session (localStorage holds it for every script of
    // the origin anyway), so the listener hears its refresh: it was listening all along.
    setup(&page, json!({ "storage": "local" })).await;
    sign_in(&page).await;
    let outcome = run(&page, SIGN_IN_REFRESH_SIGN_OUT).await;
    assert_eq!(outcome["refreshed"], true);
    let heard = outcome["heard"].as_array().unwrap();
    assert!(
        heard
            .iter()
            .any(|m| m.as_str().unwrap().contains(r#""type":"tokens""#)),
        "{outcome}"
    );

    page.close().await;
}

// ---------------------------------------------------------------------------------------
// Steps

/// A new browser on [`BLANK`].
async fn open(demo: &Demo) -> Page<'_> {
    let page = Page {
        client: demo.browser.session().await,
        demo,
    };
    goto_blank(&page).await;
    page
}

async fn goto_blank(page: &Page<'_>) {
    let url = format!("{}{BLANK}", page.demo.worker.base_url());
    page.client
        .goto(&url)
        .await
        .expect("open a page of the worker's origin");
}

async fn setup(page: &Page<'_>, options: Value) {
    try_run_with(page, SETUP, vec![options])
        .await
        .unwrap_or_else(|err| panic!("setup: {err}"));
}

/// Signs in with the page's `t.xauth` (consent at the emulator); the access token.
async fn sign_in(page: &Page<'_>) -> String {
    let url = run(page, "return t.xauth.signInUrl().url;").await;
    let callback = page.demo.x.approve(url.as_str().unwrap());
    let token = try_run_with(
        page,
        "t.session = await t.xauth.handleCallback(args[0]); return t.session.accessToken;",
        vec![json!(callback)],
    )
    .await
    .unwrap_or_else(|err| panic!("sign-in: {err}"));
    token.as_str().unwrap().to_owned()
}

async fn run(page: &Page<'_>, body: &str) -> Value {
    try_run(page, body)
        .await
        .unwrap_or_else(|err| panic!("{body}: {err}"))
}

async fn try_run(page: &Page<'_>, body: &str) -> Result<Value, Value> {
    page.run_async(body, Vec::new()).await
}

async fn try_run_with(page: &Page<'_>, body: &str, args: Vec<Value>) -> Result<Value, Value> {
    page.run_async(body, args).await
}

/// Two tabs of the demo on one session (shared through localStorage), which both believe
/// has expired. The page's window is the first.
async fn two_tabs_on_one_expired_session(
    page: &Page<'_>,
    options: Value,
) -> (WindowHandle, WindowHandle) {
    two_tabs(page, options, false).await
}

/// The same, in tabs whose browser has no Web Locks API.
async fn two_tabs_on_one_expired_session_without_locks(
    page: &Page<'_>,
    options: Value,
) -> (WindowHandle, WindowHandle) {
    two_tabs(page, options, true).await
}

async fn two_tabs(
    page: &Page<'_>,
    options: Value,
    hide_locks: bool,
) -> (WindowHandle, WindowHandle) {
    const HIDE_LOCKS: &str =
        r#"Object.defineProperty(navigator, "locks", { value: undefined }); return null;"#;
    if hide_locks {
        run(page, HIDE_LOCKS).await;
    }
    setup(page, options.clone()).await;
    sign_in(page).await;
    run(page, RESUME_EXPIRED).await;
    let first = page.client.window().await.expect("the first tab");

    let second = page
        .client
        .new_window(true)
        .await
        .expect("a second tab")
        .handle;
    page.client
        .switch_to_window(second.clone())
        .await
        .expect("switch to the second tab");
    goto_blank(page).await;
    if hide_locks {
        run(page, HIDE_LOCKS).await;
    }
    setup(page, options).await;
    let restored = run(
        page,
        "t.session = t.xauth.restoreSession(); return t.session?.expiresAt < Date.now() / 1000;",
    )
    .await;
    assert_eq!(restored, true, "the second tab has the expired session");
    page.demo.x.reset();
    (first, second)
}

/// Starts a `/2/users/me` call in each tab, about at once, and waits for both:
/// `{status, token, signedIn, signedOut}` per tab.
async fn race(page: &Page<'_>, first: &WindowHandle, second: &WindowHandle) -> (Value, Value) {
    const START: &str = r#"
        t.result = null;
        t.session.fetch("/2/users/me").then(
            (response) => (t.result = { status: response.status }),
            (error) => (t.result = { status: error.code }),
        );
        return null;
    "#;
    const RESULT: &str = r#"
        return t.result && { ...t.result, token: t.session.accessToken,
                             signedIn: t.session.signedIn, signedOut: t.signedOut };
    "#;
    for tab in [first, second] {
        page.client.switch_to_window(tab.clone()).await.unwrap();
        run(page, START).await;
    }
    let mut results = Vec::new();
    for tab in [first, second] {
        page.client.switch_to_window(tab.clone()).await.unwrap();
        results.push(page.wait_until("the call's result", RESULT).await);
    }
    let second_result = results.pop().unwrap();
    (results.pop().unwrap(), second_result)
}
