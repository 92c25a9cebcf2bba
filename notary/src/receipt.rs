//! Receipts: everything an auditor needs, offline, to prove that an entry was in a block and
//! that the block is in the notary's signed log.
//!
//! The block-in-log part is a C2SP `tlog-proof` (index = block height, the RFC 6962 inclusion
//! path of the block's header, and the signed checkpoint verbatim).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::block::BlockHeader;
use crate::hash::{leaf_hash, Digest};
use crate::merkle::{verify_consistency, verify_inclusion, ProofError, PROOF_HASHES_MAX};
use crate::note::{open_checkpoint, Checkpoint, NoteError, NoteVerifier};

/// The `format` of the receipts this code writes and reads.
pub const RECEIPT_FORMAT: &str = "sigillo.receipt/v1";
/// First line of a C2SP tlog-proof.
const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A receipt for one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// The entry (a SHA-256 digest) the receipt is for.
    pub entry: Digest,
    /// The header of the block holding the entry.
    pub block: BlockHeader,
    /// The entry's position inside the block, from 0.
    pub entry_index: u64,
    /// RFC 6962 audit path of the entry in the block's tree, from the leaf's sibling up.
    pub entry_path: Vec<Digest>,
    /// C2SP tlog-proof of the block header in the log, with the signed checkpoint.
    pub log_proof: String,
    /// The submitter's optional blinding salt (hex), never sent to the notary: when present,
    /// `entry = SHA-256(salt || SHA-256(document))`, so entries reveal nothing about documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// `signed` (the notary's checkpoint only) or `anchored` (with [`Receipt::anchor`]).
    #[serde(default)]
    pub state: ReceiptState,
    /// The anchor proof of an `anchored` receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorProof>,
}

/// How far a receipt's proof reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptState {
    /// Proven by the notary's signed checkpoint only: as good as the trust in its key.
    #[default]
    Signed,
    /// Also proven by a later checkpoint written to a blockchain: the receipt's checkpoint is
    /// a prefix of the anchored one (consistency proof), and the anchored root and size are in
    /// a confirmed transaction.
    Anchored,
}

/// What upgrades a receipt from `signed` to `anchored`: a later signed checkpoint, the RFC 9162
/// consistency proof from the receipt's checkpoint to it, and where the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorProof {
    /// The anchored checkpoint, a signed note.
    pub checkpoint: String,
    /// Consistency proof from the receipt's checkpoint to the anchored one.
    pub consistency: Vec<Digest>,
    /// The chain's EIP-155 chain id.
    pub chain_id: u64,
    /// The anchor contract (0x-prefixed hex address).
    pub contract: String,
    /// The notary's anchoring account, the transaction's sender.
    pub account: String,
    /// The transaction hash (0x-prefixed hex).
    pub tx_hash: String,
    /// The number of the block holding the transaction.
    pub block_number: u64,
    /// That block's hash (0x-prefixed hex).
    pub block_hash: String,
    /// The index of the `Anchored` event in that block's logs.
    pub log_index: u64,
}

/// The format of a [`ReceiptBundle`].
pub const RECEIPT_BUNDLE_FORMAT: &str = "sigillo.receipt-bundle/v1";

/// The receipts of one submission, factored: all its entries are in one block, so the block
/// header and the log proof are given once. [`ReceiptBundle::receipts`] expands it into
/// standalone [`Receipt`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBundle {
    /// Always [`RECEIPT_BUNDLE_FORMAT`].
    pub format: String,
    /// The header of the block holding every entry.
    pub block: BlockHeader,
    /// C2SP tlog-proof of the block header in the log.
    pub log_proof: String,
    /// Each entry with its place and path in the block, in submission order.
    pub entries: Vec<BundledEntry>,
}

/// One entry of a [`ReceiptBundle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledEntry {
    /// The entry.
    pub entry: Digest,
    /// Its index in the block.
    pub entry_index: u64,
    /// Its RFC 6962 audit path in the block's tree.
    pub entry_path: Vec<Digest>,
}

impl ReceiptBundle {
    /// The standalone receipts, in submission order.
    pub fn receipts(&self) -> Vec<Receipt> {
        self.entries
            .iter()
            .map(|item| Receipt {
                format: RECEIPT_FORMAT.to_owned(),
                entry: item.entry,
                block: self.block,
                entry_index: item.entry_index,
                entry_path: item.entry_path.clone(),
                log_proof: self.log_proof.clone(),
                salt: None,
                state: ReceiptState::Signed,
                anchor: None,
            })
            .collect()
    }
}

/// A C2SP tlog-proof: a leaf index, its inclusion path and a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Zero-based leaf index (the block height).
    pub index: u64,
    /// RFC 6962 inclusion path of the leaf in the checkpointed tree.
    pub path: Vec<Digest>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + self.path.len() * 45 + self.checkpoint.len());
        out.push_str(TLOG_PROOF_HEADER);
        out.push_str("\nindex ");
        out.push_str(&self.index.to_string());
        out.push('\n');
        for hash in &self.path {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses the text form. Extra data (the optional `extra` line) is refused: Sigillo
    /// receipts carry the block header in JSON instead.
    pub fn parse(text: &str) -> Result<TlogProof, ReceiptError> {
        let bad = |reason| ReceiptError::MalformedLogProof { reason };
        let rest = text
            .strip_prefix(TLOG_PROOF_HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(bad("the first line is not c2sp.org/tlog-proof@v1"))?;
        let (index_line, mut rest) = rest.split_once('\n').ok_or(bad("no index line"))?;
        let index = index_line
            .strip_prefix("index ")
            .ok_or(bad("no index line"))?;
        if index.is_empty()
            || !index.bytes().all(|b| b.is_ascii_digit())
            || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(bad("the index is a decimal without leading zeros"));
        }
        let index: u64 = index.parse().map_err(|_| bad("the index overflows"))?;
        let mut path = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(bad("no checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if path.len() == PROOF_HASHES_MAX {
                return Err(bad("the inclusion path is too long"));
            }
            path.push(Digest::from_base64(line).map_err(|_| bad("a path line is not a hash"))?);
        }
        Ok(TlogProof {
            index,
            path,
            checkpoint: rest.to_owned(),
        })
    }
}

/// Why a receipt did not verify. Each check has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt's format is not one this verifier knows.
    #[error("unsupported receipt format {got:?}, want {RECEIPT_FORMAT:?}")]
    UnsupportedFormat {
        /// The format found.
        got: String,
    },
    /// The entry checked is not the entry in the receipt: the file changed, or the wrong file.
    #[error("the receipt is for entry {in_receipt}, not {checked}")]
    EntryMismatch {
        /// The entry in the receipt.
        in_receipt: Digest,
        /// The entry being checked.
        checked: Digest,
    },
    /// The entry's path does not lead to the block's entries root.
    #[error("the entry is not in the block: {0}")]
    EntryPath(ProofError),
    /// The tlog-proof's index is not the block's height.
    #[error("the log proof is for block {proof_index}, the header says {height}")]
    BlockIndexMismatch {
        /// Index in the tlog-proof.
        proof_index: u64,
        /// Height in the header.
        height: u64,
    },
    /// The log proof is not a C2SP tlog-proof.
    #[error("malformed log proof: {reason}")]
    MalformedLogProof {
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint's signature or form is wrong, or it is signed by an unknown key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The block header is not in the checkpointed log.
    #[error("the block is not in the signed log: {0}")]
    BlockPath(ProofError),
    /// The state says `anchored` without an anchor proof, or `signed` with one.
    #[error("the receipt's state is {state:?} but it {has} an anchor proof")]
    StateMismatch {
        /// The state claimed.
        state: ReceiptState,
        /// "has" or "lacks".
        has: &'static str,
    },
    /// The anchored checkpoint is from another log or is older than the receipt's.
    #[error("the anchored checkpoint ({anchored}) does not extend the receipt's ({receipt})")]
    AnchorNotLater {
        /// The receipt's checkpoint size.
        receipt: u64,
        /// The anchored checkpoint's size.
        anchored: u64,
    },
    /// The receipt's checkpoint is not a prefix of the anchored one.
    #[error("the anchored checkpoint is not consistent with the receipt's: {0}")]
    AnchorConsistency(ProofError),
}

/// What a verified receipt proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The block holding the entry.
    pub block: BlockHeader,
    /// The signed checkpoint that covers the block.
    pub checkpoint: Checkpoint,
    /// For an `anchored` receipt, the anchored checkpoint, proven consistent with `checkpoint`.
    /// Whether the chain holds it is checked online ([`crate::anchor::check_on_chain`]).
    pub anchored: Option<Checkpoint>,
}

/// Verifies receipts against one trusted notary key. It remembers the blocks it has already
/// proven in the log, so receipts of the same block cost one path check each and one
/// signature check is shared by every receipt under a checkpoint.
#[derive(Debug)]
pub struct ReceiptVerifier {
    key: NoteVerifier,
    /// Verified (header, log proof) pairs and the checkpoint they proved.
    proven_blocks: HashMap<(BlockHeader, String), Checkpoint>,
    /// Verified checkpoint notes.
    proven_checkpoints: HashMap<String, Checkpoint>,
}

/// Caches are cleared beyond this many items, to bound memory on long runs.
const VERIFIER_CACHE_ITEMS_MAX: usize = 4096;

impl ReceiptVerifier {
    /// A verifier that trusts `key`.
    pub fn new(key: NoteVerifier) -> ReceiptVerifier {
        ReceiptVerifier {
            key,
            proven_blocks: HashMap::new(),
            proven_checkpoints: HashMap::new(),
        }
    }

    /// Verifies `receipt` for `entry`. Every check is made; the first failure is returned.
    pub fn verify(
        &mut self,
        receipt: &Receipt,
        entry: &Digest,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        if receipt.format != RECEIPT_FORMAT {
            return Err(ReceiptError::UnsupportedFormat {
                got: receipt.format.clone(),
            });
        }
        if receipt.entry != *entry {
            return Err(ReceiptError::EntryMismatch {
                in_receipt: receipt.entry,
                checked: *entry,
            });
        }
        let block = &receipt.block;
        verify_inclusion(
            receipt.entry_index,
            block.entry_count,
            &leaf_hash(entry.as_bytes()),
            &receipt.entry_path,
            &block.entries_root,
        )
        .map_err(ReceiptError::EntryPath)?;

        let key = (*block, receipt.log_proof.clone());
        let checkpoint = match self.proven_blocks.get(&key) {
            Some(checkpoint) => checkpoint.clone(),
            None => {
                let checkpoint = self.verify_block(block, &receipt.log_proof)?;
                if self.proven_blocks.len() >= VERIFIER_CACHE_ITEMS_MAX {
                    self.proven_blocks.clear();
                }
                self.proven_blocks.insert(key, checkpoint.clone());
                checkpoint
            }
        };
        let anchored = match (receipt.state, &receipt.anchor) {
            (ReceiptState::Signed, None) => None,
            (ReceiptState::Anchored, Some(anchor)) => {
                Some(self.verify_anchor(&checkpoint, anchor)?)
            }
            (state, anchor) => {
                return Err(ReceiptError::StateMismatch {
                    state,
                    has: if anchor.is_some() { "has" } else { "lacks" },
                })
            }
        };
        Ok(VerifiedReceipt {
            block: *block,
            checkpoint,
            anchored,
        })
    }

    /// Verifies that the anchored checkpoint is signed by the trusted key and extends
    /// `checkpoint`. Returns the anchored checkpoint.
    pub fn verify_anchor(
        &mut self,
        checkpoint: &Checkpoint,
        anchor: &AnchorProof,
    ) -> Result<Checkpoint, ReceiptError> {
        let anchored = self.open_checkpoint(&anchor.checkpoint)?;
        if anchored.origin != checkpoint.origin || anchored.size < checkpoint.size {
            return Err(ReceiptError::AnchorNotLater {
                receipt: checkpoint.size,
                anchored: anchored.size,
            });
        }
        verify_consistency(
            checkpoint.size,
            anchored.size,
            &anchor.consistency,
            &checkpoint.root,
            &anchored.root,
        )
        .map_err(ReceiptError::AnchorConsistency)?;
        Ok(anchored)
    }

    /// Verifies that `block` is in the log, by a tlog-proof text. Returns the checkpoint.
    pub fn verify_block(
        &mut self,
        block: &BlockHeader,
        log_proof: &str,
    ) -> Result<Checkpoint, ReceiptError> {
        let proof = TlogProof::parse(log_proof)?;
        if proof.index != block.height {
            return Err(ReceiptError::BlockIndexMismatch {
                proof_index: proof.index,
                height: block.height,
            });
        }
        let checkpoint = self.open_checkpoint(&proof.checkpoint)?;
        verify_inclusion(
            proof.index,
            checkpoint.size,
            &block.leaf_hash(),
            &proof.path,
            &checkpoint.root,
        )
        .map_err(ReceiptError::BlockPath)?;
        Ok(checkpoint)
    }

    /// Opens a signed checkpoint with the trusted key, once per distinct note.
    pub fn open_checkpoint(&mut self, note: &str) -> Result<Checkpoint, ReceiptError> {
        if let Some(checkpoint) = self.proven_checkpoints.get(note) {
            return Ok(checkpoint.clone());
        }
        let checkpoint = open_checkpoint(note, &self.key)?;
        if self.proven_checkpoints.len() >= VERIFIER_CACHE_ITEMS_MAX {
            self.proven_checkpoints.clear();
        }
        self.proven_checkpoints
            .insert(note.to_owned(), checkpoint.clone());
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlog_proof_c2sp_example_shape_parses() {
        // The shape of the c2sp.org/tlog-proof example (without the optional extra line).
        let text = "c2sp.org/tlog-proof@v1\nindex 73894\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\nexample.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u{2014} example.com/fancylog hI2DJw==\n";
        let proof = TlogProof::parse(text).unwrap();
        assert_eq!(proof.index, 73894);
        assert_eq!(proof.path.len(), 2);
        assert!(proof
            .checkpoint
            .starts_with("example.com/fancylog\n109482\n"));
        assert_eq!(proof.to_text(), text);
    }

    #[test]
    fn tlog_proof_rejects_malformed() {
        for bad in [
            "",
            "c2sp.org/tlog-proof@v2\nindex 1\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
            "c2sp.org/tlog-proof@v1\nindex -1\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1\nnot-base64\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 1\n",
        ] {
            assert!(
                matches!(
                    TlogProof::parse(bad),
                    Err(ReceiptError::MalformedLogProof { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
