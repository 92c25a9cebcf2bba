//! End to end, with the real `sigillo` binary in separate processes: stamp and verify files
//! with the CLI; kill the service with SIGKILL while clients submit, restart it, and check
//! that every acknowledged receipt verifies and that the log stayed consistent; detect a
//! rewritten history with `sigillo audit`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notary::merkle::verify_consistency;
use notary::receipt::ReceiptBundle;
use notary::{Digest, NoteVerifier, Receipt, ReceiptVerifier};
use sigillo_e2e::{sigillo, Server, TempDir};

fn key_of(server: &Server) -> NoteVerifier {
    let text = reqwest::blocking::get(format!("{}/v1/notary/key", server.url))
        .unwrap()
        .text()
        .unwrap();
    NoteVerifier::from_vkey(text.trim()).unwrap()
}

fn output(command: &mut std::process::Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stamp_verify_and_audit_with_the_cli() {
    let dir = TempDir::new("cli");
    let server = Server::start(&dir.0, &["--block-interval-ms", "20"]);
    let docs = dir.0.join("docs");
    std::fs::create_dir_all(docs.join("nested")).unwrap();
    for i in 0..300 {
        let sub = if i % 3 == 0 { "nested/" } else { "" };
        std::fs::write(
            docs.join(format!("{sub}doc{i}.txt")),
            format!("document {i}\n"),
        )
        .unwrap();
    }
    let (code, stdout, stderr) = output(server.stamp().args(["--batch", "64"]).arg(&docs));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("stamped 300 files"), "{stdout}");

    let did_document = dir.0.join("did-docs/notary/did.json");
    let verify = |file: &str, key: &str| {
        output(
            sigillo()
                .arg("verify")
                .arg("--receipt")
                .arg(docs.join(format!("{file}.receipt.json")))
                .arg("--file")
                .arg(docs.join(file))
                .args(["--notary-key", key]),
        )
    };
    let key_arg = did_document.to_str().unwrap();
    for file in ["doc1.txt", "nested/doc0.txt", "doc299.txt"] {
        let (code, stdout, stderr) = verify(file, key_arg);
        assert_eq!(code, 0, "{file}: {stdout}{stderr}");
        assert!(
            stdout.starts_with("OK:") && stdout.contains("block "),
            "{stdout}"
        );
    }
    // The verifier key string works as well as the DID document.
    let vkey = key_of(&server).to_vkey();
    assert_eq!(verify("doc2.txt", &vkey).0, 0);

    // A changed file.
    std::fs::write(docs.join("doc1.txt"), "document 1, edited\n").unwrap();
    let (code, _, stderr) = verify("doc1.txt", key_arg);
    assert_eq!(code, 1);
    assert!(stderr.contains("the file changed"), "{stderr}");
    // Another notary's key.
    let other = NoteVerifier::new("localhost/sigillo/notary", ed25519_public(&[8; 32]))
        .unwrap()
        .to_vkey();
    let (code, _, stderr) = verify("doc4.txt", &other);
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown key"), "{stderr}");
    // A receipt whose path was tampered with.
    let receipt_file = docs.join("doc5.txt.receipt.json");
    let mut receipt: Receipt =
        serde_json::from_str(&std::fs::read_to_string(&receipt_file).unwrap()).unwrap();
    receipt.entry_path[0] = Digest::sha256(b"tampered");
    std::fs::write(&receipt_file, serde_json::to_string(&receipt).unwrap()).unwrap();
    let (code, _, stderr) = verify("doc5.txt", key_arg);
    assert_eq!(code, 1);
    assert!(stderr.contains("path"), "{stderr}");
    // A receipt whose checkpoint signature was tampered with.
    let receipt_file = docs.join("doc7.txt.receipt.json");
    let mut receipt: Receipt =
        serde_json::from_str(&std::fs::read_to_string(&receipt_file).unwrap()).unwrap();
    let at = receipt.log_proof.len() - 8;
    let swap = if &receipt.log_proof[at..=at] == "A" {
        "B"
    } else {
        "A"
    };
    receipt.log_proof.replace_range(at..=at, swap);
    std::fs::write(&receipt_file, serde_json::to_string(&receipt).unwrap()).unwrap();
    let (code, _, stderr) = verify("doc7.txt", key_arg);
    assert_eq!(code, 1);
    assert!(stderr.contains("signature wrong"), "{stderr}");

    // Audit from genesis, then again after more blocks.
    let state = dir.0.join("audit.json");
    let audit = || {
        output(
            sigillo()
                .args(["audit", "--url", &server.url, "--notary-key", key_arg])
                .arg("--since")
                .arg(&state),
        )
    };
    let (code, stdout, stderr) = audit();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("300 entries in all"), "{stdout}");
    let (code, stdout, stderr) = output(server.stamp().arg(docs.join("doc8.txt")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = audit();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("301 entries in all"), "{stdout}");
}

fn ed25519_public(seed: &[u8; 32]) -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(seed).verifying_key()
}

/// What the clients saw acknowledged before a crash.
#[derive(Default)]
struct Acknowledged {
    receipts: Vec<Receipt>,
    checkpoints: HashSet<String>,
}

/// Clients submit until stopped; returns everything acknowledged.
fn load(
    url: &str,
    token: &str,
    clients: usize,
    stop: &Arc<AtomicBool>,
    round: u64,
) -> Vec<std::thread::JoinHandle<Acknowledged>> {
    (0..clients as u64)
        .map(|client| {
            let (url, stop) = (format!("{url}/v1/notary/entries"), Arc::clone(stop));
            let token = token.to_owned();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut seen = Acknowledged::default();
                let mut sequence = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let size = if sequence.is_multiple_of(2) { 1 } else { 50 };
                    let entries: Vec<String> = (0..size)
                        .map(|i: u64| {
                            let mut seed = Vec::new();
                            for n in [round, client, sequence, i] {
                                seed.extend_from_slice(&n.to_le_bytes());
                            }
                            Digest::sha256(&seed).to_hex()
                        })
                        .collect();
                    sequence += 1;
                    let Ok(response) = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({ "entries": entries }))
                        .send()
                    else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    if response.status() != reqwest::StatusCode::CREATED {
                        continue;
                    }
                    // A body cut by the crash is not an acknowledgement.
                    let Ok(bundle) = response.json::<ReceiptBundle>() else {
                        continue;
                    };
                    let proof = notary::receipt::TlogProof::parse(&bundle.log_proof).unwrap();
                    seen.checkpoints.insert(proof.checkpoint);
                    seen.receipts.extend(bundle.receipts());
                }
                seen
            })
        })
        .collect()
}

/// The restarted service's receipts for an acknowledged entry: exactly one, at the place the
/// acknowledgement gave (no entry is in two blocks, none is lost).
fn the_one_receipt(
    http: &reqwest::blocking::Client,
    server: &Server,
    acknowledged: &Receipt,
) -> Receipt {
    let answer: serde_json::Value = http
        .get(format!(
            "{}/v1/notary/entries/{}",
            server.url, acknowledged.entry
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut found: Vec<Receipt> = serde_json::from_value(answer["receipts"].clone()).unwrap();
    assert_eq!(
        found.len(),
        1,
        "entry {} is in exactly one block",
        acknowledged.entry
    );
    let receipt = found.remove(0);
    assert_eq!(receipt.block, acknowledged.block);
    assert_eq!(receipt.entry_index, acknowledged.entry_index);
    receipt
}

#[test]
fn kill_9_under_load_loses_nothing_acknowledged() {
    let dir = TempDir::new("crash");
    let args = ["--block-interval-ms", "10"];
    let mut server = Server::start(&dir.0, &args);
    let key = key_of(&server);
    let mut all = Acknowledged::default();

    for round in 0..3u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = load(&server.url, &server.token("operator"), 8, &stop, round);
        std::thread::sleep(Duration::from_millis(700));
        // SIGKILL while the clients are still submitting.
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            let seen = client.join().unwrap();
            all.receipts.extend(seen.receipts);
            all.checkpoints.extend(seen.checkpoints);
        }
        server = Server::start(&dir.0, &args);
        assert_eq!(key_of(&server), key, "the key survives restarts");
    }
    assert!(
        all.receipts.len() > 100,
        "the clients got acknowledgements: {}",
        all.receipts.len()
    );

    // Every acknowledged receipt verifies offline, as it was handed out.
    let mut verifier = ReceiptVerifier::new(key.clone());
    for receipt in &all.receipts {
        verifier.verify(receipt, &receipt.entry).unwrap();
    }

    // Every acknowledged entry is in the restarted log exactly once, at the same place.
    let http = reqwest::blocking::Client::new();
    let latest_note = http
        .get(format!("{}/v1/notary/checkpoint", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let latest = verifier.open_checkpoint(&latest_note).unwrap();
    for receipt in all.receipts.iter().step_by(7) {
        let found = the_one_receipt(&http, &server, receipt);
        let verified = verifier.verify(&found, &receipt.entry).unwrap();
        assert!(verified.checkpoint.size <= latest.size);
    }

    // Every checkpoint handed out before a crash is consistent with the latest one.
    for note in &all.checkpoints {
        let old = verifier.open_checkpoint(note).unwrap();
        let answer: serde_json::Value = http
            .get(format!(
                "{}/v1/notary/proofs/consistency?from={}&to={}",
                server.url, old.size, latest.size
            ))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let proof: Vec<Digest> = serde_json::from_value(answer["proof"].clone()).unwrap();
        verify_consistency(old.size, latest.size, &proof, &old.root, &latest.root).unwrap();
    }

    // A full audit from genesis: the stored chain is whole and its times monotonic.
    let (code, stdout, stderr) = output(
        sigillo()
            .args([
                "audit",
                "--url",
                &server.url,
                "--notary-key",
                &key.to_vkey(),
            ])
            .arg("--since")
            .arg(dir.0.join("audit.json")),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn audit_detects_a_rewritten_history() {
    let dir = TempDir::new("rewrite");
    let doc = dir.0.join("doc.txt");
    std::fs::write(&doc, "original\n").unwrap();
    let state = dir.0.join("audit.json");
    {
        let server = Server::start(&dir.0, &[]);
        for _ in 0..3 {
            assert_eq!(output(server.stamp().arg(&doc)).0, 0);
        }
        let (code, stdout, stderr) = output(
            sigillo()
                .args(["audit", "--url", &server.url])
                .arg("--since")
                .arg(&state),
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    // Same key, different history: a fresh store, more blocks than before.
    let forged = TempDir::new("rewrite-forged");
    std::fs::create_dir_all(forged.0.join("data")).unwrap();
    std::fs::copy(
        dir.0.join("data/notary.key"),
        forged.0.join("data/notary.key"),
    )
    .unwrap();
    let server = Server::start(&forged.0, &[]);
    std::fs::write(&doc, "something else\n").unwrap();
    for _ in 0..5 {
        assert_eq!(output(server.stamp().arg(&doc)).0, 0);
    }
    let before = std::fs::read_to_string(&state).unwrap();
    let (code, stdout, stderr) = output(
        sigillo()
            .args(["audit", "--url", &server.url])
            .arg("--since")
            .arg(&state),
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("history was rewritten"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        before,
        "a failed audit saves nothing"
    );
}

#[test]
fn connections_beyond_the_limit_wait_until_one_closes() {
    let dir = TempDir::new("connections");
    let server = Server::start(&dir.0, &["--connections-max", "2"]);
    let address = server.url.strip_prefix("http://").unwrap().to_owned();
    let checkpoint = format!("{}/v1/notary/checkpoint", server.url);
    // A new connection per request, so that no pooled connection holds a place.
    let quick = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(800))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(quick.get(&checkpoint).send().unwrap().status().is_success());
    std::thread::sleep(Duration::from_millis(100));

    // Two idle connections take both places.
    let first = std::net::TcpStream::connect(&address).unwrap();
    let second = std::net::TcpStream::connect(&address).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        quick.get(&checkpoint).send().is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    drop(second);
    assert!(sigillo_e2e::wait_for(Duration::from_secs(5), || {
        quick
            .get(&checkpoint)
            .send()
            .is_ok_and(|response| response.status().is_success())
    }));
}

#[test]
fn sigterm_seals_what_was_accepted_and_exits_cleanly() {
    let dir = TempDir::new("sigterm");
    let args = ["--block-interval-ms", "50"];
    let mut server = Server::start(&dir.0, &args);
    let key = key_of(&server);
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(&server.url, &server.token("operator"), 4, &stop, 0);
    std::thread::sleep(Duration::from_millis(400));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "sigillo serve exits 0 on SIGTERM: {exit:?}");
    stop.store(true, Ordering::Relaxed);
    let mut receipts = Vec::new();
    for client in clients {
        receipts.extend(client.join().unwrap().receipts);
    }
    assert!(!receipts.is_empty());

    let server = Server::start(&dir.0, &args);
    let http = reqwest::blocking::Client::new();
    let mut verifier = ReceiptVerifier::new(key);
    for receipt in receipts.iter().step_by(5) {
        verifier.verify(receipt, &receipt.entry).unwrap();
        let found = the_one_receipt(&http, &server, receipt);
        verifier.verify(&found, &receipt.entry).unwrap();
    }
}

/// `sigillo bench`, the load tool, against the real service: every answer accepted, some fully
/// verified, and `--latencies` writes one line per measured request. Not a timed test: the
/// figures come from `scripts/load-notary.sh`.
#[test]
fn the_load_tool_drives_the_service_and_writes_every_latency() {
    let dir = TempDir::new("bench");
    let server = Server::start(&dir.0, &["--block-interval-ms", "20"]);
    let latencies = dir.0.join("latencies.txt");
    let (code, stdout, stderr) = output(
        sigillo()
            .args(["bench", "--url", &server.url])
            .args(["--clients", "8", "--batch", "5", "--seconds", "3"])
            .arg("--latencies")
            .arg(&latencies)
            .env("SIGILLO_TOKEN", server.token("operator")),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // | entries/s | requests/s | p50 | p99 | max | errors | answers checked |
    let row: Vec<&str> = stdout
        .lines()
        .nth(3)
        .unwrap_or_else(|| panic!("no figures in {stdout}"))
        .split('|')
        .map(str::trim)
        .collect();
    let requests_per_second: f64 = row[2].parse().unwrap();
    assert!(requests_per_second > 0.0, "{stdout}");
    assert_eq!(row[6], "0", "errors: {stdout}");
    let checked: u64 = row[7].parse().unwrap();
    assert!(checked > 0, "no answer was verified: {stdout}");
    let text = std::fs::read_to_string(&latencies).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sent_us latency_us"));
    let measured: Vec<(u64, u64)> = lines
        .map(|line| {
            let (sent, latency) = line.split_once(' ').unwrap();
            (sent.parse().unwrap(), latency.parse().unwrap())
        })
        .collect();
    // Two measured seconds at a 20 ms block interval: dozens of requests per client.
    assert!(measured.len() >= 8 * 10, "{} lines", measured.len());
    assert!(measured
        .iter()
        .all(|&(sent, latency)| sent < 3_000_000 && latency > 0));

    // A token that may not stamp: every request fails, and the tool says so.
    let (code, stdout, stderr) = output(
        sigillo()
            .args(["bench", "--url", &server.url])
            .args(["--clients", "2", "--batch", "1", "--seconds", "2"])
            .env("SIGILLO_TOKEN", server.token("auditor")),
    );
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("403"), "{stderr}");
}
