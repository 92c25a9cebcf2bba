//! The notary service: a sequencer thread that integrates waiting entries into blocks, makes
//! each block and its checkpoint durable with one flush, and only then answers the submitters.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::block::BlockHeader;
use crate::hash::Digest;
use crate::index::EntryIndex;
use crate::merkle::{leaf_hashes, BlockTree, Frontier, LogTree, HEX_DIGITS};
use crate::note::{open_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use crate::receipt::{
    BundledEntry, Receipt, ReceiptBundle, ReceiptState, TlogProof, RECEIPT_BUNDLE_FORMAT,
    RECEIPT_FORMAT,
};
use crate::store::Store;
use crate::Error;

/// Default time between blocks.
pub const BLOCK_INTERVAL_MS: u64 = 100;
/// Default largest block: a block is sealed at once when this many entries wait.
pub const BLOCK_ENTRIES_MAX: usize = 65_536;
/// Largest batch one submission may carry.
pub const BATCH_ENTRIES_MAX: usize = 10_000;
/// Most entries waiting for a block before submitters are told to back off.
pub const QUEUE_ENTRIES_MAX: usize = 1_000_000;
/// Most receipts returned for one digest.
pub const RECEIPTS_PER_ENTRY_MAX: usize = 100;
/// Most headers returned by one block listing.
pub const BLOCKS_PAGE_MAX: u64 = 1_000;
/// Recent blocks kept in memory to answer receipt queries quickly.
const BLOCK_CACHE_BLOCKS: usize = 16;
/// Entries the indexer inserts per hold of the index lock, so that a receipt query waits for
/// at most this many inserts (well under a millisecond), not for a whole block's.
const INDEX_CHUNK_ENTRIES: usize = 1_024;

/// How a notary is set up.
#[derive(Debug, Clone)]
pub struct NotaryConfig {
    /// The log's origin, and the checkpoint key's name.
    pub origin: String,
    /// Time between blocks, in milliseconds.
    pub block_interval_ms: u64,
    /// Entries that seal a block at once.
    pub block_entries_max: usize,
}

impl NotaryConfig {
    /// Defaults for `origin`.
    pub fn new(origin: &str) -> NotaryConfig {
        NotaryConfig {
            origin: origin.to_owned(),
            block_interval_ms: BLOCK_INTERVAL_MS,
            block_entries_max: BLOCK_ENTRIES_MAX,
        }
    }
}

/// A sealed, durable block as the sequencer hands it to the submitters.
pub struct SealedBlock {
    header: BlockHeader,
    tree: BlockTree,
    entries: Vec<Digest>,
    /// The tlog-proof of the header at the checkpoint written with the block.
    log_proof: String,
    /// The start of every receipt bundle of the block, up to its first entry: the same for
    /// all the block's submitters, so written once.
    bundle_head: Vec<u8>,
    /// The tree's hashes in hex, for the entries' paths in the bundles.
    hex_layers: Vec<Vec<u8>>,
}

impl SealedBlock {
    fn new(header: BlockHeader, tree: BlockTree, entries: Vec<Digest>, log_proof: String) -> Self {
        let mut bundle_head = Vec::with_capacity(512 + log_proof.len());
        bundle_head.extend_from_slice(b"{\"format\":\"");
        bundle_head.extend_from_slice(RECEIPT_BUNDLE_FORMAT.as_bytes());
        bundle_head.extend_from_slice(b"\",\"block\":");
        serde_json::to_writer(&mut bundle_head, &header).expect("a header serialises");
        bundle_head.extend_from_slice(b",\"log_proof\":");
        serde_json::to_writer(&mut bundle_head, &log_proof).expect("a string serialises");
        bundle_head.extend_from_slice(b",\"entries\":[");
        SealedBlock {
            header,
            hex_layers: tree.hex_layers(),
            tree,
            entries,
            log_proof,
            bundle_head,
        }
    }

    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The receipt of entry `index` of the block. Requires `index < entry_count`.
    pub fn receipt(&self, index: u64) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT.to_owned(),
            entry: self.entries[index as usize],
            block: self.header,
            entry_index: index,
            entry_path: self.tree.inclusion_proof(index),
            log_proof: self.log_proof.clone(),
            salt: None,
            state: ReceiptState::Signed,
            anchor: None,
        }
    }
}

/// The outcome of one submission: where its entries landed.
pub struct Submitted {
    /// The block holding the entries.
    pub block: Arc<SealedBlock>,
    /// Index in the block of the submission's first entry; the rest follow in order.
    pub offset: u64,
    /// Number of entries submitted.
    pub count: u64,
}

impl Submitted {
    /// Receipts of every submitted entry, in submission order.
    pub fn receipts(&self) -> Vec<Receipt> {
        (self.offset..self.offset + self.count)
            .map(|index| self.block.receipt(index))
            .collect()
    }

    /// [`Submitted::bundle`] as JSON, written straight from the block tree. Answering
    /// submitters is the service's hot path: this skips the per-entry path vectors and
    /// serde's escaping scan of hex strings, which need no escaping.
    pub fn bundle_json(&self) -> Vec<u8> {
        let block = &*self.block;
        let path_hashes = block.tree.inclusion_nodes(self.offset).count();
        let per_entry = 64 + 2 * HEX_DIGITS + path_hashes * (HEX_DIGITS + 3);
        let head = &block.bundle_head;
        let mut out = Vec::with_capacity(head.len() + 2 + self.count as usize * per_entry);
        out.extend_from_slice(head);
        for index in self.offset..self.offset + self.count {
            if index > self.offset {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"entry\":");
            out.push(b'"');
            out.extend_from_slice(&block.entries[index as usize].hex_bytes());
            out.extend_from_slice(b"\",\"entry_index\":");
            write!(out, "{index}").expect("writing to a Vec cannot fail");
            out.extend_from_slice(b",\"entry_path\":[");
            for (step, (layer, position)) in block.tree.inclusion_nodes(index).enumerate() {
                if step > 0 {
                    out.push(b',');
                }
                let at = position * HEX_DIGITS;
                out.push(b'"');
                out.extend_from_slice(&block.hex_layers[layer][at..at + HEX_DIGITS]);
                out.push(b'"');
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The same receipts, with the block header and log proof given once.
    pub fn bundle(&self) -> ReceiptBundle {
        ReceiptBundle {
            format: RECEIPT_BUNDLE_FORMAT.to_owned(),
            block: self.block.header,
            log_proof: self.block.log_proof.clone(),
            entries: (self.offset..self.offset + self.count)
                .map(|index| BundledEntry {
                    entry: self.block.entries[index as usize],
                    entry_index: index,
                    entry_path: self.block.tree.inclusion_proof(index),
                })
                .collect(),
        }
    }
}

struct Pending {
    entries: Vec<Digest>,
    /// The entries' leaf hashes, computed by the submitter: half of a block's hashing, done
    /// while the block fills rather than after it closes.
    leaves: Vec<[u8; 32]>,
    reply: oneshot::Sender<Result<Submitted, Error>>,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Pending>,
    entries: usize,
    closed: bool,
}

/// What readers see: the log and the latest checkpoint. Only the sequencer writes it.
struct LogState {
    log: LogTree,
    headers: Vec<BlockHeader>,
    latest_checkpoint: String,
}

/// Where each stored entry is, for receipt queries. The sequencer answers a block's
/// submitters first and a thread of its own, the indexer, indexes the block's entries after:
/// an insert into a map of millions costs a cache miss or two (some 10 ms for a block of
/// 24,000 entries, and far more when the map grows), which would otherwise delay every answer
/// and the next block. Until then the block waits in `unindexed`, whose entries a query scans.
///
/// Two locks, so that the sequencer never waits for the indexer: it only appends to
/// `unindexed`. The indexer puts a chunk of entries into `index`, and only then counts them
/// out of `unindexed`; a query reads `unindexed` first and `index` second, so an entry moving
/// between them is seen in one or both, never in neither.
struct Lookup {
    index: RwLock<EntryIndex>,
    /// Sealed blocks, oldest first, with how many of their first entries are in `index`
    /// already. Every block before them is wholly in `index`.
    unindexed: RwLock<VecDeque<(Arc<SealedBlock>, usize)>>,
}

impl Lookup {
    fn new(index: EntryIndex) -> Lookup {
        Lookup {
            index: RwLock::new(index),
            unindexed: RwLock::new(VecDeque::new()),
        }
    }

    /// Global numbers of the entries that may be `entry`, oldest first, at most `limit`:
    /// the index's candidates (same prefix) and the exact matches among unindexed entries.
    fn candidates(&self, entry: &Digest, limit: usize) -> Vec<u64> {
        let recent: Vec<(Arc<SealedBlock>, usize)> = self
            .unindexed
            .read()
            .expect("lookup lock is never poisoned")
            .iter()
            .map(|(block, indexed)| (Arc::clone(block), *indexed))
            .collect();
        let mut numbers = self
            .index
            .read()
            .expect("index lock is never poisoned")
            .candidates(entry, limit);
        for (block, indexed) in &recent {
            let first = block.header.first_entry;
            numbers.extend(
                block.entries[*indexed..]
                    .iter()
                    .enumerate()
                    .filter(|(_, candidate)| *candidate == entry)
                    .map(|(offset, _)| first + (*indexed + offset) as u64),
            );
        }
        // An entry indexed between the two reads is in both.
        numbers.sort_unstable();
        numbers.dedup();
        numbers.truncate(limit);
        numbers
    }

    /// The sequencer's part: a sealed block, before its submitters are answered.
    fn push(&self, block: Arc<SealedBlock>) {
        self.unindexed
            .write()
            .expect("lookup lock is never poisoned")
            .push_back((block, 0));
    }

    /// The indexer's part: moves the oldest unindexed block, `block`, into the index, a chunk
    /// per hold of each lock.
    fn index(&self, block: &Arc<SealedBlock>) {
        let started = Instant::now();
        let first = block.header.first_entry;
        let mut done = 0;
        while done < block.entries.len() {
            let end = (done + INDEX_CHUNK_ENTRIES).min(block.entries.len());
            {
                let mut index = self.index.write().expect("index lock is never poisoned");
                for (offset, entry) in block.entries[done..end].iter().enumerate() {
                    index.insert(entry, first + (done + offset) as u64);
                }
            }
            let mut unindexed = self
                .unindexed
                .write()
                .expect("lookup lock is never poisoned");
            let (oldest, indexed) = unindexed
                .front_mut()
                .expect("the block being indexed is unindexed");
            debug_assert!(Arc::ptr_eq(oldest, block));
            *indexed = end;
            if end == block.entries.len() {
                unindexed.pop_front();
            }
            done = end;
        }
        tracing::debug!(
            height = block.header.height,
            index_us = started.elapsed().as_micros() as u64,
            "indexed a block"
        );
    }
}

/// A stored block's entries and tree, kept for answering receipt queries.
struct CachedBlock {
    entries: Vec<Digest>,
    tree: BlockTree,
}

struct Inner {
    config: NotaryConfig,
    store: Store,
    signer: NoteSigner,
    state: RwLock<LogState>,
    lookup: Lookup,
    queue: Mutex<Queue>,
    wake: Condvar,
    failed: AtomicBool,
    block_cache: Mutex<VecDeque<(u64, Arc<CachedBlock>)>>,
}

/// The notary. Cloning shares the same instance.
#[derive(Clone)]
pub struct Notary {
    inner: Arc<Inner>,
    sequencer: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl Notary {
    /// Opens the notary whose state lives in `dir` (created when missing), recovers the log
    /// from disk, checks it against its last checkpoint and starts the sequencer thread.
    pub fn open(dir: &Path, signer: NoteSigner, config: NotaryConfig) -> Result<Notary, Error> {
        if config.block_entries_max < BATCH_ENTRIES_MAX || config.block_interval_ms == 0 {
            return Err(Error::Config {
                reason: format!(
                    "blocks need an interval above 0 ms and room for a full batch of \
                     {BATCH_ENTRIES_MAX} entries"
                ),
            });
        }
        if signer.name() != config.origin {
            return Err(Error::Config {
                reason: format!(
                    "the checkpoint key is named {:?}, the origin is {:?}",
                    signer.name(),
                    config.origin
                ),
            });
        }
        let store = Store::open(dir)?;
        match store.meta("origin")? {
            Some(origin) if origin != config.origin => {
                return Err(Error::Config {
                    reason: format!(
                        "the data directory holds the log {origin:?}, not {:?}",
                        config.origin
                    ),
                })
            }
            Some(_) => {}
            None => {
                let empty = Checkpoint {
                    origin: config.origin.clone(),
                    size: 0,
                    root: crate::hash::empty_root(),
                };
                store.initialise(&config.origin, &signer.sign(&empty.to_text())?)?;
            }
        }
        let (state, index) = recover(&store, &signer.verifier())?;
        let inner = Arc::new(Inner {
            config,
            store,
            signer,
            state: RwLock::new(state),
            lookup: Lookup::new(index),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            failed: AtomicBool::new(false),
            block_cache: Mutex::new(VecDeque::new()),
        });
        let thread_error = |error: std::io::Error| Error::Config {
            reason: format!("cannot start the notary's threads: {error}"),
        };
        // The indexer takes sealed blocks from the sequencer and ends once the sequencer has.
        let (to_index, sealed) = mpsc::channel::<Arc<SealedBlock>>();
        let indexer = Arc::clone(&inner);
        let indexer = thread::Builder::new()
            .name("notary-indexer".into())
            .spawn(move || {
                for block in sealed {
                    indexer.lookup.index(&block);
                }
            })
            .map_err(thread_error)?;
        let sequencer = Arc::clone(&inner);
        let handle = thread::Builder::new()
            .name("notary-sequencer".into())
            .spawn(move || {
                sequencer.run(&to_index);
                drop(to_index);
                // A panicking indexer leaves receipt queries to scan `unindexed`: still right.
                let _ = indexer.join();
            })
            .map_err(thread_error)?;
        Ok(Notary {
            inner,
            sequencer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// The key that verifies this notary's checkpoints.
    pub fn verifier(&self) -> NoteVerifier {
        self.inner.signer.verifier()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.inner.config.origin
    }

    /// Entries waiting for a block.
    pub fn queue_entries(&self) -> usize {
        self.inner
            .queue
            .lock()
            .expect("queue lock is never poisoned")
            .entries
    }

    /// Whether the notary stopped after a storage failure (it accepts nothing then).
    pub fn failed(&self) -> bool {
        self.inner.failed.load(Ordering::Acquire)
    }

    /// Submits entries; resolves once their block and checkpoint are durable.
    /// Requires 1..=[`BATCH_ENTRIES_MAX`] entries (the HTTP edge checks it first).
    pub async fn submit(&self, entries: Vec<Digest>) -> Result<Submitted, Error> {
        if entries.is_empty() || entries.len() > BATCH_ENTRIES_MAX {
            return Err(Error::BatchSize {
                got: entries.len(),
                max: BATCH_ENTRIES_MAX,
            });
        }
        if self.inner.failed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        let leaves = leaf_hashes(&entries);
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = self
                .inner
                .queue
                .lock()
                .expect("queue lock is never poisoned");
            if queue.closed {
                return Err(Error::Stopped);
            }
            if queue.entries + entries.len() > QUEUE_ENTRIES_MAX {
                return Err(Error::Busy);
            }
            queue.entries += entries.len();
            queue.pending.push_back(Pending {
                entries,
                leaves,
                reply,
            });
            if queue.entries >= self.inner.config.block_entries_max || queue.pending.len() == 1 {
                self.inner.wake.notify_one();
            }
            // Off unless asked for (`notary::notary=trace`): a test waits on it.
            tracing::trace!(
                submissions = queue.pending.len(),
                entries = queue.entries,
                "waiting for a block"
            );
        }
        answer.await.unwrap_or(Err(Error::Stopped))
    }

    /// Stops accepting entries, seals what waits, and returns when the sequencer is done.
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

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self) -> String {
        self.read().latest_checkpoint.clone()
    }

    /// Number of blocks in the log.
    pub fn size(&self) -> u64 {
        self.read().log.size()
    }

    /// The signed checkpoint at `size` blocks.
    pub fn checkpoint(&self, size: u64) -> Result<String, Error> {
        let current = self.size();
        if size > current {
            return Err(Error::BeyondLog {
                size,
                log_size: current,
            });
        }
        self.inner
            .store
            .checkpoint(size)?
            .ok_or(Error::Corrupt("a checkpoint of the log is missing"))
    }

    /// The header of block `height`.
    pub fn block(&self, height: u64) -> Result<BlockHeader, Error> {
        let state = self.read();
        state
            .headers
            .get(height as usize)
            .copied()
            .ok_or(Error::UnknownBlock {
                height,
                log_size: state.log.size(),
            })
    }

    /// Up to `limit` headers from `from` on.
    pub fn blocks(&self, from: u64, limit: u64) -> Vec<BlockHeader> {
        let state = self.read();
        let start = (from as usize).min(state.headers.len());
        let end = start.saturating_add(limit.min(BLOCKS_PAGE_MAX) as usize);
        state.headers[start..end.min(state.headers.len())].to_vec()
    }

    /// The consistency proof from `from` to `to` blocks.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Digest>, Error> {
        let state = self.read();
        let size = state.log.size();
        if from > to {
            return Err(Error::SizesReversed { from, to });
        }
        if to > size {
            return Err(Error::BeyondLog {
                size: to,
                log_size: size,
            });
        }
        Ok(state.log.consistency_proof(from, to))
    }

    /// The tlog-proof of block `height` at the checkpoint of `size` blocks (the latest when
    /// `None`).
    pub fn log_proof(&self, height: u64, size: Option<u64>) -> Result<String, Error> {
        let (path, size, latest) = {
            let state = self.read();
            let log_size = state.log.size();
            let size = size.unwrap_or(log_size);
            if size > log_size {
                return Err(Error::BeyondLog { size, log_size });
            }
            if height >= size {
                return Err(Error::UnknownBlock {
                    height,
                    log_size: size,
                });
            }
            let latest = (size == log_size).then(|| state.latest_checkpoint.clone());
            (state.log.inclusion_proof(height, size), size, latest)
        };
        let checkpoint = match latest {
            Some(note) => note,
            None => self.checkpoint(size)?,
        };
        Ok(TlogProof {
            index: height,
            path,
            checkpoint,
        }
        .to_text())
    }

    /// Receipts for `entry`, one per time it was notarised, proven at the latest checkpoint.
    pub fn receipts(&self, entry: &Digest) -> Result<Vec<Receipt>, Error> {
        // Before the log state: a block enters the lookup only after the log holds it.
        let numbers = self.inner.lookup.candidates(entry, RECEIPTS_PER_ENTRY_MAX);
        let places: Vec<(BlockHeader, u64)> = {
            let state = self.read();
            numbers
                .into_iter()
                .map(|number| {
                    let height = state
                        .headers
                        .partition_point(|h| h.first_entry + h.entry_count <= number);
                    let header = *state
                        .headers
                        .get(height)
                        .expect("indexed entries are in stored blocks");
                    (header, number - header.first_entry)
                })
                .collect()
        };
        let mut receipts = Vec::with_capacity(places.len());
        for (header, index) in places {
            let block = self.cached_block(header.height)?;
            // The index is keyed by a prefix: confirm the whole digest.
            if block.entries.get(index as usize) != Some(entry) {
                continue;
            }
            receipts.push(Receipt {
                format: RECEIPT_FORMAT.to_owned(),
                entry: *entry,
                block: header,
                entry_index: index,
                entry_path: block.tree.inclusion_proof(index),
                log_proof: self.log_proof(header.height, None)?,
                salt: None,
                state: ReceiptState::Signed,
                anchor: None,
            });
        }
        Ok(receipts)
    }

    /// `receipt`, with its log proof moved to the checkpoint of `size` blocks (the latest when
    /// `None`). The receipt's block must be this log's block at that height.
    pub fn refresh(&self, receipt: &Receipt, size: Option<u64>) -> Result<Receipt, Error> {
        let header = self.block(receipt.block.height)?;
        if header != receipt.block {
            return Err(Error::ForeignBlock {
                height: header.height,
            });
        }
        // A new log proof names another checkpoint: an anchor proof made for the old one no
        // longer applies, so the refreshed receipt is `signed` until upgraded again.
        Ok(Receipt {
            log_proof: self.log_proof(header.height, size)?,
            state: ReceiptState::Signed,
            anchor: None,
            ..receipt.clone()
        })
    }

    fn cached_block(&self, height: u64) -> Result<Arc<CachedBlock>, Error> {
        {
            let cache = self
                .inner
                .block_cache
                .lock()
                .expect("cache lock is never poisoned");
            if let Some((_, block)) = cache.iter().find(|(h, _)| *h == height) {
                return Ok(Arc::clone(block));
            }
        }
        let entries = self
            .inner
            .store
            .block_entries(height)?
            .ok_or(Error::Corrupt("the entries of a block are missing"))?;
        let block = Arc::new(CachedBlock {
            tree: BlockTree::build(&entries),
            entries,
        });
        let mut cache = self
            .inner
            .block_cache
            .lock()
            .expect("cache lock is never poisoned");
        if cache.len() == BLOCK_CACHE_BLOCKS {
            cache.pop_front();
        }
        cache.push_back((height, Arc::clone(&block)));
        Ok(block)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, LogState> {
        self.inner
            .state
            .read()
            .expect("state lock is never poisoned")
    }
}

/// Rebuilds the in-memory log and entry index from the stored blocks and checks them: heights
/// contiguous, entry numbering contiguous, times monotonic, and the root equal to the last
/// checkpoint's.
fn recover(store: &Store, verifier: &NoteVerifier) -> Result<(LogState, EntryIndex), Error> {
    let mut log = LogTree::new();
    let mut headers: Vec<BlockHeader> = Vec::new();
    for header in store.headers() {
        let header = header?;
        let expected_first = headers
            .last()
            .map_or(0, |last| last.first_entry + last.entry_count);
        let monotonic = headers
            .last()
            .is_none_or(|last| last.time_ms <= header.time_ms);
        if header.height != headers.len() as u64
            || header.first_entry != expected_first
            || header.entry_count == 0
            || !monotonic
        {
            return Err(Error::Corrupt("stored block headers are not a chain"));
        }
        log.push(header.leaf_hash());
        headers.push(header);
    }
    let mut index = EntryIndex::new();
    let mut blocks_with_entries = 0u64;
    for item in store.all_entries() {
        let (height, entries) = item?;
        let header = headers
            .get(height as usize)
            .filter(|header| header.entry_count == entries.len() as u64)
            .ok_or(Error::Corrupt(
                "stored entries do not match their block header",
            ))?;
        for (offset, entry) in entries.iter().enumerate() {
            index.insert(entry, header.first_entry + offset as u64);
        }
        blocks_with_entries += 1;
    }
    if blocks_with_entries != headers.len() as u64 {
        return Err(Error::Corrupt("a stored block has no entries"));
    }
    let size = log.size();
    let note = store.checkpoint(size)?.ok_or(Error::Corrupt(
        "the checkpoint of the last block is missing",
    ))?;
    let checkpoint = open_checkpoint(&note, verifier)?;
    if checkpoint.size != size || checkpoint.root != log.root(size) {
        return Err(Error::Corrupt(
            "the last checkpoint does not match the stored blocks",
        ));
    }
    Ok((
        LogState {
            log,
            headers,
            latest_checkpoint: note,
        },
        index,
    ))
}

impl Inner {
    fn run(&self, to_index: &mpsc::Sender<Arc<SealedBlock>>) {
        let interval = Duration::from_millis(self.config.block_interval_ms);
        let mut last_seal = Instant::now() - interval;
        loop {
            let Some(batch) = self.next_batch(last_seal + interval) else {
                return;
            };
            last_seal = Instant::now();
            if let Err(error) = self.seal(batch, to_index) {
                tracing::error!(%error, "the notary stops: a block could not be stored");
                self.failed.store(true, Ordering::Release);
                let mut queue = self.queue.lock().expect("queue lock is never poisoned");
                queue.closed = true;
                for pending in queue.pending.drain(..) {
                    let _ = pending.reply.send(Err(Error::Stopped));
                }
                queue.entries = 0;
                return;
            }
        }
    }

    /// Waits for entries, then until `deadline` or a full block, and takes whole submissions
    /// up to the block size. `None` once closed and drained.
    fn next_batch(&self, deadline: Instant) -> Option<Vec<Pending>> {
        let mut queue = self.queue.lock().expect("queue lock is never poisoned");
        while queue.pending.is_empty() {
            if queue.closed {
                return None;
            }
            queue = self.wake.wait(queue).expect("queue lock is never poisoned");
        }
        loop {
            let now = Instant::now();
            if queue.closed || queue.entries >= self.config.block_entries_max || now >= deadline {
                break;
            }
            queue = self
                .wake
                .wait_timeout(queue, deadline - now)
                .expect("queue lock is never poisoned")
                .0;
        }
        let mut batch = Vec::new();
        let mut taken = 0;
        while let Some(next) = queue.pending.front() {
            if taken > 0 && taken + next.entries.len() > self.config.block_entries_max {
                break;
            }
            taken += next.entries.len();
            batch.push(queue.pending.pop_front().expect("front exists"));
        }
        queue.entries -= taken;
        Some(batch)
    }

    /// Builds the block, signs the next checkpoint, stores both durably, then updates the
    /// readers' view and answers the submitters.
    fn seal(
        &self,
        batch: Vec<Pending>,
        to_index: &mpsc::Sender<Arc<SealedBlock>>,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let entries: Vec<Digest> = batch
            .iter()
            .flat_map(|pending| pending.entries.iter().copied())
            .collect();
        let leaves: Vec<[u8; 32]> = batch
            .iter()
            .flat_map(|pending| pending.leaves.iter().copied())
            .collect();
        let tree = BlockTree::from_leaves(&leaves);
        drop(leaves);
        let built = started.elapsed();
        let (header, frontier) = {
            let state = self.state.read().expect("state lock is never poisoned");
            let last = state.headers.last();
            let size = state.log.size();
            let header = BlockHeader {
                height: size,
                time_ms: now_ms().max(last.map_or(0, |last| last.time_ms)),
                first_entry: last.map_or(0, |last| last.first_entry + last.entry_count),
                entry_count: entries.len() as u64,
                entries_root: tree.root(),
            };
            let frontier = Frontier::new(size, state.log.frontier(size))
                .expect("the log's frontier has one node per set bit");
            (header, frontier)
        };
        // The new leaf is the last one: its audit path is the old frontier, smallest first.
        let path: Vec<Digest> = frontier.nodes().iter().rev().copied().collect();
        let leaf = header.leaf_hash();
        let mut next = frontier;
        next.push(leaf);
        let checkpoint = Checkpoint {
            origin: self.config.origin.clone(),
            size: next.size(),
            root: next.root(),
        };
        let note = self.signer.sign(&checkpoint.to_text())?;
        let signed = started.elapsed();
        self.store.append_block(&header, &entries, &note)?;
        let stored = started.elapsed();
        {
            let mut state = self.state.write().expect("state lock is never poisoned");
            state.log.push(leaf);
            debug_assert_eq!(state.log.root(checkpoint.size), checkpoint.root);
            state.headers.push(header);
            state.latest_checkpoint.clone_from(&note);
        }
        let block = Arc::new(SealedBlock::new(
            header,
            tree,
            entries,
            TlogProof {
                index: header.height,
                path,
                checkpoint: note,
            }
            .to_text(),
        ));
        tracing::debug!(
            height = header.height,
            entries = header.entry_count,
            build_us = built.as_micros() as u64,
            sign_us = (signed - built).as_micros() as u64,
            store_us = (stored - signed).as_micros() as u64,
            "sealed a block"
        );
        self.lookup.push(Arc::clone(&block));
        let mut offset = 0;
        for pending in batch {
            let count = pending.entries.len() as u64;
            // A submitter that went away no longer needs its answer.
            let _ = pending.reply.send(Ok(Submitted {
                block: Arc::clone(&block),
                offset,
                count,
            }));
            offset += count;
        }
        tracing::debug!(
            height = header.height,
            answer_us = (started.elapsed() - stored).as_micros() as u64,
            "answered a block"
        );
        // Off the sequencer: growing the index can take tens of milliseconds when its shards
        // double, which would hold up the next block. The indexer ends only after us.
        // Were the indexer gone (a bug), queries would still find the block in `unindexed`.
        let _ = to_index.send(block);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> Digest {
        Digest::sha256(&n.to_le_bytes())
    }

    /// A sealed block of `entries` whose first entry has global number `first_entry`.
    fn sealed(height: u64, first_entry: u64, entries: Vec<Digest>) -> Arc<SealedBlock> {
        let tree = BlockTree::build(&entries);
        let header = BlockHeader {
            height,
            time_ms: 0,
            first_entry,
            entry_count: entries.len() as u64,
            entries_root: tree.root(),
        };
        Arc::new(SealedBlock::new(header, tree, entries, String::new()))
    }

    #[test]
    fn a_query_finds_entries_indexed_partly_indexed_and_not_yet_indexed() {
        // Block 0 (entries 0..3) is indexed; block 1 (3..7) half; block 2 (7..9) not at all.
        // Entry 1 was notarised again in blocks 1 and 2.
        let mut index = EntryIndex::new();
        for (number, n) in [0, 1, 2].into_iter().enumerate() {
            index.insert(&entry(n), number as u64);
        }
        let second = sealed(1, 3, vec![entry(3), entry(4), entry(1), entry(5)]);
        index.insert(&entry(3), 3);
        index.insert(&entry(4), 4);
        let third = sealed(2, 7, vec![entry(6), entry(1)]);
        // Entry 3 was indexed just now: the block still counts it as unindexed.
        let lookup = Lookup {
            index: RwLock::new(index),
            unindexed: RwLock::new(VecDeque::from([(second, 0), (third, 0)])),
        };
        assert_eq!(
            lookup.candidates(&entry(3), 10),
            vec![3],
            "in both, given once"
        );
        lookup.unindexed.write().unwrap()[0].1 = 2;
        assert_eq!(lookup.candidates(&entry(0), 10), vec![0]);
        assert_eq!(
            lookup.candidates(&entry(4), 10),
            vec![4],
            "indexed, not scanned again"
        );
        assert_eq!(lookup.candidates(&entry(5), 10), vec![6]);
        assert_eq!(lookup.candidates(&entry(6), 10), vec![7]);
        assert_eq!(
            lookup.candidates(&entry(1), 10),
            vec![1, 5, 8],
            "oldest first"
        );
        assert_eq!(lookup.candidates(&entry(1), 2), vec![1, 5]);
        assert!(lookup.candidates(&entry(99), 10).is_empty());
    }
}
