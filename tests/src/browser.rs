//! The demo SPA (`www/`, served by the built worker in workerd) in headless Chromium,
//! driven through chromedriver, with the emulator as X: what the browser end-to-end suites
//! share. Needs `cargo xtask build` first.
//!
//! Environment: `CHROMEDRIVER` (default `/usr/bin/chromedriver`), `CHROMIUM` (default
//! `/usr/bin/chromium`, when it exists), and the harness's `XAUTH_ROOT`.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::custody::COOKIE as SESSION_COOKIE;
use crate::{Emulator, EmulatorOptions, Worker, free_port, random_vault_key, worker_vars};

/// The demo app's OAuth 2.0 client at the emulator and in the worker.
pub const CLIENT_ID: &str = "xauth-browser-client";
/// Its secret, which no page, storage or asset may ever hold.
pub const CLIENT_SECRET: &str = "browser-s3cret-that-must-never-leak";
/// What the demo asks for: reading, posting, and refresh tokens.
pub const SCOPES: &str = "tweet.read tweet.write users.read offline.access";
/// The app's OAuth 1.0a consumer, at the emulator and in the worker.
pub const CONSUMER_KEY: &str = "xauth-browser-consumer";
/// The consumer's secret, which no page, storage or asset may ever hold.
pub const CONSUMER_SECRET: &str = "browser-consumer-s3cret-never-leaks";

/// How long the page may take to reach an expected state.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// X (the emulator), the worker serving the SPA, and a browser.
pub struct Demo {
    /// X.
    pub x: Emulator,
    /// The worker, which also serves the SPA (or the app's Worker in front of it, which
    /// does: [`Demo::start_launched`]).
    pub worker: Worker,
    /// chromedriver, which starts a Chromium per session.
    pub browser: Chromedriver,
}

impl Demo {
    /// The worker runs on a port chosen first, because the SPA it serves is the OAuth
    /// callback: `TWITTER_REDIRECT_URI` and X's registered URI are its origin plus "/".
    pub async fn start() -> Demo {
        Self::start_with(|options| options).await
    }

    /// [`Demo::start`] with X's options changed by `adjust` (e.g. a short token lifetime).
    pub async fn start_with(adjust: impl FnOnce(EmulatorOptions) -> EmulatorOptions) -> Demo {
        Self::start_configured(adjust, |_| {}, |_| {}).await
    }

    /// The demo in worker custody (`XAUTH_TOKEN_CUSTODY = "worker"`, a fresh vault key), as
    /// `cargo xtask dev` runs it.
    pub async fn start_in_worker_custody() -> Demo {
        Self::start_configured(
            |options| options,
            |vars| {
                vars.insert("XAUTH_TOKEN_CUSTODY", "worker".to_owned());
            },
            |_| {},
        )
        .await
    }

    /// [`Demo::start`] with X's options changed by `adjust`, the worker's variables by
    /// `adjust_vars` and its wrangler.toml by `adjust_config` (e.g. another app as its
    /// `[assets]`: see [`serve_assets_from`]).
    pub async fn start_configured(
        adjust: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
        adjust_vars: impl FnOnce(&mut BTreeMap<&'static str, String>),
        adjust_config: impl FnOnce(&mut toml::Table),
    ) -> Demo {
        Self::start_launched(adjust, adjust_vars, |port, vars| {
            Worker::start_on_adjusted(port, vars, adjust_config)
        })
        .await
    }

    /// [`Demo::start_configured`] with the worker started by `launch`, given the port and
    /// the worker's variables: e.g. mounted in an app's own Worker
    /// ([`Worker::start_behind`]). Whatever serves the SPA on that port is the app's origin:
    /// the callback and `ALLOWED_ORIGINS`.
    pub async fn start_launched(
        adjust: impl FnOnce(EmulatorOptions) -> EmulatorOptions,
        adjust_vars: impl FnOnce(&mut BTreeMap<&'static str, String>),
        launch: impl FnOnce(u16, &BTreeMap<&'static str, String>) -> Worker,
    ) -> Demo {
        let port = free_port();
        let origin = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{origin}/");
        let mut options = adjust(
            EmulatorOptions::default()
                .client(CLIENT_ID, Some(CLIENT_SECRET))
                .redirect_uris(&[&redirect_uri]),
        );
        options.config.consumer_key = CONSUMER_KEY.to_owned();
        options.config.consumer_secret = CONSUMER_SECRET.to_owned();
        let x = Emulator::start(options);
        let mut vars = worker_vars(
            x.base_url(),
            (CLIENT_ID, CLIENT_SECRET),
            &redirect_uri,
            SCOPES,
        );
        vars.insert("TWITTER_CONSUMER_KEY", CONSUMER_KEY.to_owned());
        vars.insert("TWITTER_CONSUMER_SECRET", CONSUMER_SECRET.to_owned());
        // Keys the OAuth 1.0a cookies (and worker custody's vault).
        vars.insert("XAUTH_VAULT_KEY", random_vault_key());
        vars.insert("ALLOWED_ORIGINS", origin);
        adjust_vars(&mut vars);
        let worker = launch(port, &vars);
        let browser = Chromedriver::start();
        Demo { x, worker, browser }
    }

    /// The SPA's address, which is also its OAuth callback.
    pub fn redirect_uri(&self) -> String {
        format!("{}/", self.worker.base_url())
    }

    /// A fresh browser session on the SPA, once it is ready to sign in.
    pub async fn open(&self) -> Page<'_> {
        let client = self.browser.session().await;
        let page = Page { client, demo: self };
        page.client
            .goto(&self.redirect_uri())
            .await
            .expect("open the SPA");
        page.wait_for("the Sign in button", |s| s.sign_in_ready)
            .await;
        page
    }
}

/// A wrangler.toml adjustment for [`Demo::start_configured`]: the worker serves the static
/// files of `directory` (an app's build) instead of the demo in www/, with the same routing
/// (`run_worker_first` for the worker's routes).
pub fn serve_assets_from(directory: &Path) -> impl FnOnce(&mut toml::Table) + use<> {
    let directory = directory.display().to_string();
    move |config| {
        let assets = config
            .get_mut("assets")
            .and_then(|assets| assets.as_table_mut())
            .expect("wrangler.toml has an [assets] table");
        assets.insert("directory".into(), directory.into());
    }
}

/// What the tests look at on the page, read in one round trip.
#[derive(Debug)]
pub struct PageState {
    /// The address bar.
    pub url: String,
    /// The aria-live status line.
    pub status: String,
    /// The error panel's text, when it is shown.
    pub error: Option<String>,
    /// The signed-in view is showing.
    pub signed_in: bool,
    /// "Sign in with X" is showing and enabled.
    pub sign_in_ready: bool,
    /// X's consent page (the emulator's) is showing.
    pub consent: bool,
}

const PAGE_STATE: &str = r#"
    const el = (id) => document.getElementById(id);
    const shown = (id) => { const e = el(id); return !!e && e.getClientRects().length > 0; };
    return {
        url: location.href,
        status: el("status")?.textContent ?? "",
        error: shown("error") ? el("error").innerText : null,
        signedIn: shown("signed-in"),
        signInReady: shown("sign-in") && !el("sign-in").disabled,
        consent: !!el("authorize") && !!el("cancel"),
    };
"#;

/// Runs first in every document: keeps the status, URL and text of every response, and
/// every Content-Security-Policy violation.
const RECORD_RESPONSES: &str = r#"
    (() => {
        const violations = (window.__cspViolations = []);
        document.addEventListener("securitypolicyviolation", (e) =>
            violations.push(`${e.violatedDirective} ${e.blockedURI}`));
        const seen = (window.__xauthResponses = []);
        const realFetch = window.fetch;
        window.fetch = async function (...args) {
            const response = await realFetch.apply(this, args);
            try {
                const body = await response.clone().text();
                seen.push({ url: response.url, status: response.status, body });
            } catch (e) {
                seen.push({ url: response.url, status: response.status, body: "" });
            }
            return response;
        };
    })();
"#;

/// Everything the page's own script can see, as one string: cookies, storages, and every
/// value reachable from `window` (except the recorder, searched on its own).
const VISIBLE_TO_THE_PAGE: &str = r#"
    const seen = new Set();
    const parts = [document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })];
    const walk = (value, depth) => {
        if (value === null || value === undefined || depth > 4) return;
        if (typeof value === "string") { parts.push(value); return; }
        if (typeof value !== "object" && typeof value !== "function") { parts.push(String(value)); return; }
        if (seen.has(value) || value === window.__xauthResponses) return;
        seen.add(value);
        if (value instanceof Node || value instanceof Window && value !== window) return;
        let keys = [];
        try { keys = Object.getOwnPropertyNames(value); } catch { return; }
        // Getters on wasm-bindgen classes live on the prototype.
        try {
            const proto = Object.getPrototypeOf(value);
            if (proto && proto !== Object.prototype && proto !== Function.prototype) {
                keys = keys.concat(Object.getOwnPropertyNames(proto));
            }
        } catch {}
        for (const key of keys) {
            let child;
            try { child = value[key]; } catch { continue; }
            if (typeof child === "function") continue;
            walk(child, depth + 1);
        }
    };
    for (const key of Object.getOwnPropertyNames(window)) {
        if (key === "__xauthResponses" || key === "__cspViolations") continue;
        let value;
        try { value = window[key]; } catch { continue; }
        if (typeof value === "function" && !/^xauth/i.test(key)) continue;
        walk(value, 0);
    }
    return parts.join("\n");
"#;

/// One browser session on the SPA.
pub struct Page<'a> {
    /// The WebDriver session.
    pub client: Client,
    /// What it runs against.
    pub demo: &'a Demo,
}

impl Page<'_> {
    /// Ends the WebDriver session (Chromium quits); dropping the driver would kill it anyway.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// The page's state now, or `None` while a navigation is under way.
    pub async fn try_state(&self) -> Option<PageState> {
        // Fails while a navigation is under way: the caller asks again.
        let value = self.client.execute(PAGE_STATE, vec![]).await.ok()?;
        let text = |name: &str| value[name].as_str().map(str::to_owned);
        Some(PageState {
            url: text("url")?,
            status: text("status").unwrap_or_default(),
            error: text("error"),
            signed_in: value["signedIn"] == true,
            sign_in_ready: value["signInReady"] == true,
            consent: value["consent"] == true,
        })
    }

    /// The page's state, once it can be read.
    pub async fn state(&self) -> PageState {
        self.wait_for("a page", |_| true).await
    }

    /// Polls the page until `done`; panics after [`PATIENCE`] with what the page, X and
    /// the worker last showed.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&PageState) -> bool) -> PageState {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        loop {
            if let Some(state) = self.try_state().await {
                if done(&state) {
                    return state;
                }
                last = Some(state);
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {PATIENCE:?} for {what}; the page: {last:#?}\nX's stats: {}\nthe worker:\n{}",
                    self.demo.x.stats(),
                    self.demo.worker.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` until it returns something other than null; that value.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(value) = self.client.execute(script, vec![]).await
                && !value.is_null()
            {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the demo's Activity log holds `text`; the whole log.
    pub async fn wait_for_log(&self, text: &str) -> String {
        let script = format!(
            r#"const log = document.getElementById("log").innerText;
               return log.includes({}) ? log : null;"#,
            json!(text)
        );
        let log = self
            .wait_until(&format!("{text:?} in the log"), &script)
            .await;
        log.as_str().expect("the log is text").to_owned()
    }

    /// Clicks the sign-in button `button` ("sign-in", "sign-in-oauth1") and waits for X's
    /// consent page.
    pub async fn open_consent(&self, button: &str) {
        self.click(button).await;
        self.wait_for("X's consent page", |s| s.consent).await;
    }

    /// Clicks "Sign in with X", then on X's consent page the button `decision`
    /// ("authorize" or "cancel").
    pub async fn sign_in_and(&self, decision: &str) {
        self.open_consent("sign-in").await;
        self.click(decision).await;
    }

    /// Waits for the error panel; the page and the panel's text in lower case.
    pub async fn wait_for_error(&self) -> (PageState, String) {
        let state = self
            .wait_for("the error panel", |s| s.error.is_some())
            .await;
        let error = state.error.as_deref().unwrap_or_default().to_lowercase();
        (state, error)
    }

    /// Signs in through the demo and X's consent page; the signed-in view.
    pub async fn sign_in(&self) -> PageState {
        self.sign_in_and("authorize").await;
        self.wait_for("the signed-in view", |s| s.signed_in).await
    }

    /// A real (WebDriver) click on the element with this id.
    pub async fn click(&self, id: &str) {
        self.element(id)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click #{id}: {err}"));
    }

    /// The visible text of the element with this id.
    pub async fn text(&self, id: &str) -> String {
        self.element(id)
            .await
            .text()
            .await
            .unwrap_or_else(|err| panic!("text of #{id}: {err}"))
    }

    async fn element(&self, id: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|err| panic!("#{id}: {err}"))
    }

    /// Runs `body`, the body of an async function, in the page with `args` as its array
    /// `args`; `Ok` with what it returned (JSON), `Err` with what it threw as
    /// `{code, kind, name, message}` (an `XAuthError`'s fields, or a plain error's).
    pub async fn run_async(&self, body: &str, args: Vec<Value>) -> Result<Value, Value> {
        let script = format!(
            r#"
            const done = arguments[arguments.length - 1];
            const args = Array.from(arguments).slice(0, -1);
            (async (args) => {{ {body} }})(args).then(
                (value) => done({{ ok: value ?? null }}),
                (e) => done({{ err: {{
                    code: e?.code ?? null, kind: e?.kind ?? null,
                    name: e?.name ?? null, message: String(e?.message ?? e),
                }} }}),
            );
            "#
        );
        let outcome = self
            .client
            .execute_async(&script, args)
            .await
            .unwrap_or_else(|err| panic!("{body}: {err}"));
        match (outcome.get("ok"), outcome.get("err")) {
            (Some(ok), _) => Ok(ok.clone()),
            (_, Some(err)) => Err(err.clone()),
            _ => panic!("{body}: the page answered {outcome}"),
        }
    }

    /// Sends a Chrome DevTools Protocol command to the page (chromedriver's
    /// `goog/cdp/execute`); its result.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(CdpCommand {
                command: command.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|err| panic!("CDP {command}: {err}"))
    }

    /// From the next document on, the page keeps every response its `fetch` receives
    /// (`window.__xauthResponses`: `{url, status, body}`) and every Content-Security-Policy
    /// violation (`window.__cspViolations`), through a script Chromium runs first in every
    /// document. For [`Page::assert_no_token`] and [`Page::responses`].
    pub async fn record_responses(&self) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": RECORD_RESPONSES }),
        )
        .await;
    }

    /// Worker custody's session cookie, as the browser holds it, once it is checked to be
    /// HttpOnly and out of the page's reach (`document.cookie`); panics if there is none.
    pub async fn http_only_session_cookie(&self) -> fantoccini::cookies::Cookie<'static> {
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        let cookie = cookies
            .into_iter()
            .find(|c| c.name() == SESSION_COOKIE)
            .unwrap_or_else(|| panic!("no session cookie at {}", self.demo.redirect_uri()));
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
        let document_cookie = self.script("return document.cookie").await;
        assert!(
            !document_cookie.as_str().unwrap().contains(SESSION_COOKIE),
            "{document_cookie}"
        );
        cookie
    }

    /// The browser holds no session cookie (after a sign-out).
    pub async fn assert_no_session_cookie(&self) {
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        assert!(
            cookies.iter().all(|c| c.name() != SESSION_COOKIE),
            "the cookie is gone: {cookies:?}"
        );
    }

    /// What [`Page::record_responses`] kept in this document: `{url, status, body}` each.
    pub async fn responses(&self) -> Vec<Value> {
        match self.script("return window.__xauthResponses").await {
            Value::Array(responses) => responses,
            other => panic!("the recorder did not run in this document: {other}"),
        }
    }

    /// The Content-Security-Policy violations [`Page::record_responses`] saw here.
    pub async fn csp_violations(&self) -> Value {
        self.script("return window.__cspViolations").await
    }

    /// No token in any response the page received (see [`Page::record_responses`]), nor
    /// in its cookies, storages or anything reachable from its `window`; `when` names the
    /// moment in a failure.
    pub async fn assert_no_token(&self, tokens: &[&String], when: &str) {
        let responses = self.responses().await;
        // The walk must be able to find what it looks for: a canary two objects deep, and
        // one behind a getter on a class's prototype (as wasm-bindgen's classes keep them).
        self.script(
            r#"class Holder { get secret() { return "canary-getter-7f3a"; } }
               window.__canary = { deep: { value: "canary-deep-7f3a" }, holder: new Holder() };"#,
        )
        .await;
        let visible = self.script(VISIBLE_TO_THE_PAGE).await;
        let visible = visible.as_str().expect("a string");
        assert!(
            visible.contains("canary-deep-7f3a") && visible.contains("canary-getter-7f3a"),
            "{when}: the walk sees what the page sees"
        );
        for token in tokens {
            for response in &responses {
                assert!(
                    !response["body"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(token.as_str()),
                    "{when}: a token in the answer of {}",
                    response["url"]
                );
            }
            assert!(
                !visible.contains(token.as_str()),
                "{when}: a token is visible to the page"
            );
        }
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|err| panic!("{script}: {err}"))
    }
}

/// A Chrome DevTools Protocol command through chromedriver's vendor endpoint.
#[derive(Debug)]
struct CdpCommand {
    command: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// chromedriver on a free port, in its own process group so that dropping it stops the
/// Chromium it started too, whatever a test did.
pub struct Chromedriver {
    url: String,
    child: Child,
    profile: tempfile::TempDir,
}

impl Chromedriver {
    /// chromedriver on a free port, listening.
    pub fn start() -> Chromedriver {
        let program = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
        let port = free_port();
        let profile = tempfile::Builder::new()
            .prefix("xauth-chromium-")
            .tempdir()
            .expect("a temporary profile directory");
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", program.display()));
        let mut driver = Chromedriver {
            url: format!("http://127.0.0.1:{port}"),
            child,
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("{} exited ({status})", program.display());
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new headless Chromium, with a fresh profile, as a WebDriver session.
    pub async fn session(&self) -> Client {
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--window-size=900,800".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let mut options = json!({ "args": args });
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if chromium.exists() {
            options["binary"] = json!(chromium);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("a Chromium session at {}: {err}", self.url))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        for signal in ["TERM", "KILL"] {
            let _ = Command::new("kill")
                .args(["-s", signal, "--", &group])
                .stderr(Stdio::null())
                .status();
            if signal == "TERM" {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        let _ = self.child.wait();
    }
}

/// The repository root: `XAUTH_ROOT`, else this crate's parent directory.
pub fn root() -> PathBuf {
    std::env::var_os("XAUTH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}
