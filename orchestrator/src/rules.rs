//! Rules as code: each measure is a TOML file of dated versions, each with its parameters,
//! legal references, requirements and amounts (`orchestrator/rules/`). Evaluation is a pure
//! function of a version and the facts, so a decision replays from its evidence alone. A
//! version's hash (SHA-256 of its RFC 8785 JSON form) goes into every decision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The measures built into the binary: (name, TOML text).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("nidi-gratis", include_str!("../rules/nidi-gratis.toml")),
    ("bando-pmi", include_str!("../rules/bando-pmi.toml")),
];

/// Why a rule file or an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The TOML does not describe a measure.
    #[error("rule file of {measure}: {reason}")]
    Malformed {
        /// The measure (or file).
        measure: String,
        /// What is wrong.
        reason: String,
    },
}

/// Who applies to a measure: a person (by codice fiscale) or a business (by partita IVA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicant {
    /// A family, through a parent.
    Person,
    /// A business.
    Business,
}

/// A measure and its versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Its name in URLs, e.g. `nidi-gratis`.
    pub measure: String,
    /// Its title.
    pub title: String,
    /// Who applies.
    pub applicant: Applicant,
    /// The versions, each for its own application window.
    pub versions: Vec<RuleSet>,
}

/// One dated version of a measure's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Its id, e.g. `nidi-gratis-plus-2025-26`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The act it implements.
    pub legal_basis: String,
    /// First day applications are taken (YYYY-MM-DD).
    pub applications_open: String,
    /// Last day applications are taken (YYYY-MM-DD).
    pub applications_close: String,
    /// The school year it is for, when it is for one (YYYY/YY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_year: Option<String>,
    /// Named parameters (numbers, strings, lists) the requirements and amounts use.
    pub parameters: BTreeMap<String, Value>,
    /// Every requirement; the applicant is eligible when all are verified.
    pub requirements: Vec<Requirement>,
    /// The monthly amount: the first rule whose conditions hold.
    #[serde(default)]
    pub amounts: Vec<AmountRule>,
}

/// One requirement: a fact compared with a parameter, a literal value or another fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Its id, e.g. `isee_minorenni`.
    pub id: String,
    /// What it asks, in words.
    pub description: String,
    /// Where the law says so.
    pub legal_reference: String,
    /// The condition.
    pub test: Condition,
}

/// A comparison of a fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The fact's name (see `facts`).
    pub fact: String,
    /// The comparison.
    pub op: Op,
    /// A parameter to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// A literal to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Another fact to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_fact: Option<String>,
}

/// Comparisons. Numbers compare as numbers, strings (ISO dates among them) as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Ge,
    /// One of a list.
    In,
    /// None of a list.
    NotIn,
    /// Starts with one of a list of prefixes.
    PrefixIn,
    /// True (no operand).
    IsTrue,
}

/// A monthly amount and when it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountRule {
    /// Conditions that must all hold.
    pub when: Vec<Condition>,
    /// The fact giving the base (in cents), e.g. the monthly fee.
    pub base_fact: String,
    /// A parameter subtracted from the base (floored at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minus_param: Option<String>,
    /// A parameter capping the amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_param: Option<String>,
}

/// How a requirement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The facts satisfy it.
    Verified,
    /// The facts contradict it.
    Failed,
    /// A fact is unavailable (registry down, data missing or contradictory).
    Undetermined,
}

/// A decision's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every requirement verified.
    Eligible,
    /// A requirement failed.
    NotEligible,
    /// None failed, but one is undetermined: an operator decides.
    PendingManualReview,
}

/// The facts an evaluation uses: a value, or why it is unavailable.
pub type Facts = BTreeMap<String, Result<Value, String>>;

/// A requirement's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementResult {
    /// The requirement's id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
    /// The facts it used and their values (null when unavailable).
    pub facts: BTreeMap<String, Value>,
}

/// The result of evaluating a rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// One per requirement, in the rule set's order.
    pub requirements: Vec<RequirementResult>,
    /// The outcome.
    pub outcome: Outcome,
    /// The monthly amount in euro cents, when eligible and the measure has amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_amount_cents: Option<u64>,
}

impl Measure {
    /// Parses and checks a measure's TOML.
    pub fn parse(toml_text: &str) -> Result<Measure, RuleError> {
        let measure: Measure = toml::from_str(toml_text).map_err(|error| RuleError::Malformed {
            measure: "(file)".into(),
            reason: error.to_string(),
        })?;
        for version in &measure.versions {
            version.check().map_err(|reason| RuleError::Malformed {
                measure: measure.measure.clone(),
                reason: format!("version {}: {reason}", version.id),
            })?;
        }
        Ok(measure)
    }

    /// The built-in measures.
    pub fn built_in() -> Vec<Measure> {
        BUILT_IN
            .iter()
            .map(|(name, text)| {
                Measure::parse(text).unwrap_or_else(|error| {
                    panic!("the built-in rule file {name} is checked by its tests: {error}")
                })
            })
            .collect()
    }

    /// The version taking applications on `date` (YYYY-MM-DD), or the one named `id`.
    pub fn version_for(&self, date: &str, id: Option<&str>) -> Option<&RuleSet> {
        match id {
            Some(id) => self.versions.iter().find(|version| version.id == id),
            None => self.versions.iter().find(|version| {
                version.applications_open.as_str() <= date
                    && date <= version.applications_close.as_str()
            }),
        }
    }
}

impl RuleSet {
    /// The hex SHA-256 of this version's RFC 8785 (JCS) JSON form.
    pub fn hash(&self) -> String {
        let value = serde_json::to_value(self).expect("a rule set serialises");
        let canonical =
            serde_json_canonicalizer::to_vec(&value).expect("a JSON value canonicalises");
        hex::encode(Sha256::digest(canonical))
    }

    /// Every fact the requirements and amounts name.
    pub fn facts(&self) -> Vec<&str> {
        let conditions = self
            .requirements
            .iter()
            .map(|r| &r.test)
            .chain(self.amounts.iter().flat_map(|a| &a.when));
        let mut names: Vec<&str> = conditions
            .flat_map(|c| std::iter::once(c.fact.as_str()).chain(c.other_fact.as_deref()))
            .collect();
        names.extend(self.amounts.iter().map(|a| a.base_fact.as_str()));
        names.sort_unstable();
        names.dedup();
        names
    }

    fn check(&self) -> Result<(), String> {
        let date = |text: &str| {
            time::Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| format!("{text:?} is not a YYYY-MM-DD date"))
        };
        if date(&self.applications_open)? > date(&self.applications_close)? {
            return Err("applications_open is after applications_close".into());
        }
        if self.requirements.is_empty() {
            return Err("no requirements".into());
        }
        let mut ids: Vec<&str> = self.requirements.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("two requirements share an id".into());
        }
        let conditions = self
            .requirements
            .iter()
            .map(|r| &r.test)
            .chain(self.amounts.iter().flat_map(|a| &a.when));
        for condition in conditions {
            let operands = usize::from(condition.param.is_some())
                + usize::from(condition.value.is_some())
                + usize::from(condition.other_fact.is_some());
            match (condition.op, operands) {
                (Op::IsTrue, 0) => {}
                (Op::IsTrue, _) => {
                    return Err(format!("{}: is_true takes no operand", condition.fact))
                }
                (_, 1) => {}
                _ => {
                    return Err(format!(
                        "{}: give exactly one of param, value, other_fact",
                        condition.fact
                    ))
                }
            }
            if let Some(param) = &condition.param {
                if !self.parameters.contains_key(param) {
                    return Err(format!("unknown parameter {param}"));
                }
            }
        }
        for amount in &self.amounts {
            for param in amount.minus_param.iter().chain(&amount.cap_param) {
                match self.parameters.get(param) {
                    Some(value) if value.as_u64().is_some() => {}
                    _ => {
                        return Err(format!(
                            "amount parameter {param} is not a whole number of cents"
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Evaluates the requirements and the amount on `facts`. A fact absent from `facts`
    /// counts as unavailable.
    pub fn evaluate(&self, facts: &Facts) -> Evaluation {
        let requirements: Vec<RequirementResult> = self
            .requirements
            .iter()
            .map(|requirement| {
                let (status, reason, used) = self.test(&requirement.test, facts);
                RequirementResult {
                    id: requirement.id.clone(),
                    status,
                    reason: match status {
                        Status::Undetermined => reason,
                        _ => format!("{}: {reason}", requirement.description),
                    },
                    facts: used,
                }
            })
            .collect();
        let outcome = if requirements.iter().any(|r| r.status == Status::Failed) {
            Outcome::NotEligible
        } else if requirements
            .iter()
            .any(|r| r.status == Status::Undetermined)
        {
            Outcome::PendingManualReview
        } else {
            Outcome::Eligible
        };
        let monthly_amount_cents = if outcome == Outcome::Eligible {
            self.amount(facts)
        } else {
            None
        };
        // An eligible outcome whose amount cannot be computed (a fact the amount needs is
        // missing) goes to an operator instead.
        let outcome = if outcome == Outcome::Eligible
            && !self.amounts.is_empty()
            && monthly_amount_cents.is_none()
        {
            Outcome::PendingManualReview
        } else {
            outcome
        };
        Evaluation {
            requirements,
            outcome,
            monthly_amount_cents,
        }
    }

    fn amount(&self, facts: &Facts) -> Option<u64> {
        let rule = self.amounts.iter().find(|rule| {
            rule.when
                .iter()
                .all(|condition| self.test(condition, facts).0 == Status::Verified)
        })?;
        let base = facts.get(&rule.base_fact)?.as_ref().ok()?.as_u64()?;
        let param = |name: &Option<String>| {
            name.as_ref()
                .and_then(|name| self.parameters.get(name))
                .and_then(Value::as_u64)
        };
        let mut amount = base.saturating_sub(param(&rule.minus_param).unwrap_or(0));
        if let Some(cap) = param(&rule.cap_param) {
            amount = amount.min(cap);
        }
        Some(amount)
    }

    /// Tests one condition: its status, the reason, and the facts used.
    fn test(
        &self,
        condition: &Condition,
        facts: &Facts,
    ) -> (Status, String, BTreeMap<String, Value>) {
        let mut used = BTreeMap::new();
        let mut fetch = |name: &str| -> Result<Value, String> {
            let value = facts
                .get(name)
                .cloned()
                .unwrap_or_else(|| Err(format!("{name} was not established")));
            used.insert(name.to_owned(), value.clone().unwrap_or(Value::Null));
            value
        };
        let left = match fetch(&condition.fact) {
            Ok(value) => value,
            Err(reason) => return (Status::Undetermined, reason, used),
        };
        let (right, right_name) = if let Some(param) = &condition.param {
            (
                self.parameters.get(param).cloned().unwrap_or(Value::Null),
                param.clone(),
            )
        } else if let Some(value) = &condition.value {
            (value.clone(), value.to_string())
        } else if let Some(other) = &condition.other_fact {
            match fetch(other) {
                Ok(value) => (value, other.clone()),
                Err(reason) => return (Status::Undetermined, reason, used),
            }
        } else {
            (Value::Null, String::new())
        };
        let holds = compare(condition.op, &left, &right);
        let reason = format!(
            "{} = {left} {} {right_name}{}",
            condition.fact,
            if holds { "satisfies" } else { "fails" },
            match condition.op {
                Op::IsTrue => "is true".to_owned(),
                op => format!(
                    " ({} {right})",
                    serde_json::to_value(op)
                        .ok()
                        .and_then(|name| name.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            }
        );
        let status = if holds {
            Status::Verified
        } else {
            Status::Failed
        };
        (status, reason, used)
    }
}

fn compare(op: Op, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering;
    let order = || -> Option<Ordering> {
        match (left, right) {
            (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    };
    let list = || right.as_array().map(Vec::as_slice).unwrap_or_default();
    match op {
        Op::Eq => order() == Some(Ordering::Equal),
        Op::Ne => order().is_some_and(|o| o != Ordering::Equal),
        Op::Lt => order() == Some(Ordering::Less),
        Op::Le => matches!(order(), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order() == Some(Ordering::Greater),
        Op::Ge => matches!(order(), Some(Ordering::Greater | Ordering::Equal)),
        Op::In => list().contains(left),
        Op::NotIn => !list().contains(left),
        Op::PrefixIn => left.as_str().is_some_and(|text| {
            list()
                .iter()
                .filter_map(Value::as_str)
                .any(|prefix| text.starts_with(prefix))
        }),
        Op::IsTrue => left == &Value::Bool(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule-test file: defaults (an applicant meeting every requirement) and cases that
    /// change some facts, like OpenFisca's YAML tests.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TestFile {
        defaults: BTreeMap<String, Value>,
        case: Vec<Case>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Case {
        name: String,
        version: String,
        #[serde(default)]
        facts: BTreeMap<String, Value>,
        #[serde(default)]
        unavailable: BTreeMap<String, String>,
        outcome: Outcome,
        #[serde(default)]
        monthly_amount_cents: Option<u64>,
        #[serde(default)]
        failed: Vec<String>,
        #[serde(default)]
        undetermined: Vec<String>,
    }

    fn run_table(measure_name: &str, table: &str) -> usize {
        let measures = Measure::built_in();
        let measure = measures
            .iter()
            .find(|m| m.measure == measure_name)
            .expect("built in");
        let file: TestFile = toml::from_str(table).expect("the test table parses");
        for case in &file.case {
            let version = measure
                .version_for("", Some(&case.version))
                .unwrap_or_else(|| panic!("{}: no version {}", case.name, case.version));
            let mut facts: Facts = file
                .defaults
                .iter()
                .chain(&case.facts)
                .map(|(name, value)| (name.clone(), Ok(value.clone())))
                .collect();
            for (name, reason) in &case.unavailable {
                facts.insert(name.clone(), Err(reason.clone()));
            }
            let evaluation = version.evaluate(&facts);
            assert_eq!(
                evaluation.outcome, case.outcome,
                "{}: {evaluation:#?}",
                case.name
            );
            assert_eq!(
                evaluation.monthly_amount_cents, case.monthly_amount_cents,
                "{}",
                case.name
            );
            let with = |status: Status| -> Vec<String> {
                evaluation
                    .requirements
                    .iter()
                    .filter(|r| r.status == status)
                    .map(|r| r.id.clone())
                    .collect()
            };
            assert_eq!(with(Status::Failed), case.failed, "{}", case.name);
            assert_eq!(
                with(Status::Undetermined),
                case.undetermined,
                "{}",
                case.name
            );
        }
        file.case.len()
    }

    #[test]
    fn nidi_gratis_rule_table() {
        let cases = run_table(
            "nidi-gratis",
            include_str!("../rules/nidi-gratis.tests.toml"),
        );
        assert!(cases >= 12, "{cases}");
    }

    #[test]
    fn bando_pmi_rule_table() {
        let cases = run_table("bando-pmi", include_str!("../rules/bando-pmi.tests.toml"));
        assert!(cases >= 8, "{cases}");
    }

    #[test]
    fn versions_are_picked_by_date_and_hashes_differ() {
        let measures = Measure::built_in();
        let nidi = &measures[0];
        let plus = nidi
            .version_for("2025-10-15", None)
            .expect("2025/26 is open");
        assert_eq!(plus.id, "nidi-gratis-plus-2025-26");
        let earlier = nidi
            .version_for("2019-10-15", None)
            .expect("2019/20 is open");
        assert_eq!(earlier.id, "nidi-gratis-2019-20");
        assert!(nidi.version_for("2022-01-10", None).is_none());
        assert_ne!(plus.hash(), earlier.hash());
        assert_eq!(plus.hash().len(), 64);
        // The hash covers every parameter.
        let mut changed = plus.clone();
        changed
            .parameters
            .insert("isee_minorenni_max_cents".into(), Value::from(2_500_001));
        assert_ne!(changed.hash(), plus.hash());
    }

    #[test]
    fn malformed_rule_files_are_refused_with_the_reason() {
        let good = BUILT_IN[0].1;
        for (bad, reason) in [
            (
                good.replace(
                    "applications_open = \"2025-06-26\"",
                    "applications_open = \"2025-13-01\"",
                ),
                "not a YYYY-MM-DD",
            ),
            (
                good.replace("param = \"isee_minorenni_max_cents\"", "param = \"nope\""),
                "unknown parameter nope",
            ),
            (
                good.replacen("op = \"le\"", "op = \"around\"", 1),
                "unknown variant",
            ),
        ] {
            assert_ne!(bad, good, "the replacement applies");
            let error = Measure::parse(&bad).expect_err("refused").to_string();
            assert!(error.contains(reason), "{error}");
        }
    }
}
