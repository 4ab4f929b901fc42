//! `cargo xtask dev`: build, then run `wrangler dev` on 127.0.0.1:8787 until Ctrl-C (or
//! until a child exits), then stop everything.
//!
//! Which X the worker talks to follows from `.dev.vars`, wrangler's file of local secrets:
//! - none: no real credentials, so X is the local emulator on :8790, started here, with its
//!   demo client; the worker is pointed at it with `--var`s whatever `wrangler.toml` says;
//! - present: real X with the credentials in it; the X URLs default to x.com and api.x.com
//!   (over the emulator URLs of `wrangler.toml`'s `[vars]`) unless `.dev.vars` sets them.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::build;
use crate::cmd;
use crate::error::{Context, Result, bail};
use crate::project::{EMULATOR_PORT, Project, Tools, WORKER_PORT};
use crate::vault_key;

/// The emulator's demo client (`xauth_emulator::DEFAULT_CLIENT_ID` and
/// `DEFAULT_CLIENT_SECRET`), repeated here so xtask does not depend on (and compile) the
/// emulator crate. The secret is public and made up: it only opens the local emulator.
const EMULATOR_CLIENT_ID: &str = "xauth-demo-client";
const EMULATOR_DEMO_SECRET: &str = "xauth-demo-secret";
/// The emulator's OAuth 1.0a demo consumer (`DEFAULT_CONSUMER_KEY` and `_SECRET`), likewise.
const EMULATOR_CONSUMER_KEY: &str = "xauth-demo-consumer";
const EMULATOR_CONSUMER_SECRET: &str = "xauth-demo-consumer-secret";

/// Real X, as the worker defaults to them when the variables are unset.
const X_AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";
const X_API_URL: &str = "https://api.x.com";

const DEV_VARS: &str = ".dev.vars";

pub fn run(project: &Project, tools: &Tools) -> Result<()> {
    let dev_vars = read_dev_vars_names(project)?;
    ensure_port_free(WORKER_PORT)?;
    if dev_vars.is_none() {
        ensure_port_free(EMULATOR_PORT)?;
    }
    build::run(project, tools)?;
    let origin = format!("http://127.0.0.1:{WORKER_PORT}");
    let emulator_url = format!("http://127.0.0.1:{EMULATOR_PORT}");
    let mut children = Vec::new();
    let mut vars: Vec<(&str, String)> = Vec::new();
    match &dev_vars {
        None => {
            children.push(("xauth-emulator", start_emulator(project, tools)?));
            vars.extend([
                ("TWITTER_CLIENT_ID", EMULATOR_CLIENT_ID.to_owned()),
                ("TWITTER_CLIENT_SECRET", EMULATOR_DEMO_SECRET.to_owned()),
                ("TWITTER_REDIRECT_URI", format!("{origin}/")),
                (
                    "X_AUTHORIZE_URL",
                    format!("{emulator_url}/i/oauth2/authorize"),
                ),
                ("X_API_URL", emulator_url.clone()),
                ("TWITTER_CONSUMER_KEY", EMULATOR_CONSUMER_KEY.to_owned()),
                (
                    "TWITTER_CONSUMER_SECRET",
                    EMULATOR_CONSUMER_SECRET.to_owned(),
                ),
            ]);
        }
        Some(names) => {
            for (name, url) in [
                ("X_AUTHORIZE_URL", X_AUTHORIZE_URL),
                ("X_API_URL", X_API_URL),
            ] {
                if !names.contains(name) {
                    vars.push((name, url.to_owned()));
                }
            }
            if !names.contains("TWITTER_CLIENT_ID") {
                eprintln!(
                    "warning: {DEV_VARS} has no TWITTER_CLIENT_ID: wrangler.toml's is used, \
                     which real X only knows if it is your app's"
                );
            }
            if !names.contains("TWITTER_CLIENT_SECRET") {
                eprintln!(
                    "warning: {DEV_VARS} has no TWITTER_CLIENT_SECRET: the worker acts as a \
                     public client, which X refuses for a Web App"
                );
            }
        }
    }

    // Worker custody (wrangler.toml's XAUTH_TOKEN_CUSTODY) seals grants under a vault key:
    // a local one, kept beside wrangler's local state so sessions survive a restart.
    if !dev_vars
        .as_ref()
        .is_some_and(|names| names.contains("XAUTH_VAULT_KEY"))
    {
        vars.push(("XAUTH_VAULT_KEY", local_secret(project, LOCAL_VAULT_KEY)?));
    }
    // The service API (README "Server-side use"), so its curl examples work locally.
    if !dev_vars
        .as_ref()
        .is_some_and(|names| names.contains("XAUTH_SERVICE_TOKEN"))
    {
        vars.push((
            "XAUTH_SERVICE_TOKEN",
            local_secret(project, LOCAL_SERVICE_TOKEN)?,
        ));
    }

    let mut wrangler = tools.command(tools.node_bin("wrangler"));
    wrangler
        .args([
            "dev",
            "--ip",
            "127.0.0.1",
            "--port",
            &WORKER_PORT.to_string(),
        ])
        .arg("--show-interactive-dev-session=false")
        // No lookup of workers.cloudflare.com for `request.cf`: it fails offline and
        // only prints a stack trace.
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    for (name, value) in &vars {
        wrangler.args(["--var", &format!("{name}:{value}")]);
    }
    interrupt::catch_ctrl_c();
    let wrangler = wrangler.spawn().context("starting wrangler dev")?;
    children.push(("wrangler dev", wrangler));

    if wait_until_serving(&mut children, WORKER_PORT) {
        print_banner(&origin, &emulator_url, dev_vars.is_some());
        wait_until_interrupted_or_exit(&mut children);
    }
    stop_all(&mut children);
    Ok(())
}

fn print_banner(origin: &str, emulator_url: &str, real_x: bool) {
    println!();
    println!("xauth demo: open {origin}/");
    println!(
        "Custody: as wrangler.toml's XAUTH_TOKEN_CUSTODY says (\"worker\": X's tokens stay in \
         the worker's Durable Objects, sealed under the local key in {LOCAL_VAULT_KEY}; the \
         page holds an HttpOnly session cookie)."
    );
    if real_x {
        println!("X: real X (x.com), with the credentials in {DEV_VARS}.");
        println!(
            "   Your app must list {origin}/ as a callback URL in X's developer portal \
             (TWITTER_REDIRECT_URI). Delete {DEV_VARS} to use the local emulator instead."
        );
    } else {
        println!(
            "X: the local emulator at {emulator_url} (no {DEV_VARS}, so no real credentials): \
             client \"{EMULATOR_CLIENT_ID}\", you sign in as @xauthdemo on its consent page; \
             its access tokens live {DEMO_ACCESS_TTL_SECS} s, so they are refreshed (by the worker, \
             or in browser custody by the page, in its log) every half minute of use."
        );
        println!(
            "   To use real X: put TWITTER_CLIENT_ID=<your app's client id> and \
             TWITTER_CLIENT_SECRET=<its secret> in {DEV_VARS} (never committed), register \
             {origin}/ as the app's callback URL, and run `cargo xtask dev` again; the X \
             URLs then default to x.com and api.x.com."
        );
    }
    println!(
        "Service API (server-side use): Authorization: Bearer $(cat {LOCAL_SERVICE_TOKEN}), \
         e.g. curl -H \"Authorization: Bearer $(cat {LOCAL_SERVICE_TOKEN})\" \
         {origin}/xauth/grants/<user id>"
    );
    println!("Ctrl-C stops everything.");
    println!();
}

/// Where `dev` keeps its local vault key: under wrangler's `.wrangler/` (git-ignored),
/// next to the local Durable Object state the key encrypts.
const LOCAL_VAULT_KEY: &str = ".wrangler/xauth-dev-vault-key";
/// Where `dev` keeps its local service token (`XAUTH_SERVICE_TOKEN`), beside the key.
const LOCAL_SERVICE_TOKEN: &str = ".wrangler/xauth-dev-service-token";

/// A local secret (32 random bytes, base64: a vault key or a service token) kept at
/// `relative`, made on first use.
fn local_secret(project: &Project, relative: &str) -> Result<String> {
    let path = project.path(relative);
    if let Ok(key) = fs::read_to_string(&path)
        && !key.trim().is_empty()
    {
        return Ok(key.trim().to_owned());
    }
    let key = vault_key::random()?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
    }
    fs::write(&path, &key).context(format!("writing {}", path.display()))?;
    restrict_to_owner(&path)?;
    println!("dev: made a local secret in {relative}");
    Ok(key)
}

fn restrict_to_owner(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .context(format!("restricting {}", path.display()))
}

/// The variable names `.dev.vars` sets, or `None` when there is no such file.
fn read_dev_vars_names(project: &Project) -> Result<Option<BTreeSet<String>>> {
    let path = project.path(DEV_VARS);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(format!("reading {}", path.display())),
    };
    Ok(Some(dev_vars_names(&text)))
}

/// Names in dotenv syntax: `NAME=value` lines, `export ` allowed, `#` comments.
fn dev_vars_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name.trim().trim_start_matches("export ").trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// A clear error now rather than a child that dies later with EADDRINUSE in its log.
fn ensure_port_free(port: u16) -> Result<()> {
    if TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!(
            "port {port} on 127.0.0.1 is in use (another `cargo xtask dev` or `wrangler dev`?); \
             stop it and retry"
        );
    }
    Ok(())
}

/// The emulator's access token lifetime in the demo (X's is 7200 s): with the browser's
/// 60 s refresh skew, the demo's session refreshes every half minute, in view.
const DEMO_ACCESS_TTL_SECS: u32 = 90;

/// The emulator is built in the dev profile: it starts in seconds, and the release profile
/// (LTO, tuned for the wasm outputs) only makes the first run slow.
fn start_emulator(project: &Project, tools: &Tools) -> Result<Child> {
    cmd::run(tools.cargo().args(["build", "-p", "xauth-emulator"]))
        .context("building the X emulator (needed when there is no .dev.vars)")?;
    let binary = project.target_dir.join("debug/xauth-emulator");
    tools
        .command(&binary)
        .args(["--port", &EMULATOR_PORT.to_string()])
        .args(["--access-ttl", &DEMO_ACCESS_TTL_SECS.to_string()])
        .spawn()
        .context("starting xauth-emulator")
}

/// Waits until wrangler answers HTTP on `port` (up to 90 s); false when a child exited,
/// Ctrl-C came, or it never did.
fn wait_until_serving(children: &mut [(&str, Child)], port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(90);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if interrupt::happened() || exited(children) {
            return false;
        }
        if answers_http(addr) {
            return true;
        }
        sleep(Duration::from_millis(250));
    }
    eprintln!("wrangler dev did not answer on {addr} within 90 s; stopping");
    false
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("HEAD / HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/")
}

/// Reports (and is true for) the first child that exited.
fn exited(children: &mut [(&str, Child)]) -> bool {
    for (name, child) in children.iter_mut() {
        if let Ok(Some(status)) = child.try_wait() {
            println!("{name} exited ({status}); stopping the rest");
            return true;
        }
    }
    false
}

fn wait_until_interrupted_or_exit(children: &mut [(&str, Child)]) {
    while !interrupt::happened() && !exited(children) {
        sleep(Duration::from_millis(200));
    }
}

/// SIGINT first, so wrangler can stop its workerd child; SIGKILL after a grace period.
fn stop_all(children: &mut [(&str, Child)]) {
    for (_, child) in children.iter_mut() {
        if matches!(child.try_wait(), Ok(None)) {
            let _ = cmd::succeeds(Command::new("kill").args(["-INT", &child.id().to_string()]));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (name, child) in children.iter_mut() {
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(100));
        }
        if matches!(child.try_wait(), Ok(None)) {
            eprintln!("{name} did not stop in time; killing it");
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Ctrl-C sends SIGINT to the whole foreground process group, children included. Without a
/// handler we would die at once and leave them to finish on their own; with it we wait for
/// them and can stop whichever one did not get the signal.
mod interrupt {
    use super::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    extern "C" fn on_signal(_: i32) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }

    pub fn catch_ctrl_c() {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
        }
    }

    pub fn happened() -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::dev_vars_names;

    #[test]
    fn dev_vars_names_are_read_like_dotenv() {
        let text =
            "# real X\nTWITTER_CLIENT_ID=abc\n export TWITTER_CLIENT_SECRET = 's=1'\n\nnot a var\n";
        let names: Vec<String> = dev_vars_names(text).into_iter().collect();
        assert_eq!(names, ["TWITTER_CLIENT_ID", "TWITTER_CLIENT_SECRET"]);
    }
}
