//! Holder wallets: the keys, credentials and documents of one citizen or business, in one file
//! encrypted under the owner's passphrase.
//!
//! The file is JSON: a clear header (format, the Argon2id parameters and salt, a key check)
//! and the contents sealed with XChaCha20-Poly1305 under a key derived from the passphrase by
//! Argon2id. The header is the AEAD's associated data, so it cannot be changed either. A save
//! writes a new file beside the old one, fsyncs it and renames it over the old one (then fsyncs
//! the directory): a killed process leaves the old wallet or the new one, never half of one.
//!
//! The key check, SHA-256 of a label and the derived key, tells a wrong passphrase (the check
//! differs) from a damaged or altered file (the check matches but the AEAD refuses). It makes a
//! guess no cheaper to test than decrypting: each guess still costs one Argon2id derivation.

use std::path::{Path, PathBuf};

use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::jose::{b64, unb64, PublicKey, SigningKey};

/// The file format's name, in the header.
pub const FORMAT: &str = "sigillo-wallet/1";
/// Largest document a wallet takes.
pub const DOCUMENT_BYTES_MAX: usize = 16 << 20;
/// Largest wallet file read.
pub const FILE_BYTES_MAX: u64 = 256 << 20;
/// Argon2id memory in KiB, passes and lanes: OWASP's recommended minimum (19 MiB, 2, 1).
const ARGON2_MEMORY_KIB: u32 = 19_456;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;
const KEY_CHECK_LABEL: &[u8] = b"sigillo-wallet key check";

/// What can go wrong with a wallet file.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The passphrase does not open this wallet.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The file is not a wallet, or was changed or damaged after it was written.
    #[error("the wallet file is damaged or was altered: {reason}")]
    Damaged {
        /// What gave it away.
        reason: String,
    },
    /// `create` on a path that exists.
    #[error("a wallet already exists at {path}")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// No such credential or document.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// Input the wallet refuses.
    #[error("{what}: {reason}")]
    Refused {
        /// The part at fault.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Reading or writing the file failed.
    #[error("wallet file {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Who owns a wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    /// A person.
    Citizen,
    /// A company.
    Business,
}

/// A credential the wallet holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// The wallet's id for it.
    pub id: String,
    /// `dc+sd-jwt` or `vc2`.
    pub format: String,
    /// The credential type (`vct` name or VC 2.0 type).
    pub credential_type: String,
    /// The issuer's identifier.
    pub issuer: String,
    /// When the wallet received it (Unix seconds).
    pub received_at: i64,
    /// The credential as issued: the SD-JWT with every disclosure, or the VC 2.0 JSON.
    pub credential: String,
    /// The P-256 key (PKCS#8, base64url) this copy alone is bound to, when it has its own
    /// (OpenID4VCI batches bind each copy to a fresh key, so copies cannot be linked);
    /// otherwise the wallet's P-256 key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_key: Option<String>,
    /// The issuer's public key (JWK) the wallet checked the credential with when it arrived;
    /// it opens the disclosures again when the owner presents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_key: Option<Value>,
}

/// A document the wallet holds, with the notary's receipt for its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// The wallet's id for it.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// When it was added (Unix seconds).
    pub added_at: i64,
    /// The bytes, base64url.
    pub content: String,
    /// The notary's receipt for `sha256`, if it was stamped.
    pub receipt: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    ed25519_seed: String,
    p256_pkcs8: String,
}

impl Drop for Secrets {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.ed25519_seed.zeroize();
        self.p256_pkcs8.zeroize();
    }
}

#[derive(Serialize, Deserialize)]
struct Contents {
    owner: String,
    kind: OwnerKind,
    created_at: i64,
    secrets: Secrets,
    credentials: Vec<StoredCredential>,
    documents: Vec<StoredDocument>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Header {
    format: String,
    kdf: Kdf,
    key_check: String,
}

#[derive(Clone, Serialize, Deserialize)]
struct Kdf {
    alg: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct File {
    header: Header,
    nonce: String,
    ciphertext: String,
}

/// An open wallet: decrypted in memory, saved whole by [`HolderWallet::save`].
pub struct HolderWallet {
    path: PathBuf,
    header: Header,
    key: Zeroizing<[u8; 32]>,
    contents: Contents,
    ed25519: SigningKey,
    p256: SigningKey,
}

impl std::fmt::Debug for HolderWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderWallet")
            .field("path", &self.path)
            .field("owner", &self.contents.owner)
            .finish_non_exhaustive()
    }
}

fn derive(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let damaged = |reason: String| WalletError::Damaged { reason };
    if kdf.alg != "argon2id" {
        return Err(damaged(format!("unknown key derivation {}", kdf.alg)));
    }
    let salt = unb64(&kdf.salt, "salt").map_err(|e| damaged(e.to_string()))?;
    let params = Params::new(kdf.memory_kib, kdf.passes, kdf.lanes, Some(32))
        .map_err(|e| damaged(format!("Argon2id parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
        .map_err(|e| damaged(format!("Argon2id: {e}")))?;
    Ok(key)
}

fn key_check(key: &[u8; 32]) -> String {
    b64(Sha256::new()
        .chain_update(KEY_CHECK_LABEL)
        .chain_update(key)
        .finalize())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |source| WalletError::Io {
        path: path.to_owned(),
        source,
    }
}

impl HolderWallet {
    /// Creates a wallet with fresh Ed25519 and P-256 holder keys and writes it to `path`.
    pub fn create(
        path: &Path,
        owner: &str,
        kind: OwnerKind,
        passphrase: &str,
    ) -> Result<Self, WalletError> {
        if path.exists() {
            return Err(WalletError::Exists {
                path: path.to_owned(),
            });
        }
        if passphrase.chars().count() < 8 {
            return Err(WalletError::Refused {
                what: "passphrase",
                reason: "at least 8 characters".into(),
            });
        }
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let kdf = Kdf {
            alg: "argon2id".into(),
            memory_kib: ARGON2_MEMORY_KIB,
            passes: ARGON2_PASSES,
            lanes: ARGON2_LANES,
            salt: b64(salt),
        };
        let key = derive(passphrase, &kdf)?;
        let header = Header {
            format: FORMAT.into(),
            kdf,
            key_check: key_check(&key),
        };
        let ed25519 = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let (p256, pkcs8) = SigningKey::generate_p256();
        let contents = Contents {
            owner: owner.to_owned(),
            kind,
            created_at: crate::now_seconds(),
            secrets: Secrets {
                ed25519_seed: b64(ed25519.to_bytes()),
                p256_pkcs8: b64(&*pkcs8),
            },
            credentials: Vec::new(),
            documents: Vec::new(),
        };
        let wallet = HolderWallet {
            path: path.to_owned(),
            header,
            key,
            contents,
            ed25519: SigningKey::Ed25519(ed25519),
            p256,
        };
        wallet.save()?;
        Ok(wallet)
    }

    /// Opens the wallet at `path` with `passphrase`.
    pub fn open(path: &Path, passphrase: &str) -> Result<Self, WalletError> {
        let length = std::fs::metadata(path).map_err(io(path))?.len();
        if length > FILE_BYTES_MAX {
            return Err(WalletError::Damaged {
                reason: format!("larger than {FILE_BYTES_MAX} bytes"),
            });
        }
        let bytes = std::fs::read(path).map_err(io(path))?;
        let damaged = |reason: String| WalletError::Damaged { reason };
        let file: File =
            serde_json::from_slice(&bytes).map_err(|e| damaged(format!("not a wallet: {e}")))?;
        if file.header.format != FORMAT {
            return Err(damaged(format!("unknown format {}", file.header.format)));
        }
        let key = derive(passphrase, &file.header.kdf)?;
        if key_check(&key) != file.header.key_check {
            return Err(WalletError::WrongPassphrase);
        }
        let nonce = unb64(&file.nonce, "nonce").map_err(|e| damaged(e.to_string()))?;
        if nonce.len() != 24 {
            return Err(damaged("the nonce is not 24 bytes".into()));
        }
        let ciphertext =
            unb64(&file.ciphertext, "ciphertext").map_err(|e| damaged(e.to_string()))?;
        let aad = serde_json::to_vec(&file.header).map_err(|e| damaged(e.to_string()))?;
        let plaintext = Zeroizing::new(
            XChaCha20Poly1305::new(key.as_ref().into())
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| damaged("the contents do not authenticate".into()))?,
        );
        let contents: Contents =
            serde_json::from_slice(&plaintext).map_err(|e| damaged(e.to_string()))?;
        let seed: [u8; 32] = unb64(&contents.secrets.ed25519_seed, "seed")
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| damaged("the Ed25519 key is not 32 bytes".into()))?;
        let pkcs8 = Zeroizing::new(
            unb64(&contents.secrets.p256_pkcs8, "pkcs8").map_err(|e| damaged(e.to_string()))?,
        );
        let p256 = SigningKey::p256_from_pkcs8(&pkcs8).map_err(|e| damaged(e.to_string()))?;
        Ok(HolderWallet {
            path: path.to_owned(),
            header: file.header,
            key,
            contents,
            ed25519: SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)),
            p256,
        })
    }

    /// Encrypts the wallet under a fresh nonce and replaces the file atomically and durably.
    pub fn save(&self) -> Result<(), WalletError> {
        let plaintext = Zeroizing::new(serde_json::to_vec(&self.contents).map_err(|e| {
            WalletError::Refused {
                what: "wallet",
                reason: e.to_string(),
            }
        })?);
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = serde_json::to_vec(&self.header).expect("the header serialises");
        let ciphertext = XChaCha20Poly1305::new(self.key.as_ref().into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length the wallet holds");
        let file = File {
            header: self.header.clone(),
            nonce: b64(nonce),
            ciphertext: b64(ciphertext),
        };
        let bytes = serde_json::to_vec(&file).expect("the file serialises");
        notary::keys::write_durably(&self.path, &bytes, 0o600).map_err(io(&self.path))
    }

    /// The owner's name.
    pub fn owner(&self) -> &str {
        &self.contents.owner
    }

    /// Citizen or business.
    pub fn kind(&self) -> OwnerKind {
        self.contents.kind
    }

    /// The holder key for `alg`: ES256 (P-256, the default of SD-JWT VC) or EdDSA.
    pub fn holder_key(&self, alg: crate::jose::Algorithm) -> &SigningKey {
        match alg {
            crate::jose::Algorithm::Es256 => &self.p256,
            crate::jose::Algorithm::EdDsa => &self.ed25519,
        }
    }

    /// The holder's did:key for each key (P-256 first).
    pub fn dids(&self) -> [String; 2] {
        [
            crate::did::did_key(&self.p256.public()),
            crate::did::did_key(&self.ed25519.public()),
        ]
    }

    /// Which of our keys `key` is, if any.
    pub fn owns(&self, key: &PublicKey) -> Option<&SigningKey> {
        [&self.p256, &self.ed25519]
            .into_iter()
            .find(|k| k.public() == *key)
    }

    /// The credentials held.
    pub fn credentials(&self) -> &[StoredCredential] {
        &self.contents.credentials
    }

    /// The documents held.
    pub fn documents(&self) -> &[StoredDocument] {
        &self.contents.documents
    }

    /// Adds a credential (in memory; [`save`](Self::save) writes it). Returns its id.
    pub fn add_credential(
        &mut self,
        format: &str,
        credential_type: &str,
        issuer: &str,
        credential: String,
        holder_key: Option<&[u8]>,
        issuer_key: Option<Value>,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.contents.credentials.push(StoredCredential {
            id: id.clone(),
            format: format.to_owned(),
            credential_type: credential_type.to_owned(),
            issuer: issuer.to_owned(),
            received_at: crate::now_seconds(),
            credential,
            holder_key: holder_key.map(b64),
            issuer_key,
        });
        id
    }

    /// The claims of a stored credential: every disclosure of an SD-JWT VC opened with the
    /// issuer key it was checked with, or a VC 2.0 credential's `credentialSubject`.
    pub fn claims(&self, credential: &StoredCredential) -> Option<Value> {
        if credential.format == "vc2" {
            let vc: Value = serde_json::from_str(&credential.credential).ok()?;
            return Some(vc["credentialSubject"].clone());
        }
        let key = PublicKey::from_jwk(credential.issuer_key.as_ref()?).ok()?;
        let parsed = crate::sdjwt::parse(&credential.credential).ok()?;
        let revealed = crate::sdjwt::reveal(&parsed, &key).ok()?;
        Some(Value::Object(revealed.claims))
    }

    /// The key a stored credential is bound to.
    pub fn credential_key(&self, credential: &StoredCredential) -> Result<SigningKey, WalletError> {
        match &credential.holder_key {
            Some(pkcs8) => {
                let pkcs8 = Zeroizing::new(unb64(pkcs8, "holder key").map_err(|e| {
                    WalletError::Damaged {
                        reason: e.to_string(),
                    }
                })?);
                SigningKey::p256_from_pkcs8(&pkcs8).map_err(|e| WalletError::Damaged {
                    reason: e.to_string(),
                })
            }
            None => SigningKey::p256_from_pkcs8(&Zeroizing::new(
                unb64(&self.contents.secrets.p256_pkcs8, "pkcs8").map_err(|e| {
                    WalletError::Damaged {
                        reason: e.to_string(),
                    }
                })?,
            ))
            .map_err(|e| WalletError::Damaged {
                reason: e.to_string(),
            }),
        }
    }

    /// Adds a document (in memory) with the notary's receipt for its SHA-256. Returns its id.
    pub fn add_document(
        &mut self,
        name: &str,
        media_type: &str,
        bytes: &[u8],
        receipt: Option<Value>,
    ) -> Result<String, WalletError> {
        if bytes.len() > DOCUMENT_BYTES_MAX {
            return Err(WalletError::Refused {
                what: "document",
                reason: format!("larger than {DOCUMENT_BYTES_MAX} bytes"),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.contents.documents.push(StoredDocument {
            id: id.clone(),
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            sha256: hex::encode(Sha256::digest(bytes)),
            added_at: crate::now_seconds(),
            content: b64(bytes),
            receipt,
        });
        Ok(id)
    }

    /// Everything but the private keys, as JSON: the owner, the public keys, the credentials,
    /// the documents and their receipts.
    pub fn export(&self) -> Value {
        serde_json::json!({
            "format": FORMAT,
            "owner": self.contents.owner,
            "kind": self.contents.kind,
            "created_at": self.contents.created_at,
            "holder_keys": [self.p256.public().to_jwk(), self.ed25519.public().to_jwk()],
            "dids": self.dids(),
            "credentials": self.contents.credentials.iter().map(|c| StoredCredential {
                holder_key: None,
                ..c.clone()
            }).collect::<Vec<_>>(),
            "documents": self.contents.documents,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sigillo-holder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_wallet_survives_a_round_trip_and_refuses_a_wrong_passphrase_or_an_altered_file() {
        let dir = dir("round-trip");
        let path = dir.join("anna.wallet");
        let mut wallet =
            HolderWallet::create(&path, "Anna Rossi", OwnerKind::Citizen, "correct horse").unwrap();
        let id = wallet.add_credential(
            "dc+sd-jwt",
            "residenza",
            "did:web:x",
            "a~b~".into(),
            None,
            None,
        );
        wallet
            .add_document("isee.pdf", "application/pdf", b"%PDF-1.7", None)
            .unwrap();
        wallet.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("Anna"));

        let opened = HolderWallet::open(&path, "correct horse").unwrap();
        assert_eq!(opened.owner(), "Anna Rossi");
        assert_eq!(opened.credentials()[0].id, id);
        assert_eq!(opened.documents()[0].sha256.len(), 64);
        assert_eq!(opened.dids(), wallet.dids());

        assert!(matches!(
            HolderWallet::open(&path, "wrong horse"),
            Err(WalletError::WrongPassphrase)
        ));
        let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut ciphertext = unb64(file["ciphertext"].as_str().unwrap(), "c").unwrap();
        ciphertext[10] ^= 1;
        file["ciphertext"] = b64(ciphertext).into();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(matches!(
            HolderWallet::open(&path, "correct horse"),
            Err(WalletError::Damaged { .. })
        ));
        std::fs::write(&path, b"{\"not\": \"a wallet\"}").unwrap();
        assert!(matches!(
            HolderWallet::open(&path, "correct horse"),
            Err(WalletError::Damaged { .. })
        ));
        assert!(matches!(
            HolderWallet::create(&path, "x", OwnerKind::Citizen, "correct horse"),
            Err(WalletError::Exists { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
