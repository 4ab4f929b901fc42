//! `cargo xtask build`: the browser package into www/pkg and the worker bundle into
//! crates/xauth-worker/build, the two things wrangler serves and deploys.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result, bail};
use crate::project::{
    Project, RUST_MOUNT_EXAMPLE_DIR, RUST_MOUNT_EXAMPLE_JS, Tools, WEB_ENTRY_SOURCE, WEB_JS,
    WEB_KEEPER_JS, WEB_KEEPER_WASM, WEB_KIT_FILES, WEB_OAUTH1_JS, WEB_OAUTH1_SOURCE, WEB_PKG_DIR,
    WEB_SIGNIN_WASM, WEB_TYPES, WEB_TYPES_SOURCE, WORKER_CRATE_DIR, WORKER_JS, WORKER_WASM,
};
use crate::{cmd, npm};

/// wasm features rustc's wasm32-unknown-unknown output uses and every runtime in play
/// (Chromium, workerd) has. Named one by one, as worker-build does, because wasm-opt must
/// be allowed to read them but must not start emitting newer encodings.
const WASM_FEATURES: &[&str] = &[
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-reference-types",
];

pub fn run(project: &Project, tools: &Tools) -> Result<()> {
    build_web(project, tools).context("building the browser package (xauth-web)")?;
    let npm_package = npm::package(project).context("making the npm package (xauth-web)")?;
    build_worker(project, tools).context("building the worker (xauth-worker)")?;
    println!("build outputs:");
    for output in WEB_KIT_FILES.iter().chain(&[WORKER_JS, WORKER_WASM]) {
        println!("  {}", project.path(output).display());
    }
    println!("  {}/ (the npm package)", npm_package.display());
    Ok(())
}

/// The browser package, from crates/xauth-web built twice (see its README):
/// - the sign-in module: cargo (feature `signin`, no wasm-bindgen) -> wasm-opt;
/// - the keeper module: cargo (feature `keeper`) -> wasm-bindgen (ES module) -> wasm-opt,
///   its glue minified by esbuild;
/// - the entry, crates/xauth-web/js/xauth_web.js, and OAuth 1.0a, xauth_oauth1.js,
///   minified by esbuild, and the entry's types.
fn build_web(project: &Project, tools: &Tools) -> Result<()> {
    let out_dir = project.path(WEB_PKG_DIR);
    // Start empty so files of an older build (snippets, renamed modules) do not linger.
    remove_dir_if_present(&out_dir)?;
    fs::create_dir_all(&out_dir).context(format!("creating {}", out_dir.display()))?;
    let scratch = project.target_dir.join("xauth-web");
    fs::create_dir_all(&scratch).context(format!("creating {}", scratch.display()))?;

    let signin = cargo_wasm(project, tools, "signin", &scratch)?;
    // `--converge` runs -Oz until it stops paying: 0.1 KiB less gzip for this module.
    wasm_opt(
        tools,
        &signin,
        &project.path(WEB_SIGNIN_WASM),
        &["--converge"],
    )?;

    let keeper = cargo_wasm(project, tools, "keeper", &scratch)?;
    let glue_dir = scratch.join("keeper");
    remove_dir_if_present(&glue_dir)?;
    cmd::run(
        tools
            .command(tools.wasm_bindgen())
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&glue_dir)
            .arg(&keeper),
    )?;
    wasm_opt(
        tools,
        &glue_dir.join("xauth_keeper_bg.wasm"),
        &project.path(WEB_KEEPER_WASM),
        &[],
    )?;
    minify(
        tools,
        &glue_dir.join("xauth_keeper.js"),
        &project.path(WEB_KEEPER_JS),
        // wasm-bindgen's glue, with the keeper's own JS (js/keeper_io.js, which the glue
        // imports from its snippets/ folder) bundled in: one file to load.
        &["--bundle"],
    )?;

    minify(
        tools,
        &project.path(WEB_ENTRY_SOURCE),
        &project.path(WEB_JS),
        // Not bundled: the keeper module is imported at run time, next to the entry.
        &["--banner:js=/* @ts-self-types=\"./xauth_web.d.ts\" */"],
    )?;
    minify(
        tools,
        &project.path(WEB_OAUTH1_SOURCE),
        &project.path(WEB_OAUTH1_JS),
        &[],
    )?;
    fs::copy(project.path(WEB_TYPES_SOURCE), project.path(WEB_TYPES))
        .context(format!("copying {WEB_TYPES_SOURCE}"))?;
    expect_files(project, WEB_KIT_FILES)
}

/// `cargo build` of xauth-web for wasm32 with only `feature` (and without std), copied to
/// `<scratch>/xauth_<feature>.wasm`: both modules come out of cargo as xauth_web.wasm.
fn cargo_wasm(project: &Project, tools: &Tools, feature: &str, scratch: &Path) -> Result<PathBuf> {
    cmd::run(tools.cargo().args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "xauth-web",
        "--no-default-features",
        "--features",
        feature,
    ]))?;
    let built = project
        .target_dir
        .join("wasm32-unknown-unknown/release/xauth_web.wasm");
    let copy = scratch.join(format!("xauth_{feature}.wasm"));
    fs::copy(&built, &copy).context(format!("copying {}", built.display()))?;
    Ok(copy)
}

/// wasm-opt -Oz from `input` to `output`. npm's binaryen, never a distro wasm-opt: Debian's
/// (108) emits a module Chromium rejects at instantiation (`WebAssembly.Table.set():
/// Argument 1 is invalid`). The `producers` and `target_features` sections and any debug
/// names are notes for tools; no runtime reads them.
fn wasm_opt(tools: &Tools, input: &Path, output: &Path, extra: &[&str]) -> Result<()> {
    cmd::run(
        tools
            .command(tools.node_bin("wasm-opt"))
            .arg("-Oz")
            .args(extra)
            .args(WASM_FEATURES)
            .args([
                "--strip-debug",
                "--strip-producers",
                "--strip-target-features",
            ])
            .arg(input)
            .arg("-o")
            .arg(output),
    )
}

/// esbuild: whitespace, comments and syntax minified, local names shortened (exports,
/// class names seen from outside and `import.meta.url` stay), from `input` to `output`.
fn minify(tools: &Tools, input: &Path, output: &Path, extra: &[&str]) -> Result<()> {
    cmd::run(
        tools
            .command(tools.node_bin("esbuild"))
            .arg(input)
            .args([
                "--minify",
                "--format=esm",
                "--log-level=warning",
                "--allow-overwrite",
            ])
            .args(extra)
            .arg(format!("--outfile={}", output.display())),
    )
}

/// worker-build runs cargo, wasm-bindgen, wasm-opt and esbuild itself. Each tool is handed
/// over by absolute path: otherwise it downloads them from GitHub (it does not look at
/// PATH), which fails offline and would bypass the versions pinned here.
fn build_worker(project: &Project, tools: &Tools) -> Result<()> {
    worker_build(project, tools, WORKER_CRATE_DIR)?;
    expect_files(project, &[WORKER_JS, WORKER_WASM])
}

/// The example of xauth mounted in an app's own workers-rs Worker (examples/rust-mount),
/// into its build/ folder. Not part of `cargo xtask build`: only the tests run it.
pub fn rust_mount_example(project: &Project, tools: &Tools) -> Result<()> {
    worker_build(project, tools, RUST_MOUNT_EXAMPLE_DIR)?;
    expect_files(project, &[RUST_MOUNT_EXAMPLE_JS])
}

/// `worker-build --release` in `crate_dir` (relative to the root), with the pinned tools.
fn worker_build(project: &Project, tools: &Tools, crate_dir: &str) -> Result<()> {
    cmd::run(
        tools
            .command(tools.worker_build())
            .arg("--release")
            .current_dir(project.path(crate_dir))
            .env("WASM_BINDGEN_BIN", tools.wasm_bindgen())
            .env("WASM_OPT_BIN", tools.node_bin("wasm-opt"))
            .env("ESBUILD_BIN", tools.node_bin("esbuild")),
    )
}

/// A tool that exits 0 without writing what we ship is a failure too (e.g. a worker-build
/// release that renames its outputs).
fn expect_files(project: &Project, files: &[&str]) -> Result<()> {
    for file in files {
        if !project.path(file).is_file() {
            bail!("expected build output {file} is missing");
        }
    }
    Ok(())
}

pub(crate) fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).context(format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
