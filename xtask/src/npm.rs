//! The browser package as an npm package, `target/npm/xauth-web/`: what `build_web` put in
//! www/pkg, plus a package.json, a README and the licenses, so an app installs it with
//! `npm install <that folder or its npm pack tarball>` and imports `xauth-web`.
//!
//! Nothing is rebuilt or rewritten here: the files are www/pkg's, byte for byte. What makes
//! them work in a bundler (Vite, Rollup, webpack) with no plugin and no configuration is in
//! the entry itself: each file it loads is named by a literal "./…" path, in
//! `new URL("./x.wasm", import.meta.url)` or `import("./x.js")`, the forms bundlers follow.

use std::fs;
use std::path::{Path, PathBuf};

use crate::build;
use crate::error::{Context, Result, bail};
use crate::project::{
    LICENSE_FILES, NPM_PACKAGE_NAME, NPM_README_SOURCE, Project, WEB_JS, WEB_KEEPER_JS,
    WEB_KIT_FILES, WEB_TYPES,
};

/// Builds the package from www/pkg (run after `build_web`); its folder.
pub fn package(project: &Project) -> Result<PathBuf> {
    let dir = project.npm_package_dir();
    // Start empty, as www/pkg does, so no file of an older build is packed.
    build::remove_dir_if_present(&dir)?;
    fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;

    let mut files: Vec<String> = Vec::new();
    for source in WEB_KIT_FILES.iter().chain(&[WEB_TYPES]) {
        files.push(copy_into(&dir, &project.path(source))?);
    }
    fs::copy(project.path(NPM_README_SOURCE), dir.join("README.md"))
        .context(format!("copying {NPM_README_SOURCE}"))?;
    // Listed: npm pack adds a file named LICENSE by itself, but not LICENSE-MIT and
    // LICENSE-APACHE, the texts LICENSE points to.
    for license in LICENSE_FILES {
        files.push(copy_into(&dir, &project.path(license))?);
    }

    let version = workspace_version(
        &fs::read_to_string(project.path("Cargo.toml")).context("reading Cargo.toml")?,
    )?;
    let manifest = package_json(&version, &files);
    fs::write(dir.join("package.json"), manifest).context("writing package.json")?;
    Ok(dir)
}

/// Copies `source` into `dir` under its own name; that name.
fn copy_into(dir: &Path, source: &Path) -> Result<String> {
    let name = source
        .file_name()
        .and_then(|name| name.to_str())
        .expect("the package's files have UTF-8 names")
        .to_owned();
    fs::copy(source, dir.join(&name)).context(format!("copying {}", source.display()))?;
    Ok(name)
}

/// The file name of a www/pkg path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// package.json. `files` lists what `npm pack` takes (it adds package.json and the README
/// itself); `sideEffects: false` because importing any file only defines things,
/// so a bundler may drop what an app does not use. The keeper module is exported too, for
/// an app that wants it loaded up front; the entry imports it by its relative path either
/// way, so the two are one module in a bundle.
fn package_json(version: &str, files: &[String]) -> String {
    let entry = file_name(WEB_JS);
    let types = file_name(WEB_TYPES);
    let keeper = file_name(WEB_KEEPER_JS);
    let files = files
        .iter()
        .map(|file| format!("    \"{file}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        r#"{{
  "name": "{NPM_PACKAGE_NAME}",
  "version": "{version}",
  "description": "Sign in with X (Twitter) in the browser, through the xauth worker: OAuth 2.0 with PKCE in two small wasm modules, sessions in worker or browser custody.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./{entry}",
  "types": "./{types}",
  "exports": {{
    ".": {{
      "types": "./{types}",
      "default": "./{entry}"
    }},
    "./keeper": "./{keeper}",
    "./package.json": "./package.json"
  }},
  "sideEffects": false,
  "files": [
{files}
  ]
}}
"#
    )
}

/// `version` of `[workspace.package]` in the root Cargo.toml: the package's version is the
/// crates' version.
fn workspace_version(cargo_toml: &str) -> Result<String> {
    let mut in_section = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section
            && let Some(value) = line.strip_prefix("version")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            let value = value.trim();
            if let Some(version) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                return Ok(version.to_owned());
            }
            bail!("Cargo.toml: [workspace.package] version is not a plain string: {value}");
        }
    }
    bail!("Cargo.toml has no [workspace.package] version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_version() {
        let toml = "[package]\nversion = \"9.9.9\"\n[workspace.package]\nedition = \"2024\"\n\
                    version = \"0.3.1\"\n[workspace.dependencies]\nversion = \"1\"\n";
        assert_eq!(workspace_version(toml).unwrap(), "0.3.1");
        assert!(workspace_version("[workspace.package]\nedition = \"2024\"\n").is_err());
    }

    #[test]
    fn package_json_names_the_entry_the_keeper_and_the_files() {
        let json = package_json("1.2.3", &["a.js".to_owned(), "b.wasm".to_owned()]);
        assert!(json.contains("\"version\": \"1.2.3\""), "{json}");
        assert!(json.contains("\"default\": \"./xauth_web.js\""), "{json}");
        assert!(
            json.contains("\"./keeper\": \"./xauth_keeper.js\""),
            "{json}"
        );
        assert!(
            json.contains("    \"a.js\",\n    \"b.wasm\"\n  ]"),
            "{json}"
        );
    }
}
