//! `cargo xtask bench`: the project's speed and size beside its targets, as one markdown
//! table, printed and written to target/bench/<time>.md and target/bench/latest.md.
//!
//! - Worker (`load`): the built worker in workerd directly, a JS Worker and a Node server
//!   doing the same exchange, against one stand-in for X; wrk is the load.
//! - Browser (`browser`): the sign-in job and the cold start in headless Chromium, for the
//!   project, plain JS, oauth4webapi and arctic.
//! - Sizes (`report`): every shipped artefact, gzip -9 as `cargo xtask size` measures.
//!
//! Targets are reported (ok / MISS), never asserted: `--smoke`, a step of `cargo xtask
//! test`, only checks that the whole bench runs and writes its table.

mod browser;
mod load;
mod process;
mod report;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::error::{Context, Result, bail};
use crate::project::{Project, Tools};
use crate::{build, cmd, setup};

pub const HELP: &str = "\
usage: cargo xtask bench [--smoke] [--secs N] [--warmup N] [--rounds N] [--connections N]
                         [--jobs N] [--batches N] [--cold N] [--no-build] [--baseline DIR]

  --secs N         seconds of load per row and round (default 5)
  --warmup N       seconds of unmeasured load per row first (default 1)
  --rounds N       load rounds; every row runs once per round (default 3)
  --connections N  wrk's connections (default 32)
  --jobs N         sign-in jobs per browser batch (default 1000)
  --batches N      browser batch rounds per contender (default 5)
  --cold N         cold starts per contender, each in a fresh profile (default 5)
  --no-build       measure what is built now (skip `cargo xtask build`)
  --baseline DIR   also load a worker built earlier (DIR holds a copy of its index.js and
                   index_bg.wasm) beside this one, in the same rounds: before and after
  --smoke          a second of load per row, one small batch, one cold start each:
                   checks that the bench runs (CI); writes target/bench/smoke.md
";

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Options {
    pub smoke: bool,
    pub build: bool,
    pub secs: u32,
    pub warmup_secs: u32,
    pub rounds: u32,
    pub connections: u32,
    pub jobs: u32,
    pub batches: u32,
    pub cold_samples: u32,
    /// How long a cold page lets the new browser settle before it navigates to itself
    /// and starts the clock.
    pub settle_ms: u32,
    /// A copy of an earlier worker build (`index.js`, `index_bg.wasm`), measured beside
    /// the current one in every row the worker serves.
    pub baseline: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            smoke: false,
            build: true,
            secs: 5,
            warmup_secs: 1,
            rounds: 3,
            connections: 32,
            jobs: 1000,
            batches: 5,
            cold_samples: 5,
            settle_ms: 1000,
            baseline: None,
        }
    }
}

impl Options {
    pub fn smoke() -> Options {
        Options {
            smoke: true,
            secs: 1,
            warmup_secs: 0,
            rounds: 1,
            jobs: 50,
            batches: 1,
            cold_samples: 1,
            settle_ms: 300,
            ..Options::default()
        }
    }

    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = if args.iter().any(|arg| arg == "--smoke") {
            Options::smoke()
        } else {
            Options::default()
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u32> {
                let value = args.next().map(String::as_str).unwrap_or_default();
                match value.parse::<u32>() {
                    Ok(n) if n > 0 || name == "--warmup" => Ok(n),
                    _ => bail!("{name} wants a positive number, got `{value}`\n\n{HELP}"),
                }
            };
            match arg.as_str() {
                "--smoke" => {}
                "--no-build" => options.build = false,
                "--secs" => options.secs = number(arg)?,
                "--warmup" => options.warmup_secs = number(arg)?,
                "--rounds" => options.rounds = number(arg)?,
                "--connections" => options.connections = number(arg)?,
                "--jobs" => options.jobs = number(arg)?,
                "--batches" => options.batches = number(arg)?,
                "--cold" => options.cold_samples = number(arg)?,
                "--baseline" => match args.next() {
                    Some(dir) => options.baseline = Some(PathBuf::from(dir)),
                    None => bail!("--baseline wants a directory\n\n{HELP}"),
                },
                other => bail!("unknown bench option `{other}`\n\n{HELP}"),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask bench [options]`: setup, build, measure.
pub fn run(project: &Project, args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        print!("{HELP}");
        return Ok(());
    }
    let options = Options::parse(args)?;
    let tools = setup::run(project, setup::Needs::Everything)?;
    if options.build {
        build::run(project, &tools)?;
    }
    measure(project, &tools, &options).map(drop)
}

/// The smoke run of `cargo xtask test` (the build is already done): the bench runs end to
/// end and writes a table. No target is asserted.
pub fn smoke(project: &Project, tools: &Tools) -> Result<()> {
    let table = measure(project, tools, &Options::smoke())?;
    let written = fs::read_to_string(&table).context(format!("reading {}", table.display()))?;
    if !written.contains("## Worker") || !written.contains("## Browser") {
        bail!("{} lacks a section", table.display());
    }
    Ok(())
}

/// Measures everything, prints the table and writes it; the file written.
fn measure(project: &Project, tools: &Tools, options: &Options) -> Result<PathBuf> {
    let started = Instant::now();
    let out_dir = project.target_dir.join("bench");
    // Scratch space of this run (configs, logs, pages, profiles), kept for a look
    // afterwards and cleared by the next run.
    let run_dir = out_dir.join("run");
    if run_dir.exists() {
        fs::remove_dir_all(&run_dir).context(format!("clearing {}", run_dir.display()))?;
    }
    fs::create_dir_all(&run_dir)?;
    let machine = report::Machine::probe(project, tools);
    println!(
        "== bench ({})",
        if options.smoke { "smoke" } else { "full" }
    );
    let load = load::run(project, tools, &run_dir, options).context("the worker bench")?;
    let browser = browser::run(project, tools, &run_dir, options).context("the browser bench")?;
    let table = report::render(
        project,
        &report::Inputs {
            machine,
            load_average_end: report::load_average(),
            options,
            load: &load,
            browser: &browser,
            elapsed: started.elapsed(),
        },
    )?;
    println!("\n{table}");
    let written = if options.smoke {
        out_dir.join("smoke.md")
    } else {
        let stamp = cmd::read(Command::new("date").args(["-u", "+%Y-%m-%dT%H-%M-%SZ"]))?;
        let file = out_dir.join(format!("{stamp}.md"));
        fs::write(&file, &table)?;
        out_dir.join("latest.md")
    };
    fs::write(&written, &table).context(format!("writing {}", written.display()))?;
    println!("bench: table written to {}", written.display());
    Ok(written)
}
