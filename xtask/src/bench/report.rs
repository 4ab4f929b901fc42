//! The bench's markdown: the machine, the targets with their verdicts, the worker and
//! browser figures, and the size of every shipped artefact.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::Options;
use super::browser::ContenderResult;
use super::load::{Contender, LoadResults, Sample, WRK_THREADS};
use crate::cmd;
use crate::error::{Context, Result};
use crate::project::{
    CHROMIUM, Project, Tools, WEB_PKG_DIR, WEB_SIGN_IN_FILES, WORKER_JS, WORKER_WASM,
};
use crate::size::{gzip_len, kib};

/// The targets.
const SIGN_IN_MODULE_GZIP: u64 = crate::size::SIGN_IN_BUDGET_GZIP;
const BROWSER_KIT_GZIP: u64 = crate::size::KIT_BUDGET_GZIP;
const JOB_SPEEDUP: f64 = 1.2;
const COLD_START_MARGIN_MS: f64 = 10.0;

/// What a sign-in page loads from www/pkg before its first link: the entry and the
/// sign-in module's wasm. The whole kit is every .js and .wasm in www/pkg (with the keeper
/// module, loaded when a browser-custody session or OAuth 1.0a needs it).
const SIGN_IN_MODULE: &[&str] = WEB_SIGN_IN_FILES;

/// The browser files of the demo, shipped beside www/pkg.
const DEMO_FILES: &[&str] = &["www/index.html", "www/app.js", "www/style.css"];

pub struct Machine {
    cores: usize,
    cpu: String,
    load_average: String,
    commit: String,
    tools: String,
}

impl Machine {
    pub fn probe(project: &Project, tools: &Tools) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let first_line = |command: &mut Command| {
            command
                .stdin(std::process::Stdio::null())
                .output()
                .ok()
                .map(|out| {
                    let text = String::from_utf8_lossy(&out.stdout).into_owned()
                        + &String::from_utf8_lossy(&out.stderr);
                    text.lines().next().unwrap_or_default().trim().to_owned()
                })
                .filter(|line| !line.is_empty())
                .unwrap_or_else(|| "?".to_owned())
        };
        let git = |args: &[&str]| {
            cmd::read(Command::new("git").args(args).current_dir(&project.root)).unwrap_or_default()
        };
        let dirty = if git(&["status", "--porcelain"]).is_empty() {
            ""
        } else {
            " + uncommitted changes"
        };
        let workerd = project.path("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
        let tools_line = format!(
            "{}; Node {}; {}; {}",
            first_line(Command::new(&workerd).arg("--version")),
            first_line(Command::new(tools.node_dir.join("node")).arg("--version")),
            first_line(Command::new("wrk").arg("--version"))
                .split(" [")
                .next()
                .unwrap_or("wrk"),
            first_line(Command::new(CHROMIUM).arg("--version")),
        );
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            load_average: load_average(),
            commit: format!("`{}`{dirty}", git(&["rev-parse", "--short", "HEAD"])),
            tools: tools_line,
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub struct Inputs<'a> {
    pub machine: Machine,
    pub load_average_end: String,
    pub options: &'a Options,
    pub load: &'a LoadResults,
    pub browser: &'a [ContenderResult],
    pub elapsed: Duration,
}

pub fn render(project: &Project, inputs: &Inputs) -> Result<String> {
    let Inputs {
        machine,
        options,
        load,
        browser,
        ..
    } = inputs;
    let mut md = String::new();
    let now = cmd::read(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?;
    let mode = if options.smoke {
        "smoke (`cargo xtask bench --smoke`: checks that the bench runs; too short for figures)"
    } else {
        "full (`cargo xtask bench`)"
    };
    let _ = writeln!(md, "# xauth bench, {now}\n");
    let _ = writeln!(
        md,
        "- {mode}, commit {}, {:.0} s",
        machine.commit,
        inputs.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "- machine: {} cores ({}); load average {} at the start, {} at the end",
        machine.cores, machine.cpu, machine.load_average, inputs.load_average_end
    );
    let _ = writeln!(md, "- tools: {}", machine.tools);
    let _ = writeln!(
        md,
        "- worker: wrk, {} threads, {} connections, {} s per row and round, {} round(s){}; \
         medians of the rounds",
        WRK_THREADS.min(options.connections),
        options.connections,
        options.secs,
        options.rounds,
        if options.warmup_secs > 0 {
            format!(" after a {} s warm-up per row", options.warmup_secs)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "- browser: headless Chromium; {} interleaved round(s) of {} sign-in jobs per \
         contender, {} cold start(s) each in a fresh profile; medians",
        options.batches, options.jobs, options.cold_samples
    );
    md.push_str(
        "- Everything shares the machine (wrk, the stand-in, the servers, other work), so \
         compare figures within this table, as ratios, not across runs.\n",
    );

    let sizes = Sizes::measure(project)?;
    targets(&mut md, load, browser, &sizes);
    worker(&mut md, load);
    browser_table(&mut md, browser)?;
    sizes.table(&mut md);
    Ok(md)
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "**MISS**" }
}

/// The medians of one row's rounds.
struct Figures {
    req_per_sec: f64,
    req_per_sec_range: (f64, f64),
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    requests: u64,
    cpu_us: f64,
    standin_pct: f64,
}

impl Figures {
    fn of(samples: &[Sample]) -> Figures {
        let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f));
        let rates = samples.iter().map(|s| s.req_per_sec);
        Figures {
            req_per_sec: pick(|s| s.req_per_sec),
            req_per_sec_range: (
                rates.clone().fold(f64::INFINITY, f64::min),
                rates.fold(0.0, f64::max),
            ),
            p50_ms: pick(|s| s.p50_ms),
            p99_ms: pick(|s| s.p99_ms),
            errors: samples.iter().map(|s| s.errors).sum(),
            requests: samples.iter().map(|s| s.requests).sum(),
            cpu_us: pick(|s| s.cpu_us_per_req),
            standin_pct: pick(|s| s.standin_cpu_pct),
        }
    }
}

fn exchange(load: &LoadResults, contender: Contender) -> Option<Figures> {
    load.row(0, contender).map(|row| Figures::of(&row.samples))
}

fn browser_medians(result: &ContenderResult) -> (f64, f64) {
    (
        median(result.job_us.iter().copied()),
        median(result.cold_ms.iter().copied()),
    )
}

fn targets(md: &mut String, load: &LoadResults, browser: &[ContenderResult], sizes: &Sizes) {
    md.push_str(
        "\n## Targets\n\n| target | figure | target value | verdict |\n|---|---|---|---|\n",
    );
    let route = &load.scenarios[0].route;
    if let (Some(rust), Some(js)) = (
        exchange(load, Contender::RustWorker),
        exchange(load, Contender::JsWorker),
    ) {
        let _ = writeln!(
            md,
            "| worker CPU per `{route}`, at most the JS Worker's | {:.0} µs | ≤ {:.0} µs | {} |",
            rust.cpu_us,
            js.cpu_us,
            verdict(rust.cpu_us <= js.cpu_us)
        );
        let _ = writeln!(
            md,
            "| worker throughput on `{route}`, at least the JS Worker's | {:.0} req/s | ≥ {:.0} req/s | {} |",
            rust.req_per_sec,
            js.req_per_sec,
            verdict(rust.req_per_sec >= js.req_per_sec)
        );
    }
    let _ = writeln!(
        md,
        "| sign-in module, gzip (entry + wasm) | {} | ≤ {} | {} |",
        kib(sizes.sign_in_module),
        kib(SIGN_IN_MODULE_GZIP),
        verdict(sizes.sign_in_module <= SIGN_IN_MODULE_GZIP)
    );
    let _ = writeln!(
        md,
        "| whole browser kit, gzip (www/pkg's .js and .wasm) | {} | ≤ {} | {} |",
        kib(sizes.browser_kit),
        kib(BROWSER_KIT_GZIP),
        verdict(sizes.browser_kit <= BROWSER_KIT_GZIP)
    );
    let named = |name: &str| browser.iter().find(|r| r.name == name).map(browser_medians);
    if let (Some((xauth_job, xauth_cold)), Some((plain_job, plain_cold))) =
        (named("xauth"), named("plain"))
    {
        let speedup = plain_job / xauth_job;
        let _ = writeln!(
            md,
            "| sign-in job, speed-up over plain JS + sessionStorage | {speedup:.2}x ({xauth_job:.1} vs {plain_job:.1} µs) | ≥ {JOB_SPEEDUP}x | {} |",
            verdict(speedup >= JOB_SPEEDUP)
        );
        let delta = xauth_cold - plain_cold;
        let _ = writeln!(
            md,
            "| cold start to the first link, beside plain JS | {delta:+.1} ms ({xauth_cold:.1} vs {plain_cold:.1} ms) | ≤ +{COLD_START_MARGIN_MS} ms | {} |",
            verdict(delta <= COLD_START_MARGIN_MS)
        );
    }
}

fn worker(md: &mut String, load: &LoadResults) {
    md.push_str(
        "\n## Worker\n\nEach contender in its own process: workerd (`workerd serve`, a generated \
         config) or Node, against the same stand-in for X (bench/x-standin.mjs). CPU is the \
         serving process tree's user+sys (/proc) over the requests served; the stand-in's CPU \
         is in % of one core (near 100 it would be the bottleneck). Errors: socket errors and \
         answers >= 400, summed over the rounds.\n\n\
         | route | contender | req/s (range) | p50 ms | p99 ms | errors / requests | CPU µs/req | stand-in CPU | target |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let js = exchange(load, Contender::JsWorker);
    for (index, scenario) in load.scenarios.iter().enumerate() {
        // Only who serves the row: the route is named on its first line.
        let served = load
            .contenders
            .iter()
            .filter_map(|&contender| Some((contender, load.row(index, contender)?)));
        for (line, (contender, row)) in served.enumerate() {
            let route = if line == 0 {
                format!("`{}`", scenario.route)
            } else {
                String::new()
            };
            let f = Figures::of(&row.samples);
            let target = match (&js, index, contender) {
                (Some(js), 0, Contender::RustWorker) => format!(
                    "CPU ≤ {:.0}: {}; req/s ≥ {:.0}: {}",
                    js.cpu_us,
                    verdict(f.cpu_us <= js.cpu_us),
                    js.req_per_sec,
                    verdict(f.req_per_sec >= js.req_per_sec)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| {route} | {} | {:.0} ({:.0}–{:.0}) | {:.1} | {:.1} | {} / {} | {:.0} | {:.0}% | {target} |",
                contender.label(),
                f.req_per_sec,
                f.req_per_sec_range.0,
                f.req_per_sec_range.1,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                f.requests,
                f.cpu_us,
                f.standin_pct,
            );
        }
    }
    md.push('\n');
    for scenario in &load.scenarios {
        let _ = writeln!(md, "- `{}`: {}", scenario.route, scenario.note);
    }
    compared(md, load);
}

/// Each row measured against another (worker custody against browser custody): what its
/// extra step costs, per contender that served both.
fn compared(md: &mut String, load: &LoadResults) {
    let mut lines = Vec::new();
    for (index, scenario) in load.scenarios.iter().enumerate() {
        let Some(other) = scenario.compared_to else {
            continue;
        };
        for &contender in &load.contenders {
            let (Some(row), Some(other_row)) =
                (load.row(index, contender), load.row(other, contender))
            else {
                continue;
            };
            let (a, b) = (Figures::of(&row.samples), Figures::of(&other_row.samples));
            lines.push(format!(
                "- `{}` over `{}`, {}: CPU {:+.0} µs per request ({:.0} vs {:.0}), p50 {:+.1} ms \
                 ({:.1} vs {:.1}), p99 {:+.1} ms ({:.1} vs {:.1}), {:.0} vs {:.0} req/s",
                scenario.route,
                load.scenarios[other].route,
                contender.label(),
                a.cpu_us - b.cpu_us,
                a.cpu_us,
                b.cpu_us,
                a.p50_ms - b.p50_ms,
                a.p50_ms,
                b.p50_ms,
                a.p99_ms - b.p99_ms,
                a.p99_ms,
                b.p99_ms,
                a.req_per_sec,
                b.req_per_sec,
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    md.push_str(
        "\nWhat a row's extra step costs, measured (medians of the rounds; the CPU is the whole \
         workerd process, the Durable Object included; latencies are under the load's 32 \
         connections, where p99 follows the process's pauses more than the request's own \
         work, so p50 is the steadier figure):\n\n",
    );
    for line in lines {
        md.push_str(&line);
        md.push('\n');
    }
}

fn browser_table(md: &mut String, browser: &[ContenderResult]) -> Result<()> {
    md.push_str(
        "\n## Browser\n\nThe sign-in job: PKCE verifier + S256 challenge + state + X's authorize \
         URL + the pending record in sessionStorage, each contender checked once for a valid \
         link. Cold start: per sample a new Chromium with a fresh profile (empty caches) which, \
         once settled, navigates to the page: navigation start to the first link in hand. Ships: \
         the files the cold page loaded for the contender, gzip -9 (bench/page/contenders/*.js \
         bundled and minified by esbuild, www/pkg as `cargo xtask build` makes it).\n\n\
         | contender | sign-in job µs | speed-up over plain JS | cold start ms | beside plain JS | ships (gzip) | files loaded |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let plain = browser
        .iter()
        .find(|r| r.name == "plain")
        .map(browser_medians);
    for result in browser {
        let (job, cold) = browser_medians(result);
        let (speedup, delta) = match plain {
            Some((plain_job, plain_cold)) => (
                format!("{:.2}x", plain_job / job),
                format!("{:+.1} ms", cold - plain_cold),
            ),
            None => (String::new(), String::new()),
        };
        let mut gzip = 0;
        let mut files = Vec::new();
        for (path, file) in &result.shipped {
            let bytes = fs::read(file).context(format!("reading {}", file.display()))?;
            let size = gzip_len(&bytes)?;
            gzip += size;
            files.push(format!("`{path}` {}", kib(size)));
        }
        let _ = writeln!(
            md,
            "| {} | {job:.1} | {speedup} | {cold:.1} | {delta} | {} | {} |",
            result.label,
            kib(gzip),
            files.join(", ")
        );
    }
    Ok(())
}

/// Raw and gzip sizes of every shipped artefact.
struct Sizes {
    rows: Vec<(String, u64, u64, &'static str)>,
    sign_in_module: u64,
    browser_kit: u64,
}

impl Sizes {
    fn measure(project: &Project) -> Result<Sizes> {
        let mut pkg: Vec<String> = fs::read_dir(project.path(WEB_PKG_DIR))
            .context(format!("listing {WEB_PKG_DIR} (run `cargo xtask build`)"))?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .map(|name| format!("{WEB_PKG_DIR}/{name}"))
            .collect();
        pkg.sort();
        let loaded = |file: &str| file.ends_with(".js") || file.ends_with(".wasm");
        let mut sizes = Sizes {
            rows: Vec::new(),
            sign_in_module: 0,
            browser_kit: 0,
        };
        let files = pkg
            .iter()
            .map(String::as_str)
            .chain(DEMO_FILES.iter().copied())
            .chain([WORKER_JS, WORKER_WASM]);
        for file in files {
            let bytes = fs::read(project.path(file)).context(format!("reading {file}"))?;
            let (raw, gzip) = (bytes.len() as u64, gzip_len(&bytes)?);
            let in_pkg = file.starts_with(WEB_PKG_DIR);
            let note = if SIGN_IN_MODULE.contains(&file) {
                "browser: sign-in module"
            } else if in_pkg && loaded(file) {
                "browser: keeper module or OAuth 1.0a (loaded when used)"
            } else if in_pkg {
                "types, never loaded"
            } else if Path::new(file).starts_with("www") {
                "demo page"
            } else {
                "worker (Cloudflare's free-plan limit: 3 MiB gzip)"
            };
            if SIGN_IN_MODULE.contains(&file) {
                sizes.sign_in_module += gzip;
            }
            if in_pkg && loaded(file) {
                sizes.browser_kit += gzip;
            }
            sizes.rows.push((file.to_owned(), raw, gzip, note));
        }
        Ok(sizes)
    }

    fn table(&self, md: &mut String) {
        md.push_str(
            "\n## Sizes\n\nEvery shipped artefact, gzip -9 (as `cargo xtask size`).\n\n\
             | artefact | raw | gzip | what |\n|---|---|---|---|\n",
        );
        for (file, raw, gzip, note) in &self.rows {
            let _ = writeln!(md, "| `{file}` | {} | {} | {note} |", kib(*raw), kib(*gzip));
        }
    }
}
