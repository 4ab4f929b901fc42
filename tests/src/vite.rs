//! The npm package as an app gets it: `target/npm/xauth-web` (made by `cargo xtask build`)
//! through `npm pack`, installed from that tarball into a copy of `tests/vite-app/`, and the
//! app built by the repository's pinned Vite (`node_modules/.bin/vite build`) with no
//! plugin and no configuration. The build's `dist/` is then served by the worker
//! ([`crate::browser::serve_assets_from`]).
//!
//! Environment: the harness's `XAUTH_ROOT` and `XAUTH_NODE_DIR`, and `CARGO_TARGET_DIR`
//! (where the package is, as for `cargo xtask build`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::{path_with_node, root};

/// The npm package `cargo xtask build` made.
pub fn npm_package_dir() -> PathBuf {
    let root = root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    target.join("npm/xauth-web")
}

/// The Vite app, built in a temporary directory that lives as long as this value.
pub struct ViteApp {
    /// Vite's output: what the worker serves.
    pub dist: PathBuf,
    /// The `npm pack` tarball's size in bytes (it is gzip).
    pub tarball_bytes: u64,
    /// The paths the tarball holds, as `npm pack` listed them.
    pub packed_files: Vec<String>,
    /// What `vite build` printed.
    pub build_log: String,
    dir: tempfile::TempDir,
}

impl ViteApp {
    /// Packs the package, installs the tarball into a copy of `tests/vite-app/` (a local
    /// file without dependencies: nothing is fetched, `--offline` makes sure) and builds
    /// the app. Panics with the tool's output when a step fails.
    pub fn build() -> ViteApp {
        let root = root();
        let package = npm_package_dir();
        assert!(
            package.join("package.json").is_file(),
            "the npm package {} is missing: run `cargo xtask build` first",
            package.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("xauth-vite-app-")
            .tempdir()
            .expect("a temporary directory");
        let app = dir.path().join("app");
        copy_dir(&root.join("tests/vite-app"), &app);

        let packed = run(npm(&root)
            .arg("pack")
            .arg(&package)
            .arg("--pack-destination")
            .arg(dir.path())
            .arg("--json"));
        let packed: Value = serde_json::from_slice(&packed.stdout)
            .unwrap_or_else(|err| panic!("npm pack --json: {err}"));
        let packed = &packed[0];
        let tarball = dir.path().join(
            packed["filename"]
                .as_str()
                .unwrap_or_else(|| panic!("npm pack named no tarball: {packed}")),
        );
        let tarball_bytes = fs::metadata(&tarball)
            .unwrap_or_else(|err| panic!("{}: {err}", tarball.display()))
            .len();
        let packed_files = packed["files"]
            .as_array()
            .unwrap_or_else(|| panic!("npm pack listed no files: {packed}"))
            .iter()
            .map(|file| file["path"].as_str().expect("a path").to_owned())
            .collect();

        run(npm(&root)
            .current_dir(&app)
            .args(["install", "--no-audit", "--no-fund", "--offline"])
            .arg(&tarball));

        let vite = root.join("node_modules/.bin/vite");
        assert!(
            vite.is_file(),
            "{} is missing: run `cargo xtask setup`",
            vite.display()
        );
        let built = run(Command::new(&vite)
            .arg("build")
            .current_dir(&app)
            .env("PATH", path_with_node(&root))
            .env("NO_COLOR", "1"));
        let build_log = String::from_utf8_lossy(&built.stdout).into_owned()
            + &String::from_utf8_lossy(&built.stderr);
        ViteApp {
            dist: app.join("dist"),
            tarball_bytes,
            packed_files,
            build_log,
            dir,
        }
    }

    /// The app's copy, with its node_modules (the package as installed).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    /// Every file of the build, relative to `dist/`, sorted.
    pub fn dist_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        list_files(&self.dist, &self.dist, &mut files);
        files.sort();
        files
    }

    /// The one file of the build whose name is `stem-<hash>.ext` (Vite's naming of what
    /// it copies or splits off), under `assets/`; panics unless there is exactly one.
    pub fn hashed(&self, stem: &str, ext: &str) -> String {
        let files = self.dist_files();
        let matching: Vec<&String> = files
            .iter()
            .filter(|file| {
                file.strip_prefix("assets/")
                    .and_then(|name| name.strip_prefix(stem))
                    .and_then(|name| name.strip_prefix('-'))
                    .and_then(|name| name.strip_suffix(ext))
                    .is_some_and(|hash| {
                        !hash.is_empty()
                            && hash
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    })
            })
            .collect();
        match matching.as_slice() {
            [one] => (*one).clone(),
            _ => panic!(
                "the build has {} files assets/{stem}-<hash>{ext}: {files:#?}\nvite build said:\n{}",
                matching.len(),
                self.build_log
            ),
        }
    }
}

/// npm, run by the project's Node, quiet about updates.
fn npm(root: &Path) -> Command {
    let mut command = Command::new("npm");
    command
        .env("PATH", path_with_node(root))
        .env("npm_config_update_notifier", "false")
        .env("NO_COLOR", "1");
    command
}

/// Runs to completion; panics with everything it printed when it fails.
fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("start {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|err| panic!("{}: {err}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|err| panic!("{}: {err}", from.display())) {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("{}: {err}", target.display()));
        }
    }
}

fn list_files(base: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            list_files(base, &path, files);
        } else {
            let relative = path.strip_prefix(base).expect("under the base");
            files.push(relative.display().to_string());
        }
    }
}
