//! The browser package as built (`www/pkg/`: the entry `xauth_web.js`, its sign-in module,
//! and the keeper module it loads when needed) in headless Chromium, on a page of the
//! worker's origin that runs no app: the `XAuth` class's own work (sessionStorage, the
//! address bar, the code exchange, `fromWorker`, worker custody, loading the keeper module
//! only when needed), with `fetch` answering canned responses. The tests are JavaScript,
//! in `tests/js/entry.test.js`; the crate's Rust is tested in `crates/xauth-web/tests`,
//! and the whole flow against the real worker and X by the other browser suites.

use serde_json::{Value, json};
use xauth_tests::browser::{Demo, Page};

const TESTS: &str = include_str!("../js/entry.test.js");

#[tokio::test]
async fn the_entry_as_built() {
    let demo = Demo::start().await;
    let page = Page {
        client: demo.browser.session().await,
        demo: &demo,
    };
    // `/twitter-config`: a JSON answer of the worker, so no app runs beside the tests.
    let url = format!("{}/twitter-config", demo.worker.base_url());
    page.client
        .goto(&url)
        .await
        .expect("open a page of the worker's origin");
    // XAUTH_ENTRY_TESTS=<part of a name> runs only those.
    let only = std::env::var("XAUTH_ENTRY_TESTS").map_or(Value::Null, Value::String);
    let results = page
        .run_async(TESTS, vec![only])
        .await
        .unwrap_or_else(|error| panic!("the tests did not run: {error}"));
    page.close().await;

    let results = results.as_array().expect("one result per test");
    assert!(!results.is_empty(), "no test ran");
    let failed: Vec<&Value> = results.iter().filter(|r| r["ok"] != json!(true)).collect();
    for result in results {
        let verdict = if result["ok"] == json!(true) {
            "ok"
        } else {
            "FAILED"
        };
        println!("entry test {}: {verdict}", result["name"]);
    }
    assert!(
        failed.is_empty(),
        "{} of {} entry tests failed:\n{}",
        failed.len(),
        results.len(),
        failed
            .iter()
            .map(|r| format!("- {}: {}", r["name"], r["error"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
