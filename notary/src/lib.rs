//! Sigillo's timestamping notary.
//!
//! Entries (32-byte SHA-256 digests) are integrated into blocks; each block's entries form an
//! RFC 6962 Merkle tree, and block headers are the leaves of an append-only RFC 6962/9162 log
//! whose every state is signed as a C2SP checkpoint. A [`Receipt`] proves offline, with the
//! notary's public key alone, that an entry was in a block at a time and that the block is in
//! the signed log; consistency proofs show that no later checkpoint rewrote an earlier one.
//!
//! - [`hash`], [`merkle`]: digests, RFC 6962 trees and proofs.
//! - [`note`]: C2SP signed notes and checkpoints.
//! - [`block`], [`receipt`]: the formats, and the offline verifier; [`audit`]: log audits.
//! - [`notary`]: the service (sequencer, group commit); [`store`] its storage.
//! - [`http`]: the axum edge.

pub mod anchor;
pub mod audit;
pub mod block;
pub mod hash;
pub mod http;
pub mod index;
pub mod keys;
pub mod merkle;
pub mod notary;
pub mod note;
pub mod receipt;
pub mod store;
pub mod tsa;

pub use block::BlockHeader;
pub use hash::Digest;
pub use notary::{Notary, NotaryConfig};
pub use note::{Checkpoint, NoteSigner, NoteVerifier};
pub use receipt::{Receipt, ReceiptError, ReceiptVerifier};

/// Everything that can go wrong in the notary service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A submission has too few or too many entries.
    #[error("a batch holds 1 to {max} entries, got {got}")]
    BatchSize {
        /// Entries submitted.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Too many entries are waiting; try again shortly.
    #[error("the notary is busy; retry shortly")]
    Busy,
    /// The notary is shutting down or stopped after a storage failure.
    #[error("the notary is not accepting entries")]
    Stopped,
    /// No block at that height.
    #[error("no block at height {height}: the log has {log_size} blocks")]
    UnknownBlock {
        /// The height asked for.
        height: u64,
        /// Blocks in the log.
        log_size: u64,
    },
    /// A size beyond the log's.
    #[error("tree size {size} is beyond the log's {log_size} blocks")]
    BeyondLog {
        /// The size asked for.
        size: u64,
        /// Blocks in the log.
        log_size: u64,
    },
    /// A consistency proof from a larger to a smaller size.
    #[error("from ({from}) is larger than to ({to})")]
    SizesReversed {
        /// The older size.
        from: u64,
        /// The newer size.
        to: u64,
    },
    /// A receipt whose block is not this log's block at that height.
    #[error("the receipt's block {height} is not this log's block {height}")]
    ForeignBlock {
        /// The height.
        height: u64,
    },
    /// A receipt given to the service does not verify against this log.
    #[error("the receipt does not verify against this log: {0}")]
    Receipt(#[from] receipt::ReceiptError),
    /// The configuration contradicts itself or the data directory.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A signed note could not be made or opened.
    #[error(transparent)]
    Note(#[from] note::NoteError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Stored data contradicts itself.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(&'static str),
}
