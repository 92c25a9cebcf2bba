//! The credential types Sigillo issues: for each, its SD-JWT VC `vct`, its VC 2.0 `type`, its
//! JSON Schema (issuance refuses claims that do not fit), its validity, and its SD-JWT VC type
//! metadata.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::Error;

/// The pinned JSON-LD context that defines every claim name of these types (VC 2.0).
pub const CONTEXT_URL: &str = "https://w3id.org/sigillo/credentials/v1";
/// The context document, served at `/contexts/credentials/v1` and loaded offline.
pub const CONTEXT: &str = include_str!("../contexts/credentials-v1.jsonld");

/// One credential type.
#[derive(Debug)]
pub struct CredentialType {
    /// Short name, used in URLs and in the issuer registry (`residenza`).
    pub name: &'static str,
    /// The SD-JWT VC type (`vct`).
    pub vct: &'static str,
    /// The VC 2.0 `type` besides `VerifiableCredential`.
    pub vc_type: &'static str,
    /// Italian display name.
    pub display: &'static str,
    /// How long a credential stays valid unless the request asks for less, in days.
    pub validity_days_max: u32,
    schema_text: &'static str,
    schema: OnceLock<(Value, jsonschema::Validator, jsonschema::Validator)>,
}

macro_rules! credential_type {
    ($name:literal, $vc_type:literal, $display:literal, $days:expr) => {
        CredentialType {
            name: $name,
            vct: concat!("urn:sigillo:vct:", $name, ":1"),
            vc_type: $vc_type,
            display: $display,
            validity_days_max: $days,
            schema_text: include_str!(concat!("../schemas/", $name, ".json")),
            schema: OnceLock::new(),
        }
    };
}

/// Every type, in a fixed order.
pub static TYPES: [CredentialType; 5] = [
    credential_type!(
        "residenza",
        "ResidenzaCredential",
        "Attestazione di residenza",
        365
    ),
    credential_type!("isee", "IseeCredential", "Attestazione ISEE", 366),
    credential_type!(
        "registro-imprese",
        "RegistroImpreseCredential",
        "Visura Registro Imprese",
        180
    ),
    // A DURC is valid for 120 days from its issue (DM 30 January 2015, art. 7).
    credential_type!("durc", "DurcCredential", "DURC", 120),
    credential_type!(
        "nidi-gratis",
        "NidiGratisDecisionCredential",
        "Esito Nidi Gratis",
        366
    ),
];

/// Finds a type by its short name, its `vct` or its VC 2.0 type.
pub fn find(key: &str) -> Option<&'static CredentialType> {
    TYPES
        .iter()
        .find(|t| t.name == key || t.vct == key || t.vc_type == key)
}

impl CredentialType {
    fn compiled(&self) -> &(Value, jsonschema::Validator, jsonschema::Validator) {
        self.schema.get_or_init(|| {
            let schema: Value =
                serde_json::from_str(self.schema_text).expect("the bundled schemas are JSON");
            let full = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .expect("the bundled schemas compile");
            // A presentation discloses some claims only: the same schema without `required`.
            let mut partial_schema = schema.clone();
            strip_required(&mut partial_schema);
            let partial = jsonschema::options()
                .should_validate_formats(true)
                .build(&partial_schema)
                .expect("the bundled schemas compile without required");
            (schema, full, partial)
        })
    }

    /// The JSON Schema.
    pub fn schema(&self) -> &Value {
        &self.compiled().0
    }

    /// Checks a complete set of claims (at issuance).
    pub fn check_claims(&self, claims: &Value) -> Result<(), Error> {
        check(&self.compiled().1, claims)
    }

    /// Checks the claims a presentation disclosed: types and values, not presence.
    pub fn check_disclosed(&self, claims: &Value) -> Result<(), Error> {
        check(&self.compiled().2, claims)
    }

    /// SD-JWT VC type metadata (draft-ietf-oauth-sd-jwt-vc, section 6).
    pub fn metadata(&self) -> Value {
        let claims: Vec<Value> = self.schema()["properties"]
            .as_object()
            .map(|properties| {
                properties
                    .keys()
                    .map(|name| json!({"path": [name], "sd": "allowed", "display": [{"lang": "it-IT", "label": name.replace('_', " ")}]}))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "vct": self.vct,
            "name": self.display,
            "description": format!("{} (Sigillo, {})", self.display, self.vc_type),
            "display": [{"lang": "it-IT", "name": self.display}],
            "claims": claims,
            "schema": self.schema(),
        })
    }
}

fn check(validator: &jsonschema::Validator, claims: &Value) -> Result<(), Error> {
    let errors: Vec<String> = validator
        .iter_errors(claims)
        .take(5)
        .map(|error| {
            format!(
                "{}: {error}",
                if error.instance_path.as_str().is_empty() {
                    "/"
                } else {
                    error.instance_path.as_str()
                }
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Schema { errors })
    }
}

fn strip_required(schema: &mut Value) {
    match schema {
        Value::Object(members) => {
            members.remove("required");
            members.values_mut().for_each(strip_required);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_required),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    #[test]
    fn no_type_has_a_claim_that_sd_jwt_vc_reserves() {
        // `status`, `cnf`, `vct`… are SD-JWT VC's own: a type claim by one of those names
        // could never be issued (the registry's company `status` once was one).
        for credential_type in &TYPES {
            for name in credential_type.schema()["properties"]
                .as_object()
                .unwrap()
                .keys()
            {
                assert!(
                    !crate::sdjwt::NEVER_DISCLOSABLE.contains(&name.as_str()),
                    "{}: {name}",
                    credential_type.name
                );
            }
        }
    }

    #[test]
    fn every_type_compiles_and_refuses_what_does_not_fit() {
        for t in &TYPES {
            assert!(
                t.check_claims(&json!({})).is_err(),
                "{} requires claims",
                t.name
            );
            assert!(t.check_disclosed(&json!({})).is_ok());
            assert_eq!(t.metadata()["vct"], t.vct);
        }
        let isee = find("isee").unwrap();
        let good = json!({
            "fiscal_code": "RSSMRA85M01F205Z", "isee_value": 18500.5, "isee_type": "minorenni",
            "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"
        });
        isee.check_claims(&good).unwrap();
        let mut bad = good.clone();
        bad["isee_type"] = json!("invented");
        bad["dsu_valid_until"] = json!("31/12/2025");
        let Err(Error::Schema { errors }) = isee.check_claims(&bad) else {
            panic!("must fail")
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(isee
            .check_disclosed(&json!({"isee_value": "a lot"}))
            .is_err());
    }
}
