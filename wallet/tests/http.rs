//! The credentials' HTTP edge, called in process with `oneshot`.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use wallet::issuers::default_issuers;
use wallet::jose::SigningKey;
use wallet::{Credentials, CredentialsConfig};

struct App {
    router: axum::Router,
    tokens: std::collections::HashMap<String, String>,
    dir: std::path::PathBuf,
}

fn app() -> App {
    let dir = std::env::temp_dir().join(format!("sigillo-wallet-http-{}", uuid::Uuid::new_v4()));
    let credentials = Credentials::open(CredentialsConfig {
        access: None,
        data_dir: dir.clone(),
        public_url: "http://127.0.0.1:9".into(),
        did_host: "127.0.0.1:9".into(),
        issuers: default_issuers(),
        external: Vec::new(),
    })
    .unwrap();
    let tokens = credentials.new_tokens().iter().cloned().collect();
    App {
        router: wallet::http::router(Arc::new(credentials)),
        tokens,
        dir,
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl App {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(
                request
                    .body(body.map(Body::from).unwrap_or_default())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value, headers)
    }

    fn token(&self, issuer: &str) -> &str {
        &self.tokens[issuer]
    }
}

fn isee_claims() -> Value {
    json!({
        "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
    })
}

#[tokio::test]
async fn issue_verify_present_and_revoke_over_http() {
    let app = app();
    let (holder_key, _) = SigningKey::generate_p256();
    let holder = wallet::did::did_key(&holder_key.public());
    let inps = app.token("inps").to_owned();
    let request = json!({"vct": "isee", "claims": isee_claims(), "holder": holder}).to_string();
    let (status, issued, _) = app
        .call(
            "POST",
            "/v1/credentials/sd-jwt/issue",
            Some(&inps),
            Some(request),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let sd_jwt = issued["credential"].as_str().unwrap().to_owned();
    let verify = json!({"verifiableCredential": sd_jwt}).to_string();
    let (status, result, _) = app
        .call("POST", "/v1/credentials/verify", None, Some(verify.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["errors"], json!([]));
    assert_eq!(result["claims"]["isee_value"], json!(18500.5));

    // A presentation of the ISEE value only, to a call.
    let inps_key = wallet::jose::PublicKey::from_jwk(&{
        let (_, doc, _) = app.call("GET", "/issuers/inps/did.json", None, None).await;
        doc["verificationMethod"][1]["publicKeyJwk"].clone()
    })
    .unwrap();
    let selected = wallet::sdjwt::select(&sd_jwt, &inps_key, &["isee_value", "isee_type"]).unwrap();
    let presentation = wallet::sdjwt::bind(
        &selected,
        &holder_key,
        "https://bandi.regione.lombardia.it",
        "n-42",
        wallet::now_seconds(),
    );
    let body = json!({"verifiablePresentation": presentation, "options": {"challenge": "n-42", "domain": "https://bandi.regione.lombardia.it"}}).to_string();
    let (status, result, _) = app
        .call("POST", "/v1/presentations/verify", None, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["claims"]["isee_type"], "minorenni");
    assert!(result["claims"].get("fiscal_code").is_none());
    let wrong = json!({"verifiablePresentation": presentation, "options": {"challenge": "n-43", "domain": "https://bandi.regione.lombardia.it"}}).to_string();
    let (status, result, _) = app
        .call("POST", "/v1/presentations/verify", None, Some(wrong))
        .await;
    assert_eq!(
        (status, result["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("key_binding"))
    );

    // Revocation shows in the verifier and in the published list.
    let (_, before, headers) = app
        .call("GET", "/v1/credentials/status-lists/inps/0", None, None)
        .await;
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let change = json!({"credentialId": issued["id"], "status": "revoked"}).to_string();
    let (status, _, _) = app
        .call(
            "POST",
            "/v1/credentials/status",
            Some(app.token("comune-milano")),
            Some(change.clone()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another issuer cannot revoke it"
    );
    let (status, _, _) = app
        .call(
            "POST",
            "/v1/credentials/status",
            Some(&inps),
            Some(change.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .call(
            "POST",
            "/v1/credentials/status",
            Some(&inps),
            Some(json!({"credentialId": issued["id"], "status": "valid"}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "revocation is final");
    let (status, result, _) = app
        .call("POST", "/v1/credentials/verify", None, Some(verify))
        .await;
    assert_eq!(
        (status, result["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("revoked"))
    );
    let (_, after, _) = app
        .call("GET", "/v1/credentials/status-lists/inps/0", None, None)
        .await;
    assert_ne!(before, after);
}

#[tokio::test]
async fn vc_api_issue_batch_and_bitstring_lists() {
    let app = app();
    let inps = app.token("inps").to_owned();
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/sigillo/credentials/v1"],
        "type": ["VerifiableCredential", "IseeCredential"],
        "credentialSubject": isee_claims(),
    });
    let body = json!({"credential": credential, "options": {}}).to_string();
    let (status, issued, _) = app
        .call("POST", "/v1/credentials/issue", Some(&inps), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let vc = &issued["verifiableCredential"];
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    let (status, result, _) = app
        .call(
            "POST",
            "/v1/credentials/verify",
            None,
            Some(json!({"verifiableCredential": vc}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let url = vc["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .unwrap()
        .replace("http://127.0.0.1:9", "");
    let (status, list, _) = app.call("GET", &url, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["type"][1], "BitstringStatusListCredential");
    let (status, result, _) = app
        .call(
            "POST",
            "/v1/credentials/verify",
            None,
            Some(json!({"verifiableCredential": list}).to_string()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the status list is a credential INPS is trusted for: {result}"
    );

    let item = json!({"credential": credential, "options": {"cryptosuite": "eddsa-jcs-2022"}});
    let batch = json!({"credentials": [item, item, item]}).to_string();
    let (status, issued, _) = app
        .call(
            "POST",
            "/v1/credentials/issue/batch",
            Some(&inps),
            Some(batch),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["credentials"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn every_write_refuses_bad_callers_and_bad_input() {
    let app = app();
    let inps = app.token("inps").to_owned();
    let good = json!({"vct": "isee", "claims": isee_claims()}).to_string();
    for (token, body, status, code) in [
        (None, good.clone(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            Some("sgi_inps_wrong"),
            good.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Some(app.token("comune-milano")),
            good.clone(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            Some(&inps),
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            Some(&inps),
            json!({"vct": "isee", "claims": {"isee_value": -1}}).to_string(),
            StatusCode::BAD_REQUEST,
            "schema",
        ),
        (
            Some(&inps),
            json!({"vct": "isee", "claims": isee_claims(), "alg": "HS256"}).to_string(),
            StatusCode::BAD_REQUEST,
            "algorithm_refused",
        ),
        (
            Some(&inps),
            format!("{}{}", "[".repeat(50), "]".repeat(50)),
            StatusCode::BAD_REQUEST,
            "too_deep",
        ),
        (
            Some(&inps),
            json!({"credentials": vec![json!({}); 101]}).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ] {
        let (got, body, _) = app
            .call("POST", "/v1/credentials/sd-jwt/issue", token, Some(body))
            .await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    // Issuing as another issuer through the VC-API body.
    let credential = json!({"type": ["VerifiableCredential", "IseeCredential"], "issuer": "did:web:127.0.0.1%3A9:issuers:regione-lombardia", "credentialSubject": isee_claims()});
    let (status, _, _) = app
        .call(
            "POST",
            "/v1/credentials/issue",
            Some(&inps),
            Some(json!({"credential": credential}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .call("POST", "/v1/credentials/status", None, Some("{}".into()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let oversized = format!(
        "{{\"verifiableCredential\": \"{}~\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (status, _, _) = app
        .call("POST", "/v1/credentials/verify", None, Some(oversized))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Public metadata.
    let (status, types, _) = app.call("GET", "/v1/credentials/types", None, None).await;
    assert_eq!(
        (status, types["types"].as_array().unwrap().len()),
        (StatusCode::OK, 5)
    );
    let (status, metadata, _) = app
        .call("GET", "/v1/credentials/types/durc", None, None)
        .await;
    assert_eq!(
        (status, metadata["vct"].as_str()),
        (StatusCode::OK, Some("urn:sigillo:vct:durc:1"))
    );
    let (status, _, _) = app
        .call("GET", "/v1/credentials/status-lists/nobody/0", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
