//! Block headers: the leaves of the notary's log.

use serde::{Deserialize, Serialize};

use crate::hash::{leaf_hash, Digest};

/// The version byte that starts every encoded header.
pub const BLOCK_HEADER_VERSION: u8 = 1;
/// Length of an encoded header: version, four big-endian u64 fields, the entries root.
pub const BLOCK_HEADER_BYTES: usize = 1 + 4 * 8 + 32;

/// A block header. Its encoding ([`BlockHeader::encode`]) is the log leaf: the log's leaf hash
/// is SHA-256(0x00 || encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    /// Position of the block in the log, from 0.
    pub height: u64,
    /// When the block was sealed: milliseconds since the Unix epoch, UTC. Never decreases.
    pub time_ms: u64,
    /// Global index of the block's first entry (entries are numbered across all blocks).
    pub first_entry: u64,
    /// Number of entries in the block, at least 1.
    pub entry_count: u64,
    /// RFC 6962 Merkle tree hash of the block's entries.
    pub entries_root: Digest,
}

impl BlockHeader {
    /// The canonical encoding: 0x01, height, time_ms, first_entry, entry_count (each u64
    /// big-endian), entries_root.
    pub fn encode(&self) -> [u8; BLOCK_HEADER_BYTES] {
        let mut out = [0u8; BLOCK_HEADER_BYTES];
        out[0] = BLOCK_HEADER_VERSION;
        out[1..9].copy_from_slice(&self.height.to_be_bytes());
        out[9..17].copy_from_slice(&self.time_ms.to_be_bytes());
        out[17..25].copy_from_slice(&self.first_entry.to_be_bytes());
        out[25..33].copy_from_slice(&self.entry_count.to_be_bytes());
        out[33..].copy_from_slice(self.entries_root.as_bytes());
        out
    }

    /// Decodes [`BlockHeader::encode`]'s output; `None` when the bytes are not a header.
    pub fn decode(bytes: &[u8]) -> Option<BlockHeader> {
        if bytes.len() != BLOCK_HEADER_BYTES || bytes[0] != BLOCK_HEADER_VERSION {
            return None;
        }
        let word = |at: usize| {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(buffer)
        };
        Some(BlockHeader {
            height: word(1),
            time_ms: word(9),
            first_entry: word(17),
            entry_count: word(25),
            entries_root: Digest::from_slice(&bytes[33..]).ok()?,
        })
    }

    /// The header's leaf hash in the log.
    pub fn leaf_hash(&self) -> Digest {
        leaf_hash(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_is_fixed() {
        let header = BlockHeader {
            height: 1,
            time_ms: 2,
            first_entry: 3,
            entry_count: 4,
            entries_root: Digest::from_bytes([5; 32]),
        };
        let bytes = header.encode();
        assert_eq!(
            hex::encode(&bytes[..33]),
            "01000000000000000100000000000000020000000000000003\
             0000000000000004"
        );
        assert_eq!(BlockHeader::decode(&bytes), Some(header));
        assert_eq!(BlockHeader::decode(&bytes[1..]), None);
        let mut other_version = bytes;
        other_version[0] = 2;
        assert_eq!(BlockHeader::decode(&other_version), None);
    }
}
