//! `cargo xtask setup`: install whatever the build and the tests need, skip what is there.
//!
//! Every check is cheap (a version probe, a file comparison), so a run with everything in
//! place takes about a second; `build`, `test` and `dev` start with it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cmd;
use crate::error::{Context, Error, Result, bail};
use crate::project::{
    self, CHROMEDRIVER, CHROMIUM, LOCAL_NODE_BIN, LOCAL_NODE_PREFIX, Project, Tools,
};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Pinned: the worker crate's `worker` 0.8.7 wants the worker-build of the same release.
const WORKER_BUILD_VERSION: &str = "0.8.7";
/// wrangler 4.87+ refuses older Node.
const MIN_NODE: Version = Version(22, 12, 0);
/// What `npm install node@…` fetches when the system Node is too old.
const NODE_PACKAGE: &str = "node@22";
/// A copy of the lockfile `npm ci` last installed; equal contents mean nothing to do.
const NPM_STAMP: &str = "node_modules/.xtask-npm-ci.stamp";
/// The npm tools the build and the tests call by path; missing ones force a reinstall
/// (vite: the npm package's end-to-end test builds an app with it).
const NPM_TOOLS: &[&str] = &["wrangler", "wasm-opt", "esbuild", "vite"];

/// What a command needs installed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Building and running the demo (`build`, `size`, `dev`): no browser, no load generator.
    Build,
    /// Everything: the tests drive Chromium and the bench (and its smoke run) uses wrk.
    Everything,
}

/// Installs what `needs` asks for that is missing. The slow parts run side by side: the two
/// `cargo install`s (minutes of compiling each, and each leaves a core idle while it links
/// or runs build scripts) on their own threads, while apt and npm (mostly downloads) run on
/// this one.
pub fn run(project: &Project, needs: Needs) -> Result<Tools> {
    let started = Instant::now();
    println!("== setup");
    let cargo_bin = project::cargo_bin_dir();

    step(
        "rust toolchain",
        "run `rustup target add wasm32-unknown-unknown` and `rustup component add rustfmt \
         clippy` by hand",
        ensure_rust_parts,
    )?;
    let mut apt = Apt::default();
    let tools = std::thread::scope(|scope| -> Result<Tools> {
        let wasm_bindgen = scope.spawn(|| {
            step(
                "wasm-bindgen-cli",
                "check that crates.io is reachable, then retry; the CLI version must equal \
                 the wasm-bindgen version in Cargo.lock",
                || ensure_wasm_bindgen(project, &cargo_bin),
            )
        });
        // worker-build links OpenSSL: its apt packages come before its compile starts.
        let worker_build_missing = !worker_build_present(&cargo_bin);
        if worker_build_missing
            && !cmd::succeeds(Command::new("pkg-config").args(["--exists", "openssl"]))
        {
            step(
                "worker-build's libraries",
                "install Debian's `libssl-dev` and `pkg-config` packages (needs root)",
                || apt.install(&["libssl-dev", "pkg-config"]),
            )?;
        }
        let cargo_bin_dir = &cargo_bin;
        let worker_build = scope.spawn(move || {
            step(
                "worker-build",
                "worker-build needs libssl-dev and pkg-config (apt); check crates.io, then retry",
                || ensure_worker_build(cargo_bin_dir, worker_build_missing),
            )
        });
        let node_dir = step(
            "node",
            "install Node >= 22.12 yourself, or check that the npm registry is reachable",
            || ensure_node(project, &mut apt),
        )?;
        let tools = Tools {
            root: project.root.clone(),
            cargo_bin: cargo_bin.clone(),
            node_dir,
        };
        step(
            "npm packages",
            "check the npm registry; `rm -rf node_modules` and retry; package-lock.json \
             must be committed",
            || ensure_npm_packages(project, &tools),
        )?;
        if needs == Needs::Everything {
            step(
                "chromium",
                "install Debian's `chromium` and `chromium-driver` packages (needs root)",
                || ensure_chromium(&mut apt),
            )?;
            step(
                "wrk",
                "install Debian's `wrk` package (needs root); `cargo xtask bench` loads the \
                 worker with it",
                || ensure_wrk(&mut apt),
            )?;
        }
        for install in [wasm_bindgen, worker_build] {
            install.join().expect("a setup thread panicked")?;
        }
        Ok(tools)
    })?;
    println!("== setup done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(tools)
}

/// Run one setup step; on failure say which one and what to do about it.
fn step<T>(name: &str, remedy: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    body().map_err(|e| {
        Error::msg(format!(
            "setup step `{name}` failed: {e}\n  what to do: {remedy}"
        ))
    })
}

pub(crate) fn present(what: &str) {
    println!("setup: {what}: present");
}

pub(crate) fn installing(what: &str) {
    println!("setup: {what}: missing, installing");
}

/// The wasm32 standard library, and rustfmt and clippy for the checks: a rustup "minimal"
/// profile (common on CI images) has neither of the two.
fn ensure_rust_parts() -> Result<()> {
    let installed = cmd::read(Command::new("rustup").args(["component", "list", "--installed"]))?;
    let has = |prefix: &str| installed.lines().any(|line| line.starts_with(prefix));
    let what = format!("rust target {WASM_TARGET}");
    if has(&format!("rust-std-{WASM_TARGET}")) {
        present(&what);
    } else {
        installing(&what);
        cmd::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|component| !has(&format!("{component}-")))
        .collect();
    if missing.is_empty() {
        present("rustfmt + clippy");
    } else {
        installing(&missing.join(" + "));
        cmd::run(
            Command::new("rustup")
                .args(["component", "add"])
                .args(&missing),
        )?;
    }
    Ok(())
}

/// The CLI must be exactly the version of the `wasm-bindgen` crate in Cargo.lock: the two
/// share an unversioned schema and refuse to work together otherwise.
fn ensure_wasm_bindgen(project: &Project, cargo_bin: &Path) -> Result<()> {
    let lockfile = fs::read_to_string(project.path("Cargo.lock")).context("reading Cargo.lock")?;
    let wanted = locked_version(&lockfile, "wasm-bindgen")?;
    let what = format!("wasm-bindgen-cli {wanted}");
    let binary = cargo_bin.join("wasm-bindgen");
    let runner_present = cargo_bin.join("wasm-bindgen-test-runner").is_file();
    if runner_present && installed_version(&binary).as_deref() == Some(wanted.as_str()) {
        present(&what);
        return Ok(());
    }
    installing(&what);
    // No --locked: wasm-bindgen-cli 0.2.130's own lockfile names a crate version the
    // index lacks. --force replaces another installed version.
    cmd::run(Command::new(project::cargo_program()).args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &wanted,
        "--force",
    ]))?;
    match installed_version(&binary) {
        Some(version) if version == wanted => Ok(()),
        other => bail!(
            "after installing, {} reports version {other:?}",
            binary.display()
        ),
    }
}

fn worker_build_present(cargo_bin: &Path) -> bool {
    installed_version(&cargo_bin.join("worker-build")).as_deref() == Some(WORKER_BUILD_VERSION)
}

/// worker-build, compiled by `cargo install` when `missing` (as `worker_build_present`
/// found; its apt packages are installed before).
fn ensure_worker_build(cargo_bin: &Path, missing: bool) -> Result<()> {
    let what = format!("worker-build {WORKER_BUILD_VERSION}");
    let binary = cargo_bin.join("worker-build");
    if !missing {
        present(&what);
        return Ok(());
    }
    installing(&what);
    cmd::run(Command::new(project::cargo_program()).args([
        "install",
        "worker-build",
        "--version",
        WORKER_BUILD_VERSION,
        "--locked",
        "--force",
    ]))?;
    match installed_version(&binary) {
        Some(version) if version == WORKER_BUILD_VERSION => Ok(()),
        other => bail!(
            "after installing, {} reports version {other:?}",
            binary.display()
        ),
    }
}

/// The directory of a Node >= 22.12: the system's if new enough, else one installed from
/// npm into `.tools/node` (Debian ships Node 20).
fn ensure_node(project: &Project, apt: &mut Apt) -> Result<PathBuf> {
    if let Some(system_node) = project::find_in_path("node")
        && node_version(&system_node).is_some_and(|v| v >= MIN_NODE)
    {
        present(&format!("node >= {MIN_NODE} ({})", system_node.display()));
        return Ok(system_node
            .parent()
            .expect("a file has a parent")
            .to_path_buf());
    }
    let local_dir = project.path(LOCAL_NODE_BIN);
    let what = format!("node >= {MIN_NODE} in {LOCAL_NODE_PREFIX}");
    if node_version(&local_dir.join("node")).is_some_and(|v| v >= MIN_NODE) {
        present(&what);
        return Ok(local_dir);
    }
    installing(&what);
    if project::find_in_path("npm").is_none() {
        apt.install(&["nodejs", "npm"])?;
    }
    cmd::run(
        Command::new("npm")
            .args([
                "install",
                "--no-fund",
                "--no-audit",
                "--prefix",
                LOCAL_NODE_PREFIX,
                NODE_PACKAGE,
            ])
            .current_dir(&project.root),
    )?;
    match node_version(&local_dir.join("node")) {
        Some(version) if version >= MIN_NODE => Ok(local_dir),
        other => bail!(
            "after installing, {} reports {other:?}",
            local_dir.join("node").display()
        ),
    }
}

/// `npm ci` from the committed lockfile (exact wrangler and binaryen), skipped when the
/// stamp says node_modules already matches it.
fn ensure_npm_packages(project: &Project, tools: &Tools) -> Result<()> {
    let lockfile =
        fs::read(project.path("package-lock.json")).context("reading package-lock.json")?;
    let stamp_path = project.path(NPM_STAMP);
    let up_to_date = fs::read(&stamp_path).is_ok_and(|stamp| stamp == lockfile)
        && NPM_TOOLS.iter().all(|tool| tools.node_bin(tool).is_file());
    let what = "npm packages (package-lock.json)";
    if up_to_date {
        present(what);
        return Ok(());
    }
    installing(what);
    cmd::run(tools.command("npm").args(["ci", "--no-fund", "--no-audit"]))?;
    for tool in NPM_TOOLS {
        if !tools.node_bin(tool).is_file() {
            bail!("npm ci finished but node_modules/.bin/{tool} is missing");
        }
    }
    fs::write(&stamp_path, lockfile).context(format!("writing {}", stamp_path.display()))?;
    Ok(())
}

fn ensure_chromium(apt: &mut Apt) -> Result<()> {
    let what = "chromium + chromedriver";
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        present(what);
        return Ok(());
    }
    installing(what);
    apt.install(&["chromium", "chromium-driver"])
}

/// The HTTP load generator of `cargo xtask bench` (and of its smoke run in `test`).
fn ensure_wrk(apt: &mut Apt) -> Result<()> {
    let what = "wrk";
    if project::find_in_path("wrk").is_some() {
        present(what);
        return Ok(());
    }
    installing(what);
    apt.install(&["wrk"])
}

/// apt-get, with the package lists refreshed once per run (a fresh image has none).
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, packages: &[&str]) -> Result<()> {
        if !self.updated {
            cmd::run(apt_get().arg("update"))?;
            self.updated = true;
        }
        cmd::run(
            apt_get()
                .args(["install", "-y", "--no-install-recommends"])
                .args(packages),
        )
    }
}

fn apt_get() -> Command {
    let as_root = cmd::read(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0");
    let mut command = if as_root {
        Command::new("apt-get")
    } else {
        // sudo drops the environment, so the setting goes on its command line.
        let mut sudo = Command::new("sudo");
        sudo.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// The version of `name` in a Cargo.lock; an error if there are several.
fn locked_version(lockfile: &str, name: &str) -> Result<String> {
    let name_line = format!("name = \"{name}\"");
    let mut versions: Vec<&str> = Vec::new();
    let mut lines = lockfile.lines();
    while let Some(line) = lines.next() {
        if line.trim() != name_line {
            continue;
        }
        let version = lines
            .next()
            .and_then(|next| next.trim().strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'));
        match version {
            Some(version) if !versions.contains(&version) => versions.push(version),
            Some(_) => {}
            None => bail!("Cargo.lock: no version line after {name_line}"),
        }
    }
    match versions.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("Cargo.lock has no package {name}"),
        many => bail!("Cargo.lock has several versions of {name}: {many:?}"),
    }
}

/// `wasm-bindgen 0.2.130` or `0.8.7` -> the last word; None when it does not run.
pub(crate) fn installed_version(binary: &Path) -> Option<String> {
    if !binary.is_file() {
        return None;
    }
    let output = cmd::read(Command::new(binary).arg("--version")).ok()?;
    output.split_whitespace().last().map(str::to_owned)
}

fn node_version(node: &Path) -> Option<Version> {
    if !node.is_file() {
        return None;
    }
    Version::parse(&cmd::read(Command::new(node).arg("--version")).ok()?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Version(u32, u32, u32);

impl Version {
    /// `v22.23.3` (Node's form) or `22.23.3`.
    fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().trim_start_matches('v').split('.');
        let mut next = || parts.next()?.parse().ok();
        Some(Version(next()?, next()?, next()?))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_one_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\
                    [[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.1\"\n";
        assert_eq!(locked_version(lock, "wasm-bindgen").unwrap(), "0.2.130");
    }

    #[test]
    fn refuses_two_locked_versions_and_none() {
        let lock = "name = \"a\"\nversion = \"1.0.0\"\nname = \"a\"\nversion = \"2.0.0\"\n";
        assert!(locked_version(lock, "a").is_err());
        assert!(locked_version(lock, "b").is_err());
    }

    #[test]
    fn compares_node_versions() {
        assert!(Version::parse("v22.23.3").unwrap() >= MIN_NODE);
        assert!(Version::parse("v22.11.0").unwrap() < MIN_NODE);
        assert!(Version::parse("v20.20.2").unwrap() < MIN_NODE);
        assert_eq!(Version::parse("not a version"), None);
    }
}
