//! The eligibility store: sled under `DATA/eligibility/db`, with one tree per kind of record.
//! Decisions and their evidence are written together and flushed before a decision is
//! answered; receipts arrive later, when the notary's block is durable.

use std::path::Path;

use serde_json::Value;

/// A store error (sled's, or a record that no longer parses).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record is not the JSON it was written as, or the flush failed.
    #[error("storage: {0}")]
    Corrupt(String),
}

/// The kinds of record.
#[derive(Debug, Clone, Copy)]
pub enum Tree {
    /// Decision id → the decision's record (JSON).
    Decisions,
    /// Decision id → the evidence, RFC 8785 bytes, exactly as hashed and stamped.
    Evidence,
    /// Decision id → the notary receipt of the evidence.
    Receipts,
    /// Decision id → `{}` while it waits for an operator.
    Reviews,
    /// Decision id → the operator's review record, RFC 8785 bytes as stamped.
    ReviewRecords,
    /// Decision id → the notary receipt of the review.
    ReviewReceipts,
}

impl Tree {
    fn name(self) -> &'static str {
        match self {
            Tree::Decisions => "decisions",
            Tree::Evidence => "evidence",
            Tree::Receipts => "receipts",
            Tree::Reviews => "reviews",
            Tree::ReviewRecords => "review-records",
            Tree::ReviewReceipts => "review-receipts",
        }
    }
}

type FlushReply = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    flushes: std::sync::mpsc::Sender<FlushReply>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, and starts its flusher thread.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let (flushes, requests) = std::sync::mpsc::channel::<FlushReply>();
        let flusher = db.clone();
        std::thread::Builder::new()
            .name("eligibility-flush".into())
            .spawn(move || {
                // Group commit: every request that arrived while the last flush ran is
                // answered by the next one, so concurrent decisions share one fsync.
                while let Ok(first) = requests.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(requests.try_iter());
                    let result = flusher.flush().map(|_| ()).map_err(|e| e.to_string());
                    for reply in waiting {
                        let _ = reply.send(result.clone());
                    }
                }
            })
            .map_err(|error| StoreError::Corrupt(format!("starting the flusher: {error}")))?;
        Ok(Store { db, flushes })
    }

    fn tree(&self, tree: Tree) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(tree.name())?)
    }

    /// Writes raw bytes (not yet flushed).
    pub fn put(&self, tree: Tree, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tree(tree)?.insert(key.as_bytes(), value)?;
        Ok(())
    }

    /// Writes a JSON record (not yet flushed).
    pub fn put_json(&self, tree: Tree, key: &str, value: &Value) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).expect("a JSON value serialises");
        self.put(tree, key, &bytes)
    }

    /// Raw bytes.
    pub fn get(&self, tree: Tree, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(tree)?.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// A JSON record.
    pub fn get_json(&self, tree: Tree, key: &str) -> Result<Option<Value>, StoreError> {
        match self.get(tree, key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| StoreError::Corrupt(error.to_string())),
            None => Ok(None),
        }
    }

    /// Removes a record (not yet flushed).
    pub fn remove(&self, tree: Tree, key: &str) -> Result<(), StoreError> {
        self.tree(tree)?.remove(key.as_bytes())?;
        Ok(())
    }

    /// The keys of a tree, in order, from `after` (exclusive), at most `limit`.
    pub fn keys(
        &self,
        tree: Tree,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let tree = self.tree(tree)?;
        let range = match after {
            Some(after) => tree.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => tree.iter(),
        };
        range
            .keys()
            .take(limit)
            .map(|key| {
                let key = key?;
                Ok(String::from_utf8_lossy(&key).into_owned())
            })
            .collect()
    }

    /// Makes every write so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Corrupt("the flusher thread stopped".into());
        self.flushes.send(reply).map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Corrupt)
    }
}
