//! The auditor's checks, independent of how the data is fetched: the latest checkpoint is
//! consistent with the one saved by the previous audit, and the block headers since then chain
//! on (heights, entry numbering, monotonic times) and hash to exactly the new signed root.

use serde::{Deserialize, Serialize};

use crate::block::BlockHeader;
use crate::hash::{empty_root, Digest};
use crate::merkle::{verify_consistency, Frontier, ProofError};
use crate::note::{open_checkpoint, Checkpoint, NoteError, NoteVerifier};

/// The format of [`AuditState`].
pub const AUDIT_STATE_FORMAT: &str = "sigillo.audit-state/v1";

/// What an audit remembers for the next one: the pinned key, the last checkpoint, and the
/// compact range of the log at that checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditState {
    /// Always [`AUDIT_STATE_FORMAT`].
    pub format: String,
    /// The pinned notary key (C2SP verifier key).
    pub notary_key: String,
    /// The last audited signed checkpoint.
    pub checkpoint: String,
    /// Roots of the perfect subtrees covering the log at that checkpoint, largest first.
    pub frontier: Vec<Digest>,
    /// The global number of the next entry after the last audited block.
    pub next_entry: u64,
    /// Time of the last audited block.
    pub last_time_ms: u64,
}

/// Why an audit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A checkpoint is not signed by the pinned key, or malformed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The saved state is not an audit state this code wrote, or contradicts itself.
    #[error("the saved audit state is invalid: {reason}")]
    BadState {
        /// What is wrong.
        reason: &'static str,
    },
    /// The log is smaller than at the last audit.
    #[error("the log shrank: {old} blocks at the last audit, {new} now")]
    Shrank {
        /// Size at the last audit.
        old: u64,
        /// Size now.
        new: u64,
    },
    /// The consistency proof fails: the log was rewritten (or the proof is wrong).
    #[error("history was rewritten: the latest checkpoint is not consistent with the previous audit's ({0})")]
    Rewritten(ProofError),
    /// A header at an unexpected height.
    #[error("block {got} was served where block {want} was due")]
    WrongHeight {
        /// Height served.
        got: u64,
        /// Height expected.
        want: u64,
    },
    /// A header that does not continue the entry numbering, or holds no entry.
    #[error("block {height} does not continue the entry numbering at {want}")]
    Numbering {
        /// The block.
        height: u64,
        /// The first entry it should have.
        want: u64,
    },
    /// A block dated before its predecessor.
    #[error("block {height} is dated {time_ms} ms, before the previous block's {previous_ms} ms")]
    TimeBackwards {
        /// The block.
        height: u64,
        /// Its time.
        time_ms: u64,
        /// The previous block's time.
        previous_ms: u64,
    },
    /// More headers than the checkpoint covers, or fewer.
    #[error("{got} headers cover the log, the checkpoint has {want}")]
    HeaderCount {
        /// Headers seen, in all.
        got: u64,
        /// The checkpoint's size.
        want: u64,
    },
    /// The headers do not hash to the signed root.
    #[error("the block headers served do not hash to the signed checkpoint's root")]
    RootMismatch,
}

/// One audit in progress, from the previous state (or genesis) to the latest checkpoint.
#[derive(Debug)]
pub struct Audit {
    key: NoteVerifier,
    old: Checkpoint,
    new: Checkpoint,
    new_note: String,
    frontier: Frontier,
    next_entry: u64,
    last_time_ms: u64,
}

impl Audit {
    /// Starts an audit: opens the latest checkpoint (and the saved one) with `key`, and checks
    /// that the log did not shrink.
    pub fn begin(
        key: NoteVerifier,
        previous: Option<&AuditState>,
        latest_note: &str,
    ) -> Result<Audit, AuditError> {
        let new = open_checkpoint(latest_note, &key)?;
        let (old, frontier, next_entry, last_time_ms) = match previous {
            Some(state) => {
                if state.format != AUDIT_STATE_FORMAT {
                    return Err(AuditError::BadState {
                        reason: "unknown format",
                    });
                }
                if state.notary_key != key.to_vkey() {
                    return Err(AuditError::BadState {
                        reason: "it pins another notary key",
                    });
                }
                let old = open_checkpoint(&state.checkpoint, &key)?;
                let frontier = Frontier::new(old.size, state.frontier.clone()).map_err(|_| {
                    AuditError::BadState {
                        reason: "its frontier does not fit its checkpoint's size",
                    }
                })?;
                if frontier.root() != old.root {
                    return Err(AuditError::BadState {
                        reason: "its frontier does not hash to its checkpoint's root",
                    });
                }
                (old, frontier, state.next_entry, state.last_time_ms)
            }
            None => (
                Checkpoint {
                    origin: key.name().to_owned(),
                    size: 0,
                    root: empty_root(),
                },
                Frontier::default(),
                0,
                0,
            ),
        };
        if new.size < old.size {
            return Err(AuditError::Shrank {
                old: old.size,
                new: new.size,
            });
        }
        Ok(Audit {
            key,
            old,
            new,
            new_note: latest_note.to_owned(),
            frontier,
            next_entry,
            last_time_ms,
        })
    }

    /// The checkpoint of the previous audit (size 0 at genesis).
    pub fn old(&self) -> &Checkpoint {
        &self.old
    }

    /// The latest checkpoint.
    pub fn new_checkpoint(&self) -> &Checkpoint {
        &self.new
    }

    /// Checks the RFC 9162 consistency proof from the old checkpoint to the new one.
    pub fn check_consistency(&self, proof: &[Digest]) -> Result<(), AuditError> {
        verify_consistency(
            self.old.size,
            self.new.size,
            proof,
            &self.old.root,
            &self.new.root,
        )
        .map_err(AuditError::Rewritten)
    }

    /// The height of the next header the audit needs; equal to the new size when done.
    pub fn next_height(&self) -> u64 {
        self.frontier.size()
    }

    /// Adds headers, in order, from [`Audit::next_height`] on.
    pub fn add_headers(&mut self, headers: &[BlockHeader]) -> Result<(), AuditError> {
        for header in headers {
            let want = self.frontier.size();
            if want >= self.new.size {
                return Err(AuditError::HeaderCount {
                    got: want + 1,
                    want: self.new.size,
                });
            }
            if header.height != want {
                return Err(AuditError::WrongHeight {
                    got: header.height,
                    want,
                });
            }
            if header.first_entry != self.next_entry || header.entry_count == 0 {
                return Err(AuditError::Numbering {
                    height: header.height,
                    want: self.next_entry,
                });
            }
            if header.time_ms < self.last_time_ms {
                return Err(AuditError::TimeBackwards {
                    height: header.height,
                    time_ms: header.time_ms,
                    previous_ms: self.last_time_ms,
                });
            }
            self.frontier.push(header.leaf_hash());
            self.next_entry = header.first_entry + header.entry_count;
            self.last_time_ms = header.time_ms;
        }
        Ok(())
    }

    /// Ends the audit: every header up to the new size was seen and they hash to its root.
    /// Returns the state to save for the next audit.
    pub fn finish(self) -> Result<AuditState, AuditError> {
        if self.frontier.size() != self.new.size {
            return Err(AuditError::HeaderCount {
                got: self.frontier.size(),
                want: self.new.size,
            });
        }
        if self.frontier.root() != self.new.root {
            return Err(AuditError::RootMismatch);
        }
        Ok(AuditState {
            format: AUDIT_STATE_FORMAT.to_owned(),
            notary_key: self.key.to_vkey(),
            checkpoint: self.new_note,
            frontier: self.frontier.nodes().to_vec(),
            next_entry: self.next_entry,
            last_time_ms: self.last_time_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::LogTree;
    use crate::note::NoteSigner;
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "audit.test/log";

    fn headers(count: u64) -> Vec<BlockHeader> {
        (0..count)
            .map(|height| BlockHeader {
                height,
                time_ms: 1000 + height * 10,
                first_entry: height * 2,
                entry_count: 2,
                entries_root: Digest::sha256(&height.to_be_bytes()),
            })
            .collect()
    }

    fn signed(signer: &NoteSigner, headers: &[BlockHeader]) -> String {
        let mut log = LogTree::new();
        for header in headers {
            log.push(header.leaf_hash());
        }
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size: log.size(),
            root: log.root(log.size()),
        };
        signer.sign(&checkpoint.to_text()).unwrap()
    }

    fn signer() -> NoteSigner {
        NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[2; 32])).unwrap()
    }

    #[test]
    fn genesis_then_incremental() {
        let signer = signer();
        let all = headers(9);
        let mut audit = Audit::begin(signer.verifier(), None, &signed(&signer, &all[..5])).unwrap();
        audit.add_headers(&all[..5]).unwrap();
        let state = audit.finish().unwrap();

        let mut log = LogTree::new();
        for header in &all {
            log.push(header.leaf_hash());
        }
        let mut audit =
            Audit::begin(signer.verifier(), Some(&state), &signed(&signer, &all)).unwrap();
        assert_eq!(audit.next_height(), 5);
        audit
            .check_consistency(&log.consistency_proof(5, 9))
            .unwrap();
        audit.add_headers(&all[5..]).unwrap();
        let state = audit.finish().unwrap();
        assert_eq!(state.next_entry, 18);
    }

    #[test]
    fn every_broken_chain_is_named() {
        let signer = signer();
        let all = headers(6);
        let note = signed(&signer, &all);
        let start = || Audit::begin(signer.verifier(), None, &note).unwrap();

        let mut backwards = all.clone();
        backwards[3].time_ms = backwards[2].time_ms - 1;
        assert!(matches!(
            start().add_headers(&backwards),
            Err(AuditError::TimeBackwards { height: 3, .. })
        ));
        let mut gap = all.clone();
        gap[2].first_entry += 1;
        assert!(matches!(
            start().add_headers(&gap),
            Err(AuditError::Numbering { height: 2, .. })
        ));
        assert!(matches!(
            start().add_headers(&all[1..]),
            Err(AuditError::WrongHeight { got: 1, want: 0 })
        ));
        let mut audit = start();
        audit.add_headers(&all[..4]).unwrap();
        assert!(matches!(
            audit.finish(),
            Err(AuditError::HeaderCount { got: 4, want: 6 })
        ));
        // Headers that chain but are not the signed ones.
        let mut forged = all.clone();
        forged[4].entries_root = Digest::sha256(b"forged");
        let mut audit = start();
        audit.add_headers(&forged).unwrap();
        assert_eq!(audit.finish().unwrap_err(), AuditError::RootMismatch);
    }

    #[test]
    fn shrinking_rewriting_and_foreign_keys_fail() {
        let signer = signer();
        let all = headers(6);
        let mut audit = Audit::begin(signer.verifier(), None, &signed(&signer, &all)).unwrap();
        audit.add_headers(&all).unwrap();
        let state = audit.finish().unwrap();
        assert!(matches!(
            Audit::begin(signer.verifier(), Some(&state), &signed(&signer, &all[..3])),
            Err(AuditError::Shrank { old: 6, new: 3 })
        ));
        // Another history of 8 blocks: its consistency proof cannot start from ours.
        let mut other = headers(8);
        other[1].time_ms += 1;
        let mut log = LogTree::new();
        for header in &other {
            log.push(header.leaf_hash());
        }
        let audit =
            Audit::begin(signer.verifier(), Some(&state), &signed(&signer, &other)).unwrap();
        assert!(matches!(
            audit.check_consistency(&log.consistency_proof(6, 8)),
            Err(AuditError::Rewritten(_))
        ));
        let stranger = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap();
        assert!(matches!(
            Audit::begin(stranger.verifier(), Some(&state), &signed(&stranger, &all)),
            Err(AuditError::BadState { .. })
        ));
        assert!(matches!(
            Audit::begin(signer.verifier(), None, &signed(&stranger, &all)),
            Err(AuditError::Checkpoint(NoteError::UnknownKey { .. }))
        ));
    }
}
