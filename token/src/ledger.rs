//! The ledger service: signature checks in batches on the submitters' threads, one sequencer
//! thread that applies batches and commits them in groups (one fsync per group), and the
//! stamping of journal heads in the notary.
//!
//! Readers see only durable state: the sequencer holds the state's write lock from the first
//! change of a group until its fsync returned.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, VerifyingKey};
use tokio::sync::{oneshot, watch};

use crate::journal::{Entry, Genesis, Stamp};
use crate::model::{Name, PublicKey};
use crate::op::SignedOperation;
use crate::replay::{Replay, ReplayError};
use crate::state::{Checked, Outcome, State, BATCH_OPERATIONS_MAX};
use crate::store::{Store, StoreError};

/// Most operations waiting for the sequencer; beyond it submissions get [`Error::Busy`].
pub const QUEUE_OPERATIONS_MAX: usize = 262_144;
/// Most operations the sequencer commits with one fsync.
pub const GROUP_OPERATIONS_MAX: usize = 65_536;
/// Most journal entries or stamps returned by one read.
pub const PAGE_ENTRIES_MAX: usize = 1_000;

/// Everything that can go wrong in the ledger service (refused operations are not errors:
/// they are [`crate::Reject`] outcomes).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A submission has too few or too many operations.
    #[error("a batch holds 1 to {max} operations, got {got}")]
    BatchSize {
        /// Operations submitted.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Too many operations are waiting; try again shortly.
    #[error("the ledger is busy; retry shortly")]
    Busy,
    /// The ledger is shutting down, or stopped after a storage failure.
    #[error("the ledger is not accepting operations")]
    Stopped,
    /// The configuration contradicts the data directory.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The stored journal does not replay.
    #[error("the stored journal does not replay: {0}")]
    Replay(#[from] ReplayError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A ledger clock: Unix milliseconds. The simulation replaces the wall clock with its own.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock.
pub fn wall_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0)
    })
}

/// The journal's length and head hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Entries in the journal.
    pub length: u64,
    /// Hash of the last entry (the genesis hash when empty).
    pub hash: [u8; 32],
}

struct Job {
    ops: Vec<Checked>,
    reply: oneshot::Sender<Result<Vec<Outcome>, Error>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    operations: usize,
    closed: bool,
}

struct Inner {
    genesis: Genesis,
    store: Store,
    state: RwLock<State>,
    keys: RwLock<HashMap<Name, PublicKey>>,
    queue: Mutex<Queue>,
    wake: Condvar,
    failed: AtomicBool,
    head: watch::Sender<Head>,
    clock: Clock,
    #[cfg(test)]
    fault: std::sync::atomic::AtomicU8,
}

/// The token ledger service. Cheap to clone; every clone is the same ledger.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
    sequencer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Ledger {
    /// Opens the ledger stored in `dir`, replaying its journal, or creates it from `genesis`
    /// when the directory holds none. A stored ledger whose genesis differs from `genesis` is
    /// refused.
    pub fn open(dir: &Path, genesis: Genesis, clock: Clock) -> Result<Ledger, Error> {
        let store = Store::open(dir)?;
        let genesis = match store.genesis()? {
            Some(stored) if stored.ledger != genesis.ledger || stored.authority != genesis.authority => {
                return Err(Error::Config {
                    reason: format!(
                        "{} holds ledger {:?} with another authority or name than the one configured ({:?})",
                        dir.display(),
                        stored.ledger.as_str(),
                        genesis.ledger.as_str()
                    ),
                })
            }
            Some(stored) => stored,
            None => {
                store.create(&genesis)?;
                genesis
            }
        };
        let mut replay = Replay::new(&genesis, false, false);
        for entry in store.entries(0) {
            replay.push(entry?)?;
        }
        let length = replay.len();
        let (state, hash) = replay.finish()?;
        let keys = state
            .participants()
            .iter()
            .map(|participant| (participant.name.clone(), participant.key))
            .collect();
        let (head, _) = watch::channel(Head { length, hash });
        let inner = Arc::new(Inner {
            genesis,
            store,
            state: RwLock::new(state),
            keys: RwLock::new(keys),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            failed: AtomicBool::new(false),
            head,
            clock,
            #[cfg(test)]
            fault: std::sync::atomic::AtomicU8::new(0),
        });
        let sequencer = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("token-sequencer".into())
                .spawn(move || sequence(&inner))
                .map_err(|error| Error::Store(StoreError::Engine(error.into())))?
        };
        Ok(Ledger {
            inner,
            sequencer: Arc::new(Mutex::new(Some(sequencer))),
        })
    }

    /// The ledger's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// The journal's current (durable) head.
    pub fn head(&self) -> Head {
        *self.inner.head.borrow()
    }

    /// Heads as they become durable.
    pub fn watch_heads(&self) -> watch::Receiver<Head> {
        self.inner.head.subscribe()
    }

    /// Checks signatures, queues the batch, and blocks until it is applied and durable. One
    /// outcome per operation, in order. Requires 1..=[`BATCH_OPERATIONS_MAX`] operations.
    pub fn submit(&self, ops: Vec<SignedOperation>) -> Result<Vec<Outcome>, Error> {
        let answer = self.enqueue(self.check(ops)?)?;
        answer.blocking_recv().unwrap_or(Err(Error::Stopped))
    }

    /// [`Ledger::submit`] for async callers: the signature checks run on the blocking pool.
    pub async fn submit_async(&self, ops: Vec<SignedOperation>) -> Result<Vec<Outcome>, Error> {
        let ledger = self.clone();
        let checked = tokio::task::spawn_blocking(move || ledger.check(ops))
            .await
            .map_err(|_| Error::Stopped)??;
        let answer = self.enqueue(checked)?;
        answer.await.unwrap_or(Err(Error::Stopped))
    }

    /// Encodes each operation and checks the signatures of those whose actor is enrolled, in one
    /// batch verification. Operations it cannot check here (an actor enrolled in the same
    /// batch, a signature that fails) are left for the sequencer's `verify_strict`, which gives
    /// the precise error.
    pub fn check(&self, ops: Vec<SignedOperation>) -> Result<Vec<Checked>, Error> {
        if ops.is_empty() || ops.len() > BATCH_OPERATIONS_MAX {
            return Err(Error::BatchSize {
                got: ops.len(),
                max: BATCH_OPERATIONS_MAX,
            });
        }
        let mut checked: Vec<Checked> = ops.into_iter().map(Checked::new).collect();
        let keys = self.inner.keys.read().expect("keys lock is never poisoned");
        let mut candidates = Vec::with_capacity(checked.len());
        let mut verifying_keys = Vec::with_capacity(checked.len());
        for (position, op) in checked.iter().enumerate() {
            if let Some(key) = keys.get(&op.operation().actor) {
                if strict_r(&op.signed.signature) {
                    candidates.push(position);
                    verifying_keys.push(*key.verifying_key());
                }
            }
        }
        drop(keys);
        verify_candidates(&mut checked, &candidates, &verifying_keys);
        Ok(checked)
    }

    fn enqueue(
        &self,
        ops: Vec<Checked>,
    ) -> Result<oneshot::Receiver<Result<Vec<Outcome>, Error>>, Error> {
        if self.inner.failed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        let (reply, answer) = oneshot::channel();
        let mut queue = self
            .inner
            .queue
            .lock()
            .expect("queue lock is never poisoned");
        if queue.closed {
            return Err(Error::Stopped);
        }
        if queue.operations + ops.len() > QUEUE_OPERATIONS_MAX {
            return Err(Error::Busy);
        }
        queue.operations += ops.len();
        queue.jobs.push_back(Job { ops, reply });
        self.inner.wake.notify_one();
        Ok(answer)
    }

    /// Reads the durable state.
    pub fn read<R>(&self, read: impl FnOnce(&State) -> R) -> Result<R, Error> {
        if self.inner.failed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        let state = self
            .inner
            .state
            .read()
            .expect("state lock is never poisoned");
        Ok(read(&state))
    }

    /// Up to `limit` (at most [`PAGE_ENTRIES_MAX`]) journal entries from `from`.
    pub fn journal(&self, from: u64, limit: usize) -> Result<Vec<Entry>, Error> {
        let length = self.head().length;
        Ok(self
            .inner
            .store
            .entries(from)
            .take(limit.min(PAGE_ENTRIES_MAX))
            .take_while(|entry| entry.as_ref().map_or(true, |entry| entry.index < length))
            .collect::<Result<_, _>>()?)
    }

    /// The journal entries of a participant's operations (as actor or counterparty): up to
    /// `limit` from its `from`-th.
    pub fn history(
        &self,
        participant: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        let indexes: Vec<u64> = self.read(|state| {
            state
                .history_of(participant)
                .iter()
                .skip(from)
                .take(limit.min(PAGE_ENTRIES_MAX))
                .copied()
                .collect()
        })?;
        let mut entries = Vec::with_capacity(indexes.len());
        for index in indexes {
            let entry = self.inner.store.entry(index)?.ok_or(StoreError::Corrupt {
                what: format!("journal entry {index} is missing"),
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Up to `limit` notarised heads from journal length `from`.
    pub fn stamps(&self, from: u64, limit: usize) -> Result<Vec<Stamp>, Error> {
        Ok(self
            .inner
            .store
            .stamps(from)
            .take(limit.min(PAGE_ENTRIES_MAX))
            .collect::<Result<_, _>>()?)
    }

    /// Stamps every new journal head in the notary, at most one per notary block, and stores
    /// the receipts. Runs until the ledger shuts down; a notary error is retried after a pause.
    pub async fn stamp_heads(self, notary: notary::Notary) {
        let mut heads = self.watch_heads();
        let mut stamped = match self.inner.store.last_stamp() {
            Ok(last) => last.map_or(0, |stamp| stamp.length),
            Err(error) => {
                tracing::error!(%error, "reading the last stamp; token heads are not stamped");
                return;
            }
        };
        loop {
            let head = *heads.borrow_and_update();
            if head.length > stamped {
                let digest = notary::Digest::from_bytes(head.hash);
                match notary.submit(vec![digest]).await {
                    Ok(submitted) => {
                        let receipt = submitted.receipts().remove(0);
                        let stamp = Stamp {
                            length: head.length,
                            head: hex::encode(head.hash),
                            receipt,
                        };
                        if let Err(error) = self.inner.store.put_stamp(&stamp) {
                            tracing::error!(%error, "storing a token head's stamp");
                            return;
                        }
                        stamped = head.length;
                    }
                    Err(notary::Error::Stopped) => return,
                    Err(error) => {
                        tracing::warn!(%error, "stamping the token journal head; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            if heads.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops accepting operations, applies and commits what waits, and returns when the
    /// sequencer is done.
    pub fn shutdown(&self) {
        {
            let mut queue = self
                .inner
                .queue
                .lock()
                .expect("queue lock is never poisoned");
            queue.closed = true;
            self.inner.wake.notify_all();
        }
        let handle = self
            .sequencer
            .lock()
            .expect("sequencer lock is never poisoned")
            .take();
        if let Some(handle) = handle {
            // A panicking sequencer has already failed every submitter.
            let _ = handle.join();
        }
    }

    /// Makes the next commit that writes entries crash: before its fsync (nothing of the group
    /// is on disk) or after it (on disk, never acknowledged). The ledger then refuses everything
    /// until it is reopened, as a restarted process would.
    #[cfg(test)]
    pub(crate) fn crash_next_commit(&self, fault: Fault) {
        self.inner.fault.store(fault as u8, Ordering::Release);
    }
}

/// Where a simulated crash strikes a commit.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// After applying in memory, before writing.
    BeforeFsync = 1,
    /// After the fsync, before answering.
    AfterFsync = 2,
}

/// True when a signature's R is a canonical encoding (y < p) of a point that is not of small
/// order: what `verify_strict` requires of R and batch verification does not check. Both
/// checks are on the encoding, so no point is decompressed: the encodings of the eight
/// small-order points are computed once, by curve25519-dalek.
fn strict_r(signature: &Signature) -> bool {
    let r = signature.r_bytes();
    let y_at_least_p =
        r[31] & 0x7f == 0x7f && r[1..31].iter().all(|&byte| byte == 0xff) && r[0] >= 0xed;
    !y_at_least_p && !small_order_encodings().contains(r)
}

/// Every encoding with y < p that decodes to a point of small order: the eight torsion points,
/// and the sign-flipped encodings of those with x = 0 (which decode to the same points).
fn small_order_encodings() -> &'static [[u8; 32]] {
    static ENCODINGS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let mut encodings = Vec::new();
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            let canonical = point.compress().to_bytes();
            let mut flipped = canonical;
            flipped[31] ^= 0x80;
            for encoding in [canonical, flipped] {
                let small = CompressedEdwardsY(encoding)
                    .decompress()
                    .is_some_and(|point| point.is_small_order());
                if small && !encodings.contains(&encoding) {
                    encodings.push(encoding);
                }
            }
        }
        encodings
    })
}

/// Batch-verifies the candidates; on failure, verifies each one strictly to find the bad ones.
fn verify_candidates(checked: &mut [Checked], candidates: &[usize], keys: &[VerifyingKey]) {
    if candidates.is_empty() {
        return;
    }
    let messages: Vec<&[u8]> = candidates
        .iter()
        .map(|&i| checked[i].bytes.as_slice())
        .collect();
    let signatures: Vec<Signature> = candidates
        .iter()
        .map(|&i| checked[i].signed.signature)
        .collect();
    if ed25519_dalek::verify_batch(&messages, &signatures, keys).is_ok() {
        for &position in candidates {
            checked[position].verified = true;
        }
        return;
    }
    for (&position, key) in candidates.iter().zip(keys) {
        let op = &checked[position];
        checked[position].verified = key.verify_strict(&op.bytes, &op.signed.signature).is_ok();
    }
}

fn sequence(inner: &Inner) {
    loop {
        let jobs = {
            let mut queue = inner.queue.lock().expect("queue lock is never poisoned");
            while queue.jobs.is_empty() && !queue.closed {
                queue = inner
                    .wake
                    .wait(queue)
                    .expect("queue lock is never poisoned");
            }
            if queue.jobs.is_empty() {
                return;
            }
            let mut jobs = Vec::new();
            let mut operations = 0;
            while let Some(job) = queue.jobs.front() {
                if !jobs.is_empty() && operations + job.ops.len() > GROUP_OPERATIONS_MAX {
                    break;
                }
                operations += job.ops.len();
                jobs.push(queue.jobs.pop_front().expect("front exists"));
            }
            queue.operations -= operations;
            jobs
        };
        if inner.failed.load(Ordering::Acquire) {
            for job in jobs {
                let _ = job.reply.send(Err(Error::Stopped));
            }
            continue;
        }
        commit_group(inner, jobs);
    }
}

fn commit_group(inner: &Inner, jobs: Vec<Job>) {
    let now_ms = (inner.clock)();
    let mut state = inner.state.write().expect("state lock is never poisoned");
    let participants_before = state.participants().len();
    let mut head = *inner.head.borrow();
    let mut entries = Vec::new();
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcomes = state.apply_batch(now_ms, &job.ops);
        for (op, outcome) in job.ops.iter().zip(&outcomes) {
            if let Ok(applied) = outcome {
                if applied.duplicate {
                    continue;
                }
                debug_assert_eq!(applied.index, head.length);
                let entry = Entry {
                    index: applied.index,
                    time_ms: applied.time_ms,
                    previous: head.hash,
                    operation: op.bytes.clone(),
                    signature: op.signed.signature.to_bytes(),
                };
                head = Head {
                    length: head.length + 1,
                    hash: entry.hash(),
                };
                entries.push(entry);
            }
        }
        answers.push((job.reply, outcomes));
    }
    debug_assert_eq!(head.length, state.len());
    #[cfg(debug_assertions)]
    if let Err(reason) = state.check_invariants() {
        panic!("ledger invariant broken: {reason}");
    }
    let committed = if entries.is_empty() {
        Ok(())
    } else {
        #[cfg(test)]
        {
            let fault = inner.fault.swap(0, Ordering::AcqRel);
            if fault != 0 {
                if fault == Fault::AfterFsync as u8 {
                    inner
                        .store
                        .append(&entries)
                        .expect("the simulated disk works");
                }
                inner.failed.store(true, Ordering::Release);
                drop(state);
                for (reply, _) in answers {
                    let _ = reply.send(Err(Error::Stopped));
                }
                return;
            }
        }
        inner.store.append(&entries)
    };
    if let Err(error) = committed {
        // The state holds operations that are not on disk: stop (fail-stop); a restart
        // replays the journal.
        tracing::error!(%error, "committing the token journal failed; the ledger stops");
        inner.failed.store(true, Ordering::Release);
        drop(state);
        for (reply, _) in answers {
            let _ = reply.send(Err(Error::Stopped));
        }
        return;
    }
    if state.participants().len() > participants_before {
        let mut keys = inner.keys.write().expect("keys lock is never poisoned");
        for participant in &state.participants()[participants_before..] {
            keys.insert(participant.name.clone(), participant.key);
        }
    }
    drop(state);
    inner.head.send_replace(head);
    for (reply, outcomes) in answers {
        let _ = reply.send(Ok(outcomes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn strict_r_agrees_with_decompression_on_small_order_and_non_canonical_encodings() {
        let encodings = small_order_encodings();
        // Eight torsion points; the identity (y = 1) and (0, −1) also have a sign-flipped form.
        assert_eq!(encodings.len(), 10);
        for encoding in encodings {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(encoding);
            assert!(!strict_r(&Signature::from_bytes(&bytes)));
        }
        // y = p (non-canonical zero) and y = 2^255 − 1.
        let mut y_p = [0xff; 32];
        y_p[0] = 0xed;
        y_p[31] = 0x7f;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&y_p);
        assert!(!strict_r(&Signature::from_bytes(&bytes)));
        bytes[..32].copy_from_slice(&[0xff; 32]);
        assert!(!strict_r(&Signature::from_bytes(&bytes)));
        // Real signatures pass.
        for seed in 0..50u8 {
            let signature = SigningKey::from_bytes(&[seed; 32]).sign(b"message");
            assert!(strict_r(&signature));
            let r = CompressedEdwardsY(*signature.r_bytes())
                .decompress()
                .unwrap();
            assert!(!r.is_small_order());
        }
    }
}
