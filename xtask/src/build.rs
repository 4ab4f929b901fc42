//! `cargo xtask build`: the browser package into www/pkg and the worker bundle into
//! crates/xauth-worker/build, the two things wrangler serves and deploys.

use std::fs;
use std::path::Path;

use crate::cmd;
use crate::error::{Context, Result, bail};
use crate::project::{
    Project, Tools, WEB_JS, WEB_PKG_DIR, WEB_WASM, WORKER_CRATE_DIR, WORKER_JS, WORKER_WASM,
};

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
    build_worker(project, tools).context("building the worker (xauth-worker)")?;
    println!("build outputs:");
    for output in [WEB_WASM, WEB_JS, WORKER_JS, WORKER_WASM] {
        println!("  {}", project.path(output).display());
    }
    Ok(())
}

/// cargo -> wasm-bindgen (ES module for the browser, with .d.ts) -> wasm-opt -Oz, and the
/// JS glue minified by esbuild.
fn build_web(project: &Project, tools: &Tools) -> Result<()> {
    cmd::run(tools.cargo().args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "xauth-web",
        // Without std: no std panic machinery in the wasm (see crates/xauth-web/src/lib.rs).
        "--no-default-features",
    ]))?;
    let wasm = project
        .target_dir
        .join("wasm32-unknown-unknown/release/xauth_web.wasm");
    let out_dir = project.path(WEB_PKG_DIR);
    // Start empty so files of an older build (snippets, renamed exports) do not linger.
    remove_dir_if_present(&out_dir)?;
    cmd::run(
        tools
            .command(tools.wasm_bindgen())
            .args(["--target", "web", "--out-dir"])
            .arg(&out_dir)
            .arg(&wasm),
    )?;
    // npm's binaryen, never a distro wasm-opt: Debian's (108) emits a module Chromium
    // rejects at instantiation (`WebAssembly.Table.set(): Argument 1 is invalid`).
    let bg_wasm = project.path(WEB_WASM);
    // The `producers` and `target_features` sections are notes for tools; no runtime reads
    // them. (`--converge` was measured too: fewer raw bytes, more gzip bytes.)
    cmd::run(
        tools
            .command(tools.node_bin("wasm-opt"))
            .arg("-Oz")
            .args(WASM_FEATURES)
            .args(["--strip-producers", "--strip-target-features"])
            .arg(&bg_wasm)
            .arg("-o")
            .arg(&bg_wasm),
    )?;
    minify_glue(project, tools)?;
    expect_files(project, &[WEB_WASM, WEB_JS])
}

/// wasm-bindgen's glue carries every doc comment and its indentation: ~30% of its gzip
/// size. esbuild takes out whitespace and comments and shortens syntax, but renames
/// nothing (class names, exports and `import.meta.url` stay as they are). The
/// `@ts-self-types` line that points at the .d.ts is a comment, so it is put back.
fn minify_glue(project: &Project, tools: &Tools) -> Result<()> {
    let glue = project.path(WEB_JS);
    cmd::run(
        tools
            .command(tools.node_bin("esbuild"))
            .arg(&glue)
            .args([
                "--minify-whitespace",
                "--minify-syntax",
                "--format=esm",
                "--log-level=warning",
                "--allow-overwrite",
                "--banner:js=/* @ts-self-types=\"./xauth_web.d.ts\" */",
            ])
            .arg(format!("--outfile={}", glue.display())),
    )
}

/// worker-build runs cargo, wasm-bindgen, wasm-opt and esbuild itself. Each tool is handed
/// over by absolute path: otherwise it downloads them from GitHub (it does not look at
/// PATH), which fails offline and would bypass the versions pinned here.
fn build_worker(project: &Project, tools: &Tools) -> Result<()> {
    cmd::run(
        tools
            .command(tools.worker_build())
            .arg("--release")
            .current_dir(project.path(WORKER_CRATE_DIR))
            .env("WASM_BINDGEN_BIN", tools.wasm_bindgen())
            .env("WASM_OPT_BIN", tools.node_bin("wasm-opt"))
            .env("ESBUILD_BIN", tools.node_bin("esbuild")),
    )?;
    expect_files(project, &[WORKER_JS, WORKER_WASM])
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

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).context(format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
