//! `cargo xtask fuzz [--secs N]`: every cargo-fuzz target in `fuzz/` for N seconds, and the
//! short smoke run of each that `cargo xtask test` makes.
//!
//! The targets build with nightly (libFuzzer's instrumentation needs it) and cargo-fuzz,
//! both installed here when missing, so a fresh clone needs nothing by hand. They are built
//! without AddressSanitizer: the project's crates forbid `unsafe`, so it would find nothing
//! the assertions and Rust's own checks (debug assertions and overflow checks stay on) do
//! not, at twice the build time and half the speed.
//!
//! The committed corpus (`fuzz/corpus/<target>/`) is read, never rewritten by a run: new
//! inputs go to a scratch corpus under `fuzz/target/` (kept, so runs build on each other).
//! A full run then merges into the committed corpus only the inputs that reach code it
//! does not (libFuzzer's `-merge=1`, by edges), for a developer to commit; the smoke run
//! leaves the repository as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd;
use crate::error::{Context, Result, bail};
use crate::project::{self, Project};
use crate::setup::{installed_version, installing, present};

/// Seconds per target of `cargo xtask fuzz` without `--secs`.
pub const DEFAULT_SECS: u64 = 60;
/// Seconds per target of the smoke run in `cargo xtask test`.
const SMOKE_SECS: u64 = 3;
/// Pinned like worker-build: the version checked here (`cargo install` picks 0.13.2).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const FUZZ_DIR: &str = "fuzz";
/// Where runs keep what they find, apart from the committed corpus (git-ignored).
const SCRATCH_DIR: &str = "fuzz/target/xtask";
/// The build every command here uses; `cargo fuzz run` rebuilds unless it is the same.
const BUILD_FLAGS: [&str; 2] = ["--sanitizer", "none"];

/// `--secs N` (or nothing): the seconds per target.
pub fn parse_secs(args: &[String]) -> Result<u64> {
    match args {
        [] => Ok(DEFAULT_SECS),
        [flag, secs] if flag == "--secs" => match secs.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(secs),
            _ => bail!("--secs takes a whole number of seconds above 0, not `{secs}`"),
        },
        _ => bail!("usage: cargo xtask fuzz [--secs N]"),
    }
}

/// `cargo xtask fuzz`: each target for `secs` seconds, then its new coverage merged into
/// the committed corpus. Any crash fails the command, naming the input that caused it.
pub fn run(project: &Project, secs: u64) -> Result<()> {
    let started = Instant::now();
    let fuzz = Fuzz::prepare(project)?;
    println!("== fuzz: {} targets, {secs} s each", fuzz.targets.len());
    let mut runs = Vec::new();
    for target in &fuzz.targets {
        let scratch = fuzz.scratch(target, "corpus")?;
        let stats = fuzz.run(target, &scratch, secs)?;
        let added = fuzz.merge(target, &scratch)?;
        println!(
            "fuzz: {target}: {} executions ({}/s), {added} new corpus inputs",
            stats.executions, stats.per_second
        );
        runs.push((target.as_str(), stats, added));
    }
    let total: u64 = runs.iter().map(|(_, stats, _)| stats.executions).sum();
    println!("\n== fuzz summary");
    for (target, stats, added) in &runs {
        println!(
            "  {target:<18} {:>12} executions {:>8}/s {added:>5} new inputs",
            stats.executions, stats.per_second
        );
    }
    println!(
        "  {:<18} {total:>12} executions, no crash, in {:.0} s",
        "total",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The smoke run of `cargo xtask test`: the fuzz crate's formatting (it is outside the
/// workspace `cargo fmt --all` checks), then each target for a few seconds from the
/// committed corpus; nothing is written into the repository.
pub fn smoke(project: &Project) -> Result<()> {
    cmd::run(
        Command::new(project::cargo_program())
            .args(["fmt", "--manifest-path"])
            .arg(project.path("fuzz/Cargo.toml"))
            .args(["--", "--check"]),
    )?;
    let fuzz = Fuzz::prepare(project)?;
    let mut total = 0;
    for target in &fuzz.targets {
        let scratch = fuzz.scratch(target, "smoke")?;
        let stats = fuzz.run(target, &scratch, SMOKE_SECS)?;
        println!("fuzz: {target}: {} executions, no crash", stats.executions);
        total += stats.executions;
    }
    println!(
        "fuzz: {} targets, {total} executions, no crash",
        fuzz.targets.len()
    );
    Ok(())
}

struct Fuzz {
    root: PathBuf,
    targets: Vec<String>,
}

struct Stats {
    executions: u64,
    per_second: u64,
}

impl Fuzz {
    /// Nightly and cargo-fuzz present, the targets listed and built.
    fn prepare(project: &Project) -> Result<Fuzz> {
        ensure_nightly()?;
        ensure_cargo_fuzz()?;
        let mut fuzz = Fuzz {
            root: project.root.clone(),
            targets: Vec::new(),
        };
        let listed = cmd::read(fuzz.cargo_fuzz().arg("list"))?;
        fuzz.targets = listed.lines().map(str::to_owned).collect();
        if fuzz.targets.is_empty() {
            bail!("`cargo fuzz list` found no target in {FUZZ_DIR}/");
        }
        let started = Instant::now();
        cmd::run(fuzz.cargo_fuzz().arg("build").args(BUILD_FLAGS))?;
        println!(
            "fuzz: built {} targets in {:.0} s",
            fuzz.targets.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(fuzz)
    }

    /// `cargo +nightly fuzz` from the repository root, quiet about cargo's progress.
    fn cargo_fuzz(&self) -> Command {
        let mut command = Command::new("rustup");
        command
            .args(["run", "nightly", "cargo", "fuzz"])
            .current_dir(&self.root)
            // The stable cargo that runs xtask must not stand in for nightly's.
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .env_remove("RUSTUP_TOOLCHAIN");
        command
    }

    /// An empty scratch folder for `target` (`kind`: a full run's corpus, or a smoke run's).
    fn scratch(&self, target: &str, kind: &str) -> Result<PathBuf> {
        let dir = self.root.join(SCRATCH_DIR).join(kind).join(target);
        if kind == "smoke" && dir.exists() {
            fs::remove_dir_all(&dir).context(format!("emptying {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    fn corpus(&self, target: &str) -> PathBuf {
        self.root.join(FUZZ_DIR).join("corpus").join(target)
    }

    /// Runs `target` for `secs` seconds: new inputs go to `scratch`, the committed corpus
    /// is read. libFuzzer's output goes to a log; on a crash its end is shown with the
    /// input that caused it.
    fn run(&self, target: &str, scratch: &Path, secs: u64) -> Result<Stats> {
        let corpus = self.corpus(target);
        fs::create_dir_all(&corpus).context(format!("creating {}", corpus.display()))?;
        let log_path = self.root.join(SCRATCH_DIR).join(format!("{target}.log"));
        let log =
            fs::File::create(&log_path).context(format!("creating {}", log_path.display()))?;
        let mut command = self.cargo_fuzz();
        command
            .args(["run", target])
            .args(BUILD_FLAGS)
            .arg(scratch)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            .arg("-print_final_stats=1")
            .stdout(log.try_clone()?)
            .stderr(log);
        println!("$ {}", cmd::display(&command));
        let status = command.status().context("starting cargo fuzz run")?;
        let output = fs::read_to_string(&log_path).unwrap_or_default();
        if !status.success() {
            // From the panic (or libFuzzer's report) on, else the end of the log.
            let lines: Vec<&str> = output.lines().collect();
            let from = lines
                .iter()
                .position(|line| line.contains("panicked at") || line.contains("ERROR: "))
                .unwrap_or(lines.len().saturating_sub(20));
            let tail = lines.get(from..).unwrap_or_default();
            let tail = tail.get(..tail.len().min(12)).unwrap_or_default();
            let artifact = output
                .lines()
                .find_map(|line| {
                    line.split_once("Test unit written to ")
                        .map(|(_, path)| path)
                })
                .map(|path| self.root.join(path.trim()));
            bail!(
                "fuzz target `{target}` failed ({status}):\n{}\n\ncrashing input: {}\n\
                 reproduce: cargo +nightly fuzz run {target} {} <that file>\n\
                 full log: {}",
                tail.join("\n"),
                artifact.map_or("none written (see the log)".to_owned(), |p| p
                    .display()
                    .to_string()),
                BUILD_FLAGS.join(" "),
                log_path.display()
            );
        }
        let stat = |name: &str| {
            output
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        match stat("stat::number_of_executed_units:") {
            Some(executions) => Ok(Stats {
                executions,
                per_second: stat("stat::average_exec_per_sec:").unwrap_or(0),
            }),
            None => bail!(
                "fuzz target `{target}` printed no statistics; see {}",
                log_path.display()
            ),
        }
    }

    /// Adds to the committed corpus the inputs of `scratch` that reach code it does not;
    /// returns how many.
    fn merge(&self, target: &str, scratch: &Path) -> Result<usize> {
        let corpus = self.corpus(target);
        let before = files_in(&corpus)?;
        cmd::read(
            self.cargo_fuzz()
                .args(["run", target])
                .args(BUILD_FLAGS)
                .arg(&corpus)
                .arg(scratch)
                // Edges only (no hit counts, no comparison operands): the committed
                // corpus keeps every branch reached at a tenth of the files.
                .args(["--", "-merge=1", "-use_counters=0", "-use_cmp=0"]),
        )?;
        Ok(files_in(&corpus)?.saturating_sub(before))
    }
}

fn files_in(dir: &Path) -> Result<usize> {
    Ok(fs::read_dir(dir)
        .context(format!("reading {}", dir.display()))?
        .count())
}

/// cargo-fuzz drives the nightly compiler; a minimal profile is all it needs.
fn ensure_nightly() -> Result<()> {
    let what = "rust nightly (for cargo-fuzz)";
    let toolchains = cmd::read(Command::new("rustup").args(["toolchain", "list"]))?;
    if toolchains.lines().any(|line| line.starts_with("nightly-")) {
        present(what);
        return Ok(());
    }
    installing(what);
    cmd::run(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]))
}

fn ensure_cargo_fuzz() -> Result<()> {
    let what = format!("cargo-fuzz {CARGO_FUZZ_VERSION}");
    let binary = project::cargo_bin_dir().join("cargo-fuzz");
    if installed_version(&binary).as_deref() == Some(CARGO_FUZZ_VERSION) {
        present(&what);
        return Ok(());
    }
    installing(&what);
    cmd::run(
        Command::new(project::cargo_program())
            .args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION])
            .args(["--locked", "--force"])
            .stdin(Stdio::null()),
    )?;
    match installed_version(&binary) {
        Some(version) if version == CARGO_FUZZ_VERSION => Ok(()),
        other => bail!(
            "after installing, {} reports version {other:?}",
            binary.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_the_seconds() {
        assert_eq!(parse_secs(&args(&[])).unwrap(), DEFAULT_SECS);
        assert_eq!(parse_secs(&args(&["--secs", "3"])).unwrap(), 3);
        for bad in [
            &["--secs"][..],
            &["--secs", "0"],
            &["--secs", "-1"],
            &["--secs", "x"],
            &["3"],
            &["--secs", "3", "x"],
        ] {
            assert!(parse_secs(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
