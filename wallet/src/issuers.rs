//! The issuer registry: each public body that issues credentials, with its did:web DID, its
//! keys (Ed25519 for Data Integrity, P-256 for ES256) and the credential types it may issue
//! (who may act as it is the `access` store's business). Also the trust list the verifiers use: the registry's issuers
//! plus configured external ones, resolved offline.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::did;
use crate::jose::{PublicKey, SigningKey};
use crate::types::{self, CredentialType};
use crate::Error;

/// How an issuer is configured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuerConfig {
    /// Short name, the last segment of its did:web DID (`comune-milano`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The credential types (short names) it may issue.
    pub types: Vec<String>,
}

/// The issuers of the Nidi Gratis and business-call stories, used when no file is given.
pub fn default_issuers() -> Vec<IssuerConfig> {
    let issuer = |id: &str, name: &str, types: &[&str]| IssuerConfig {
        id: id.into(),
        name: name.into(),
        types: types.iter().map(|t| (*t).to_owned()).collect(),
    };
    vec![
        issuer("comune-milano", "Comune di Milano", &["residenza"]),
        issuer(
            "comune-cinisello-balsamo",
            "Comune di Cinisello Balsamo",
            &["residenza"],
        ),
        issuer("inps", "INPS", &["isee", "durc"]),
        issuer(
            "camera-commercio-milano",
            "Camera di Commercio di Milano Monza Brianza Lodi",
            &["registro-imprese"],
        ),
        issuer("regione-lombardia", "Regione Lombardia", &["nidi-gratis"]),
    ]
}

/// An issuer with its keys.
pub struct Issuer {
    /// Short name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// did:web DID.
    pub did: String,
    /// The Ed25519 key (Data Integrity, and EdDSA SD-JWTs on request).
    pub ed25519: ed25519_dalek::SigningKey,
    /// The P-256 key (ES256, the default for SD-JWT VC).
    pub p256: SigningKey,
    /// What it may issue.
    pub types: Vec<&'static CredentialType>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("id", &self.id)
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Whether it may issue `credential_type`.
    pub fn may_issue(&self, credential_type: &CredentialType) -> bool {
        self.types.iter().any(|t| t.name == credential_type.name)
    }

    /// The id of its Ed25519 verification method.
    pub fn ed25519_method(&self) -> String {
        format!("{}#{}", self.did, did::ED25519_FRAGMENT)
    }

    /// The id of its P-256 verification method.
    pub fn p256_method(&self) -> String {
        format!("{}#{}", self.did, did::P256_FRAGMENT)
    }

    /// Its did:web document.
    pub fn document(&self) -> Value {
        did::issuer_document(
            &self.did,
            &self.name,
            &PublicKey::Ed25519(self.ed25519.verifying_key()),
            &self.p256.public(),
        )
    }
}

/// Loads each issuer's keys from `dir/<id>/` or creates them (files 0600, written durably).
pub fn load(dir: &Path, did_host: &str, configs: &[IssuerConfig]) -> Result<Vec<Issuer>, Error> {
    let io = |path: &Path, error: std::io::Error| Error::Storage {
        reason: format!("{}: {error}", path.display()),
    };
    let mut issuers = Vec::with_capacity(configs.len());
    for config in configs {
        if config.id.is_empty()
            || !config
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::Config {
                reason: format!(
                    "issuer id {:?}: lowercase letters, digits and - only",
                    config.id
                ),
            });
        }
        let types = config
            .types
            .iter()
            .map(|name| {
                types::find(name).ok_or_else(|| Error::Config {
                    reason: format!("issuer {}: unknown credential type {name}", config.id),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let home = dir.join(&config.id);
        std::fs::create_dir_all(&home).map_err(|e| io(&home, e))?;
        let ed25519 = notary::keys::load_or_generate(&home.join("ed25519.key")).map_err(|e| {
            Error::Storage {
                reason: e.to_string(),
            }
        })?;
        let p256_path = home.join("p256.pk8");
        let p256 = match std::fs::read(&p256_path) {
            Ok(der) => SigningKey::p256_from_pkcs8(&Zeroizing::new(der))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let (key, pkcs8) = SigningKey::generate_p256();
                notary::keys::write_durably(&p256_path, &pkcs8, 0o600)
                    .map_err(|e| io(&p256_path, e))?;
                key
            }
            Err(error) => return Err(io(&p256_path, error)),
        };
        issuers.push(Issuer {
            id: config.id.clone(),
            name: config.name.clone(),
            did: notary::keys::did_web(did_host, &["issuers", &config.id]),
            ed25519,
            p256,
            types,
        });
    }
    Ok(issuers)
}

/// An external issuer the verifiers trust, given by DID and keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExternalIssuer {
    /// Its DID (did:key, or did:web with its document in `document`), or an `https` issuer
    /// identifier with `jwk`.
    pub id: String,
    /// The credential types (short names, `vct`s or VC types) it is trusted for; `*` for any.
    pub types: Vec<String>,
    /// Its DID document, for did:web issuers.
    #[serde(default)]
    pub document: Option<Value>,
    /// Its public JWK, for issuers identified by URL.
    #[serde(default)]
    pub jwk: Option<Value>,
}

/// A trusted issuer's keys by verification method id, and what it is trusted for.
#[derive(Clone, Debug)]
pub struct TrustedIssuer {
    /// Keys by verification method id (`did#fragment`) or, for JWK issuers, by `kid` or "".
    pub keys: HashMap<String, PublicKey>,
    /// Trusted types; empty means any.
    pub types: Vec<String>,
}

impl TrustedIssuer {
    /// Whether the issuer may issue a credential of this `vct` or VC type.
    pub fn trusted_for(&self, type_name: &str) -> bool {
        self.types.is_empty()
            || self.types.iter().any(|t| {
                t == type_name
                    || types::find(t).is_some_and(|k| k.vct == type_name || k.vc_type == type_name)
            })
    }

    /// The key named by `kid` (a DID URL or a bare fragment), or the only key when `kid` is absent.
    pub fn key(&self, issuer: &str, kid: Option<&str>) -> Option<&PublicKey> {
        match kid {
            Some(kid) => self
                .keys
                .get(kid)
                .or_else(|| {
                    self.keys
                        .get(&format!("{issuer}#{}", kid.trim_start_matches('#')))
                })
                // An issuer configured by a bare JWK has one key, whatever its kid.
                .or_else(|| self.keys.get("").filter(|_| self.keys.len() == 1)),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }
}

/// Builds a trust entry from an external issuer's configuration, offline.
pub fn external(issuer: &ExternalIssuer) -> Result<TrustedIssuer, Error> {
    let mut keys = HashMap::new();
    if issuer.id.starts_with("did:key:") {
        let key = did::resolve_did_key(&issuer.id)?;
        let fragment = issuer.id.trim_start_matches("did:key:").to_owned();
        keys.insert(format!("{}#{fragment}", issuer.id), key);
    } else if let Some(document) = &issuer.document {
        for method in document["verificationMethod"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(id) = method["id"].as_str() else {
                continue;
            };
            let id = if id.starts_with('#') {
                format!("{}{id}", issuer.id)
            } else {
                id.to_owned()
            };
            let key = match (
                method.get("publicKeyMultibase").and_then(Value::as_str),
                method.get("publicKeyJwk"),
            ) {
                (Some(multibase), _) => did::from_multikey(multibase)?,
                (None, Some(jwk)) => PublicKey::from_jwk(jwk)?,
                _ => continue,
            };
            keys.insert(id, key);
        }
    } else if let Some(jwk) = &issuer.jwk {
        let kid = jwk
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        keys.insert(kid, PublicKey::from_jwk(jwk)?);
    }
    if keys.is_empty() {
        return Err(Error::Config {
            reason: format!("trusted issuer {}: no usable key", issuer.id),
        });
    }
    let types = if issuer.types.iter().any(|t| t == "*") {
        Vec::new()
    } else {
        issuer.types.clone()
    };
    Ok(TrustedIssuer { keys, types })
}
