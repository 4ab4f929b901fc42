//! The worker half of `cargo xtask bench`: each contender served on its own, wrk as the
//! load, a stand-in for X behind them all.
//!
//! - the stand-in for X: `bench/x-standin.mjs` (Node), fixed valid answers at once, the same
//!   for every contender (the emulator's codes are single use, so it cannot take a load);
//! - the Rust worker: the built `crates/xauth-worker/build/` in `workerd serve` with a
//!   generated capnp config (never under `wrangler dev`, whose proxy costs more CPU than
//!   the worker);
//! - the JS Worker (`bench/js-worker.mjs`) in its own `workerd serve`, the same exchange
//!   with the Rust worker's safeguards in JS (`bench/js-worker-guarded.mjs`), which shows
//!   what those cost in any language, and as a plain Node server (`bench/node-server.mjs`);
//! - with `--baseline DIR`, an earlier build of the worker (a copy of its `index.js` and
//!   `index_bg.wasm`) in a `workerd serve` of its own, in every row the worker serves: a
//!   change's before and after in the same rounds;
//! - the worker-custody rows: the worker (and the baseline) once more, in a `workerd serve`
//!   configured for worker custody (`XAUTH_TOKEN_CUSTODY=worker`, a vault key, the
//!   `GrantVault` namespace stored on disk), signed in once against the stand-in before the
//!   load; the rows send that sign-in's session cookie with `X-XAuth: 1`.
//!
//! Per row and round: wrk with `--connections` connections for `--secs` seconds; req/s,
//! latency percentiles and errors from wrk's own summary (a Lua `done` hook), CPU per
//! request from the serving process tree's user+sys in /proc over the requests served.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::Options;
use super::process::{self, Process};
use crate::cmd;
use crate::error::{Context, Result, bail};
use crate::project::{self, Project, Tools, WORKER_JS, WORKER_WASM};

/// The app every contender serves, and X's answers to it (see bench/x-standin.mjs).
const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-client-secret-never-leaves";
const REDIRECT_URI: &str = "https://app.example/callback";
const SCOPES: &str = "tweet.read users.read offline.access";
const APP_BEARER_TOKEN: &str = "bench-app-token";
/// A user's access token, as a page holding its tokens (browser custody) sends it.
const USER_BEARER: &str = "Bearer bench-access-token-0123456789abcdefghijklmnopqrstuvwxyz";
const VERIFIER: &str = "bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
/// The code for which the stand-in grants users.read (and answers /2/users/me), which a
/// worker-custody sign-in needs.
const CODE_WITH_USER: &str = "bench-code-with-user";
/// The session cookie's name over plain http on 127.0.0.1 (`__Host-xauth_session` over https).
const SESSION_COOKIE: &str = "xauth_session";
/// wrk's threads: one per core of a small machine (never more than the connections, which
/// are what loads).
pub const WRK_THREADS: u32 = 2;

/// Who serves a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// This project's worker (crates/xauth-worker), in workerd.
    RustWorker,
    /// bench/js-worker.mjs, in workerd.
    JsWorker,
    /// bench/js-worker-guarded.mjs (the exchange with the Rust worker's safeguards), in
    /// workerd.
    JsGuarded,
    /// bench/node-server.mjs, in Node.
    Node,
    /// An earlier build of this project's worker (`--baseline DIR`), in workerd.
    Baseline,
}

impl Contender {
    /// The contenders of every bench, in the table's order.
    pub const ALL: [Contender; 4] = [
        Contender::RustWorker,
        Contender::JsWorker,
        Contender::JsGuarded,
        Contender::Node,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Contender::RustWorker => "xauth worker (Rust, workerd)",
            Contender::JsWorker => "JS Worker (workerd)",
            Contender::JsGuarded => "JS Worker, same safeguards (workerd)",
            Contender::Node => "Node server (node:http)",
            Contender::Baseline => "xauth worker, --baseline build",
        }
    }
}

/// Who keeps the user's tokens in the worker that serves a row (`XAUTH_TOKEN_CUSTODY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Custody {
    /// The page does: the worker is configured as the JS contenders are, plus its own routes.
    Browser,
    /// The worker does, in the user's `GrantVault`; the row's requests carry a session cookie.
    Worker,
}

/// One kind of request, measured for each contender that serves it (the others are n/a).
pub struct Scenario {
    /// The table's row name.
    pub route: String,
    /// What the row measures, for the table's notes.
    pub note: String,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Part of a good answer's body, checked once before the load.
    pub expect: &'static str,
    pub contenders: Vec<Contender>,
    /// The custody of the worker that serves the row; in worker custody the requests also
    /// carry the session cookie of a sign-in made before the load, and `X-XAuth: 1`.
    pub custody: Custody,
    /// The row this one is measured against in the report (the same call in the other
    /// custody): the difference is what the row's extra step costs.
    pub compared_to: Option<usize>,
}

/// What is measured. The first row is the one the targets speak of.
///
/// The proxied call in *worker custody* (the worker keeping the user's tokens) comes right
/// after the same call in browser custody, which it is compared with: its requests carry a
/// session cookie instead of the bearer token, and the worker asks the user's `GrantVault`
/// for the token before it calls X.
pub fn scenarios() -> Vec<Scenario> {
    let json = || vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let exchange = |code: &str| format!(r#"{{"code":"{code}","codeVerifier":"{VERIFIER}"}}"#);
    vec![
        Scenario {
            route: "POST /twitter-access-token".into(),
            note: "the code exchange: X's token answer passed back (the stand-in grants no \
                   users.read, so no contender asks /2/users/me); the targets compare with \
                   the ten-line JS Worker, which checks nothing, bounds nothing and sets no \
                   deadline: the JS Worker with the same safeguards shows what those cost"
                .into(),
            method: "POST",
            path: "/twitter-access-token".into(),
            headers: json(),
            body: Some(exchange("bench-code")),
            expect: "\"access_token\"",
            contenders: Contender::ALL.to_vec(),
            custody: Custody::Browser,
            compared_to: None,
        },
        Scenario {
            route: "POST /twitter-access-token + users/me".into(),
            note: "the exchange when the grant includes users.read: the worker also asks X's \
                   /2/users/me and adds `user` (the JS contenders have no such step)"
                .into(),
            method: "POST",
            path: "/twitter-access-token".into(),
            headers: json(),
            body: Some(exchange("bench-code-with-user")),
            expect: "\"username\"",
            contenders: vec![Contender::RustWorker],
            custody: Custody::Browser,
            compared_to: None,
        },
        Scenario {
            route: "GET /twitter-config".into(),
            note: "the public configuration; no call to X".into(),
            method: "GET",
            path: "/twitter-config".into(),
            headers: vec![],
            body: None,
            expect: "\"clientId\"",
            contenders: vec![Contender::RustWorker],
            custody: Custody::Browser,
            compared_to: None,
        },
        Scenario {
            route: "GET /twitter-api/2/tweets/20 (app token)".into(),
            note: "a proxied public read, anonymous: the app's bearer token \
                   (TWITTER_BEARER_TOKEN) is added"
                .into(),
            method: "GET",
            path: "/twitter-api/2/tweets/20".into(),
            headers: vec![],
            body: None,
            expect: "\"data\"",
            contenders: vec![Contender::RustWorker],
            custody: Custody::Browser,
            compared_to: None,
        },
        Scenario {
            route: "GET /twitter-api/2/tweets/20 (browser custody)".into(),
            note: "a proxied call with the user's bearer token, which the page holds".into(),
            method: "GET",
            path: "/twitter-api/2/tweets/20".into(),
            headers: vec![("Authorization".to_owned(), USER_BEARER.to_owned())],
            body: None,
            expect: "\"data\"",
            contenders: vec![Contender::RustWorker],
            custody: Custody::Browser,
            compared_to: None,
        },
        Scenario {
            route: "GET /twitter-api/2/tweets/20 (worker custody)".into(),
            note: "the same call as a user signed in in worker custody: the session cookie \
                   (opened, CSRF-checked) instead of the token, the user's GrantVault asked \
                   for the token (a Durable Object call, in the same workerd process here; on \
                   Cloudflare the object may be in another location), then X"
                .into(),
            method: "GET",
            path: "/twitter-api/2/tweets/20".into(),
            headers: vec![("X-XAuth".to_owned(), "1".to_owned())],
            body: None,
            expect: "\"data\"",
            contenders: vec![Contender::RustWorker],
            custody: Custody::Worker,
            compared_to: Some(4),
        },
    ]
}

/// One wrk run against one contender.
#[derive(Clone, Debug)]
pub struct Sample {
    pub requests: u64,
    pub req_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Socket errors (connect, read, write, timeout) and answers with status >= 400.
    pub errors: u64,
    pub cpu_us_per_req: f64,
    /// The stand-in's CPU over the run, in % of one core: near 100 it is the bottleneck.
    pub standin_cpu_pct: f64,
}

/// A scenario as served by one contender, over the rounds.
pub struct Row {
    pub scenario: usize,
    pub contender: Contender,
    pub samples: Vec<Sample>,
}

pub struct LoadResults {
    pub scenarios: Vec<Scenario>,
    /// Who was measured, in the table's order.
    pub contenders: Vec<Contender>,
    pub rows: Vec<Row>,
}

impl LoadResults {
    pub fn row(&self, scenario: usize, contender: Contender) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.scenario == scenario && row.contender == contender)
    }
}

pub fn run(project: &Project, tools: &Tools, dir: &Path, options: &Options) -> Result<LoadResults> {
    let wrk = project::find_in_path("wrk")
        .ok_or_else(|| crate::error::Error::msg("wrk is not installed: run `cargo xtask setup`"))?;
    let mut scenarios = scenarios();
    let mut contenders = Contender::ALL.to_vec();
    if options.baseline.is_some() {
        contenders.insert(1, Contender::Baseline);
        for scenario in &mut scenarios {
            if let Some(at) = scenario
                .contenders
                .iter()
                .position(|c| *c == Contender::RustWorker)
            {
                scenario.contenders.insert(at + 1, Contender::Baseline);
            }
        }
    }
    let ticks_per_sec = process::clock_ticks_per_sec();

    let x_port = process::free_port()?;
    let standin = Process::server(
        "the stand-in for X",
        tools
            .command(node(tools))
            .arg(project.path("bench/x-standin.mjs"))
            .arg(x_port.to_string()),
        &dir.join("x-standin.log"),
        x_port,
    )?;
    let x_url = format!("http://127.0.0.1:{x_port}");
    let mut servers: Vec<Server> = Vec::new();
    for scenario in &scenarios {
        for &contender in &scenario.contenders {
            let custody = scenario.custody;
            if servers
                .iter()
                .any(|s| s.contender == contender && s.custody == custody)
            {
                continue;
            }
            let port = process::free_port()?;
            let setup = Setup {
                contender,
                custody,
                port,
                x_url: &x_url,
            };
            let process = start(project, tools, dir, &setup, options)?;
            let cookie = match custody {
                Custody::Browser => None,
                Custody::Worker => Some(sign_in(port).context(format!(
                    "signing in to {} in worker custody",
                    contender.label()
                ))?),
            };
            servers.push(Server {
                contender,
                custody,
                port,
                process,
                cookie,
            });
        }
    }
    let server_of = |servers: &[Server], contender, custody| {
        servers
            .iter()
            .position(|s: &Server| s.contender == contender && s.custody == custody)
            .expect("every server a row needs is started")
    };

    let mut rows: Vec<Row> = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        for &contender in &scenario.contenders {
            let server = &servers[server_of(&servers, contender, scenario.custody)];
            check(server, scenario).context(format!(
                "{} on {}",
                scenario.route,
                contender.label()
            ))?;
            rows.push(Row {
                scenario: index,
                contender,
                samples: Vec::new(),
            });
        }
    }

    let runner = Runner {
        wrk,
        dir: dir.to_owned(),
        options,
        ticks_per_sec,
        standin: &standin,
    };
    // Warm-up (JIT, wasm tiers, connection pools), then rounds in which every row runs once,
    // so that a busy neighbour slows all rows of a round rather than one contender.
    let total_rounds = options.rounds + u32::from(options.warmup_secs > 0);
    for round in 0..total_rounds {
        let warmup = options.warmup_secs > 0 && round == 0;
        for row in &mut rows {
            let scenario = &scenarios[row.scenario];
            let at = server_of(&servers, row.contender, scenario.custody);
            let server = &mut servers[at];
            let secs = if warmup {
                options.warmup_secs
            } else {
                options.secs
            };
            let sample = runner.measure(server, scenario, secs).context(format!(
                "{} on {}",
                scenario.route,
                row.contender.label()
            ))?;
            println!(
                "bench: {:<48} {:<30} {}: {:>7.0} req/s, p50 {:.1} ms, {:>5.0} µs CPU/req, {} errors",
                scenario.route,
                row.contender.label(),
                if warmup {
                    "warm-up".to_owned()
                } else {
                    format!("round {}", round + 1 - u32::from(options.warmup_secs > 0))
                },
                sample.req_per_sec,
                sample.p50_ms,
                sample.cpu_us_per_req,
                sample.errors
            );
            if !warmup {
                row.samples.push(sample);
            }
        }
    }
    drop(servers);
    drop(standin);
    Ok(LoadResults {
        scenarios,
        contenders,
        rows,
    })
}

fn node(tools: &Tools) -> PathBuf {
    tools.node_dir.join("node")
}

/// workerd from the npm package wrangler brings (the platform binary itself, not the
/// Node launcher).
fn workerd(project: &Project, tools: &Tools) -> PathBuf {
    let binary = project.path("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
    if binary.is_file() {
        binary
    } else {
        tools.node_bin("workerd")
    }
}

/// A server the rows are measured on: a contender, in one custody.
struct Server {
    contender: Contender,
    custody: Custody,
    port: u16,
    process: Process,
    /// In worker custody, the `Cookie` of the sign-in made before the load.
    cookie: Option<String>,
}

/// What a server is started as.
struct Setup<'a> {
    contender: Contender,
    custody: Custody,
    port: u16,
    x_url: &'a str,
}

fn start(
    project: &Project,
    tools: &Tools,
    dir: &Path,
    setup: &Setup,
    options: &Options,
) -> Result<Process> {
    let log = |name: &str| dir.join(format!("{name}.log"));
    let Setup {
        contender,
        custody,
        port,
        x_url,
    } = *setup;
    match contender {
        Contender::RustWorker | Contender::Baseline => {
            let (name, files) = match (&options.baseline, contender) {
                (Some(baseline), Contender::Baseline) => (
                    "baseline-worker",
                    [baseline.join("index.js"), baseline.join("index_bg.wasm")],
                ),
                _ => (
                    "rust-worker",
                    [project.path(WORKER_JS), project.path(WORKER_WASM)],
                ),
            };
            let name = match custody {
                Custody::Browser => name.to_owned(),
                Custody::Worker => format!("{name}-custody"),
            };
            let worker_dir = dir.join(&name);
            fs::create_dir_all(&worker_dir)?;
            for (file, name) in files.iter().zip(["index.js", "index_bg.wasm"]) {
                fs::copy(file, worker_dir.join(name)).context(format!(
                    "copying {} (run `cargo xtask build`)",
                    file.display()
                ))?;
            }
            let modules = [
                ("index.js", "esModule", "index.js"),
                ("index_bg.wasm", "wasm", "index_bg.wasm"),
            ];
            let (bindings, vault) = match custody {
                Custody::Browser => (rust_worker_bindings(x_url), None),
                Custody::Worker => {
                    // On disk, as deployed: an object idle between rounds is evicted from
                    // memory and must find the grant again.
                    let storage = worker_dir.join("vault-storage");
                    fs::create_dir_all(&storage)?;
                    (worker_custody_bindings(x_url)?, Some(storage))
                }
            };
            let config = capnp_config(
                &modules,
                &bindings,
                vault.as_deref(),
                &compatibility_date(project)?,
                port,
            )?;
            let path = worker_dir.join("config.capnp");
            fs::write(&path, config)?;
            Process::server(
                contender.label(),
                tools
                    .command(workerd(project, tools))
                    .arg("serve")
                    .arg(&path),
                &log(&name),
                port,
            )
        }
        Contender::JsWorker | Contender::JsGuarded => {
            let (name, script) = match contender {
                Contender::JsWorker => ("js-worker", "bench/js-worker.mjs"),
                _ => ("js-worker-guarded", "bench/js-worker-guarded.mjs"),
            };
            let worker_dir = dir.join(name);
            fs::create_dir_all(&worker_dir)?;
            fs::copy(project.path(script), worker_dir.join("worker.mjs"))?;
            let config = capnp_config(
                &[("worker.mjs", "esModule", "worker.mjs")],
                &js_bindings(x_url),
                None,
                &compatibility_date(project)?,
                port,
            )?;
            let path = worker_dir.join("config.capnp");
            fs::write(&path, config)?;
            Process::server(
                contender.label(),
                tools
                    .command(workerd(project, tools))
                    .arg("serve")
                    .arg(&path),
                &log(name),
                port,
            )
        }
        Contender::Node => {
            let mut command = tools.command(node(tools));
            command
                .arg(project.path("bench/node-server.mjs"))
                .arg(port.to_string())
                .envs(js_bindings(x_url));
            Process::server(contender.label(), &mut command, &log("node-server"), port)
        }
    }
}

/// What the JS contenders read: the client, its callback, X.
fn js_bindings(x_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TWITTER_CLIENT_ID", CLIENT_ID.to_owned()),
        ("TWITTER_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("TWITTER_REDIRECT_URI", REDIRECT_URI.to_owned()),
        ("X_API_URL", x_url.to_owned()),
    ]
}

/// The Rust worker's variables: the JS contenders' plus what its other routes read.
fn rust_worker_bindings(x_url: &str) -> Vec<(&'static str, String)> {
    let mut bindings = js_bindings(x_url);
    bindings.extend([
        ("TWITTER_SCOPES", SCOPES.to_owned()),
        ("X_AUTHORIZE_URL", format!("{x_url}/i/oauth2/authorize")),
        ("TWITTER_BEARER_TOKEN", APP_BEARER_TOKEN.to_owned()),
    ]);
    bindings
}

/// The Rust worker's variables in worker custody: a fresh vault key per run (the
/// `GrantVault` binding is added by [`capnp_config`]).
fn worker_custody_bindings(x_url: &str) -> Result<Vec<(&'static str, String)>> {
    let mut bindings = rust_worker_bindings(x_url);
    bindings.extend([
        ("XAUTH_TOKEN_CUSTODY", "worker".to_owned()),
        ("XAUTH_VAULT_KEY", crate::vault_key::random()?),
    ]);
    Ok(bindings)
}

/// wrangler.toml's `compatibility_date`, so workerd runs the worker as it is deployed.
fn compatibility_date(project: &Project) -> Result<String> {
    let toml =
        fs::read_to_string(project.path("wrangler.toml")).context("reading wrangler.toml")?;
    toml.lines()
        .filter_map(|line| line.trim().strip_prefix("compatibility_date"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .next()
        .ok_or_else(|| crate::error::Error::msg("wrangler.toml has no compatibility_date"))
}

/// A workerd config: one worker (`modules` as (name, kind, embedded file)) with text
/// bindings, on 127.0.0.1:`port`, whose fetches may reach local addresses (the stand-in).
/// With `vault`, also worker custody's Durable Object namespace (class `GrantVault`, SQLite,
/// bound as `XAUTH_GRANTS`), stored on disk in that directory.
fn capnp_config(
    modules: &[(&str, &str, &str)],
    bindings: &[(&str, String)],
    vault: Option<&Path>,
    compatibility_date: &str,
    port: u16,
) -> Result<String> {
    let mut out = String::from(
        "# Generated by `cargo xtask bench`.\n\
         using Workerd = import \"/workerd/workerd.capnp\";\n\n\
         const config :Workerd.Config = (\n  services = [\n    (name = \"main\", worker = .worker),\n    \
         (name = \"local-network\", network = (allow = [\"local\"])),\n",
    );
    if let Some(vault) = vault {
        let path = vault
            .to_str()
            .ok_or_else(|| crate::error::Error::msg("the vault directory is not UTF-8"))?;
        let _ = writeln!(
            out,
            "    (name = \"vault-storage\", disk = (path = {}, writable = true)),",
            quote(path)?
        );
    }
    out.push_str("  ],\n");
    let _ = writeln!(
        out,
        "  sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n);\n"
    );
    out.push_str("const worker :Workerd.Worker = (\n  modules = [\n");
    for (name, kind, file) in modules {
        let _ = writeln!(
            out,
            "    (name = {}, {kind} = embed {}),",
            quote(name)?,
            quote(file)?
        );
    }
    let _ = writeln!(
        out,
        "  ],\n  compatibilityDate = {},",
        quote(compatibility_date)?
    );
    out.push_str("  bindings = [\n");
    for (name, value) in bindings {
        let _ = writeln!(
            out,
            "    (name = {}, text = {}),",
            quote(name)?,
            quote(value)?
        );
    }
    if vault.is_some() {
        out.push_str(
            "    (name = \"XAUTH_GRANTS\", durableObjectNamespace = \"GrantVault\"),\n  ],\n  \
             durableObjectNamespaces = [(className = \"GrantVault\", uniqueKey = \"xauth-bench-vault\", enableSql = true)],\n  \
             durableObjectStorage = (localDisk = \"vault-storage\"),\n",
        );
    } else {
        out.push_str("  ],\n");
    }
    out.push_str("  globalOutbound = \"local-network\",\n);\n");
    Ok(out)
}

/// A capnp string literal; the values here are plain ASCII, anything else is refused.
fn quote(value: &str) -> Result<String> {
    if value
        .chars()
        .any(|c| c == '"' || c == '\\' || !(' '..='~').contains(&c))
    {
        bail!("not a plain capnp string: {value:?}");
    }
    Ok(format!("\"{value}\""))
}

/// One request before the load: a 200 whose body shows the route did its work, so that
/// no row measures an error path.
fn check(server: &Server, scenario: &Scenario) -> Result<()> {
    let (status, answer) = http_once(
        server.port,
        scenario.method,
        &scenario.path,
        &request_headers(server, scenario),
        scenario.body.as_deref().unwrap_or(""),
    )?;
    if status != 200 || !answer.contains(scenario.expect) {
        bail!(
            "expected a 200 with {} before the load, got {status}:\n{answer}",
            scenario.expect
        );
    }
    Ok(())
}

/// The headers a row's requests carry on `server`: the scenario's, and in worker custody
/// the session cookie.
fn request_headers(server: &Server, scenario: &Scenario) -> Vec<(String, String)> {
    let mut headers = scenario.headers.clone();
    if let Some(cookie) = &server.cookie {
        headers.push(("Cookie".to_owned(), cookie.clone()));
    }
    headers
}

/// Signs in to a worker-custody server (a code exchange the stand-in grants users.read
/// for, so the worker can ask who signed in) and answers the session's `Cookie` value.
fn sign_in(port: u16) -> Result<String> {
    let body = format!(r#"{{"code":"{CODE_WITH_USER}","codeVerifier":"{VERIFIER}"}}"#);
    let json = [("Content-Type".to_owned(), "application/json".to_owned())];
    let (status, answer) = http_once(port, "POST", "/twitter-access-token", &json, &body)?;
    let cookie = answer
        .lines()
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.trim().split(';').next())
        .find(|pair| pair.starts_with(&format!("{SESSION_COOKIE}=")));
    match cookie {
        Some(cookie) if status == 200 => Ok(cookie.to_owned()),
        _ => bail!("expected a 200 with a {SESSION_COOKIE} cookie, got {status}:\n{answer}"),
    }
}

fn http_once(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

struct Runner<'a> {
    wrk: PathBuf,
    dir: PathBuf,
    options: &'a Options,
    ticks_per_sec: f64,
    standin: &'a Process,
}

impl Runner<'_> {
    fn measure(&self, server: &mut Server, scenario: &Scenario, secs: u32) -> Result<Sample> {
        let script = self.dir.join("wrk.lua");
        fs::write(
            &script,
            wrk_script(scenario, &request_headers(server, scenario)),
        )?;
        let port = server.port;
        let server = &mut server.process;
        let (cpu_before, x_before) = (
            process::tree_cpu_ticks(server.pid())?,
            process::tree_cpu_ticks(self.standin.pid())?,
        );
        let output = cmd::read(
            Command::new(&self.wrk)
                .arg(format!(
                    "--threads={}",
                    WRK_THREADS.min(self.options.connections)
                ))
                .arg(format!("--connections={}", self.options.connections))
                .arg(format!("--duration={secs}s"))
                .args(["--timeout=5s", "--latency", "--script"])
                .arg(&script)
                .arg(format!("http://127.0.0.1:{port}{}", scenario.path)),
        )?;
        let (cpu_after, x_after) = (
            process::tree_cpu_ticks(server.pid())?,
            process::tree_cpu_ticks(self.standin.pid())?,
        );
        if !server.running() {
            bail!("{} stopped under load:\n{}", server.name, server.output());
        }
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("wrk.log"))
            .and_then(|mut log| {
                writeln!(log, "== {} on {}\n{output}\n", scenario.route, server.name)
            });
        let summary = WrkSummary::parse(&output)?;
        if summary.requests == 0 {
            bail!("wrk completed no request:\n{output}");
        }
        let duration_s = summary.duration_us / 1e6;
        let requests = summary.requests as f64;
        let cpu_s =
            |before: u64, after: u64| after.saturating_sub(before) as f64 / self.ticks_per_sec;
        Ok(Sample {
            requests: summary.requests,
            req_per_sec: requests / duration_s,
            p50_ms: summary.p50_us / 1000.0,
            p99_ms: summary.p99_us / 1000.0,
            errors: summary.errors,
            cpu_us_per_req: cpu_s(cpu_before, cpu_after) * 1e6 / requests,
            standin_cpu_pct: cpu_s(x_before, x_after) / duration_s * 100.0,
        })
    }
}

/// The request wrk sends for `scenario`, and a `done` hook that prints wrk's own summary
/// as one line of `key=value` (latencies in µs).
fn wrk_script(scenario: &Scenario, headers: &[(String, String)]) -> String {
    let mut lua = format!("wrk.method = \"{}\"\n", scenario.method);
    if let Some(body) = &scenario.body {
        let _ = writeln!(lua, "wrk.body = [==[{body}]==]");
    }
    for (name, value) in headers {
        let _ = writeln!(lua, "wrk.headers[\"{name}\"] = [==[{value}]==]");
    }
    lua.push_str(
        r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\nBENCH requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#,
    );
    lua
}

#[derive(Debug, PartialEq)]
struct WrkSummary {
    requests: u64,
    duration_us: f64,
    errors: u64,
    p50_us: f64,
    p99_us: f64,
}

impl WrkSummary {
    fn parse(output: &str) -> Result<WrkSummary> {
        let Some(line) = output.lines().find_map(|line| line.strip_prefix("BENCH ")) else {
            bail!("wrk printed no summary line:\n{output}");
        };
        let field = |name: &str| -> Result<f64> {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| {
                    crate::error::Error::msg(format!("wrk summary lacks {name}: {line}"))
                })
        };
        Ok(WrkSummary {
            requests: field("requests")? as u64,
            duration_us: field("duration_us")?,
            errors: field("errors")? as u64,
            p50_us: field("p50_us")?,
            p99_us: field("p99_us")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrks_summary_line() {
        let output = "Running 1s test\n  12 requests\n\nBENCH requests=11893 \
                      duration_us=5005839 errors=2 p50_us=11587 p99_us=55723\n";
        let summary = WrkSummary::parse(output).unwrap();
        assert_eq!(summary.requests, 11893);
        assert_eq!(summary.errors, 2);
        assert_eq!(summary.p99_us, 55723.0);
        assert!(WrkSummary::parse("no summary").is_err());
    }

    #[test]
    fn capnp_config_embeds_modules_and_text_bindings() {
        let config = capnp_config(
            &[
                ("index.js", "esModule", "index.js"),
                ("index_bg.wasm", "wasm", "index_bg.wasm"),
            ],
            &[("X_API_URL", "http://127.0.0.1:1".to_owned())],
            None,
            "2025-09-01",
            8080,
        )
        .unwrap();
        assert!(config.contains(r#"(name = "index_bg.wasm", wasm = embed "index_bg.wasm"),"#));
        assert!(config.contains(r#"(name = "X_API_URL", text = "http://127.0.0.1:1"),"#));
        assert!(config.contains(r#"address = "127.0.0.1:8080""#));
        assert!(quote("a\"b").is_err());
    }

    #[test]
    fn capnp_config_declares_the_vault_for_worker_custody() {
        let config = capnp_config(
            &[("index.js", "esModule", "index.js")],
            &[],
            Some(Path::new("/tmp/bench/vault-storage")),
            "2025-09-01",
            8080,
        )
        .unwrap();
        assert!(config.contains(
            r#"(name = "vault-storage", disk = (path = "/tmp/bench/vault-storage", writable = true)),"#
        ));
        assert!(
            config.contains(r#"(name = "XAUTH_GRANTS", durableObjectNamespace = "GrantVault"),"#)
        );
        assert!(config.contains("durableObjectStorage = (localDisk = \"vault-storage\")"));
    }

    #[test]
    fn each_custody_row_is_compared_with_the_same_call_in_browser_custody() {
        let rows = scenarios();
        for row in rows.iter().filter(|row| row.custody == Custody::Worker) {
            let other = &rows[row
                .compared_to
                .expect("compared with its browser-custody row")];
            assert_eq!(other.custody, Custody::Browser);
            assert_eq!((other.method, &other.path), (row.method, &row.path));
        }
    }

    #[test]
    fn the_first_row_is_the_exchange_every_contender_serves() {
        let rows = scenarios();
        assert_eq!(rows[0].path, "/twitter-access-token");
        assert_eq!(rows[0].contenders, Contender::ALL.to_vec());
    }
}
