//! Where each entry was notarised: digest → global entry numbers.
//!
//! The index is derived data: every block's entries are stored durably, so the index lives in
//! memory, is rebuilt from the store at start, and is kept off the durable write path (a
//! per-entry key in sled costs about 20 µs; a hash map insert, about 50 ns). Keys are the first
//! 8 bytes of the digest, so a lookup returns candidates that the caller confirms against the
//! stored block. Memory is about 20 bytes per entry.
//!
//! The map is split in [`INDEX_SHARDS`] shards by the digest's first byte, so that when a shard
//! grows and rehashes, the sequencer pauses for 1/256 of the index, not all of it (a single
//! map of millions of entries stalls a block by tens of milliseconds when it doubles).

use std::collections::HashMap;

use crate::hash::Digest;

/// Shards of the index, one per value of the digest's first byte.
pub const INDEX_SHARDS: usize = 256;

/// Digest prefix → global entry numbers.
pub struct EntryIndex {
    shards: Vec<Shard>,
}

#[derive(Default)]
struct Shard {
    /// Prefixes seen once: the common case, kept compact.
    once: HashMap<u64, u64>,
    /// Prefixes seen more than once (a digest notarised again, or a prefix collision).
    more: HashMap<u64, Vec<u64>>,
}

impl Default for EntryIndex {
    fn default() -> EntryIndex {
        EntryIndex {
            shards: (0..INDEX_SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

fn prefix(entry: &Digest) -> u64 {
    let bytes = entry.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

impl EntryIndex {
    /// An empty index.
    pub fn new() -> EntryIndex {
        EntryIndex::default()
    }

    fn shard(&self, entry: &Digest) -> &Shard {
        &self.shards[usize::from(entry.as_bytes()[0])]
    }

    /// Records that `entry` has global number `number`.
    pub fn insert(&mut self, entry: &Digest, number: u64) {
        let key = prefix(entry);
        let shard = &mut self.shards[usize::from(entry.as_bytes()[0])];
        if let Some(numbers) = shard.more.get_mut(&key) {
            numbers.push(number);
            return;
        }
        if let Some(first) = shard.once.remove(&key) {
            shard.more.insert(key, vec![first, number]);
            return;
        }
        shard.once.insert(key, number);
    }

    /// Numbers of the entries whose digest shares `entry`'s prefix, oldest first, at most
    /// `limit`. The caller confirms each against the stored entry.
    pub fn candidates(&self, entry: &Digest, limit: usize) -> Vec<u64> {
        let key = prefix(entry);
        let shard = self.shard(entry);
        if let Some(number) = shard.once.get(&key) {
            return vec![*number];
        }
        shard
            .more
            .get(&key)
            .map(|numbers| numbers.iter().take(limit).copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_colliding_prefixes_keep_every_number() {
        let mut index = EntryIndex::new();
        let a = Digest::sha256(b"a");
        let mut twin = *a.as_bytes();
        twin[31] ^= 1; // same 8-byte prefix, another digest
        let twin = Digest::from_bytes(twin);
        index.insert(&a, 0);
        assert_eq!(index.candidates(&a, 10), vec![0]);
        index.insert(&twin, 1);
        index.insert(&a, 2);
        assert_eq!(index.candidates(&a, 10), vec![0, 1, 2]);
        assert_eq!(index.candidates(&twin, 2), vec![0, 1]);
        assert!(index.candidates(&Digest::sha256(b"b"), 10).is_empty());
    }
}
