//! Registry exchanges as evidence, and the facts drawn from them.
//!
//! An [`Exchange`] is one request to a registry and what came back: the exact body, its
//! `Digest` and the registry's JWS, or why nothing usable came back. [`verify`] checks an
//! exchange against the registry's key; [`plan`] says which requests a rule set needs for an
//! application, and [`extract`] turns verified answers into the facts the rules compare. The
//! service and `sigillo replay` call the same functions, so a replay reaches the same facts.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wallet::jose::{Jws, PublicKey};

use crate::codes::{FiscalCode, PartitaIva};
use crate::registries::{body_digest, Registry};
use crate::rules::Facts;

/// The purpose named to the registries for each measure's checks (a PDND purpose id).
pub fn purpose(measure: &str) -> String {
    format!("sigillo:{measure}:eligibility")
}

/// Who applies and for what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// The applying parent (person measures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_code: Option<FiscalCode>,
    /// The child the application is for (Nidi Gratis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_fiscal_code: Option<FiscalCode>,
    /// The applying business (business measures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<PartitaIva>,
}

/// One request to a registry and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The registry's id.
    pub registry: String,
    /// The request's path and query.
    pub request: String,
    /// The purpose it named.
    pub purpose: String,
    /// The HTTP status of a signed answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The answer's body, byte for byte (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The `Digest` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The `Agid-JWT-Signature` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Why no signed answer came (after every attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Milliseconds from the first attempt to the result.
    pub elapsed_ms: u64,
}

/// What a verified exchange says.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The record.
    Found(Value),
    /// A signed "no such record".
    NotFound,
    /// No signed answer: the reason.
    Unavailable(String),
}

/// Why an exchange does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// An exchange names a registry without a trusted key.
    #[error("no trusted key for registry {registry:?}")]
    UnknownRegistry {
        /// The id.
        registry: String,
    },
    /// A field of the exchange is missing or malformed.
    #[error("exchange {request}: {reason}")]
    Malformed {
        /// The request.
        request: String,
        /// What is wrong.
        reason: String,
    },
    /// The body's digest, the JWS or one of its claims does not match.
    #[error("exchange {request}: {reason}")]
    Forged {
        /// The request.
        request: String,
        /// What does not match.
        reason: String,
    },
}

/// Checks a signed exchange: the body's digest, the registry's signature over that digest, and
/// that the signature is for this request, this purpose and this status. A failed exchange
/// (no answer) verifies to [`Answer::Unavailable`].
pub fn verify(
    exchange: &Exchange,
    keys: &HashMap<Registry, PublicKey>,
) -> Result<Answer, EvidenceError> {
    if let Some(failure) = &exchange.failure {
        return Ok(Answer::Unavailable(format!(
            "{} unavailable: {failure}",
            exchange.registry
        )));
    }
    let request = exchange.request.clone();
    let malformed = |reason: &str| EvidenceError::Malformed {
        request: request.clone(),
        reason: reason.to_owned(),
    };
    let forged = |reason: String| EvidenceError::Forged {
        request: request.clone(),
        reason,
    };
    let registry =
        Registry::from_id(&exchange.registry).ok_or_else(|| EvidenceError::UnknownRegistry {
            registry: exchange.registry.clone(),
        })?;
    let key = keys
        .get(&registry)
        .ok_or_else(|| EvidenceError::UnknownRegistry {
            registry: exchange.registry.clone(),
        })?;
    let (Some(status), Some(body), Some(digest), Some(signature)) = (
        exchange.status,
        &exchange.body,
        &exchange.digest,
        &exchange.signature,
    ) else {
        return Err(malformed(
            "a signed answer has status, body, digest and signature",
        ));
    };
    if !exchange
        .request
        .starts_with(&format!("/{}/", registry.id()))
    {
        return Err(forged(format!("the request is not to {}", registry.id())));
    }
    let computed = body_digest(body.as_bytes());
    if &computed != digest {
        return Err(forged(format!(
            "the body's digest is {computed}, the answer says {digest}"
        )));
    }
    let jws = Jws::parse(signature).map_err(|error| forged(format!("signature: {error}")))?;
    if jws.kid() != Some(registry.id()) {
        return Err(forged(format!(
            "the signature's kid is not {}",
            registry.id()
        )));
    }
    jws.verify(key)
        .map_err(|_| forged(format!("the signature is not {}'s", registry.id())))?;
    let claims = &jws.payload;
    let expect = |name: &str, want: Value| -> Result<(), EvidenceError> {
        match claims.get(name) {
            Some(got) if *got == want => Ok(()),
            got => Err(forged(format!(
                "the signature's {name} is {}, not {want}",
                got.cloned().unwrap_or(Value::Null)
            ))),
        }
    };
    expect("iss", registry.id().into())?;
    expect("request", format!("GET {}", exchange.request).into())?;
    expect("purposeId", exchange.purpose.clone().into())?;
    expect("status", status.into())?;
    let signed_digest = claims
        .get("signed_headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|header| header.get("digest"));
    if signed_digest != Some(&Value::String(digest.clone())) {
        return Err(forged("the signature does not cover the digest".into()));
    }
    match status {
        200 => {
            let value: Value =
                serde_json::from_str(body).map_err(|_| malformed("the body is not JSON"))?;
            Ok(Answer::Found(value))
        }
        404 => Ok(Answer::NotFound),
        other => Err(malformed(&format!("status {other} is not an answer"))),
    }
}

/// One request a decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The registry.
    pub registry: Registry,
    /// Path and query ([`Registry::request`]).
    pub path: String,
}

/// Which registry fields each fact needs.
fn fact_sources(fact: &str) -> &'static [(Registry, &'static str)] {
    match fact {
        "anpr.region" => &[(Registry::Anpr, "residenza")],
        "anpr.child_birth_date" => &[(Registry::Anpr, "famiglia")],
        "inps.isee_minorenni_cents" => &[(Registry::Inps, "isee_minorenni_cents")],
        "inps.isee_ordinario_cents" => &[(Registry::Inps, "isee_ordinario_cents")],
        "inps.dsu_valid_until" => &[(Registry::Inps, "dsu")],
        "nidi.enrolled" | "nidi.nursery_kind" | "nidi.municipality_adhering" => {
            &[(Registry::Nidi, "nido")]
        }
        "nidi.monthly_fee_cents" => &[(Registry::Nidi, "retta_mensile_cents")],
        "lavoro.parents_employed" => &[(Registry::Anpr, "famiglia"), (Registry::Lavoro, "stato")],
        "ri.region" => &[(Registry::RegistroImprese, "sede")],
        "ri.status" => &[(Registry::RegistroImprese, "stato")],
        "ri.employees" => &[(Registry::RegistroImprese, "addetti")],
        "ri.ateco" => &[(Registry::RegistroImprese, "ateco")],
        "durc.outcome" => &[(Registry::Durc, "esito")],
        "durc.valid_until" => &[(Registry::Durc, "valido_fino_al")],
        _ => &[],
    }
}

/// Facts the evaluator knows without a registry.
const BUILT_IN_FACTS: &[&str] = &["application.date"];

/// Whether a fact name is known (to a registry or built in).
pub fn known_fact(fact: &str) -> bool {
    !fact_sources(fact).is_empty() || BUILT_IN_FACTS.contains(&fact)
}

/// The fields of `registry` that `facts` need, sorted.
fn fields_for(facts: &[&str], registry: Registry) -> Vec<&'static str> {
    let mut fields: Vec<&'static str> = facts
        .iter()
        .flat_map(|fact| fact_sources(fact))
        .filter(|(r, _)| *r == registry)
        .map(|(_, field)| *field)
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

/// The requests that need only the application: all of them, but the job centres' (which need
/// the parents ANPR names). Requires the applicant's keys the facts need; a missing one is
/// left out (its facts end unavailable).
pub fn plan(facts: &[&str], applicant: &Applicant) -> Vec<Request> {
    let mut requests = Vec::new();
    for registry in [
        Registry::Anpr,
        Registry::Inps,
        Registry::Nidi,
        Registry::RegistroImprese,
        Registry::Durc,
    ] {
        let fields = fields_for(facts, registry);
        if fields.is_empty() {
            continue;
        }
        let key = match registry {
            Registry::Anpr | Registry::Inps => {
                applicant.fiscal_code.as_ref().map(FiscalCode::as_str)
            }
            Registry::Nidi => applicant.child_fiscal_code.as_ref().map(FiscalCode::as_str),
            _ => applicant.vat.as_ref().map(PartitaIva::as_str),
        };
        if let Some(key) = key {
            requests.push(Request {
                registry,
                path: registry.request(key, &fields),
            });
        }
    }
    requests
}

/// The requests that follow from the first answers: each parent's employment at the job
/// centres, when a fact needs it and ANPR named the parents.
pub fn follow_up(
    facts: &[&str],
    answers: &BTreeMap<String, Answer>,
    first: &[Request],
) -> Vec<Request> {
    let fields = fields_for(facts, Registry::Lavoro);
    if fields.is_empty() {
        return Vec::new();
    }
    let Some(anpr) = first.iter().find(|r| r.registry == Registry::Anpr) else {
        return Vec::new();
    };
    let Some(Answer::Found(record)) = answers.get(&anpr.path) else {
        return Vec::new();
    };
    parents(record)
        .into_iter()
        .map(|code| Request {
            registry: Registry::Lavoro,
            path: Registry::Lavoro.request(&code, &fields),
        })
        .collect()
}

/// The fiscal codes of the household head and spouse in an ANPR record.
fn parents(anpr: &Value) -> Vec<String> {
    anpr["famiglia"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|member| {
            matches!(
                member["relazione"].as_str(),
                Some("intestatario" | "coniuge")
            )
        })
        .filter_map(|member| member["codice_fiscale"].as_str().map(str::to_owned))
        .collect()
}

/// Draws `facts` from the answers (keyed by request path) for `applicant` on
/// `application_date`. A fact whose answer is missing, unavailable or lacks the field is an
/// `Err` with the reason.
pub fn extract(
    facts: &[&str],
    applicant: &Applicant,
    application_date: &str,
    answers: &BTreeMap<String, Answer>,
) -> Facts {
    let first = plan(facts, applicant);
    let answer_of = |registry: Registry| -> Result<Option<&Value>, String> {
        let Some(request) = first.iter().find(|r| r.registry == registry) else {
            return Err(format!(
                "the application does not name the key {} needs",
                registry.id()
            ));
        };
        match answers.get(&request.path) {
            Some(Answer::Found(value)) => Ok(Some(value)),
            Some(Answer::NotFound) => Ok(None),
            Some(Answer::Unavailable(reason)) => Err(reason.clone()),
            None => Err(format!(
                "no exchange with {} for {}",
                registry.id(),
                request.path
            )),
        }
    };
    let field = |registry: Registry, pointer: &str, missing: &str| -> Result<Value, String> {
        match answer_of(registry)? {
            Some(record) => record
                .pointer(pointer)
                .cloned()
                .filter(|v| !v.is_null())
                .ok_or_else(|| format!("{} answered without {pointer}", registry.id())),
            None => Err(missing.to_owned()),
        }
    };
    let mut out = Facts::new();
    for &fact in facts {
        let value = match fact {
            "application.date" => Ok(Value::from(application_date)),
            "anpr.region" => field(Registry::Anpr, "/residenza/regione", "no household at ANPR"),
            "anpr.child_birth_date" => child_birth_date(answer_of(Registry::Anpr), applicant),
            "inps.isee_minorenni_cents" => {
                field(Registry::Inps, "/isee_minorenni_cents", "no DSU at INPS")
            }
            "inps.isee_ordinario_cents" => {
                field(Registry::Inps, "/isee_ordinario_cents", "no DSU at INPS")
            }
            "inps.dsu_valid_until" => {
                field(Registry::Inps, "/dsu/valida_fino_al", "no DSU at INPS")
            }
            "nidi.enrolled" => answer_of(Registry::Nidi).map(|record| json!(record.is_some())),
            // The register's signed "no enrolment" settles these too: no nursery is neither
            // public nor in an adhering municipality.
            "nidi.nursery_kind" => match answer_of(Registry::Nidi) {
                Ok(None) => Ok(json!("nessuno")),
                _ => field(Registry::Nidi, "/nido/tipo", "not enrolled"),
            },
            "nidi.municipality_adhering" => match answer_of(Registry::Nidi) {
                Ok(None) => Ok(json!(false)),
                _ => field(Registry::Nidi, "/nido/comune_aderente", "not enrolled"),
            },
            "nidi.monthly_fee_cents" => {
                field(Registry::Nidi, "/retta_mensile_cents", "not enrolled")
            }
            "lavoro.parents_employed" => {
                parents_employed(answer_of(Registry::Anpr), answers, facts)
            }
            "ri.region" => field(
                Registry::RegistroImprese,
                "/sede/regione",
                "not in the Registro Imprese",
            ),
            "ri.status" => field(
                Registry::RegistroImprese,
                "/stato",
                "not in the Registro Imprese",
            ),
            "ri.employees" => field(
                Registry::RegistroImprese,
                "/addetti",
                "not in the Registro Imprese",
            ),
            "ri.ateco" => field(
                Registry::RegistroImprese,
                "/ateco",
                "not in the Registro Imprese",
            ),
            "durc.outcome" => field(Registry::Durc, "/esito", "no DURC issued"),
            "durc.valid_until" => field(Registry::Durc, "/valido_fino_al", "no DURC issued"),
            other => Err(format!("no registry gives {other}")),
        };
        out.insert(fact.to_owned(), value);
    }
    out
}

fn child_birth_date(
    anpr: Result<Option<&Value>, String>,
    applicant: &Applicant,
) -> Result<Value, String> {
    let record = anpr?.ok_or("no household at ANPR")?;
    let child = applicant
        .child_fiscal_code
        .as_ref()
        .ok_or("the application names no child")?;
    record["famiglia"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|member| {
            member["codice_fiscale"] == child.as_str() && member["relazione"] == "figlio"
        })
        .and_then(|member| member.get("data_nascita").cloned())
        .ok_or_else(|| {
            "contradictory: the child is not a child of the applicant's household at ANPR".into()
        })
}

fn parents_employed(
    anpr: Result<Option<&Value>, String>,
    answers: &BTreeMap<String, Answer>,
    facts: &[&str],
) -> Result<Value, String> {
    let record = anpr?.ok_or("no household at ANPR")?;
    let fields = fields_for(facts, Registry::Lavoro);
    let mut unknown = None;
    for code in parents(record) {
        let path = Registry::Lavoro.request(&code, &fields);
        match answers.get(&path) {
            Some(Answer::Found(value)) => {
                if value["stato"] != "occupato" {
                    return Ok(json!(false));
                }
            }
            Some(Answer::NotFound) => {
                unknown = Some(format!("{code} is unknown to the job centres"))
            }
            Some(Answer::Unavailable(reason)) => unknown = Some(reason.clone()),
            None => unknown = Some(format!("no exchange with lavoro for {path}")),
        }
    }
    match unknown {
        Some(reason) => Err(reason),
        None => Ok(json!(true)),
    }
}
