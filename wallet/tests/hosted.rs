//! Hosted wallets over HTTP: the owner authenticates with the wallet id and passphrase on
//! every call; documents are stamped, offers received, presentations shown before they are
//! sent; nobody else opens the wallet.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::Arc;

use serde_json::{json, Value};
use wallet::hosted::HostedWallets;
use wallet::issuers::default_issuers;
use wallet::oid4vp::Calls;
use wallet::{Credentials, CredentialsConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_runs_a_hosted_wallet_and_nobody_else_can() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("sigillo-hosted-{}", uuid::Uuid::new_v4()));
    let credentials = Arc::new(
        Credentials::open(CredentialsConfig {
            access: None,
            data_dir: dir.join("wallet"),
            public_url: base.clone(),
            did_host: format!("127.0.0.1:{port}"),
            issuers: default_issuers(),
            external: Vec::new(),
        })
        .unwrap(),
    );
    let tokens: std::collections::HashMap<String, String> =
        credentials.new_tokens().iter().cloned().collect();
    let signer = notary::NoteSigner::new(
        "hosted.test/log",
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap();
    let mut config = notary::NotaryConfig::new("hosted.test/log");
    config.block_interval_ms = 5;
    let notary = notary::Notary::open(&dir.join("notary"), signer, config).unwrap();
    let hosted = HostedWallets::new(dir.join("wallets"), notary.clone()).unwrap();
    let router = wallet::http::router(credentials.clone())
        .merge(wallet::http::calls_router(Arc::new(Calls::new(
            credentials.clone(),
            notary.clone(),
        ))))
        .merge(wallet::hosted::router(
            Arc::new(hosted),
            &notary::http::open,
        ));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();

    let created: Value = http
        .post(format!("{base}/v1/wallets"))
        .json(&json!({"owner": "Luca Verdi", "kind": "citizen", "passphrase": "luca's long passphrase"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["wallet_id"].as_str().unwrap().to_owned();
    let wallet_url = format!("{base}/v1/wallets/{id}");
    let owner =
        |request: reqwest::RequestBuilder| request.basic_auth(&id, Some("luca's long passphrase"));

    // Nobody but the owner: no credentials, a wrong passphrase, another wallet's id.
    assert_eq!(http.get(&wallet_url).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&wallet_url)
        .basic_auth(&id, Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().contains_key("www-authenticate"));
    let other: Value = http
        .post(format!("{base}/v1/wallets"))
        .json(&json!({"owner": "Eve", "passphrase": "eve's own passphrase"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let crossed = http
        .get(format!(
            "{base}/v1/wallets/{}",
            other["wallet_id"].as_str().unwrap()
        ))
        .basic_auth(&id, Some("luca's long passphrase"))
        .send()
        .await
        .unwrap();
    assert_eq!(crossed.status(), 401);
    let malformed = http
        .post(format!("{base}/v1/wallets"))
        .json(&json!({"owner": "x", "kind": "robot", "passphrase": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    // A document, stamped: its receipt verifies for the salted entry.
    let pdf = b"%PDF-1.7 ISEE 2026 Luca Verdi".to_vec();
    let stored: Value = owner(http.post(format!("{wallet_url}/documents?name=isee.pdf")))
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt: notary::Receipt = serde_json::from_value(stored["receipt"].clone()).unwrap();
    let mut verifier = notary::ReceiptVerifier::new(notary.verifier());
    let salt = notary::Digest::from_hex(receipt.salt.as_deref().unwrap()).unwrap();
    let content = notary::Digest::sha256(&pdf);
    let mut salted = [0u8; 64];
    salted[..32].copy_from_slice(salt.as_bytes());
    salted[32..].copy_from_slice(content.as_bytes());
    verifier
        .verify(&receipt, &notary::Digest::sha256(&salted))
        .unwrap();

    // An ISEE offer from INPS, received by the hosted wallet.
    let offer: Value = http
        .post(format!("{base}/v1/oid4vci/offers"))
        .bearer_auth(&tokens["inps"])
        .json(&json!({"credential_type": "isee", "claims": {
            "fiscal_code": "VRDLCU80A01F205X", "isee_value": 14200, "isee_type": "minorenni",
            "dsu_protocol": "INPS-ISEE-2026-00000000042", "dsu_valid_from": "2026-01-10", "dsu_valid_until": "2026-12-31"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received = owner(http.post(format!("{wallet_url}/receive")))
        .json(&json!({"offer": offer["offer_uri"], "tx_code": offer["tx_code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(received.status(), 201);

    // A call asking the ISEE value only: shown first, sent on confirmation.
    let call: Value = http
        .post(format!("{base}/v1/calls"))
        .bearer_auth(&tokens["regione-lombardia"])
        .json(&json!({"title": "Nidi Gratis 2026/27",
            "dcql_query": {"credentials": [{"id": "isee", "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:sigillo:vct:isee:1"]},
                "claims": [{"path": ["isee_value"]}, {"path": ["isee_type"]}]}]},
            "rules": [{"credential": "isee", "path": ["isee_value"], "op": "<=", "value": 25000},
                      {"credential": "isee", "path": ["isee_type"], "op": "==", "value": "minorenni"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request: Value = http
        .post(format!(
            "{base}/v1/calls/{}/requests",
            call["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let preview: Value = owner(http.post(format!("{wallet_url}/present")))
        .json(&json!({"request": request["request_uri"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(preview["sent"], false);
    let claims = &preview["would_disclose"][0]["claims"];
    assert_eq!(claims.as_array().unwrap().len(), 2);
    assert_eq!(claims[0]["value"], 14200);
    let sent: Value = owner(http.post(format!("{wallet_url}/present")))
        .json(&json!({"request": request["request_uri"], "confirm": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["answer"]["outcome"], "admitted", "{sent}");

    // The wallet now lists the credential, the document and the application; the export has
    // no private key.
    let listed: Value = owner(http.get(&wallet_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(listed["documents"].as_array().unwrap().len(), 2);
    let export = owner(http.get(format!("{wallet_url}/export")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("isee.pdf") && !export.contains("\"d\""));
    notary.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}
