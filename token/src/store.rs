//! The ledger's storage, on `sled`. The only module of this crate that names the engine.
//!
//! - tree `journal`: index (u64 BE) → [`Entry::encode_value`]
//! - tree `stamps`: journal length (u64 BE) → [`Stamp`] JSON
//! - default tree: `genesis` → [`Genesis`] JSON
//!
//! A group of batches is written in one atomic sled batch and made durable with one flush
//! (fsync) before any of it is acknowledged.

use std::path::Path;

use crate::journal::{Entry, Genesis, Stamp};

/// A storage failure. The ledger stops accepting operations after one (fail-stop).
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

/// The ledger's durable state.
pub struct Store {
    db: sled::Db,
    journal: sled::Tree,
    stamps: sled::Tree,
}

const GENESIS: &[u8] = b"genesis";

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = notary::store::open_db(dir, 128 * 1024 * 1024)?;
        let journal = db.open_tree("journal")?;
        let stamps = db.open_tree("stamps")?;
        Ok(Store {
            db,
            journal,
            stamps,
        })
    }

    /// The genesis record, if the ledger was created.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        match self.db.get(GENESIS)? {
            None => Ok(None),
            Some(value) => {
                serde_json::from_slice(&value)
                    .map(Some)
                    .map_err(|error| StoreError::Corrupt {
                        what: format!("genesis: {error}"),
                    })
            }
        }
    }

    /// Records the genesis durably. Requires that there is none yet.
    pub fn create(&self, genesis: &Genesis) -> Result<(), StoreError> {
        let value = serde_json::to_vec(genesis).expect("genesis serialises");
        self.db.insert(GENESIS, value)?;
        self.db.flush()?;
        Ok(())
    }

    /// Appends entries in one atomic batch and returns once they are on disk.
    pub fn append(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in entries {
            batch.insert(&entry.index.to_be_bytes()[..], entry.encode_value());
        }
        self.journal.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Entries from `from`, in order.
    pub fn entries(&self, from: u64) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.journal
            .range(from.to_be_bytes()..)
            .map(|item| decode_entry(item?))
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Entry>, StoreError> {
        match self.journal.get(index.to_be_bytes())? {
            None => Ok(None),
            Some(value) => {
                decode_entry((sled::IVec::from(&index.to_be_bytes()[..]), value)).map(Some)
            }
        }
    }

    /// Records a notarised head durably.
    pub fn put_stamp(&self, stamp: &Stamp) -> Result<(), StoreError> {
        let value = serde_json::to_vec(stamp).expect("a stamp serialises");
        self.stamps.insert(stamp.length.to_be_bytes(), value)?;
        self.db.flush()?;
        Ok(())
    }

    /// Notarised heads from journal length `from`, in order.
    pub fn stamps(&self, from: u64) -> impl Iterator<Item = Result<Stamp, StoreError>> + '_ {
        self.stamps.range(from.to_be_bytes()..).map(|item| {
            let (_, value) = item?;
            serde_json::from_slice(&value).map_err(|error| StoreError::Corrupt {
                what: format!("stamp: {error}"),
            })
        })
    }

    /// The latest notarised head.
    pub fn last_stamp(&self) -> Result<Option<Stamp>, StoreError> {
        match self.stamps.last()? {
            None => Ok(None),
            Some((_, value)) => {
                serde_json::from_slice(&value)
                    .map(Some)
                    .map_err(|error| StoreError::Corrupt {
                        what: format!("stamp: {error}"),
                    })
            }
        }
    }
}

fn decode_entry((key, value): (sled::IVec, sled::IVec)) -> Result<Entry, StoreError> {
    let index: [u8; 8] = key.as_ref().try_into().map_err(|_| StoreError::Corrupt {
        what: "a journal key is not 8 bytes".into(),
    })?;
    let index = u64::from_be_bytes(index);
    Entry::decode_value(index, &value).map_err(|error| StoreError::Corrupt {
        what: format!("journal entry {index}: {error}"),
    })
}
