//! Access control across the whole service, end to end: every write endpoint of `sigillo
//! serve` refuses a missing, invalid, wrong-role or out-of-scope credential and changes nothing
//! when it does; the right credential works; a revoked token stops working at once; the
//! token file holds hashes only. The registries and the service are separate processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the report.

use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{json, Value};
use sigillo_e2e::{free_port, sigillo, wait_for, Registries, Server, TempDir};

const SEED: u64 = 7;
const FAMILIES: usize = 40;
const DATE: &str = "2025-10-15";

/// One write endpoint: who may call it, with a body that works.
struct Write {
    method: reqwest::Method,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    /// A token that may, and the status it gets.
    allowed: (String, u16),
    /// Valid tokens of roles that may not.
    wrong_roles: Vec<String>,
    /// Valid tokens of the right role acting outside their scope: (token, path, body, status:
    /// 403, or 404 where even the existence of another's record is not told).
    out_of_scope: Vec<(String, String, Vec<u8>, u16)>,
}

fn json_body(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// A DER RFC 3161 TimeStampReq (version 1, SHA-256 imprint of `digest`).
fn timestamp_query(digest: [u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x36, 0x02, 0x01, 0x01, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
    ];
    der.extend_from_slice(&[
        0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ]);
    der.extend_from_slice(&[0x04, 0x20]);
    der.extend_from_slice(&digest);
    der
}

fn send(
    client: &Client,
    url: &str,
    write: &Write,
    path: &str,
    body: &[u8],
    token: Option<&str>,
) -> (u16, String) {
    let mut request = client
        .request(write.method.clone(), format!("{url}{path}"))
        .header("content-type", write.content_type)
        .body(body.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

/// What a refused request must not change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    checkpoint_size: u64,
    ledger_length: u64,
    pending_reviews: usize,
    credential_valid: bool,
}

fn snapshot(client: &Client, url: &str, operator: &str, credential: &str) -> Snapshot {
    let get = |path: &str, token: Option<&str>| -> Value {
        let mut request = client.get(format!("{url}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap().json().unwrap()
    };
    let text = client
        .get(format!("{url}/v1/notary/checkpoint"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let verified: Value = client
        .post(format!("{url}/v1/credentials/verify"))
        .json(&json!({"verifiableCredential": credential}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    Snapshot {
        checkpoint_size: text.lines().nth(1).unwrap().parse().unwrap(),
        ledger_length: get("/v1/token/ledger", None)["head"]["length"]
            .as_u64()
            .unwrap(),
        pending_reviews: get("/v1/eligibility/reviews", Some(operator))["pending"]
            .as_array()
            .unwrap()
            .len(),
        credential_valid: verified["errors"].as_array().is_some_and(Vec::is_empty),
    }
}

/// Waits until the notary's log stops growing (stamps of earlier writes land in blocks).
fn settled(client: &Client, url: &str, operator: &str, credential: &str) -> Snapshot {
    let mut last = snapshot(client, url, operator, credential);
    loop {
        std::thread::sleep(Duration::from_millis(400));
        let now = snapshot(client, url, operator, credential);
        if now == last {
            return now;
        }
        last = now;
    }
}

#[test]
fn every_write_endpoint_refuses_missing_wrong_and_out_of_scope_credentials() {
    let dir = TempDir::new("access");
    let registries = Registries::start(SEED, FAMILIES);
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        &dir.0,
        &["--listen", &listen, "--registries", &registries.url],
    );
    let url = server.url.as_str();
    let client = Client::new();
    let [operator, platform, auditor, inps, milano] =
        ["operator", "platform", "auditor", "inps", "comune-milano"].map(|n| server.token(n));
    let pmi = server.create_token("pmi-platform", "platform", "bando-pmi");
    let holder = server.create_token("citizen", "holder", "*");

    // Only hashes on disk.
    let stored = std::fs::read_to_string(server.data.join("access/tokens.json")).unwrap();
    for token in [
        &operator, &platform, &auditor, &inps, &milano, &pmi, &holder,
    ] {
        assert!(!stored.contains(token.as_str()));
    }

    // Something to act on: an INPS credential and a Nidi Gratis decision.
    let issued: Value = client
        .post(format!("{url}/v1/credentials/sd-jwt/issue"))
        .bearer_auth(&inps)
        .json(&json!({"vct": "isee", "claims": {
            "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
            "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15",
            "dsu_valid_until": "2025-12-31"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let credential = issued["credential"].as_str().unwrap().to_owned();
    let population = orchestrator::population::Population::generate(
        SEED,
        FAMILIES,
        time::macros::date!(2025 - 10 - 01),
    );
    let family = &population.families[0];
    let application = json!({
        "fiscal_code": family.parents[0].fiscal_code,
        "child_fiscal_code": family.children.last().unwrap().fiscal_code,
        "application_date": DATE,
    });
    let decision: Value = client
        .post(format!("{url}/v1/eligibility/nidi-gratis/applications"))
        .bearer_auth(&platform)
        .json(&application)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let decision_id = decision["decision_id"].as_str().unwrap().to_owned();

    let nidi = "/v1/eligibility/nidi-gratis/applications".to_owned();
    let isee_claims = issued_claims();
    let call = json!({"title": "Bando DURC", "dcql_query": {"credentials": [{"id": "durc",
        "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
        "claims": [{"path": ["regular"]}]}]},
        "rules": [{"credential": "durc", "path": ["regular"], "op": "==", "value": true}]});
    let vc = json!({"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://sigillo.example/contexts/credentials/v1"],
        "type": ["VerifiableCredential", "ResidenzaCredential"],
        "credentialSubject": {"fiscal_code": "RSSGLI85M41F205X"}}});
    let writes = vec![
        Write {
            method: reqwest::Method::POST,
            path: "/v1/notary/entries".into(),
            content_type: "application/json",
            body: json_body(json!({"entries": ["ab".repeat(32)]})),
            allowed: (milano.clone(), 201),
            wrong_roles: vec![auditor.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/tsa".into(),
            content_type: "application/timestamp-query",
            body: timestamp_query([7; 32]),
            allowed: (holder.clone(), 200),
            wrong_roles: vec![auditor.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/credentials/sd-jwt/issue".into(),
            content_type: "application/json",
            body: json_body(json!({"vct": "isee", "claims": isee_claims})),
            allowed: (inps.clone(), 201),
            wrong_roles: vec![
                operator.clone(),
                platform.clone(),
                auditor.clone(),
                holder.clone(),
            ],
            // A municipality acts only as itself: it issues residency, never an ISEE.
            out_of_scope: vec![(
                milano.clone(),
                "/v1/credentials/sd-jwt/issue".into(),
                json_body(json!({"vct": "isee", "claims": isee_claims})),
                403,
            )],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/credentials/issue".into(),
            content_type: "application/json",
            body: json_body(vc.clone()),
            allowed: (milano.clone(), 0),
            wrong_roles: vec![operator.clone(), platform.clone(), auditor.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/credentials/issue/batch".into(),
            content_type: "application/json",
            body: json_body(json!({"credentials": [vc]})),
            allowed: (milano.clone(), 0),
            wrong_roles: vec![operator.clone(), platform.clone(), auditor.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/credentials/status".into(),
            content_type: "application/json",
            body: json_body(json!({"credentialId": issued["id"], "status": "suspended"})),
            allowed: (inps.clone(), 200),
            wrong_roles: vec![operator.clone(), auditor.clone()],
            // The Comune may not suspend INPS's credential.
            out_of_scope: vec![(
                milano.clone(),
                "/v1/credentials/status".into(),
                json_body(json!({"credentialId": issued["id"], "status": "revoked"})),
                404,
            )],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/oid4vci/offers".into(),
            content_type: "application/json",
            body: json_body(json!({"credential_type": "isee", "claims": isee_claims})),
            allowed: (inps.clone(), 201),
            wrong_roles: vec![operator.clone(), platform.clone(), auditor.clone()],
            out_of_scope: vec![(
                milano.clone(),
                "/v1/oid4vci/offers".into(),
                json_body(json!({"credential_type": "isee", "claims": isee_claims})),
                403,
            )],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/calls".into(),
            content_type: "application/json",
            body: json_body(call),
            allowed: (server.token("regione-lombardia"), 201),
            wrong_roles: vec![operator.clone(), auditor.clone(), holder.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: "/v1/wallets".into(),
            content_type: "application/json",
            body: json_body(json!({"owner": "Giulia Rossi", "passphrase": "a long passphrase"})),
            allowed: (operator.clone(), 201),
            wrong_roles: vec![auditor.clone(), holder.clone(), inps.clone()],
            out_of_scope: vec![],
        },
        Write {
            method: reqwest::Method::POST,
            path: nidi.clone(),
            content_type: "application/json",
            body: json_body(application.clone()),
            allowed: (platform.clone(), 201),
            wrong_roles: vec![
                operator.clone(),
                auditor.clone(),
                inps.clone(),
                holder.clone(),
            ],
            // A platform for the business call may not apply for Nidi Gratis.
            out_of_scope: vec![(
                pmi.clone(),
                nidi.clone(),
                json_body(application.clone()),
                403,
            )],
        },
        Write {
            method: reqwest::Method::POST,
            path: format!("/v1/eligibility/reviews/{decision_id}"),
            content_type: "application/json",
            body: json_body(
                json!({"outcome": "eligible", "reason": "checked", "monthly_amount_cents": 100}),
            ),
            // The decision is not pending: the operator passes the check and meets 409.
            allowed: (operator.clone(), 409),
            wrong_roles: vec![platform.clone(), auditor.clone(), holder.clone()],
            out_of_scope: vec![],
        },
    ];

    let before = settled(&client, url, &operator, &credential);
    assert!(before.credential_valid, "{before:?}");
    for write in &writes {
        let path = &write.path;
        for (token, want) in [
            (None, 401),
            (Some("sig_00ff"), 401),
            (Some("Basic abc"), 401),
        ] {
            let (status, text) = send(&client, url, write, path, &write.body, token);
            assert_eq!(status, want, "{path} with {token:?}: {text}");
        }
        for token in &write.wrong_roles {
            let (status, text) = send(&client, url, write, path, &write.body, Some(token));
            assert_eq!(status, 403, "{path} with a wrong role: {text}");
        }
        for (token, scoped_path, body, want) in &write.out_of_scope {
            let (status, text) = send(&client, url, write, scoped_path, body, Some(token));
            assert_eq!(status, *want, "{scoped_path} out of scope: {text}");
        }
    }
    // A platform reads only its measures' decisions.
    let read = |token: &str| {
        client
            .get(format!("{url}/v1/eligibility/decisions/{decision_id}"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        (read(&pmi), read(&platform), read(&auditor)),
        (403, 200, 200)
    );

    // Credentials that are keys or passphrases: the ledger's signed operations, the hosted
    // wallets, OpenID4VCI and OpenID4VP.
    signed_writes_refuse_strangers(&client, url, &dir.0);
    assert_eq!(settled(&client, url, &operator, &credential), before);

    // The right caller gets through every guard.
    for write in &writes {
        let (token, want) = &write.allowed;
        let (status, text) = send(&client, url, write, &write.path, &write.body, Some(token));
        if *want == 0 {
            assert!(
                status != 401 && status != 403,
                "{}: {status} {text}",
                write.path
            );
        } else {
            assert_eq!(status, *want, "{}: {text}", write.path);
        }
    }

    // A revoked token stops working at once.
    let output = sigillo()
        .args(["tokens", "revoke", "--data"])
        .arg(&server.data)
        .args(["--name", "comune-milano"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stamp = &writes[0];
    assert!(wait_for(Duration::from_secs(3), || {
        send(&client, url, stamp, &stamp.path, &stamp.body, Some(&milano)).0 == 401
    }));
    let listed = sigillo()
        .args(["tokens", "list", "--data"])
        .arg(&server.data)
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("pmi-platform platform bando-pmi"),
        "{listed}"
    );
    assert!(
        listed.contains("comune-milano issuer comune-milano revoked"),
        "{listed}"
    );
    // A restart does not make the revoked token again.
    let new_tokens = std::fs::read_to_string(server.data.join("access/new-tokens.txt")).unwrap();
    drop(server);
    let server = Server::start(
        &dir.0,
        &["--listen", &listen, "--registries", &registries.url],
    );
    assert_eq!(
        std::fs::read_to_string(server.data.join("access/new-tokens.txt")).unwrap(),
        new_tokens
    );
    let stamp_url = format!("{}{}", server.url, stamp.path);
    let status = client
        .post(&stamp_url)
        .bearer_auth(&milano)
        .json(&json!({"entries": ["cd".repeat(32)]}))
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

fn issued_claims() -> Value {
    json!({"fiscal_code": "RSSGLI85M41F205X", "isee_value": 9000.0, "isee_type": "ordinario",
        "dsu_protocol": "INPS-ISEE-2025-00000999999", "dsu_valid_from": "2025-01-15",
        "dsu_valid_until": "2025-12-31"})
}

/// The writes whose credential is a signature or a passphrase refuse a stranger's.
fn signed_writes_refuse_strangers(client: &Client, url: &str, dir: &std::path::Path) {
    // A ledger operation signed by a key that is not the authority's.
    let key = dir.join("stranger.key");
    let keygen = sigillo()
        .args(["token", "keygen", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    let did: Value = serde_json::from_slice(&keygen.stdout).unwrap();
    let ledger: Value = client
        .get(format!("{url}/v1/token/ledger"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let signed = sigillo()
        .args(["token", "sign", "--seq", "1", "--ledger"])
        .arg(ledger["ledger"].as_str().unwrap())
        .args(["--url", url, "--key"])
        .arg(&key)
        .args(["--actor", "authority", "enrol", "--participant", "mallory"])
        .args([
            "--role",
            "issuer",
            "--public-key",
            did["did"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let answer: Value = client
        .post(format!("{url}/v1/token/operations"))
        .json(&json!({"operations": [serde_json::from_slice::<Value>(&signed.stdout).unwrap()]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (answer["applied"].as_u64(), answer["rejected"].as_u64()),
        (Some(0), Some(1)),
        "{answer}"
    );

    // Hosted wallets: no Basic credentials, or a wallet that is not there.
    let wallet = "/v1/wallets/6d3c8a4e-1f0b-4c1e-9a57-0e4f1b2c3d4e";
    for (path, body) in [
        ("/documents?name=bilancio.txt", "Bilancio 2025"),
        ("/receive", r#"{"offer": "openid-credential-offer://?x"}"#),
        ("/present", r#"{"request": "openid4vp://?x"}"#),
    ] {
        for authorization in [None, Some("Basic Zm9vOmJhcg=="), Some("Bearer sig_00")] {
            let mut request = client.post(format!("{url}{wallet}{path}")).body(body);
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            assert_eq!(
                request.send().unwrap().status(),
                401,
                "{path} {authorization:?}"
            );
        }
    }

    // OpenID4VCI: a made-up pre-authorized code, a made-up access token.
    let token = client
        .post(format!("{url}/issuers/inps/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", "made-up"),
        ])
        .send()
        .unwrap();
    assert_eq!(token.status(), 400);
    let credential = client
        .post(format!("{url}/issuers/inps/credential"))
        .bearer_auth("made-up")
        .json(&json!({"credential_configuration_id": "isee"}))
        .send()
        .unwrap();
    assert_eq!(credential.status(), 401);

    // OpenID4VP: an answer to a request nobody made.
    let response = client
        .post(format!("{url}/v1/calls/none/response"))
        .form(&[("vp_token", "{}"), ("state", "made-up")])
        .send()
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}
