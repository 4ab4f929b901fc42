//! The built worker in the workerd runtime started directly from a generated capnp config,
//! without `wrangler dev`: for what wrangler cannot set up, such as several instances of
//! the worker (separate isolates, as on separate Cloudflare machines) bound to one Durable
//! Object namespace.
//!
//! Environment: as [`crate::Worker`] (`XAUTH_ROOT`); the workerd binary is the one npm
//! installed for wrangler, `node_modules/@cloudflare/workerd-linux-64/bin/workerd`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{http_request, root};

/// The class and unique key of worker custody's Durable Object namespace.
const VAULT_CLASS: &str = "GrantVault";
const VAULT_BINDING: &str = "XAUTH_GRANTS";

/// One workerd process serving the built worker as several services, one per port, each
/// its own isolate. The first declares the `GrantVault` namespace (stored on disk in a
/// temporary directory); the others bind to it, so every instance reaches the same object
/// per user.
pub struct Workerd {
    urls: Vec<String>,
    child: Child,
    dir: tempfile::TempDir,
}

impl Workerd {
    /// The built worker as one instance per port in `ports`, all with `vars`. Waits (up to
    /// 60 s) until each answers HTTP; panics with workerd's output if one does not.
    pub fn start_instances<K, V>(ports: &[u16], vars: &BTreeMap<K, V>) -> Workerd
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let root = root();
        let dir = tempfile::Builder::new()
            .prefix("xauth-workerd-")
            .tempdir()
            .expect("a temporary directory");
        for file in ["index.js", "index_bg.wasm"] {
            let built = root.join("crates/xauth-worker/build").join(file);
            fs::copy(&built, dir.path().join(file)).unwrap_or_else(|err| {
                panic!("{}: {err} (run `cargo xtask build` first)", built.display())
            });
        }
        fs::create_dir(dir.path().join("vault-storage")).expect("a storage directory");
        let config = dir.path().join("config.capnp");
        fs::write(&config, capnp_config(ports, vars)).expect("write the workerd config");
        let log = fs::File::create(dir.path().join("workerd.log")).expect("a log file");
        let child = Command::new(workerd_binary(&root))
            .arg("serve")
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start workerd");
        let mut workerd = Workerd {
            urls: ports
                .iter()
                .map(|port| format!("http://127.0.0.1:{port}"))
                .collect(),
            child,
            dir,
        };
        for port in ports {
            workerd.wait_until_ready(SocketAddr::from(([127, 0, 0, 1], *port)));
        }
        workerd
    }

    /// `http://127.0.0.1:<port>` of instance `index`.
    pub fn base_url(&self, index: usize) -> &str {
        &self.urls[index]
    }

    /// What workerd printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.path().join("workerd.log")).unwrap_or_default()
    }

    fn wait_until_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("workerd exited ({status}):\n{}", self.output());
            }
            if http_request(addr, "GET", "/twitter-config", &[], "").is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "workerd did not answer on {addr} within 60 s:\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// npm's workerd, the one wrangler runs.
fn workerd_binary(root: &Path) -> PathBuf {
    let binary = root.join("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo xtask setup`",
        binary.display()
    );
    binary
}

/// The capnp config: one service and socket per port, and a network service that lets the
/// worker reach X's stand-in on 127.0.0.1.
fn capnp_config<K: AsRef<str>, V: AsRef<str>>(ports: &[u16], vars: &BTreeMap<K, V>) -> String {
    let mut config = String::from("using Workerd = import \"/workerd/workerd.capnp\";\n\n");
    config.push_str("const config :Workerd.Config = (\n  services = [\n");
    for index in 0..ports.len() {
        let _ = writeln!(
            config,
            "    (name = \"xauth{index}\", worker = .worker{index}),"
        );
    }
    config.push_str(
        "    (name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"])),\n",
    );
    // On disk, as in production: an idle object is evicted from memory, and must find its
    // storage again when it comes back.
    config.push_str(
        "    (name = \"vault-storage\", disk = (path = \"vault-storage\", writable = true)),\n",
    );
    config.push_str("  ],\n  sockets = [\n");
    for (index, port) in ports.iter().enumerate() {
        let _ = writeln!(
            config,
            "    (name = \"xauth{index}\", address = \"127.0.0.1:{port}\", http = (), service = \"xauth{index}\"),"
        );
    }
    config.push_str("  ],\n);\n");
    for index in 0..ports.len() {
        let _ = write!(
            config,
            "\nconst worker{index} :Workerd.Worker = (\n  modules = [\n    \
             (name = \"index.js\", esModule = embed \"index.js\"),\n    \
             (name = \"index_bg.wasm\", wasm = embed \"index_bg.wasm\"),\n  ],\n  \
             compatibilityDate = \"2025-09-01\",\n  globalOutbound = \"internet\",\n  bindings = [\n"
        );
        for (name, value) in vars {
            let _ = writeln!(
                config,
                "    (name = {}, text = {}),",
                capnp_string(name.as_ref()),
                capnp_string(value.as_ref())
            );
        }
        if index == 0 {
            let _ = write!(
                config,
                "    (name = \"{VAULT_BINDING}\", durableObjectNamespace = \"{VAULT_CLASS}\"),\n  ],\n  \
                 durableObjectNamespaces = [(className = \"{VAULT_CLASS}\", uniqueKey = \"xauth-test-vault\", enableSql = true)],\n  \
                 durableObjectStorage = (localDisk = \"vault-storage\"),\n);\n"
            );
        } else {
            let _ = write!(
                config,
                "    (name = \"{VAULT_BINDING}\", durableObjectNamespace = (className = \"{VAULT_CLASS}\", serviceName = \"xauth0\")),\n  ],\n);\n"
            );
        }
    }
    config
}

/// A capnp text literal.
fn capnp_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capnp_strings_are_escaped() {
        assert_eq!(capnp_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
