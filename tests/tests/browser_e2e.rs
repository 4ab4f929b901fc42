//! The demo SPA (`www/`, served by the built worker in workerd) in headless Chromium,
//! driven through chromedriver, with the emulator as X: sign in through X's consent page,
//! deny consent, a tampered callback, sign out. The setup is the harness's
//! `xauth_tests::browser`. Needs `cargo xtask build` first; runs in `cargo xtask test`'s
//! end-to-end step.
//!
//! The first test saves the signed-in page (browser custody) to
//! `target/screenshots/signed-in.png`. The README's picture is the worker-custody demo's,
//! taken by `tests/custody_e2e.rs`.

use std::fs;
use std::time::Duration;

use fantoccini::Locator;
use xauth_tests::browser::{CLIENT_SECRET, CONSUMER_SECRET, Demo, root};
use xauth_tests::query_param;

/// The emulator's (and `cargo xtask dev`'s) demo secret.
const DEMO_SECRET: &str = "xauth-demo-secret";
/// The worker suite's secret (`tests/worker.rs`).
const WORKER_SUITE_SECRET: &str = "s3cret-that-must-never-leak+/:%";

// ---------------------------------------------------------------------------------------
// The scenarios

#[tokio::test]
async fn sign_in_through_the_consent_page_shows_the_user() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    let state = page.sign_in().await;

    assert_eq!(page.text("user-name").await, "X Demo User");
    assert_eq!(page.text("user-handle").await, "@xauthdemo");
    assert_eq!(
        state.url,
        demo.redirect_uri(),
        "the address bar is clean of ?code and ?state"
    );
    assert!(
        state.status.contains("Signed in"),
        "status: {}",
        state.status
    );
    assert!(state.error.is_none(), "error shown: {:?}", state.error);
    // Posting later needs a worker that keeps the grant (worker custody).
    assert_eq!(
        page.script(r#"return document.getElementById("post-later").getClientRects().length"#)
            .await,
        0,
        "no \"Post from the server\" in browser custody"
    );

    // The expiry counts down as mm:ss from X's 7200 s.
    let first = page.text("expires-in").await;
    assert!(is_mm_ss(&first), "expires-in: {first:?}");
    let minutes: u32 = first[..first.len() - 3].parse().unwrap();
    assert!((119..=120).contains(&minutes), "expires-in: {first:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = page.text("expires-in").await;
    assert!(
        is_mm_ss(&later) && later < first,
        "{first:?} then {later:?}"
    );

    let stats = demo.x.stats();
    assert_eq!(stats["token"], 1, "one code exchange: {stats}");
    assert_eq!(stats["token_by_grant"]["authorization_code"], 1, "{stats}");

    // Nothing the page holds or shows carries the client secret.
    let source = page.client.source().await.expect("the page source");
    let stored = page
        .script("return JSON.stringify(Object.entries(sessionStorage))")
        .await;
    for text in [source.as_str(), stored.as_str().unwrap_or_default()] {
        assert!(!text.contains(CLIENT_SECRET) && !text.contains(DEMO_SECRET));
    }

    let png = page.client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "chromedriver answers a PNG");
    let path = root().join("target/screenshots/signed-in.png");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &png).unwrap_or_else(|err| panic!("{}: {err}", path.display()));

    page.close().await;
}

#[tokio::test]
async fn cancel_on_the_consent_page_shows_access_denied() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.sign_in_and("cancel").await;
    let (state, error) = page.wait_for_error().await;

    assert!(error.contains("access denied"), "error: {error}");
    assert!(state.sign_in_ready, "Sign in is offered again: {state:?}");
    assert!(!state.signed_in);
    assert_eq!(
        state.url,
        demo.redirect_uri(),
        "?error is gone from the URL"
    );
    assert_eq!(demo.x.stats()["token"], 0, "nothing was exchanged");

    page.close().await;
}

#[tokio::test]
async fn a_tampered_state_is_refused_before_any_exchange() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.open_consent("sign-in").await;

    // The page's own authorize link, approved at X: a genuine callback for this tab's
    // sign-in, whose state is then swapped, as a forged or mixed-up callback would be.
    let authorize_url = page.state().await.url;
    let callback = demo.x.approve(&authorize_url);
    let state = query_param(&callback, "state").expect("a state in the callback");
    let code = query_param(&callback, "code").expect("a code in the callback");
    let forged = format!("{}?state=forged-{state}&code={code}", demo.redirect_uri());
    page.client
        .goto(&forged)
        .await
        .expect("load the forged callback");

    let (shown, error) = page.wait_for_error().await;

    assert!(error.contains("state mismatch"), "error: {error}");
    assert!(!shown.signed_in);
    assert_eq!(
        shown.url,
        demo.redirect_uri(),
        "the forged callback is gone from the URL"
    );
    assert_eq!(demo.x.stats()["token"], 0, "the code was never exchanged");

    page.close().await;
}

#[tokio::test]
async fn a_failed_exchange_shows_its_kind() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.open_consent("sign-in").await;
    demo.x.inject_fault("token", "500", 1);
    page.click("authorize").await;

    let (shown, error) = page.wait_for_error().await;

    assert!(error.contains("exchange failed"), "error: {error}");
    assert!(
        error.contains("transient"),
        "X's 500 is worth a retry: {error}"
    );
    assert!(!shown.signed_in);
    assert!(shown.sign_in_ready, "Sign in is offered again: {shown:?}");
    assert_eq!(demo.x.stats()["token"], 1);

    page.close().await;
}

#[tokio::test]
async fn sign_out_revokes_the_token_at_x() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.sign_in().await;

    // `window.xauthDemo` is the demo's documented debugging handle.
    let token = page
        .script("return window.xauthDemo.session.accessToken")
        .await;
    let token = token.as_str().expect("an access token").to_owned();
    assert!(demo.x.users_me(&token).is_some(), "the token works at X");

    // The session survives a reload (sessionStorage is the demo's default).
    page.client.refresh().await.expect("reload");
    page.wait_for("the restored session", |s| s.signed_in).await;
    assert_eq!(page.text("user-handle").await, "@xauthdemo");

    page.click("sign-out").await;
    let state = page
        .wait_for("the signed-out view", |s| s.sign_in_ready)
        .await;
    assert!(
        state.status.contains("Signed out"),
        "status: {}",
        state.status
    );
    assert!(state.error.is_none(), "error shown: {:?}", state.error);
    assert!(
        demo.x.users_me(&token).is_none(),
        "X refuses the revoked token"
    );
    assert_eq!(demo.x.stats()["revoke"], 1);

    // And it stays signed out.
    page.client.refresh().await.expect("reload");
    page.wait_for("the signed-out view", |s| s.sign_in_ready)
        .await;
    assert!(!page.state().await.signed_in);

    page.close().await;
}

#[tokio::test]
async fn oauth1_sign_in_through_the_consent_page_shows_the_user() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.open_consent("sign-in-oauth1").await;
    assert!(
        page.state().await.url.contains("/oauth/authenticate"),
        "the Sign in with X link"
    );
    page.click("authorize").await;
    let state = page.wait_for("the signed-in view", |s| s.signed_in).await;

    assert_eq!(
        page.text("oauth1-user").await,
        "Signed in with OAuth 1.0a as @xauthdemo"
    );
    assert_eq!(page.text("user-handle").await, "@xauthdemo");
    assert_eq!(
        state.url,
        demo.redirect_uri(),
        "the address bar is clean of ?oauth_token and ?oauth_verifier"
    );
    assert!(state.error.is_none(), "error shown: {:?}", state.error);
    let stats = demo.x.stats();
    assert_eq!(stats["oauth1_access_token"], 1, "{stats}");
    assert_eq!(stats["token"], 0, "no OAuth 2.0 exchange: {stats}");

    // The session is the worker's HttpOnly cookie: it survives a reload, script cannot
    // read it, and nothing of it is in sessionStorage.
    assert_eq!(page.script("return document.cookie").await, "");
    let stored = page
        .script("return JSON.stringify(Object.entries(sessionStorage))")
        .await;
    assert!(
        !stored.as_str().unwrap_or_default().contains("oauth"),
        "{stored}"
    );
    page.client.refresh().await.expect("reload");
    page.wait_for("the signed-in view after a reload", |s| s.signed_in)
        .await;
    assert_eq!(page.text("user-handle").await, "@xauthdemo");

    page.click("sign-out").await;
    let state = page
        .wait_for("the signed-out view", |s| s.sign_in_ready)
        .await;
    assert!(
        state.status.contains("Signed out"),
        "status: {}",
        state.status
    );
    page.client.refresh().await.expect("reload");
    page.wait_for("the signed-out view after a reload", |s| s.sign_in_ready)
        .await;
    assert!(!page.state().await.signed_in);

    page.close().await;
}

#[tokio::test]
async fn oauth1_pin_flow_signs_in_with_the_pin_x_shows() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.click("sign-in-pin").await;
    let link = page
        .wait_until("the PIN form with X's link", PIN_LINK)
        .await;
    let link = link.as_str().expect("the link").to_owned();
    assert!(link.starts_with(demo.x.base_url()), "{link}");

    // X's page in a second window of the same browser, as the link's new tab would be.
    let spa = page.client.window().await.expect("the SPA's window");
    let x_window = page.client.new_window(true).await.expect("a new tab");
    page.client
        .switch_to_window(x_window.handle)
        .await
        .expect("switch to X's tab");
    page.client.goto(&link).await.expect("open X's link");
    page.wait_for("X's OAuth 1.0a consent page", |s| s.consent)
        .await;
    page.click("authorize").await;
    let pin = page
        .wait_until(
            "X's PIN page",
            "return document.getElementById('pin')?.textContent || null",
        )
        .await;
    let pin = pin.as_str().expect("a PIN").to_owned();
    assert!(
        !pin.is_empty() && pin.bytes().all(|b| b.is_ascii_digit()),
        "{pin}"
    );
    page.client.close_window().await.expect("close X's tab");
    page.client
        .switch_to_window(spa)
        .await
        .expect("back to the SPA");

    let input = page
        .client
        .find(Locator::Id("pin-input"))
        .await
        .expect("#pin-input");
    input.send_keys(&pin).await.expect("type the PIN");
    page.click("pin-submit").await;
    let state = page.wait_for("the signed-in view", |s| s.signed_in).await;
    assert_eq!(
        page.text("oauth1-user").await,
        "Signed in with OAuth 1.0a as @xauthdemo"
    );
    assert!(state.error.is_none(), "error shown: {:?}", state.error);
    assert_eq!(demo.x.stats()["oauth1_access_token"], 1);

    page.close().await;
}

#[tokio::test]
async fn oauth1_cancel_on_the_consent_page_shows_access_denied() {
    let demo = Demo::start().await;
    let page = demo.open().await;
    page.open_consent("sign-in-oauth1").await;
    page.click("cancel").await;
    let (state, error) = page.wait_for_error().await;

    assert!(error.contains("access denied"), "error: {error}");
    assert!(state.sign_in_ready, "Sign in is offered again: {state:?}");
    assert!(!state.signed_in);
    assert_eq!(
        state.url,
        demo.redirect_uri(),
        "?denied is gone from the URL"
    );
    assert_eq!(demo.x.stats()["oauth1_access_token"], 0);

    page.close().await;
}

/// The PIN form's link, once it is shown.
const PIN_LINK: &str = r#"
    const form = document.getElementById("pin-form");
    const link = document.getElementById("pin-link");
    return form && !form.hidden && link.href ? link.href : null;
"#;

/// What the worker serves to browsers (the SPA and the wasm package) never holds a client
/// secret: not the demo's, not any test's.
#[test]
fn browser_assets_never_contain_the_client_secret() {
    let www = root().join("www");
    let pkg = www.join("pkg");
    let mut files = Vec::new();
    for dir in [&www, &pkg] {
        let entries = fs::read_dir(dir).unwrap_or_else(|err| {
            panic!("{}: {err} (run `cargo xtask build` first)", dir.display())
        });
        files.extend(
            entries
                .map(|entry| entry.unwrap().path())
                .filter(|p| p.is_file()),
        );
    }
    let wasm = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .count();
    assert!(
        wasm >= 1,
        "no wasm in {}: run `cargo xtask build`",
        pkg.display()
    );
    for path in &files {
        let bytes = fs::read(path).unwrap();
        for secret in [
            DEMO_SECRET,
            CLIENT_SECRET,
            WORKER_SUITE_SECRET,
            CONSUMER_SECRET,
        ] {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{} contains the secret {secret:?}",
                path.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// `mm:ss` (minutes may be more than two digits).
fn is_mm_ss(text: &str) -> bool {
    let Some((mm, ss)) = text.split_once(':') else {
        return false;
    };
    mm.len() >= 2
        && ss.len() == 2
        && mm.bytes().chain(ss.bytes()).all(|b| b.is_ascii_digit())
        && ss < "60"
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
