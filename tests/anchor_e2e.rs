//! Anchoring on a real local EVM node: anvil (npm `@foundry-rs/anvil-linux-amd64`, installed by
//! `scripts/interop/install.sh`), started on 127.0.0.1 by the test and stopped after. Anchor,
//! confirm, upgrade and verify against the node; a reorg below the confirmation depth and one
//! above it (anvil reverts to a snapshot); the node stopped and restarted mid-way.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sigillo_e2e::{interop_tool, log_size, sigillo, wait_for, Server, TempDir};

/// A running anvil, stopped with SIGTERM on drop (so that `--state` is saved).
struct Anvil {
    child: Option<Child>,
    port: u16,
    state: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Anvil {
    fn start(port: u16, state: &Path) -> Anvil {
        let child = Command::new(interop_tool("node_modules/.bin/anvil"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--state")
            .arg(state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let anvil = Anvil {
            child: Some(child),
            port,
            state: state.to_owned(),
        };
        assert!(
            wait_for(Duration::from_secs(20), || anvil
                .try_rpc("eth_chainId", json!([]))
                .is_some()),
            "anvil answers"
        );
        anvil
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn try_rpc(&self, method: &str, params: Value) -> Option<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response: Value = reqwest::blocking::Client::new()
            .post(self.url())
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .ok()?
            .json()
            .ok()?;
        response.get("result").cloned()
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|| panic!("anvil answers {method}"))
    }

    fn mine(&self, blocks: u64) {
        self.rpc("anvil_mine", json!([format!("{blocks:#x}")]));
    }

    fn head(&self) -> u64 {
        let text = self.rpc("eth_blockNumber", json!([]));
        u64::from_str_radix(text.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// SIGTERM (anvil saves its state), and wait.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        *self = Anvil::start(self.port, &self.state.clone());
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}

fn anchors(server: &Server) -> Value {
    reqwest::blocking::get(format!("{}/v1/notary/anchors", server.url))
        .unwrap()
        .json()
        .unwrap()
}

fn records_in(server: &Server, state: &str) -> Vec<Value> {
    anchors(server)["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["state"] == state)
        .cloned()
        .collect()
}

/// Stamps `name` with the CLI; returns the file's path (its receipt is beside it).
fn stamp(server: &Server, dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, format!("{name}: a document of the Comune\n")).unwrap();
    let out = server.stamp().arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// `sigillo verify` of the file's receipt; (exit code, output).
fn verify(dir: &Path, file: &Path, extra: &[&str]) -> (i32, String) {
    let mut receipt = file.as_os_str().to_owned();
    receipt.push(".receipt.json");
    let out = sigillo()
        .arg("verify")
        .arg("--receipt")
        .arg(&receipt)
        .arg("--file")
        .arg(file)
        .arg("--notary-key")
        .arg(dir.join("did-docs/notary/did.json"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Waits until a confirmed anchor covers at least `size` blocks, mining a block per round.
fn wait_confirmed(server: &Server, anvil: &Anvil, size: u64) -> Value {
    let mut found = None;
    let ok = wait_for(Duration::from_secs(30), || {
        if let Some(record) = records_in(server, "confirmed")
            .into_iter()
            .rev()
            .find(|record| record["size"].as_u64().unwrap() >= size)
        {
            found = Some(record);
            return true;
        }
        let _ = anvil.try_rpc("anvil_mine", json!(["0x1"]));
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(
        ok,
        "no confirmed anchor of size {size}: {}",
        anchors(server)
    );
    found.unwrap()
}

/// The confirmations the server is started with, and `verify --rpc` asks for.
const CONFIRMATIONS: &str = "3";

/// `sigillo verify --upgrade --rpc`: upgrades the receipt and checks its anchor on the node.
fn upgrade_and_check(dir: &Path, file: &Path, server: &Server, rpc: &str) -> (i32, String) {
    verify(
        dir,
        file,
        &[
            "--upgrade",
            "--url",
            &server.url,
            "--rpc",
            rpc,
            "--confirmations",
            CONFIRMATIONS,
        ],
    )
}

/// `POST /v1/notary/anchors`: anchor now (an operator's; nobody else's).
fn request_anchor(server: &Server) {
    let url = format!("{}/v1/notary/anchors", server.url);
    let client = reqwest::blocking::Client::new();
    assert_eq!(client.post(&url).send().unwrap().status(), 401);
    let auditor = client.post(&url).bearer_auth(server.token("auditor"));
    assert_eq!(auditor.send().unwrap().status(), 403);
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/notary/anchors", server.url))
        .bearer_auth(server.token("operator"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[test]
fn anchor_confirm_verify_reorgs_and_node_restart() {
    let dir = TempDir::new("anchor");
    let mut anvil = Anvil::start(free_port(), &dir.0.join("anvil-state.json"));
    let rpc = anvil.url();
    let confirmations = CONFIRMATIONS;
    let server = Server::start(
        &dir.0,
        &[
            "--block-interval-ms",
            "20",
            "--anchor-rpc",
            &rpc,
            "--anchor-interval-ms",
            "200",
            "--anchor-poll-ms",
            "50",
            "--anchor-confirmations",
            confirmations,
        ],
    );
    // With anchoring on, its routes are in the OpenAPI document too.
    let document: serde_json::Value =
        reqwest::blocking::get(format!("{}/openapi.json", server.url))
            .unwrap()
            .json()
            .unwrap();
    for path in ["/v1/notary/anchors", "/v1/notary/receipts/upgrade"] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    let account = anchors(&server)["account"].as_str().unwrap().to_owned();
    // Fund the notary's account (anvil's own cheat code; on Besu an operator would).
    anvil.rpc("anvil_setBalance", json!([account, "0x56BC75E2D63100000"]));

    // Anchor, confirm, upgrade, verify against the node.
    let first = stamp(&server, &dir.0, "first.txt");
    let (code, text) = verify(&dir.0, &first, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("state: signed"), "{text}");
    // Not anchored yet (the anchor needs 3 blocks, nobody has mined them): the upgrade says so
    // and the receipt stays signed; a malformed receipt is a 400.
    let (code, text) = verify(&dir.0, &first, &["--upgrade", "--url", &server.url]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("not anchored yet") && text.contains("state: signed"),
        "{text}"
    );
    let client = reqwest::blocking::Client::new();
    let status = client
        .post(format!("{}/v1/notary/receipts/upgrade", server.url))
        .header("content-type", "application/json")
        .body("{\"format\": 1}")
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let anchor = wait_confirmed(&server, &anvil, 1);
    assert_eq!(anchor["account"], account.as_str());
    let (code, text) = upgrade_and_check(&dir.0, &first, &server, &rpc);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("state: anchored") && text.contains("on chain: checked"),
        "{text}"
    );
    // The upgrade was saved: offline verification sees the anchored state.
    let (code, text) = verify(&dir.0, &first, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("state: anchored"), "{text}");
    // More confirmations than the chain has: refused.
    let (code, text) = verify(&dir.0, &first, &["--rpc", &rpc, "--confirmations", "1000"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("fewer than the 1000 required"), "{text}");
    // Tampered anchor proofs are refused, offline or on chain.
    let receipt_path = dir.0.join("first.txt.receipt.json");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&receipt_path).unwrap()).unwrap();
    let tampered = |edit: &dyn Fn(&mut Value), extra: &[&str], expect: &str| {
        let mut receipt = saved.clone();
        edit(&mut receipt);
        std::fs::write(&receipt_path, serde_json::to_string(&receipt).unwrap()).unwrap();
        let (code, text) = verify(&dir.0, &first, extra);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains(expect), "{expect}: {text}");
    };
    tampered(
        &|r| r["anchor"]["block_number"] = json!(1),
        &["--rpc", &rpc],
        "the anchor says block 1",
    );
    tampered(
        &|r| r["anchor"]["tx_hash"] = json!(format!("0x{}", "ab".repeat(32))),
        &["--rpc", &rpc],
        "is not on the chain",
    );
    tampered(
        &|r| r["anchor"]["account"] = json!("0x0000000000000000000000000000000000000001"),
        &["--rpc", &rpc],
        "not the notary's account",
    );
    tampered(
        &|r| r["anchor"]["chain_id"] = json!(1),
        &["--rpc", &rpc],
        "the anchor is on chain 1",
    );
    tampered(
        &|r| r["state"] = json!("signed"),
        &[],
        "has an anchor proof",
    );
    std::fs::write(&receipt_path, serde_json::to_string(&saved).unwrap()).unwrap();

    // A reorg below the confirmation depth: the anchor transaction is mined, then reverted
    // away before its confirmations; the notary sends it again.
    let snapshot = anvil.rpc("evm_snapshot", json!([]));
    let head = anvil.head();
    let second = stamp(&server, &dir.0, "second.txt");
    let size = log_size(&server.url);
    request_anchor(&server);
    assert!(
        wait_for(Duration::from_secs(10), || anvil.head() > head),
        "the anchor was mined"
    );
    assert_eq!(anvil.rpc("evm_revert", json!([snapshot])), json!(true));
    let anchor = wait_confirmed(&server, &anvil, size);
    let dropped = records_in(&server, "dropped");
    assert!(
        !dropped.is_empty(),
        "the vanished transaction is recorded: {}",
        anchors(&server)
    );
    assert_ne!(anchor["tx_hash"], dropped[0]["tx_hash"]);
    let (code, text) = upgrade_and_check(&dir.0, &second, &server, &rpc);
    assert_eq!(code, 0, "{text}");

    // A reorg above the confirmation depth: a confirmed anchor is reverted away; the notary
    // marks it reorged and anchors again; receipts upgraded with it fail on chain until
    // upgraded again.
    let snapshot = anvil.rpc("evm_snapshot", json!([]));
    let third = stamp(&server, &dir.0, "third.txt");
    let size = log_size(&server.url);
    request_anchor(&server);
    let doomed = wait_confirmed(&server, &anvil, size);
    let (code, text) = upgrade_and_check(&dir.0, &third, &server, &rpc);
    assert_eq!(code, 0, "{text}");
    assert_eq!(anvil.rpc("evm_revert", json!([snapshot])), json!(true));
    anvil.mine(8); // the old height exists again, with other blocks
    let (code, text) = verify(&dir.0, &third, &["--rpc", &rpc]);
    assert_eq!(code, 1, "a reorged anchor still verified: {text}");
    assert!(
        wait_for(Duration::from_secs(20), || {
            records_in(&server, "reorged")
                .iter()
                .any(|r| r["tx_hash"] == doomed["tx_hash"])
        }),
        "the reorged anchor is recorded: {}",
        anchors(&server)
    );
    let replacement = wait_confirmed(&server, &anvil, size);
    assert_ne!(replacement["tx_hash"], doomed["tx_hash"]);
    let (code, text) = upgrade_and_check(&dir.0, &third, &server, &rpc);
    assert_eq!(code, 0, "{text}");

    // The node stops mid-way: anchoring fails and is retried; nothing is lost; once the node
    // is back (with its saved state) the anchor goes through.
    anvil.stop();
    let fourth = stamp(&server, &dir.0, "fourth.txt");
    let size = log_size(&server.url);
    request_anchor(&server);
    assert!(
        wait_for(Duration::from_secs(10), || !anchors(&server)["last_error"]
            .is_null()),
        "the failure is reported: {}",
        anchors(&server)
    );
    anvil.restart();
    wait_confirmed(&server, &anvil, size);
    assert!(wait_for(Duration::from_secs(10), || anchors(&server)
        ["last_error"]
        .is_null()));
    let (code, text) = upgrade_and_check(&dir.0, &fourth, &server, &rpc);
    assert_eq!(code, 0, "{text}");
    // Receipts upgraded before the restart still verify on the restarted node.
    let (code, text) = verify(
        &dir.0,
        &first,
        &["--rpc", &rpc, "--confirmations", confirmations],
    );
    assert_eq!(code, 0, "{text}");
}
