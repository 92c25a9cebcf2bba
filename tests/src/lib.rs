//! Helpers for the end-to-end tests: run the real `sigillo` binary as a separate process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers: a panic is the report.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `sigillo` binary built from `orchestrator/` (`SIGILLO_BIN` overrides). The README's test
/// command builds it before running the tests.
pub fn sigillo_bin() -> PathBuf {
    if let Ok(path) = std::env::var("SIGILLO_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let path = target.join("debug/sigillo");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bin sigillo` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A `sigillo` command.
pub fn sigillo() -> Command {
    Command::new(sigillo_bin())
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `$TMP/sigillo-e2e-NAME-PID`.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("sigillo-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `sigillo serve`, killed with SIGKILL on drop.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data directory (`dir/data`).
    pub data: PathBuf,
}

impl Server {
    /// Starts `sigillo serve` on a free loopback port (unless `extra` has `--listen`) with its
    /// data in `dir/data`, and waits until it listens.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::start_logging(dir, extra, None).0
    }

    /// [`Server::start`] with `RUST_LOG=filter` and the logs as JSON lines, one per event,
    /// on the receiver (instead of this process's stderr).
    pub fn start_logging(
        dir: &Path,
        extra: &[&str],
        filter: Option<&str>,
    ) -> (Server, std::sync::mpsc::Receiver<serde_json::Value>) {
        let mut command = sigillo();
        command
            .arg("serve")
            .arg("--data")
            .arg(dir.join("data"))
            .arg("--did-docs")
            .arg(dir.join("did-docs"))
            .args(if extra.contains(&"--listen") {
                &[][..]
            } else {
                &["--listen", "127.0.0.1:0"][..]
            })
            .args(extra)
            .env("RUST_LOG", filter.unwrap_or("warn"))
            .stdout(Stdio::piped());
        if filter.is_some() {
            command
                .env("SIGILLO_LOG_FORMAT", "json")
                .stderr(Stdio::piped());
        } else {
            command.stderr(Stdio::inherit());
        }
        let mut child = command.spawn().expect("sigillo serve starts");
        let (log_sender, logs) = std::sync::mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str(&line) {
                        Ok(event) => {
                            let _ = log_sender.send(event);
                        }
                        // Not an event (a panic, say): shown as it came.
                        Err(_) => eprintln!("{line}"),
                    }
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("sigillo listening on ") {
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("sigillo serve prints its address");
        let server = Server {
            child,
            url,
            data: dir.join("data"),
        };
        (server, logs)
    }

    /// `sigillo stamp --url URL` with the operator's token.
    pub fn stamp(&self) -> Command {
        let mut command = sigillo();
        command
            .args(["stamp", "--url", &self.url])
            .env("SIGILLO_TOKEN", self.token("operator"));
        command
    }

    /// A new token made with `sigillo tokens create` (the service picks it up at once).
    pub fn create_token(&self, name: &str, role: &str, scope: &str) -> String {
        let output = sigillo()
            .args(["tokens", "create", "--data"])
            .arg(&self.data)
            .args(["--name", name, "--role", role, "--scope", scope])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// The bearer token named `name` that the first start wrote to
    /// `data/access/new-tokens.txt`: `operator`, `platform`, `auditor`, or an issuer's id.
    pub fn token(&self, name: &str) -> String {
        new_token(&self.data, name)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The bearer token named `name` in `data/access/new-tokens.txt`.
pub fn new_token(data: &Path, name: &str) -> String {
    let path = data.join("access/new-tokens.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no token named {name} in {}", path.display()))
        .to_owned()
}

/// A running `sigillo registries`, killed on drop.
pub struct Registries {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Registries {
    /// Starts `sigillo registries` with `population` families from `seed`, 5 ms per answer.
    pub fn start(seed: u64, population: usize) -> Registries {
        let port = free_port();
        let mut child = sigillo()
            .args(["registries", "--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--seed",
                &seed.to_string(),
                "--population",
                &population.to_string(),
            ])
            .args(["--latency-ms", "5"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.starts_with("registries listening on"), "{first}");
        std::thread::spawn(move || lines.for_each(drop));
        Registries {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Sets a registry's faults (`PUT /admin/faults/{registry}`).
    pub fn fault(&self, registry: &str, fault: serde_json::Value) {
        let response = reqwest::blocking::Client::new()
            .put(format!("{}/admin/faults/{registry}", self.url))
            .json(&fault)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

impl Drop for Registries {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A tool that `scripts/interop/install.sh` installs under `scripts/interop/` (such as
/// `node_modules/.bin/anvil` or `.venv/bin/python`). Panics, naming the script, when missing:
/// the README's test command runs the script first.
pub fn interop_tool(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/interop")
        .join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/interop/install.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The directory of the interop scripts.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop")
}

/// The size (blocks) of the notary's latest checkpoint at `url`.
pub fn log_size(url: &str) -> u64 {
    let note = reqwest::blocking::get(format!("{url}/v1/notary/checkpoint"))
        .unwrap()
        .text()
        .unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// A loopback port free right now, for a server that must know its public URL before it
/// starts (OpenID4VCI and OpenID4VP URLs carry it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a loopback port is free")
}
