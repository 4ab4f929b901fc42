//! Named, timed steps with a summary: what `cargo xtask test` prints so a CI log says at a
//! glance which step failed and where the time went.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

#[derive(Default)]
pub struct Steps {
    done: Vec<(String, Duration, bool)>,
}

impl Steps {
    /// Run one step; a failure comes back as "step `name` failed: …".
    pub fn run<T>(&mut self, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> step: {name}");
        let started = Instant::now();
        let result = body();
        let elapsed = started.elapsed();
        let ok = result.is_ok();
        println!(
            "<== step: {name}: {} in {}",
            if ok { "ok" } else { "FAILED" },
            seconds(elapsed)
        );
        self.done.push((name.to_owned(), elapsed, ok));
        result.map_err(|e| Error::msg(format!("step `{name}` failed: {e}")))
    }

    pub fn print_summary(&self) {
        println!("\n== summary");
        for (name, elapsed, ok) in &self.done {
            let status = if *ok { "ok" } else { "FAILED" };
            println!("  {status:<6} {:>8}  {name}", seconds(*elapsed));
        }
        let total: Duration = self.done.iter().map(|(_, elapsed, _)| *elapsed).sum();
        println!("  total  {:>8}", seconds(total));
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
