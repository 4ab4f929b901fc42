//! The bench's servers and browsers as child processes: each in its own process group (so
//! stopping it stops whatever it started), its output in a log file, and the CPU time of
//! its process tree read from /proc.

use std::collections::HashMap;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cmd;
use crate::error::{Context, Result, bail};

/// A child process that is stopped (its whole group) when dropped.
pub struct Process {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` in a new process group, stdout and stderr into `log`.
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Result<Process> {
        let out = fs::File::create(log).context(format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .context(format!("starting {name} (`{}`)", cmd::display(command)))?;
        Ok(Process {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        })
    }

    /// Starts a server and waits until it accepts connections on `port`.
    pub fn server(name: &str, command: &mut Command, log: &Path, port: u16) -> Result<Process> {
        let mut process = Process::spawn(name, command, log)?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = process.child.try_wait() {
                bail!(
                    "{name} exited ({status}) before listening:\n{}",
                    process.output()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{name} did not listen on {address} in 30 s:\n{}",
                    process.output()
                );
            }
            sleep(Duration::from_millis(50));
        }
        Ok(process)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The end of what it printed, for error messages.
    pub fn output(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        format!("[{}]\n{}", self.log.display(), &text[start..])
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        for signal in ["TERM", "KILL"] {
            let _ = Command::new("kill")
                .args(["-s", signal, "--", &group])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that is free right now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Clock ticks per second of /proc's times (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks_per_sec() -> f64 {
    cmd::read(Command::new("getconf").arg("CLK_TCK"))
        .ok()
        .and_then(|ticks| ticks.parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU time, in clock ticks, of `root` and every process below it (the
/// threads of a process are counted in its own line of /proc/PID/stat).
pub fn tree_cpu_ticks(root: u32) -> Result<u64> {
    let mut parents: HashMap<u32, u32> = HashMap::new();
    let mut ticks: HashMap<u32, u64> = HashMap::new();
    for entry in fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may end between the listing and the read: it is then not ours to count.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((parent, cpu)) = parse_stat(&stat) {
            parents.insert(pid, parent);
            ticks.insert(pid, cpu);
        }
    }
    if !ticks.contains_key(&root) {
        bail!("process {root} is not running");
    }
    let in_tree = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parents.get(&pid) {
            Some(&parent) if parent != 0 && parent != pid => pid = parent,
            _ => return false,
        }
    };
    Ok(ticks
        .iter()
        .filter(|&(&pid, _)| in_tree(pid))
        .map(|(_, &cpu)| cpu)
        .sum())
}

/// (ppid, utime + stime) from a /proc/PID/stat line. The command name (field 2) is in
/// parentheses and may hold spaces, so the fields are counted after its closing one.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state (field 3), ppid (4), ..., utime (14), stime (15).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parent_and_cpu_from_a_stat_line() {
        let stat = "4242 (work erd) S 17 4242 4242 0 -1 4194560 900 0 0 0 311 29 0 0 20 0 9 0 \
                    1234 5678 90 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((17, 340)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn counts_this_process() {
        assert!(tree_cpu_ticks(std::process::id()).is_ok());
    }
}
