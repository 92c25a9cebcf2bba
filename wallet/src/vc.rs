//! W3C VC 2.0 with Data Integrity proofs: `eddsa-rdfc-2022` through SpruceID's `ssi` (RDF
//! dataset canonicalisation, with the JSON-LD contexts pinned and loaded offline), and
//! `eddsa-jcs-2022` (JSON canonicalisation, RFC 8785 through `serde_json_canonicalizer`), which `ssi` 0.16
//! lacks.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use ssi::claims::data_integrity::suites::EdDsaRdfc2022;
use ssi::claims::data_integrity::{CryptographicSuite as _, DataIntegrity, ProofOptions};
use ssi::claims::vc::v2::JsonCredential;
use ssi::claims::{SignatureEnvironment, VerificationParameters};
use ssi::verification_methods::{Multikey, ReferenceOrOwned, SingleSecretSigner};

use crate::issuers::Issuer;
use crate::jose::PublicKey;
use crate::service::{Credentials, Verification, VerifyOptions, CLOCK_SKEW_SECONDS};
use crate::status::Status;
use crate::types;
use crate::Error;

/// The VC 2.0 base context.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";

/// A Data Integrity cryptosuite this crate signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `eddsa-rdfc-2022`, through `ssi`.
    EddsaRdfc2022,
    /// `eddsa-jcs-2022`.
    EddsaJcs2022,
}

impl Suite {
    /// The `cryptosuite` name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::EddsaRdfc2022 => "eddsa-rdfc-2022",
            Suite::EddsaJcs2022 => "eddsa-jcs-2022",
        }
    }

    /// Parses a `cryptosuite` name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "eddsa-rdfc-2022" => Ok(Suite::EddsaRdfc2022),
            "eddsa-jcs-2022" => Ok(Suite::EddsaJcs2022),
            other => Err(Error::Proof {
                reason: format!(
                    "cryptosuite {other} is not supported (eddsa-rdfc-2022, eddsa-jcs-2022)"
                ),
            }),
        }
    }
}

/// The JSON-LD document loader: `ssi`'s bundled contexts (VC 2.0, Data Integrity, Multikey…)
/// and Sigillo's own, pinned; nothing is ever fetched.
///
/// Because a URL always loads the same document through this type, making one turns on the
/// processed-context cache of our patched `ssi-json-ld` (`vendor/ssi-json-ld`), which is keyed
/// by the loader's type: each credential no longer reprocesses the VC 2.0 context.
#[derive(Clone, Debug)]
pub struct Loader(ssi::json_ld::ContextLoader);

impl ssi::json_ld::Loader for Loader {
    async fn load(
        &self,
        url: &iref::Iri,
    ) -> Result<ssi::json_ld::RemoteDocument<iref::IriBuf>, ssi::json_ld::LoadError> {
        self.0.load(url).await
    }
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    /// The loader with the pinned contexts.
    pub fn new() -> Self {
        ssi::json_ld::context_cache::enable();
        let mut contexts = HashMap::new();
        contexts.insert(types::CONTEXT_URL.to_owned(), types::CONTEXT.to_owned());
        Loader(
            ssi::json_ld::ContextLoader::default()
                .with_context_map_from(contexts)
                .expect("the bundled context is JSON with a valid IRI"),
        )
    }
}

/// An `xsd:dateTime` in UTC with a `Z`, from Unix seconds.
pub fn datetime(seconds: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
        .replace("+00:00", "Z")
}

fn parse_datetime(text: &str, what: &'static str) -> Result<i64, Error> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| Error::Malformed {
            what,
            reason: format!("{text:?} is not an RFC 3339 date-time"),
        })
}

fn proof_error(error: impl std::fmt::Display) -> Error {
    Error::Proof {
        reason: error.to_string(),
    }
}

/// Signs `credential` as `issuer` with `suite`; returns the secured document.
pub async fn sign(
    credentials: &Credentials,
    issuer: &Issuer,
    credential: Value,
    suite: Suite,
    now: i64,
) -> Result<Value, Error> {
    add_proof(
        credentials.json_ld(),
        &issuer.ed25519,
        &issuer.did,
        &issuer.ed25519_method(),
        credential,
        suite,
        now,
    )
    .await
}

/// Adds a `DataIntegrityProof` with `suite` to `credential`, signed by `key` as the
/// verification method `method` of `controller`, created at `created` (Unix seconds).
pub async fn add_proof(
    loader: &Loader,
    key: &ed25519_dalek::SigningKey,
    controller: &str,
    method: &str,
    credential: Value,
    suite: Suite,
    created: i64,
) -> Result<Value, Error> {
    match suite {
        Suite::EddsaRdfc2022 => {
            let unsecured: JsonCredential =
                serde_json::from_value(credential).map_err(|e| Error::Malformed {
                    what: "credential",
                    reason: e.to_string(),
                })?;
            let iri = iref::IriBuf::new(method.to_owned()).map_err(proof_error)?;
            let uri = iref::UriBuf::new(controller.as_bytes().to_vec())
                .map_err(|_| proof_error("the issuer is not a URI"))?;
            let multikey = Multikey::from_public_key(iri.clone(), uri, &key.verifying_key());
            let mut resolver = HashMap::new();
            resolver.insert(iri.clone(), multikey);
            let mut options = ProofOptions::from_method(ReferenceOrOwned::Reference(iri));
            options.created = Some(xsd_now(created).into());
            let environment = SignatureEnvironment {
                json_ld_loader: loader.clone(),
                eip712_loader: (),
            };
            let signer = SingleSecretSigner::new(key.clone());
            let secured: DataIntegrity<JsonCredential, EdDsaRdfc2022> = EdDsaRdfc2022
                .sign_with(environment, unsecured, &resolver, signer, options, ())
                .await
                .map_err(proof_error)?;
            serde_json::to_value(&secured).map_err(proof_error)
        }
        Suite::EddsaJcs2022 => {
            let Value::Object(mut document) = credential else {
                return Err(Error::Malformed {
                    what: "credential",
                    reason: "not an object".into(),
                });
            };
            let mut proof = Map::new();
            proof.insert("type".into(), "DataIntegrityProof".into());
            proof.insert("cryptosuite".into(), Suite::EddsaJcs2022.name().into());
            proof.insert("created".into(), datetime(created).into());
            proof.insert("verificationMethod".into(), method.into());
            proof.insert("proofPurpose".into(), "assertionMethod".into());
            let signature = {
                use ed25519_dalek::Signer as _;
                key.sign(&jcs_hash_data(&document, &proof)?)
            };
            proof.insert(
                "proofValue".into(),
                format!("z{}", bs58::encode(signature.to_bytes()).into_string()).into(),
            );
            document.insert("proof".into(), Value::Object(proof));
            Ok(Value::Object(document))
        }
    }
}

fn xsd_now(now: i64) -> ssi::xsd::DateTimeStamp {
    let text = datetime(now);
    text.parse()
        .unwrap_or_else(|_| ssi::xsd::DateTimeStamp::now())
}

/// `eddsa-jcs-2022` hash data: SHA-256(JCS(proof config)) || SHA-256(JCS(document)), where the
/// proof configuration carries the document's `@context` (vc-di-eddsa section 3.3).
fn jcs_hash_data(
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<Vec<u8>, Error> {
    let mut config = proof.clone();
    config.remove("proofValue");
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    let canonical_config = serde_json_canonicalizer::to_vec(&config).map_err(proof_error)?;
    let canonical_document = serde_json_canonicalizer::to_vec(document).map_err(proof_error)?;
    let mut hash = Sha256::digest(canonical_config).to_vec();
    hash.extend_from_slice(&Sha256::digest(canonical_document));
    Ok(hash)
}

/// Verifies a VC 2.0 credential for [`Credentials::verify_vc`].
pub async fn verify(
    credentials: &Credentials,
    credential: &Value,
    options: &VerifyOptions,
) -> Result<Verification, Error> {
    let now = options.now.unwrap_or_else(crate::now_seconds);
    let bytes = serde_json::to_vec(credential).map_err(proof_error)?;
    if bytes.len() > crate::limits::CREDENTIAL_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "credential",
            limit: crate::limits::CREDENTIAL_BYTES_MAX,
        });
    }
    crate::limits::check_depth(credential, "credential")?;
    let Value::Object(document) = credential else {
        return Err(Error::Malformed {
            what: "credential",
            reason: "not an object".into(),
        });
    };
    let contexts = document.get("@context").and_then(Value::as_array);
    if contexts.and_then(|c| c.first()).and_then(Value::as_str) != Some(CREDENTIALS_V2) {
        return Err(Error::Malformed {
            what: "@context",
            reason: format!("the first context must be {CREDENTIALS_V2}"),
        });
    }
    let issuer = match document.get("issuer") {
        Some(Value::String(id)) => id.as_str(),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str).unwrap_or_default(),
        _ => {
            return Err(Error::Malformed {
                what: "issuer",
                reason: "missing".into(),
            })
        }
    };
    let trusted = credentials.trusted(issuer)?;
    let proof = match document.get("proof") {
        Some(Value::Object(proof)) => proof,
        Some(_) => {
            return Err(Error::Proof {
                reason: "exactly one proof object is accepted".into(),
            })
        }
        None => {
            return Err(Error::Proof {
                reason: "the credential has no proof".into(),
            })
        }
    };
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        return Err(Error::Proof {
            reason: "proof type must be DataIntegrityProof".into(),
        });
    }
    if proof.get("proofPurpose").and_then(Value::as_str) != Some("assertionMethod") {
        return Err(Error::Proof {
            reason: "proofPurpose must be assertionMethod".into(),
        });
    }
    let suite = Suite::from_name(
        proof
            .get("cryptosuite")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )?;
    let method = proof
        .get("verificationMethod")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !method.starts_with(&format!("{issuer}#")) {
        return Err(Error::Proof {
            reason: format!("verification method {method} is not the issuer's"),
        });
    }
    let key = match trusted.key(issuer, Some(method)) {
        Some(PublicKey::Ed25519(key)) => *key,
        Some(_) => {
            return Err(Error::AlgorithmRefused {
                alg: "EdDSA".into(),
                reason: "the verification method is not an Ed25519 key",
            })
        }
        None => {
            return Err(Error::Proof {
                reason: format!("{method} is not a key of {issuer}"),
            })
        }
    };
    let mut checks = vec!["format"];
    // `ssi` checks validity together with the proof and reports both as "invalid". Ask it
    // about an instant inside the validity period, so that only the proof decides, and check
    // the period below, where expired and not-yet-valid get their own errors.
    let inside = match document.get("validFrom").and_then(Value::as_str) {
        Some(from) => {
            parse_datetime(from, "validFrom")?.max(proof_created(proof)?.unwrap_or(i64::MIN))
        }
        None => now,
    };
    check_proof(
        credentials.json_ld(),
        credential,
        &key,
        issuer,
        method,
        suite,
        inside,
    )
    .await?;
    checks.extend(["signature", "proof"]);
    let types: Vec<&str> = document
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !types.contains(&"VerifiableCredential") {
        return Err(Error::Malformed {
            what: "type",
            reason: "must include VerifiableCredential".into(),
        });
    }
    let credential_type = types
        .iter()
        .find(|t| **t != "VerifiableCredential")
        .copied()
        .unwrap_or("VerifiableCredential");
    // Every trusted issuer publishes its own status lists.
    if credential_type != "BitstringStatusListCredential" && !trusted.trusted_for(credential_type) {
        return Err(Error::NotTrustedForType {
            issuer: issuer.into(),
            credential_type: credential_type.into(),
        });
    }
    checks.push("issuer");
    if let Some(from) = document.get("validFrom").and_then(Value::as_str) {
        let from = parse_datetime(from, "validFrom")?;
        if from > now + CLOCK_SKEW_SECONDS {
            return Err(Error::NotYetValid { valid_from: from });
        }
    }
    let mut warnings = Vec::new();
    match document.get("validUntil").and_then(Value::as_str) {
        Some(until) => {
            let until = parse_datetime(until, "validUntil")?;
            if until <= now - CLOCK_SKEW_SECONDS {
                return Err(Error::Expired { valid_until: until });
            }
        }
        None => warnings.push("the credential has no validUntil".to_owned()),
    }
    checks.push("validity");
    let entries: Vec<&Value> = match document.get("credentialStatus") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries.iter().collect(),
        Some(entry) => vec![entry],
    };
    for entry in entries {
        match (
            entry["statusPurpose"].as_str(),
            credentials.bitstring_status(entry)?,
        ) {
            (_, None) => warnings.push(format!(
                "status list {} is not ours and is not fetched while verifying",
                entry["statusListCredential"]
            )),
            (Some("revocation"), Some(Status::Invalid)) => return Err(Error::Revoked),
            (Some("suspension"), Some(Status::Suspended)) => return Err(Error::Suspended),
            _ => {}
        }
    }
    checks.push("status");
    let mut subject = document
        .get("credentialSubject")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(known) = types::find(credential_type) {
        if let Value::Object(subject) = &mut subject {
            let mut claims = subject.clone();
            claims.remove("id");
            known.check_claims(&Value::Object(claims))?;
            checks.push("schema");
        }
    }
    Ok(Verification {
        checks,
        warnings,
        issuer: issuer.into(),
        credential_type: credential_type.into(),
        claims: subject,
        disclosed: Vec::new(),
    })
}

/// `ssi` reports validity failures and bad signatures alike as "invalid"; name them.
/// Checks the `DataIntegrityProof` of `credential` (its `proof` member) with `suite`, against
/// `key` as the verification method `method` of `controller`, as of `at` (Unix seconds).
pub async fn check_proof(
    loader: &Loader,
    credential: &Value,
    key: &ed25519_dalek::VerifyingKey,
    controller: &str,
    method: &str,
    suite: Suite,
    at: i64,
) -> Result<(), Error> {
    let Value::Object(document) = credential else {
        return Err(Error::Malformed {
            what: "credential",
            reason: "not an object".into(),
        });
    };
    let Some(Value::Object(proof)) = document.get("proof") else {
        return Err(Error::Proof {
            reason: "the credential has no proof object".into(),
        });
    };
    match suite {
        Suite::EddsaRdfc2022 => {
            let secured: DataIntegrity<JsonCredential, EdDsaRdfc2022> =
                serde_json::from_value(credential.clone()).map_err(|e| Error::Malformed {
                    what: "credential",
                    reason: e.to_string(),
                })?;
            let iri = iref::IriBuf::new(method.to_owned()).map_err(proof_error)?;
            let uri = iref::UriBuf::new(controller.as_bytes().to_vec())
                .map_err(|_| proof_error("the issuer is not a URI"))?;
            let mut resolver = HashMap::new();
            resolver.insert(iri.clone(), Multikey::from_public_key(iri, uri, key));
            let parameters = VerificationParameters::from_resolver(&resolver)
                .with_json_ld_loader(loader.clone())
                .with_date_time(chrono_from(at));
            match secured.verify(parameters).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(invalid)) => Err(classify_invalid(&invalid.to_string())),
                Err(error) => Err(Error::Proof {
                    reason: error.to_string(),
                }),
            }
        }
        Suite::EddsaJcs2022 => {
            let mut unsecured = document.clone();
            unsecured.remove("proof");
            let value = proof
                .get("proofValue")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let signature = value
                .strip_prefix('z')
                .and_then(|b58| bs58::decode(b58).into_vec().ok())
                .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
                .ok_or(Error::Proof {
                    reason: "proofValue is not a base58btc Ed25519 signature".into(),
                })?;
            let hash = jcs_hash_data(&unsecured, proof)?;
            key.verify_strict(&hash, &signature)
                .map_err(|_| Error::BadSignature)
        }
    }
}

fn classify_invalid(message: &str) -> Error {
    let lower = message.to_lowercase();
    if lower.contains("signature") {
        Error::BadSignature
    } else {
        Error::Proof {
            reason: message.to_owned(),
        }
    }
}

fn proof_created(proof: &Map<String, Value>) -> Result<Option<i64>, Error> {
    proof
        .get("created")
        .and_then(Value::as_str)
        .map(|created| parse_datetime(created, "proof.created"))
        .transpose()
}

fn chrono_from(seconds: i64) -> ssi::claims::chrono::DateTime<ssi::claims::chrono::Utc> {
    ssi::claims::chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    #[test]
    fn jcs_follows_rfc8785_even_with_arbitrary_precision_numbers() {
        // `ssi` turns on serde_json's arbitrary_precision for the whole build; RFC 8785 still
        // wants ECMAScript number forms and UTF-16 key order.
        let value: Value =
            serde_json::from_str(r#"{"b": 1e3, "a": 18500.50, "é": "x", "c": [1.0E-7, -0, 100]}"#)
                .unwrap();
        let canonical =
            String::from_utf8(serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap();
        assert_eq!(
            canonical,
            r#"{"a":18500.5,"b":1000,"c":[1e-7,0,100],"é":"x"}"#
        );
    }

    /// Expands `document` the way `ssi` 0.16 does without our patch: the whole Expansion
    /// algorithm from the empty context, the top-level `@context` processed anew.
    async fn expand_uncached(
        loader: &Loader,
        document: &ssi::json_ld::syntax::Value,
    ) -> Result<ssi::json_ld::ExpandedDocument, String> {
        use ssi::json_ld::expansion::{Action, Options, Policy};
        use ssi::json_ld::Expand as _;
        let options = Options {
            policy: Policy {
                invalid: Action::Reject,
                allow_undefined: false,
                ..Default::default()
            },
            ..Default::default()
        };
        document
            .expand_full(&mut (), Default::default(), None, loader, options, ())
            .await
            .map_err(|e| e.to_string())
    }

    #[test]
    fn cached_context_expansion_equals_the_uncached_algorithm() {
        use ssi::json_ld::syntax::Parse as _;
        use ssi::json_ld::Expandable as _;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let loader = Loader::new();
        let credential = serde_json::json!({
            "@context": [CREDENTIALS_V2, types::CONTEXT_URL],
            "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
            "type": ["VerifiableCredential", "IseeCredential"],
            "issuer": "did:web:example.org:issuers:inps",
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5},
            "credentialStatus": [{
                "id": "https://example.org/status/1#7", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": "7",
                "statusListCredential": "https://example.org/status/1"
            }],
        });
        let mut proof_configuration = serde_json::json!({
            "@context": [CREDENTIALS_V2, types::CONTEXT_URL],
            "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod",
            "verificationMethod": "did:web:example.org:issuers:inps#ed25519",
        });
        let inline_context = serde_json::json!({
            "@context": [CREDENTIALS_V2, {"@vocab": "https://example.org/vocab#"}],
            "type": ["VerifiableCredential"], "issuer": "did:example:1",
            "credentialSubject": {"anything": {"nested": [1, 2, {"@id": "_:b0"}]}},
        });
        let undefined_term = serde_json::json!({
            "@context": [CREDENTIALS_V2],
            "type": ["VerifiableCredential", "NotDefinedAnywhere"],
            "issuer": "did:example:1", "credentialSubject": {"id": "did:example:2"},
        });
        let unknown_context = serde_json::json!({
            "@context": ["https://example.org/never-pinned"], "name": "x",
        });
        let mut documents = vec![
            credential.clone(),
            proof_configuration.clone(),
            inline_context,
            undefined_term,
            unknown_context,
        ];
        proof_configuration["@context"] = serde_json::json!(CREDENTIALS_V2);
        documents.push(proof_configuration);
        runtime.block_on(async {
            // Twice each: the first fills the cache, the second reads it.
            for document in documents.iter().chain(documents.iter()) {
                let value = ssi::json_ld::syntax::Value::parse_str(&document.to_string())
                    .unwrap()
                    .0;
                let uncached = expand_uncached(&loader, &value).await;
                let cached = ssi::json_ld::CompactJsonLd(value)
                    .expand(&loader)
                    .await
                    .map_err(|e| e.to_string());
                assert_eq!(cached.is_ok(), uncached.is_ok(), "{document}");
                match (cached, uncached) {
                    (Ok(cached), Ok(uncached)) => assert_eq!(cached, uncached, "{document}"),
                    (Err(cached), Err(uncached)) => {
                        assert!(cached.ends_with(&uncached), "{cached} / {uncached}")
                    }
                    _ => unreachable!(),
                }
            }
        });
        // The four documents whose contexts process were cached, so the checks above compared
        // the cached path with the uncached algorithm.
        assert!(ssi::json_ld::context_cache::len() >= 4);
    }

    #[test]
    fn datetimes_are_utc_with_z() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_datetime("2026-11-22T10:00:00Z", "t").unwrap(),
            1_795_341_600
        );
        assert!(parse_datetime("22/11/2026", "t").is_err());
    }
}
