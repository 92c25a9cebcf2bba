//! Which notary key the offline commands trust.

use std::path::Path;

use anyhow::{bail, Context as _};
use notary::{keys, NoteVerifier};

/// The environment variable that names the trusted notary key when no flag does.
pub const NOTARY_KEY_ENV: &str = "SIGILLO_NOTARY_KEY";

/// Reads a trusted key from `spec`: a C2SP verifier key string (`name+id+base64`), or a file
/// holding one, or a DID document file (`did.json`) of the notary.
pub fn load(spec: &str) -> anyhow::Result<NoteVerifier> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the notary key {}", path.display()))?;
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            let document: serde_json::Value = serde_json::from_str(trimmed)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            return Ok(keys::verifier_from_did_document(&document)?);
        }
        return NoteVerifier::from_vkey(trimmed)
            .with_context(|| format!("{} does not hold a notary key", path.display()));
    }
    NoteVerifier::from_vkey(spec).context("--notary-key is neither a file nor a verifier key")
}

/// The key from the flag, else from [`NOTARY_KEY_ENV`]; `None` when neither is set.
pub fn from_flag_or_env(flag: Option<&str>) -> anyhow::Result<Option<NoteVerifier>> {
    match flag {
        Some(spec) => load(spec).map(Some),
        None => match std::env::var(NOTARY_KEY_ENV) {
            Ok(spec) if !spec.is_empty() => load(&spec).map(Some),
            _ => Ok(None),
        },
    }
}

/// Like [`from_flag_or_env`], but a key is required.
pub fn required(flag: Option<&str>) -> anyhow::Result<NoteVerifier> {
    match from_flag_or_env(flag)? {
        Some(key) => Ok(key),
        None => bail!(
            "no trusted notary key: pass --notary-key (a DID document such as \
             did-docs/notary/did.json, or a key string) or set {NOTARY_KEY_ENV}"
        ),
    }
}
