//! Where things are: the repository layout, the build outputs, and the tools `setup` found.
//!
//! Every path the other modules use is named here once, so a change of layout (or of
//! worker-build's output names) is a one-line edit.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser package (served from `www/`): the entry apps import (hand-written, minified)
/// and its types, the sign-in module's wasm (which the entry loads itself), the keeper
/// module, wasm-bindgen's glue and its wasm, and OAuth 1.0a (both imported when needed).
pub const WEB_PKG_DIR: &str = "www/pkg";
pub const WEB_JS: &str = "www/pkg/xauth_web.js";
pub const WEB_TYPES: &str = "www/pkg/xauth_web.d.ts";
pub const WEB_SIGNIN_WASM: &str = "www/pkg/xauth_signin.wasm";
pub const WEB_KEEPER_JS: &str = "www/pkg/xauth_keeper.js";
pub const WEB_KEEPER_WASM: &str = "www/pkg/xauth_keeper_bg.wasm";
pub const WEB_OAUTH1_JS: &str = "www/pkg/xauth_oauth1.js";
/// The entry's source, OAuth 1.0a's, and the entry's types.
pub const WEB_ENTRY_SOURCE: &str = "crates/xauth-web/js/xauth_web.js";
pub const WEB_OAUTH1_SOURCE: &str = "crates/xauth-web/js/xauth_oauth1.js";
pub const WEB_TYPES_SOURCE: &str = "crates/xauth-web/js/xauth_web.d.ts";
/// What a page loads before its first link (the sign-in module, with the entry), and the
/// whole kit (every file of the package a page may load).
pub const WEB_SIGN_IN_FILES: &[&str] = &[WEB_JS, WEB_SIGNIN_WASM];
pub const WEB_KIT_FILES: &[&str] = &[
    WEB_JS,
    WEB_SIGNIN_WASM,
    WEB_KEEPER_JS,
    WEB_KEEPER_WASM,
    WEB_OAUTH1_JS,
];

/// The npm package `cargo xtask build` makes of www/pkg, in `<target>/npm/xauth-web/`
/// ([`Project::npm_package_dir`]): its name, its README's source, and the licenses it
/// carries (the repository's).
pub const NPM_PACKAGE_NAME: &str = "xauth-web";
pub const NPM_README_SOURCE: &str = "crates/xauth-web/npm/README.md";
pub const LICENSE_FILES: &[&str] = &["LICENSE", "LICENSE-MIT", "LICENSE-APACHE"];

/// The worker crate, and what `worker-build` 0.8.7 leaves in its `build/` folder:
/// the bundled ES module (wasm-bindgen glue + workers-rs shim, the entry point wrangler.toml's
/// `main` names), the wasm it imports, and `worker/shim.mjs`, a two-line re-export of
/// `index.js` kept by worker-build for configs written for older versions.
pub const WORKER_CRATE_DIR: &str = "crates/xauth-worker";
pub const WORKER_JS: &str = "crates/xauth-worker/build/index.js";
pub const WORKER_WASM: &str = "crates/xauth-worker/build/index_bg.wasm";
/// xauth mounted in an app's own workers-rs Worker: the example crate and its bundle.
pub const RUST_MOUNT_EXAMPLE_DIR: &str = "examples/rust-mount";
pub const RUST_MOUNT_EXAMPLE_JS: &str = "examples/rust-mount/build/index.js";
/// Every example Worker's config, each checked with `wrangler deploy --dry-run`.
pub const EXAMPLE_WRANGLER_CONFIGS: &[&str] = &[
    "examples/rust-mount/wrangler.toml",
    "examples/js-mount/wrangler.toml",
    "examples/service-binding/wrangler.toml",
];

/// Node tools from the committed package-lock.json (`npm ci`).
pub const NODE_MODULES: &str = "node_modules";

/// Where `setup` installs Node 22 when the system's Node is older.
pub const LOCAL_NODE_PREFIX: &str = ".tools/node";
pub const LOCAL_NODE_BIN: &str = ".tools/node/node_modules/node/bin";

/// Debian's paths for the browser tests; chromedriver finds /usr/bin/chromium itself.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The ports `dev` and the [vars] in wrangler.toml agree on.
pub const EMULATOR_PORT: u16 = 8790;
pub const WORKER_PORT: u16 = 8787;

pub struct Project {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

impl Project {
    /// The workspace root is the parent of this crate's manifest directory, wherever
    /// `cargo xtask` was started from (the rust-analyzer trick).
    pub fn locate() -> Project {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask/ has a parent")
            .to_path_buf();
        // Honour CARGO_TARGET_DIR so our paths agree with where cargo actually writes.
        let target_dir = env::var_os("CARGO_TARGET_DIR")
            .map(|dir| root.join(dir))
            .unwrap_or_else(|| root.join("target"));
        Project { root, target_dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Where the npm package is built (under the target directory: it is an output).
    pub fn npm_package_dir(&self) -> PathBuf {
        self.target_dir.join("npm").join(NPM_PACKAGE_NAME)
    }
}

/// The cargo that runs us (cargo sets `CARGO`), so nested builds use the same toolchain.
pub fn cargo_program() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(".cargo"));
    cargo_home.join("bin")
}

fn home_dir() -> PathBuf {
    env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// The first `name` on PATH, like `command -v`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The tools `setup` made sure of. Every later command is built from here, so each one sees
/// the same Node (>= 22, first on PATH: wrangler and the npm `wasm-opt` are `#!/usr/bin/env
/// node` scripts) and the same cargo-installed binaries (the wasm test runner is found by
/// cargo through PATH).
pub struct Tools {
    pub root: PathBuf,
    pub cargo_bin: PathBuf,
    pub node_dir: PathBuf,
}

impl Tools {
    pub fn wasm_bindgen(&self) -> PathBuf {
        self.cargo_bin.join("wasm-bindgen")
    }

    pub fn worker_build(&self) -> PathBuf {
        self.cargo_bin.join("worker-build")
    }

    pub fn node_bin(&self, name: &str) -> PathBuf {
        self.root.join(NODE_MODULES).join(".bin").join(name)
    }

    /// PATH with our Node and cargo's bin folder in front of whatever the caller had.
    pub fn path_env(&self) -> OsString {
        let inherited = env::var_os("PATH").unwrap_or_default();
        let dirs = [self.node_dir.clone(), self.cargo_bin.clone()]
            .into_iter()
            .chain(env::split_paths(&inherited));
        env::join_paths(dirs).expect("PATH entries contain no separator")
    }

    /// A command run from the repository root with the tool environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root)
            .env("PATH", self.path_env())
            // No prompt, no network call home from wrangler: CI has no terminal and
            // Cloudflare's API is not reachable from every machine.
            .env("WRANGLER_SEND_METRICS", "false");
        cmd
    }

    pub fn cargo(&self) -> Command {
        self.command(cargo_program())
    }
}
