//! `cargo xtask size`: raw and gzip sizes of what ships. Budgets are reported, not enforced:
//! going over prints OVER BUDGET and still exits 0, so size work is a decision, not a
//! red build.

use std::fs;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Context, Result};
use crate::project::{
    Project, WEB_KEEPER_JS, WEB_KEEPER_WASM, WEB_KIT_FILES, WEB_OAUTH1_JS, WEB_SIGN_IN_FILES,
    WORKER_JS, WORKER_WASM,
};

/// What a page downloads before its first "Sign in with X" link: the entry and the sign-in
/// module (issue 13).
pub const SIGN_IN_BUDGET_GZIP: u64 = 12 * 1024;
/// Everything of the browser package a page may load: with the keeper module (issue 13).
pub const KIT_BUDGET_GZIP: u64 = 35 * 1024;
/// Cloudflare's limit for a Worker on the free plan (compressed); over it, deploy fails.
const WORKER_LIMIT_GZIP: u64 = 3 * 1024 * 1024;

pub fn report(project: &Project) -> Result<()> {
    println!("== sizes (gzip -9)");
    report_group(
        project,
        "browser sign-in module (the entry and its wasm: all a page loads before its first link)",
        WEB_SIGN_IN_FILES,
        Some((SIGN_IN_BUDGET_GZIP, "budget")),
    )?;
    report_group(
        project,
        "browser keeper module and OAuth 1.0a (each loaded when first used)",
        &[WEB_KEEPER_JS, WEB_KEEPER_WASM, WEB_OAUTH1_JS],
        None,
    )?;
    report_group(
        project,
        "browser kit (every file a page may load)",
        WEB_KIT_FILES,
        Some((KIT_BUDGET_GZIP, "budget")),
    )?;
    report_npm_package(project)?;
    report_group(
        project,
        "worker",
        &[WORKER_WASM, WORKER_JS],
        Some((WORKER_LIMIT_GZIP, "free-plan limit")),
    )
}

fn report_group(
    project: &Project,
    label: &str,
    files: &[&str],
    budget: Option<(u64, &str)>,
) -> Result<()> {
    let (mut raw_total, mut gzip_total) = (0, 0);
    for file in files {
        let bytes = fs::read(project.path(file))
            .context(format!("reading {file} (run `cargo xtask build`)"))?;
        let (raw, gzip) = (bytes.len() as u64, gzip_len(&bytes)?);
        println!("  {file:<45} {:>10} raw {:>10} gzip", kib(raw), kib(gzip));
        raw_total += raw;
        gzip_total += gzip;
    }
    let verdict = match budget {
        Some((budget, name)) => format!(
            "; {name} {} gzip: {}",
            kib(budget),
            if gzip_total > budget {
                "OVER BUDGET"
            } else {
                "ok"
            }
        ),
        None => String::new(),
    };
    println!(
        "  {label}\n    total: {} raw, {} gzip{verdict}",
        kib(raw_total),
        kib(gzip_total),
    );
    Ok(())
}

/// The npm package as a whole (the kit's files plus types, README, licenses and
/// package.json): what `npm install` puts in an app's node_modules.
fn report_npm_package(project: &Project) -> Result<()> {
    let dir = project.npm_package_dir();
    let entries = fs::read_dir(&dir).context(format!(
        "reading {} (run `cargo xtask build`)",
        dir.display()
    ))?;
    let (mut files, mut raw, mut gzip) = (0, 0, 0);
    for entry in entries {
        let bytes = fs::read(entry?.path())?;
        files += 1;
        raw += bytes.len() as u64;
        gzip += gzip_len(&bytes)?;
    }
    let shown = dir.strip_prefix(&project.root).unwrap_or(&dir);
    println!(
        "  npm package {} ({files} files)\n    total: {} raw, {} gzip (each file)",
        shown.display(),
        kib(raw),
        kib(gzip),
    );
    Ok(())
}

pub fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
