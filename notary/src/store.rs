//! The notary's storage, on `sled`. The only module that names the storage engine.
//!
//! One sled tree, keys prefixed by kind:
//! - `H` height(u64 BE) → encoded block header
//! - `E` height(u64 BE) chunk(u32 BE) → up to [`CHUNK_ENTRIES`] of the block's entries,
//!   concatenated 32-byte digests (stores of earlier versions have one `E` height record
//!   with all of them; both read the same)
//! - `C` size(u64 BE) → signed checkpoint note
//! - `M` name → metadata (origin)
//!
//! A block, its entries and its checkpoint are written in one atomic batch and made durable
//! with one flush (fsync) before anything is acknowledged. Where each entry is (the entry
//! index) is derived from the `E` records, in memory: see `index`.
//!
//! Every value stays small. sled 0.34 writes a message larger than a quarter of a segment
//! (512 KiB) to a file of its own under `blobs/`, and never fsyncs that file: `flush` makes
//! only its log durable. A leaf node holds up to 17 records before it splits, and a whole
//! leaf is rewritten as one message, so 17 records must fit in 128 KiB: a chunk is 128
//! entries, 4 KiB.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::block::BlockHeader;
use crate::hash::{Digest, DIGEST_BYTES};

const HEADER: u8 = b'H';
const ENTRIES: u8 = b'E';
const CHECKPOINT: u8 = b'C';
const META: u8 = b'M';

/// A storage failure. The notary stops accepting entries after one (fail-stop).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine failed (I/O, corruption it detected).
    #[error("storage engine: {0}")]
    Engine(#[from] sled::Error),
    /// Stored data does not have the shape this code writes.
    #[error("stored data is corrupt: {what}")]
    Corrupt {
        /// What was found wrong.
        what: String,
    },
}

/// The notary's durable state.
pub struct Store {
    db: sled::Db,
}

/// Most entries in one `E` record; see the module comment.
pub const CHUNK_ENTRIES: usize = 128;

fn entries_key(height: u64, chunk: u32) -> [u8; 13] {
    let mut out = [0u8; 13];
    out[..9].copy_from_slice(&key(ENTRIES, height));
    out[9..].copy_from_slice(&chunk.to_be_bytes());
    out
}

fn key(prefix: u8, number: u64) -> [u8; 9] {
    let mut out = [0u8; 9];
    out[0] = prefix;
    out[1..].copy_from_slice(&number.to_be_bytes());
    out
}

/// How long opening waits for a store lock held by a store just closed in this process.
pub const STORE_LOCK_WAIT_MS: u64 = 2_000;

/// Opens (or creates) a sled database in `dir` with a page cache of `cache_bytes`. A database
/// closed a moment ago in this process is still locked until sled's I/O threads finish with
/// it, so a held lock is retried for up to [`STORE_LOCK_WAIT_MS`] before it is reported.
pub fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, sled::Error> {
    let deadline = Instant::now() + Duration::from_millis(STORE_LOCK_WAIT_MS);
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            // Fewer rewrites of old segments, and no flusher thread of sled's own: every
            // user of this store flushes before it acknowledges, and a second flusher only
            // contends with that flush (a block's flush at p99 went from 25 to 17 ms).
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None)
            .open();
        match opened {
            Err(error) if is_lock_held(&error) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

/// sled reports a held lock only as an I/O error of kind `Other` with this text.
fn is_lock_held(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::Other
        && io.to_string().contains("could not acquire lock"))
}

/// Appends an `E` record's digests to `out`. `None` when its length is not a multiple of 32.
fn append_entries(out: &mut Vec<Digest>, value: &[u8]) -> Option<()> {
    if !value.len().is_multiple_of(DIGEST_BYTES) {
        return None;
    }
    out.extend(
        value
            .chunks_exact(DIGEST_BYTES)
            .map(|chunk| Digest::from_slice(chunk).expect("chunks are 32 bytes")),
    );
    Some(())
}

/// The `E` records in key order, gathered into one item per block.
struct BlockEntries {
    records: sled::Iter,
    /// A record read ahead: the first of the next block.
    next: Option<(u64, Vec<Digest>)>,
}

impl BlockEntries {
    /// The next record as (height, its digests).
    fn record(&mut self) -> Option<Result<(u64, Vec<Digest>), StoreError>> {
        let item = self.records.next()?;
        Some(item.map_err(StoreError::from).and_then(|(k, value)| {
            let corrupt = || StoreError::Corrupt {
                what: format!("entries under key {}", hex::encode(&k)),
            };
            // `E` height, or `E` height chunk.
            if k.len() != 9 && k.len() != 13 {
                return Err(corrupt());
            }
            let height: [u8; 8] = k[1..9].try_into().map_err(|_| corrupt())?;
            let mut entries = Vec::with_capacity(value.len() / DIGEST_BYTES);
            append_entries(&mut entries, &value).ok_or_else(corrupt)?;
            Ok((u64::from_be_bytes(height), entries))
        }))
    }
}

impl Iterator for BlockEntries {
    type Item = Result<(u64, Vec<Digest>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (height, mut entries) = match self.next.take() {
            Some(block) => block,
            None => match self.record()? {
                Ok(block) => block,
                Err(error) => return Some(Err(error)),
            },
        };
        loop {
            match self.record() {
                None => break,
                Some(Err(error)) => return Some(Err(error)),
                Some(Ok((next_height, more))) if next_height == height => {
                    entries.extend(more);
                }
                Some(Ok(next)) => {
                    self.next = Some(next);
                    break;
                }
            }
        }
        Some(Ok((height, entries)))
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`; see [`open_db`].
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            db: open_db(dir, 256 * 1024 * 1024)?,
        })
    }

    /// A metadata value.
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut k = vec![META];
        k.extend_from_slice(name.as_bytes());
        match self.db.get(k)? {
            None => Ok(None),
            Some(value) => {
                String::from_utf8(value.to_vec())
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt {
                        what: format!("metadata {name} is not UTF-8"),
                    })
            }
        }
    }

    /// Sets a metadata value and an initial checkpoint, durably.
    pub fn initialise(&self, origin: &str, empty_checkpoint: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut k = vec![META];
        k.extend_from_slice(b"origin");
        batch.insert(k, origin.as_bytes());
        batch.insert(&key(CHECKPOINT, 0)[..], empty_checkpoint.as_bytes());
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Writes a block, its entries and the checkpoint that follows it, in one batch, and
    /// returns once it is on disk.
    pub fn append_block(
        &self,
        header: &BlockHeader,
        entries: &[Digest],
        checkpoint: &str,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(entries.len() as u64, header.entry_count);
        let mut batch = sled::Batch::default();
        batch.insert(&key(HEADER, header.height)[..], &header.encode()[..]);
        for (chunk, entries) in entries.chunks(CHUNK_ENTRIES).enumerate() {
            let mut concatenated = Vec::with_capacity(entries.len() * DIGEST_BYTES);
            for entry in entries {
                concatenated.extend_from_slice(entry.as_bytes());
            }
            let chunk = u32::try_from(chunk).expect("a block has fewer than 2^32 chunks");
            batch.insert(&entries_key(header.height, chunk)[..], concatenated);
        }
        batch.insert(
            &key(CHECKPOINT, header.height + 1)[..],
            checkpoint.as_bytes(),
        );
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Every block header, in height order.
    pub fn headers(&self) -> impl Iterator<Item = Result<BlockHeader, StoreError>> + '_ {
        self.db.scan_prefix([HEADER]).map(|item| {
            let (k, value) = item?;
            BlockHeader::decode(&value).ok_or_else(|| StoreError::Corrupt {
                what: format!("block header under key {}", hex::encode(&k)),
            })
        })
    }

    /// The entries of block `height`.
    pub fn block_entries(&self, height: u64) -> Result<Option<Vec<Digest>>, StoreError> {
        let mut entries = Vec::new();
        let mut found = false;
        for item in self.db.scan_prefix(key(ENTRIES, height)) {
            let (_, value) = item?;
            found = true;
            append_entries(&mut entries, &value).ok_or_else(|| StoreError::Corrupt {
                what: format!("entries of block {height}"),
            })?;
        }
        Ok(found.then_some(entries))
    }

    /// The entries of every block, in height order.
    pub fn all_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<Digest>), StoreError>> + '_ {
        BlockEntries {
            records: self.db.scan_prefix([ENTRIES]),
            next: None,
        }
    }

    /// The signed checkpoint of the log at `size` blocks.
    pub fn checkpoint(&self, size: u64) -> Result<Option<String>, StoreError> {
        match self.db.get(key(CHECKPOINT, size))? {
            None => Ok(None),
            Some(value) => {
                String::from_utf8(value.to_vec())
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt {
                        what: format!("checkpoint {size} is not UTF-8"),
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_round_trips_across_reopen() {
        let dir = std::env::temp_dir().join(format!("sigillo-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let entries = vec![Digest::sha256(b"a"), Digest::sha256(b"b")];
        let header = BlockHeader {
            height: 0,
            time_ms: 10,
            first_entry: 0,
            entry_count: 2,
            entries_root: Digest::sha256(b"root"),
        };
        {
            let store = Store::open(&dir).unwrap();
            store.initialise("origin", "empty\n").unwrap();
            store.append_block(&header, &entries, "one\n").unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.meta("origin").unwrap().as_deref(), Some("origin"));
        let headers: Vec<_> = store.headers().map(Result::unwrap).collect();
        assert_eq!(headers, vec![header]);
        assert_eq!(store.block_entries(0).unwrap(), Some(entries.clone()));
        assert_eq!(store.block_entries(1).unwrap(), None);
        let all: Vec<_> = store.all_entries().map(Result::unwrap).collect();
        assert_eq!(all, vec![(0, entries.clone())]);
        assert_eq!(store.checkpoint(1).unwrap().as_deref(), Some("one\n"));
        assert_eq!(store.checkpoint(0).unwrap().as_deref(), Some("empty\n"));
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn header(height: u64, first_entry: u64, entries: &[Digest]) -> BlockHeader {
        BlockHeader {
            height,
            time_ms: 10 + height,
            first_entry,
            entry_count: entries.len() as u64,
            entries_root: Digest::sha256(&height.to_be_bytes()),
        }
    }

    fn digests(seed: u64, count: usize) -> Vec<Digest> {
        (0..count as u64)
            .map(|i| Digest::sha256(&[seed.to_be_bytes(), i.to_be_bytes()].concat()))
            .collect()
    }

    /// Files under sled's `blobs/`: values it writes outside its log and never fsyncs.
    fn blob_files(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("blobs")).map_or(0, |files| files.count())
    }

    #[test]
    fn full_blocks_stay_in_the_fsynced_log_and_read_back_in_order() {
        let dir = std::env::temp_dir().join(format!("sigillo-store-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A full block, one that ends mid-chunk, and a one-entry block.
        let blocks = [
            digests(0, crate::notary::BLOCK_ENTRIES_MAX),
            digests(1, 3 * CHUNK_ENTRIES + 5),
            digests(2, 1),
        ];
        {
            let store = Store::open(&dir).unwrap();
            store.initialise("origin", "empty\n").unwrap();
            let mut first = 0;
            for (height, entries) in blocks.iter().enumerate() {
                let header = header(height as u64, first, entries);
                store.append_block(&header, entries, "note\n").unwrap();
                first += entries.len() as u64;
            }
        }
        assert_eq!(blob_files(&dir), 0, "sled wrote an unsynced blob file");
        let store = Store::open(&dir).unwrap();
        for (height, entries) in blocks.iter().enumerate() {
            assert_eq!(
                store.block_entries(height as u64).unwrap().as_ref(),
                Some(entries)
            );
        }
        let all: Vec<_> = store.all_entries().map(Result::unwrap).collect();
        let expected: Vec<_> = blocks
            .iter()
            .cloned()
            .enumerate()
            .map(|(h, e)| (h as u64, e))
            .collect();
        assert_eq!(all, expected);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_store_of_an_earlier_version_with_one_record_per_block_still_reads() {
        let dir = std::env::temp_dir().join(format!("sigillo-store-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let old = digests(7, 300);
        let new = digests(8, 200);
        {
            let store = Store::open(&dir).unwrap();
            store.initialise("origin", "empty\n").unwrap();
            // What `append_block` wrote before entries were chunked.
            let concatenated: Vec<u8> = old.iter().flat_map(|d| *d.as_bytes()).collect();
            store
                .db
                .insert(key(HEADER, 0), &header(0, 0, &old).encode()[..])
                .unwrap();
            store.db.insert(key(ENTRIES, 0), concatenated).unwrap();
            store.db.insert(key(CHECKPOINT, 1), &b"note\n"[..]).unwrap();
            store
                .append_block(&header(1, 300, &new), &new, "note\n")
                .unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.block_entries(0).unwrap(), Some(old.clone()));
        assert_eq!(store.block_entries(1).unwrap(), Some(new.clone()));
        let all: Vec<_> = store.all_entries().map(Result::unwrap).collect();
        assert_eq!(all, vec![(0, old), (1, new)]);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_record_of_the_wrong_length_is_reported_corrupt() {
        let dir = std::env::temp_dir().join(format!("sigillo-store-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        store.db.insert(entries_key(0, 0), &[0u8; 33][..]).unwrap();
        assert!(matches!(
            store.block_entries(0),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.all_entries().next(),
            Some(Err(StoreError::Corrupt { .. }))
        ));
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
