//! Project automation, the `cargo xtask` way: `cargo xtask <command>` runs this binary
//! (the alias lives in .cargo/config.toml). Plain Rust and std::process, so the only thing
//! a contributor needs to start is cargo.

mod bench;
mod build;
mod cmd;
mod dev;
mod error;
mod fuzz;
mod npm;
mod project;
mod setup;
mod size;
mod steps;
mod test;
mod vault_key;

use std::process::ExitCode;

use error::{Result, bail};
use project::Project;
use setup::Needs;

const HELP: &str = "\
usage: cargo xtask <command>

commands:
  setup   install what is missing: wasm32 target, wasm-bindgen-cli (= Cargo.lock's
          wasm-bindgen), worker-build 0.8.7, Node >= 22.12, npm ci (wrangler, binaryen,
          vite), chromium + chromedriver, wrk. Skips what is present; the two cargo
          installs run side by side with apt and npm.
  build   setup (without chromium and wrk), then www/pkg (browser wasm + JS), the npm
          package target/npm/xauth-web made of it, and crates/xauth-worker/build (worker)
  size    build, then raw and gzip sizes against the budgets (reports, never fails)
  test    setup, fmt, clippy (native, wasm32), native tests, wasm tests in Chromium,
          fuzz smoke run, build, size, wrangler deploy --dry-run, the examples/
          (built, dry-run), end-to-end tests, bench --smoke. What CI runs.
  ci      same as test
  bench   build, then the worker (workerd, wrk) and the browser (headless Chromium)
          beside plain JS/Node contenders and the targets, as a markdown table in
          target/bench/; `cargo xtask bench --help` for its options
  fuzz [--secs N]
          every cargo-fuzz target in fuzz/ for N seconds (default 60) with nightly
          (installed if missing, with cargo-fuzz); fails on any crash, naming the
          input; merges the inputs that add coverage into fuzz/corpus/
  dev     build (no chromium needed), then run wrangler dev (:8787) until Ctrl-C, against the X emulator
          (:8790) unless .dev.vars holds real X credentials
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let project = Project::locate();
    let command = args.first().map(String::as_str);
    if command == Some("bench") {
        return bench::run(&project, &args[1..]);
    }
    if command == Some("fuzz") {
        return fuzz::run(
            &project,
            fuzz::parse_secs(args.get(1..).unwrap_or_default())?,
        );
    }
    if let Some(extra) = args.get(1) {
        bail!("unexpected argument `{extra}`\n\n{HELP}");
    }
    match command {
        Some("setup") => setup::run(&project, Needs::Everything).map(drop),
        Some("build") => build::run(&project, &setup::run(&project, Needs::Build)?),
        Some("size") => {
            build::run(&project, &setup::run(&project, Needs::Build)?)?;
            size::report(&project)
        }
        Some("test" | "ci") => test::run(&project),
        Some("dev") => dev::run(&project, &setup::run(&project, Needs::Build)?),
        None | Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}
