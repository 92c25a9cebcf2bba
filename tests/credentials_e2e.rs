//! The credentials in the real `sigillo serve`: issuer DID documents on disk and over HTTP,
//! issuance with the issuer's token, verification, revocation, and all of it surviving a
//! SIGKILL (keys, token hashes and statuses are on disk before they are acknowledged).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use reqwest::blocking::Client;
use serde_json::{json, Value};
use sigillo_e2e::{Server, TempDir};

fn tokens(dir: &std::path::Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(dir.join("data/access/new-tokens.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let (issuer, token) = line.split_once(' ').unwrap();
            (issuer.to_owned(), token.to_owned())
        })
        .collect()
}

#[test]
fn issue_verify_revoke_and_survive_kill_9() {
    let dir = TempDir::new("credentials-e2e");
    let mut server = Server::start(&dir.0, &[]);
    let client = Client::new();
    let tokens = tokens(&dir.0);
    let inps = &tokens["inps"];

    let document: Value = client
        .get(format!("{}/issuers/inps/did.json", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.0.join("did-docs/issuers/inps/did.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(document, on_disk);
    assert!(document["id"].as_str().unwrap().ends_with(":issuers:inps"));

    let claims = json!({
        "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
    });
    let issue = |url: &str, token: &str| {
        client
            .post(format!("{url}/v1/credentials/sd-jwt/issue"))
            .bearer_auth(token)
            .json(&json!({"vct": "isee", "claims": claims}))
            .send()
            .unwrap()
    };
    let response = issue(&server.url, inps);
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().unwrap();
    let response = issue(&server.url, &tokens["comune-milano"]);
    assert_eq!(
        response.status(),
        403,
        "a municipality cannot issue an ISEE"
    );
    let verify = |url: &str, credential: &Value| -> (u16, Value) {
        let response = client
            .post(format!("{url}/v1/credentials/verify"))
            .json(&json!({"verifiableCredential": credential}))
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    };
    assert_eq!(verify(&server.url, &issued["credential"]).0, 200);
    let revoke = client
        .post(format!("{}/v1/credentials/status", server.url))
        .bearer_auth(inps)
        .json(&json!({"credentialId": issued["id"], "status": "revoked"}))
        .send()
        .unwrap();
    assert_eq!(revoke.status(), 200);

    // SIGKILL right after the acknowledgement, then a restart on the same data.
    server.kill();
    let server = Server::start(&dir.0, &[]);
    let (status, body) = verify(&server.url, &issued["credential"]);
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (400, Some("revoked")),
        "{body}"
    );
    // The tokens file and the keys are readable by the service's user only.
    use std::os::unix::fs::PermissionsExt as _;
    for file in [
        "access/new-tokens.txt",
        "access/tokens.json",
        "wallet/issuers/inps/ed25519.key",
        "wallet/issuers/inps/p256.pk8",
    ] {
        let mode = dir
            .0
            .join("data")
            .join(file)
            .metadata()
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    // The same token still works (its hash was kept), and the same keys sign.
    let response = issue(&server.url, inps);
    assert_eq!(response.status(), 201);
    let again: Value = response.json().unwrap();
    assert_eq!(verify(&server.url, &again["credential"]).0, 200);
    let document_after: Value = client
        .get(format!("{}/issuers/inps/did.json", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        document_after["verificationMethod"],
        document["verificationMethod"]
    );
}
