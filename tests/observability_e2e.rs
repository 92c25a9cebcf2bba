//! `/healthz`, `/readyz` and `/metrics` on the real `sigillo serve`: requests are counted by
//! route pattern (an id in the path makes no new series) and status, and the notary's and the
//! token ledger's gauges follow what happened.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use reqwest::blocking::Client;
use serde_json::{json, Value};
use sigillo_e2e::{Server, TempDir};

#[test]
fn health_readiness_and_metrics() {
    let dir = TempDir::new("observability-e2e");
    let server = Server::start(&dir.0, &[]);
    let client = Client::new();
    let url = &server.url;
    let health: Value = client
        .get(format!("{url}/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = client.get(format!("{url}/readyz")).send().unwrap();
    assert_eq!(ready.status(), 200);

    let operator = server.token("operator");
    // Two stamps, a refused submission, two lookups of unknown calls.
    for entry in ["11", "22"] {
        let response = client
            .post(format!("{url}/v1/notary/entries"))
            .bearer_auth(&operator)
            .json(&json!({"entries": [entry.repeat(32)]}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let refused = client
        .post(format!("{url}/v1/notary/entries"))
        .bearer_auth(&operator)
        .json(&json!({"entries": ["not hex"]}))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    for id in ["a", "b"] {
        client.get(format!("{url}/v1/calls/{id}")).send().unwrap();
    }
    // No route: one `unmatched` series, whatever the path; a method of one's own is named.
    for path in ["/nowhere", "/v1/nowhere/else"] {
        client.get(format!("{url}{path}")).send().unwrap();
    }
    let custom = reqwest::Method::from_bytes(b"PROPFIND").unwrap();
    client
        .request(custom, format!("{url}/nowhere"))
        .send()
        .unwrap();

    let response = client.get(format!("{url}/metrics")).send().unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().unwrap();
    let sample = |name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let stamped =
        r#"sigillo_http_requests_total{method="POST",route="/v1/notary/entries",status="201"}"#;
    assert_eq!(sample(stamped), 2.0);
    let bad =
        r#"sigillo_http_requests_total{method="POST",route="/v1/notary/entries",status="400"}"#;
    assert_eq!(sample(bad), 1.0);
    // Both unknown calls under one series: the route pattern, not the id.
    let calls =
        r#"sigillo_http_requests_total{method="GET",route="/v1/calls/{call}",status="404"}"#;
    assert_eq!(sample(calls), 2.0);
    let unmatched = r#"sigillo_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(unmatched), 2.0);
    let custom = r#"sigillo_http_requests_total{method="PROPFIND",route="unmatched",status="#;
    assert_eq!(sample(custom), 1.0);
    assert!(sample("sigillo_notary_blocks") >= 1.0);
    assert_eq!(sample("sigillo_notary_queue_entries"), 0.0);
    assert!(text.contains("sigillo_http_request_duration_seconds_bucket{le="));
    assert!(text.contains("# TYPE sigillo_token_journal_entries gauge"));
}
