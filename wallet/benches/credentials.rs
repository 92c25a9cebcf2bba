//! Issue and verify speed in the library: SD-JWT VC (ES256, 10 disclosable claims) and VC 2.0
//! (eddsa-rdfc-2022 through ssi, and eddsa-jcs-2022). Run with `cargo bench -p wallet`.

#![allow(clippy::unwrap_used)] // a benchmark fails loudly on purpose
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Map, Value};
use wallet::issuers::{default_issuers, ExternalIssuer};
use wallet::jose::SigningKey;
use wallet::sdjwt::{self, DisclosurePolicy};
use wallet::service::{IssueRequest, VerifyOptions};
use wallet::vc::Suite;
use wallet::{Credentials, CredentialsConfig};

fn ten_claims() -> Map<String, Value> {
    (0..10)
        .map(|i| (format!("claim_{i}"), json!(format!("value {i}"))))
        .collect()
}

fn credentials(dir: &std::path::Path, external: Vec<ExternalIssuer>) -> Credentials {
    Credentials::open(CredentialsConfig {
        access: None,
        data_dir: dir.to_path_buf(),
        public_url: "http://127.0.0.1:9".into(),
        did_host: "127.0.0.1:9".into(),
        issuers: default_issuers(),
        external,
    })
    .unwrap()
}

fn sd_jwt(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sigillo-bench-sdjwt-{}", std::process::id()));
    let (key, _) = SigningKey::generate_p256();
    let jwk = key.public().to_jwk();
    let issuer = "https://bench.example";
    let external = ExternalIssuer {
        id: issuer.into(),
        types: vec!["*".into()],
        document: None,
        jwk: Some(jwk),
    };
    let service = credentials(&dir, vec![external]);
    let (holder, _) = SigningKey::generate_p256();
    let clear = |now: i64| {
        json!({
            "iss": issuer, "iat": now, "nbf": now, "exp": now + 86_400, "vct": "urn:bench:1",
            "cnf": {"jwk": holder.public().to_jwk()},
            "status": {"status_list": {"idx": 7, "uri": "http://127.0.0.1:9/v1/credentials/status-lists/x/0"}},
        })
        .as_object()
        .unwrap()
        .clone()
    };
    let mut group = c.benchmark_group("sd-jwt-vc-es256-10-claims");
    group.throughput(Throughput::Elements(1));
    group.bench_function("issue", |b| {
        b.iter(|| {
            sdjwt::issue(
                &key,
                "k",
                "dc+sd-jwt",
                clear(wallet::now_seconds()),
                ten_claims(),
                DisclosurePolicy::default(),
            )
            .unwrap()
        })
    });
    let issued = sdjwt::issue(
        &key,
        "k",
        "dc+sd-jwt",
        clear(wallet::now_seconds()),
        ten_claims(),
        DisclosurePolicy::default(),
    )
    .unwrap();
    group.bench_function("verify", |b| {
        b.iter(|| {
            service
                .verify_sd_jwt(&issued.compact, &VerifyOptions::default())
                .unwrap()
        })
    });
    let presentation = sdjwt::bind(
        &issued.compact,
        &holder,
        "aud",
        "nonce",
        wallet::now_seconds(),
    );
    let options = VerifyOptions {
        aud: Some("aud".into()),
        nonce: Some("nonce".into()),
        now: None,
    };
    group.bench_function("verify-presentation", |b| {
        b.iter(|| service.verify_sd_jwt(&presentation, &options).unwrap())
    });
    group.finish();

    // The service path: a batch of 100 issued, schema-checked, status entries allocated and
    // flushed to disk once.
    let residenza = json!({
        "fiscal_code": "RSSGLI85M41F205X", "given_name": "Giulia", "family_name": "Rossi", "birth_date": "1985-08-01",
        "address": {"street_address": "Via Libertà 12", "locality": "Cinisello Balsamo", "postal_code": "20092", "province": "MI", "region": "Lombardia"},
        "resident_since": "2015-03-01"
    });
    let requests: Vec<IssueRequest> = (0..100)
        .map(|_| IssueRequest::new("residenza", residenza.as_object().unwrap().clone(), None))
        .collect();
    let comune = service.issuer("comune-milano").unwrap();
    let mut group = c.benchmark_group("sd-jwt-vc-service");
    group.throughput(Throughput::Elements(100));
    group.sample_size(20);
    group.bench_function("issue-batch-100", |b| {
        b.iter(|| service.issue_sd_jwt(comune, &requests).unwrap())
    });
    group.finish();
    drop(service);
    let _ = std::fs::remove_dir_all(dir);
}

fn vc2(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sigillo-bench-vc-{}", std::process::id()));
    let service = credentials(&dir, Vec::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let inps = service.issuer("inps").unwrap();
    let now = wallet::now_seconds();
    let unsigned = json!({
        "@context": [wallet::vc::CREDENTIALS_V2, wallet::types::CONTEXT_URL],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential", "IseeCredential"],
        "issuer": inps.did,
        "validFrom": wallet::vc::datetime(now),
        "validUntil": wallet::vc::datetime(now + 86_400),
        "credentialSubject": {
            "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
            "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
        },
    });
    for suite in [Suite::EddsaRdfc2022, Suite::EddsaJcs2022] {
        let mut group = c.benchmark_group(format!("vc2-{}", suite.name()));
        group.throughput(Throughput::Elements(1));
        group.bench_function("issue", |b| {
            b.iter(|| {
                runtime
                    .block_on(wallet::vc::sign(
                        &service,
                        inps,
                        unsigned.clone(),
                        suite,
                        now,
                    ))
                    .unwrap()
            })
        });
        let signed = runtime
            .block_on(wallet::vc::sign(
                &service,
                inps,
                unsigned.clone(),
                suite,
                now,
            ))
            .unwrap();
        group.bench_function("verify", |b| {
            b.iter(|| {
                runtime
                    .block_on(service.verify_vc(&signed, &VerifyOptions::default()))
                    .unwrap()
            })
        });
        group.finish();
    }
    drop(service);
    let _ = std::fs::remove_dir_all(dir);
}

/// A company's wallet answering calls (OpenID4VP): match the DCQL query, disclose, sign the
/// KB-JWT; and the call's platform checking the answer (every credential check, the call's
/// claims, issuers and rules), for a call asking one credential and one asking two.
fn presentations(c: &mut Criterion) {
    use std::sync::Arc;
    use wallet::holder::{HolderWallet, OwnerKind};
    use wallet::holder_client::{plan, response_body, PresentationRequest};
    use wallet::oid4vp::Calls;
    use wallet::service::Holder;

    let dir = std::env::temp_dir().join(format!("sigillo-bench-vp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let service = Arc::new(credentials(&dir.join("wallet"), Vec::new()));
    let signer =
        notary::NoteSigner::new("bench/log", ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
            .unwrap();
    let notary = notary::Notary::open(
        &dir.join("notary"),
        signer,
        notary::NotaryConfig::new("bench/log"),
    )
    .unwrap();
    let calls = Calls::new(service.clone(), notary.clone());
    let mut holder = HolderWallet::create(
        &dir.join("w"),
        "Bench S.r.l.",
        OwnerKind::Business,
        "bench pass",
    )
    .unwrap();
    let jwk = holder
        .holder_key(wallet::jose::Algorithm::Es256)
        .public()
        .to_jwk();
    let registration = json!({
        "vat_number": "01234567890", "company_name": "Bench S.r.l.",
        "seat": {"street_address": "Via Roma 1", "locality": "Milano", "postal_code": "20121", "province": "MI", "region": "Lombardia"},
        "ateco_code": "62.01", "employees": 12, "company_status": "attiva"
    });
    let durc = json!({"vat_number": "01234567890", "regular": true, "issue_date": "2026-10-01",
                      "valid_until": "2027-01-29", "protocol": "INPS_12345678"});
    for (issuer, kind, claims) in [
        ("camera-commercio-milano", "registro-imprese", registration),
        ("inps", "durc", durc),
    ] {
        let issuer = service.issuer(issuer).unwrap();
        let request = IssueRequest::new(
            kind,
            claims.as_object().unwrap().clone(),
            Some(Holder::Jwk(jwk.clone())),
        );
        let issued = service.issue_sd_jwt(issuer, &[request]).unwrap();
        holder.add_credential(
            "dc+sd-jwt",
            kind,
            &issuer.did,
            issued[0].credential.as_str().unwrap().to_owned(),
            None,
            Some(issuer.p256.public().to_jwk()),
        );
    }
    let visura = json!({"id": "visura", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:sigillo:vct:registro-imprese:1"]},
        "claims": [{"path": ["seat", "region"]}, {"path": ["employees"]}, {"path": ["ateco_code"]}]});
    let durc_query = json!({"id": "durc", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
        "claims": [{"path": ["regular"]}, {"path": ["valid_until"]}]});
    let region = service.issuer("regione-lombardia").unwrap();
    for (name, queries) in [
        ("1-credential", vec![durc_query.clone()]),
        ("2-credentials", vec![visura, durc_query]),
    ] {
        let mut rules =
            vec![json!({"credential": "durc", "path": ["regular"], "op": "==", "value": true})];
        if queries.len() == 2 {
            rules.push(
                json!({"credential": "visura", "path": ["employees"], "op": "<", "value": 50}),
            );
        }
        let call = calls
            .publish(
                region,
                json!({"title": "Bench", "dcql_query": {"credentials": queries}, "rules": rules})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .unwrap();
        let call_id = call["id"].as_str().unwrap();
        let authorization = calls.request(call_id).unwrap();
        let parameters = &authorization.parameters;
        let request = PresentationRequest {
            client_id: parameters["client_id"].as_str().unwrap().into(),
            response_uri: parameters["response_uri"].as_str().unwrap().into(),
            nonce: parameters["nonce"].as_str().unwrap().into(),
            state: parameters["state"].as_str().unwrap().into(),
            dcql_query: parameters["dcql_query"].clone(),
        };
        let mut group = c.benchmark_group(format!("oid4vp-{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("present (match, disclose, KB-JWT)", |b| {
            b.iter(|| {
                let planned = plan(&holder, &request).unwrap();
                response_body(&holder, &request, &planned).unwrap()
            })
        });
        let planned = plan(&holder, &request).unwrap();
        let body = response_body(&holder, &request, &planned).unwrap();
        let vp_token = form_urlencoded::parse(body.as_bytes())
            .find(|(key, _)| key == "vp_token")
            .unwrap()
            .1
            .into_owned();
        group.bench_function("check (credentials, claims, rules)", |b| {
            b.iter(|| calls.check(call_id, &vp_token, &request.state).unwrap())
        });
        group.finish();
    }
    notary.shutdown();
    drop(calls);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, sd_jwt, vc2, presentations);
criterion_main!(benches);
