//! Wallets with the real `sigillo` binary: a municipality and INPS issue residency and ISEE
//! credentials into a citizen's wallet over OpenID4VCI (`sigillo wallet receive`); a chamber of
//! commerce and INPS issue a registration and a DURC to a company; the company imports a
//! document (stamped) and applies to a regional call over OpenID4VP (`sigillo wallet present`)
//! disclosing only what the call asks; the application's receipts verify offline with
//! `sigillo verify`; the wallet file opens only with its passphrase.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;

use reqwest::blocking::Client;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sigillo_e2e::{sigillo, Server, TempDir};

fn tokens(dir: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(dir.join("data/access/new-tokens.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let (issuer, token) = line.split_once(' ').unwrap();
            (issuer.to_owned(), token.to_owned())
        })
        .collect()
}

/// Runs `sigillo wallet ARGS` with the wallet and passphrase; returns stdout, or panics with
/// stderr unless `fail` is expected.
fn wallet(url: &str, file: &Path, passphrase: &str, args: &[&str]) -> (bool, String, String) {
    let output = sigillo()
        .arg("wallet")
        .args(args)
        .env("SIGILLO_WALLET", file)
        .env("SIGILLO_WALLET_PASSPHRASE", passphrase)
        .env("SIGILLO_URL", url)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `sigillo verify`, offline, on both receipts of an application (its presentation's hash
/// and its signed result's), against the notary's DID document under `dir`.
fn verify_application_receipts(dir: &Path, application: &Value) {
    let did_json = dir.join("did-docs/notary/did.json");
    for (receipt, hash) in [
        ("presentation", "presentation_sha256"),
        ("result", "result_sha256"),
    ] {
        let path = dir.join(format!("{receipt}.receipt.json"));
        std::fs::write(&path, application["receipts"][receipt].to_string()).unwrap();
        let output = sigillo()
            .args([
                "verify",
                "--receipt",
                path.to_str().unwrap(),
                "--digest",
                application[hash].as_str().unwrap(),
            ])
            .args(["--notary-key", did_json.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn offer(client: &Client, url: &str, token: &str, kind: &str, claims: Value) -> (String, String) {
    let response = client
        .post(format!("{url}/v1/oid4vci/offers"))
        .bearer_auth(token)
        .json(&json!({"credential_type": kind, "claims": claims}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let offer: Value = response.json().unwrap();
    (
        offer["offer_uri_by_reference"].as_str().unwrap().to_owned(),
        offer["tx_code"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn citizens_and_companies_fill_their_wallets_and_apply_to_a_call() {
    let dir = TempDir::new("wallet-e2e");
    let port = sigillo_e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let server = Server::start(&dir.0, &["--listen", &listen, "--public-url", &public]);
    let client = Client::new();
    let tokens = tokens(&dir.0);
    let url = server.url.as_str();

    // A citizen: residency from the municipality, ISEE from INPS, two copies each.
    let anna = dir.0.join("anna.wallet");
    let (ok, out, err) = wallet(
        url,
        &anna,
        "anna passphrase",
        &["create", "--owner", "Anna Bianchi"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("did:key:"));
    let residency = json!({
        "fiscal_code": "BNCNNA85M41F205X", "given_name": "Anna", "family_name": "Bianchi",
        "birth_date": "1985-08-01", "resident_since": "2012-04-02",
        "address": {"street_address": "Via Dante 3", "locality": "Cinisello Balsamo", "postal_code": "20092", "province": "MI", "region": "Lombardia"}
    });
    let isee = json!({
        "fiscal_code": "BNCNNA85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2026-00000123456", "dsu_valid_from": "2026-01-15", "dsu_valid_until": "2026-12-31"
    });
    for (issuer, kind, claims) in [
        ("comune-cinisello-balsamo", "residenza", residency),
        ("inps", "isee", isee),
    ] {
        let (uri, tx_code) = offer(&client, url, &tokens[issuer], kind, claims);
        let (ok, out, err) = wallet(
            url,
            &anna,
            "anna passphrase",
            &["receive", &uri, "--tx-code", &tx_code, "--copies", "2"],
        );
        assert!(ok, "{err}");
        assert_eq!(out.matches("received credential").count(), 2, "{out}");
    }
    let (ok, out, _) = wallet(url, &anna, "anna passphrase", &["list"]);
    assert!(ok);
    assert_eq!(out.matches("credential ").count(), 4, "{out}");
    // The wrong passphrase opens nothing; a changed byte is caught.
    let (ok, _, err) = wallet(url, &anna, "not anna's", &["list"]);
    assert!(!ok && err.contains("wrong passphrase"), "{err}");
    let mut bytes = std::fs::read(&anna).unwrap();
    let at = bytes.len() - 20;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = dir.0.join("tampered.wallet");
    std::fs::write(&tampered, &bytes).unwrap();
    let (ok, _, err) = wallet(url, &tampered, "anna passphrase", &["list"]);
    assert!(!ok && err.contains("damaged or was altered"), "{err}");

    // A company: registration and DURC, then a stamped document.
    let company = dir.0.join("brambilla.wallet");
    let (ok, _, err) = wallet(
        url,
        &company,
        "company pass",
        &[
            "create",
            "--owner",
            "Officine Brambilla",
            "--kind",
            "business",
        ],
    );
    assert!(ok, "{err}");
    let registration = json!({
        "vat_number": "01234567890", "company_name": "Officine Brambilla S.r.l.",
        "seat": {"street_address": "Via Segreta 17", "locality": "Monza", "postal_code": "20900", "province": "MB", "region": "Lombardia"},
        "ateco_code": "62.01", "employees": 23, "company_status": "attiva", "rea": "MB-1234567"
    });
    let durc = json!({
        "vat_number": "01234567890", "company_name": "Officine Brambilla S.r.l.", "regular": true,
        "issue_date": "2026-10-01", "valid_until": "2027-01-29", "protocol": "INPS_98765432"
    });
    for (issuer, kind, claims) in [
        ("camera-commercio-milano", "registro-imprese", registration),
        ("inps", "durc", durc),
    ] {
        let (uri, tx_code) = offer(&client, url, &tokens[issuer], kind, claims);
        let (ok, _, err) = wallet(
            url,
            &company,
            "company pass",
            &["receive", &uri, "--tx-code", &tx_code],
        );
        assert!(ok, "{err}");
    }
    let document = dir.0.join("bilancio-2025.pdf");
    std::fs::write(&document, b"%PDF-1.7 bilancio 2025 Officine Brambilla").unwrap();
    // The company stamps with its own holder token, made by the operator.
    let holder = server.create_token("officine-brambilla", "holder", "01234567890");
    let (ok, out, err) = wallet(
        url,
        &company,
        "company pass",
        &[
            "import-document",
            document.to_str().unwrap(),
            "--token",
            &holder,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("stamped in block"), "{out}");

    // The Region publishes a call; the company applies through its wallet.
    let camera: Value = client
        .get(format!("{url}/issuers/camera-commercio-milano/did.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let call: Value = client
        .post(format!("{url}/v1/calls"))
        .bearer_auth(&tokens["regione-lombardia"])
        .json(&json!({
            "title": "Bando Digitalizzazione PMI 2026",
            "dcql_query": {"credentials": [
                {"id": "visura", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:registro-imprese:1"]},
                 "claims": [{"path": ["seat", "region"]}, {"path": ["employees"]}, {"path": ["ateco_code"]}]},
                {"id": "durc", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
                 "claims": [{"path": ["regular"]}, {"path": ["valid_until"]}]}
            ]},
            "issuers": {"visura": [camera["id"]]},
            "rules": [
                {"credential": "visura", "path": ["seat", "region"], "op": "==", "value": "Lombardia"},
                {"credential": "visura", "path": ["employees"], "op": "<", "value": 50},
                {"credential": "visura", "path": ["ateco_code"], "op": "in", "value": ["62.01", "62.02"]},
                {"credential": "durc", "path": ["regular"], "op": "==", "value": true},
                {"credential": "durc", "path": ["valid_until"], "op": ">=", "value": "2026-11-22"}
            ]
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let call_id = call["id"].as_str().unwrap();
    let request: Value = client
        .post(format!("{url}/v1/calls/{call_id}/requests"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let answer_file = dir.0.join("application.json");
    let (ok, out, err) = wallet(
        url,
        &company,
        "company pass",
        &[
            "present",
            request["request_uri_by_reference"].as_str().unwrap(),
            "--yes",
            "--out",
            answer_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    // What the owner was shown is what the call asked for, nothing else.
    assert!(out.contains("seat.region = \"Lombardia\""), "{out}");
    assert!(out.contains("employees = 23"), "{out}");
    assert!(
        !out.contains("Brambilla S.r.l.") && !out.contains("01234567890"),
        "{out}"
    );
    assert!(out.contains("\"admitted\""), "{out}");

    // The application's receipts verify offline against the notary's DID document.
    let answer: Value =
        serde_json::from_str(&std::fs::read_to_string(&answer_file).unwrap()).unwrap();
    verify_application_receipts(&dir.0, &answer);
    let did_json = dir.0.join("did-docs/notary/did.json");
    // The stamped document too, with its salt, from the wallet's export.
    let (ok, out, _) = wallet(url, &company, "company pass", &["export"]);
    assert!(ok);
    let export: Value = serde_json::from_str(&out).unwrap();
    let pdf = export["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "bilancio-2025.pdf")
        .unwrap();
    assert_eq!(
        pdf["sha256"],
        hex::encode(Sha256::digest(std::fs::read(&document).unwrap()))
    );
    let receipt_path = dir.0.join("bilancio.receipt.json");
    std::fs::write(&receipt_path, pdf["receipt"].to_string()).unwrap();
    let output = sigillo()
        .args([
            "verify",
            "--receipt",
            receipt_path.to_str().unwrap(),
            "--file",
            document.to_str().unwrap(),
        ])
        .args(["--notary-key", did_json.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!out.contains("\"d\""), "the export holds no private key");
}

/// An application answered just before the service is killed (-9) is still there after the
/// restart, with its receipts (stamped before the kill, or by the restarted service).
#[test]
fn an_application_answered_before_a_kill_9_is_kept_and_stamped_after_restart() {
    use wallet::holder::{HolderWallet, OwnerKind};
    use wallet::holder_client;

    let dir = TempDir::new("wallet-e2e-kill");
    let port = sigillo_e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let args = [
        "--listen",
        &listen,
        "--public-url",
        &public,
        "--block-interval-ms",
        "2000",
    ];
    let mut server = Server::start(&dir.0, &args);
    let client = Client::new();
    let tokens = tokens(&dir.0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let mut holder = HolderWallet::create(
        &dir.0.join("h.wallet"),
        "Impresa",
        OwnerKind::Business,
        "kill pass",
    )
    .unwrap();
    let (uri, tx_code) = offer(
        &client,
        &public,
        &tokens["inps"],
        "durc",
        json!({
        "vat_number": "01234567890", "regular": true, "issue_date": "2026-10-01",
        "valid_until": "2027-01-29", "protocol": "INPS_98765432"}),
    );
    runtime
        .block_on(holder_client::receive(
            &http,
            &mut holder,
            &uri,
            Some(&tx_code),
            1,
        ))
        .unwrap();
    let call: Value = client
        .post(format!("{public}/v1/calls"))
        .bearer_auth(&tokens["regione-lombardia"])
        .json(&json!({"title": "Bando DURC", "dcql_query": {"credentials": [{"id": "durc", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]}, "claims": [{"path": ["regular"]}]}]},
            "rules": [{"credential": "durc", "path": ["regular"], "op": "==", "value": true}]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let created: Value = client
        .post(format!(
            "{public}/v1/calls/{}/requests",
            call["id"].as_str().unwrap()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let request = runtime
        .block_on(holder_client::read_request(
            &http,
            created["request_uri"].as_str().unwrap(),
        ))
        .unwrap();
    let planned = holder_client::plan(&holder, &request).unwrap();
    // The bytes that leave hold no undisclosed value, in any of their encodings.
    let body = holder_client::response_body(&holder, &request, &planned).unwrap();
    let mut sent = body.clone();
    let vp_token = form_urlencoded::parse(body.as_bytes())
        .find(|(key, _)| key == "vp_token")
        .unwrap()
        .1
        .into_owned();
    for part in vp_token.split(['~', '.', '"']) {
        if let Ok(decoded) = wallet::jose::unb64(part, "part") {
            sent.push_str(&String::from_utf8_lossy(&decoded));
        }
    }
    for hidden in ["01234567890", "INPS_98765432", "2026-10-01", "2027-01-29"] {
        assert!(!sent.contains(hidden), "{hidden} left the wallet");
    }
    assert!(sent.contains("\"regular\",true"));
    let answer = runtime
        .block_on(holder_client::post_response(&http, &request, body))
        .unwrap();
    assert_eq!(answer["outcome"], "admitted");
    assert!(answer["receipts"].is_null());
    server.kill();

    let _server = Server::start(&dir.0, &args);
    let id = answer["application_id"].as_str().unwrap();
    let stored: Value = client
        .get(format!("{public}/v1/applications/{id}"))
        .bearer_auth(&tokens["regione-lombardia"])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stored["result"], answer["result"]);
    // Stamped before the kill or, if the kill came first, by the restarted service (the
    // deterministic version of that case is `wallet/tests/oid4vp.rs`).
    let stamped = runtime
        .block_on(holder_client::await_receipts(
            &reqwest::Client::new(), // the old pool's connections died with the server
            &answer,
            std::time::Duration::from_secs(20),
        ))
        .unwrap();
    verify_application_receipts(&dir.0, &stamped);
}

/// `scripts/wallet-demo.sh`, the walk-through the README points to, does what it says.
#[test]
fn the_wallet_demo_runs() {
    let dir = TempDir::new("wallet-demo");
    let port = sigillo_e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let _server = Server::start(&dir.0, &["--listen", &listen, "--public-url", &public]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/wallet-demo.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .args([public.as_str(), "data"])
        .arg(sigillo_e2e::sigillo_bin())
        .current_dir(&dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("wallet demo: every step did what it says"));
    assert!(stdout.contains("\"admitted\""));
}

/// `sigillo wallet import-document` killed (-9) at arbitrary moments, saving included: the
/// wallet always opens afterwards, with the documents of the runs that finished and at most
/// the one that was being saved.
#[test]
fn a_wallet_killed_while_saving_is_never_half_written() {
    let dir = TempDir::new("wallet-kill-save");
    let server = Server::start(&dir.0, &[]);
    let file = dir.0.join("k.wallet");
    let (ok, _, err) = wallet(
        &server.url,
        &file,
        "kill passphrase",
        &["create", "--owner", "K"],
    );
    assert!(ok, "{err}");
    // Large enough that encrypting and writing take a while.
    let document = dir.0.join("big.bin");
    let bytes: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&document, &bytes).unwrap();
    let count = |out: &str| out.matches("document ").count();
    // One import to the end, timed: the kills below land across that span.
    let started = std::time::Instant::now();
    let holder = server.create_token("citizen", "holder", "*");
    let (ok, _, err) = wallet(
        &server.url,
        &file,
        "kill passphrase",
        &[
            "import-document",
            document.to_str().unwrap(),
            "--token",
            &holder,
        ],
    );
    assert!(ok, "{err}");
    let span = started.elapsed().as_millis() as u64;
    let mut held = 1;
    for round in 0..10u64 {
        let mut child = sigillo()
            .args(["wallet", "import-document", document.to_str().unwrap()])
            .env("SIGILLO_WALLET", &file)
            .env("SIGILLO_WALLET_PASSPHRASE", "kill passphrase")
            .env("SIGILLO_URL", &server.url)
            .env("SIGILLO_TOKEN", &holder)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(span * (round + 3) / 5));
        let _ = child.kill();
        let _ = child.wait();
        let (ok, out, err) = wallet(&server.url, &file, "kill passphrase", &["list"]);
        assert!(ok, "round {round}: the wallet does not open: {err}");
        let now = count(&out);
        assert!(
            now == held || now == held + 1,
            "round {round}: {held} then {now}"
        );
        eprintln!("round {round}: {now} documents");
        held = now;
        // At most the one temporary file (always the same name) of an unfinished save.
        let leftovers = std::fs::read_dir(&dir.0)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("k.") && name != "k.wallet"
            })
            .count();
        assert!(leftovers <= 1, "round {round}: {leftovers} temporary files");
    }
}
