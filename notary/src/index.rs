//! Where each entry was notarised: digest → global entry numbers.
//!
//! The index is derived data: every block's entries are stored durably, so the index lives in
//! memory, is rebuilt from the store at start, and is kept off the durable write path (a
//! per-entry key in sled costs about 20 µs; a hash map insert, about 50 ns). Keys are the first
//! 8 bytes of the digest, so a lookup returns candidates that the caller confirms against the
//! stored block. Memory is about 20 bytes per entry.
//!
//! The map is split in [`INDEX_SHARDS`] shards by the digest's first byte, so that a shard
//! that grows and rehashes copies 1/256 of the index, not all of it (a single map of millions
//! of entries doubling takes a core for tens of milliseconds). Digests spread evenly, so the
//! shards fill alike: each one doubles at its own load factor, between 1/2 and 1 of its
//! capacity, or else all would double in the same block.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::hash::Digest;

/// Shards of the index, one per value of the digest's first byte.
pub const INDEX_SHARDS: usize = 256;
/// Below this capacity a shard grows as the map decides: copying it costs nothing.
const SPREAD_FROM_CAPACITY: usize = 1_024;

/// Digest prefix → global entry numbers.
pub struct EntryIndex {
    shards: Vec<Shard>,
}

struct Shard {
    /// Prefixes seen once: the common case, kept compact.
    once: HashMap<u64, u64>,
    /// Prefixes seen more than once (a digest notarised again, or a prefix collision).
    more: HashMap<u64, Vec<u64>>,
    /// `once` doubles when this many thousandths of its capacity are used.
    grow_permille: usize,
}

impl Default for EntryIndex {
    fn default() -> EntryIndex {
        EntryIndex {
            shards: (0..INDEX_SHARDS)
                .map(|shard| Shard {
                    once: HashMap::new(),
                    more: HashMap::new(),
                    grow_permille: 500 + 500 * shard / INDEX_SHARDS,
                })
                .collect(),
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
        let capacity = shard.once.capacity();
        if capacity >= SPREAD_FROM_CAPACITY
            && shard.once.len() * 1_000 >= capacity * shard.grow_permille
        {
            // Asking for one more than the capacity doubles the table.
            shard.once.reserve(capacity - shard.once.len() + 1);
        }
        match shard.once.entry(key) {
            Entry::Occupied(first) => {
                let first = first.remove();
                shard.more.insert(key, vec![first, number]);
            }
            Entry::Vacant(slot) => {
                slot.insert(number);
            }
        }
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

    #[test]
    fn shards_double_at_different_sizes_and_keep_every_entry() {
        let mut index = EntryIndex::new();
        let entries: Vec<Digest> = (0u32..640_000)
            .map(|n| Digest::sha256(&n.to_le_bytes()))
            .collect();
        for (number, entry) in entries.iter().enumerate() {
            index.insert(entry, number as u64);
        }
        // Some 2,500 entries a shard: past 1/2 of the next size up for some shards, not for
        // others, so both sizes are there; a single shared load factor would give one.
        let mut capacities: Vec<usize> = index.shards.iter().map(|s| s.once.capacity()).collect();
        capacities.sort_unstable();
        capacities.dedup();
        assert!(capacities.len() >= 2, "capacities {capacities:?}");
        for (number, entry) in entries.iter().enumerate().step_by(997) {
            assert_eq!(index.candidates(entry, 10), vec![number as u64]);
        }
    }
}
