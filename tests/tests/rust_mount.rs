//! xauth mounted in an app's own workers-rs Worker (examples/rust-mount, built by `cargo
//! xtask test`): the app's wasm exports xauth's Durable Object class, `xauth_worker::handle`
//! answers xauth's routes and hands every other request back to the app. Run in the real
//! workerd runtime (`wrangler dev`) in worker custody, against the X emulator over HTTP.

use serde_json::json;
use xauth_tests::Worker;
use xauth_tests::custody::{COOKIE, Setup, session, who_am_i};

const EXAMPLE: &str = "examples/rust-mount/wrangler.toml";

fn start() -> Setup {
    Setup::start_worker(
        |x| x,
        |_| {},
        |port, vars| Worker::start_config_on(EXAMPLE, port, vars),
    )
}

#[test]
fn the_apps_own_routes_and_xauths_share_one_worker() {
    let setup = start();
    let browser = setup.browser();

    // The app's own answers are its own business (no `no-store` promise): fetched raw.
    let raw_get = |path: &str| {
        browser
            .http
            .get(format!("{}{path}", setup.worker.base_url()))
            .send()
            .expect("the worker answers")
    };
    let hello = raw_get("/hello");
    assert_eq!(hello.status(), 200);
    let hello: serde_json::Value = hello.json().expect("JSON");
    assert_eq!(hello, json!({ "hello": "from the app's own route" }));

    // Paths that are not xauth's reach the app: its own 404 is plain text, not xauth's JSON.
    let elsewhere = raw_get("/nothing-here");
    assert_eq!(elsewhere.status(), 404);
    assert_eq!(elsewhere.text().unwrap(), "Not Found");
    // xauth answers every path of its own, known or not.
    browser
        .get("/twitter-nothing-here")
        .assert_error(404, "not_found", None);
    browser
        .get("/xauth/grants/2244994945")
        .assert_error(404, "not_found", None);

    // The app's static pages are still served.
    let page = raw_get("/");
    assert_eq!(page.status(), 200);
    assert!(
        page.text().unwrap().contains("<html"),
        "the app's index.html"
    );

    let config = browser.get("/twitter-config");
    assert_eq!(config.status, 200, "{}", config.json);
    assert_eq!(config.str("custody"), "worker");
}

#[test]
fn a_user_signs_in_through_the_app_and_its_grant_refreshes_once_in_the_mounted_vault() {
    let setup = start();
    let browser = setup.browser();

    let signed_in = setup.sign_in(&browser);
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);
    assert_eq!(signed_in.json["user"]["username"], "xauthdemo");
    assert!(browser.cookie(COOKIE).is_some(), "the session cookie");
    assert_eq!(setup.stat(&["token_by_grant", "authorization_code"]), 1);

    let me = session(&browser);
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["user"]["id"], "2244994945");

    // X refuses the stored access token: the grant in the app's GrantVault refreshes once,
    // and the call goes through with the rotated token.
    setup.x.expire_access_tokens();
    let answer = who_am_i(&browser);
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["username"], "xauthdemo");
    assert_eq!(setup.refreshes(), 1);
    setup.forbid_tokens(&browser);
    assert_eq!(who_am_i(&browser).status, 200);
}
