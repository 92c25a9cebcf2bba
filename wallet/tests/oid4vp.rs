//! Calls (bandi) over OpenID4VP, end to end on 127.0.0.1 with a real notary: a company gets
//! its registration and DURC over OpenID4VCI, applies to a regional call disclosing only what
//! the call asks, and the application is signed and stamped. Every way an application can be
//! wrong is refused with its error, and nothing is stored for it.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::Arc;

use serde_json::{json, Map, Value};
use wallet::holder::{HolderWallet, OwnerKind};
use wallet::holder_client::{self, ClientError};
use wallet::issuers::default_issuers;
use wallet::oid4vp::Calls;
use wallet::status::Status;
use wallet::{Credentials, CredentialsConfig};

struct Server {
    base: String,
    credentials: Arc<Credentials>,
    notary: notary::Notary,
    tokens: std::collections::HashMap<String, String>,
    dir: std::path::PathBuf,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.notary.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("sigillo-oid4vp-{}", uuid::Uuid::new_v4()));
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
    let signer = notary::NoteSigner::new(
        "sigillo.test/log",
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    )
    .unwrap();
    let mut config = notary::NotaryConfig::new("sigillo.test/log");
    config.block_interval_ms = 5;
    let notary = notary::Notary::open(&dir.join("notary"), signer, config).unwrap();
    let tokens = credentials.new_tokens().iter().cloned().collect();
    let calls = Arc::new(Calls::new(credentials.clone(), notary.clone()));
    let router = wallet::http::router(credentials.clone()).merge(wallet::http::calls_router(calls));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        base: format!("http://127.0.0.1:{port}"),
        credentials,
        notary,
        tokens,
        dir,
        http: reqwest::Client::new(),
    }
}

fn registration(employees: u64) -> Map<String, Value> {
    json!({
        "vat_number": "01234567890", "fiscal_code": "01234567890",
        "company_name": "Officine Brambilla S.r.l.", "legal_form": "S.r.l.",
        "seat": {"street_address": "Via Segreta 17", "locality": "Monza", "postal_code": "20900", "province": "MB", "region": "Lombardia"},
        "ateco_code": "62.01", "employees": employees, "company_status": "attiva",
        "registration_date": "2015-03-02", "rea": "MB-1234567"
    })
    .as_object()
    .unwrap()
    .clone()
}

fn durc(valid_until: &str) -> Map<String, Value> {
    json!({
        "vat_number": "01234567890", "company_name": "Officine Brambilla S.r.l.",
        "regular": true, "issue_date": "2026-10-01", "valid_until": valid_until,
        "protocol": "INPS_98765432"
    })
    .as_object()
    .unwrap()
    .clone()
}

impl Server {
    async fn post(&self, path: &str, issuer: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(issuer) = issuer {
            request = request.bearer_auth(&self.tokens[issuer]);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Offers a credential and receives it into `wallet`.
    async fn give(
        &self,
        wallet: &mut HolderWallet,
        issuer: &str,
        kind: &str,
        claims: Map<String, Value>,
    ) {
        let (status, offer) = self
            .post(
                "/v1/oid4vci/offers",
                Some(issuer),
                json!({"credential_type": kind, "claims": claims}),
            )
            .await;
        assert_eq!(status, 201, "{offer}");
        holder_client::receive(
            &self.http,
            wallet,
            offer["offer_uri"].as_str().unwrap(),
            offer["tx_code"].as_str(),
            1,
        )
        .await
        .unwrap();
    }

    /// A company wallet at `DIR/FILE` holding a registration with `employees` and a DURC valid
    /// until `durc_until`, both received over OpenID4VCI.
    async fn company(&self, file: &str, employees: u64, durc_until: &str) -> HolderWallet {
        let path = self.dir.join(file);
        let mut company =
            HolderWallet::create(&path, file, OwnerKind::Business, "pass word 9").unwrap();
        self.give(
            &mut company,
            "camera-commercio-milano",
            "registro-imprese",
            registration(employees),
        )
        .await;
        self.give(&mut company, "inps", "durc", durc(durc_until))
            .await;
        company
    }

    /// The chamber of commerce's DID.
    fn camera(&self) -> String {
        self.credentials
            .issuer("camera-commercio-milano")
            .unwrap()
            .did
            .clone()
    }

    async fn publish(&self, call: Value) -> String {
        let (status, call) = self
            .post("/v1/calls", Some("regione-lombardia"), call)
            .await;
        assert_eq!(status, 201, "{call}");
        call["id"].as_str().unwrap().to_owned()
    }

    async fn request(&self, call: &str, by_reference: bool) -> holder_client::PresentationRequest {
        let (status, created) = self
            .post(&format!("/v1/calls/{call}/requests"), None, json!({}))
            .await;
        assert_eq!(status, 201, "{created}");
        let uri = if by_reference {
            created["request_uri_by_reference"].as_str().unwrap()
        } else {
            created["request_uri"].as_str().unwrap()
        };
        holder_client::read_request(&self.http, uri).await.unwrap()
    }
}

fn business_call(camera_did: &str) -> Value {
    json!({
        "title": "Bando Digitalizzazione PMI Lombardia 2026",
        "dcql_query": {"credentials": [
            {"id": "visura", "format": "dc+sd-jwt",
             "meta": {"vct_values": ["urn:sigillo:vct:registro-imprese:1"]},
             "claims": [{"path": ["seat", "region"]}, {"path": ["employees"]}, {"path": ["ateco_code"]}, {"path": ["company_status"]}]},
            {"id": "durc", "format": "dc+sd-jwt",
             "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
             "claims": [{"path": ["regular"]}, {"path": ["valid_until"]}]}
        ]},
        "issuers": {"visura": [camera_did]},
        "rules": [
            {"credential": "visura", "path": ["seat", "region"], "op": "==", "value": "Lombardia"},
            {"credential": "visura", "path": ["employees"], "op": "<", "value": 50},
            {"credential": "visura", "path": ["ateco_code"], "op": "in", "value": ["62.01", "62.02", "63.11"]},
            {"credential": "visura", "path": ["company_status"], "op": "==", "value": "attiva"},
            {"credential": "durc", "path": ["regular"], "op": "==", "value": true},
            {"credential": "durc", "path": ["valid_until"], "op": ">=", "value": "2026-11-22"}
        ]
    })
}

fn error_code(error: ClientError) -> String {
    match error {
        ClientError::Refused { body, .. } => serde_json::from_str::<Value>(&body).unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned(),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_applies_to_a_call_disclosing_only_what_it_asks() {
    let server = server().await;
    let company = server.company("brambilla.wallet", 23, "2027-01-29").await;
    let camera = server.camera();
    let call = server.publish(business_call(&camera)).await;

    let request = server.request(&call, true).await;
    let planned = holder_client::plan(&company, &request).unwrap();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].claims.len(), 4);
    let body = holder_client::response_body(&company, &request, &planned).unwrap();
    // Not one undisclosed value is in the bytes sent, in any encoding of the disclosures.
    let sent: String = {
        let vp: Value = serde_json::from_str(
            &form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "vp_token")
                .unwrap()
                .1,
        )
        .unwrap();
        let mut text = body.clone();
        for presentation in vp.as_object().unwrap().values() {
            for part in presentation[0].as_str().unwrap().split(['~', '.']) {
                if let Ok(bytes) = wallet::jose::unb64(part, "part") {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        text
    };
    for secret in [
        "Officine",
        "Brambilla",
        "01234567890",
        "Via Segreta",
        "Monza",
        "20900",
        "MB-1234567",
        "INPS_98765432",
        "2015-03-02",
        "2026-10-01",
    ] {
        assert!(!sent.contains(secret), "{secret} left the wallet");
    }
    for shown in ["Lombardia", "62.01", "attiva", "2027-01-29"] {
        assert!(sent.contains(shown), "{shown} should be disclosed");
    }
    let answer = holder_client::post_response(&server.http, &request, body.clone())
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "admitted");
    // The answer came before the stamp; the receipts follow.
    let application =
        holder_client::await_receipts(&server.http, &answer, std::time::Duration::from_secs(10))
            .await
            .unwrap();

    // The result is signed by the Region and names what was checked; both hashes are stamped.
    let result = wallet::jose::Jws::parse(application["result"].as_str().unwrap()).unwrap();
    let region = server.credentials.issuer("regione-lombardia").unwrap();
    result.verify(&region.p256.public()).unwrap();
    assert_eq!(result.payload["disclosed"]["visura"]["employees"], 23);
    assert!(result.payload["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
    let mut verifier = notary::ReceiptVerifier::new(server.notary.verifier());
    for (receipt, hash) in [
        ("presentation", "presentation_sha256"),
        ("result", "result_sha256"),
    ] {
        let receipt: notary::receipt::Receipt =
            serde_json::from_value(application["receipts"][receipt].clone()).unwrap();
        let digest =
            notary::Digest::from_slice(&hex::decode(application[hash].as_str().unwrap()).unwrap())
                .unwrap();
        verifier.verify(&receipt, &digest).unwrap();
    }
    // The publisher reads it back; another body may not.
    let id = application["application_id"].as_str().unwrap();
    let read = |issuer: &'static str| {
        server
            .http
            .get(format!("{}/v1/applications/{id}", server.base))
            .bearer_auth(&server.tokens[issuer])
            .send()
    };
    assert_eq!(
        read("regione-lombardia").await.unwrap().status().as_u16(),
        200
    );
    assert_eq!(read("comune-milano").await.unwrap().status().as_u16(), 403);

    // Replayed: the state is spent.
    let replay = holder_client::post_response(&server.http, &request, body)
        .await
        .unwrap_err();
    assert_eq!(error_code(replay), "key_binding");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_applications_are_refused_each_with_its_error() {
    let server = server().await;
    let mut company = server.company("company.wallet", 23, "2027-01-29").await;
    let camera = server.camera();
    let call_a = server.publish(business_call(&camera)).await;
    let call_b = server.publish(business_call(&camera)).await;

    // Made for call A, sent to call B: the key-binding JWT names A.
    let for_a = server.request(&call_a, false).await;
    let planned = holder_client::plan(&company, &for_a).unwrap();
    let body_a = holder_client::response_body(&company, &for_a, &planned).unwrap();
    let for_b = server.request(&call_b, false).await;
    let vp_token = form_urlencoded::parse(body_a.as_bytes())
        .find(|(k, _)| k == "vp_token")
        .unwrap()
        .1
        .into_owned();
    let to_b = form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", &vp_token)
        .append_pair("state", &for_b.state)
        .finish();
    assert_eq!(
        error_code(
            holder_client::post_response(&server.http, &for_b, to_b)
                .await
                .unwrap_err()
        ),
        "key_binding"
    );

    // Another request of the same call: its nonce differs.
    let again = server.request(&call_a, false).await;
    let wrong_nonce = form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", &vp_token)
        .append_pair("state", &again.state)
        .finish();
    assert_eq!(
        error_code(
            holder_client::post_response(&server.http, &again, wrong_nonce)
                .await
                .unwrap_err()
        ),
        "key_binding"
    );

    // A claim the call asks for left out.
    let mut missing = planned.clone();
    missing[0].claims.retain(|(path, _)| path != "employees");
    let body = holder_client::response_body(&company, &for_a, &missing).unwrap();
    assert_eq!(
        error_code(
            holder_client::post_response(&server.http, &for_a, body)
                .await
                .unwrap_err()
        ),
        "bad_claims"
    );

    // A call that accepts registrations from another chamber only.
    let picky = server
        .publish(business_call("did:web:registro.example:camera-altrove"))
        .await;
    let request = server.request(&picky, false).await;
    let planned_picky = holder_client::plan(&company, &request).unwrap();
    let body = holder_client::response_body(&company, &request, &planned_picky).unwrap();
    assert_eq!(
        error_code(
            holder_client::post_response(&server.http, &request, body)
                .await
                .unwrap_err()
        ),
        "issuer_not_trusted_for_type"
    );

    // Disclosed but failing the rules: 80 employees, and (another company) an expired DURC.
    let big = server.company("big.wallet", 80, "2026-06-30").await;
    let request = server.request(&call_a, false).await;
    let planned_big = holder_client::plan(&big, &request).unwrap();
    let body = holder_client::response_body(&big, &request, &planned_big).unwrap();
    match holder_client::post_response(&server.http, &request, body)
        .await
        .unwrap_err()
    {
        ClientError::Refused { body, .. } => {
            let error: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(error["code"], "bad_claims");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains("employees < 50"), "{message}");
            assert!(
                message.contains("valid_until >= \"2026-11-22\""),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }

    // Revoked by the chamber: refused, although everything else is right.
    let visura = company
        .credentials()
        .iter()
        .find(|c| c.credential_type == "registro-imprese")
        .unwrap();
    let jti = wallet::sdjwt::parse(&visura.credential)
        .unwrap()
        .jwt
        .payload["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let camera_issuer = server
        .credentials
        .issuer("camera-commercio-milano")
        .unwrap();
    server
        .credentials
        .set_status(camera_issuer, &jti, Status::Invalid)
        .unwrap();
    let request = server.request(&call_a, false).await;
    let planned = holder_client::plan(&company, &request).unwrap();
    let body = holder_client::response_body(&company, &request, &planned).unwrap();
    assert_eq!(
        error_code(
            holder_client::post_response(&server.http, &request, body)
                .await
                .unwrap_err()
        ),
        "revoked"
    );

    // None of the refusals was stored or spent its request: `for_a` still works once the
    // wallet holds a good registration again.
    server
        .give(
            &mut company,
            "camera-commercio-milano",
            "registro-imprese",
            registration(23),
        )
        .await;
    let planned = holder_client::plan(&company, &for_a).unwrap();
    let body = holder_client::response_body(&company, &for_a, &planned).unwrap();
    let accepted = holder_client::post_response(&server.http, &for_a, body)
        .await
        .unwrap();
    assert_eq!(accepted["outcome"], "admitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_call_is_refused() {
    let server = server().await;
    let camera = server
        .credentials
        .issuer("camera-commercio-milano")
        .unwrap()
        .did
        .clone();
    let mut bad_rule = business_call(&camera);
    bad_rule["rules"][0]["path"] = json!(["company_name"]);
    let mut bad_type = business_call(&camera);
    bad_type["dcql_query"]["credentials"][0]["meta"]["vct_values"] = json!(["urn:nothing"]);
    let mut bad_op = business_call(&camera);
    bad_op["rules"][1]["op"] = json!("~=");
    for (call, code) in [
        (bad_rule, "malformed"),
        (bad_type, "unknown_type"),
        (bad_op, "malformed"),
    ] {
        let (status, error) = server
            .post("/v1/calls", Some("regione-lombardia"), call)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some(code)),
            "{error}"
        );
    }
    let (status, _) = server.post("/v1/calls", None, business_call(&camera)).await;
    assert_eq!(status, 401);
}

/// The notary is down when an application is admitted (a crash between the answer and the
/// stamp looks the same): the application is stored and answered, and `stamp_pending` on the
/// next start stamps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_left_unstamped_is_stamped_at_the_next_start() {
    let server = server().await;
    let path = server.dir.join("late.wallet");
    let mut company =
        HolderWallet::create(&path, "Late", OwnerKind::Business, "pass word 9").unwrap();
    server
        .give(&mut company, "inps", "durc", durc("2027-01-29"))
        .await;
    let call = server
        .publish(json!({"title": "DURC", "dcql_query": {"credentials": [{"id": "durc", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]}, "claims": [{"path": ["regular"]}]}]}}))
        .await;
    let request = server.request(&call, false).await;
    let planned = holder_client::plan(&company, &request).unwrap();
    let body = holder_client::response_body(&company, &request, &planned).unwrap();
    server.notary.shutdown();
    let answer = holder_client::post_response(&server.http, &request, body)
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "admitted");
    let id = answer["application_id"].as_str().unwrap();
    let pending = server
        .http
        .get(answer["receipts_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status().as_u16(), 202);

    // "Restart": a notary up again (the stopped one still holds its directory in this
    // process, so a second log), and the start-up pass.
    let signer = notary::NoteSigner::new(
        "sigillo.test/log",
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    )
    .unwrap();
    let mut config = notary::NotaryConfig::new("sigillo.test/log");
    config.block_interval_ms = 5;
    let notary = notary::Notary::open(&server.dir.join("notary-2"), signer, config).unwrap();
    let calls = Calls::new(server.credentials.clone(), notary.clone());
    assert_eq!(calls.stamp_pending().await.unwrap(), 1);
    assert_eq!(calls.stamp_pending().await.unwrap(), 0);
    let receipts = calls.receipts(id).unwrap().unwrap();
    let mut verifier = notary::ReceiptVerifier::new(notary.verifier());
    let receipt: notary::receipt::Receipt =
        serde_json::from_value(receipts["receipts"]["result"].clone()).unwrap();
    let digest = notary::Digest::from_hex(receipts["result_sha256"].as_str().unwrap()).unwrap();
    verifier.verify(&receipt, &digest).unwrap();
    notary.shutdown();
}
