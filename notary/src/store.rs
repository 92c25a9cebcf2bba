//! The notary's storage, on `sled`. The only module that names the storage engine.
//!
//! One sled tree, keys prefixed by kind:
//! - `H` height(u64 BE) → encoded block header
//! - `E` height(u64 BE) → the block's entries, concatenated 32-byte digests
//! - `C` size(u64 BE) → signed checkpoint note
//! - `M` name → metadata (origin)
//!
//! A block, its entries and its checkpoint are written in one atomic batch and made durable
//! with one flush (fsync) before anything is acknowledged. Where each entry is (the entry
//! index) is derived from the `E` records, in memory: see `index`.

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

/// An `E` record: concatenated 32-byte digests. `None` when the length is not a multiple.
fn decode_entries(value: &[u8]) -> Option<Vec<Digest>> {
    if !value.len().is_multiple_of(DIGEST_BYTES) {
        return None;
    }
    let entries = value
        .chunks_exact(DIGEST_BYTES)
        .map(|chunk| Digest::from_slice(chunk).expect("chunks are 32 bytes"))
        .collect();
    Some(entries)
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
        let mut concatenated = Vec::with_capacity(entries.len() * DIGEST_BYTES);
        for entry in entries {
            concatenated.extend_from_slice(entry.as_bytes());
        }
        batch.insert(&key(ENTRIES, header.height)[..], concatenated);
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
        let Some(value) = self.db.get(key(ENTRIES, height))? else {
            return Ok(None);
        };
        decode_entries(&value)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("entries of block {height}"),
            })
    }

    /// The entries of every block, in height order.
    pub fn all_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<Digest>), StoreError>> + '_ {
        self.db.scan_prefix([ENTRIES]).map(|item| {
            let (k, value) = item?;
            let corrupt = || StoreError::Corrupt {
                what: format!("entries under key {}", hex::encode(&k)),
            };
            let height: [u8; 8] = k
                .get(1..)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(corrupt)?;
            let entries = decode_entries(&value).ok_or_else(corrupt)?;
            Ok((u64::from_be_bytes(height), entries))
        })
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
}
