//! The hash-linked journal of applied operations.
//!
//! ```text
//! genesis hash = SHA-256("sigillo.token.genesis/v1" 0x00 | str ledger | authority key (32)
//!                        | u64 created_ms)
//! entry hash   = SHA-256("sigillo.token.journal/v1" 0x00 | u64 index | u64 time_ms
//!                        | previous hash (32) | u16 length | operation bytes | signature (64))
//! ```
//!
//! Entry 0's previous hash is the genesis hash; each later entry's is the hash of the one
//! before. The head of a journal of `n` entries is the hash of entry `n − 1` (the genesis hash
//! when empty): it commits to the whole history, and it is what the notary stamps.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::model::{Name, PublicKey};
use crate::op::{Operation, OPERATION_BYTES_MAX};

const GENESIS_DOMAIN: &[u8] = b"sigillo.token.genesis/v1\0";
const ENTRY_DOMAIN: &[u8] = b"sigillo.token.journal/v1\0";

/// What a ledger starts from; its hash begins the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The ledger's name (every operation names it).
    pub ledger: Name,
    /// The circuit authority's key.
    pub authority: PublicKey,
    /// When the ledger was created (Unix ms).
    pub created_ms: u64,
}

impl Genesis {
    /// The hash that entry 0 links to.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(GENESIS_DOMAIN);
        hasher.update([self.ledger.as_str().len() as u8]);
        hasher.update(self.ledger.as_str());
        hasher.update(self.authority.as_bytes());
        hasher.update(self.created_ms.to_be_bytes());
        hasher.finalize().into()
    }
}

/// One applied operation in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position, from 0.
    pub index: u64,
    /// The ledger time of its batch (Unix ms).
    pub time_ms: u64,
    /// The previous entry's hash (the genesis hash for entry 0).
    pub previous: [u8; 32],
    /// The operation's canonical bytes, as signed.
    pub operation: Vec<u8>,
    /// The actor's signature.
    pub signature: [u8; 64],
}

/// Why a stored or downloaded entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Shorter than its fixed part or longer than allowed.
    #[error("a journal record has a wrong length")]
    Length,
    /// A field is not valid base64url or hex of the right size.
    #[error("journal field {field} is malformed")]
    Field {
        /// The field.
        field: &'static str,
    },
}

impl Entry {
    /// The entry's hash (see the module documentation).
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(ENTRY_DOMAIN);
        hasher.update(self.index.to_be_bytes());
        hasher.update(self.time_ms.to_be_bytes());
        hasher.update(self.previous);
        hasher.update((self.operation.len() as u16).to_be_bytes());
        hasher.update(&self.operation);
        hasher.update(self.signature);
        hasher.finalize().into()
    }

    /// The stored form (the index is the key): `u64 time_ms | previous (32) | signature (64) |
    /// operation bytes`.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 + 64 + self.operation.len());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&self.previous);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.operation);
        out
    }

    /// Reads the stored form.
    pub fn decode_value(index: u64, value: &[u8]) -> Result<Entry, EntryError> {
        if value.len() < 8 + 32 + 64 || value.len() > 8 + 32 + 64 + OPERATION_BYTES_MAX {
            return Err(EntryError::Length);
        }
        let (time, rest) = value.split_at(8);
        let (previous, rest) = rest.split_at(32);
        let (signature, operation) = rest.split_at(64);
        Ok(Entry {
            index,
            time_ms: u64::from_be_bytes(time.try_into().expect("8 bytes")),
            previous: previous.try_into().expect("32 bytes"),
            signature: signature.try_into().expect("64 bytes"),
            operation: operation.to_vec(),
        })
    }

    /// The JSON form served to auditors.
    pub fn to_json(&self) -> EntryJson {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        EntryJson {
            index: self.index,
            time_ms: self.time_ms,
            previous: hex::encode(self.previous),
            hash: hex::encode(self.hash()),
            operation: b64.encode(&self.operation),
            signature: b64.encode(self.signature),
            decoded: Operation::decode(&self.operation).ok(),
        }
    }
}

/// A journal entry as JSON: the signed bytes in base64url, and their decoding for people.
/// Auditors check the bytes; `decoded` and `hash` are conveniences they recompute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryJson {
    /// Position.
    pub index: u64,
    /// Ledger time of its batch.
    pub time_ms: u64,
    /// Previous hash, hex.
    pub previous: String,
    /// This entry's hash, hex.
    pub hash: String,
    /// Canonical operation bytes, base64url.
    pub operation: String,
    /// Signature, base64url.
    pub signature: String,
    /// The operation, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Operation>,
}

impl EntryJson {
    /// The entry its bytes describe (`hash` and `decoded` are ignored: they are recomputed).
    pub fn to_entry(&self) -> Result<Entry, EntryError> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut previous = [0u8; 32];
        hex::decode_to_slice(&self.previous, &mut previous)
            .map_err(|_| EntryError::Field { field: "previous" })?;
        let operation = b64
            .decode(&self.operation)
            .map_err(|_| EntryError::Field { field: "operation" })?;
        if operation.len() > OPERATION_BYTES_MAX {
            return Err(EntryError::Length);
        }
        let signature: [u8; 64] = b64
            .decode(&self.signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(EntryError::Field { field: "signature" })?;
        Ok(Entry {
            index: self.index,
            time_ms: self.time_ms,
            previous,
            operation,
            signature,
        })
    }
}

/// A notarised journal head: the notary's receipt that the head of the first `length` entries
/// existed at the receipt's block time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// Entries the head covers.
    pub length: u64,
    /// The head (hex), equal to the receipt's entry.
    pub head: String,
    /// The notary's receipt for the head.
    pub receipt: notary::Receipt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_survives_its_stored_and_json_forms_and_its_hash_covers_every_field() {
        let entry = Entry {
            index: 7,
            time_ms: 1_790_000_000_000,
            previous: [1; 32],
            operation: vec![2; 100],
            signature: [3; 64],
        };
        assert_eq!(
            Entry::decode_value(7, &entry.encode_value()).unwrap(),
            entry
        );
        assert_eq!(entry.to_json().to_entry().unwrap(), entry);
        let hash = entry.hash();
        let mut changed = entry.clone();
        changed.index = 8;
        assert_ne!(changed.hash(), hash);
        let mut changed = entry.clone();
        changed.time_ms += 1;
        assert_ne!(changed.hash(), hash);
        let mut changed = entry.clone();
        changed.previous[0] = 0;
        assert_ne!(changed.hash(), hash);
        let mut changed = entry.clone();
        changed.operation[99] = 0;
        assert_ne!(changed.hash(), hash);
        let mut changed = entry;
        changed.signature[63] = 0;
        assert_ne!(changed.hash(), hash);
        assert_eq!(Entry::decode_value(0, &[0; 10]), Err(EntryError::Length));
    }
}
