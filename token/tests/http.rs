//! The ledger's HTTP API through `Router::oneshot`: submissions with per-operation results,
//! signed reads and who may make them, and every bad request refused with nothing changed.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::path::PathBuf;

use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use token::auth;
use token::ledger::{wall_clock, Clock, Ledger};
use token::model::Role;
use token::op::Body;
use token::testkit::{name, rules, Circuit};
use token::SignedOperation;
use tower::ServiceExt;

struct Fixture {
    circuit: Circuit,
    ledger: Ledger,
    app: Router,
    clock: Clock,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.ledger.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!(
        "sigillo-token-http-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut circuit = Circuit::new("lombardia", 11);
    let clock = wall_clock();
    let ledger = Ledger::open(&dir, circuit.genesis(), clock.clone()).unwrap();
    let setup = vec![
        circuit.enrol("comune", Role::Issuer, None),
        circuit.enrol("rossi", Role::Holder, Some("citizen")),
        circuit.enrol("bianchi", Role::Holder, Some("citizen")),
        circuit.enrol("cartoleria", Role::Merchant, Some("school_supplier")),
        circuit.enrol("revisore", Role::Auditor, None),
        circuit.define("dote", rules("comune", &["school_supplier"])),
        circuit.sign(
            "comune",
            Body::Mint {
                class: name("dote"),
                to: name("rossi"),
                amount: 10_000,
            },
        ),
    ];
    assert!(ledger
        .submit_async(setup)
        .await
        .unwrap()
        .iter()
        .all(Result::is_ok));
    let app = token::http::router(ledger.clone(), clock.clone());
    Fixture {
        circuit,
        ledger,
        app,
        clock,
        dir,
    }
}

async fn call(app: &Router, request: Request<HttpBody>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

fn post_operations(body: impl Into<HttpBody>) -> Request<HttpBody> {
    Request::post("/v1/token/operations")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

fn operations(ops: &[SignedOperation]) -> String {
    json!({ "operations": ops }).to_string()
}

/// A GET signed by `reader`.
fn signed_get(fixture: &mut Fixture, reader: &str, path: &str) -> Request<HttpBody> {
    let key = fixture.circuit.key(reader).clone();
    let header = auth::authorization(
        &fixture.circuit.ledger,
        &name(reader),
        &key,
        (fixture.clock)(),
        path,
    );
    Request::get(path)
        .header("authorization", header)
        .body(HttpBody::empty())
        .unwrap()
}

fn transfer(fixture: &mut Fixture, to: &str, amount: u64) -> SignedOperation {
    fixture.circuit.sign(
        "rossi",
        Body::Transfer {
            class: name("dote"),
            to: name(to),
            amount,
        },
    )
}

#[tokio::test]
async fn a_batch_answers_each_operation_and_a_resubmission_changes_nothing() {
    let mut fixture = fixture().await;
    let ops = vec![
        transfer(&mut fixture, "cartoleria", 2_500),
        transfer(&mut fixture, "cartoleria", 1_000_000),
    ];
    let (status, body) = call(&fixture.app, post_operations(operations(&ops))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], 1);
    assert_eq!(body["results"][0]["status"], "applied");
    assert_eq!(body["results"][0]["duplicate"], false);
    assert_eq!(body["results"][1]["status"], "rejected");
    assert_eq!(body["results"][1]["code"], "insufficient_balance");
    assert_eq!(body["results"][1]["available"], 7_500);
    let head = body["head"].clone();
    let index = body["results"][0]["index"].clone();

    let (_, again) = call(&fixture.app, post_operations(operations(&ops[..1]))).await;
    assert_eq!(again["results"][0]["duplicate"], true);
    assert_eq!(again["results"][0]["index"], index);
    assert_eq!(again["head"], head);

    // The holder reads its balance; the merchant its settlement report (empty so far).
    let request = signed_get(&mut fixture, "rossi", "/v1/token/accounts/rossi");
    let (status, account) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["balances"][0]["balance"], 7_500);
    let request = signed_get(
        &mut fixture,
        "cartoleria",
        "/v1/token/settlements/cartoleria",
    );
    let (status, report) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["settlements"], json!([]));
    // Supply is public.
    let request = Request::get("/v1/token/classes/dote")
        .body(HttpBody::empty())
        .unwrap();
    let (status, class) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(class["supply"]["minted"], 10_000);
    assert_eq!(class["supply"]["balances"], 10_000);
}

#[tokio::test]
async fn a_holder_sees_only_its_own_history_and_an_auditor_sees_all() {
    let mut fixture = fixture().await;
    let pay = transfer(&mut fixture, "cartoleria", 100);
    call(&fixture.app, post_operations(operations(&[pay]))).await;
    let request = signed_get(&mut fixture, "rossi", "/v1/token/accounts/rossi/history");
    let (status, history) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let kinds: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["decoded"]["body"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["enrol", "mint", "transfer"]);

    let request = signed_get(&mut fixture, "bianchi", "/v1/token/accounts/rossi/history");
    let (status, error) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "forbidden");
    let request = signed_get(&mut fixture, "bianchi", "/v1/token/journal");
    let (status, _) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for path in [
        "/v1/token/accounts/rossi/history",
        "/v1/token/journal?from=0&limit=10",
        "/v1/token/participants",
        "/v1/token/settlements/cartoleria",
    ] {
        let request = signed_get(&mut fixture, "revisore", path);
        let (status, body) = call(&fixture.app, request).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // Issuers read settlement reports; other holders do not.
    let request = signed_get(&mut fixture, "comune", "/v1/token/settlements/cartoleria");
    assert_eq!(call(&fixture.app, request).await.0, StatusCode::OK);
    let request = signed_get(&mut fixture, "rossi", "/v1/token/settlements/cartoleria");
    assert_eq!(call(&fixture.app, request).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reads_without_a_valid_signed_request_are_refused() {
    let mut fixture = fixture().await;
    let path = "/v1/token/accounts/rossi";
    let request = Request::get(path).body(HttpBody::empty()).unwrap();
    let (status, error) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "unauthenticated");

    // Signed for another path.
    let mut request = signed_get(&mut fixture, "rossi", "/v1/token/accounts/bianchi");
    *request.uri_mut() = path.parse().unwrap();
    let (status, error) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "bad_signature");

    // Stale.
    let key = fixture.circuit.key("rossi").clone();
    let old = (fixture.clock)() - auth::READ_SKEW_MS_MAX - 1_000;
    let header = auth::authorization(&fixture.circuit.ledger, &name("rossi"), &key, old, path);
    let request = Request::get(path)
        .header("authorization", header)
        .body(HttpBody::empty())
        .unwrap();
    let (status, error) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "stale_authorization");

    // Signed with someone else's key in rossi's name.
    let key = fixture.circuit.key("bianchi").clone();
    let header = auth::authorization(
        &fixture.circuit.ledger,
        &name("rossi"),
        &key,
        (fixture.clock)(),
        path,
    );
    let request = Request::get(path)
        .header("authorization", header)
        .body(HttpBody::empty())
        .unwrap();
    let (status, _) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Malformed, and an unknown participant.
    let request = Request::get(path)
        .header("authorization", "Sigillo-Signature participant=rossi")
        .body(HttpBody::empty())
        .unwrap();
    let (status, error) = call(&fixture.app, request).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed_authorization"))
    );
    let request = signed_get(&mut fixture, "sconosciuto", path);
    assert_eq!(
        call(&fixture.app, request).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn malformed_oversized_and_empty_batches_are_refused_and_change_nothing() {
    let mut fixture = fixture().await;
    let head = fixture.ledger.head();
    let good = transfer(&mut fixture, "cartoleria", 1);
    let mut value = json!({ "operations": [good.clone(), good.clone()] });
    value["operations"][1]["operation"]["body"]["amount"] = json!(-1);
    let (status, error) = call(&fixture.app, post_operations(value.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "operations[1]");
    assert_eq!(error["error"]["code"], "malformed");

    for body in [
        "not json".to_owned(),
        json!({ "operations": [good.clone()], "extra": 1 }).to_string(),
        json!({ "ops": [] }).to_string(),
    ] {
        let (status, error) = call(&fixture.app, post_operations(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let (status, error) = call(
        &fixture.app,
        post_operations(json!({ "operations": [] }).to_string()),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("batch_size"))
    );
    let oversized = vec![good.clone(); token::state::BATCH_OPERATIONS_MAX + 1];
    let (status, error) = call(&fixture.app, post_operations(operations(&oversized))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("batch_size"))
    );
    let huge = vec![b' '; token::http::REQUEST_BODY_BYTES_MAX + 1];
    let (status, error) = call(&fixture.app, post_operations(huge)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    assert_eq!(fixture.ledger.head(), head);

    // A valid batch whose operation is refused still changes nothing.
    let mut tampered = good;
    tampered.operation.body = Body::Transfer {
        class: name("dote"),
        to: name("cartoleria"),
        amount: 9_999,
    };
    let (status, body) = call(&fixture.app, post_operations(operations(&[tampered]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"][0]["code"], "bad_signature");
    assert_eq!(fixture.ledger.head(), head);
}

#[tokio::test]
async fn the_ledger_describes_itself_publicly() {
    let fixture = fixture().await;
    let request = Request::get("/v1/token/ledger")
        .body(HttpBody::empty())
        .unwrap();
    let (status, info) = call(&fixture.app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["ledger"], "lombardia");
    assert_eq!(info["head"]["length"], 7);
    assert!(info["authority_did"]
        .as_str()
        .unwrap()
        .starts_with("did:key:z6Mk"));
    let request = Request::get("/v1/token/stamps?limit=0")
        .body(HttpBody::empty())
        .unwrap();
    assert_eq!(call(&fixture.app, request).await.0, StatusCode::BAD_REQUEST);
    let request = Request::get("/v1/token/classes/nessuna")
        .body(HttpBody::empty())
        .unwrap();
    assert_eq!(call(&fixture.app, request).await.0, StatusCode::NOT_FOUND);
}
