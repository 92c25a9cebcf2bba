//! The simulated registries, one HTTP service per registry under its own path, all in one
//! process over one synthetic [`Population`]: ANPR, INPS, the nursery register, the job
//! centres, Registro Imprese and DURC.
//!
//! Like an e-service on PDND under the ModI pattern INTEGRITY_REST_01, every answer (a record
//! or a "not found") carries a `Digest` header (SHA-256 of the body, RFC 3230) and an
//! `Agid-JWT-Signature` header: an ES256 JWS by the registry's key over the digest, the request
//! it answers and the purpose the request named. A request must name its purpose
//! (`Purpose-Id`) and may ask only for some fields (`?fields=a,b`): the answer then holds only
//! those, so the caller keeps only what its rule needs.
//!
//! Faults are set per registry at start or at run time (`PUT /admin/faults/{registry}`):
//! latency (log-normal, median and p99), error rate, timeouts, outage.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use time::Date;
use wallet::jose::{PublicKey, SigningKey};

use crate::codes::{FiscalCode, PartitaIva};
use crate::population::{date_text, Population, Role, MUNICIPALITIES};

/// The header naming a request's purpose (PDND purpose id).
pub const PURPOSE_HEADER: &str = "purpose-id";
/// The header naming the caller (the `aud` of the signed answer).
pub const CLIENT_HEADER: &str = "client-id";
/// The header carrying the registry's JWS over the answer.
pub const SIGNATURE_HEADER: &str = "agid-jwt-signature";
/// The header carrying the body's digest.
pub const DIGEST_HEADER: &str = "digest";
/// The longest purpose id, in bytes.
pub const PURPOSE_BYTES_MAX: usize = 128;
/// How long a "timeout" fault holds a request before answering 504.
pub const TIMEOUT_FAULT_MS: u64 = 30_000;
/// How long a signed answer's JWS is meant to be fresh, in seconds (`exp - iat`).
pub const ANSWER_TTL_SECONDS: i64 = 300;

/// A registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Registry {
    /// ANPR: residence and family composition.
    Anpr,
    /// INPS: ISEE and DSU.
    Inps,
    /// The register of nurseries and enrolments.
    Nidi,
    /// The job centres: employment status.
    Lavoro,
    /// Registro Imprese: a business's registration.
    RegistroImprese,
    /// DURC: regularity of contributions.
    Durc,
}

impl Registry {
    /// Every registry.
    pub const ALL: [Registry; 6] = [
        Registry::Anpr,
        Registry::Inps,
        Registry::Nidi,
        Registry::Lavoro,
        Registry::RegistroImprese,
        Registry::Durc,
    ];

    /// Its id: the first segment of its paths, its key's `kid` and its JWS's `iss`.
    pub fn id(self) -> &'static str {
        match self {
            Registry::Anpr => "anpr",
            Registry::Inps => "inps",
            Registry::Nidi => "nidi",
            Registry::Lavoro => "lavoro",
            Registry::RegistroImprese => "registro-imprese",
            Registry::Durc => "durc",
        }
    }

    /// The registry with this id.
    pub fn from_id(id: &str) -> Option<Registry> {
        Registry::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The collection its records are under.
    fn collection(self) -> &'static str {
        match self {
            Registry::Anpr => "residenti",
            Registry::Inps => "isee",
            Registry::Nidi => "iscrizioni",
            Registry::Lavoro => "stato-occupazionale",
            Registry::RegistroImprese => "imprese",
            Registry::Durc => "durc",
        }
    }

    /// The field naming the record's key, which every answer carries.
    pub fn key_field(self) -> &'static str {
        match self {
            Registry::Anpr | Registry::Inps | Registry::Lavoro => "codice_fiscale",
            Registry::Nidi => "codice_fiscale_minore",
            Registry::RegistroImprese | Registry::Durc => "partita_iva",
        }
    }

    /// The fields a caller may ask for (the key field always comes).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Registry::Anpr => &["generalita", "residenza", "famiglia"],
            Registry::Inps => &["isee_ordinario_cents", "isee_minorenni_cents", "dsu"],
            Registry::Nidi => &["anno_educativo", "nido", "retta_mensile_cents"],
            Registry::Lavoro => &["stato", "dal"],
            Registry::RegistroImprese => &["denominazione", "sede", "ateco", "addetti", "stato"],
            Registry::Durc => &["esito", "emesso_il", "valido_fino_al"],
        }
    }

    /// The request path and query for the record `key` with `fields` (sorted, so a request
    /// has one spelling).
    pub fn request(self, key: &str, fields: &[&str]) -> String {
        let mut fields = fields.to_vec();
        fields.sort_unstable();
        fields.dedup();
        format!(
            "/{}/v1/{}/{key}?fields={}",
            self.id(),
            self.collection(),
            fields.join(",")
        )
    }
}

/// Faults injected into one registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Median added latency, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// 99th percentile of the added latency (log-normal); `latency_ms * 1.5` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99_ms: Option<u64>,
    /// Share of requests answered 500, 0 to 1.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of requests held [`TIMEOUT_FAULT_MS`] and then answered 504, 0 to 1.
    #[serde(default)]
    pub timeout_rate: f64,
    /// Every request answered 503 at once.
    #[serde(default)]
    pub outage: bool,
}

impl Fault {
    /// Checks ranges.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) || !(0.0..=1.0).contains(&self.timeout_rate) {
            return Err("error_rate and timeout_rate are between 0 and 1".into());
        }
        if self.latency_ms > 600_000 || self.latency_p99_ms.is_some_and(|p| p > 600_000) {
            return Err("latencies are at most 600000 ms".into());
        }
        if self.latency_p99_ms.is_some_and(|p99| p99 < self.latency_ms) {
            return Err("latency_p99_ms is at least latency_ms".into());
        }
        Ok(())
    }

    /// Parses `name=value,...` (the `--fault REGISTRY:...` syntax) over the defaults.
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let mut fault = Fault::default();
        for pair in spec.split(',').filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not name=value"))?;
            let bad = || format!("{name}: {value:?} is not a number");
            match name {
                "latency_ms" => fault.latency_ms = value.parse().map_err(|_| bad())?,
                "latency_p99_ms" => fault.latency_p99_ms = Some(value.parse().map_err(|_| bad())?),
                "error_rate" => fault.error_rate = value.parse().map_err(|_| bad())?,
                "timeout_rate" => fault.timeout_rate = value.parse().map_err(|_| bad())?,
                "outage" => {
                    fault.outage = value
                        .parse()
                        .map_err(|_| format!("outage: {value:?} is not true or false"))?
                }
                _ => return Err(format!("unknown fault {name:?}")),
            }
        }
        fault.check()?;
        Ok(fault)
    }

    fn sample_latency(&self, rng: &mut impl Rng) -> Duration {
        if self.latency_ms == 0 {
            return Duration::ZERO;
        }
        let median = self.latency_ms as f64;
        let p99 = self.latency_p99_ms.map_or(median * 1.5, |p| p as f64);
        // z(0.99) = 2.326: sigma makes the 99th percentile land on p99.
        let sigma = (p99 / median).ln() / 2.326;
        let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = rng.gen();
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        Duration::from_secs_f64((median * (sigma * normal).exp()).min(600_000.0) / 1_000.0)
    }
}

/// The signing key of `registry`, derived from the seed: the simulator restarts with the same
/// keys, so callers' pinned keys stay valid. (A real registry keeps its key in an HSM.)
pub fn registry_key(seed: u64, registry: Registry) -> SigningKey {
    let mut material = Sha256::new();
    material.update(b"sigillo simulated registry key\0");
    material.update(seed.to_be_bytes());
    material.update(registry.id().as_bytes());
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(material.finalize().into());
    let secret = p256::SecretKey::random(&mut rng);
    let der = p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&secret)
        .expect("a P-256 key encodes as PKCS#8");
    SigningKey::p256_from_pkcs8(der.as_bytes()).expect("ring reads a PKCS#8 P-256 key")
}

/// The public keys of every registry as a JWK Set (`kid` = registry id).
pub fn jwks(keys: &HashMap<Registry, SigningKey>) -> Value {
    let keys: Vec<Value> = Registry::ALL
        .iter()
        .map(|registry| {
            let mut jwk = keys[registry].public().to_jwk();
            jwk["kid"] = registry.id().into();
            jwk["use"] = "sig".into();
            jwk["alg"] = "ES256".into();
            jwk
        })
        .collect();
    json!({ "keys": keys })
}

/// Reads a JWK Set into the registries' public keys; every registry must be there.
pub fn keys_from_jwks(jwks: &Value) -> Result<HashMap<Registry, PublicKey>, String> {
    let mut keys = HashMap::new();
    for jwk in jwks["keys"]
        .as_array()
        .ok_or("a JWK Set has a keys array")?
    {
        let kid = jwk["kid"].as_str().ok_or("every key has a kid")?;
        let Some(registry) = Registry::from_id(kid) else {
            continue;
        };
        let key = PublicKey::from_jwk(jwk).map_err(|error| format!("key {kid}: {error}"))?;
        keys.insert(registry, key);
    }
    match Registry::ALL.iter().find(|r| !keys.contains_key(r)) {
        Some(missing) => Err(format!("no key for registry {}", missing.id())),
        None => Ok(keys),
    }
}

/// The simulator's configuration.
pub struct Config {
    /// Seed of the population and the keys.
    pub seed: u64,
    /// Families (businesses are a quarter of it).
    pub families: usize,
    /// The day the data describes.
    pub reference_date: Date,
    /// Faults at start.
    pub faults: HashMap<Registry, Fault>,
}

struct Simulator {
    population: Population,
    keys: HashMap<Registry, SigningKey>,
    faults: RwLock<HashMap<Registry, Fault>>,
}

/// The simulated registries' router.
pub fn router(config: Config) -> Router {
    let keys = Registry::ALL
        .iter()
        .map(|&registry| (registry, registry_key(config.seed, registry)))
        .collect();
    let simulator = Arc::new(Simulator {
        population: Population::generate(config.seed, config.families, config.reference_date),
        keys,
        faults: RwLock::new(config.faults),
    });
    let mut router = Router::new()
        .route("/.well-known/jwks.json", get(serve_jwks))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/admin/faults", get(get_faults))
        .route("/admin/faults/{registry}", put(put_fault))
        .route("/admin/applicants", get(applicants));
    for registry in Registry::ALL {
        let path = format!("/{}/v1/{}/{{key}}", registry.id(), registry.collection());
        router = router.route(
            &path,
            get(
                move |state: State<Arc<Simulator>>,
                      key: Path<String>,
                      query: Query<HashMap<String, String>>,
                      headers: HeaderMap| {
                    lookup(state, registry, key, query, headers)
                },
            ),
        );
    }
    router.with_state(simulator)
}

async fn serve_jwks(State(simulator): State<Arc<Simulator>>) -> Json<Value> {
    Json(jwks(&simulator.keys))
}

async fn get_faults(State(simulator): State<Arc<Simulator>>) -> Json<Value> {
    let faults = simulator
        .faults
        .read()
        .expect("the faults lock is never poisoned");
    let map: Map<String, Value> = Registry::ALL
        .iter()
        .map(|r| {
            let fault = faults.get(r).cloned().unwrap_or_default();
            (
                r.id().to_owned(),
                serde_json::to_value(fault).unwrap_or_default(),
            )
        })
        .collect();
    Json(Value::Object(map))
}

fn plain_error(status: StatusCode, error: &str, message: String) -> Response {
    (status, Json(json!({"error": error, "message": message}))).into_response()
}

async fn put_fault(
    State(simulator): State<Arc<Simulator>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(registry) = Registry::from_id(&id) else {
        return plain_error(
            StatusCode::NOT_FOUND,
            "unknown_registry",
            format!("no registry {id:?}"),
        );
    };
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(fault) => fault,
        Err(error) => return plain_error(StatusCode::BAD_REQUEST, "malformed", error.to_string()),
    };
    if let Err(reason) = fault.check() {
        return plain_error(StatusCode::BAD_REQUEST, "invalid_fault", reason);
    }
    simulator
        .faults
        .write()
        .expect("the faults lock is never poisoned")
        .insert(registry, fault.clone());
    tracing::info!(registry = id, ?fault, "fault set");
    Json(json!({"registry": id, "fault": fault})).into_response()
}

#[derive(Deserialize)]
struct ApplicantsQuery {
    kind: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// The simulator's directory of who can apply (households with a small child, businesses):
/// for demos and load tools, not part of any real registry.
async fn applicants(
    State(simulator): State<Arc<Simulator>>,
    Query(query): Query<ApplicantsQuery>,
) -> Response {
    let population = &simulator.population;
    let limit = query.limit.min(10_000);
    let list: Vec<Value> = match query.kind.as_str() {
        "family" => population
            .families
            .iter()
            .skip(query.offset)
            .take(limit)
            .map(|family| {
                json!({
                    "fiscal_code": family.parents[0].fiscal_code,
                    "child_fiscal_code": family.children.last().map(|c| &c.fiscal_code),
                })
            })
            .collect(),
        "business" => population
            .businesses
            .iter()
            .skip(query.offset)
            .take(limit)
            .map(|business| json!({"vat": business.vat}))
            .collect(),
        other => {
            return plain_error(
                StatusCode::BAD_REQUEST,
                "invalid_kind",
                format!("kind is family or business, not {other:?}"),
            )
        }
    };
    Json(Value::Array(list)).into_response()
}

async fn lookup(
    State(simulator): State<Arc<Simulator>>,
    registry: Registry,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let fault = simulator
        .faults
        .read()
        .expect("the faults lock is never poisoned")
        .get(&registry)
        .cloned()
        .unwrap_or_default();
    if fault.outage {
        return plain_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "outage",
            format!("{} is down", registry.id()),
        );
    }
    let (delay, error, timeout) = {
        let mut rng = rand::thread_rng();
        (
            fault.sample_latency(&mut rng),
            rng.gen_bool(fault.error_rate),
            rng.gen_bool(fault.timeout_rate),
        )
    };
    if timeout {
        tokio::time::sleep(Duration::from_millis(TIMEOUT_FAULT_MS)).await;
        return plain_error(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "injected timeout".into(),
        );
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if error {
        return plain_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected_error",
            "injected error".into(),
        );
    }
    let purpose = match headers.get(PURPOSE_HEADER).and_then(|v| v.to_str().ok()) {
        Some(purpose) if !purpose.is_empty() && purpose.len() <= PURPOSE_BYTES_MAX => purpose,
        _ => {
            return plain_error(
                StatusCode::BAD_REQUEST,
                "purpose_required",
                format!("name the purpose in {PURPOSE_HEADER} (1 to {PURPOSE_BYTES_MAX} bytes)"),
            )
        }
    };
    let client = headers
        .get(CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned();
    let fields: Vec<&str> = match query.get("fields") {
        Some(list) => list.split(',').filter(|f| !f.is_empty()).collect(),
        None => registry.fields().to_vec(),
    };
    if let Some(unknown) = fields.iter().find(|f| !registry.fields().contains(f)) {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "unknown_field",
            format!(
                "{} has no field {unknown:?}; it has {:?}",
                registry.id(),
                registry.fields()
            ),
        );
    }
    let (status, body) = match record(&simulator.population, registry, &key) {
        Ok(Some(mut record)) => {
            if let Value::Object(map) = &mut record {
                map.retain(|name, _| {
                    name == registry.key_field() || fields.contains(&name.as_str())
                });
            }
            (StatusCode::OK, record)
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "key": key}),
        ),
        Err(reason) => return plain_error(StatusCode::BAD_REQUEST, "invalid_key", reason),
    };
    let body = serde_json::to_vec(&body).expect("a JSON value serialises");
    let request = registry.request(&key, &fields);
    signed(
        &simulator.keys[&registry],
        registry,
        status,
        body,
        &request,
        purpose,
        &client,
    )
}

/// An answer with its `Digest` and `Agid-JWT-Signature` headers.
fn signed(
    key: &SigningKey,
    registry: Registry,
    status: StatusCode,
    body: Vec<u8>,
    request: &str,
    purpose: &str,
    client: &str,
) -> Response {
    let digest = body_digest(&body);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let payload = json!({
        "iss": registry.id(),
        "aud": client,
        "iat": now,
        "exp": now + ANSWER_TTL_SECONDS,
        "jti": uuid::Uuid::new_v4().to_string(),
        "purposeId": purpose,
        "request": format!("GET {request}"),
        "status": status.as_u16(),
        "signed_headers": [{"digest": digest}, {"content-type": "application/json"}],
    });
    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    let jws = key.sign_jws(header, Some(registry.id()), &payload);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        DIGEST_HEADER,
        HeaderValue::from_str(&digest).expect("base64 is a valid header value"),
    );
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&jws).expect("a compact JWS is a valid header value"),
    );
    response
}

/// `SHA-256=` and the standard base64 of the body's SHA-256 (RFC 3230, as ModI uses it).
pub fn body_digest(body: &[u8]) -> String {
    format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    )
}

/// The record `key` of `registry`: `Ok(None)` when there is none, `Err` for a malformed key.
fn record(population: &Population, registry: Registry, key: &str) -> Result<Option<Value>, String> {
    let person = || FiscalCode::parse(key).map_err(|error| error.to_string());
    let business = || PartitaIva::parse(key).map_err(|error| error.to_string());
    let school_year = {
        let year = population.reference_date.year();
        let start = if u8::from(population.reference_date.month()) >= 9 {
            year
        } else {
            year - 1
        };
        format!("{start}/{:02}", (start + 1) % 100)
    };
    Ok(match registry {
        Registry::Anpr => {
            let code = person()?;
            population
                .person(&code)
                .filter(|(f, _)| f.in_anpr)
                .map(|(family, role)| {
                    let town = &MUNICIPALITIES[family.municipality];
                    let me = match role {
                        Role::Parent(at) => &family.parents[at],
                        Role::Child(at) => &family.children[at],
                    };
                    let members: Vec<Value> = family
                        .parents
                        .iter()
                        .enumerate()
                        .map(|(at, p)| (p, if at == 0 { "intestatario" } else { "coniuge" }))
                        .chain(family.children.iter().map(|c| (c, "figlio")))
                        .map(|(p, relation)| {
                            json!({
                                "codice_fiscale": p.fiscal_code,
                                "relazione": relation,
                                "data_nascita": date_text(p.birth),
                            })
                        })
                        .collect();
                    json!({
                        "codice_fiscale": code,
                        "generalita": {
                            "cognome": me.surname,
                            "nome": me.name,
                            "data_nascita": date_text(me.birth),
                        },
                        "residenza": {
                            "comune": town.name,
                            "codice_catastale": town.code,
                            "provincia": town.province,
                            "regione": town.region,
                            "dal": date_text(family.resident_since),
                        },
                        "famiglia": members,
                    })
                })
        }
        Registry::Inps => {
            let code = person()?;
            population.person(&code).and_then(|(family, _)| family.isee.as_ref()).map(|isee| {
                json!({
                    "codice_fiscale": code,
                    "isee_ordinario_cents": isee.ordinary_cents,
                    "isee_minorenni_cents": isee.minors_cents,
                    "dsu": {"protocollo": isee.protocol, "valida_fino_al": date_text(isee.valid_until)},
                })
            })
        }
        Registry::Nidi => {
            let code = person()?;
            population
                .person(&code)
                .filter(|(family, role)| *role == Role::Child(family.children.len() - 1))
                .and_then(|(family, _)| family.enrolment)
                .map(|index| {
                    let nursery = &population.nurseries[index];
                    let town = &MUNICIPALITIES[nursery.municipality];
                    json!({
                        "codice_fiscale_minore": code,
                        "anno_educativo": school_year,
                        "nido": {
                            "id": nursery.id,
                            "nome": nursery.name,
                            "tipo": nursery.kind.as_str(),
                            "comune": town.name,
                            "comune_aderente": town.adhering,
                        },
                        "retta_mensile_cents": nursery.monthly_fee_cents,
                    })
                })
        }
        Registry::Lavoro => {
            let code = person()?;
            population
                .person(&code)
                .and_then(|(family, role)| match role {
                    Role::Parent(at) => Some(&family.parents[at]),
                    Role::Child(_) => None,
                })
                .map(|parent| {
                    json!({
                        "codice_fiscale": code,
                        "stato": parent.employment.as_str(),
                        "dal": date_text(population.reference_date - time::Duration::days(180)),
                    })
                })
        }
        Registry::RegistroImprese => {
            let vat = business()?;
            population.business(&vat).map(|b| {
                let town = &MUNICIPALITIES[b.municipality];
                json!({
                    "partita_iva": vat,
                    "denominazione": b.name,
                    "sede": {"comune": town.name, "provincia": town.province, "regione": town.region},
                    "ateco": b.ateco,
                    "addetti": b.employees,
                    "stato": b.status.as_str(),
                })
            })
        }
        Registry::Durc => {
            let vat = business()?;
            population
                .business(&vat)
                .and_then(|b| b.durc.as_ref())
                .map(|durc| {
                    json!({
                        "partita_iva": vat,
                        "esito": if durc.regular { "regolare" } else { "non_regolare" },
                        "emesso_il": date_text(durc.issued_on),
                        "valido_fino_al": date_text(durc.valid_until),
                    })
                })
        }
    })
}
