//! Replays a decision from its evidence alone, trusting no server: every registry answer's
//! signature, the rule set's hash, the facts drawn again from the answers, the rules applied
//! again, the notary receipt of the evidence, and the operator's review and its receipt.

use std::collections::{BTreeMap, HashMap};

use notary::{Digest, NoteVerifier, Receipt, ReceiptVerifier};
use serde::Serialize;
use serde_json::Value;
use wallet::jose::PublicKey;

use crate::eligibility::{EVIDENCE_FORMAT, REVIEW_FORMAT};
use crate::evidence::{self, Applicant, Exchange};
use crate::registries::Registry;
use crate::rules::{Evaluation, Measure, RuleSet};

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file is not evidence of this format.
    #[error("malformed evidence: {0}")]
    Malformed(String),
    /// The rule set does not hash to the hash the decision names, or differs from the
    /// published version of the same id.
    #[error("rule set: {0}")]
    RuleSet(String),
    /// A registry answer does not verify.
    #[error("registry answer: {0}")]
    Answer(#[from] evidence::EvidenceError),
    /// The rules applied to the facts give another result than the recorded one.
    #[error("the replay does not reach the recorded decision: {0}")]
    Mismatch(String),
    /// The receipt does not verify for the evidence.
    #[error("notary receipt: {0}")]
    Receipt(String),
    /// The review does not belong to this evidence or its receipt does not verify.
    #[error("review: {0}")]
    Review(String),
}

/// What a replay established.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The decision.
    pub decision_id: String,
    /// The measure and version.
    pub measure: String,
    /// The version applied.
    pub version: String,
    /// The rule set's hash.
    pub rule_set_hash: String,
    /// The evidence's SHA-256 (the notarised entry).
    pub evidence_sha256: String,
    /// Registry answers whose signatures verified.
    pub answers_verified: usize,
    /// Exchanges that got no answer (recorded as failures).
    pub exchanges_failed: usize,
    /// The outcome the rules give (as recorded).
    pub outcome: Value,
    /// The monthly amount (as recorded).
    pub monthly_amount_cents: Option<u64>,
    /// The notarised block's height and time, when a receipt was checked.
    pub stamped: Option<(u64, u64)>,
    /// The operator's outcome, when reviewed.
    pub reviewed_outcome: Option<Value>,
}

/// Replays `bundle` (`{evidence, receipt, review, review_receipt}`, as
/// `GET /v1/eligibility/decisions/{id}/evidence` serves it). With `notary`, the receipts are
/// required and verified; `published` are the rule sets the replayer knows by id.
pub fn replay(
    bundle: &Value,
    keys: &HashMap<Registry, PublicKey>,
    notary: Option<&NoteVerifier>,
    published: &[Measure],
) -> Result<Report, ReplayError> {
    let evidence = &bundle["evidence"];
    let malformed = |what: &str| ReplayError::Malformed(what.to_owned());
    if evidence["format"] != EVIDENCE_FORMAT {
        return Err(malformed("format is not sigillo-eligibility-evidence/1"));
    }
    let text = |name: &str| -> Result<String, ReplayError> {
        evidence[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ReplayError::Malformed(format!("no {name}")))
    };
    let decision_id = text("decision_id")?;
    let date = text("application_date")?;
    let rule_set: RuleSet = serde_json::from_value(evidence["rule_set"].clone())
        .map_err(|error| ReplayError::Malformed(format!("rule_set: {error}")))?;
    let hash = rule_set.hash();
    if evidence["rule_set_hash"] != hash.as_str() {
        return Err(ReplayError::RuleSet(format!(
            "it hashes to {hash}, the decision names {}",
            evidence["rule_set_hash"]
        )));
    }
    if let Some(known) = published
        .iter()
        .flat_map(|m| &m.versions)
        .find(|v| v.id == rule_set.id)
    {
        if known.hash() != hash {
            return Err(ReplayError::RuleSet(format!(
                "{} differs from the published version (hash {})",
                rule_set.id,
                known.hash()
            )));
        }
    }
    let applicant: Applicant = serde_json::from_value(evidence["applicant"].clone())
        .map_err(|error| ReplayError::Malformed(format!("applicant: {error}")))?;
    let exchanges: Vec<Exchange> = serde_json::from_value(evidence["exchanges"].clone())
        .map_err(|error| ReplayError::Malformed(format!("exchanges: {error}")))?;
    let mut answers = BTreeMap::new();
    let mut answers_verified = 0;
    for exchange in &exchanges {
        let answer = evidence::verify(exchange, keys)?;
        if exchange.failure.is_none() {
            answers_verified += 1;
        }
        answers.insert(exchange.request.clone(), answer);
    }
    let facts_needed = rule_set.facts();
    let facts = evidence::extract(&facts_needed, &applicant, &date, &answers);
    let evaluation = rule_set.evaluate(&facts);
    let recorded: Evaluation = serde_json::from_value(evidence["evaluation"].clone())
        .map_err(|error| ReplayError::Malformed(format!("evaluation: {error}")))?;
    if evaluation != recorded {
        let mismatch = if evaluation.outcome != recorded.outcome {
            format!(
                "the rules give {:?}, the decision says {:?}",
                evaluation.outcome, recorded.outcome
            )
        } else if evaluation.monthly_amount_cents != recorded.monthly_amount_cents {
            format!(
                "the rules give {:?} cents, the decision says {:?}",
                evaluation.monthly_amount_cents, recorded.monthly_amount_cents
            )
        } else {
            "a requirement's result differs".to_owned()
        };
        return Err(ReplayError::Mismatch(mismatch));
    }
    let canonical = serde_json_canonicalizer::to_vec(evidence)
        .map_err(|error| ReplayError::Malformed(error.to_string()))?;
    let digest = Digest::sha256(&canonical);
    let mut verifier = notary.map(|key| ReceiptVerifier::new(key.clone()));
    let stamped = match &mut verifier {
        Some(verifier) => {
            let receipt = receipt_of(&bundle["receipt"]).map_err(ReplayError::Receipt)?;
            let verified = verifier
                .verify(&receipt, &digest)
                .map_err(|error| ReplayError::Receipt(error.to_string()))?;
            Some((verified.block.height, verified.block.time_ms))
        }
        None => None,
    };
    let review = &bundle["review"];
    let reviewed_outcome = if review.is_null() {
        None
    } else {
        if review["format"] != REVIEW_FORMAT
            || review["decision_id"] != decision_id.as_str()
            || review["evidence_sha256"] != digest.to_hex().as_str()
        {
            return Err(ReplayError::Review(
                "it is not a review of this evidence".into(),
            ));
        }
        if let Some(verifier) = &mut verifier {
            let receipt = receipt_of(&bundle["review_receipt"]).map_err(ReplayError::Review)?;
            let bytes = serde_json_canonicalizer::to_vec(review)
                .map_err(|error| ReplayError::Malformed(error.to_string()))?;
            verifier
                .verify(&receipt, &Digest::sha256(&bytes))
                .map_err(|error| ReplayError::Review(format!("receipt: {error}")))?;
        }
        Some(review["outcome"].clone())
    };
    Ok(Report {
        decision_id,
        measure: text("measure")?,
        version: rule_set.id.clone(),
        rule_set_hash: hash,
        evidence_sha256: digest.to_hex(),
        answers_verified,
        exchanges_failed: exchanges.len() - answers_verified,
        outcome: serde_json::to_value(evaluation.outcome).unwrap_or_default(),
        monthly_amount_cents: evaluation.monthly_amount_cents,
        stamped,
        reviewed_outcome,
    })
}

fn receipt_of(value: &Value) -> Result<Receipt, String> {
    if value.is_null() {
        return Err(
            "none yet: the notary's block was not durable when the bundle was taken".into(),
        );
    }
    serde_json::from_value(value.clone()).map_err(|error| format!("malformed: {error}"))
}
