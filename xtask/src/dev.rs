//! `cargo xtask dev`: build, then run the X emulator and `wrangler dev` side by side until
//! Ctrl-C (or until either one exits), then stop both.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::build;
use crate::cmd;
use crate::error::{Context, Result};
use crate::project::{EMULATOR_PORT, Project, Tools, WORKER_PORT};

/// `xauth_emulator::DEFAULT_CLIENT_SECRET`, repeated here so xtask does not depend on
/// (and compile) the emulator crate.
const EMULATOR_DEMO_SECRET: &str = "xauth-demo-secret";

pub fn run(project: &Project, tools: &Tools) -> Result<()> {
    build::run(project, tools)?;
    let mut children = Vec::new();
    if let Some(emulator) = start_emulator(project, tools)? {
        children.push(("xauth-emulator", emulator));
    }
    let mut wrangler = tools.command(tools.node_bin("wrangler"));
    wrangler.args([
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        &WORKER_PORT.to_string(),
    ]);
    // The emulator registers a confidential demo client; its (public, made-up) secret is
    // what the worker must send. A .dev.vars of your own (say, for real X) wins.
    if !children.is_empty() && !project.path(".dev.vars").exists() {
        wrangler.args([
            "--var",
            &format!("TWITTER_CLIENT_SECRET:{EMULATOR_DEMO_SECRET}"),
        ]);
    }
    let wrangler = wrangler.spawn().context("starting wrangler dev")?;
    children.push(("wrangler dev", wrangler));

    println!(
        "\nxauth: http://127.0.0.1:{WORKER_PORT}/  (X emulator: http://127.0.0.1:{EMULATOR_PORT}/)"
    );
    println!("Ctrl-C stops both.\n");
    interrupt::catch_ctrl_c();
    wait_until_interrupted_or_exit(&mut children);
    stop_all(&mut children);
    Ok(())
}

/// The emulator is optional for `dev` (the worker can point at real X): a failed build is a
/// warning, not the end.
fn start_emulator(project: &Project, tools: &Tools) -> Result<Option<Child>> {
    if let Err(e) = cmd::run(
        tools
            .cargo()
            .args(["build", "--release", "-p", "xauth-emulator"]),
    ) {
        eprintln!("warning: {e}; running without the emulator");
    }
    let binary = project.target_dir.join("release/xauth-emulator");
    if !binary.is_file() {
        return Ok(None);
    }
    let child = tools
        .command(&binary)
        .args(["--port", &EMULATOR_PORT.to_string()])
        .spawn()
        .context("starting xauth-emulator")?;
    Ok(Some(child))
}

fn wait_until_interrupted_or_exit(children: &mut [(&str, Child)]) {
    loop {
        if interrupt::happened() {
            return;
        }
        for (name, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                println!("{name} exited ({status}); stopping the rest");
                return;
            }
        }
        sleep(Duration::from_millis(200));
    }
}

/// SIGINT first, so wrangler can stop its workerd child; SIGKILL after a grace period.
fn stop_all(children: &mut [(&str, Child)]) {
    for (_, child) in children.iter_mut() {
        if matches!(child.try_wait(), Ok(None)) {
            let _ = cmd::succeeds(Command::new("kill").args(["-INT", &child.id().to_string()]));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (name, child) in children.iter_mut() {
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(100));
        }
        if matches!(child.try_wait(), Ok(None)) {
            eprintln!("{name} did not stop in time; killing it");
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Ctrl-C sends SIGINT to the whole foreground process group, children included. Without a
/// handler we would die at once and leave them to finish on their own; with it we wait for
/// them and can stop whichever one did not get the signal.
mod interrupt {
    use super::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    extern "C" fn on_signal(_: i32) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }

    pub fn catch_ctrl_c() {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
        }
    }

    pub fn happened() -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}
