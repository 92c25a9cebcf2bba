//! The notary's HTTP API, through `Router::oneshot`: happy paths, and every bad input answered
//! with a 4xx JSON error that names the field, leaving the log unchanged.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt as _;
use notary::merkle::verify_consistency;
use notary::receipt::ReceiptBundle;
use notary::{Checkpoint, Digest, Notary, NotaryConfig, NoteSigner, ReceiptVerifier};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const ORIGIN: &str = "sigillo.test/notary";

struct Fixture {
    notary: Notary,
    app: Router,
    dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.notary.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("sigillo-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let mut config = NotaryConfig::new(ORIGIN);
    config.block_interval_ms = 5;
    let notary = Notary::open(&dir, signer, config).unwrap();
    let app = notary::http::router(notary.clone(), None, &notary::http::open);
    Fixture { notary, app, dir }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

async fn call_json(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = call(app, method, uri, body.map(|b| b.to_string().into_bytes())).await;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// `POST /v1/notary/entries` with one entry.
async fn submit_one(app: &Router, entry: Digest) -> (StatusCode, Value) {
    call_json(
        app,
        "POST",
        "/v1/notary/entries",
        Some(json!({"entry": entry.to_hex()})),
    )
    .await
}

fn digest(i: u32) -> Digest {
    Digest::sha256(&i.to_be_bytes())
}

#[tokio::test]
async fn submit_one_and_a_batch_then_query_everything() {
    let f = fixture("happy");
    let mut verifier = ReceiptVerifier::new(f.notary.verifier());

    let (status, body) = submit_one(&f.app, digest(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bundle: ReceiptBundle = serde_json::from_value(body).unwrap();
    let first = bundle.receipts().remove(0);
    let verified = verifier.verify(&first, &digest(1)).unwrap();
    assert_eq!(verified.block.height, 0);
    assert_eq!(verified.checkpoint.size, 1);

    let (_, checkpoint_one) = call(&f.app, "GET", "/v1/notary/checkpoint", None).await;
    let checkpoint_one = String::from_utf8(checkpoint_one).unwrap();

    let batch: Vec<String> = (2..1002).map(|i| digest(i).to_hex()).collect();
    let (status, body) = call_json(
        &f.app,
        "POST",
        "/v1/notary/entries",
        Some(json!({"entries": batch})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let bundle: ReceiptBundle = serde_json::from_value(body).unwrap();
    assert_eq!(bundle.entries.len(), 1000);
    for (i, receipt) in bundle.receipts().iter().enumerate() {
        verifier.verify(receipt, &digest(i as u32 + 2)).unwrap();
    }

    // The receipt of a digest, proven at the latest checkpoint.
    let (status, body) = call_json(
        &f.app,
        "GET",
        &format!("/v1/notary/entries/{}", digest(500)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let receipts: Vec<notary::Receipt> = serde_json::from_value(body["receipts"].clone()).unwrap();
    assert_eq!(receipts.len(), 1);
    verifier.verify(&receipts[0], &digest(500)).unwrap();

    // Consistency between the first checkpoint and the latest one.
    let (_, latest) = call(&f.app, "GET", "/v1/notary/checkpoint", None).await;
    let latest = String::from_utf8(latest).unwrap();
    let old = verifier.open_checkpoint(&checkpoint_one).unwrap();
    let new = verifier.open_checkpoint(&latest).unwrap();
    let (status, body) = call_json(
        &f.app,
        "GET",
        &format!(
            "/v1/notary/proofs/consistency?from={}&to={}",
            old.size, new.size
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let proof: Vec<Digest> = serde_json::from_value(body["proof"].clone()).unwrap();
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap();

    // A stored past checkpoint is served byte for byte.
    let (status, past) = call(
        &f.app,
        "GET",
        &format!("/v1/notary/checkpoints/{}", old.size),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(past).unwrap(), checkpoint_one);

    // Blocks: one, and a page.
    let (status, body) = call_json(&f.app, "GET", "/v1/notary/blocks/0", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["block"]["height"], 0);
    let (status, body) = call_json(&f.app, "GET", "/v1/notary/blocks?from=0&limit=10", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blocks"].as_array().unwrap().len() as u64, new.size);

    // Refresh the first receipt to the latest checkpoint: it now verifies there.
    let (status, body) = call_json(
        &f.app,
        "POST",
        "/v1/notary/receipts/refresh",
        Some(json!({"receipt": first})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refreshed: notary::Receipt = serde_json::from_value(body).unwrap();
    let verified = verifier.verify(&refreshed, &digest(1)).unwrap();
    assert_eq!(verified.checkpoint, new);

    // The same digest again is a second notarisation with its own receipt.
    let (status, _) = submit_one(&f.app, digest(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = call_json(
        &f.app,
        "GET",
        &format!("/v1/notary/entries/{}", digest(1)),
        None,
    )
    .await;
    assert_eq!(body["receipts"].as_array().unwrap().len(), 2);

    // The key route serves the C2SP verifier key.
    let (_, key) = call(&f.app, "GET", "/v1/notary/key", None).await;
    assert_eq!(
        String::from_utf8(key).unwrap().trim(),
        f.notary.verifier().to_vkey()
    );
    assert_eq!(
        new,
        Checkpoint::parse(f.notary.verifier().open(&latest).unwrap()).unwrap()
    );
}

/// The hand-written JSON of the hot path says exactly what serde says.
#[tokio::test]
async fn bundle_json_equals_the_serde_form() {
    let f = fixture("bundle-json");
    for size in [1u32, 2, 3, 7, 100, 1000] {
        let entries: Vec<Digest> = (0..size).map(|i| digest(i + size * 10_000)).collect();
        let submitted = f.notary.submit(entries).await.unwrap();
        let written: Value = serde_json::from_slice(&submitted.bundle_json()).unwrap();
        assert_eq!(written, serde_json::to_value(submitted.bundle()).unwrap());
    }
    // Submissions that share a block start at an offset into it.
    let batch =
        |batch: u32| -> Vec<Digest> { (0..300).map(|i| digest(batch * 1_000 + i)).collect() };
    let (a, b, c) = tokio::join!(
        f.notary.submit(batch(1)),
        f.notary.submit(batch(2)),
        f.notary.submit(batch(3))
    );
    let submitted = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert!(submitted.iter().any(|one| one.offset > 0));
    for one in submitted {
        let written: Value = serde_json::from_slice(&one.bundle_json()).unwrap();
        assert_eq!(written, serde_json::to_value(one.bundle()).unwrap());
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_stores_nothing() {
    let f = fixture("bad");
    // One good block so heights and sizes have something to be wrong against.
    let (status, _) = submit_one(&f.app, digest(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let size_before = f.notary.size();
    let checkpoint_before = f.notary.latest_checkpoint();

    let too_many: Vec<String> = (0..10_001).map(|i| digest(i).to_hex()).collect();
    let posts: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST, "body"),
        (
            json!({"entry": "abcd"}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry",
        ),
        (
            json!({"entry": "zz".repeat(32)}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry",
        ),
        (
            json!({"entry": 12}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            json!({"entries": []}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entries",
        ),
        (
            json!({"entries": too_many}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entries",
        ),
        (
            json!({"entries": [digest(1).to_hex(), "00"]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "entries[1]",
        ),
        (
            json!({"entry": digest(1).to_hex(), "entries": [digest(2).to_hex()]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            json!({}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            json!({"entry": digest(1).to_hex(), "salt": 1})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            vec![b' '; 2 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
        ),
    ];
    for (body, want_status, want_field) in posts {
        let (status, bytes) = call(&f.app, "POST", "/v1/notary/entries", Some(body)).await;
        let error: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status, want_status, "{error}");
        assert_eq!(error["error"]["field"], want_field, "{error}");
        assert!(error["error"]["message"].as_str().unwrap().len() > 3);
    }

    let gets = [
        ("/v1/notary/entries/abcd", StatusCode::BAD_REQUEST, "digest"),
        (
            &*format!("/v1/notary/entries/{}", digest(77)),
            StatusCode::NOT_FOUND,
            "digest",
        ),
        ("/v1/notary/blocks/7", StatusCode::NOT_FOUND, "height"),
        ("/v1/notary/blocks/-1", StatusCode::BAD_REQUEST, "height"),
        (
            "/v1/notary/blocks?limit=0",
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        ("/v1/notary/checkpoints/99", StatusCode::NOT_FOUND, "size"),
        (
            "/v1/notary/proofs/consistency?from=1",
            StatusCode::BAD_REQUEST,
            "to",
        ),
        (
            "/v1/notary/proofs/consistency?from=2&to=1",
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            "/v1/notary/proofs/consistency?from=1&to=99",
            StatusCode::BAD_REQUEST,
            "size",
        ),
        (
            "/v1/notary/proofs/consistency?from=x&to=1",
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            "/v1/notary/proofs/inclusion?height=5",
            StatusCode::NOT_FOUND,
            "height",
        ),
    ];
    for (uri, want_status, want_field) in gets {
        let (status, error) = call_json(&f.app, "GET", uri, None).await;
        assert_eq!(status, want_status, "{uri}: {error}");
        assert_eq!(error["error"]["field"], want_field, "{uri}: {error}");
    }

    // A refresh of a receipt whose block is not this log's block.
    let (_, body) = call_json(
        &f.app,
        "GET",
        &format!("/v1/notary/entries/{}", digest(1)),
        None,
    )
    .await;
    let mut receipt = body["receipts"][0].clone();
    receipt["block"]["time_ms"] = json!(1);
    let (status, error) = call_json(
        &f.app,
        "POST",
        "/v1/notary/receipts/refresh",
        Some(json!({"receipt": receipt})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "receipt");

    assert_eq!(f.notary.size(), size_before, "bad input stored nothing");
    assert_eq!(f.notary.latest_checkpoint(), checkpoint_before);
}

#[tokio::test]
async fn restart_recovers_the_log_and_stays_consistent() {
    let dir = std::env::temp_dir().join(format!("sigillo-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = [3u8; 32];
    let open = || {
        let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&key)).unwrap();
        let mut config = NotaryConfig::new(ORIGIN);
        config.block_interval_ms = 5;
        Notary::open(&dir, signer, config).unwrap()
    };
    let notary = open();
    let mut receipts = Vec::new();
    for i in 0..5 {
        let submitted = notary.submit(vec![digest(i)]).await.unwrap();
        receipts.extend(submitted.receipts());
    }
    let before = notary.latest_checkpoint();
    notary.shutdown();
    drop(notary);

    let notary = open();
    assert_eq!(notary.latest_checkpoint(), before);
    let mut verifier = ReceiptVerifier::new(notary.verifier());
    for (i, receipt) in receipts.iter().enumerate() {
        verifier.verify(receipt, &digest(i as u32)).unwrap();
    }
    notary.submit(vec![digest(99)]).await.unwrap();
    let old = verifier.open_checkpoint(&before).unwrap();
    let new = verifier
        .open_checkpoint(&notary.latest_checkpoint())
        .unwrap();
    let proof = notary.consistency_proof(old.size, new.size).unwrap();
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap();
    notary.shutdown();
    drop(notary);

    // Another origin on the same data directory is refused.
    let signer = NoteSigner::new("other.test/log", SigningKey::from_bytes(&key)).unwrap();
    assert!(matches!(
        Notary::open(&dir, signer, NotaryConfig::new("other.test/log")),
        Err(notary::Error::Config { .. })
    ));
    // Another key cannot open the stored checkpoints.
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[4; 32])).unwrap();
    assert!(Notary::open(&dir, signer, NotaryConfig::new(ORIGIN)).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
