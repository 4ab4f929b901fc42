//! Test support: the X emulator in-process and the built worker in workerd.
//!
//! - [`Emulator`] runs `xauth-emulator` on a free port of 127.0.0.1, on its own thread, for
//!   as long as the value lives; its methods drive the test control API and the consent
//!   step over HTTP.
//! - [`Worker`] runs the built worker (`cargo xtask build` output) in the real workerd
//!   runtime through `wrangler dev`, with exactly the variables a test gives it, and stops
//!   the whole process group when dropped.
//!
//! Everything here is blocking and needs no async runtime (a small HTTP/1.0 client over
//! `std::net` talks to the emulator), so it works from plain `#[test]`s and, briefly
//! blocking, from async ones.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use xauth_tests::{Emulator, EmulatorOptions, Worker};
//!
//! let x = Emulator::start(EmulatorOptions::default().redirect_uris(&["http://127.0.0.1:8787/"]));
//! let vars = BTreeMap::from([("X_API_URL", x.base_url().to_owned())]);
//! let worker = Worker::start(&vars);
//! // ... talk to worker.base_url(), check x.stats()["token"] ...
//! # drop(worker);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
pub use xauth_emulator::{Decision, EmulatorConfig, User};

pub mod api;
pub mod browser;
pub mod custody;
pub mod vite;
pub mod workerd;

/// How the test emulator is set up: [`EmulatorConfig`] with chainable setters.
#[derive(Clone, Debug, Default)]
pub struct EmulatorOptions {
    /// The full configuration, for settings without a setter.
    pub config: EmulatorConfig,
}

impl EmulatorOptions {
    /// The registered client: a confidential one with `Some(secret)`, a public one with `None`.
    pub fn client(mut self, id: &str, secret: Option<&str>) -> Self {
        self.config.client_id = id.to_owned();
        self.config.client_secret = secret.map(str::to_owned);
        self
    }

    /// Replaces the registered redirect URIs (matched exactly).
    pub fn redirect_uris(mut self, uris: &[&str]) -> Self {
        self.config.redirect_uris = uris.iter().map(|u| u.to_string()).collect();
        self
    }

    /// The access token lifetime (`expires_in`; X: 7200 s).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.config.access_ttl = ttl;
        self
    }

    /// How long a code can be exchanged (X: 30 s).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.config.code_ttl = ttl;
        self
    }

    /// Decides authorization requests at once instead of showing the consent page.
    pub fn auto_decision(mut self, decision: Decision) -> Self {
        self.config.auto_decision = Some(decision);
        self
    }

    /// A refresh also kills the access token issued with the spent refresh token.
    pub fn strict_rotation(mut self) -> Self {
        self.config.strict_rotation = true;
        self
    }

    /// The user behind grants until [`Emulator::set_user`] names another.
    pub fn user(mut self, user: User) -> Self {
        self.config.user = user;
        self
    }
}

/// The X emulator, serving on `127.0.0.1:<free port>` until dropped.
pub struct Emulator {
    base_url: String,
    addr: SocketAddr,
    config: EmulatorConfig,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator; it accepts connections as soon as this returns.
    pub fn start(options: EmulatorOptions) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = options.config.clone();
        let thread = thread::Builder::new()
            .name(format!("xauth-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the emulator");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    tokio::select! {
                        served = xauth_emulator::serve(config, listener) => {
                            served.expect("the emulator stopped serving");
                        }
                        _ = stopped => {}
                    }
                });
            })
            .expect("spawn the emulator thread");
        Emulator {
            base_url: format!("http://{addr}"),
            addr,
            config: options.config,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash. X's paths go after it
    /// (`/i/oauth2/authorize`, `/2/oauth2/token`, …), so it stands for both `x.com` and
    /// `api.x.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// The call counters: `authorize`, `authorize_decision`, `token`,
    /// `token_by_grant.{authorization_code,refresh_token,other}`, `revoke`, `users_me`,
    /// `pkce_plain` (authorize requests with `code_challenge_method=plain`), the X API's
    /// `tweets_lookup`, `users_lookup`, `tweets_create`, `tweets_delete`,
    /// `api_requests_with_cookie` (X API requests that carried a `Cookie` header), and
    /// `faults_served`; plus `posts` (see [`Emulator::posts`]). Faulted calls count too.
    pub fn stats(&self) -> Value {
        let reply = self.request("GET", "/__emulator/stats", &[], "");
        reply.expect_status(200);
        reply.json()
    }

    /// The posts made with `POST /2/tweets` and not deleted, oldest first: `{"id","text"}`.
    pub fn posts(&self) -> Vec<Value> {
        match self.stats()["posts"].take() {
            Value::Array(posts) => posts,
            other => panic!("the emulator's stats have no posts list: {other}"),
        }
    }

    /// The same posts as [`Emulator::posts`], each with who made it:
    /// `{"id","text","author_id"}`.
    pub fn posts_with_authors(&self) -> Vec<Value> {
        let reply = self.request("GET", "/__emulator/posts", &[], "");
        reply.expect_status(200);
        match reply.json()["posts"].take() {
            Value::Array(posts) => posts,
            other => panic!("the emulator's post list is not a list: {other}"),
        }
    }

    /// Zeroes the counters, forgets the posts and drops pending faults (codes and tokens
    /// stay valid).
    pub fn reset(&self) {
        self.request("POST", "/__emulator/reset", &[], "")
            .expect_status(200);
    }

    /// Makes `user` the one behind every grant authorized from now on (the consent step,
    /// OAuth 2.0 or 1.0a): codes and tokens issued before, and their refreshes, stay the
    /// user they were for, and `/2/users/me` answers as the token's user. A [`reset`]
    /// keeps it; `set_user(User::default())` goes back to the default user.
    ///
    /// [`reset`]: Emulator::reset
    pub fn set_user(&self, user: User) {
        let body = json!({ "id": user.id, "name": user.name, "username": user.username });
        self.request("POST", "/__emulator/user", &[JSON], &body.to_string())
            .expect_status(200);
    }

    /// The next `count` calls to `endpoint` (`token`, `revoke`, `users_me`, `tweets_create`,
    /// `tweets_delete`, ...) fail as `mode` says: `500`, `429` (with `Retry-After: 7` and a
    /// spent rate limit), `401`, `403`, `garbage` (200 with `<html>oops`),
    /// `close` (connection dropped), `slow` (2 s late, then normal; see
    /// [`Emulator::inject_fault_slow`]) or `slow_body` (carried out, headers at once, the
    /// body 2 s later). Faults queue in the order they are injected.
    pub fn inject_fault(&self, endpoint: &str, mode: &str, count: u32) {
        self.post_fault(json!({ "endpoint": endpoint, "mode": mode, "count": count }));
    }

    /// The next `count` calls to `endpoint` answer normally but `delay_ms` late.
    pub fn inject_fault_slow(&self, endpoint: &str, delay_ms: u64, count: u32) {
        self.post_fault(json!({
            "endpoint": endpoint, "mode": "slow", "count": count, "delay_ms": delay_ms,
        }));
    }

    /// The next `count` calls to `endpoint` are carried out and answered at once, but the
    /// answer's body comes `delay_ms` after its headers.
    pub fn inject_fault_slow_body(&self, endpoint: &str, delay_ms: u64, count: u32) {
        self.post_fault(json!({
            "endpoint": endpoint, "mode": "slow_body", "count": count, "delay_ms": delay_ms,
        }));
    }

    fn post_fault(&self, body: Value) {
        self.request("POST", "/__emulator/faults", &[JSON], &body.to_string())
            .expect_status(200);
    }

    /// The OAuth 2.0 tokens X would take now: (live access tokens, unspent refresh tokens).
    pub fn tokens(&self) -> (Vec<String>, Vec<String>) {
        let reply = self.request("GET", "/__emulator/tokens", &[], "");
        reply.expect_status(200);
        let json = reply.json();
        let list = |name: &str| -> Vec<String> {
            json[name]
                .as_array()
                .unwrap_or_else(|| panic!("no {name} list: {json}"))
                .iter()
                .map(|token| token.as_str().expect("a token string").to_owned())
                .collect()
        };
        (list("access"), list("refresh"))
    }

    /// Redeems `refresh_token` at X's token endpoint as the client `client_id`/`secret`
    /// (someone else holding the same grant would), spending it; the new tokens' JSON.
    pub fn refresh_as(&self, (client_id, secret): (&str, &str), refresh_token: &str) -> Value {
        let basic = basic_credentials(client_id, secret);
        let body = form_query(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]);
        let reply = self.request(
            "POST",
            "/2/oauth2/token",
            &[
                ("Authorization", &format!("Basic {basic}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        );
        reply.expect_status(200);
        reply.json()
    }

    /// Expires one access token now (refresh tokens stay valid).
    pub fn expire_access_token(&self, access_token: &str) {
        let body = json!({ "access_token": access_token }).to_string();
        self.request("POST", "/__emulator/expire", &[JSON], &body)
            .expect_status(200);
    }

    /// Expires every access token now.
    pub fn expire_access_tokens(&self) {
        self.request("POST", "/__emulator/expire", &[], "")
            .expect_status(200);
    }

    /// Signs the user in without a browser: approves an authorization request for these
    /// parameters (`code_challenge_method=S256`) and returns the code from the redirect.
    /// Panics, with the emulator's answer, when X would not issue a code.
    pub fn authorize(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        challenge: &str,
    ) -> String {
        let query = form_query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
        let location = self.approve(&format!("{}/i/oauth2/authorize?{query}", self.base_url));
        query_param(&location, "code")
            .unwrap_or_else(|| panic!("no code in the redirect: {location}"))
    }

    /// Approves an authorization URL (as a worker or page built it; its host must be
    /// this emulator) and returns the redirect's `Location`: the callback URL with
    /// `code` and `state`, or with `error` if X refused the request.
    pub fn approve(&self, authorize_url: &str) -> String {
        self.decide(authorize_url, "approve")
    }

    /// Denies an authorization URL, returning the redirect's `Location`
    /// (`error=access_denied`).
    pub fn deny(&self, authorize_url: &str) -> String {
        self.decide(authorize_url, "deny")
    }

    fn decide(&self, authorize_url: &str, decision: &str) -> String {
        let path_and_query = authorize_url
            .strip_prefix(&self.base_url)
            .unwrap_or_else(|| panic!("{authorize_url} is not at {}", self.base_url));
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let target = format!("{path_and_query}{separator}decision={decision}");
        let reply = self.request("GET", &target, &[], "");
        reply.expect_status(302);
        reply
            .header("location")
            .unwrap_or_else(|| panic!("a redirect without Location: {}", reply.body))
            .to_owned()
    }

    /// `GET /2/users/me` with this access token: the JSON on 200, `None` when X refuses
    /// the token (401, 403).
    pub fn users_me(&self, access_token: &str) -> Option<Value> {
        let authorization = format!("Bearer {access_token}");
        let reply = self.request(
            "GET",
            "/2/users/me",
            &[("Authorization", &authorization)],
            "",
        );
        match reply.status {
            200 => Some(reply.json()),
            401 | 403 => None,
            _ => panic!("GET /2/users/me: {} {}", reply.status, reply.body),
        }
    }

    fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        http_request(self.addr, method, target, headers, body)
            .unwrap_or_else(|err| panic!("{method} {target} at the emulator: {err}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The worker variables that make the X at `x_base_url` (an emulator) X for the OAuth 2.0
/// client `client_id`/`client_secret`, with its space-separated callbacks and scopes;
/// suites add what they test (origins, consumer, timeouts).
pub fn worker_vars(
    x_base_url: &str,
    (client_id, client_secret): (&str, &str),
    redirect_uris: &str,
    scopes: &str,
) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("TWITTER_CLIENT_ID", client_id.to_owned()),
        ("TWITTER_CLIENT_SECRET", client_secret.to_owned()),
        ("TWITTER_REDIRECT_URI", redirect_uris.to_owned()),
        ("TWITTER_SCOPES", scopes.to_owned()),
        (
            "X_AUTHORIZE_URL",
            format!("{x_base_url}/i/oauth2/authorize"),
        ),
        ("X_API_URL", x_base_url.to_owned()),
    ])
}

/// A fresh vault key for worker custody (`XAUTH_VAULT_KEY`): 32 random bytes, base64.
pub fn random_vault_key() -> String {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut key))
        .expect("32 bytes from /dev/urandom");
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released), for "X is
/// down" tests.
pub fn closed_port() -> u16 {
    free_port()
}

/// A port on 127.0.0.1 that is free right now (bound, then released), for a server whose
/// address must be known before it starts: see [`Worker::start_on`].
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// An HTTP answer, read whole.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn expect_status(&self, status: u16) {
        assert_eq!(self.status, status, "the emulator answered: {}", self.body);
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }
}

/// One HTTP/1.0 request (the server closes the connection after the answer, so the
/// body is everything until EOF).
pub(crate) fn http_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {raw:?}")))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// `base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn basic_credentials(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let plain = format!("{}:{}", percent_encode(id), percent_encode(secret));
    base64::engine::general_purpose::STANDARD.encode(plain)
}

fn form_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query parameter of a URL, percent- and `+`-decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name).then(|| percent_decode(v))
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The built worker, running in workerd under `wrangler dev` until dropped.
///
/// Environment: `XAUTH_ROOT` (the repository root; default: this crate's parent),
/// `XAUTH_WRANGLER` (default `<root>/node_modules/.bin/wrangler`), `PATH` with Node 22
/// first (`<root>/.tools/node/node_modules/node/bin` is put first when it exists), and
/// `XAUTH_WRANGLER_LOG_LEVEL` (default `log`, so tests can read what the worker logged).
pub struct Worker {
    base_url: String,
    /// Where wrangler keeps the Durable Objects' storage (`--persist-to`).
    state_dir: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl Worker {
    /// Runs the built worker (`main` of `<root>/wrangler.toml`, with its static assets)
    /// with exactly these variables. Secrets are just variables locally: every value goes
    /// into a private `.dev.vars` in a temporary directory outside the repository, and
    /// `[vars]` of `wrangler.toml` are not used, so a test controls the whole environment.
    /// Waits (up to 60 s) until the worker answers HTTP; panics with wrangler's output if
    /// it does not.
    pub fn start<I, K, V>(vars: I) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Worker::start_on(free_port(), vars)
    }

    /// [`Worker::start`] on a given port of 127.0.0.1, for variables that must name the
    /// worker's own origin before it runs: a page served by the worker is its OAuth
    /// callback, so `TWITTER_REDIRECT_URI` is `http://127.0.0.1:<port>/`. Take the port
    /// from [`free_port`].
    pub fn start_on<I, K, V>(port: u16, vars: I) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let config = built_worker_config(&root);
        Worker::launch(&root, vec![(config, dev_vars(vars))], port, None)
    }

    /// [`Worker::start_on`] for another built worker than xauth's own: the one whose
    /// wrangler.toml is at `config`, relative to the repository root (e.g. an example app
    /// with xauth mounted in it).
    pub fn start_config_on<I, K, V>(config: &str, port: u16, vars: I) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let config = worker_config(&root, config);
        Worker::launch(&root, vec![(config, dev_vars(vars))], port, None)
    }

    /// [`Worker::start`] with `<root>/wrangler.toml` changed by `adjust` first (e.g. a rate
    /// limit's `simple.limit`).
    pub fn start_adjusted<I, K, V>(vars: I, adjust: impl FnOnce(&mut toml::Table)) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Worker::start_on_adjusted(free_port(), vars, adjust)
    }

    /// [`Worker::start_adjusted`] on a given port (see [`Worker::start_on`]): e.g. a page
    /// that is its own OAuth callback, served from another `[assets]` directory.
    pub fn start_on_adjusted<I, K, V>(
        port: u16,
        vars: I,
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let mut config = built_worker_config(&root);
        adjust(&mut config);
        Worker::launch(&root, vec![(config, dev_vars(vars))], port, None)
    }

    /// [`Worker::start_on`] with its Durable Objects' storage in `state_dir` (wrangler's
    /// `--persist-to`), which outlives the worker: a worker started later on the same
    /// directory finds what this one stored, as a redeployed worker would.
    pub fn start_persisting<I, K, V>(port: u16, vars: I, state_dir: &Path) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let config = built_worker_config(&root);
        Worker::launch(&root, vec![(config, dev_vars(vars))], port, Some(state_dir))
    }

    /// Runs a given worker script (an ES module) instead of the built worker, with no
    /// assets; for testing the harness itself.
    pub fn start_script<I, K, V>(script: &Path, vars: I) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let script = fs::canonicalize(script)
            .unwrap_or_else(|err| panic!("worker script {}: {err}", script.display()));
        let mut config = toml::Table::new();
        config.insert("name".into(), "xauth-harness-test".into());
        config.insert("main".into(), script.display().to_string().into());
        config.insert("compatibility_date".into(), "2025-09-01".into());
        Worker::launch(&root, vec![(config, dev_vars(vars))], free_port(), None)
    }

    /// The built worker mounted in an app's own Worker: `front` (a wrangler.toml as
    /// [`wrangler_config`] reads it) serves on `port` of 127.0.0.1, and the built worker,
    /// with `vars`, runs beside it in the same `wrangler dev` session, reachable only
    /// through `front`'s service binding to `xauth` (wrangler serves the first of its
    /// configs on the port and binds the others to it by name, as Cloudflare binds Workers
    /// of one account). The built worker runs without its static assets: the page is
    /// `front`'s. `front` gets no variables.
    pub fn start_behind<I, K, V>(port: u16, front: toml::Table, vars: I) -> Worker
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let mut xauth = built_worker_config(&root);
        xauth.remove("assets");
        let no_vars: [(&str, &str); 0] = [];
        Worker::launch(
            &root,
            vec![(front, dev_vars(no_vars)), (xauth, dev_vars(vars))],
            port,
            None,
        )
    }

    /// `wrangler dev` with `workers` (each a wrangler.toml and its `.dev.vars`), the first
    /// served on `port`.
    fn launch(
        root: &Path,
        workers: Vec<(toml::Table, String)>,
        port: u16,
        state_dir: Option<&Path>,
    ) -> Worker {
        let wrangler = std::env::var_os("XAUTH_WRANGLER")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("node_modules/.bin/wrangler"));
        assert!(
            wrangler.exists(),
            "{} is missing: run `cargo xtask setup` (or set XAUTH_WRANGLER)",
            wrangler.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("xauth-worker-")
            .tempdir()
            .expect("a temporary directory");
        // One folder per worker: wrangler reads each worker's .dev.vars (dotenv, without
        // expansion) next to its wrangler.toml.
        let mut configs = Vec::new();
        for (index, (config, vars)) in workers.iter().enumerate() {
            let folder = dir.path().join(format!("worker{index}"));
            fs::create_dir(&folder).expect("a folder for the worker's config");
            let config_path = folder.join("wrangler.toml");
            let toml = toml::to_string(config).expect("wrangler.toml serializes");
            fs::write(&config_path, toml).expect("write the temporary wrangler.toml");
            write_private(&folder.join(".dev.vars"), vars);
            configs.push(config_path);
        }

        let log_level = std::env::var("XAUTH_WRANGLER_LOG_LEVEL").unwrap_or_else(|_| "log".into());
        let stdout = fs::File::create(dir.path().join("wrangler.out")).expect("a log file");
        let stderr = fs::File::create(dir.path().join("wrangler.err")).expect("a log file");
        let mut command = Command::new(&wrangler);
        command.arg("dev");
        for config in &configs {
            command.arg("--config").arg(config);
        }
        command
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            // 0: an OS-chosen port. Its default (the first free one from 9229) races
            // when tests start several workers at once.
            .args(["--inspector-port", "0"])
            .args(["--log-level", &log_level])
            .arg("--persist-to")
            .arg(state_dir.map_or_else(|| dir.path().join("state"), Path::to_path_buf))
            .arg("--show-interactive-dev-session=false")
            .current_dir(dir.path())
            .env("PATH", path_with_node(root))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_LOG_PATH", dir.path().join("logs"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group, so Drop can stop wrangler and its workerd children.
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", wrangler.display()));
        let mut worker = Worker {
            base_url: format!("http://127.0.0.1:{port}"),
            state_dir: state_dir.map_or_else(|| dir.path().join("state"), Path::to_path_buf),
            child,
            dir,
        };
        worker.wait_until_ready(SocketAddr::from(([127, 0, 0, 1], port)));
        worker
    }

    fn wait_until_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "wrangler dev exited ({status}) before serving:\n{}",
                    self.output()
                );
            }
            if http_request(addr, "GET", "/", &[], "").is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "wrangler dev did not answer on {addr} within 60 s:\n{}",
                    self.output()
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Where the worker's Durable Objects keep their storage on disk.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// What wrangler and the worker printed so far (stdout, then stderr).
    pub fn output(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- stdout\n{}--- stderr\n{}",
            read("wrangler.out"),
            read("wrangler.err")
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        signal_group("TERM", &group);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (workerd children included).
        signal_group("KILL", &group);
        let _ = self.child.wait();
    }
}

/// `kill -s SIGNAL -- -PGID`, quietly (the group may be gone already).
fn signal_group(signal: &str, group: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", group])
        .stderr(Stdio::null())
        .status();
}

/// The repository root: `XAUTH_ROOT`, else this crate's parent directory.
pub(crate) fn root() -> PathBuf {
    let root = std::env::var_os("XAUTH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    fs::canonicalize(&root).unwrap_or_else(|err| panic!("XAUTH_ROOT {}: {err}", root.display()))
}

/// `<root>/wrangler.toml` as [`wrangler_config`] reads it, once `cargo xtask build` has
/// made its `main`.
fn built_worker_config(root: &Path) -> toml::Table {
    worker_config(root, "wrangler.toml")
}

/// The wrangler.toml at `config` (relative to `root`) as [`wrangler_config`] reads it, once
/// its `main` is built.
fn worker_config(root: &Path, config: &str) -> toml::Table {
    let config = wrangler_config(&root.join(config));
    let main = Path::new(config["main"].as_str().expect("main is a string"));
    assert!(
        main.exists(),
        "the built worker {} is missing: run `cargo xtask build` first (for examples/, \
         `cargo xtask test` builds them)",
        main.display()
    );
    config
}

/// A wrangler.toml with its paths (`main`, `[assets] directory`) made absolute, so that it
/// can be written anywhere, and without what a test run must not inherit: the build step,
/// `[vars]`, `[secrets]` and `[dev]` settings.
pub fn wrangler_config(path: &Path) -> toml::Table {
    let text = fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut config: toml::Table =
        toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    for key in ["build", "vars", "secrets", "dev"] {
        config.remove(key);
    }
    let folder = path.parent().expect("a file has a folder");
    let main = config
        .get("main")
        .and_then(|main| main.as_str())
        .unwrap_or_else(|| panic!("{} has no main", path.display()));
    let main = folder.join(main);
    config.insert("main".into(), main.display().to_string().into());
    if let Some(assets) = config.get_mut("assets").and_then(|a| a.as_table_mut())
        && let Some(directory) = assets.get("directory").and_then(|d| d.as_str())
    {
        let directory = folder.join(directory).display().to_string();
        assets.insert("directory".into(), directory.into());
    }
    config
}

/// `PATH` with the project's Node first: `XAUTH_NODE_DIR` (what `cargo xtask test` found
/// or installed), else the Node 22 `cargo xtask setup` installs when the system's is older.
pub(crate) fn path_with_node(root: &Path) -> std::ffi::OsString {
    let node = std::env::var_os("XAUTH_NODE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/node/node_modules/node/bin"));
    let mut paths: Vec<PathBuf> = Vec::new();
    if node.is_dir() {
        paths.push(node);
    }
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).expect("a valid PATH")
}

/// Variables in `.dev.vars` (dotenv) syntax. Each value is quoted with a quote character
/// it does not contain: dotenv keeps '…' and `…` values verbatim.
fn dev_vars<I, K, V>(vars: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect();
    let mut out = String::new();
    for (name, value) in &vars {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')),
            "variable name {name:?} cannot go into .dev.vars"
        );
        let quote = ['\'', '`']
            .into_iter()
            .find(|q| !value.contains(*q))
            .filter(|_| !value.contains(['\n', '\r']))
            .unwrap_or_else(|| panic!("the value of {name} cannot go into .dev.vars verbatim"));
        out.push_str(&format!("{name}={quote}{value}{quote}\n"));
    }
    out
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    file.write_all(contents.as_bytes())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_vars_keep_values_verbatim() {
        let vars = dev_vars([("A", "s3cret+/:%$HOME \"x\""), ("B", "it's"), ("C", "")]);
        assert_eq!(vars, "A='s3cret+/:%$HOME \"x\"'\nB=`it's`\nC=''\n");
    }

    #[test]
    fn query_params_decode() {
        let url = "http://127.0.0.1:8787/cb?state=a%20b+c&code=x%2Fy#frag";
        assert_eq!(query_param(url, "state").as_deref(), Some("a b c"));
        assert_eq!(query_param(url, "code").as_deref(), Some("x/y"));
        assert_eq!(query_param(url, "error"), None);
    }
}
