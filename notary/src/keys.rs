//! The notary's Ed25519 key on disk, and its did:web DID document.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::note::NoteVerifier;

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// The fragment of the notary key's verification method.
pub const KEY_FRAGMENT: &str = "checkpoint-key";

/// Why a key could not be loaded, created or read from a DID document.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error("key file {path} does not hold a 32-byte hex Ed25519 seed")]
    Malformed {
        /// The file.
        path: String,
    },
    /// The DID document has no usable notary key.
    #[error("DID document: {reason}")]
    DidDocument {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Loads the signing key from `path`, or generates one there (mode 0600, written to a
/// temporary file, fsynced and renamed) when the file does not exist.
pub fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let mut seed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(text.trim(), seed.as_mut()).map_err(|_| KeyError::Malformed {
                path: path.display().to_string(),
            })?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
            write_durably(path, text.as_bytes(), 0o600).map_err(io)?;
            Ok(key)
        }
        Err(error) => Err(io(error)),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either no file or the whole file: a temporary
/// file created with `mode`, fsynced, renamed over `path`, and the directory fsynced.
pub fn write_durably(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    // A bare file name's parent is "": the current directory.
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// The did:web DID for `host` (a host name, optionally with `:port`) and `path` segments.
/// `did:web:localhost%3A8080:notary` resolves to `http(s)://localhost:8080/notary/did.json`.
pub fn did_web(host: &str, path: &[&str]) -> String {
    let mut did = format!("did:web:{}", host.replace(':', "%3A"));
    for segment in path {
        did.push(':');
        did.push_str(segment);
    }
    did
}

/// The `publicKeyMultibase` form of an Ed25519 key: base58btc of 0xed01 || key, prefixed `z`.
pub fn multikey(key: &VerifyingKey) -> String {
    let mut raw = ED25519_MULTICODEC.to_vec();
    raw.extend_from_slice(key.as_bytes());
    format!("z{}", bs58::encode(raw).into_string())
}

/// The notary's DID document: its checkpoint key as a Multikey verification method, and a
/// service entry with the C2SP note verifier key and the API address.
pub fn did_document(did: &str, verifier: &NoteVerifier, api_url: &str) -> Value {
    let method = format!("{did}#{KEY_FRAGMENT}");
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{
            "id": method,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(verifier.public_key()),
        }],
        "assertionMethod": [method],
        "service": [{
            "id": format!("{did}#notary"),
            "type": "SigilloNotary",
            "serviceEndpoint": api_url,
            "noteVerifierKey": verifier.to_vkey(),
        }],
    })
}

/// Reads the notary key from a DID document written by [`did_document`]: the note verifier
/// key of the `SigilloNotary` service, which must be the document's Multikey.
pub fn verifier_from_did_document(document: &Value) -> Result<NoteVerifier, KeyError> {
    let bad = |reason| KeyError::DidDocument { reason };
    let vkey = document["service"]
        .as_array()
        .and_then(|services| {
            services
                .iter()
                .find(|service| service["type"] == "SigilloNotary")
        })
        .and_then(|service| service["noteVerifierKey"].as_str())
        .ok_or(bad("no SigilloNotary service with a noteVerifierKey"))?;
    let verifier =
        NoteVerifier::from_vkey(vkey).map_err(|_| bad("the noteVerifierKey is malformed"))?;
    let published = multikey(verifier.public_key());
    let listed = document["verificationMethod"]
        .as_array()
        .is_some_and(|methods| {
            methods
                .iter()
                .any(|method| method["publicKeyMultibase"] == published.as_str())
        });
    if !listed {
        return Err(bad(
            "the noteVerifierKey is not a verification method of the document",
        ));
    }
    Ok(verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("sigillo-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notary.key");
        let first = load_or_generate(&path).unwrap();
        let again = load_or_generate(&path).unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            load_or_generate(&path),
            Err(KeyError::Malformed { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn did_document_round_trips() {
        // The did:key test vector of the W3C did:key spec: seed of zeros is not it, so check
        // the multibase shape against a known key instead.
        let key = SigningKey::from_bytes(&[0; 32]).verifying_key();
        assert!(multikey(&key).starts_with("z6Mk"));
        let verifier = NoteVerifier::new("example.org/notary", key).unwrap();
        let did = did_web("example.org:8443", &["notary"]);
        assert_eq!(did, "did:web:example.org%3A8443:notary");
        let document = did_document(&did, &verifier, "https://example.org:8443/v1/notary");
        assert_eq!(verifier_from_did_document(&document).unwrap(), verifier);
        let mut forged = document.clone();
        forged["verificationMethod"][0]["publicKeyMultibase"] = "z6MkOther".into();
        assert!(verifier_from_did_document(&forged).is_err());
    }
}
