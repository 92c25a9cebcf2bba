//! Eligibility end to end, every part a separate process: `sigillo registries` (the simulated
//! registries) and `sigillo serve --registries`. A population of families goes through Nidi
//! Gratis and matches the rules applied to the synthetic data; an eligible family receives its
//! credential in a wallet and its tokens, and the nursery (only that one) is paid and redeems
//! them; `sigillo replay` checks a decision offline and catches a tampered file; a registry
//! outage gives pending within 3 s; kill -9 under load loses no acknowledged decision.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the report.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orchestrator::population::Population;
use orchestrator::rules::{Measure, Outcome};
use serde_json::{json, Value};
use sigillo_e2e::{free_port, sigillo, wait_for, Registries, Server, TempDir};

const SEED: u64 = 5;
const FAMILIES: usize = 300;
const DATE: &str = "2025-10-15";

/// The synthetic population the registries serve.
fn population() -> Population {
    Population::generate(SEED, FAMILIES, time::macros::date!(2025 - 10 - 01))
}

fn tokens(data: &Path) -> (String, String) {
    let text = std::fs::read_to_string(data.join("access/new-tokens.txt")).unwrap();
    let find = |role: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{role} ")))
            .unwrap()
            .to_owned()
    };
    (find("platform"), find("operator"))
}

fn apply(client: &reqwest::blocking::Client, url: &str, token: &str, body: &Value) -> Value {
    let response = client
        .post(format!("{url}/v1/eligibility/nidi-gratis/applications"))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().unwrap()
}

fn run_ok(args: &[&str], url: &str) -> String {
    let output = sigillo()
        .args(args)
        .env("SIGILLO_URL", url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn families_are_decided_paid_and_replayed_across_processes() {
    let dir = TempDir::new("eligibility");
    let registries = Registries::start(SEED, FAMILIES);
    // A fixed port: the credential offer names the service's public URL.
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        &dir.0,
        &[
            "--registries",
            &registries.url,
            "--block-interval-ms",
            "50",
            "--listen",
            &listen,
        ],
    );
    let url = server.url.clone();
    let data = dir.0.join("data");
    let (platform, operator) = tokens(&data);
    let client = reqwest::blocking::Client::new();
    let population = population();
    let version = Measure::built_in()[0]
        .version_for(DATE, None)
        .unwrap()
        .clone();

    // Families apply, each with a token key; decisions match the rules on the synthetic data.
    let mut eligible = Vec::new();
    for (index, family) in population.families.iter().take(80).enumerate() {
        let key = dir.0.join(format!("family-{index}.key"));
        let public: Value = serde_json::from_str(&run_ok(
            &["token", "keygen", "--out", key.to_str().unwrap()],
            &url,
        ))
        .unwrap();
        let decision = apply(
            &client,
            &url,
            &platform,
            &json!({
                "fiscal_code": family.parents[0].fiscal_code,
                "child_fiscal_code": family.children.last().unwrap().fiscal_code,
                "application_date": DATE,
                "token_key": public["did"],
            }),
        );
        let want = version.evaluate(&population.family_facts(family, DATE));
        let outcome: Outcome = serde_json::from_value(decision["outcome"].clone()).unwrap();
        assert_eq!(outcome, want.outcome, "{decision:#}");
        assert_eq!(
            decision["monthly_amount_cents"].as_u64(),
            want.monthly_amount_cents
        );
        if outcome == Outcome::Eligible {
            assert!(
                decision["consequences"]["credential_offer"]
                    .as_str()
                    .is_some(),
                "{decision:#}"
            );
            assert_eq!(decision["tx_code"].as_str().map(str::len), Some(6));
            if want.monthly_amount_cents > Some(0) {
                assert_eq!(
                    decision["consequences"]["tokens"]["minted"], true,
                    "{decision:#}"
                );
                eligible.push((index, key, decision));
            }
        }
    }
    assert!(
        eligible.len() >= 3,
        "{} eligible with an amount",
        eligible.len()
    );

    // The family receives its Nidi Gratis credential in its wallet (OpenID4VCI, with the code).
    let (index, family_key, decision) = &eligible[0];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut wallet = wallet::holder::HolderWallet::create(
        &dir.0.join("family.wallet"),
        "Famiglia",
        wallet::holder::OwnerKind::Citizen,
        "una passphrase lunga",
    )
    .unwrap();
    runtime
        .block_on(wallet::holder_client::receive(
            &reqwest::Client::new(),
            &mut wallet,
            decision["consequences"]["credential_offer"]
                .as_str()
                .unwrap(),
            decision["tx_code"].as_str(),
            1,
        ))
        .unwrap();
    let claims = wallet.claims(&wallet.credentials()[0]).unwrap();
    assert_eq!(claims["decision_id"], decision["decision_id"]);
    assert_eq!(claims["outcome"], "eligible");
    assert_eq!(claims["ruleset_hash"], version.hash().as_str());

    // The tokens: only the enrolled nursery may be paid in them; it redeems what it was paid.
    let mint = &decision["consequences"]["tokens"]["mint"];
    let (holder, class, amount) = (
        mint["holder"].as_str().unwrap(),
        mint["class"].as_str().unwrap(),
        mint["amount"].as_u64().unwrap(),
    );
    let family = &population.families[*index];
    let nursery = &population.nurseries[family.enrolment.unwrap()];
    let other = population
        .nurseries
        .iter()
        .find(|n| n.id != nursery.id)
        .unwrap();
    let authority = data.join("token-authority.key");
    for merchant in [nursery, other] {
        let key = dir.0.join(format!("{}.key", merchant.id));
        let public: Value = serde_json::from_str(&run_ok(
            &["token", "keygen", "--out", key.to_str().unwrap()],
            &url,
        ))
        .unwrap();
        let op = run_ok(
            &[
                "token",
                "sign",
                "--key",
                authority.to_str().unwrap(),
                "--actor",
                "authority",
                "enrol",
                "--participant",
                &merchant.id,
                "--role",
                "merchant",
                "--public-key",
                public["did"].as_str().unwrap(),
                "--category",
                &merchant.id,
            ],
            &url,
        );
        std::fs::write(dir.0.join("enrol.json"), op).unwrap();
        assert!(run_ok(
            &[
                "token",
                "submit",
                dir.0.join("enrol.json").to_str().unwrap()
            ],
            &url
        )
        .contains("applied"));
    }
    let submit = |actor_key: &Path, actor: &str, op: &[&str]| -> String {
        let mut args = vec![
            "token",
            "sign",
            "--key",
            actor_key.to_str().unwrap(),
            "--actor",
            actor,
        ];
        args.extend_from_slice(op);
        let signed = run_ok(&args, &url);
        let file = dir.0.join("op.json");
        std::fs::write(&file, signed).unwrap();
        let output = sigillo()
            .args(["token", "submit", file.to_str().unwrap()])
            .env("SIGILLO_URL", &url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let amount_text = amount.to_string();
    let refused = submit(
        family_key,
        holder,
        &[
            "transfer",
            "--class",
            class,
            "--to",
            &other.id,
            "--amount",
            &amount_text,
        ],
    );
    assert!(
        refused.contains("class_not_allowed") || refused.contains("not_allowed"),
        "{refused}"
    );
    let paid = submit(
        family_key,
        holder,
        &[
            "transfer",
            "--class",
            class,
            "--to",
            &nursery.id,
            "--amount",
            &amount_text,
        ],
    );
    assert!(paid.contains("applied"), "{paid}");
    let nursery_key = dir.0.join(format!("{}.key", nursery.id));
    let redeemed = submit(
        &nursery_key,
        &nursery.id,
        &["redeem", "--class", class, "--amount", &amount_text],
    );
    assert!(redeemed.contains("applied"), "{redeemed}");

    // An auditor replays the decision offline from the evidence file, and catches a tamper.
    let id = decision["decision_id"].as_str().unwrap();
    let jwks = client
        .get(format!("{}/.well-known/jwks.json", registries.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    std::fs::write(dir.0.join("registry-keys.json"), jwks).unwrap();
    assert!(wait_for(Duration::from_secs(10), || {
        let bundle: Value = client
            .get(format!("{url}/v1/eligibility/decisions/{id}/evidence"))
            .bearer_auth(&operator)
            .send()
            .unwrap()
            .json()
            .unwrap();
        std::fs::write(dir.0.join("evidence.json"), bundle.to_string()).unwrap();
        !bundle["receipt"].is_null()
    }));
    let notary_key = dir.0.join("did-docs/notary/did.json");
    let replay = |file: &str| {
        sigillo()
            .args([
                "replay",
                id,
                "--evidence",
                dir.0.join(file).to_str().unwrap(),
            ])
            .args([
                "--registry-keys",
                dir.0.join("registry-keys.json").to_str().unwrap(),
            ])
            .args(["--notary-key", notary_key.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let good = replay("evidence.json");
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        text.contains("replays: eligible") && text.contains("notarised in block"),
        "{text}"
    );
    let mut bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("evidence.json")).unwrap())
            .unwrap();
    bundle["evidence"]["application_date"] = json!("2025-10-16");
    std::fs::write(dir.0.join("tampered.json"), bundle.to_string()).unwrap();
    let bad = replay("tampered.json");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("INVALID"));

    // Tokens: an auditor's is created with the CLI, reads evidence but cannot apply or
    // review; once revoked it is refused.
    let data_arg = data.to_str().unwrap();
    let auditor = run_ok(
        &[
            "tokens",
            "create",
            "--data",
            data_arg,
            "--name",
            "corte-dei-conti",
            "--role",
            "auditor",
        ],
        &url,
    );
    let auditor = auditor.trim();
    assert!(
        run_ok(&["tokens", "list", "--data", data_arg], &url).contains("corte-dei-conti auditor *")
    );
    let status_of =
        |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    assert!(wait_for(Duration::from_secs(5), || {
        status_of(
            client
                .get(format!("{url}/v1/eligibility/decisions/{id}/evidence"))
                .bearer_auth(auditor),
        ) == 200
    }));
    let apply_url = format!("{url}/v1/eligibility/nidi-gratis/applications");
    assert_eq!(
        status_of(
            client
                .post(&apply_url)
                .bearer_auth(auditor)
                .json(&json!({}))
        ),
        403
    );
    assert_eq!(
        status_of(
            client
                .get(format!("{url}/v1/eligibility/reviews"))
                .bearer_auth(auditor)
        ),
        403
    );
    run_ok(
        &[
            "tokens",
            "revoke",
            "--data",
            data_arg,
            "--name",
            "corte-dei-conti",
        ],
        &url,
    );
    assert!(wait_for(Duration::from_secs(5), || {
        status_of(
            client
                .get(format!("{url}/v1/eligibility/decisions/{id}"))
                .bearer_auth(auditor),
        ) == 401
    }));

    // INPS down: an eligible family is pending within 3 s, never eligible.
    registries.fault("inps", json!({"outage": true}));
    let started = Instant::now();
    let pending = apply(
        &client,
        &url,
        &platform,
        &json!({"fiscal_code": family.parents[0].fiscal_code,
                "child_fiscal_code": family.children.last().unwrap().fiscal_code, "application_date": DATE}),
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(pending["outcome"], "pending_manual_review", "{pending:#}");
    registries.fault("inps", json!({}));
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_decision() {
    let dir = TempDir::new("eligibility-kill");
    let registries = Registries::start(SEED, FAMILIES);
    let args = [
        "--registries",
        registries.url.as_str(),
        "--block-interval-ms",
        "50",
    ];
    let mut server = Server::start(&dir.0, &args);
    let data = dir.0.join("data");
    let (platform, operator) = tokens(&data);
    let population = population();
    let bodies: Vec<Value> = population
        .families
        .iter()
        .map(|family| {
            json!({"fiscal_code": family.parents[0].fiscal_code,
                   "child_fiscal_code": family.children.last().unwrap().fiscal_code,
                   "application_date": DATE})
        })
        .collect();
    let bodies = Arc::new(bodies);
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Value)>::new()));
    let stop = Instant::now() + Duration::from_secs(20);
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (url, token, bodies, acknowledged) = (
            server.url.clone(),
            platform.clone(),
            bodies.clone(),
            acknowledged.clone(),
        );
        workers.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut next = worker;
            while Instant::now() < stop {
                let body = &bodies[next % bodies.len()];
                next += 8;
                let Ok(response) = client
                    .post(format!("{url}/v1/eligibility/nidi-gratis/applications"))
                    .bearer_auth(&token)
                    .json(body)
                    .send()
                else {
                    return; // The server is gone.
                };
                if response.status() == 201 {
                    let decision: Value = response.json().unwrap();
                    let id = decision["decision_id"].as_str().unwrap().to_owned();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push((id, decision["outcome"].clone()));
                }
            }
        }));
    }
    assert!(wait_for(Duration::from_secs(15), || acknowledged
        .lock()
        .unwrap()
        .len()
        >= 600));
    server.kill();
    for worker in workers {
        worker.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let server = Server::start(&dir.0, &args);
    let client = reqwest::blocking::Client::new();
    for (id, outcome) in &acknowledged {
        let decision: Value = client
            .get(format!("{}/v1/eligibility/decisions/{id}", server.url))
            .bearer_auth(&operator)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(&decision["outcome"], outcome, "{id}: {decision}");
    }
    // Decisions the kill left unstamped are stamped at restart.
    let last = &acknowledged.last().unwrap().0;
    assert!(wait_for(Duration::from_secs(20), || {
        let decision: Value = client
            .get(format!("{}/v1/eligibility/decisions/{last}", server.url))
            .bearer_auth(&operator)
            .send()
            .unwrap()
            .json()
            .unwrap();
        decision["stamp"] == "stamped"
    }));
    eprintln!(
        "{} decisions acknowledged before the kill, all found after it",
        acknowledged.len()
    );
}

/// `scripts/eligibility-demo.sh`, the walk-through the README points to, does what it says.
#[test]
fn the_eligibility_demo_runs() {
    let dir = TempDir::new("eligibility-demo");
    let registries = Registries::start(SEED, FAMILIES);
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        &dir.0,
        &["--registries", &registries.url, "--listen", &listen],
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/eligibility-demo.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .args([server.url.as_str(), "data"])
        .arg(sigillo_e2e::sigillo_bin())
        .args([registries.url.as_str(), "did-docs"])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("The eligibility walk-through completed."),
        "{stdout}"
    );
    assert!(stdout.contains("replays: eligible"), "{stdout}");
    assert!(
        stdout.contains("reviewed: eligible by operator"),
        "{stdout}"
    );
}

/// A registry slow (10 s) or erroring half the time, set at run time on the registries'
/// process: the affected applications are pending within 3 s or decided as the rules say,
/// never eligible by mistake.
#[test]
fn slow_or_erroring_registries_give_pending_in_time_and_no_false_eligible() {
    let dir = TempDir::new("eligibility-faults");
    let registries = Registries::start(SEED, FAMILIES);
    let server = Server::start(&dir.0, &["--registries", &registries.url]);
    let (platform, _) = tokens(&dir.0.join("data"));
    let population = population();
    let version = Measure::built_in()[0]
        .version_for(DATE, None)
        .unwrap()
        .clone();
    // The erroring one first: the slow one leaves ANPR's circuit open for a while.
    for (registry, fault) in [
        ("nidi", json!({"error_rate": 0.5})),
        (
            "anpr",
            json!({"latency_ms": 10_000, "latency_p99_ms": 10_000}),
        ),
    ] {
        registries.fault(registry, fault);
        let handles: Vec<_> = population
            .families
            .iter()
            .take(24)
            .map(|family| {
                let (url, token) = (server.url.clone(), platform.clone());
                let body = json!({"fiscal_code": family.parents[0].fiscal_code,
                    "child_fiscal_code": family.children.last().unwrap().fiscal_code,
                    "application_date": DATE});
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let decision = apply(&reqwest::blocking::Client::new(), &url, &token, &body);
                    (decision, started.elapsed())
                })
            })
            .collect();
        let mut pending = 0;
        for (family, handle) in population.families.iter().zip(handles) {
            let (decision, elapsed) = handle.join().unwrap();
            assert!(elapsed < Duration::from_secs(3), "{registry}: {elapsed:?}");
            let truth = version
                .evaluate(&population.family_facts(family, DATE))
                .outcome;
            let outcome: Outcome = serde_json::from_value(decision["outcome"].clone()).unwrap();
            if outcome == Outcome::Eligible {
                assert_eq!(
                    truth,
                    Outcome::Eligible,
                    "{registry}: false eligible {decision:#}"
                );
            }
            if outcome == Outcome::PendingManualReview && truth != Outcome::PendingManualReview {
                pending += 1;
                let reasons = decision["requirements"].to_string();
                assert!(
                    reasons.contains(&format!("{registry} unavailable")),
                    "{registry}: {reasons}"
                );
            }
            if outcome != truth {
                assert_eq!(
                    outcome,
                    Outcome::PendingManualReview,
                    "{registry}: {decision:#}"
                );
            }
        }
        // Retries absorb most of a 50% error rate (all three attempts fail for one application
        // in eight); a 10 s registry leaves applications pending. Either way the fault was met.
        let health: Value =
            reqwest::blocking::get(format!("{}/v1/eligibility/registries", server.url))
                .unwrap()
                .json()
                .unwrap();
        let counters = health["registries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["registry"] == registry)
            .unwrap()
            .clone();
        assert!(
            counters["failures"].as_u64() > Some(0),
            "{registry}: {counters}"
        );
        if registry == "anpr" {
            assert!(pending > 0, "{registry}: the fault affected no application");
        }
        registries.fault(registry, json!({}));
    }
    // Timeouts in a row opened ANPR's circuit: later applications fail fast until a probe.
    let health: Value = reqwest::blocking::get(format!("{}/v1/eligibility/registries", server.url))
        .unwrap()
        .json()
        .unwrap();
    let anpr = health["registries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["registry"] == "anpr")
        .unwrap();
    assert_eq!(anpr["circuit"], "open", "{health}");
    // And in the Prometheus metrics.
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.url))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("sigillo_registry_circuit_open{registry=\"anpr\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sigillo_registry_failed_attempts_total{registry=\"nidi\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/v1/eligibility/{measure}/applications\""),
        "{metrics}"
    );
}
