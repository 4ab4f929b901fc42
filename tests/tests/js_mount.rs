//! xauth mounted in an app's own JS Worker through a service binding
//! (`examples/js-mount/`): the app's Worker serves its page and its own `/hello`, and hands
//! every `/twitter-*` and `/xauth/*` request to xauth unchanged, so the page, its OAuth
//! callback and xauth's routes share one origin and worker custody's cookie works.
//!
//! Both run in one `wrangler dev` ([`Worker::start_behind`]): the example's `worker.js`
//! and `wrangler.toml` as they are, serving the demo SPA on the port, and the built xauth
//! worker behind its binding, with no port of its own (so everything the page and this
//! test reach of xauth went through the example). X is the emulator; the browser is
//! headless Chromium.

use std::path::PathBuf;

use serde_json::{Value, json};
use xauth_tests::browser::{Demo, Page, root};
use xauth_tests::{User, Worker, wrangler_config};

/// The user X signs in, told apart from the emulator's default one.
fn ada() -> User {
    User {
        id: "1400000001".into(),
        name: "Ada Mounted".into(),
        username: "ada_mounted".into(),
    }
}

/// xauth's service API token (`/xauth/*` through the app's Worker).
const SERVICE_TOKEN: &str = "js-mount-service-token-of-at-least-32-chars";

fn example_config() -> PathBuf {
    root().join("examples/js-mount/wrangler.toml")
}

/// `fetch(path, init)` in the page; `{status, body}` with the body parsed as JSON.
async fn page_fetch(page: &Page<'_>, path: &str, init: Value) -> Value {
    page.run_async(
        r#"const response = await fetch(args[0], args[1]);
           return { status: response.status, body: await response.json() };"#,
        vec![json!(path), init],
    )
    .await
    .unwrap_or_else(|err| panic!("fetch {path} in the page: {err}"))
}

#[tokio::test]
async fn a_js_worker_mounts_xauth_and_the_demo_signs_in_through_it() {
    let front = wrangler_config(&example_config());
    let binding = &front["services"][0];
    assert_eq!(binding["binding"].as_str(), Some("XAUTH"), "{front}");
    assert_eq!(binding["service"].as_str(), Some("xauth"), "{front}");
    // The example serves the demo SPA, which uses xauth on its own origin.
    assert_eq!(
        std::fs::canonicalize(front["assets"]["directory"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(root().join("www")).unwrap(),
        "the example's page is the demo SPA"
    );

    let demo = Demo::start_launched(
        |options| options,
        |vars| {
            vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
            vars.insert("XAUTH_SERVICE_TOKEN", SERVICE_TOKEN.to_owned());
        },
        |port, vars| Worker::start_behind(port, front, vars),
    )
    .await;
    demo.x.set_user(ada());
    let origin = demo.worker.base_url().to_owned();

    let page = demo.open().await;
    // The app's own route, answered by the app's Worker.
    let hello = page_fetch(&page, "/hello", json!({})).await;
    assert_eq!(hello["status"], 200, "{hello}");
    assert_eq!(hello["body"]["app"], "xauth-js-mount-example", "{hello}");

    assert_eq!(
        page.script("return xauthDemo.xauth.custody").await,
        "worker"
    );
    page.record_responses().await;
    let state = page.sign_in().await;
    assert!(state.error.is_none(), "{state:?}");
    assert!(
        state.url.starts_with(&format!("{origin}/")),
        "back on the app's origin: {}",
        state.url
    );
    let handle = page.text("user-handle").await;
    assert!(handle.contains("@ada_mounted"), "{handle}");
    let stats = demo.x.stats();
    assert_eq!(
        stats["token_by_grant"]["authorization_code"], 1,
        "one code exchange: {stats}"
    );
    let (access, refresh) = demo.x.tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1), "X issued one grant");
    let tokens: Vec<&String> = access.iter().chain(&refresh).collect();

    // The exchange went to the app's origin, and xauth answered it (worker custody).
    let responses = page.responses().await;
    let exchange = responses
        .iter()
        .find(|r| r["url"] == format!("{origin}/twitter-access-token"))
        .unwrap_or_else(|| panic!("the exchange at {origin}: {responses:?}"));
    assert_eq!(exchange["status"], 200, "{exchange}");
    let answer: Value = serde_json::from_str(exchange["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["custody"], "worker", "{answer}");

    // xauth's Set-Cookie came through the app's Worker: the session cookie is the app
    // origin's, and HttpOnly.
    let cookie = page.http_only_session_cookie().await;
    assert_eq!(cookie.domain(), Some("127.0.0.1"));
    assert_eq!(cookie.path(), Some("/"));

    // X as the user, through the app's origin, with the cookie (which the app's Worker
    // passes on): the demo's "Who am I", and the same call by hand with and without it.
    page.click("who-am-i").await;
    page.wait_for_log("GET /2/users/me → 200").await;
    let with_cookie = json!({ "headers": { "x-xauth": "1" } });
    let me = page_fetch(&page, "/twitter-api/2/users/me", with_cookie).await;
    assert_eq!(me["status"], 200, "{me}");
    assert_eq!(me["body"]["data"]["username"], "ada_mounted", "{me}");
    let without = json!({ "headers": { "x-xauth": "1" }, "credentials": "omit" });
    let anonymous = page_fetch(&page, "/twitter-api/2/users/me", without).await;
    assert_eq!(anonymous["status"], 401, "{anonymous}");
    assert_eq!(anonymous["body"]["error"], "no_session", "{anonymous}");
    let stats = demo.x.stats();
    assert_eq!(stats["users_me"], 3, "sign-in, Who am I, by hand: {stats}");
    assert_eq!(stats["api_requests_with_cookie"], 0, "{stats}");
    page.assert_no_token(&tokens, "after calling X").await;
    // The app's Worker serves the demo with its headers (www/_headers), CSP included, and
    // the page trips nothing.
    let index = reqwest::get(format!("{origin}/")).await.expect("the page");
    assert!(
        index.headers().contains_key("content-security-policy"),
        "{:?}",
        index.headers()
    );
    assert_eq!(
        page.script("return window.__cspViolations").await,
        json!([])
    );

    // /xauth/* reaches xauth too: the service API, server to server, through the app.
    let grant = reqwest::Client::new()
        .get(format!("{origin}/xauth/grants/{}", ada().id))
        .bearer_auth(SERVICE_TOKEN)
        .send()
        .await
        .expect("the service API through the app's Worker");
    assert_eq!(grant.status(), 200);
    let grant: Value = serde_json::from_str(&grant.text().await.unwrap()).unwrap();
    assert_eq!(grant["username"], "ada_mounted", "{grant}");
    assert_eq!(grant["sessions"], 1, "{grant}");

    // A reload finds the session through the cookie; sign-out clears it.
    page.client.refresh().await.unwrap();
    page.wait_for("the signed-in view after a reload", |s| s.signed_in)
        .await;
    page.assert_no_token(&tokens, "after a reload").await;
    page.click("sign-out").await;
    page.wait_for("the signed-out view", |s| s.sign_in_ready)
        .await;
    page.assert_no_session_cookie().await;
    assert_eq!(demo.x.tokens(), (vec![], vec![]), "X revoked the grant");
    page.close().await;

    // wrangler names the worker that logged each line: xauth answered behind the app.
    let output = demo.worker.output();
    for line in [
        "[xauth] POST /twitter-access-token 200",
        "[xauth] GET /twitter-api/2/users/me 200",
        "[xauth] GET /xauth/grants/1400000001 200",
    ] {
        assert!(output.contains(line), "{line} in:\n{output}");
    }
}
