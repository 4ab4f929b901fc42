//! The built worker in the workerd runtime started directly from a generated capnp config,
//! without `wrangler dev`: for what wrangler cannot set up, such as several instances of
//! the worker (separate isolates, as on separate Cloudflare machines) bound to one Durable
//! Object namespace.
//!
//! Beside the instances, a [`Companion`] is another Worker (one JS module) with a service
//! binding to the first instance, as another Worker of the same Cloudflare account would
//! bind to xauth: see `examples/service-binding/`.
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

/// A JS Worker served beside the instances, on its own port, with text variables and a
/// service binding to the first instance (`xauth0`). It has no network of its own: what it
/// reaches, it reaches through the binding.
pub struct Companion<'a> {
    /// The Worker's ES module.
    pub script: &'a Path,
    /// The port of its socket on 127.0.0.1.
    pub port: u16,
    /// The name of its binding to xauth (`[[services]] binding` in its wrangler.toml).
    pub binding: &'a str,
    /// Its text variables.
    pub vars: BTreeMap<String, String>,
}

impl Workerd {
    /// The built worker as one instance per port in `ports`, all with `vars`. Waits (up to
    /// 60 s) until each answers HTTP; panics with workerd's output if one does not.
    pub fn start_instances<K, V>(ports: &[u16], vars: &BTreeMap<K, V>) -> Workerd
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Workerd::start_with_companion(ports, vars, None)
    }

    /// [`Workerd::start_instances`], plus `companion` (when given) on its own port; its URL
    /// is the last [`Workerd::base_url`], at index `ports.len()`.
    pub fn start_with_companion<K, V>(
        ports: &[u16],
        vars: &BTreeMap<K, V>,
        companion: Option<&Companion>,
    ) -> Workerd
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
        if let Some(companion) = companion {
            fs::copy(companion.script, dir.path().join(COMPANION_MODULE)).unwrap_or_else(|err| {
                panic!("the companion {}: {err}", companion.script.display())
            });
        }
        fs::create_dir(dir.path().join("vault-storage")).expect("a storage directory");
        let config = dir.path().join("config.capnp");
        fs::write(&config, capnp_config(ports, vars, companion)).expect("write the workerd config");
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
        let ports: Vec<u16> = ports
            .iter()
            .copied()
            .chain(companion.map(|c| c.port))
            .collect();
        let mut workerd = Workerd {
            urls: ports
                .iter()
                .map(|port| format!("http://127.0.0.1:{port}"))
                .collect(),
            child,
            dir,
        };
        for port in ports {
            workerd.wait_until_ready(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        workerd
    }

    /// `http://127.0.0.1:<port>` of instance `index` (or of the companion, after them).
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
/// worker reach X's stand-in on 127.0.0.1; and the companion's service and socket, when
/// there is one.
fn capnp_config<K: AsRef<str>, V: AsRef<str>>(
    ports: &[u16],
    vars: &BTreeMap<K, V>,
    companion: Option<&Companion>,
) -> String {
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
    if companion.is_some() {
        config.push_str("    (name = \"companion\", worker = .companion),\n");
        config.push_str("    (name = \"no-network\", network = (allow = [])),\n");
    }
    config.push_str("  ],\n  sockets = [\n");
    for (index, port) in ports.iter().enumerate() {
        let _ = writeln!(
            config,
            "    (name = \"xauth{index}\", address = \"127.0.0.1:{port}\", http = (), service = \"xauth{index}\"),"
        );
    }
    if let Some(companion) = companion {
        let _ = writeln!(
            config,
            "    (name = \"companion\", address = \"127.0.0.1:{}\", http = (), service = \"companion\"),",
            companion.port
        );
    }
    config.push_str("  ],\n);\n");
    if let Some(companion) = companion {
        config.push_str(&companion_worker(companion));
    }
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

/// The companion's module name in the temporary directory.
const COMPANION_MODULE: &str = "companion.js";

/// The companion's worker: its module, its binding to the first instance, its variables,
/// and no network (`no-network`).
fn companion_worker(companion: &Companion) -> String {
    let mut config = format!(
        "\nconst companion :Workerd.Worker = (\n  \
         modules = [(name = \"{COMPANION_MODULE}\", esModule = embed \"{COMPANION_MODULE}\")],\n  \
         compatibilityDate = \"2025-09-01\",\n  globalOutbound = \"no-network\",\n  bindings = [\n    \
         (name = {}, service = \"xauth0\"),\n",
        capnp_string(companion.binding),
    );
    for (name, value) in &companion.vars {
        let _ = writeln!(
            config,
            "    (name = {}, text = {}),",
            capnp_string(name),
            capnp_string(value)
        );
    }
    config.push_str("  ],\n);\n");
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
    fn a_companion_binds_to_the_first_instance_and_has_no_network() {
        let companion = Companion {
            script: Path::new("example.js"),
            port: 4321,
            binding: "XAUTH",
            vars: BTreeMap::from([("TOKEN".to_owned(), "t".to_owned())]),
        };
        let vars: BTreeMap<&str, &str> = BTreeMap::new();
        let config = capnp_config(&[1234], &vars, Some(&companion));
        for line in [
            "(name = \"companion\", worker = .companion),",
            "(name = \"companion\", address = \"127.0.0.1:4321\", http = (), service = \"companion\"),",
            "globalOutbound = \"no-network\",",
            "(name = \"XAUTH\", service = \"xauth0\"),",
            "(name = \"TOKEN\", text = \"t\"),",
        ] {
            assert!(config.contains(line), "{line} in:\n{config}");
        }
        assert!(!capnp_config(&[1234], &vars, None).contains("companion"));
    }

    #[test]
    fn capnp_strings_are_escaped() {
        assert_eq!(capnp_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
