//! The token ledger through the real `sigillo` binary: the CLI signs and submits, the auditor
//! replays the journal and catches a rewritten one, and SIGKILL under load loses nothing that
//! was acknowledged and applies nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests unwrap: a panic is the report.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sigillo_e2e::{sigillo, Server, TempDir};
use token::model::Role;
use token::op::Body;
use token::testkit::{name, rules, Circuit};
use token::{OperationId, SignedOperation};

fn output(command: &mut std::process::Command) -> (i32, String, String) {
    let output = command.output().expect("sigillo runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn post(
    client: &reqwest::blocking::Client,
    url: &str,
    ops: &[SignedOperation],
) -> reqwest::Result<Value> {
    client
        .post(format!("{url}/v1/token/operations"))
        .json(&json!({ "operations": ops }))
        .send()?
        .error_for_status()?
        .json()
}

/// A circuit whose authority is the server's own key file.
fn circuit_of(dir: &Path, seed: u64) -> Circuit {
    let key = notary::keys::load_or_generate(&dir.join("data/token-authority.key")).unwrap();
    let mut circuit = Circuit::new("sigillo", seed);
    circuit.set_key("authority", key);
    circuit
}

fn authority_did(url: &str) -> String {
    let info: Value = reqwest::blocking::get(format!("{url}/v1/token/ledger"))
        .unwrap()
        .json()
        .unwrap();
    info["authority_did"].as_str().unwrap().to_owned()
}

#[test]
fn cli_signs_submits_reads_and_the_audit_catches_a_rewritten_journal() {
    let dir = TempDir::new("token-cli");
    let server = Server::start(&dir.0, &[]);
    let url = server.url.clone();
    let key = |name: &str| dir.0.join(format!("{name}.key"));
    let mut dids = std::collections::HashMap::new();
    for participant in ["comune", "rossi", "cartoleria", "revisore"] {
        let (code, stdout, stderr) = output(
            sigillo()
                .args(["token", "keygen", "--out"])
                .arg(key(participant)),
        );
        assert_eq!(code, 0, "{stderr}");
        let value: Value = serde_json::from_str(&stdout).unwrap();
        dids.insert(participant, value["did"].as_str().unwrap().to_owned());
    }
    // keygen never overwrites a key.
    let (code, _, stderr) = output(
        sigillo()
            .args(["token", "keygen", "--out"])
            .arg(key("rossi")),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("refusing"), "{stderr}");

    let authority = dir.0.join("data/token-authority.key");
    let rules_file = dir.0.join("dote.json");
    std::fs::write(
        &rules_file,
        r#"{"title":"Dote Scuola","issuer":"comune","decimals":2,"merchant_categories":["school_supplier"]}"#,
    )
    .unwrap();
    let sign = |signer: &Path, actor: &str, args: &[&str]| -> String {
        let (code, stdout, stderr) = output(
            sigillo()
                .args(["token", "sign", "--url", &url, "--key"])
                .arg(signer)
                .args(["--actor", actor])
                .args(args),
        );
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let batch = dir.0.join("setup.jsonl");
    let mut lines = String::new();
    for (seq, (participant, role, category)) in [
        ("comune", "issuer", None),
        ("rossi", "holder", Some("citizen")),
        ("cartoleria", "merchant", Some("school_supplier")),
        ("revisore", "auditor", None),
    ]
    .into_iter()
    .enumerate()
    {
        let seq = seq.to_string();
        let mut args = vec![
            "--seq",
            &seq,
            "enrol",
            "--participant",
            participant,
            "--role",
            role,
        ];
        args.extend(["--public-key", dids[participant].as_str()]);
        if let Some(category) = category {
            args.extend(["--category", category]);
        }
        lines.push_str(&sign(&authority, "authority", &args));
    }
    lines.push_str(&sign(
        &authority,
        "authority",
        &[
            "--seq",
            "4",
            "define-class",
            "--class",
            "dote",
            "--rules",
            rules_file.to_str().unwrap(),
        ],
    ));
    std::fs::write(&batch, lines).unwrap();
    let (code, stdout, stderr) = output(
        sigillo()
            .args(["token", "submit", "--url", &url])
            .arg(&batch),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");

    // The sequence number comes from the service when not given.
    let mint = dir.0.join("mint.json");
    std::fs::write(
        &mint,
        sign(
            &key("comune"),
            "comune",
            &[
                "mint", "--class", "dote", "--to", "rossi", "--amount", "5000",
            ],
        ),
    )
    .unwrap();
    let pay = dir.0.join("pay.json");
    std::fs::write(
        &pay,
        sign(
            &key("rossi"),
            "rossi",
            &[
                "transfer",
                "--class",
                "dote",
                "--to",
                "cartoleria",
                "--amount",
                "1200",
            ],
        ),
    )
    .unwrap();
    let (code, stdout, _) = output(
        sigillo()
            .args(["token", "submit", "--url", &url])
            .arg(&mint)
            .arg(&pay),
    );
    assert_eq!(code, 0, "{stdout}");
    // Submitting the payment again: the first result, nothing applied twice; exit 0.
    let (code, stdout, _) = output(sigillo().args(["token", "submit", "--url", &url]).arg(&pay));
    assert_eq!(code, 0);
    assert!(stdout.contains("\"duplicate\": true"), "{stdout}");
    // A refused operation: exit 1 and the reason.
    let over = dir.0.join("over.json");
    std::fs::write(
        &over,
        sign(
            &key("rossi"),
            "rossi",
            &[
                "transfer",
                "--class",
                "dote",
                "--to",
                "cartoleria",
                "--amount",
                "999999",
            ],
        ),
    )
    .unwrap();
    let (code, stdout, _) = output(
        sigillo()
            .args(["token", "submit", "--url", &url])
            .arg(&over),
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("insufficient_balance"), "{stdout}");

    let (code, stdout, stderr) = output(
        sigillo()
            .args([
                "token", "balance", "--url", &url, "--actor", "rossi", "--key",
            ])
            .arg(key("rossi")),
    );
    assert_eq!(code, 0, "{stderr}");
    let balance: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(balance["balances"][0]["balance"], 3_800);
    let (code, _, stderr) = output(
        sigillo()
            .args([
                "token", "balance", "--url", &url, "--actor", "rossi", "--key",
            ])
            .arg(key("rossi"))
            .arg("cartoleria"),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("403"), "{stderr}");

    // The audit, once the head is stamped: fetched by the auditor, saved, replayed.
    let did = authority_did(&url);
    let saved = dir.0.join("journal.json");
    let notary_key = dir.0.join("did-docs/notary/did.json");
    let audit = |extra: &[&str]| {
        output(
            sigillo()
                .args([
                    "token",
                    "audit",
                    "--url",
                    &url,
                    "--actor",
                    "revisore",
                    "--authority",
                    &did,
                    "--key",
                ])
                .arg(key("revisore"))
                .arg("--notary-key")
                .arg(&notary_key)
                .args(extra),
        )
    };
    assert!(sigillo_e2e::wait_for(Duration::from_secs(10), || {
        let stamps: Value = reqwest::blocking::get(format!("{url}/v1/token/stamps"))
            .unwrap()
            .json()
            .unwrap();
        stamps["stamps"]
            .as_array()
            .unwrap()
            .last()
            .is_some_and(|stamp| stamp["length"] == 7)
    }));
    let (code, stdout, stderr) = audit(&["--save", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entries"], 7);
    assert_eq!(report["stamp_receipts_verified"], true);
    assert_eq!(report["last_stamp"]["length"], 7);

    // Offline: the saved journal audits alone; rewritten, it fails.
    let (code, _, stderr) = audit(&["--journal", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    type Rewrite = Box<dyn Fn(&mut Value)>;
    let rewrites: Vec<(&str, Rewrite)> = vec![
        (
            "an amount changed (the signature breaks)",
            Box::new(|journal: &mut Value| {
                let entry = &mut journal["entries"][6];
                let mut op: SignedOperation = serde_json::from_value(json!({
                    "operation": entry["decoded"].clone(),
                    "signature": entry["signature"].clone(),
                }))
                .unwrap();
                op.operation.body = Body::Transfer {
                    class: name("dote"),
                    to: name("cartoleria"),
                    amount: 1,
                };
                use base64::Engine as _;
                entry["operation"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(op.operation.signing_bytes())
                    .into();
            }),
        ),
        (
            "the last entry removed (the stamp covers it)",
            Box::new(|journal: &mut Value| {
                journal["entries"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "two entries swapped (the chain breaks)",
            Box::new(|journal: &mut Value| {
                journal["entries"].as_array_mut().unwrap().swap(5, 6);
            }),
        ),
        (
            "another authority",
            Box::new(|journal: &mut Value| {
                journal["genesis"]["authority"] =
                    journal["entries"][0]["decoded"]["body"]["key"].clone();
            }),
        ),
    ];
    for (what, rewrite) in rewrites {
        let mut journal = original.clone();
        rewrite(&mut journal);
        let tampered = dir.0.join("tampered.json");
        std::fs::write(&tampered, journal.to_string()).unwrap();
        let (code, stdout, _) = audit(&["--journal", tampered.to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {stdout}");
        assert!(stdout.contains("\"failed\""), "{what}: {stdout}");
    }
    drop(server);
}

/// Setup for the load: an issuer, `holders` holders, a transferable class, a mint each.
fn setup_load(url: &str, dir: &Path, holders: usize) {
    let mut circuit = circuit_of(dir, 77);
    let client = reqwest::blocking::Client::new();
    let mut ops = vec![circuit.enrol("issuer", Role::Issuer, None)];
    for i in 0..holders {
        ops.push(circuit.enrol(&format!("h{i}"), Role::Holder, Some("citizen")));
    }
    ops.push(circuit.define("dote", rules("issuer", &[])));
    for i in 0..holders {
        ops.push(circuit.sign(
            "issuer",
            Body::Mint {
                class: name("dote"),
                to: name(&format!("h{i}")),
                amount: 1 << 40,
            },
        ));
    }
    let body = post(&client, url, &ops).unwrap();
    assert_eq!(body["rejected"], 0, "{body}");
}

#[test]
fn kill_9_under_load_loses_nothing_acknowledged_and_applies_nothing_twice() {
    const CLIENTS: usize = 6;
    const HOLDERS_PER_CLIENT: usize = 10;
    let dir = TempDir::new("token-kill");
    let mut server = Server::start(&dir.0, &[]);
    setup_load(&server.url, &dir.0, CLIENTS * HOLDERS_PER_CLIENT);
    let acknowledged: Arc<Mutex<Vec<(SignedOperation, u64)>>> = Arc::default();
    let sent: Arc<Mutex<Vec<SignedOperation>>> = Arc::default();
    let stop_at = Instant::now() + Duration::from_millis(1_500);
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let url = server.url.clone();
            let acknowledged = acknowledged.clone();
            let sent = sent.clone();
            let mut circuit = circuit_of(&dir.0, 77);
            circuit.set_id_counter((c as u64 + 1) << 40);
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let mut k = 0;
                // Keep sending past the kill: those requests fail and are not acknowledged.
                while Instant::now() < stop_at + Duration::from_millis(500) {
                    let ops: Vec<SignedOperation> = (0..100)
                        .map(|_| {
                            k += 1;
                            let from = c * HOLDERS_PER_CLIENT + k % HOLDERS_PER_CLIENT;
                            let to = c * HOLDERS_PER_CLIENT + (k + 1) % HOLDERS_PER_CLIENT;
                            circuit.sign(
                                &format!("h{from}"),
                                Body::Transfer {
                                    class: name("dote"),
                                    to: name(&format!("h{to}")),
                                    amount: 1,
                                },
                            )
                        })
                        .collect();
                    sent.lock().unwrap().extend(ops.iter().cloned());
                    match post(&client, &url, &ops) {
                        Ok(body) => {
                            let mut acknowledged = acknowledged.lock().unwrap();
                            for (op, result) in
                                ops.into_iter().zip(body["results"].as_array().unwrap())
                            {
                                assert_eq!(result["status"], "applied", "{result}");
                                acknowledged.push((op, result["index"].as_u64().unwrap()));
                            }
                        }
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(stop_at.saturating_duration_since(Instant::now()));
    server.kill();
    for thread in threads {
        thread.join().unwrap();
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    // A few groups were acknowledged before the kill (thousands of operations on this machine).
    assert!(
        acknowledged.len() >= 300,
        "only {} acknowledged before the kill",
        acknowledged.len()
    );

    let server = Server::start(&dir.0, &[]);
    let client = reqwest::blocking::Client::new();
    // Every acknowledged operation, submitted again: the same index, marked duplicate.
    for chunk in acknowledged.chunks(4_000) {
        let ops: Vec<SignedOperation> = chunk.iter().map(|(op, _)| op.clone()).collect();
        let body = post(&client, &server.url, &ops).unwrap();
        for ((_, index), result) in chunk.iter().zip(body["results"].as_array().unwrap()) {
            assert_eq!(result["status"], "applied", "{result}");
            assert_eq!(result["duplicate"], true, "{result}");
            assert_eq!(result["index"].as_u64().unwrap(), *index);
        }
    }
    // Everything ever sent, again: whatever reached the disk unacknowledged is a duplicate now,
    // and the rest applies at most once more (or is refused for its sequence number).
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let mut seen: std::collections::HashMap<OperationId, u64> = Default::default();
    for chunk in sent.chunks(4_000) {
        let body = post(&client, &server.url, chunk).unwrap();
        for (op, result) in chunk.iter().zip(body["results"].as_array().unwrap()) {
            if result["status"] == "applied" {
                let index = result["index"].as_u64().unwrap();
                assert_eq!(*seen.entry(op.operation.id).or_insert(index), index);
            }
        }
    }
    let info: Value = reqwest::blocking::get(format!("{}/v1/token/ledger", server.url))
        .unwrap()
        .json()
        .unwrap();
    let length = info["head"]["length"].as_u64().unwrap();
    let setup = 1 + 2 * (CLIENTS * HOLDERS_PER_CLIENT) as u64 + 1;
    assert_eq!(
        length,
        setup + seen.len() as u64,
        "each applied operation is in the journal once"
    );

    // The whole journal, replayed by the auditor (the authority reads it).
    let (code, stdout, stderr) = output(
        sigillo()
            .args([
                "token",
                "audit",
                "--url",
                &server.url,
                "--authority",
                &authority_did(&server.url),
                "--key",
            ])
            .arg(dir.0.join("data/token-authority.key"))
            .arg("--notary-key")
            .arg(dir.0.join("did-docs/notary/did.json")),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
}
