//! The auditor's check of a whole ledger, offline: replay the journal from genesis (every
//! signature with `verify_strict`, every rule, every invariant at every batch boundary), and
//! check each notarised head against the replayed chain and the notary's key.

use notary::{Digest, ReceiptVerifier};

use crate::journal::{Entry, Genesis, Stamp};
use crate::model::PublicKey;
use crate::replay::{Replay, ReplayError};
use crate::state::State;

/// Why an audit failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The ledger's authority is not the one the auditor trusts.
    #[error("the ledger's authority key is not the pinned one")]
    Authority,
    /// The journal does not replay.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// A notarised head differs from the replayed head at that length: history was rewritten.
    #[error("the head notarised at length {length} differs from the journal's")]
    StampMismatch {
        /// The stamp's length.
        length: u64,
    },
    /// A notarised head covers more entries than the journal holds: entries were removed.
    #[error("a head was notarised at length {length} but the journal has {journal} entries")]
    StampBeyondJournal {
        /// The stamp's length.
        length: u64,
        /// Entries in the journal.
        journal: u64,
    },
    /// A stamp's receipt does not verify under the notary's key.
    #[error("the receipt of the head at length {length}: {reason}")]
    Receipt {
        /// The stamp's length.
        length: u64,
        /// Why.
        reason: String,
    },
    /// Stamps out of order, or a later head notarised at an earlier time.
    #[error("the stamps at lengths {earlier} and {later} are out of order")]
    StampOrder {
        /// The earlier length.
        earlier: u64,
        /// The later length.
        later: u64,
    },
}

/// What an audit established.
#[derive(Debug)]
pub struct AuditReport {
    /// The replayed state.
    pub state: State,
    /// The journal's head.
    pub head: [u8; 32],
    /// Notarised heads checked.
    pub stamps: usize,
    /// The length and notary block time (Unix ms) of the latest notarised head.
    pub last_stamp: Option<(u64, u64)>,
}

/// Audits a ledger. `authority` is the key the auditor trusts for this ledger; `notary`, when
/// given, checks the stamps' receipts (without it stamps are still compared with the journal).
pub fn audit(
    genesis: &Genesis,
    entries: impl IntoIterator<Item = Entry>,
    stamps: &[Stamp],
    authority: &PublicKey,
    mut notary: Option<&mut ReceiptVerifier>,
) -> Result<AuditReport, AuditError> {
    if genesis.authority != *authority {
        return Err(AuditError::Authority);
    }
    for pair in stamps.windows(2) {
        let ordered = pair[0].length < pair[1].length
            && pair[0].receipt.block.time_ms <= pair[1].receipt.block.time_ms;
        if !ordered {
            return Err(AuditError::StampOrder {
                earlier: pair[0].length,
                later: pair[1].length,
            });
        }
    }
    let mut replay = Replay::new(genesis, true, true);
    let mut pending = stamps.iter().peekable();
    let mut check_stamp = |replay: &Replay, stamp: &Stamp| -> Result<(), AuditError> {
        let head = replay.head();
        if stamp.head != hex::encode(head) || stamp.receipt.entry != Digest::from_bytes(head) {
            return Err(AuditError::StampMismatch {
                length: stamp.length,
            });
        }
        if let Some(verifier) = notary.as_deref_mut() {
            verifier
                .verify(&stamp.receipt, &Digest::from_bytes(head))
                .map_err(|error| AuditError::Receipt {
                    length: stamp.length,
                    reason: error.to_string(),
                })?;
        }
        Ok(())
    };
    // A stamp of the empty journal (length 0) is never made; stamps start at length 1.
    for entry in entries {
        replay.push(entry)?;
        while let Some(stamp) = pending.next_if(|stamp| stamp.length <= replay.len()) {
            if stamp.length < replay.len() {
                // Stamps are checked as the replay passes their length.
                return Err(AuditError::StampMismatch {
                    length: stamp.length,
                });
            }
            check_stamp(&replay, stamp)?;
        }
    }
    let journal = replay.len();
    if let Some(stamp) = pending.next() {
        return Err(AuditError::StampBeyondJournal {
            length: stamp.length,
            journal,
        });
    }
    let head = replay.head();
    let (state, _) = replay.finish()?;
    Ok(AuditReport {
        state,
        head,
        stamps: stamps.len(),
        last_stamp: stamps
            .last()
            .map(|stamp| (stamp.length, stamp.receipt.block.time_ms)),
    })
}
