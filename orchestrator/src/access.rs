//! Who may call the eligibility API: bearer tokens, each with a name and a role, stored as
//! SHA-256 hashes in `DATA/eligibility/access.json`. The first start makes one platform and one
//! operator token and writes them once to `new-tokens.txt` (mode 0600) for the administrator
//! to hand out; `sigillo eligibility tokens create|revoke|list` manages them afterwards, and
//! the running service picks the file's changes up within a second.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// How often the service looks at the file for changes, at most.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// The longest token name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A municipality's or call's platform: submits applications, reads their decisions.
    Platform,
    /// An operator: resolves pending cases, reads every decision.
    Operator,
    /// An auditor: reads decisions and their evidence, changes nothing.
    Auditor,
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

struct Loaded {
    grants: Vec<Grant>,
    modified: Option<SystemTime>,
    checked: Instant,
}

/// The tokens, reloaded when their file changes.
pub struct Access {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("elig_{}", hex::encode(bytes))
}

fn read(path: &Path) -> std::io::Result<(Vec<Grant>, Option<SystemTime>)> {
    let bytes = std::fs::read(path)?;
    let grants = serde_json::from_slice(&bytes)
        .map_err(|error| std::io::Error::other(format!("{}: {error}", path.display())))?;
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok((grants, modified))
}

fn write(path: &Path, grants: &[Grant]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(grants).expect("grants serialise");
    notary::keys::write_durably(path, &json, 0o600)
}

impl Access {
    /// Loads `dir/access.json`, or makes it with a platform and an operator token and writes
    /// the tokens to `dir/new-tokens.txt`.
    pub fn open(dir: &Path) -> std::io::Result<Access> {
        let path = dir.join("access.json");
        if !path.exists() {
            let mut grants = Vec::new();
            let mut text = String::new();
            for (name, role) in [("platform", Role::Platform), ("operator", Role::Operator)] {
                let token = new_token();
                grants.push(Grant {
                    name: name.into(),
                    role,
                    sha256: hash(&token),
                });
                text.push_str(&format!("{name} {token}\n"));
            }
            notary::keys::write_durably(&dir.join("new-tokens.txt"), text.as_bytes(), 0o600)?;
            write(&path, &grants)?;
        }
        let (grants, modified) = read(&path)?;
        Ok(Access {
            path,
            loaded: RwLock::new(Loaded {
                grants,
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The grant of `token`, if any (compared by hash), after picking up a changed file.
    pub fn check(&self, token: &str) -> Option<Grant> {
        self.reload_if_changed();
        let digest = hash(token);
        let loaded = self
            .loaded
            .read()
            .expect("the access lock is never poisoned");
        loaded
            .grants
            .iter()
            .find(|grant| grant.sha256 == digest)
            .cloned()
    }

    fn reload_if_changed(&self) {
        {
            let loaded = self
                .loaded
                .read()
                .expect("the access lock is never poisoned");
            if loaded.checked.elapsed() < RELOAD_CHECK_INTERVAL {
                return;
            }
        }
        let mut loaded = self
            .loaded
            .write()
            .expect("the access lock is never poisoned");
        loaded.checked = Instant::now();
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified == loaded.modified {
            return;
        }
        // A file that no longer reads keeps the tokens in force: failing open is not an option,
        // failing closed would lock everyone out over a typo.
        match read(&self.path) {
            Ok((grants, modified)) => {
                loaded.grants = grants;
                loaded.modified = modified;
                tracing::info!(tokens = loaded.grants.len(), "eligibility tokens reloaded");
            }
            Err(error) => {
                tracing::error!(%error, "the eligibility tokens file does not read; keeping the previous tokens")
            }
        }
    }
}

/// Why a token could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The name is taken, or not a name.
    #[error("{0}")]
    Name(String),
}

/// Adds a token named `name` with `role` to `dir/access.json` and returns it (shown once).
pub fn create(dir: &Path, name: &str, role: Role) -> Result<String, AccessError> {
    let valid = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(AccessError::Name(format!(
            "a token name is 1 to {NAME_BYTES_MAX} characters of a-z A-Z 0-9 - _ ."
        )));
    }
    let path = dir.join("access.json");
    let (mut grants, _) = read(&path)?;
    if grants.iter().any(|grant| grant.name == name) {
        return Err(AccessError::Name(format!(
            "a token named {name:?} exists; revoke it first"
        )));
    }
    let token = new_token();
    grants.push(Grant {
        name: name.to_owned(),
        role,
        sha256: hash(&token),
    });
    write(&path, &grants)?;
    Ok(token)
}

/// Removes the token named `name` from `dir/access.json`.
pub fn revoke(dir: &Path, name: &str) -> Result<(), AccessError> {
    let path = dir.join("access.json");
    let (mut grants, _) = read(&path)?;
    let before = grants.len();
    grants.retain(|grant| grant.name != name);
    if grants.len() == before {
        return Err(AccessError::Name(format!("no token named {name:?}")));
    }
    write(&path, &grants)?;
    Ok(())
}

/// The tokens' names and roles.
pub fn list(dir: &Path) -> Result<Vec<(String, Role)>, AccessError> {
    let (grants, _) = read(&dir.join("access.json"))?;
    Ok(grants
        .into_iter()
        .map(|grant| (grant.name, grant.role))
        .collect())
}
