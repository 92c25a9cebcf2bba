//! The ledger's state and the one function that changes it, [`State::apply_batch`]: a pure,
//! deterministic step from (state, batch time, signed operations) to (state, results). The live
//! ledger, crash recovery and the auditor's replay all run this same code.

use std::collections::{BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::model::{ClassRules, Name, OperationId, PublicKey, Role};
use crate::op::{check_lengths, fingerprint, Body, PENDING_TIMEOUT_MS_MAX};
use crate::op::{Operation, SignedOperation};

/// The name under which the circuit's authority (the genesis key) acts.
pub const AUTHORITY: &str = "authority";
/// Most operations in one batch.
pub const BATCH_OPERATIONS_MAX: usize = 8_192;

/// Why an operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reject {
    /// The id was used before by an operation with other content.
    #[error("operation id already used by a different operation")]
    IdConflict,
    /// Signed for another ledger.
    #[error("the operation is for ledger {got:?}, this is {want:?}")]
    WrongLedger {
        /// The operation's ledger.
        got: String,
        /// This ledger.
        want: String,
    },
    /// The actor or a named participant is not enrolled.
    #[error("{participant:?} is not enrolled")]
    UnknownParticipant {
        /// The name.
        participant: String,
    },
    /// The signature does not verify under the actor's key (bad, or made by someone else).
    #[error("the signature does not verify under {actor:?}'s key")]
    BadSignature {
        /// The actor.
        actor: String,
    },
    /// The sequence number was already used by an applied operation.
    #[error("sequence number already used; the next is {expected}")]
    SequenceReused {
        /// The actor's next sequence number.
        expected: u64,
    },
    /// The sequence number skips ahead.
    #[error("sequence number skips ahead; the next is {expected}")]
    SequenceGap {
        /// The actor's next sequence number.
        expected: u64,
    },
    /// The actor's role does not permit this operation.
    #[error("not allowed: {reason}")]
    NotAllowed {
        /// What rule refused it.
        reason: &'static str,
    },
    /// A participant already has that name.
    #[error("{participant:?} is already enrolled")]
    AlreadyEnrolled {
        /// The name.
        participant: String,
    },
    /// No such class.
    #[error("no class {class:?}")]
    UnknownClass {
        /// The name.
        class: String,
    },
    /// A class already has that name.
    #[error("class {class:?} already exists")]
    ClassExists {
        /// The name.
        class: String,
    },
    /// The class's rules do not let this participant hold or receive it.
    #[error("class {class:?} does not allow {participant:?} to receive it")]
    ClassNotAllowed {
        /// The class.
        class: String,
        /// The participant refused.
        participant: String,
    },
    /// The class expired.
    #[error("class {class:?} expired at {expires_at_ms} ms")]
    ClassExpired {
        /// The class.
        class: String,
        /// When it expired.
        expires_at_ms: u64,
    },
    /// The debited account holds less.
    #[error("insufficient balance: {available} available")]
    InsufficientBalance {
        /// What the account holds.
        available: u64,
    },
    /// The credit would take a holder over the class's limit.
    #[error("over the holder limit of {limit}")]
    OverHolderLimit {
        /// The limit.
        limit: u64,
    },
    /// An amount of zero.
    #[error("the amount must be at least 1")]
    AmountZero,
    /// The credit would overflow the account (holdings above 2^64 − 1).
    #[error("the amount overflows the account")]
    Overflow,
    /// A pending timeout outside 1 ms to 90 days.
    #[error("timeout_ms must be 1 to {PENDING_TIMEOUT_MS_MAX}")]
    TimeoutOutOfRange,
    /// No pending payment with that id in that class.
    #[error("no pending payment {pending} in this class")]
    UnknownPending {
        /// The id.
        pending: String,
    },
    /// The pending payment was already posted.
    #[error("the pending payment was already posted")]
    PendingPosted,
    /// The pending payment was already voided.
    #[error("the pending payment was already voided")]
    PendingVoided,
    /// The pending payment timed out; its amount went back to the payer.
    #[error("the pending payment expired at {expired_at_ms} ms")]
    PendingExpired {
        /// Its deadline.
        expired_at_ms: u64,
    },
    /// A field over its length limit.
    #[error("{field} is too long")]
    TooLong {
        /// The field.
        field: &'static str,
    },
    /// Another operation of the same linked chain failed, so this one was not applied.
    #[error("another operation in the linked chain failed")]
    LinkedEventFailed,
    /// The batch ends inside a linked chain (its last operation has `linked: true`).
    #[error("the batch ends with an open linked chain")]
    LinkedChainOpen,
}

impl Reject {
    /// The stable code, as in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Reject::IdConflict => "id_conflict",
            Reject::WrongLedger { .. } => "wrong_ledger",
            Reject::UnknownParticipant { .. } => "unknown_participant",
            Reject::BadSignature { .. } => "bad_signature",
            Reject::SequenceReused { .. } => "sequence_reused",
            Reject::SequenceGap { .. } => "sequence_gap",
            Reject::NotAllowed { .. } => "not_allowed",
            Reject::AlreadyEnrolled { .. } => "already_enrolled",
            Reject::UnknownClass { .. } => "unknown_class",
            Reject::ClassExists { .. } => "class_exists",
            Reject::ClassNotAllowed { .. } => "class_not_allowed",
            Reject::ClassExpired { .. } => "class_expired",
            Reject::InsufficientBalance { .. } => "insufficient_balance",
            Reject::OverHolderLimit { .. } => "over_holder_limit",
            Reject::AmountZero => "amount_zero",
            Reject::Overflow => "overflow",
            Reject::TimeoutOutOfRange => "timeout_out_of_range",
            Reject::UnknownPending { .. } => "unknown_pending",
            Reject::PendingPosted => "pending_posted",
            Reject::PendingVoided => "pending_voided",
            Reject::PendingExpired { .. } => "pending_expired",
            Reject::TooLong { .. } => "too_long",
            Reject::LinkedEventFailed => "linked_event_failed",
            Reject::LinkedChainOpen => "linked_chain_open",
        }
    }
}

/// An operation whose canonical bytes and fingerprint are computed, and whose signature may
/// already have been checked (in a batch, outside the sequencer).
#[derive(Debug, Clone)]
pub struct Checked {
    /// The operation and its signature.
    pub signed: SignedOperation,
    /// [`Operation::signing_bytes`].
    pub bytes: Vec<u8>,
    /// [`fingerprint`] of the bytes.
    pub fingerprint: [u8; 16],
    /// True when the signature was verified under the key enrolled for the actor; the ledger
    /// verifies it itself (with `verify_strict`) otherwise.
    pub verified: bool,
}

impl Checked {
    /// Computes the bytes and fingerprint; the signature is still to be checked.
    pub fn new(signed: SignedOperation) -> Checked {
        let bytes = signed.operation.signing_bytes();
        let fingerprint = fingerprint(&bytes);
        Checked {
            signed,
            bytes,
            fingerprint,
            verified: false,
        }
    }

    /// The operation.
    pub fn operation(&self) -> &Operation {
        &self.signed.operation
    }
}

/// A successful result: where the operation sits in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Its index in the journal.
    pub index: u64,
    /// The ledger time at which it was applied (Unix ms).
    pub time_ms: u64,
    /// True when this submission repeated an operation applied before.
    pub duplicate: bool,
}

/// The result of one operation in a batch.
pub type Outcome = Result<Applied, Reject>;

/// An enrolled participant.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    /// Its name.
    pub name: Name,
    /// Its role; `None` for the authority.
    pub role: Option<Role>,
    /// Its key.
    pub key: PublicKey,
    /// Its category, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Name>,
    /// The sequence number its next operation must carry.
    pub next_seq: u64,
}

/// Running totals of a class, in smallest units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Supply {
    /// Ever minted.
    pub minted: u128,
    /// Ever redeemed.
    pub redeemed: u128,
    /// Ever clawed back.
    pub clawed_back: u128,
    /// Held in balances now.
    pub balances: u128,
    /// Reserved in open pending payments now.
    pub pending: u128,
}

impl Supply {
    /// minted − redeemed − clawed back = balances + pending.
    pub fn balances_out(&self) -> bool {
        self.minted.checked_sub(self.redeemed + self.clawed_back)
            == Some(self.balances + self.pending)
    }
}

/// A token class: its rules and its running totals.
#[derive(Debug, Clone, Serialize)]
pub struct Class {
    /// Its name.
    pub name: Name,
    /// Its rules.
    pub rules: ClassRules,
    /// Its totals.
    pub supply: Supply,
}

/// One participant's holding of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Spendable.
    pub balance: u64,
    /// Reserved by its own open pending payments.
    pub pending_out: u64,
}

impl Account {
    /// Balance plus outgoing pending: what counts against the holder limit. Never above
    /// `u64::MAX`: every credit is checked against it.
    pub fn holdings(&self) -> u64 {
        self.balance.saturating_add(self.pending_out)
    }
}

/// The state of a pending payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    /// Waiting for the payee.
    Open,
    /// Completed.
    Posted,
    /// Cancelled by the payee.
    Voided,
    /// Timed out; the payer got the amount back.
    Expired,
}

/// A pending payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    class: u32,
    from: u32,
    to: u32,
    amount: u64,
    deadline_ms: u64,
    status: PendingStatus,
}

/// What a merchant redeemed of one class: the settlement the issuer owes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// Smallest units redeemed.
    pub amount: u128,
    /// Redemptions.
    pub redemptions: u64,
}

#[derive(Debug, Clone, Copy)]
struct AppliedId {
    index: u64,
    time_ms: u64,
    fingerprint: [u8; 16],
}

/// One change, recorded so that a failed linked chain can be undone.
#[derive(Debug, Clone)]
enum Undo {
    Account((u32, u32), Option<Account>),
    Supply(u32, Supply),
    Seq(u32, u64),
    ParticipantAdded,
    ClassAdded,
    Pending(OperationId, Option<Pending>),
    Expiry {
        deadline_ms: u64,
        id: OperationId,
        inserted: bool,
    },
    AppliedId(OperationId),
    Settlement((u32, u32), Option<Settlement>),
    History(u32),
    NextIndex(u64),
}

/// The whole ledger state, rebuilt by replaying the journal.
#[derive(Debug, Clone)]
pub struct State {
    ledger: Name,
    participants: Vec<Participant>,
    // Keys chosen by the authority or by the ledger itself: the fast Fx hash is safe for them.
    // Operation ids are chosen by clients, so `applied` keeps std's keyed SipHash.
    participant_ids: FxHashMap<Name, u32>,
    classes: Vec<Class>,
    class_ids: FxHashMap<Name, u32>,
    accounts: FxHashMap<(u32, u32), Account>,
    pendings: HashMap<OperationId, Pending>,
    expiries: BTreeSet<(u64, OperationId)>,
    settlements: FxHashMap<(u32, u32), Settlement>,
    applied: HashMap<OperationId, AppliedId>,
    history: Vec<Vec<u64>>,
    next_index: u64,
    time_ms: u64,
    undo: Vec<Undo>,
}

impl State {
    /// A new ledger named `ledger` whose authority holds `authority`'s secret key.
    pub fn genesis(ledger: Name, authority: PublicKey) -> State {
        let name = Name::new(AUTHORITY).expect("\"authority\" is a valid name");
        State {
            ledger,
            participants: vec![Participant {
                name: name.clone(),
                role: None,
                key: authority,
                category: None,
                next_seq: 0,
            }],
            participant_ids: FxHashMap::from_iter([(name, 0)]),
            classes: Vec::new(),
            class_ids: FxHashMap::default(),
            accounts: FxHashMap::default(),
            pendings: HashMap::new(),
            expiries: BTreeSet::new(),
            settlements: FxHashMap::default(),
            applied: HashMap::new(),
            history: vec![Vec::new()],
            next_index: 0,
            time_ms: 0,
            undo: Vec::new(),
        }
    }

    /// The ledger's name.
    pub fn ledger(&self) -> &Name {
        &self.ledger
    }

    /// Operations applied so far (the journal's length).
    pub fn len(&self) -> u64 {
        self.next_index
    }

    /// True before the first operation.
    pub fn is_empty(&self) -> bool {
        self.next_index == 0
    }

    /// The time of the last batch (Unix ms).
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The participant with that name.
    pub fn participant(&self, name: &str) -> Option<&Participant> {
        let id = *self.participant_ids.get(name)?;
        Some(&self.participants[id as usize])
    }

    /// Every participant, in enrolment order (the authority first).
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// The class with that name.
    pub fn class(&self, name: &str) -> Option<&Class> {
        let id = *self.class_ids.get(name)?;
        Some(&self.classes[id as usize])
    }

    /// Every class, in definition order.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// A participant's account in a class (zero if it never held it). `None` if either is
    /// unknown.
    pub fn account(&self, participant: &str, class: &str) -> Option<Account> {
        let participant = *self.participant_ids.get(participant)?;
        let class = *self.class_ids.get(class)?;
        Some(
            self.accounts
                .get(&(participant, class))
                .copied()
                .unwrap_or_default(),
        )
    }

    /// A participant's accounts in every class it ever held.
    pub fn accounts_of(&self, participant: &str) -> Vec<(&Name, Account)> {
        self.per_class(&self.accounts, participant)
    }

    /// What a merchant redeemed, per class.
    pub fn settlements_of(&self, merchant: &str) -> Vec<(&Name, Settlement)> {
        self.per_class(&self.settlements, merchant)
    }

    /// A participant's values in `map`, keyed (participant, class), in class order.
    fn per_class<T: Copy>(
        &self,
        map: &FxHashMap<(u32, u32), T>,
        participant: &str,
    ) -> Vec<(&Name, T)> {
        let Some(&id) = self.participant_ids.get(participant) else {
            return Vec::new();
        };
        self.classes
            .iter()
            .enumerate()
            .filter_map(|(class, entry)| Some((&entry.name, *map.get(&(id, class as u32))?)))
            .collect()
    }

    /// Journal indexes of the operations that involved a participant, oldest first.
    pub fn history_of(&self, participant: &str) -> &[u64] {
        match self.participant_ids.get(participant) {
            Some(&id) => &self.history[id as usize],
            None => &[],
        }
    }

    /// A pending payment's status and deadline.
    pub fn pending(&self, id: &OperationId) -> Option<(PendingStatus, u64)> {
        self.pendings
            .get(id)
            .map(|pending| (pending.status, pending.deadline_ms))
    }

    /// Where an operation id was applied, if it was.
    pub fn applied(&self, id: &OperationId) -> Option<Applied> {
        self.applied.get(id).map(|applied| Applied {
            index: applied.index,
            time_ms: applied.time_ms,
            duplicate: true,
        })
    }

    /// Applies a batch at ledger time `now_ms` (raised to the last batch's time if earlier, so
    /// time never goes back), returning one outcome per operation in order. First, pending
    /// payments whose deadline passed expire. Then each operation, or linked chain, applies
    /// entirely or not at all. Requires `batch.len() <= BATCH_OPERATIONS_MAX`.
    pub fn apply_batch(&mut self, now_ms: u64, batch: &[Checked]) -> Vec<Outcome> {
        debug_assert!(batch.len() <= BATCH_OPERATIONS_MAX);
        let time_before = self.time_ms;
        self.time_ms = self.time_ms.max(now_ms);
        self.undo.clear();
        self.expire(self.time_ms);
        let expiries = std::mem::take(&mut self.undo);
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            let end = match batch[start..].iter().position(|op| !op.operation().linked) {
                Some(offset) => start + offset + 1,
                None => {
                    outcomes.extend((start..batch.len()).map(|_| Err(Reject::LinkedChainOpen)));
                    break;
                }
            };
            self.undo.clear();
            let chain_start = outcomes.len();
            let mut failed = None;
            for (offset, op) in batch[start..end].iter().enumerate() {
                match self.apply_one(op) {
                    Ok(applied) => outcomes.push(Ok(applied)),
                    Err(reject) => {
                        failed = Some((offset, reject));
                        break;
                    }
                }
            }
            if let Some((failed, reject)) = failed {
                self.rollback();
                outcomes.truncate(chain_start);
                outcomes.extend((0..end - start).map(|offset| {
                    if offset == failed {
                        Err(reject.clone())
                    } else {
                        Err(Reject::LinkedEventFailed)
                    }
                }));
            }
            start = end;
        }
        // Time passes and payments expire only with a batch that applies something: the journal
        // records nothing else, and a replay must reach the same state.
        if !outcomes
            .iter()
            .any(|outcome| matches!(outcome, Ok(applied) if !applied.duplicate))
        {
            self.undo = expiries;
            self.rollback();
            self.time_ms = time_before;
        }
        self.undo.clear();
        assert!(
            self.classes.iter().all(|class| class.supply.balances_out()),
            "every class's supply balances after a batch"
        );
        outcomes
    }

    fn rollback(&mut self) {
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Account(key, old) => match old {
                    Some(account) => {
                        self.accounts.insert(key, account);
                    }
                    None => {
                        self.accounts.remove(&key);
                    }
                },
                Undo::Supply(class, old) => self.classes[class as usize].supply = old,
                Undo::Seq(participant, old) => {
                    self.participants[participant as usize].next_seq = old
                }
                Undo::ParticipantAdded => {
                    let participant = self.participants.pop().expect("an added participant");
                    self.participant_ids.remove(&participant.name);
                    self.history.pop();
                }
                Undo::ClassAdded => {
                    let class = self.classes.pop().expect("an added class");
                    self.class_ids.remove(&class.name);
                }
                Undo::Pending(id, old) => match old {
                    Some(pending) => {
                        self.pendings.insert(id, pending);
                    }
                    None => {
                        self.pendings.remove(&id);
                    }
                },
                Undo::Expiry {
                    deadline_ms,
                    id,
                    inserted,
                } => {
                    if inserted {
                        self.expiries.remove(&(deadline_ms, id));
                    } else {
                        self.expiries.insert((deadline_ms, id));
                    }
                }
                Undo::AppliedId(id) => {
                    self.applied.remove(&id);
                }
                Undo::Settlement(key, old) => match old {
                    Some(settlement) => {
                        self.settlements.insert(key, settlement);
                    }
                    None => {
                        self.settlements.remove(&key);
                    }
                },
                Undo::History(participant) => {
                    self.history[participant as usize].pop();
                }
                Undo::NextIndex(old) => self.next_index = old,
            }
        }
    }

    fn expire(&mut self, now_ms: u64) {
        while let Some(&(deadline_ms, id)) = self.expiries.first() {
            if deadline_ms > now_ms {
                break;
            }
            self.expiries.pop_first();
            self.undo.push(Undo::Expiry {
                deadline_ms,
                id,
                inserted: false,
            });
            let pending = *self.pendings.get(&id).expect("an expiry names a pending");
            debug_assert_eq!(pending.status, PendingStatus::Open);
            self.pendings.insert(
                id,
                Pending {
                    status: PendingStatus::Expired,
                    ..pending
                },
            );
            self.undo.push(Undo::Pending(id, Some(pending)));
            let key = (pending.from, pending.class);
            let old = self.accounts.get(&key).copied();
            let mut account = old.expect("a payer's account exists");
            account.pending_out -= pending.amount;
            account.balance += pending.amount;
            self.accounts.insert(key, account);
            self.undo.push(Undo::Account(key, old));
            let mut supply = self.classes[pending.class as usize].supply;
            supply.pending -= u128::from(pending.amount);
            supply.balances += u128::from(pending.amount);
            self.set_supply(pending.class, supply);
        }
    }

    fn apply_one(&mut self, checked: &Checked) -> Outcome {
        let op = checked.operation();
        if op.ledger != self.ledger {
            return Err(Reject::WrongLedger {
                got: op.ledger.to_string(),
                want: self.ledger.to_string(),
            });
        }
        let actor = self.participant_id(&op.actor)?;
        let participant = &self.participants[actor as usize];
        if !checked.verified
            && participant
                .key
                .verifying_key()
                .verify_strict(&checked.bytes, &checked.signed.signature)
                .is_err()
        {
            return Err(Reject::BadSignature {
                actor: op.actor.to_string(),
            });
        }
        // Idempotency after the signature: only the actor can learn that an id was applied.
        if let Some(applied) = self.applied.get(&op.id) {
            if applied.fingerprint != checked.fingerprint {
                return Err(Reject::IdConflict);
            }
            return Ok(Applied {
                index: applied.index,
                time_ms: applied.time_ms,
                duplicate: true,
            });
        }
        let expected = participant.next_seq;
        if op.seq < expected {
            return Err(Reject::SequenceReused { expected });
        }
        if op.seq > expected {
            return Err(Reject::SequenceGap { expected });
        }
        check_lengths(&op.body).map_err(|error| Reject::TooLong {
            field: match error {
                crate::model::ModelError::TooLong { field, .. } => field,
                _ => "operation",
            },
        })?;
        let role = participant.role;
        let mut involved = [actor, actor];
        match &op.body {
            Body::Enrol {
                participant,
                role: new_role,
                key,
                category,
            } => {
                self.require_authority(role)?;
                if self.participant_ids.contains_key(participant) {
                    return Err(Reject::AlreadyEnrolled {
                        participant: participant.to_string(),
                    });
                }
                let id = self.participants.len() as u32;
                self.participants.push(Participant {
                    name: participant.clone(),
                    role: Some(*new_role),
                    key: *key,
                    category: category.clone(),
                    next_seq: 0,
                });
                self.participant_ids.insert(participant.clone(), id);
                self.history.push(Vec::new());
                self.undo.push(Undo::ParticipantAdded);
                involved[1] = id;
            }
            Body::DefineClass { class, rules } => {
                self.require_authority(role)?;
                if self.class_ids.contains_key(class) {
                    return Err(Reject::ClassExists {
                        class: class.to_string(),
                    });
                }
                let issuer = self.participant_id(&rules.issuer)?;
                if self.participants[issuer as usize].role != Some(Role::Issuer) {
                    return Err(Reject::NotAllowed {
                        reason: "a class's issuer must have the issuer role",
                    });
                }
                let id = self.classes.len() as u32;
                self.classes.push(Class {
                    name: class.clone(),
                    rules: rules.clone(),
                    supply: Supply::default(),
                });
                self.class_ids.insert(class.clone(), id);
                self.undo.push(Undo::ClassAdded);
                involved[1] = issuer;
            }
            Body::Mint { class, to, amount } => {
                let class_id = self.class_id(class)?;
                let rules = &self.classes[class_id as usize].rules;
                if role != Some(Role::Issuer) || rules.issuer != op.actor {
                    return Err(Reject::NotAllowed {
                        reason: "only the class's issuer mints it",
                    });
                }
                self.require_live(class_id)?;
                let to = self.participant_id(to)?;
                self.require_holder_allowed(class_id, to)?;
                let amount = nonzero(*amount)?;
                self.check_credit(class_id, to, amount)?;
                self.credit(class_id, to, amount);
                let mut supply = self.classes[class_id as usize].supply;
                supply.minted += u128::from(amount);
                self.set_supply(class_id, supply);
                involved[1] = to;
            }
            Body::Transfer { class, to, amount } => {
                let class_id = self.class_id(class)?;
                self.require_holder_actor(role)?;
                self.require_live(class_id)?;
                let to = self.participant_id(to)?;
                self.require_payee_allowed(class_id, actor, to)?;
                let amount = nonzero(*amount)?;
                self.check_debit(class_id, actor, amount)?;
                self.check_credit(class_id, to, amount)?;
                self.debit(class_id, actor, amount);
                self.credit(class_id, to, amount);
                involved[1] = to;
            }
            Body::Redeem { class, amount } => {
                let class_id = self.class_id(class)?;
                if role != Some(Role::Merchant) {
                    return Err(Reject::NotAllowed {
                        reason: "only merchants redeem",
                    });
                }
                let amount = nonzero(*amount)?;
                self.check_debit(class_id, actor, amount)?;
                self.debit(class_id, actor, amount);
                let mut supply = self.classes[class_id as usize].supply;
                supply.redeemed += u128::from(amount);
                self.set_supply(class_id, supply);
                let key = (actor, class_id);
                let old = self.settlements.get(&key).copied();
                let mut settlement = old.unwrap_or_default();
                settlement.amount += u128::from(amount);
                settlement.redemptions += 1;
                self.settlements.insert(key, settlement);
                self.undo.push(Undo::Settlement(key, old));
                involved[1] = self.participant_ids[&self.classes[class_id as usize].rules.issuer];
            }
            Body::Pending {
                class,
                to,
                amount,
                timeout_ms,
            } => {
                let class_id = self.class_id(class)?;
                self.require_holder_actor(role)?;
                self.require_live(class_id)?;
                let to = self.participant_id(to)?;
                self.require_payee_allowed(class_id, actor, to)?;
                let amount = nonzero(*amount)?;
                if *timeout_ms == 0 || *timeout_ms > PENDING_TIMEOUT_MS_MAX {
                    return Err(Reject::TimeoutOutOfRange);
                }
                self.check_debit(class_id, actor, amount)?;
                let key = (actor, class_id);
                let old = self.accounts.get(&key).copied();
                let mut account = old.unwrap_or_default();
                account.balance -= amount;
                account.pending_out += amount;
                self.accounts.insert(key, account);
                self.undo.push(Undo::Account(key, old));
                let mut supply = self.classes[class_id as usize].supply;
                supply.balances -= u128::from(amount);
                supply.pending += u128::from(amount);
                self.set_supply(class_id, supply);
                let deadline_ms = self.time_ms + timeout_ms;
                self.pendings.insert(
                    op.id,
                    Pending {
                        class: class_id,
                        from: actor,
                        to,
                        amount,
                        deadline_ms,
                        status: PendingStatus::Open,
                    },
                );
                self.undo.push(Undo::Pending(op.id, None));
                self.expiries.insert((deadline_ms, op.id));
                self.undo.push(Undo::Expiry {
                    deadline_ms,
                    id: op.id,
                    inserted: true,
                });
                involved[1] = to;
            }
            Body::Post { class, pending } | Body::Void { class, pending } => {
                let post = matches!(op.body, Body::Post { .. });
                let class_id = self.class_id(class)?;
                let found = self
                    .pendings
                    .get(pending)
                    .copied()
                    .filter(|found| found.class == class_id)
                    .ok_or_else(|| Reject::UnknownPending {
                        pending: pending.to_hex(),
                    })?;
                if found.to != actor {
                    return Err(Reject::NotAllowed {
                        reason: "only the payee posts or voids a pending payment",
                    });
                }
                match found.status {
                    PendingStatus::Open => {}
                    PendingStatus::Posted => return Err(Reject::PendingPosted),
                    PendingStatus::Voided => return Err(Reject::PendingVoided),
                    PendingStatus::Expired => {
                        return Err(Reject::PendingExpired {
                            expired_at_ms: found.deadline_ms,
                        })
                    }
                }
                debug_assert!(found.deadline_ms > self.time_ms, "expired ones were swept");
                if post {
                    self.check_credit(class_id, found.to, found.amount)?;
                }
                let payer_key = (found.from, class_id);
                let old = self.accounts.get(&payer_key).copied();
                let mut payer = old.expect("a pending payer has an account");
                payer.pending_out -= found.amount;
                if !post {
                    payer.balance += found.amount;
                }
                self.accounts.insert(payer_key, payer);
                self.undo.push(Undo::Account(payer_key, old));
                let mut supply = self.classes[class_id as usize].supply;
                supply.pending -= u128::from(found.amount);
                if !post {
                    supply.balances += u128::from(found.amount);
                }
                self.set_supply(class_id, supply);
                if post {
                    self.credit(class_id, found.to, found.amount);
                }
                let mut updated = found;
                updated.status = if post {
                    PendingStatus::Posted
                } else {
                    PendingStatus::Voided
                };
                self.pendings.insert(*pending, updated);
                self.undo.push(Undo::Pending(*pending, Some(found)));
                self.expiries.remove(&(found.deadline_ms, *pending));
                self.undo.push(Undo::Expiry {
                    deadline_ms: found.deadline_ms,
                    id: *pending,
                    inserted: false,
                });
                involved[1] = found.from;
            }
            Body::Clawback {
                class,
                from,
                amount,
                reason,
            } => {
                self.require_authority(role)?;
                let class_id = self.class_id(class)?;
                let from = self.participant_id(from)?;
                let amount = nonzero(*amount)?;
                if reason.trim().is_empty() {
                    return Err(Reject::NotAllowed {
                        reason: "a clawback records a reason",
                    });
                }
                self.check_debit(class_id, from, amount)?;
                self.debit(class_id, from, amount);
                let mut supply = self.classes[class_id as usize].supply;
                supply.clawed_back += u128::from(amount);
                self.set_supply(class_id, supply);
                involved[1] = from;
            }
        }
        // Applied: consume the sequence number, record the id, index it.
        self.undo.push(Undo::Seq(actor, expected));
        self.participants[actor as usize].next_seq = expected + 1;
        let index = self.next_index;
        self.undo.push(Undo::NextIndex(index));
        self.next_index += 1;
        self.applied.insert(
            op.id,
            AppliedId {
                index,
                time_ms: self.time_ms,
                fingerprint: checked.fingerprint,
            },
        );
        self.undo.push(Undo::AppliedId(op.id));
        for (position, &participant) in involved.iter().enumerate() {
            if position == 1 && participant == involved[0] {
                break;
            }
            self.history[participant as usize].push(index);
            self.undo.push(Undo::History(participant));
        }
        Ok(Applied {
            index,
            time_ms: self.time_ms,
            duplicate: false,
        })
    }

    fn participant_id(&self, name: &Name) -> Result<u32, Reject> {
        self.participant_ids
            .get(name)
            .copied()
            .ok_or_else(|| Reject::UnknownParticipant {
                participant: name.to_string(),
            })
    }

    fn class_id(&self, name: &Name) -> Result<u32, Reject> {
        self.class_ids
            .get(name)
            .copied()
            .ok_or_else(|| Reject::UnknownClass {
                class: name.to_string(),
            })
    }

    fn require_authority(&self, role: Option<Role>) -> Result<(), Reject> {
        match role {
            None => Ok(()),
            Some(_) => Err(Reject::NotAllowed {
                reason: "only the circuit's authority may do this",
            }),
        }
    }

    fn require_holder_actor(&self, role: Option<Role>) -> Result<(), Reject> {
        match role {
            Some(Role::Holder) => Ok(()),
            _ => Err(Reject::NotAllowed {
                reason: "only holders transfer or pay",
            }),
        }
    }

    fn require_live(&self, class: u32) -> Result<(), Reject> {
        let entry = &self.classes[class as usize];
        match entry.rules.expires_at_ms {
            Some(expires_at_ms) if self.time_ms >= expires_at_ms => Err(Reject::ClassExpired {
                class: entry.name.to_string(),
                expires_at_ms,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the class lets `participant` hold it: a holder of a listed category (any
    /// holder when the class lists none).
    fn may_hold(&self, class: u32, participant: u32) -> bool {
        let rules = &self.classes[class as usize].rules;
        let who = &self.participants[participant as usize];
        who.role == Some(Role::Holder)
            && (rules.holder_categories.is_empty()
                || who
                    .category
                    .as_ref()
                    .is_some_and(|category| rules.holder_categories.contains(category)))
    }

    fn class_not_allowed(&self, class: u32, participant: u32) -> Reject {
        Reject::ClassNotAllowed {
            class: self.classes[class as usize].name.to_string(),
            participant: self.participants[participant as usize].name.to_string(),
        }
    }

    fn require_holder_allowed(&self, class: u32, participant: u32) -> Result<(), Reject> {
        if self.may_hold(class, participant) {
            Ok(())
        } else {
            Err(self.class_not_allowed(class, participant))
        }
    }

    /// A payee is a holder the class lets hold it (when holders may transfer it), or a
    /// merchant of a listed category.
    fn require_payee_allowed(&self, class: u32, payer: u32, payee: u32) -> Result<(), Reject> {
        if payer == payee {
            return Err(Reject::NotAllowed {
                reason: "a participant does not pay itself",
            });
        }
        let rules = &self.classes[class as usize].rules;
        let who = &self.participants[payee as usize];
        let allowed = match who.role {
            Some(Role::Holder) => rules.holder_transfers && self.may_hold(class, payee),
            Some(Role::Merchant) => who
                .category
                .as_ref()
                .is_some_and(|category| rules.merchant_categories.contains(category)),
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(self.class_not_allowed(class, payee))
        }
    }

    fn check_debit(&self, class: u32, participant: u32, amount: u64) -> Result<(), Reject> {
        let available = self
            .accounts
            .get(&(participant, class))
            .map_or(0, |account| account.balance);
        if available < amount {
            return Err(Reject::InsufficientBalance { available });
        }
        Ok(())
    }

    fn check_credit(&self, class: u32, participant: u32, amount: u64) -> Result<(), Reject> {
        let holdings = self
            .accounts
            .get(&(participant, class))
            .map_or(0, Account::holdings);
        let after = holdings.checked_add(amount).ok_or(Reject::Overflow)?;
        if self.participants[participant as usize].role == Some(Role::Holder) {
            if let Some(limit) = self.classes[class as usize].rules.holder_limit {
                if after > limit {
                    return Err(Reject::OverHolderLimit { limit });
                }
            }
        }
        Ok(())
    }

    /// Requires [`State::check_credit`] to have passed.
    fn credit(&mut self, class: u32, participant: u32, amount: u64) {
        let key = (participant, class);
        let old = self.accounts.get(&key).copied();
        let mut account = old.unwrap_or_default();
        account.balance += amount;
        self.accounts.insert(key, account);
        self.undo.push(Undo::Account(key, old));
        let mut supply = self.classes[class as usize].supply;
        supply.balances += u128::from(amount);
        self.set_supply(class, supply);
    }

    /// Requires [`State::check_debit`] to have passed.
    fn debit(&mut self, class: u32, participant: u32, amount: u64) {
        let key = (participant, class);
        let old = self.accounts.get(&key).copied();
        let mut account = old.expect("a checked debit has an account");
        account.balance -= amount;
        self.accounts.insert(key, account);
        self.undo.push(Undo::Account(key, old));
        let mut supply = self.classes[class as usize].supply;
        supply.balances -= u128::from(amount);
        self.set_supply(class, supply);
    }

    fn set_supply(&mut self, class: u32, supply: Supply) {
        let old = std::mem::replace(&mut self.classes[class as usize].supply, supply);
        self.undo.push(Undo::Supply(class, old));
    }

    /// Recomputes every total from the accounts and pending payments and checks the ledger's
    /// invariants: each class's supply balances and matches its accounts; no holder is over its
    /// class's limit; each account's outgoing pending equals its open pending payments; every
    /// expiry names an open pending payment. Costs a pass over the whole state.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut balances = vec![0u128; self.classes.len()];
        let mut pending = vec![0u128; self.classes.len()];
        let mut pending_out: HashMap<(u32, u32), u64> = HashMap::new();
        for (&(participant, class), account) in &self.accounts {
            balances[class as usize] += u128::from(account.balance);
            if account.balance.checked_add(account.pending_out).is_none() {
                return Err(format!("account ({participant}, {class}) holds over 2^64"));
            }
            let holder = self.participants[participant as usize].role == Some(Role::Holder);
            if let (true, Some(limit)) = (holder, self.classes[class as usize].rules.holder_limit) {
                if account.holdings() > limit {
                    return Err(format!(
                        "account ({participant}, {class}) is over its limit"
                    ));
                }
            }
        }
        for (id, entry) in &self.pendings {
            let open = entry.status == PendingStatus::Open;
            if open != self.expiries.contains(&(entry.deadline_ms, *id)) {
                return Err(format!("pending {id} and the expiry queue disagree"));
            }
            if open {
                pending[entry.class as usize] += u128::from(entry.amount);
                *pending_out.entry((entry.from, entry.class)).or_default() += entry.amount;
            }
        }
        if self.expiries.len()
            != self
                .pendings
                .values()
                .filter(|p| p.status == PendingStatus::Open)
                .count()
        {
            return Err("the expiry queue names payments that are not open".into());
        }
        for (key, account) in &self.accounts {
            if account.pending_out != pending_out.get(key).copied().unwrap_or(0) {
                return Err(format!("account {key:?}'s outgoing pending is wrong"));
            }
        }
        for (class, entry) in self.classes.iter().enumerate() {
            let supply = entry.supply;
            if !supply.balances_out() {
                return Err(format!("class {} does not balance: {supply:?}", entry.name));
            }
            if supply.balances != balances[class] || supply.pending != pending[class] {
                return Err(format!(
                    "class {}: totals {supply:?}, accounts hold {} and pending {}",
                    entry.name, balances[class], pending[class]
                ));
            }
        }
        let settled: u128 = self.settlements.values().map(|s| s.amount).sum();
        let redeemed: u128 = self.classes.iter().map(|c| c.supply.redeemed).sum();
        if settled != redeemed {
            return Err(format!(
                "settlements {settled} differ from redemptions {redeemed}"
            ));
        }
        if self.applied.len() as u64 != self.next_index {
            return Err("applied ids and the journal length differ".into());
        }
        Ok(())
    }

    /// A digest of the whole state, equal for equal states whatever the order of insertion:
    /// used to check that a replay reaches the same state.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.ledger.as_str());
        hasher.update(self.next_index.to_be_bytes());
        hasher.update(self.time_ms.to_be_bytes());
        for participant in &self.participants {
            hasher.update(participant.name.as_str());
            hasher.update(participant.key.as_bytes());
            hasher.update(participant.next_seq.to_be_bytes());
        }
        for class in &self.classes {
            hasher.update(class.name.as_str());
            hasher.update(format!("{:?}", class.supply));
        }
        let mut accounts: Vec<_> = self.accounts.iter().collect();
        accounts.sort_unstable_by_key(|(key, _)| **key);
        for (key, account) in accounts {
            hasher.update(format!("{key:?}{account:?}"));
        }
        let mut pendings: Vec<_> = self.pendings.iter().collect();
        pendings.sort_unstable_by_key(|(id, _)| **id);
        for (id, pending) in pendings {
            hasher.update(id.as_bytes());
            hasher.update(format!("{pending:?}"));
        }
        let mut settlements: Vec<_> = self.settlements.iter().collect();
        settlements.sort_unstable_by_key(|(key, _)| **key);
        for (key, settlement) in settlements {
            hasher.update(format!("{key:?}{settlement:?}"));
        }
        hasher.finalize().into()
    }
}

fn nonzero(amount: u64) -> Result<u64, Reject> {
    if amount == 0 {
        return Err(Reject::AmountZero);
    }
    Ok(amount)
}
