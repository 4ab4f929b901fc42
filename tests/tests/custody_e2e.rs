//! The demo in worker custody (as `cargo xtask dev` runs it), in headless Chromium against
//! the built worker in workerd and the emulator as X: the page signs in, calls X and
//! signs out without any of X's tokens ever reaching it.
//!
//! Before the sign-in, the page starts recording every response body it receives
//! ([`Page::record_responses`]); after it, those bodies, `document.cookie`, both storages
//! and everything reachable from the page's `window` are searched for every token X issued
//! ([`Page::assert_no_token`]).
//!
//! [`Page::record_responses`]: xauth_tests::browser::Page::record_responses
//! [`Page::assert_no_token`]: xauth_tests::browser::Page::assert_no_token
//!
//! "Post from the server in 30 s" is made by the worker (the user's Durable Object, with an
//! alarm) after the tab that asked for it is closed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xauth_tests::browser::{Demo, root};

#[tokio::test]
async fn worker_custody_signs_in_calls_x_and_signs_out_without_a_token_in_the_page() {
    let demo = Demo::start_in_worker_custody().await;
    let page = demo.open().await;
    assert_eq!(
        page.script("return xauthDemo.xauth.custody").await,
        "worker"
    );
    page.record_responses().await;

    let state = page.sign_in().await;
    assert!(state.error.is_none(), "{state:?}");
    assert!(page.text("user-handle").await.contains("@xauthdemo"));
    assert!(page.text("custody").await.contains("the worker"));
    let (access, refresh) = demo.x.tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1), "X issued one grant");
    let tokens: Vec<&String> = access.iter().chain(&refresh).collect();

    // What the sign-in answered, and everything else the page can reach.
    let responses = page.responses().await;
    let exchange = responses
        .iter()
        .find(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/twitter-access-token"))
        })
        .unwrap_or_else(|| panic!("the exchange was recorded: {responses:?}"));
    assert_eq!(exchange["status"], 200, "{exchange}");
    let answer: Value = serde_json::from_str(exchange["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["custody"], "worker");
    page.assert_no_token(&tokens, "after signing in").await;

    // The session cookie: HttpOnly (not in document.cookie), SameSite=Strict, Path=/, and
    // without Secure only because this is plain-http loopback.
    let cookie = page.http_only_session_cookie().await;
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()),
        Some("Strict".to_owned())
    );
    assert_eq!(cookie.path(), Some("/"));
    assert_ne!(cookie.secure(), Some(true));

    // X through the worker, as the user, with the cookie only.
    page.click("who-am-i").await;
    page.wait_for_log("GET /2/users/me → 200").await;
    page.click("post-test").await;
    page.wait_for_log("POST /2/tweets → 201").await;
    assert_eq!(demo.x.posts().len(), 1);
    assert_eq!(demo.x.stats()["api_requests_with_cookie"], 0);
    // The demo runs under its strict CSP (www/_headers) without tripping it.
    assert_eq!(page.csp_violations().await, json!([]));

    // The README's picture: always kept under target/; the committed one changes only on
    // request (XAUTH_UPDATE_SCREENSHOT), so a test run leaves the work tree clean.
    page.script("window.scrollTo(0, 0)").await;
    let png = page.client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "chromedriver answers a PNG");
    let mut paths = vec![root().join("target/screenshots/signed-in-worker-custody.png")];
    if std::env::var_os("XAUTH_UPDATE_SCREENSHOT").is_some() {
        paths.push(root().join("docs/screenshot.png"));
    }
    for path in paths {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &png).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }

    // A reload picks the session up from the worker (restoreSession).
    page.client.refresh().await.unwrap();
    page.wait_for("the signed-in view after a reload", |s| s.signed_in)
        .await;
    assert!(page.text("user-handle").await.contains("@xauthdemo"));
    page.assert_no_token(&tokens, "after a reload").await;

    // Sign-out: the worker ends the session and X revokes the grant.
    page.click("sign-out").await;
    page.wait_for("the signed-out view", |s| s.sign_in_ready)
        .await;
    let status = page.state().await.status;
    assert!(status.contains("Signed out"), "{status}");
    assert!(
        demo.x.users_me(&access[0]).is_none(),
        "X no longer takes the token"
    );
    assert_eq!(demo.x.tokens(), (vec![], vec![]));
    page.assert_no_session_cookie().await;
    page.close().await;
}

/// What the Activity log says of the scheduled post: `{scheduled: <its text>}`, or
/// `{failed: <the line>}` when the worker refused it; null until one of them is logged.
const SCHEDULED_IN_THE_LOG: &str = r##"
    const lines = [...document.querySelectorAll("#log li")].map((li) => li.textContent);
    const failed = lines.find((line) => line.includes("/twitter-scheduled-posts"));
    if (failed) return { failed };
    for (const line of lines) {
        const said = line.match(/Scheduled post "(.*)": scheduled for /);
        if (said) return { scheduled: said[1] };
    }
    return null;
"##;

/// "Post from the server in 30 s": the user's object makes the post with an alarm, from
/// the grant it keeps, after the tab that asked for it is closed (so the page cannot be
/// the one posting, and it is not made at once: it comes when due). A page opened later
/// in the same browser (same session cookie) reports it as posted.
#[tokio::test]
async fn the_worker_makes_a_scheduled_post_after_the_tab_is_closed() {
    let demo = Demo::start_in_worker_custody().await;
    let page = demo.open().await;
    page.sign_in().await;
    let user = page.script("return xauthDemo.session.user.id").await;
    page.click("post-later").await;
    let asked = Instant::now();
    let logged = page
        .wait_until("the scheduled post in the log", SCHEDULED_IN_THE_LOG)
        .await;
    let text = logged["scheduled"]
        .as_str()
        .unwrap_or_else(|| panic!("the worker did not schedule the post: {logged}"))
        .to_owned();

    // The tab goes at once; a fresh one keeps the browser, and its cookie, alive.
    let blank = page
        .client
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    page.client
        .close_window()
        .await
        .expect("close the demo's tab");
    page.client.switch_to_window(blank).await.unwrap();
    assert_eq!(page.client.windows().await.unwrap().len(), 1);
    assert_eq!(demo.x.posts(), Vec::<Value>::new(), "nothing posted yet");

    let post = loop {
        if let Some(post) = demo.x.posts_with_authors().pop() {
            break post;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(60),
            "no post within 60 s; X's stats: {}\nthe worker:\n{}",
            demo.x.stats(),
            demo.worker.output()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let when = asked.elapsed();
    assert!(
        when >= Duration::from_secs(28),
        "posted {when:?} after asking: it was due in 30 s"
    );
    assert_eq!(post["text"], text.as_str(), "{post}");
    assert_eq!(
        post["author_id"], user,
        "posted as the signed-in user: {post}"
    );
    let stats = demo.x.stats();
    assert_eq!(stats["posts"].as_array().map(Vec::len), Some(1), "{stats}");
    assert_eq!(stats["api_requests_with_cookie"], 0, "{stats}");

    // The demo again, in the same browser: still signed in, and it says what happened.
    page.client.goto(&demo.redirect_uri()).await.unwrap();
    page.wait_for("the signed-in view again", |s| s.signed_in)
        .await;
    let outcome = format!(
        r#"Scheduled post "{text}": posted as {}."#,
        post["id"].as_str().unwrap()
    );
    page.wait_for_log(&outcome).await;
    page.close().await;
}
