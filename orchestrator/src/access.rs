//! Who may call the eligibility API: bearer tokens, each with a role, stored as SHA-256
//! hashes in `DATA/eligibility/access.json`. The first start makes one token per role and
//! writes them once to `new-tokens.txt` (mode 0600) for the administrator to hand out.

use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A municipality's or call's platform: submits applications, reads their decisions.
    Platform,
    /// An operator: resolves pending cases, reads every decision.
    Operator,
}

/// One stored token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Who holds it (logged, and recorded in reviews).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub sha256: String,
}

/// The tokens.
pub struct Access {
    grants: Vec<Grant>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Access {
    /// Loads `dir/access.json`, or makes it with one token per role and writes the tokens
    /// to `dir/new-tokens.txt`.
    pub fn open(dir: &Path) -> std::io::Result<Access> {
        let path = dir.join("access.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let grants = serde_json::from_slice(&bytes).map_err(|error| {
                    std::io::Error::other(format!("{}: {error}", path.display()))
                })?;
                Ok(Access { grants })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut grants = Vec::new();
                let mut text = String::new();
                for (name, role) in [("platform", Role::Platform), ("operator", Role::Operator)] {
                    let mut bytes = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut bytes);
                    let token = format!("elig_{}", hex::encode(bytes));
                    grants.push(Grant {
                        name: name.into(),
                        role,
                        sha256: hash(&token),
                    });
                    text.push_str(&format!("{name} {token}\n"));
                }
                notary::keys::write_durably(&dir.join("new-tokens.txt"), text.as_bytes(), 0o600)?;
                let json = serde_json::to_vec_pretty(&grants).expect("grants serialise");
                notary::keys::write_durably(&path, &json, 0o600)?;
                Ok(Access { grants })
            }
            Err(error) => Err(error),
        }
    }

    /// The grant of `token`, if any (compared by hash).
    pub fn check(&self, token: &str) -> Option<&Grant> {
        let digest = hash(token);
        self.grants.iter().find(|grant| grant.sha256 == digest)
    }
}
