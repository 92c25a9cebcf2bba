//! C2SP `signed-note` with Ed25519 signatures (signature type 0x01), and C2SP
//! `tlog-checkpoint` bodies.
//!
//! A note is a UTF-8 text ending in a newline, a blank line, and signature lines
//! `— <key name> base64(key ID || signature)`. The key ID is
//! `SHA-256(key name || 0x0A || 0x01 || public key)[:4]`.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::hash::Digest;

/// The signature type byte of Ed25519 in C2SP signed notes.
const ED25519_TYPE: u8 = 0x01;
/// A note larger than this is refused before parsing (a checkpoint is about 200 bytes).
pub const NOTE_BYTES_MAX: usize = 16 * 1024;
/// At most this many signature lines are read (C2SP: at least 16 must be accepted).
pub const NOTE_SIGNATURES_MAX: usize = 64;
/// The signature line prefix: em dash and space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a signed note or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not in signed-note form; the reason says where.
    #[error("malformed signed note: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// No signature line is by the trusted key (name and key ID).
    #[error("the note has no signature by key {name}+{key_id:08x}")]
    UnknownKey {
        /// The trusted key's name.
        name: String,
        /// The trusted key's ID.
        key_id: u32,
    },
    /// A signature by the trusted key does not verify.
    #[error("the signature by {name} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
    },
    /// A verifier key string is not `name+hexid+base64(0x01||key)`.
    #[error("malformed verifier key: {reason}")]
    BadVerifierKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The note's text is not a checkpoint.
    #[error("malformed checkpoint: {reason}")]
    BadCheckpoint {
        /// What is wrong.
        reason: &'static str,
    },
}

fn key_id(name: &str, public_key: &VerifyingKey) -> u32 {
    let mut data = Vec::with_capacity(name.len() + 34);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ED25519_TYPE);
    data.extend_from_slice(public_key.as_bytes());
    let hash = Digest::sha256(&data);
    let bytes = hash.as_bytes();
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadVerifierKey {
            reason: "a key name is non-empty, without spaces or '+'",
        });
    }
    Ok(())
}

/// Signs notes with an Ed25519 key under a key name. The secret never prints.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name`, which must be a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<NoteSigner, NoteError> {
        check_key_name(name)?;
        let key_id = key_id(name, &key.verifying_key());
        Ok(NoteSigner {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// Signs `text` (which must end in a newline and hold no control characters) and returns
    /// the whole signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed {
            reason: "the text must end in a newline",
        });
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed {
            reason: "control characters other than newline",
        });
    }
    Ok(())
}

/// A trusted Ed25519 note key: name, key ID and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    key_id: u32,
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl NoteVerifier {
    /// A verifier for `name` and `key`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<NoteVerifier, NoteError> {
        check_key_name(name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    /// Parses the usual verifier key string `name+hexid+base64(0x01 || key)`.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, NoteError> {
        let bad = |reason| NoteError::BadVerifierKey { reason };
        let (name, rest) = vkey.split_once('+').ok_or(bad("no '+' after the name"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("no '+' after the key ID"))?;
        if id_hex.len() != 8 {
            return Err(bad("the key ID is 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("the key ID is 8 hex digits"))?;
        let raw = BASE64
            .decode(key_b64)
            .map_err(|_| bad("the key is not base64"))?;
        let (&kind, key) = raw.split_first().ok_or(bad("the key is empty"))?;
        if kind != ED25519_TYPE {
            return Err(bad("only Ed25519 keys (type 0x01) are supported"));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 point"))?;
        let verifier = NoteVerifier::new(name, key)?;
        if verifier.key_id != id {
            return Err(bad("the key ID does not match the name and key"));
        }
        Ok(verifier)
    }

    /// The verifier key string `name+hexid+base64(0x01 || key)`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Opens a signed note: checks its form, finds the signature by this key and verifies it
    /// (`verify_strict`). Returns the note text. Signatures by other keys are ignored, as the
    /// spec requires.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (text, signatures) = split_note(note)?;
        let mut found = false;
        for line in signatures {
            let (name, blob) = parse_signature_line(line)?;
            if name != self.name || blob.len() < 4 {
                continue;
            }
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if id != self.key_id {
                continue;
            }
            let signature =
                Signature::from_slice(&blob[4..]).map_err(|_| NoteError::BadSignature {
                    name: self.name.clone(),
                })?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| NoteError::BadSignature {
                    name: self.name.clone(),
                })?;
            found = true;
        }
        if !found {
            return Err(NoteError::UnknownKey {
                name: self.name.clone(),
                key_id: self.key_id,
            });
        }
        Ok(text)
    }
}

/// Splits a note into its text (with the final newline) and its signature lines.
pub fn split_note(note: &str) -> Result<(&str, impl Iterator<Item = &str>), NoteError> {
    let malformed = |reason| NoteError::Malformed { reason };
    if note.len() > NOTE_BYTES_MAX {
        return Err(malformed("the note is too large"));
    }
    check_text(note)?;
    // The text ends at the last blank line.
    let split = note
        .rfind("\n\n")
        .ok_or(malformed("no blank line before the signatures"))?;
    let text = &note[..split + 1];
    let signatures = &note[split + 2..];
    if signatures.is_empty() {
        return Err(malformed("no signature lines"));
    }
    let lines: Vec<&str> = signatures
        .strip_suffix('\n')
        .unwrap_or(signatures)
        .split('\n')
        .collect();
    if lines.len() > NOTE_SIGNATURES_MAX {
        return Err(malformed("too many signatures"));
    }
    for line in &lines {
        parse_signature_line(line)?;
    }
    Ok((text, lines.into_iter()))
}

fn parse_signature_line(line: &str) -> Result<(&str, Vec<u8>), NoteError> {
    let malformed = |reason| NoteError::Malformed { reason };
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(malformed(
        "a signature line starts with an em dash and a space",
    ))?;
    let (name, blob) = rest
        .split_once(' ')
        .ok_or(malformed("a signature line is a name and a signature"))?;
    if name.is_empty() || blob.contains(' ') {
        return Err(malformed("a signature line is a name and a signature"));
    }
    let blob = BASE64
        .decode(blob)
        .map_err(|_| malformed("a signature is base64"))?;
    if blob.len() < 5 {
        return Err(malformed("a signature is a key ID and signature bytes"));
    }
    Ok((name, blob))
}

/// A C2SP tlog-checkpoint body: origin, tree size, root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, which is also the signing key's name.
    pub origin: String,
    /// Number of leaves (blocks) in the log.
    pub size: u64,
    /// RFC 6962 root of the log at that size.
    pub root: Digest,
}

impl Checkpoint {
    /// The checkpoint text, ending in a newline.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        )
    }

    /// Parses a checkpoint text. Extension lines after the root are allowed and ignored.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let bad = |reason| NoteError::BadCheckpoint { reason };
        let body = text
            .strip_suffix('\n')
            .ok_or(bad("the text must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(bad("no origin line"))?;
        let size = lines.next().ok_or(bad("no tree size line"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad("the tree size is a decimal without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| bad("the tree size overflows"))?;
        let root = lines.next().ok_or(bad("no root hash line"))?;
        let root = Digest::from_base64(root).map_err(|_| bad("the root is 32 bytes of base64"))?;
        if lines.any(str::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// Opens a signed checkpoint with `verifier` and checks that its origin is the key's name.
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, NoteError> {
    let text = verifier.open(note)?;
    let checkpoint = Checkpoint::parse(text)?;
    if checkpoint.origin != verifier.name() {
        return Err(NoteError::BadCheckpoint {
            reason: "the origin is not the signing key's name",
        });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of golang.org/x/mod/sumdb/note, the reference implementation of signed notes.
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn peter_signer() -> NoteSigner {
        // PRIVATE+KEY+name+id+base64(0x01 || seed)
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = BASE64.decode(b64).unwrap();
        assert_eq!(raw[0], ED25519_TYPE);
        let seed: [u8; 32] = raw[1..].try_into().unwrap();
        NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
    }

    #[test]
    fn go_sumdb_note_vector_signs_byte_for_byte() {
        let signer = peter_signer();
        assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
        assert_eq!(signer.sign(PETER_TEXT).unwrap(), PETER_NOTE);
    }

    #[test]
    fn go_sumdb_note_vector_opens() {
        let verifier = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        assert_eq!(verifier.open(PETER_NOTE).unwrap(), PETER_TEXT);
        let tampered = PETER_NOTE.replace("cryptography", "cryptographY");
        assert_eq!(
            verifier.open(&tampered),
            Err(NoteError::BadSignature {
                name: "PeterNeumann".into()
            })
        );
    }

    #[test]
    fn unknown_keys_are_ignored_and_a_note_without_known_key_fails() {
        let verifier = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        let other = NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&[7; 32])).unwrap();
        let note = other.sign(PETER_TEXT).unwrap();
        assert!(matches!(
            verifier.open(&note),
            Err(NoteError::UnknownKey { .. })
        ));
        // A note signed by both: the unknown signature is skipped, the known one verifies.
        let both = format!("{}{}", PETER_NOTE, note.rsplit_once("\n\n").unwrap().1);
        assert_eq!(verifier.open(&both).unwrap(), PETER_TEXT);
    }

    #[test]
    fn malformed_notes_and_keys() {
        let verifier = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        for bad in [
            "no blank line\n\u{2014} PeterNeumann AAAA\n",
            "text\n\n",
            "text\n\n- PeterNeumann x08go/ZJ\n",
            "text\n\n\u{2014} PeterNeumann !!!\n",
            "tab\there\n\n\u{2014} PeterNeumann x08go/ZJkuBS9U\n",
        ] {
            assert!(
                matches!(verifier.open(bad), Err(NoteError::Malformed { .. })),
                "{bad:?}"
            );
        }
        for bad in [
            "PeterNeumann",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ApPc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcU",
        ] {
            assert!(NoteVerifier::from_vkey(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn c2sp_checkpoint_example_parses() {
        // The example body of c2sp.org/tlog-checkpoint.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let checkpoint = Checkpoint::parse(text).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20852163);
        assert_eq!(checkpoint.to_text(), text);
        for bad in [
            "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom\n",
            "origin\n1\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_checkpoint_round_trip() {
        let signer = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let checkpoint = Checkpoint {
            origin: "example.com/log".into(),
            size: 5,
            root: Digest::sha256(b"root"),
        };
        let note = signer.sign(&checkpoint.to_text()).unwrap();
        assert_eq!(open_checkpoint(&note, &signer.verifier()), Ok(checkpoint));
        let other = NoteSigner::new("other.example/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let wrong_origin = other
            .sign("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
            .unwrap();
        assert!(matches!(
            open_checkpoint(&wrong_origin, &other.verifier()),
            Err(NoteError::BadCheckpoint { .. })
        ));
    }
}
