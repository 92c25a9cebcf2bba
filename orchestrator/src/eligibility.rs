//! The eligibility service: an application goes to the registries its measure's rules need
//! (in parallel, each within its deadline), the answers become facts, the rules decide, and
//! the decision is stored with its evidence before it is answered. The evidence (the signed
//! answers, the rule set and its hash, the facts and the decision) is hashed in its RFC 8785
//! form and stamped by the notary. An eligible family gets a credential offer (SD-JWT VC) and
//! its monthly contribution as tokens; a pending case waits for an operator.

use std::collections::BTreeMap;
use std::sync::Arc;

use notary::{Digest, Notary};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::client::RegistryClient;
use crate::codes::{FiscalCode, PartitaIva};
use crate::evidence::{self, Answer, Applicant, Exchange};
use crate::minter::{Mint, Minter};
use crate::registries::Registry;
use crate::rules::{self, Evaluation, Measure, Outcome, RuleSet};
use crate::store::{Store, StoreError, Tree};

/// The evidence format's name.
pub const EVIDENCE_FORMAT: &str = "sigillo-eligibility-evidence/1";
/// The review record format's name.
pub const REVIEW_FORMAT: &str = "sigillo-eligibility-review/1";
/// The longest review reason, in bytes.
pub const REASON_BYTES_MAX: usize = 2_000;
/// Decisions listed per page at most.
pub const PAGE_MAX: usize = 1_000;

/// Why an application or a review was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such measure.
    #[error("no measure {measure:?}")]
    UnknownMeasure {
        /// The name asked for.
        measure: String,
    },
    /// A field is missing or malformed.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No version of the measure takes applications on that date.
    #[error("no version of {measure} takes applications on {date}")]
    NoVersion {
        /// The measure.
        measure: String,
        /// The application date.
        date: String,
    },
    /// No such decision.
    #[error("no decision {id:?}")]
    NotFound {
        /// The id.
        id: String,
    },
    /// The decision is not waiting for a review.
    #[error("decision {id} is not pending review (it is {state})")]
    NotPending {
        /// The id.
        id: String,
        /// Its state.
        state: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An application as it arrives.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// The applying parent.
    #[serde(default)]
    pub fiscal_code: Option<String>,
    /// The child (Nidi Gratis).
    #[serde(default)]
    pub child_fiscal_code: Option<String>,
    /// The applying business.
    #[serde(default)]
    pub vat: Option<String>,
    /// The day the application was filed (YYYY-MM-DD); today when absent.
    #[serde(default)]
    pub application_date: Option<String>,
    /// The family's Ed25519 key (did:key, base64url or hex) to receive tokens.
    #[serde(default)]
    pub token_key: Option<String>,
}

/// An operator's review of a pending decision.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `eligible` or `not_eligible`.
    pub outcome: Outcome,
    /// Why, for the record.
    pub reason: String,
    /// The monthly amount in cents, when eligible and the rules could not compute it.
    #[serde(default)]
    pub monthly_amount_cents: Option<u64>,
}

/// What a decision led to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Consequences {
    /// The credential offer (by reference) for the family's wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_offer: Option<String>,
    /// The tokens minted, or why none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Value>,
}

/// The service's parts.
pub struct Eligibility {
    measures: Vec<Measure>,
    client: RegistryClient,
    store: Store,
    notary: Notary,
    credentials: Option<Arc<wallet::Credentials>>,
    minter: Option<Minter>,
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
        .format(&Rfc3339)
        .expect("a UTC time formats as RFC 3339")
}

fn today() -> String {
    crate::population::date_text(OffsetDateTime::now_utc().date())
}

fn canonical(value: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("a JSON value canonicalises")
}

impl Eligibility {
    /// Assembles the service. Without `credentials` no credential is offered; without a
    /// `minter` no token is minted.
    pub fn new(
        measures: Vec<Measure>,
        client: RegistryClient,
        store: Store,
        notary: Notary,
        credentials: Option<Arc<wallet::Credentials>>,
        minter: Option<Minter>,
    ) -> Eligibility {
        Eligibility {
            measures,
            client,
            store,
            notary,
            credentials,
            minter,
        }
    }

    /// The measures.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// The registry client (for its health).
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// Decisions waiting for an operator, with their reasons, oldest first.
    pub fn reviews(&self, after: Option<&str>, limit: usize) -> Result<Vec<Value>, Error> {
        let ids = self.store.keys(Tree::Reviews, after, limit.min(PAGE_MAX))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.store.get_json(Tree::Decisions, &id)? {
                let undetermined: Vec<&Value> = record["requirements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["status"] == "undetermined")
                    .collect();
                out.push(json!({
                    "decision_id": id,
                    "measure": record["measure"],
                    "decided_at": record["decided_at"],
                    "undetermined": undetermined,
                }));
            }
        }
        Ok(out)
    }

    /// Decides an application to `measure`.
    pub async fn apply(&self, measure: &str, request: ApplicationRequest) -> Result<Value, Error> {
        let measure = self
            .measures
            .iter()
            .find(|m| m.measure == measure)
            .ok_or_else(|| Error::UnknownMeasure {
                measure: measure.to_owned(),
            })?;
        let applicant = applicant(measure, &request)?;
        let date = match &request.application_date {
            Some(date) => {
                time::Date::parse(
                    date,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .map_err(|_| Error::Invalid {
                    field: "application_date",
                    reason: "not a YYYY-MM-DD date".into(),
                })?;
                date.clone()
            }
            None => today(),
        };
        let token_key = match &request.token_key {
            Some(text) => Some(
                token::PublicKey::parse(text).map_err(|error| Error::Invalid {
                    field: "token_key",
                    reason: error.to_string(),
                })?,
            ),
            None => None,
        };
        let version = measure
            .version_for(&date, None)
            .ok_or_else(|| Error::NoVersion {
                measure: measure.measure.clone(),
                date: date.clone(),
            })?;
        if version.facts().iter().any(|f| f.starts_with("nidi."))
            && applicant.child_fiscal_code.is_none()
        {
            return Err(Error::Invalid {
                field: "child_fiscal_code",
                reason: format!("{} is for a child: name it", measure.measure),
            });
        }
        let facts_needed = version.facts();
        let purpose = evidence::purpose(&measure.measure);
        let mut answers = BTreeMap::new();
        let mut exchanges = Vec::new();
        let first = evidence::plan(&facts_needed, &applicant);
        self.fetch_all(&first, &purpose, &mut answers, &mut exchanges)
            .await;
        let second = evidence::follow_up(&facts_needed, &answers, &first);
        self.fetch_all(&second, &purpose, &mut answers, &mut exchanges)
            .await;
        let facts = evidence::extract(&facts_needed, &applicant, &date, &answers);
        let evaluation = version.evaluate(&facts);

        let id = uuid::Uuid::new_v4().to_string();
        let decided_at = now_rfc3339();
        let facts_json: Map<String, Value> = facts
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Ok(value) => value.clone(),
                    Err(reason) => json!({"unavailable": reason}),
                };
                (name.clone(), value)
            })
            .collect();
        // Hashing the rule set serialises and canonicalises it: once per decision.
        let rule_set_hash = version.hash();
        let evidence_value = json!({
            "format": EVIDENCE_FORMAT,
            "decision_id": id,
            "measure": measure.measure,
            "applicant": applicant,
            "application_date": date,
            "decided_at": decided_at,
            "rule_set": version,
            "rule_set_hash": rule_set_hash,
            "purpose": purpose,
            "exchanges": exchanges,
            "facts": facts_json,
            "evaluation": evaluation,
        });
        let evidence_bytes = canonical(&evidence_value);
        let evidence_digest = Digest::sha256(&evidence_bytes);
        let mut record = json!({
            "decision_id": id,
            "measure": measure.measure,
            "version": version.id,
            "rule_set_hash": rule_set_hash,
            "applicant": applicant,
            "application_date": date,
            "decided_at": decided_at,
            "outcome": evaluation.outcome,
            "automatic_outcome": evaluation.outcome,
            "monthly_amount_cents": evaluation.monthly_amount_cents,
            "requirements": evaluation.requirements,
            "evidence_sha256": evidence_digest.to_hex(),
            "token_key": request.token_key,
        });
        self.store.put(Tree::Evidence, &id, &evidence_bytes)?;
        self.store.put_json(Tree::Decisions, &id, &record)?;
        if evaluation.outcome == Outcome::PendingManualReview {
            self.store.put_json(Tree::Reviews, &id, &json!({}))?;
        }
        self.store.flush().await?;
        self.stamp(Tree::Receipts, &id, evidence_digest);

        let mut answer = record.clone();
        if evaluation.outcome == Outcome::Eligible {
            let (consequences, tx_code) = self
                .consequences(measure, version, &record, &answers, &evaluation, token_key)
                .await;
            record["consequences"] = serde_json::to_value(&consequences).unwrap_or_default();
            self.store.put_json(Tree::Decisions, &id, &record)?;
            self.store.flush().await?;
            answer = record;
            if let Some(tx_code) = tx_code {
                answer["tx_code"] = tx_code.into();
            }
        }
        Ok(answer)
    }

    async fn fetch_all(
        &self,
        requests: &[evidence::Request],
        purpose: &str,
        answers: &mut BTreeMap<String, Answer>,
        exchanges: &mut Vec<Exchange>,
    ) {
        let results = futures::future::join_all(
            requests
                .iter()
                .map(|request| self.client.fetch(request, purpose)),
        )
        .await;
        for (request, (exchange, answer)) in requests.iter().zip(results) {
            answers.insert(request.path.clone(), answer);
            exchanges.push(exchange);
        }
    }

    /// Stamps `digest` in the background and stores the receipt under `id` in `tree` once its
    /// block is durable. A stop before that leaves it to [`Eligibility::stamp_pending`].
    fn stamp(&self, tree: Tree, id: &str, digest: Digest) {
        let notary = self.notary.clone();
        let store = self.store.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            match notary.submit(vec![digest]).await {
                Ok(submitted) => {
                    let receipt = submitted.receipts().remove(0);
                    let stored = serde_json::to_value(&receipt)
                        .map_err(|error| error.to_string())
                        .and_then(|value| {
                            store.put_json(tree, &id, &value).map_err(|e| e.to_string())
                        });
                    match stored {
                        Ok(()) => {
                            if let Err(error) = store.flush().await {
                                tracing::error!(%error, "storing a decision's receipt");
                            }
                        }
                        Err(error) => tracing::error!(%error, "storing a decision's receipt"),
                    }
                }
                Err(error) => tracing::error!(%error, decision = id, "stamping a decision"),
            }
        });
    }

    /// Stamps every decision and review a stop left without a receipt. Returns how many.
    pub fn stamp_pending(&self) -> Result<usize, Error> {
        let mut count = 0;
        for (records, receipts) in [
            (Tree::Evidence, Tree::Receipts),
            (Tree::ReviewRecords, Tree::ReviewReceipts),
        ] {
            let mut after: Option<String> = None;
            loop {
                let ids = self.store.keys(records, after.as_deref(), PAGE_MAX)?;
                let Some(last) = ids.last().cloned() else {
                    break;
                };
                for id in ids {
                    if self.store.get(receipts, &id)?.is_none() {
                        if let Some(bytes) = self.store.get(records, &id)? {
                            self.stamp(receipts, &id, Digest::sha256(&bytes));
                            count += 1;
                        }
                    }
                }
                after = Some(last);
            }
        }
        Ok(count)
    }

    async fn consequences(
        &self,
        measure: &Measure,
        version: &RuleSet,
        record: &Value,
        answers: &BTreeMap<String, Answer>,
        evaluation: &Evaluation,
        token_key: Option<token::PublicKey>,
    ) -> (Consequences, Option<String>) {
        let mut consequences = Consequences::default();
        let mut tx_code = None;
        if measure.measure != "nidi-gratis" {
            return (consequences, None);
        }
        let nursery = answers.values().find_map(|answer| match answer {
            Answer::Found(value) if value.get("nido").is_some() => Some(value["nido"].clone()),
            _ => None,
        });
        let amount = evaluation.monthly_amount_cents.unwrap_or(0);
        if let Some(credentials) = &self.credentials {
            let mut claims = Map::new();
            claims.insert(
                "fiscal_code".into(),
                record["applicant"]["fiscal_code"].clone(),
            );
            claims.insert(
                "child_fiscal_code".into(),
                record["applicant"]["child_fiscal_code"].clone(),
            );
            claims.insert("measure".into(), version.title.clone().into());
            claims.insert("outcome".into(), "eligible".into());
            claims.insert(
                "monthly_amount_max_eur".into(),
                json!(amount as f64 / 100.0),
            );
            if let Some(name) = nursery.as_ref().and_then(|n| n["nome"].as_str()) {
                claims.insert("nursery".into(), name.into());
            }
            if let Some(year) = &version.school_year {
                claims.insert("school_year".into(), year.clone().into());
            }
            claims.insert("decision_id".into(), record["decision_id"].clone());
            claims.insert("decided_at".into(), record["decided_at"].clone());
            claims.insert("ruleset_hash".into(), record["rule_set_hash"].clone());
            let credentials = credentials.clone();
            let offered = tokio::task::spawn_blocking(move || {
                let issuer = credentials
                    .issuer("regione-lombardia")
                    .ok_or_else(|| "no regione-lombardia issuer configured".to_owned())?;
                wallet::oid4vci::create_offer(
                    &credentials,
                    issuer,
                    "nidi-gratis",
                    claims,
                    wallet::oid4vci::Format::SdJwt,
                    true,
                )
                .map_err(|error| error.to_string())
            })
            .await;
            match offered {
                Ok(Ok(offer)) => {
                    consequences.credential_offer = Some(offer.by_reference);
                    tx_code = offer.tx_code;
                }
                Ok(Err(error)) => tracing::error!(%error, "offering the Nidi Gratis credential"),
                Err(error) => tracing::error!(%error, "the offer task failed"),
            }
        }
        consequences.tokens = Some(match (&self.minter, token_key, nursery) {
            (None, _, _) => json!({"minted": false, "reason": "no token ledger"}),
            (_, None, _) => json!({"minted": false, "reason": "the application gave no token_key"}),
            (_, _, None) => json!({"minted": false, "reason": "no nursery in the enrolment"}),
            (Some(_), Some(_), Some(_)) if amount == 0 => {
                json!({"minted": false, "reason": "nothing to cover above the INPS bonus"})
            }
            (Some(minter), Some(key), Some(nursery)) => {
                match self.mint(minter, version, key, &nursery, amount).await {
                    Ok(minted) => json!({"minted": true, "mint": minted}),
                    Err(reason) => json!({"minted": false, "reason": reason}),
                }
            }
        });
        (consequences, tx_code)
    }

    async fn mint(
        &self,
        minter: &Minter,
        version: &RuleSet,
        key: token::PublicKey,
        nursery: &Value,
        amount: u64,
    ) -> Result<crate::minter::Minted, String> {
        let nursery_id = nursery["id"].as_str().unwrap_or_default();
        let nursery_name = token::Name::new(nursery_id).map_err(|error| error.to_string())?;
        let class = token::Name::new(&format!("{}.{nursery_id}", version.id))
            .map_err(|error| error.to_string())?;
        let title: String = format!(
            "{} — {}",
            version.title,
            nursery["nome"].as_str().unwrap_or(nursery_id)
        )
        .chars()
        .take(100)
        .collect();
        // The class lasts to the end of the school year (31 August), and at least 90 days
        // from now: a contribution decided after its year (arrears, a late review) can still
        // be spent.
        let arrears_ms =
            (OffsetDateTime::now_utc() + time::Duration::days(90)).unix_timestamp() as u64 * 1_000;
        let expires_at_ms = version
            .school_year
            .as_deref()
            .and_then(|year| year.get(..4)?.parse::<i32>().ok())
            .and_then(|start| {
                time::Date::from_calendar_date(start + 1, time::Month::September, 1).ok()
            })
            .map(|date| {
                (date.midnight().assume_utc().unix_timestamp() as u64 * 1_000).max(arrears_ms)
            });
        minter
            .mint(Mint {
                holder_key: key,
                class,
                title,
                nursery: nursery_name,
                expires_at_ms,
                amount,
            })
            .await
    }

    /// A decision's record.
    pub fn decision(&self, id: &str) -> Result<Value, Error> {
        let mut record = self
            .store
            .get_json(Tree::Decisions, id)?
            .ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        record["stamp"] = if self.store.get(Tree::Receipts, id)?.is_some() {
            "stamped"
        } else {
            "pending"
        }
        .into();
        Ok(record)
    }

    /// A decision's evidence as stored, its receipt (null while the block is not durable), and
    /// its review with the review's receipt.
    pub fn evidence(&self, id: &str) -> Result<Value, Error> {
        let bytes = self
            .store
            .get(Tree::Evidence, id)?
            .ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        let evidence: Value = serde_json::from_slice(&bytes)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let review = match self.store.get(Tree::ReviewRecords, id)? {
            Some(bytes) => Some(
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            ),
            None => None,
        };
        Ok(json!({
            "evidence": evidence,
            "receipt": self.store.get_json(Tree::Receipts, id)?,
            "review": review,
            "review_receipt": self.store.get_json(Tree::ReviewReceipts, id)?,
        }))
    }

    /// Records an operator's review of a pending decision, stamps it, and carries out an
    /// eligible outcome's consequences.
    pub async fn review(
        &self,
        id: &str,
        operator: &str,
        request: ReviewRequest,
    ) -> Result<Value, Error> {
        if request.outcome == Outcome::PendingManualReview {
            return Err(Error::Invalid {
                field: "outcome",
                reason: "a review decides: eligible or not_eligible".into(),
            });
        }
        if request.reason.trim().is_empty() || request.reason.len() > REASON_BYTES_MAX {
            return Err(Error::Invalid {
                field: "reason",
                reason: format!("give the reason, 1 to {REASON_BYTES_MAX} bytes"),
            });
        }
        let mut record = self
            .store
            .get_json(Tree::Decisions, id)?
            .ok_or_else(|| Error::NotFound { id: id.to_owned() })?;
        if self.store.get(Tree::Reviews, id)?.is_none() {
            return Err(Error::NotPending {
                id: id.to_owned(),
                state: record["outcome"].as_str().unwrap_or("unknown").to_owned(),
            });
        }
        let measure = self
            .measures
            .iter()
            .find(|m| m.measure == record["measure"])
            .ok_or_else(|| Error::UnknownMeasure {
                measure: record["measure"].to_string(),
            })?;
        let version = measure
            .versions
            .iter()
            .find(|v| v.id == record["version"])
            .ok_or_else(|| Error::NoVersion {
                measure: measure.measure.clone(),
                date: record["application_date"].to_string(),
            })?;
        let amount = match (request.outcome, request.monthly_amount_cents) {
            (Outcome::Eligible, Some(amount)) => Some(amount),
            (Outcome::Eligible, None) if version.amounts.is_empty() => None,
            (Outcome::Eligible, None) => {
                return Err(Error::Invalid {
                    field: "monthly_amount_cents",
                    reason: "an eligible review of a measure with amounts states the amount".into(),
                })
            }
            (_, _) => None,
        };
        let review = json!({
            "format": REVIEW_FORMAT,
            "decision_id": id,
            "evidence_sha256": record["evidence_sha256"],
            "reviewer": operator,
            "reviewed_at": now_rfc3339(),
            "outcome": request.outcome,
            "monthly_amount_cents": amount,
            "reason": request.reason,
        });
        let review_bytes = canonical(&review);
        record["outcome"] = serde_json::to_value(request.outcome).unwrap_or_default();
        record["monthly_amount_cents"] = json!(amount);
        record["review"] = review.clone();
        self.store.put(Tree::ReviewRecords, id, &review_bytes)?;
        self.store.remove(Tree::Reviews, id)?;
        self.store.put_json(Tree::Decisions, id, &record)?;
        self.store.flush().await?;
        self.stamp(Tree::ReviewReceipts, id, Digest::sha256(&review_bytes));
        let mut answer = record.clone();
        if request.outcome == Outcome::Eligible {
            let evaluation = Evaluation {
                requirements: Vec::new(),
                outcome: Outcome::Eligible,
                monthly_amount_cents: amount,
            };
            let answers = self.stored_answers(id)?;
            let token_key = record["token_key"]
                .as_str()
                .and_then(|text| token::PublicKey::parse(text).ok());
            let (consequences, tx_code) = self
                .consequences(measure, version, &record, &answers, &evaluation, token_key)
                .await;
            record["consequences"] = serde_json::to_value(&consequences).unwrap_or_default();
            self.store.put_json(Tree::Decisions, id, &record)?;
            self.store.flush().await?;
            answer = record;
            if let Some(tx_code) = tx_code {
                answer["tx_code"] = tx_code.into();
            }
        }
        Ok(answer)
    }

    /// The answers in a decision's stored evidence (verified again: they are evidence).
    fn stored_answers(&self, id: &str) -> Result<BTreeMap<String, Answer>, Error> {
        let evidence = self.evidence(id)?;
        let exchanges: Vec<Exchange> =
            serde_json::from_value(evidence["evidence"]["exchanges"].clone())
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        Ok(exchanges
            .iter()
            .map(|exchange| {
                let answer = evidence::verify(exchange, self.client.keys())
                    .unwrap_or_else(|error| Answer::Unavailable(error.to_string()));
                (exchange.request.clone(), answer)
            })
            .collect())
    }
}

/// The applicant's keys, checked, as the measure needs them.
fn applicant(measure: &Measure, request: &ApplicationRequest) -> Result<Applicant, Error> {
    let fiscal =
        |field: &'static str, text: &Option<String>| -> Result<Option<FiscalCode>, Error> {
            text.as_deref()
                .map(|text| {
                    FiscalCode::parse(text).map_err(|error| Error::Invalid {
                        field,
                        reason: error.to_string(),
                    })
                })
                .transpose()
        };
    match measure.applicant {
        rules::Applicant::Person => {
            if request.vat.is_some() {
                return Err(Error::Invalid {
                    field: "vat",
                    reason: format!("{} is for people, not businesses", measure.measure),
                });
            }
            let fiscal_code =
                fiscal("fiscal_code", &request.fiscal_code)?.ok_or(Error::Invalid {
                    field: "fiscal_code",
                    reason: "required".into(),
                })?;
            Ok(Applicant {
                fiscal_code: Some(fiscal_code),
                child_fiscal_code: fiscal("child_fiscal_code", &request.child_fiscal_code)?,
                vat: None,
            })
        }
        rules::Applicant::Business => {
            if request.fiscal_code.is_some() || request.child_fiscal_code.is_some() {
                return Err(Error::Invalid {
                    field: "fiscal_code",
                    reason: format!("{} is for businesses: give the vat", measure.measure),
                });
            }
            let vat = request.vat.as_deref().ok_or(Error::Invalid {
                field: "vat",
                reason: "required".into(),
            })?;
            let vat = PartitaIva::parse(vat).map_err(|error| Error::Invalid {
                field: "vat",
                reason: error.to_string(),
            })?;
            Ok(Applicant {
                fiscal_code: None,
                child_fiscal_code: None,
                vat: Some(vat),
            })
        }
    }
}

/// Registries used by at least one of `measures`' versions.
pub fn registries_used(measures: &[Measure]) -> Vec<Registry> {
    let mut used: Vec<Registry> = Registry::ALL
        .into_iter()
        .filter(|registry| {
            measures.iter().flat_map(|m| &m.versions).any(|version| {
                version
                    .facts()
                    .iter()
                    .any(|fact| fact.starts_with(&format!("{}.", short(*registry))))
            })
        })
        .collect();
    used.sort();
    used
}

fn short(registry: Registry) -> &'static str {
    match registry {
        Registry::RegistroImprese => "ri",
        other => other.id(),
    }
}
