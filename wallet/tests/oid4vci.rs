//! OpenID4VCI end to end over real HTTP on 127.0.0.1: a municipality offers a residency
//! credential, a citizen's wallet receives it (pre-authorized code, transaction code, nonce,
//! key proofs, a batch of copies bound to different keys), and every protocol misstep is
//! refused with its OAuth error code.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::Arc;

use serde_json::{json, Map, Value};
use wallet::holder::{HolderWallet, OwnerKind};
use wallet::issuers::default_issuers;
use wallet::jose::SigningKey;
use wallet::oid4vci::{PRE_AUTHORIZED_GRANT, PROOF_TYP};
use wallet::service::VerifyOptions;
use wallet::{Credentials, CredentialsConfig};

struct Server {
    base: String,
    credentials: Arc<Credentials>,
    tokens: std::collections::HashMap<String, String>,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("sigillo-oid4vci-{}", uuid::Uuid::new_v4()));
    let credentials = Arc::new(
        Credentials::open(CredentialsConfig {
            access: None,
            data_dir: dir.join("wallet"),
            public_url: format!("http://127.0.0.1:{port}"),
            did_host: format!("127.0.0.1:{port}"),
            issuers: default_issuers(),
            external: Vec::new(),
        })
        .unwrap(),
    );
    let tokens = credentials.new_tokens().iter().cloned().collect();
    let router = wallet::http::router(credentials.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        base: format!("http://127.0.0.1:{port}"),
        credentials,
        tokens,
        dir,
    }
}

fn residency() -> Map<String, Value> {
    json!({
        "fiscal_code": "RSSMRA80A01F205X", "given_name": "Mario", "family_name": "Rossi",
        "birth_date": "1980-01-01",
        "address": {"street_address": "Via Roma 1", "locality": "Milano", "postal_code": "20121", "province": "MI", "region": "Lombardia"},
        "resident_since": "2010-05-01"
    })
    .as_object()
    .unwrap()
    .clone()
}

impl Server {
    async fn offer(
        &self,
        issuer: &str,
        credential_type: &str,
        claims: Map<String, Value>,
    ) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/oid4vci/offers", self.base))
            .bearer_auth(&self.tokens[issuer])
            .json(&json!({"credential_type": credential_type, "claims": claims}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn token(&self, code: &str, tx_code: &str) -> (u16, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", PRE_AUTHORIZED_GRANT),
                ("pre-authorized_code", code),
                ("tx_code", tx_code),
            ])
            .finish();
        let response = reqwest::Client::new()
            .post(format!("{}/issuers/comune-milano/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn nonce(&self) -> String {
        let response: Value = reqwest::Client::new()
            .post(format!("{}/issuers/comune-milano/nonce", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["c_nonce"].as_str().unwrap().to_owned()
    }

    async fn credential(&self, access_token: &str, proofs: Vec<String>) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/issuers/comune-milano/credential", self.base))
            .bearer_auth(access_token)
            .json(&json!({"credential_configuration_id": "residenza-sd-jwt", "proofs": {"jwt": proofs}}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

fn proof(key: &SigningKey, typ: &str, aud: &str, nonce: &str) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), typ.into());
    header.insert("jwk".into(), key.public().to_jwk());
    key.sign_jws(
        header,
        None,
        &json!({"aud": aud, "iat": wallet::now_seconds(), "nonce": nonce}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_receives_a_batch_of_unlinkable_copies_over_openid4vci() {
    let server = server().await;
    let (status, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    assert_eq!(status, 201, "{created}");
    let tx_code = created["tx_code"].as_str().unwrap().to_owned();
    assert_eq!(tx_code.len(), 6);

    let path = server.dir.join("mario.wallet");
    let mut holder =
        HolderWallet::create(&path, "Mario Rossi", OwnerKind::Citizen, "passphrase 1").unwrap();
    let http = reqwest::Client::new();
    // Without the transaction code the wallet does not even try.
    let uri = created["offer_uri"].as_str().unwrap();
    assert!(
        wallet::holder_client::receive(&http, &mut holder, uri, None, 3)
            .await
            .is_err()
    );
    let ids = wallet::holder_client::receive(&http, &mut holder, uri, Some(&tx_code), 3)
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);

    // On disk, three copies, each bound to its own key, each verifying as a residency.
    let reopened = HolderWallet::open(&path, "passphrase 1").unwrap();
    let held = reopened.credentials();
    assert_eq!(held.len(), 3);
    let mut bound = Vec::new();
    for credential in held {
        assert_eq!(credential.credential_type, "residenza");
        let verified = server
            .credentials
            .verify_sd_jwt(&credential.credential, &VerifyOptions::default())
            .unwrap();
        assert_eq!(verified.claims["family_name"], "Rossi");
        let key = reopened
            .credential_key(credential)
            .unwrap()
            .public()
            .to_jwk();
        assert_eq!(verified.claims["cnf"]["jwk"], key);
        bound.push(key);
    }
    bound.dedup();
    assert_eq!(bound.len(), 3, "each copy has its own key");

    // The same offer cannot be redeemed twice.
    let code = created["credential_offer"]["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap();
    let (status, error) = server.token(code, &tx_code).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // By reference too.
    let (_, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    let uri = created["offer_uri_by_reference"].as_str().unwrap();
    assert!(uri.starts_with("openid-credential-offer://?credential_offer_uri="));
    let tx_code = created["tx_code"].as_str().unwrap();
    let ids = wallet::holder_client::receive(&http, &mut holder, uri, Some(tx_code), 1)
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_misstep_is_refused_with_its_error_code() {
    let server = server().await;
    let http = reqwest::Client::new();
    // Offers: no token, another's type, claims outside the schema.
    let response = http
        .post(format!("{}/v1/oid4vci/offers", server.base))
        .json(&json!({"credential_type": "residenza", "claims": residency()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let (status, _) = server.offer("comune-milano", "isee", residency()).await;
    assert_eq!(status, 403);
    let mut bad = residency();
    bad.insert("birth_date".into(), "yesterday".into());
    let (status, error) = server.offer("comune-milano", "residenza", bad).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("schema")));

    // Three wrong transaction codes burn the offer, even for the right code afterwards.
    let (_, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    let code = created["credential_offer"]["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let right = created["tx_code"].as_str().unwrap().to_owned();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let (status, error) = server.token(&code, wrong).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    let (status, _) = server.token(&code, &right).await;
    assert_eq!(status, 400);

    // A good token, then proofs that fail one check each.
    let (_, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    let code = created["credential_offer"]["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, token) = server
        .token(&code, created["tx_code"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"].as_str().unwrap().to_owned();
    let aud = format!("{}/issuers/comune-milano", server.base);
    let (key, _) = SigningKey::generate_p256();
    let nonce = server.nonce().await;
    let cases = [
        (proof(&key, "JWT", &aud, &nonce), "invalid_proof"),
        (
            proof(&key, PROOF_TYP, "https://elsewhere.example", &nonce),
            "invalid_proof",
        ),
        (
            proof(&key, PROOF_TYP, &aud, "a-nonce-we-never-gave"),
            "invalid_nonce",
        ),
    ];
    for (bad_proof, code) in cases {
        let (status, error) = server.credential(&access, vec![bad_proof]).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some(code)),
            "{error}"
        );
    }
    // A changed signature (a character well inside it, so that all six of its bits count).
    let mut tampered = proof(&key, PROOF_TYP, &aud, &nonce);
    let at = tampered.len() - 10;
    let swapped = if &tampered[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(at..at + 1, swapped);
    let (status, error) = server.credential(&access, vec![tampered]).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_proof")),
        "{error}"
    );
    let (status, error) = server.credential("not-a-token", vec![]).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let too_many = (0..11)
        .map(|_| proof(&key, PROOF_TYP, &aud, &nonce))
        .collect();
    let (status, _) = server.credential(&access, too_many).await;
    assert_eq!(status, 400);

    // The right proof works once; the token and the nonce are then spent.
    let good = proof(&key, PROOF_TYP, &aud, &nonce);
    let (status, issued) = server.credential(&access, vec![good.clone()]).await;
    assert_eq!(status, 200, "{issued}");
    let (status, error) = server.credential(&access, vec![good]).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vc2_credential_arrives_bound_to_the_proof_keys_did() {
    let server = server().await;
    let http = reqwest::Client::new();
    let metadata: Value = http
        .get(format!(
            "{}/.well-known/openid-credential-issuer/issuers/comune-milano",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ldp = &metadata["credential_configurations_supported"]["residenza-ldp-vc"];
    assert_eq!(ldp["format"], "ldp_vc");
    assert_eq!(
        ldp["credential_definition"]["type"][1],
        "ResidenzaCredential"
    );
    let response = http
        .post(format!("{}/v1/oid4vci/offers", server.base))
        .bearer_auth(&server.tokens["comune-milano"])
        .json(&json!({"credential_type": "residenza", "claims": residency(), "format": "ldp_vc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        created["credential_offer"]["credential_configuration_ids"][0],
        "residenza-ldp-vc"
    );
    let path = server.dir.join("vc2.wallet");
    let mut holder =
        HolderWallet::create(&path, "Mario Rossi", OwnerKind::Citizen, "passphrase 2").unwrap();
    wallet::holder_client::receive(
        &http,
        &mut holder,
        created["offer_uri"].as_str().unwrap(),
        created["tx_code"].as_str(),
        2,
    )
    .await
    .unwrap();
    for held in holder.credentials() {
        assert_eq!(
            (held.format.as_str(), held.credential_type.as_str()),
            ("vc2", "residenza")
        );
        let credential: Value = serde_json::from_str(&held.credential).unwrap();
        assert_eq!(credential["proof"]["cryptosuite"], "eddsa-rdfc-2022");
        let verified = server
            .credentials
            .verify_vc(&credential, &VerifyOptions::default())
            .await
            .unwrap();
        assert_eq!(verified.claims["family_name"], "Rossi");
        let holder_did = wallet::did::did_key(&holder.credential_key(held).unwrap().public());
        assert_eq!(credential["credentialSubject"]["id"], holder_did.as_str());
    }
    let subjects: Vec<&str> = holder
        .credentials()
        .iter()
        .map(|c| c.credential.as_str())
        .collect();
    assert_ne!(subjects[0], subjects[1]);
    // Asking an SD-JWT configuration of a VC 2.0 offer is refused.
    let (_, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    let code = created["credential_offer"]["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, token) = server
        .token(&code, created["tx_code"].as_str().unwrap())
        .await;
    let response = http
        .post(format!("{}/issuers/comune-milano/credential", server.base))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"credential_configuration_id": "residenza-ldp-vc", "proofs": {"jwt": ["x.y.z"]}}))
        .send()
        .await
        .unwrap();
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "unknown_credential_configuration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_grants_are_purged_and_nothing_else() {
    let server = server().await;
    let (_, created) = server
        .offer("comune-milano", "residenza", residency())
        .await;
    server.nonce().await;
    let now = wallet::now_seconds();
    assert_eq!(server.credentials.purge_expired(now).unwrap(), 0);
    let later = now + wallet::oid4vci::OFFER_TTL_SECONDS + 1;
    // The offer, its by-reference document and the nonce.
    assert_eq!(server.credentials.purge_expired(later).unwrap(), 3);
    let code = created["credential_offer"]["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap();
    let (status, error) = server
        .token(code, created["tx_code"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let by_reference =
        wallet::holder_client::query(created["offer_uri_by_reference"].as_str().unwrap());
    let offer_url = &by_reference[0].1;
    let response = reqwest::get(offer_url).await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
