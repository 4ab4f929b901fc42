//! The browser half of `cargo xtask bench`: headless Chromium on pages served by
//! `bench/static-server.mjs`, which also collects what the pages measured.
//!
//! No WebDriver: each Chromium is started on a bench page with a fresh profile, the page
//! POSTs its figures to the static server (one line each, appended to a results file),
//! and the bench stops that Chromium once its line has come.
//!
//! - Contenders (`bench/page/contenders/`): the project (`XAuth.signInUrl()`, www/pkg as
//!   built), plain JS, oauth4webapi and arctic (pinned devDependencies), each bundled and
//!   minified by esbuild as an app would ship it (www/pkg stays external: it ships as built).
//! - Sign-in jobs (`batch.html`): one page, every contender checked once (a valid S256
//!   link and its pending record), warmed up, then interleaved batches of `--jobs` jobs
//!   for `--rounds` rounds; µs per job, the median of the rounds.
//! - Cold start (`cold.html`): per sample and contender a new Chromium with a fresh profile;
//!   navigation start to the first link in hand (performance.now()); the files it loaded
//!   are what the contender ships.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Options;
use super::process::{self, Process};
use crate::error::{Context, Result, bail};
use crate::project::{CHROMIUM, NODE_MODULES, Project, Tools, WEB_PKG_DIR};

/// The contenders: their module under bench/page/contenders/, and their table label (an
/// npm package's label gets its installed version).
pub const CONTENDERS: [(&str, &str); 4] = [
    ("xauth", "xauth (`XAuth.signInUrl()`)"),
    ("plain", "plain JS + sessionStorage"),
    ("oauth4webapi", "oauth4webapi"),
    ("arctic", "arctic"),
];

/// How long one page may take.
const COLD_PATIENCE: Duration = Duration::from_secs(60);
const BATCH_PATIENCE: Duration = Duration::from_secs(600);

pub struct ContenderResult {
    pub name: &'static str,
    pub label: String,
    /// µs per sign-in job, one per round.
    pub job_us: Vec<f64>,
    /// Navigation start to the first link, ms, one per sample.
    pub cold_ms: Vec<f64>,
    /// What the cold page loaded for it: (URL path, file on disk).
    pub shipped: Vec<(String, PathBuf)>,
}

pub fn run(
    project: &Project,
    tools: &Tools,
    dir: &Path,
    options: &Options,
) -> Result<Vec<ContenderResult>> {
    let page_dir = dir.join("page");
    build_page(project, tools, &page_dir)?;
    let results = dir.join("browser-results.txt");
    fs::write(&results, "")?;
    let port = process::free_port()?;
    let pkg_dir = project.path(WEB_PKG_DIR);
    let server = Process::server(
        "the bench pages' server",
        tools
            .command(tools.node_dir.join("node"))
            .arg(project.path("bench/static-server.mjs"))
            .arg(port.to_string())
            .arg(&results)
            .arg(format!("/pkg/={}", pkg_dir.display()))
            .arg(format!("/={}", page_dir.display())),
        &dir.join("static-server.log"),
        port,
    )?;
    let origin = format!("http://127.0.0.1:{port}");
    let mut collected: Vec<ContenderResult> = CONTENDERS
        .iter()
        .map(|&(name, label)| ContenderResult {
            name,
            label: match npm_version(project, name) {
                Some(version) => format!("{label} {version}"),
                None => label.to_owned(),
            },
            job_us: Vec::new(),
            cold_ms: Vec::new(),
            shipped: Vec::new(),
        })
        .collect();

    let reader = Results { path: results };
    let url = format!(
        "{origin}/batch.html?jobs={}&rounds={}",
        options.jobs, options.batches
    );
    println!(
        "bench: sign-in jobs in headless Chromium ({} × {} per contender)",
        options.batches, options.jobs
    );
    let lines = reader.collect(dir, &url, BATCH_PATIENCE, |line| line == "done")?;
    for line in &lines {
        // job NAME ROUND MICROSECONDS
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let ["job", name, _, us] = parts.as_slice() {
            find(&mut collected, name)?.job_us.push(parse(us)?);
        }
    }

    for sample in 0..options.cold_samples {
        for i in 0..CONTENDERS.len() {
            // The order rotates per sample, as the job batches' does per round.
            let name = CONTENDERS[(i + sample as usize) % CONTENDERS.len()].0;
            let url = format!("{origin}/cold.html?c={name}&settle={}", options.settle_ms);
            let prefix = format!("cold {name} ");
            let lines =
                reader.collect(dir, &url, COLD_PATIENCE, |line| line.starts_with(&prefix))?;
            let line = lines.last().expect("collect returns the awaited line");
            // cold NAME MILLISECONDS PATH...
            let mut parts = line.split_whitespace().skip(2);
            let ms = parse(parts.next().unwrap_or_default())?;
            let shipped = parts
                .map(|path| (path.to_owned(), served_file(&pkg_dir, &page_dir, path)))
                .collect();
            let result = find(&mut collected, name)?;
            result.cold_ms.push(ms);
            result.shipped = shipped;
            println!(
                "bench: cold start {name}, sample {}: {ms:.1} ms",
                sample + 1
            );
        }
    }
    drop(server);
    for result in &collected {
        if result.job_us.is_empty() || result.cold_ms.is_empty() {
            bail!("the browser bench reported nothing for {}", result.name);
        }
    }
    Ok(collected)
}

/// The pages and one bundle per contender (esbuild: bundled, minified, ES module), in `page_dir`.
fn build_page(project: &Project, tools: &Tools, page_dir: &Path) -> Result<()> {
    fs::create_dir_all(page_dir)?;
    for file in ["cold.html", "batch.html", "batch.js"] {
        fs::copy(
            project.path(&format!("bench/page/{file}")),
            page_dir.join(file),
        )
        .context(format!("copying bench/page/{file}"))?;
    }
    for (name, _) in CONTENDERS {
        crate::cmd::read(
            tools
                .command(tools.node_bin("esbuild"))
                .arg(project.path(&format!("bench/page/contenders/{name}.js")))
                .args([
                    "--bundle",
                    "--minify",
                    "--format=esm",
                    "--external:/pkg/*",
                    "--log-level=warning",
                ])
                .arg(format!(
                    "--outfile={}",
                    page_dir.join(format!("{name}.js")).display()
                )),
        )
        .context(format!("bundling the {name} contender"))?;
    }
    Ok(())
}

/// The file the static server answered for `path` (its mounts: /pkg/ and /).
fn served_file(pkg_dir: &Path, page_dir: &Path, path: &str) -> PathBuf {
    match path.strip_prefix("/pkg/") {
        Some(rest) => pkg_dir.join(rest),
        None => page_dir.join(path.trim_start_matches('/')),
    }
}

fn find<'a>(results: &'a mut [ContenderResult], name: &str) -> Result<&'a mut ContenderResult> {
    results
        .iter_mut()
        .find(|result| result.name == name)
        .ok_or_else(|| {
            crate::error::Error::msg(format!("the page reported an unknown contender {name}"))
        })
}

fn parse(number: &str) -> Result<f64> {
    number.parse().map_err(|_| {
        crate::error::Error::msg(format!("the page reported {number:?}, not a number"))
    })
}

/// The results file the pages append to.
struct Results {
    path: PathBuf,
}

impl Results {
    fn lines(&self) -> Vec<String> {
        fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Opens `url` in a new headless Chromium with a fresh profile and waits until the
    /// page reports a line that `done` accepts; the lines it reported (the last one
    /// accepted). A line "error ..." from the page is an error.
    fn collect(
        &self,
        dir: &Path,
        url: &str,
        patience: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>> {
        let seen = self.lines().len();
        let profile = fresh_profile(dir)?;
        let browser = Process::spawn(
            "chromium",
            chromium(&profile).arg(url),
            &dir.join("chromium.log"),
        )?;
        let deadline = Instant::now() + patience;
        let outcome = loop {
            let new: Vec<String> = self.lines().into_iter().skip(seen).collect();
            if let Some(error) = new.iter().find(|line| line.starts_with("error ")) {
                break Err(crate::error::Error::msg(format!(
                    "the page {url} failed: {error}"
                )));
            }
            if new.last().is_some_and(|line| done(line)) {
                break Ok(new);
            }
            if Instant::now() > deadline {
                break Err(crate::error::Error::msg(format!(
                    "the page {url} reported nothing in {patience:?} (lines so far: {new:?}); \
                     see {}",
                    dir.join("chromium.log").display()
                )));
            }
            sleep(Duration::from_millis(50));
        };
        drop(browser);
        let _ = fs::remove_dir_all(&profile);
        outcome
    }
}

/// A new, empty profile directory: nothing cached, nothing compiled.
fn fresh_profile(dir: &Path) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let profile = dir.join(format!("chromium-profile-{nanos}"));
    fs::create_dir_all(&profile)?;
    Ok(profile)
}

/// Headless Chromium with the flags toolchain.md names (no background networking: the
/// network here is closed and the figures should be the page's).
fn chromium(profile: &Path) -> Command {
    let mut command = Command::new(CHROMIUM);
    command
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The version of an npm package in node_modules (for the contender's label).
pub fn npm_version(project: &Project, package: &str) -> Option<String> {
    let manifest =
        fs::read_to_string(project.path(&format!("{NODE_MODULES}/{package}/package.json"))).ok()?;
    let after = &manifest[manifest.find("\"version\"")? + "\"version\"".len()..];
    let start = after.find('"')? + 1;
    let end = start + after[start..].find('"')?;
    Some(after[start..end].to_owned())
}
