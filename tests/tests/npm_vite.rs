//! The npm package in a real app: `target/npm/xauth-web` packed with `npm pack`, installed
//! from the tarball into a minimal Vite app (`tests/vite-app/`), built by `vite build` with
//! no plugin and no configuration, and the build served by the built worker in workerd
//! (its `[assets]`), with the emulator as X. Headless Chromium signs in through the app.
//!
//! What it shows: Vite found every file the package loads (the sign-in module's wasm, and
//! the keeper module, its wasm and OAuth 1.0a, which are loaded later by `import()`), copied
//! them into the build under hashed names and rewrote the package's references to them;
//! the app then signs in with them against the real worker and X's rules, and in worker
//! custody no token reaches the page.

use std::fs;

use serde_json::{Value, json};
use xauth_tests::User;
use xauth_tests::browser::{Demo, Page, serve_assets_from};
use xauth_tests::vite::{ViteApp, npm_package_dir};

/// Who signs in at X: not the emulator's default user, so the page can only show this one
/// by getting it from the sign-in and from X.
fn vite_user() -> User {
    User {
        id: "1860000000000000042".to_owned(),
        name: "Vite Builder".to_owned(),
        username: "vite_builder".to_owned(),
    }
}

/// The paths (of this origin) the page has fetched so far: its resource timing entries.
const LOADED: &str =
    "return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)";

async fn loaded(page: &Page<'_>) -> Vec<String> {
    serde_json::from_value(page.script(LOADED).await).expect("a list of paths")
}

/// The build holds each of the package's files under Vite's hashed name, byte for byte.
fn assert_bundled(app: &ViteApp) -> [String; 4] {
    let package = npm_package_dir();
    let signin_wasm = app.hashed("xauth_signin", ".wasm");
    let keeper_wasm = app.hashed("xauth_keeper_bg", ".wasm");
    for (built, original) in [
        (&signin_wasm, "xauth_signin.wasm"),
        (&keeper_wasm, "xauth_keeper_bg.wasm"),
    ] {
        assert!(
            fs::read(app.dist.join(built)).unwrap() == fs::read(package.join(original)).unwrap(),
            "{built} is not the package's {original}"
        );
    }
    // The modules the entry imports when they are needed: split off as chunks of their own.
    let keeper_js = app.hashed("xauth_keeper", ".js");
    let oauth1_js = app.hashed("xauth_oauth1", ".js");
    [signin_wasm, keeper_wasm, keeper_js, oauth1_js].map(|file| format!("/{file}"))
}

#[tokio::test]
async fn a_vite_app_signs_in_with_the_npm_package_in_worker_custody() {
    let app = ViteApp::build();
    println!(
        "npm pack: {} bytes (gzip), {} files: {:?}",
        app.tarball_bytes,
        app.packed_files.len(),
        app.packed_files
    );
    for file in [
        "package.json",
        "README.md",
        "LICENSE",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "xauth_web.js",
        "xauth_web.d.ts",
        "xauth_signin.wasm",
        "xauth_keeper.js",
        "xauth_keeper_bg.wasm",
        "xauth_oauth1.js",
    ] {
        assert!(
            app.packed_files.iter().any(|packed| packed == file),
            "the tarball lacks {file}: {:?}",
            app.packed_files
        );
    }
    let [signin_wasm, _, keeper_js, oauth1_js] = assert_bundled(&app);

    let demo = Demo::start_configured(
        |x| x.user(vite_user()),
        |vars| {
            vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
        },
        serve_assets_from(&app.dist),
    )
    .await;
    let page = demo.open().await;
    page.record_responses().await;
    let state = page.sign_in().await;
    assert!(state.error.is_none(), "{state:?}");
    assert_eq!(state.status, "Signed in");
    // The sign-in's user, and X's answer through the worker's proxy, are the emulator's.
    assert_eq!(page.text("user").await, "Vite Builder @vite_builder");
    assert_eq!(page.text("me").await, "@vite_builder");
    assert_eq!(page.text("custody").await, "worker");

    let stats = demo.x.stats();
    assert_eq!(stats["token_by_grant"]["authorization_code"], 1, "{stats}");
    assert_eq!(stats["token_by_grant"]["refresh_token"], 0, "{stats}");
    // The worker's "who signed in" at the exchange, and the page's call.
    assert_eq!(stats["users_me"], 2, "{stats}");
    let (access, refresh) = demo.x.tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1), "X issued one grant");
    let tokens: Vec<&String> = access.iter().chain(&refresh).collect();
    page.assert_no_token(&tokens, "after signing in").await;
    assert_eq!(page.csp_violations().await, json!([]));

    // The sign-in module came from the build; worker custody needs no keeper module.
    let fetched = loaded(&page).await;
    assert!(fetched.contains(&signin_wasm), "{fetched:?}");
    assert!(!fetched.contains(&keeper_js), "{fetched:?}");
    assert!(
        !fetched.iter().any(|path| path.contains("/pkg/")),
        "{fetched:?}"
    );

    // OAuth 1.0a: the entry imports its chunk from the build on first use.
    let oauth1 = page
        .run_async("return await xauthApp.xauth.oauth1Session();", vec![])
        .await;
    assert_eq!(oauth1, Ok(json!({ "signedIn": false })));
    assert!(loaded(&page).await.contains(&oauth1_js));
    page.close().await;
}

#[tokio::test]
async fn a_vite_app_signs_in_with_the_npm_package_in_browser_custody() {
    let app = ViteApp::build();
    let [signin_wasm, keeper_wasm, keeper_js, _] = assert_bundled(&app);
    let demo = Demo::start_configured(
        |x| x.user(vite_user()),
        |vars| {
            vars.insert("XAUTH_TOKEN_CUSTODY", "browser".to_owned());
        },
        serve_assets_from(&app.dist),
    )
    .await;
    let page = demo.open().await;
    // `fromWorker` in browser custody loads the keeper module, from the build.
    let fetched = loaded(&page).await;
    for file in [&signin_wasm, &keeper_js, &keeper_wasm] {
        assert!(fetched.contains(file), "{file} not loaded: {fetched:?}");
    }

    page.record_responses().await;
    let state = page.sign_in().await;
    assert!(state.error.is_none(), "{state:?}");
    assert_eq!(page.text("user").await, "Vite Builder @vite_builder");
    assert_eq!(page.text("me").await, "@vite_builder");
    assert_eq!(page.text("custody").await, "browser");
    let stats = demo.x.stats();
    assert_eq!(stats["token_by_grant"]["authorization_code"], 1, "{stats}");
    // The keeper module holds the one access token X issued, and used it for the call.
    let (access, _) = demo.x.tokens();
    assert_eq!(access.len(), 1);
    let held: Value = page
        .script("return xauthApp.session.accessToken ?? null")
        .await;
    assert_eq!(held, json!(access[0]));
    assert_eq!(stats["users_me"], 2, "{stats}");
    assert_eq!(page.csp_violations().await, json!([]));
    page.close().await;
}
