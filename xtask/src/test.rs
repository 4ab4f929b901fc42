//! `cargo xtask test` (alias `ci`): everything CI checks, in order, stopping at the first
//! failure. `.ci/run` calls exactly this, so a green local run is a green CI run.

use std::env;
use std::fs;
use std::path::Path;

use crate::error::Result;
use crate::project::{CHROMEDRIVER, EXAMPLE_WRANGLER_CONFIGS, Project, Tools};
use crate::setup::Needs;
use crate::steps::Steps;
use crate::{bench, build, cmd, fuzz, setup, size};

pub fn run(project: &Project) -> Result<()> {
    let mut steps = Steps::default();
    let result = run_steps(project, &mut steps);
    steps.print_summary();
    if result.is_ok() {
        println!("all steps passed");
    }
    result
}

fn run_steps(project: &Project, steps: &mut Steps) -> Result<()> {
    let tools = steps.run("setup", || setup::run(project, Needs::Everything))?;
    let tools = &tools;
    steps.run("rustfmt", || {
        cmd::run(tools.cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    // The browser crate is linted for wasm32 below: natively it does not build. The worker
    // is linted both ways, since its pure modules (sealing, cookies) have native unit tests.
    steps.run("clippy (native)", || {
        cmd::run(tools.cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "xauth-web",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("clippy (wasm32)", || {
        cmd::run(tools.cargo().args([
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "xauth-web",
            "-p",
            "xauth-worker",
            "-p",
            "xauth-core",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // Mounted in an app's own Worker, the worker crate is built without its entry point.
    steps.run("clippy (wasm32, xauth-worker as a library)", || {
        cmd::run(tools.cargo().args([
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "xauth-worker",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The browser package's two modules are xauth-web built with one feature each and
    // without std (see crates/xauth-web/README.md): linted as they are built, too.
    for module in ["signin", "keeper"] {
        steps.run(&format!("clippy (wasm32, the {module} module)"), || {
            cmd::run(tools.cargo().args([
                "clippy",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "xauth-web",
                "--no-default-features",
                "--features",
                module,
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }
    steps.run("native tests (unit, integration, doc)", || {
        cmd::run(tools.cargo().args([
            "test",
            "-p",
            "xauth-core",
            "-p",
            "xauth-emulator",
            "-p",
            "xauth-worker",
            "-p",
            "xtask",
        ]))
    })?;
    steps.run("fuzz smoke run", || fuzz::smoke(project))?;
    steps.run("wasm tests (headless Chromium)", || wasm_tests(tools))?;
    steps.run("build", || build::run(project, tools))?;
    steps.run("size report", || size::report(project))?;
    steps.run("wrangler deploy --dry-run", || {
        wrangler_dry_run(tools, None)
    })?;
    steps.run("examples (build, wrangler deploy --dry-run)", || {
        build::rust_mount_example(project, tools)?;
        EXAMPLE_WRANGLER_CONFIGS
            .iter()
            .try_for_each(|config| wrangler_dry_run(tools, Some(&project.path(config))))
    })?;
    steps.run("end-to-end tests", || end_to_end(project, tools))?;
    steps.run("bench (smoke)", || bench::smoke(project, tools))?;
    Ok(())
}

/// `wasm-bindgen-test-runner` (the target runner in .cargo/config.toml) is found on PATH
/// and drives Chromium through chromedriver.
fn wasm_tests(tools: &Tools) -> Result<()> {
    cmd::run(
        tools
            .cargo()
            .args([
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "xauth-web",
            ])
            .env("CHROMEDRIVER", CHROMEDRIVER)
            // A cold Chromium on a 2-core CI machine is slow to come up.
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300"),
    )
}

/// Bundles a worker the way `wrangler deploy` would, without an account or network:
/// catches a wrong `main`, a bad compatibility date or a missing assets folder. `config`:
/// a wrangler.toml other than the root's.
fn wrangler_dry_run(tools: &Tools, config: Option<&Path>) -> Result<()> {
    let out_dir = env::temp_dir().join(format!("xauth-wrangler-dry-run-{}", std::process::id()));
    let mut command = tools.command(tools.node_bin("wrangler"));
    command
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out_dir);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let result = cmd::run(&mut command);
    let _ = fs::remove_dir_all(&out_dir);
    result
}

/// The end-to-end tests run the emulator in-process and start `wrangler dev` on the built
/// worker themselves; they are told where everything is rather than guessing.
fn end_to_end(project: &Project, tools: &Tools) -> Result<()> {
    cmd::run(
        tools
            .cargo()
            .args(["test", "-p", "xauth-tests", "--", "--test-threads=1"])
            .env("XAUTH_ROOT", &project.root)
            .env("XAUTH_WRANGLER", tools.node_bin("wrangler"))
            .env("XAUTH_NODE_DIR", &tools.node_dir)
            .env("CHROMEDRIVER", CHROMEDRIVER),
    )
}
