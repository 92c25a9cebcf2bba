//! The OpenAPI 3.1 document against the running service: every documented operation answers
//! (no 404 from the router, no 405), the document is well formed (unique operation ids, every
//! path template's parameters declared, security schemes defined), and no route is left out:
//! the service's routers register routes only through `utoipa_axum::routes!`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the report.

use std::path::Path;

use reqwest::blocking::Client;
use serde_json::Value;
use sigillo_e2e::{free_port, Registries, Server, TempDir};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn every_documented_route_answers_and_the_document_is_whole() {
    let dir = TempDir::new("openapi");
    let registries = Registries::start(3, 20);
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        &dir.0,
        &["--listen", &listen, "--registries", &registries.url],
    );
    let client = Client::new();
    let document: Value = client
        .get(format!("{}/openapi.json", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Sigillo");
    assert_eq!(document["servers"][0]["url"], server.url.as_str());
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    let paths = document["paths"].as_object().unwrap();
    let mut operation_ids = std::collections::HashSet::new();
    let mut operations = 0;
    for (path, item) in paths {
        let templated: Vec<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            operations += 1;
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} twice"
            );
            assert!(operation["summary"].is_string(), "{method} {path}");
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for name in &templated {
                assert!(
                    declared.contains(name),
                    "{method} {path}: {{{name}}} undeclared"
                );
            }
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
                }
            }

            // The route answers: the router found it (not the fallback's `no_route`) and the
            // method (not 405). No credentials are sent, so nothing is written.
            let concrete: String = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let response = client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", server.url),
                )
                .send()
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().unwrap();
            assert_ne!(status, 405, "{method} {path}");
            assert!(!body.contains("\"no_route\""), "{method} {path}: {body}");
        }
    }
    // Every module is there.
    for path in [
        "/v1/notary/entries",
        "/v1/tsa",
        "/v1/token/operations",
        "/v1/credentials/sd-jwt/issue",
        "/v1/calls/{call}/response",
        "/v1/wallets",
        "/v1/eligibility/{measure}/applications",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert!(operations >= 70, "{operations} operations");
    // Every schema reference resolves (the request bodies typed from the handlers' structs).
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{reference}"
        );
    }
    // An unknown path gets the fallback, in JSON.
    let unknown = client
        .get(format!("{}/v1/nothing", server.url))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().unwrap()["code"], "no_route");
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// Routes are registered with `routes!` (route and description together), never with a bare
/// `.route(`, in every crate the service is made of; only the simulated registries, a separate
/// process with its own API, are exempt.
#[test]
fn no_route_escapes_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offenders = Vec::new();
    for krate in ["access", "notary", "token", "wallet", "orchestrator"] {
        let mut stack = vec![root.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.ends_with("orchestrator/src/registries.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Unit tests may build throwaway routers.
                let code = text.split("#[cfg(test)]").next().unwrap();
                for needle in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                    if code.contains(needle) {
                        offenders.push(format!("{}: {needle}", path.display()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented routes: {offenders:?}");
}
