//! Replaying a journal from genesis: crash recovery and the auditor's check run this.

use crate::journal::{Entry, Genesis};
use crate::op::{Operation, SignedOperation};
use crate::state::{Checked, Reject, State};

/// Why a journal does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An entry out of place.
    #[error("entry {got} where entry {want} was expected")]
    Index {
        /// The entry's index.
        got: u64,
        /// The expected index.
        want: u64,
    },
    /// An entry does not link to the one before.
    #[error("entry {index} does not link to the previous entry's hash")]
    Link {
        /// The entry.
        index: u64,
    },
    /// Time went backwards.
    #[error("entry {index} is dated before the entry preceding it")]
    Time {
        /// The entry.
        index: u64,
    },
    /// The operation bytes do not decode.
    #[error("entry {index}: {reason}")]
    Encoding {
        /// The entry.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The ledger refuses an operation the journal says it applied (a bad signature, a broken
    /// rule, a replayed id…).
    #[error("entry {index} does not apply: {reject}")]
    Refused {
        /// The entry.
        index: u64,
        /// Why.
        reject: Reject,
    },
    /// The journal ends inside a linked chain.
    #[error("the journal ends inside a linked chain")]
    OpenChain,
    /// An invariant broke.
    #[error("after entry {index}: {reason}")]
    Invariant {
        /// The last entry applied.
        index: u64,
        /// What broke.
        reason: String,
    },
}

/// Replays entries one at a time, checking the chain of hashes and that each operation applies.
pub struct Replay {
    state: State,
    head: [u8; 32],
    time_ms: u64,
    chain: Vec<(Entry, Checked)>,
    verify_signatures: bool,
    check_invariants: bool,
}

impl Replay {
    /// Starts from `genesis`. With `verify_signatures`, every signature is checked with
    /// `verify_strict` (the auditor); without, the journal's own signatures are trusted (crash
    /// recovery of a journal this process wrote). With `check_invariants`, the full invariant
    /// check runs at every batch boundary (a change of time).
    pub fn new(genesis: &Genesis, verify_signatures: bool, check_invariants: bool) -> Replay {
        Replay {
            state: State::genesis(genesis.ledger.clone(), genesis.authority),
            head: genesis.hash(),
            time_ms: 0,
            chain: Vec::new(),
            verify_signatures,
            check_invariants,
        }
    }

    /// The next index expected.
    pub fn len(&self) -> u64 {
        self.state.len() + self.chain.len() as u64
    }

    /// True before the first entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The head hash so far.
    pub fn head(&self) -> [u8; 32] {
        self.head
    }

    /// Checks and applies one entry (linked chains apply when their last entry arrives).
    pub fn push(&mut self, entry: Entry) -> Result<(), ReplayError> {
        let index = entry.index;
        if index != self.len() {
            return Err(ReplayError::Index {
                got: index,
                want: self.len(),
            });
        }
        if entry.previous != self.head {
            return Err(ReplayError::Link { index });
        }
        if entry.time_ms < self.time_ms {
            return Err(ReplayError::Time { index });
        }
        if self.check_invariants && entry.time_ms > self.time_ms && index > 0 {
            self.state
                .check_invariants()
                .map_err(|reason| ReplayError::Invariant {
                    index: index - 1,
                    reason,
                })?;
        }
        let operation =
            Operation::decode(&entry.operation).map_err(|error| ReplayError::Encoding {
                index,
                reason: error.to_string(),
            })?;
        let linked = operation.linked;
        let mut checked = Checked::new(SignedOperation {
            operation,
            signature: ed25519_dalek::Signature::from_bytes(&entry.signature),
        });
        checked.verified = !self.verify_signatures;
        self.head = entry.hash();
        self.time_ms = entry.time_ms;
        self.chain.push((entry, checked));
        if linked {
            return Ok(());
        }
        let chain = std::mem::take(&mut self.chain);
        let batch: Vec<Checked> = chain.iter().map(|(_, checked)| checked.clone()).collect();
        let outcomes = self.state.apply_batch(self.time_ms, &batch);
        for ((entry, _), outcome) in chain.iter().zip(outcomes) {
            match outcome {
                Ok(applied) if applied.index == entry.index && !applied.duplicate => {}
                Ok(_) => {
                    return Err(ReplayError::Refused {
                        index: entry.index,
                        reject: Reject::IdConflict,
                    })
                }
                Err(reject) => {
                    return Err(ReplayError::Refused {
                        index: entry.index,
                        reject,
                    })
                }
            }
        }
        Ok(())
    }

    /// Ends the replay: the state and the head.
    pub fn finish(self) -> Result<(State, [u8; 32]), ReplayError> {
        if !self.chain.is_empty() {
            return Err(ReplayError::OpenChain);
        }
        if self.check_invariants {
            self.state
                .check_invariants()
                .map_err(|reason| ReplayError::Invariant {
                    index: self.state.len().saturating_sub(1),
                    reason,
                })?;
        }
        Ok((self.state, self.head))
    }
}
