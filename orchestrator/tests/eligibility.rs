//! The eligibility service in one process against the simulated registries on a loopback port:
//! decisions match the rules applied to the synthetic population, faults give pending and never
//! a false eligible, the API refuses bad input and callers, and every decision replays.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the report.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use access::{Access, Role};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use orchestrator::client::{ClientConfig, RegistryClient};
use orchestrator::eligibility::{ApplicationRequest, Eligibility};
use orchestrator::evidence::{self, Answer, Exchange};
use orchestrator::population::{Family, Population};
use orchestrator::registries::{self, Fault, Registry};
use orchestrator::rules::{Measure, Outcome};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const SEED: u64 = 11;
const FAMILIES: usize = 400;
const DATE: &str = "2025-10-15";

fn reference_date() -> time::Date {
    time::macros::date!(2025 - 10 - 01)
}

struct Setup {
    dir: PathBuf,
    registries: String,
    service: Arc<Eligibility>,
    app: axum::Router,
    platform: String,
    operator: String,
    /// A platform whose scope is the business call only.
    pmi_platform: String,
    notary: notary::Notary,
    keys: HashMap<Registry, wallet::jose::PublicKey>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup(name: &str) -> Setup {
    let dir =
        std::env::temp_dir().join(format!("sigillo-eligibility-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let router = registries::router(registries::Config {
        seed: SEED,
        families: FAMILIES,
        reference_date: reference_date(),
        faults: HashMap::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registries = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let keys: HashMap<Registry, wallet::jose::PublicKey> = Registry::ALL
        .iter()
        .map(|&r| (r, registries::registry_key(SEED, r).public()))
        .collect();
    let mut config = ClientConfig::new(&registries);
    config.deadline = Duration::from_millis(1_500);
    config.attempt_timeout = Duration::from_millis(600);
    config.breaker_failures = 1_000;
    let client = RegistryClient::new(config, keys.clone());
    let signer = notary::NoteSigner::new(
        "test/eligibility",
        ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
    )
    .unwrap();
    let mut notary_config = notary::NotaryConfig::new("test/eligibility");
    notary_config.block_interval_ms = 20;
    let notary = notary::Notary::open(&dir.join("notary"), signer, notary_config).unwrap();
    let store = orchestrator::store::Store::open(&dir.join("db")).unwrap();
    let service = Arc::new(Eligibility::new(
        Measure::built_in(),
        client,
        store,
        notary.clone(),
        None,
        None,
    ));
    let access = Access::open(&dir.join("access")).unwrap();
    let token =
        |name: &str, role: Role, scope: &str| access.create(name, role, &[scope.into()]).unwrap();
    Setup {
        platform: token("platform", Role::Platform, "*"),
        operator: token("operator", Role::Operator, "*"),
        pmi_platform: token("pmi", Role::Platform, "bando-pmi"),
        app: orchestrator::http::router(service.clone(), Arc::new(access)),
        dir,
        registries,
        service,
        notary,
        keys,
    }
}

fn population() -> Population {
    Population::generate(SEED, FAMILIES, reference_date())
}

fn expected(population: &Population, family: &Family) -> (Outcome, Option<u64>) {
    let measures = Measure::built_in();
    let version = measures[0].version_for(DATE, None).unwrap();
    let evaluation = version.evaluate(&population.family_facts(family, DATE));
    (evaluation.outcome, evaluation.monthly_amount_cents)
}

/// The first family the rules find eligible.
fn an_eligible_family(population: &Population) -> &Family {
    population
        .families
        .iter()
        .find(|f| expected(population, f).0 == Outcome::Eligible)
        .expect("the population has an eligible family")
}

fn application(family: &Family) -> ApplicationRequest {
    ApplicationRequest {
        fiscal_code: Some(family.parents[0].fiscal_code.to_string()),
        child_fiscal_code: Some(family.children.last().unwrap().fiscal_code.to_string()),
        vat: None,
        application_date: Some(DATE.into()),
        token_key: None,
    }
}

fn outcome_of(decision: &Value) -> Outcome {
    serde_json::from_value(decision["outcome"].clone()).unwrap()
}

async fn bundle(setup: &Setup, id: &str) -> Value {
    // The receipt arrives once the notary's block is durable (20 ms blocks here).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let bundle = setup.service.evidence(id).unwrap();
        if !bundle["receipt"].is_null()
            && (bundle["review"].is_null() || !bundle["review_receipt"].is_null())
        {
            return bundle;
        }
        assert!(Instant::now() < deadline, "no receipt for {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_match_the_rules_on_the_population_and_replay() {
    let setup = setup("population").await;
    let population = population();
    let measures = Measure::built_in();
    let (mut automatic, mut requirements) = (0, 0);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = Vec::new();
    for family in population.families.iter().take(200) {
        let decision = setup
            .service
            .apply("nidi-gratis", application(family))
            .await
            .unwrap();
        let (outcome, amount) = expected(&population, family);
        assert_eq!(outcome_of(&decision), outcome, "{decision:#}");
        assert_eq!(
            decision["monthly_amount_cents"].as_u64(),
            amount,
            "{decision:#}"
        );
        for requirement in decision["requirements"].as_array().unwrap() {
            requirements += 1;
            if requirement["status"] != "undetermined" {
                automatic += 1;
            }
        }
        *outcomes
            .entry(decision["outcome"].as_str().unwrap().to_owned())
            .or_default() += 1;
        ids.push(decision["decision_id"].as_str().unwrap().to_owned());
    }
    // Every outcome occurs, and at least 95% of requirements are settled by the registries.
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    let share = automatic as f64 / requirements as f64;
    assert!(share >= 0.95, "{share} of requirements automatic");
    // The 2019/20 version, for an application filed then: the ordinary ISEE, and both
    // parents' jobs, asked of the job centres for the parents ANPR names.
    let earlier = measures[0].version_for("2019-10-15", None).unwrap();
    let mut asked_job_centres = false;
    for family in population.families.iter().take(60) {
        let mut request = application(family);
        request.application_date = Some("2019-10-15".into());
        let decision = setup.service.apply("nidi-gratis", request).await.unwrap();
        assert_eq!(decision["version"], "nidi-gratis-2019-20");
        let want = earlier.evaluate(&population.family_facts(family, "2019-10-15"));
        assert_eq!(outcome_of(&decision), want.outcome, "{decision:#}");
        assert_eq!(
            decision["monthly_amount_cents"].as_u64(),
            want.monthly_amount_cents
        );
        let evidence = setup
            .service
            .evidence(decision["decision_id"].as_str().unwrap())
            .unwrap();
        let lavoro = evidence["evidence"]["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["registry"] == "lavoro")
            .count();
        if family.in_anpr {
            assert_eq!(lavoro, family.parents.len(), "one request per parent");
            asked_job_centres = true;
        }
        ids.push(decision["decision_id"].as_str().unwrap().to_owned());
    }
    assert!(asked_job_centres);
    // Businesses too.
    for business in population.businesses.iter().take(40) {
        let request = ApplicationRequest {
            fiscal_code: None,
            child_fiscal_code: None,
            vat: Some(business.vat.to_string()),
            application_date: Some(DATE.into()),
            token_key: None,
        };
        let decision = setup.service.apply("bando-pmi", request).await.unwrap();
        let facts = population.business_facts(business, DATE);
        let version = measures[1].version_for(DATE, None).unwrap();
        assert_eq!(
            outcome_of(&decision),
            version.evaluate(&facts).outcome,
            "{decision:#}"
        );
        ids.push(decision["decision_id"].as_str().unwrap().to_owned());
    }
    // Every decision replays from its evidence, with its receipt.
    let verifier = setup.notary.verifier();
    for id in &ids {
        let bundle = bundle(&setup, id).await;
        let report = orchestrator::replay::replay(&bundle, &setup.keys, Some(&verifier), &measures)
            .unwrap_or_else(|error| panic!("{id}: {error}"));
        assert_eq!(report.decision_id, *id);
        assert_eq!(
            report.outcome,
            setup.service.decision(id).unwrap()["automatic_outcome"]
        );
    }
}

/// Replays `bundle` after `tamper`, expecting the error to mention `expect`.
fn refused(setup: &Setup, bundle: &Value, tamper: impl FnOnce(&mut Value), expect: &str) {
    let mut changed = bundle.clone();
    tamper(&mut changed);
    let verifier = setup.notary.verifier();
    let error =
        orchestrator::replay::replay(&changed, &setup.keys, Some(&verifier), &Measure::built_in())
            .expect_err(expect)
            .to_string();
    assert!(error.contains(expect), "{error} (wanted {expect})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_evidence_is_detected() {
    let setup = setup("tamper").await;
    let population = population();
    let family = an_eligible_family(&population);
    let decision = setup
        .service
        .apply("nidi-gratis", application(family))
        .await
        .unwrap();
    let id = decision["decision_id"].as_str().unwrap();
    let bundle = bundle(&setup, id).await;
    let isee_exchange = bundle["evidence"]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["registry"] == "inps")
        .unwrap();
    // The INPS answer with its ISEE changed; with `and_digest`, the digest recomputed too.
    let change_isee = |b: &mut Value, and_digest: bool| {
        let exchange = &mut b["evidence"]["exchanges"][isee_exchange];
        let body = exchange["body"].as_str().unwrap().to_owned();
        let changed = body.replacen("\"isee_minorenni_cents\":", "\"isee_minorenni_cents\":1", 1);
        if and_digest {
            exchange["digest"] = registries::body_digest(changed.as_bytes()).into();
        }
        exchange["body"] = changed.into();
    };
    // A changed ISEE in the answer: the digest no longer matches.
    refused(
        &setup,
        &bundle,
        |b| change_isee(b, false),
        "the body's digest",
    );
    // The body and its digest changed together: the registry's signature no longer covers it.
    refused(
        &setup,
        &bundle,
        |b| change_isee(b, true),
        "does not cover the digest",
    );
    // An answer moved to another request.
    refused(
        &setup,
        &bundle,
        |b| {
            let request = b["evidence"]["exchanges"][isee_exchange]["request"]
                .as_str()
                .unwrap()
                .replace("fields=", "fields=isee_ordinario_cents,");
            b["evidence"]["exchanges"][isee_exchange]["request"] = request.into();
        },
        "the signature's request",
    );
    // Another purpose.
    refused(
        &setup,
        &bundle,
        |b| b["evidence"]["exchanges"][isee_exchange]["purpose"] = "marketing".into(),
        "purposeId",
    );
    // The recorded outcome changed.
    refused(
        &setup,
        &bundle,
        |b| b["evidence"]["evaluation"]["outcome"] = "not_eligible".into(),
        "does not reach the recorded decision",
    );
    // A rule parameter changed (and the hash with it): not the published version.
    refused(
        &setup,
        &bundle,
        |b| {
            b["evidence"]["rule_set"]["parameters"]["isee_minorenni_max_cents"] = json!(9_999_999);
        },
        "it hashes to",
    );
    // A field nobody re-evaluates (the decision time): the receipt catches it.
    refused(
        &setup,
        &bundle,
        |b| b["evidence"]["decided_at"] = "2025-01-01T00:00:00Z".into(),
        "notary receipt",
    );
    // An exchange removed: its facts go missing and the outcome differs.
    refused(
        &setup,
        &bundle,
        |b| {
            b["evidence"]["exchanges"]
                .as_array_mut()
                .unwrap()
                .remove(isee_exchange);
        },
        "does not reach the recorded decision",
    );
    // No receipt.
    refused(
        &setup,
        &bundle,
        |b| b["receipt"] = Value::Null,
        "notary receipt",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_answers_verify_and_each_forgery_is_named() {
    let setup = setup("forgery").await;
    let population = population();
    let code = population.families[0].parents[0].fiscal_code.to_string();
    let config = ClientConfig::new(&setup.registries);
    let client = RegistryClient::new(config, setup.keys.clone());
    let request = evidence::Request {
        registry: Registry::Anpr,
        path: Registry::Anpr.request(&code, &["residenza"]),
    };
    let (exchange, answer) = client.fetch(&request, "test").await;
    let Answer::Found(record) = answer else {
        panic!("{exchange:?}")
    };
    assert!(
        record.get("famiglia").is_none(),
        "only the fields asked for: {record}"
    );
    assert!(record.get("residenza").is_some());
    let check = |change: &dyn Fn(&mut Exchange), expect: &str| {
        let mut forged = exchange.clone();
        change(&mut forged);
        let error = evidence::verify(&forged, &setup.keys)
            .expect_err(expect)
            .to_string();
        assert!(error.contains(expect), "{error} (wanted {expect})");
    };
    check(
        &|e| e.registry = "inps".into(),
        "the request is not to inps",
    );
    check(&|e| e.registry = "agenzia-entrate".into(), "no trusted key");
    check(&|e| e.status = Some(404), "the signature's status");
    check(
        &|e| e.digest = Some("SHA-256=AAAA".into()),
        "the body's digest",
    );
    check(&|e| e.signature = None, "a signed answer has");
    // INPS's key signing an ANPR answer.
    let inps = registries::registry_key(SEED, Registry::Inps);
    let claims = wallet::jose::Jws::parse(exchange.signature.as_deref().unwrap())
        .unwrap()
        .payload;
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "JWT".into());
    let by_inps = inps.sign_jws(header, Some("anpr"), &Value::Object(claims));
    check(
        &move |e| e.signature = Some(by_inps.clone()),
        "is not anpr's",
    );
    // A signed "not found" is an answer, not a failure.
    let unknown =
        orchestrator::codes::FiscalCode::compute("Nessuno", "Mai", reference_date(), false, "F205");
    let request = evidence::Request {
        registry: Registry::Inps,
        path: Registry::Inps.request(unknown.as_str(), &["dsu"]),
    };
    let (exchange, answer) = client.fetch(&request, "test").await;
    assert_eq!(answer, Answer::NotFound, "{exchange:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_refuse_requests_without_purpose_or_with_unknown_fields() {
    let setup = setup("registry-input").await;
    let http = reqwest::Client::new();
    let code = population().families[0].parents[0].fiscal_code.to_string();
    let base = &setup.registries;
    let status = |response: reqwest::Response| response.status().as_u16();
    let long_purpose = "p".repeat(200);
    for (path, purpose) in [
        (format!("/anpr/v1/residenti/{code}"), None),
        (format!("/anpr/v1/residenti/{code}?fields=isee"), Some("p")),
        ("/anpr/v1/residenti/RSSMRA85T10A562X".to_owned(), Some("p")),
        (
            format!("/anpr/v1/residenti/{code}"),
            Some(long_purpose.as_str()),
        ),
        ("/durc/v1/durc/12345678901".to_owned(), Some("p")),
    ] {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(purpose) = purpose {
            request = request.header("purpose-id", purpose);
        }
        assert_eq!(
            status(request.send().await.unwrap()),
            400,
            "{path} {purpose:?}"
        );
    }
    let put = |registry: &str, body: Value| {
        http.put(format!("{base}/admin/faults/{registry}"))
            .json(&body)
            .send()
    };
    assert_eq!(
        status(put("inps", json!({"error_rate": 2.0})).await.unwrap()),
        400
    );
    assert_eq!(
        status(put("inps", json!({"latency": 5})).await.unwrap()),
        400
    );
    assert_eq!(status(put("nowhere", json!({})).await.unwrap()), 404);
    let faults: Value = http
        .get(format!("{base}/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        faults["inps"],
        json!({"latency_ms": 0, "error_rate": 0.0, "timeout_rate": 0.0, "outage": false})
    );
    assert_eq!(
        Fault::parse("latency_ms=20,error_rate=0.5")
            .unwrap()
            .error_rate,
        0.5
    );
    assert!(Fault::parse("latency_ms=x").is_err());
    assert!(Fault::parse("speed=1").is_err());
}

async fn set_fault(setup: &Setup, registry: &str, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/admin/faults/{registry}", setup.registries))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_faults_give_pending_within_the_deadline_and_never_a_false_eligible() {
    let setup = setup("faults").await;
    let population = population();
    let families: Vec<&Family> = population.families.iter().take(40).collect();
    let businesses = &population.businesses[..10];
    for (fault, name) in [
        (json!({"outage": true}), "down"),
        (
            json!({"latency_ms": 10_000, "latency_p99_ms": 10_000}),
            "slow (10 s)",
        ),
        (json!({"error_rate": 0.5}), "erroring 50%"),
    ] {
        set_fault(&setup, "inps", fault).await;
        let mut pending = 0;
        let applications = families.iter().map(|family| async {
            let started = Instant::now();
            let decision = setup
                .service
                .apply("nidi-gratis", application(family))
                .await
                .unwrap();
            (decision, started.elapsed(), *family)
        });
        for (decision, elapsed, family) in futures::future::join_all(applications).await {
            let (truth, _) = expected(&population, family);
            let outcome = outcome_of(&decision);
            assert!(
                elapsed < Duration::from_secs(3),
                "{name}: answered in {elapsed:?}"
            );
            if outcome == Outcome::Eligible {
                assert_eq!(
                    truth,
                    Outcome::Eligible,
                    "{name}: a false eligible: {decision:#}"
                );
            }
            if outcome == Outcome::PendingManualReview {
                pending += 1;
                let reasons = decision["requirements"].to_string();
                assert!(
                    reasons.contains("inps unavailable") || truth == Outcome::PendingManualReview,
                    "{name}: {reasons}"
                );
            }
            if name != "erroring 50%" && truth != Outcome::NotEligible {
                assert_eq!(
                    outcome,
                    Outcome::PendingManualReview,
                    "{name}: {decision:#}"
                );
            }
        }
        // Retries absorb most of a 50% error rate; the fault was met all the same.
        let inps = setup
            .service
            .client()
            .health()
            .into_iter()
            .find(|h| h.registry == "inps")
            .unwrap();
        assert!(inps.failures > 0, "{name}");
        if name != "erroring 50%" {
            assert!(pending > 0, "{name}");
        }
        // Another measure, whose registries are fine, is unaffected.
        for business in businesses {
            let request = ApplicationRequest {
                fiscal_code: None,
                child_fiscal_code: None,
                vat: Some(business.vat.to_string()),
                application_date: Some(DATE.into()),
                token_key: None,
            };
            let decision = setup.service.apply("bando-pmi", request).await.unwrap();
            assert!(
                !decision["requirements"].to_string().contains("unavailable"),
                "{decision:#}"
            );
        }
    }
    set_fault(&setup, "inps", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_repeated_failures_and_closes_after_a_good_probe() {
    let setup = setup("breaker").await;
    let mut config = ClientConfig::new(&setup.registries);
    config.breaker_failures = 3;
    config.breaker_open = Duration::from_millis(300);
    config.attempts_max = 1;
    let client = RegistryClient::new(config, setup.keys.clone());
    let vat = population().businesses[0].vat.to_string();
    let request = evidence::Request {
        registry: Registry::Durc,
        path: Registry::Durc.request(&vat, &["esito"]),
    };
    set_fault(&setup, "durc", json!({"outage": true})).await;
    for _ in 0..3 {
        let (exchange, _) = client.fetch(&request, "test").await;
        assert!(exchange.failure.unwrap().contains("503"));
    }
    let (exchange, _) = client.fetch(&request, "test").await;
    assert!(exchange.failure.unwrap().contains("circuit open"));
    let durc = |client: &RegistryClient| {
        client
            .health()
            .into_iter()
            .find(|h| h.registry == "durc")
            .unwrap()
    };
    assert_eq!(durc(&client).circuit, "open");
    set_fault(&setup, "durc", json!({})).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (exchange, answer) = client.fetch(&request, "test").await;
    assert!(matches!(answer, Answer::Found(_)), "{exchange:?}");
    assert_eq!(durc(&client).circuit, "closed");
}

async fn call(
    setup: &Setup,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = setup.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_bad_input_and_callers_and_stores_nothing() {
    let setup = setup("api").await;
    let family = &population().families[0];
    let good = json!({
        "fiscal_code": family.parents[0].fiscal_code,
        "child_fiscal_code": family.children.last().unwrap().fiscal_code,
        "application_date": DATE,
    });
    let apply = "/v1/eligibility/nidi-gratis/applications";
    let (platform, operator) = (Some(setup.platform.as_str()), Some(setup.operator.as_str()));
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (apply, None, good.to_string(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (apply, Some("elig_wrong"), good.to_string(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (apply, operator, good.to_string(), StatusCode::FORBIDDEN, "forbidden"),
        (apply, Some(setup.pmi_platform.as_str()), good.to_string(), StatusCode::FORBIDDEN, "forbidden"),
        (apply, platform, "{not json".into(), StatusCode::BAD_REQUEST, "malformed"),
        (apply, platform, json!({"fiscal_code": "X", "extra": 1}).to_string(), StatusCode::BAD_REQUEST, "malformed"),
        (apply, platform, json!({"fiscal_code": "RSSMRA85T10A562T", "child_fiscal_code": family.children[0].fiscal_code}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, json!({"fiscal_code": family.parents[0].fiscal_code, "application_date": DATE}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, json!({"vat": "12345678903"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, json!({"fiscal_code": family.parents[0].fiscal_code, "child_fiscal_code": family.children[0].fiscal_code, "application_date": "15/10/2025"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, json!({"fiscal_code": family.parents[0].fiscal_code, "child_fiscal_code": family.children[0].fiscal_code, "token_key": "nope"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, json!({"fiscal_code": family.parents[0].fiscal_code, "child_fiscal_code": family.children[0].fiscal_code, "application_date": "2022-01-10"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "no_version_open"),
        ("/v1/eligibility/bonus-vacanze/applications", platform, good.to_string(), StatusCode::NOT_FOUND, "unknown_measure"),
        ("/v1/eligibility/bando-pmi/applications", platform, json!({"vat": "12345678901"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        ("/v1/eligibility/bando-pmi/applications", platform, good.to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (apply, platform, format!("{{\"fiscal_code\": \"{}\"}}", "A".repeat(20_000)), StatusCode::PAYLOAD_TOO_LARGE, ""),
    ];
    for (path, token, body, status, code) in cases {
        let (got, answer) = call(&setup, "POST", path, token, Some(body.clone())).await;
        assert_eq!(got, status, "{path} {body:.80}: {answer}");
        if !code.is_empty() {
            assert_eq!(answer["error"], code, "{answer}");
        }
    }
    // Nothing was stored by any of them.
    let (status, reviews) = call(&setup, "GET", "/v1/eligibility/reviews", operator, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reviews["pending"], json!([]));
    // Reads need a token too; reviews need an operator.
    let (status, _) = call(&setup, "GET", "/v1/eligibility/decisions/x", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = call(&setup, "GET", "/v1/eligibility/decisions/x", platform, None).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = call(&setup, "GET", "/v1/eligibility/reviews", platform, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let review =
        json!({"outcome": "eligible", "reason": "ok", "monthly_amount_cents": 100}).to_string();
    let (status, _) = call(
        &setup,
        "POST",
        "/v1/eligibility/reviews/x",
        platform,
        Some(review.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &setup,
        "POST",
        "/v1/eligibility/reviews/x",
        operator,
        Some(review),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A good application is decided; a review of it is refused, it is not pending.
    let (status, decision) = call(&setup, "POST", apply, platform, Some(good.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{decision}");
    let id = decision["decision_id"].as_str().unwrap();
    if decision["outcome"] != "pending_manual_review" {
        let review =
            json!({"outcome": "eligible", "reason": "ok", "monthly_amount_cents": 1}).to_string();
        let (status, answer) = call(
            &setup,
            "POST",
            &format!("/v1/eligibility/reviews/{id}"),
            operator,
            Some(review),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::CONFLICT, Some("not_pending"))
        );
    }
    let (status, read) = call(
        &setup,
        "GET",
        &format!("/v1/eligibility/decisions/{id}"),
        operator,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["outcome"], decision["outcome"]);
    // Public: the measures with their hashes, the registries' health.
    let (status, measures) = call(&setup, "GET", "/v1/eligibility/measures", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        measures["measures"][0]["versions"][0]["rule_set_hash"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    let (status, health) = call(&setup, "GET", "/v1/eligibility/registries", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["registries"].as_array().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_resolves_a_pending_case_and_the_review_is_stamped() {
    let setup = setup("review").await;
    let population = population();
    let family = an_eligible_family(&population);
    set_fault(&setup, "inps", json!({"outage": true})).await;
    let decision = setup
        .service
        .apply("nidi-gratis", application(family))
        .await
        .unwrap();
    set_fault(&setup, "inps", json!({})).await;
    assert_eq!(
        outcome_of(&decision),
        Outcome::PendingManualReview,
        "{decision:#}"
    );
    let id = decision["decision_id"].as_str().unwrap().to_owned();
    let (platform, operator) = (Some(setup.platform.as_str()), Some(setup.operator.as_str()));
    let (_, queue) = call(&setup, "GET", "/v1/eligibility/reviews", operator, None).await;
    assert_eq!(queue["pending"][0]["decision_id"], id.as_str());
    assert!(queue["pending"][0]["undetermined"]
        .to_string()
        .contains("inps unavailable"));
    let path = format!("/v1/eligibility/reviews/{id}");
    for (body, field) in [
        (
            json!({"outcome": "pending_manual_review", "reason": "x"}),
            "outcome",
        ),
        (json!({"outcome": "eligible", "reason": " "}), "reason"),
        (
            json!({"outcome": "eligible", "reason": "DSU checked on paper"}),
            "monthly_amount_cents",
        ),
    ] {
        let (status, answer) = call(&setup, "POST", &path, operator, Some(body.to_string())).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{answer}"
        );
    }
    let body = json!({"outcome": "eligible", "reason": "DSU checked on paper", "monthly_amount_cents": 12_727});
    let (status, reviewed) = call(&setup, "POST", &path, operator, Some(body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    assert_eq!(reviewed["outcome"], "eligible");
    assert_eq!(reviewed["automatic_outcome"], "pending_manual_review");
    assert_eq!(reviewed["review"]["reviewer"], "operator");
    let (status, _) = call(&setup, "POST", &path, operator, Some(body.to_string())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, queue) = call(&setup, "GET", "/v1/eligibility/reviews", operator, None).await;
    assert_eq!(queue["pending"], json!([]));
    let (_, read) = call(
        &setup,
        "GET",
        &format!("/v1/eligibility/decisions/{id}"),
        platform,
        None,
    )
    .await;
    assert_eq!(read["outcome"], "eligible");
    // The replay reaches the automatic outcome and checks the review and its receipt.
    let bundle = bundle(&setup, &id).await;
    let verifier = setup.notary.verifier();
    let report =
        orchestrator::replay::replay(&bundle, &setup.keys, Some(&verifier), &Measure::built_in())
            .unwrap();
    assert_eq!(report.outcome, "pending_manual_review");
    assert_eq!(report.reviewed_outcome, Some(json!("eligible")));
    refused(
        &setup,
        &bundle,
        |b| b["review"]["monthly_amount_cents"] = json!(99_999),
        "review: receipt",
    );
    refused(
        &setup,
        &bundle,
        |b| b["review"]["evidence_sha256"] = json!("00"),
        "not a review of this evidence",
    );
}
