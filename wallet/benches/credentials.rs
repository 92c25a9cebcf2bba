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

criterion_group!(benches, sd_jwt, vc2);
criterion_main!(benches);
