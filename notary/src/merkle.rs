//! RFC 6962 / RFC 9162 Merkle trees: the tree of a block's entries (built with `rs_merkle`),
//! the append-only log of block headers, and the verification of inclusion and consistency
//! proofs.
//!
//! `rs_merkle` has no consistency proofs, so [`LogTree::consistency_proof`] follows RFC 9162
//! section 2.1.4.1 and [`verify_consistency`] section 2.1.4.2, step by step.

use rs_merkle::PartialTree;

use crate::hash::{empty_root, node_hash, Digest, Rfc6962Hasher};

/// The longest proof accepted: a tree of 2^64 leaves has 64 levels.
pub const PROOF_HASHES_MAX: usize = 64;

/// Why a Merkle proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("proof has {got} hashes, want {want}")]
    WrongProofSize {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
    },
    /// The recomputed root differs from the expected one.
    #[error("recomputed root {computed} does not match {expected}")]
    RootMismatch {
        /// Root recomputed from the proof.
        computed: Digest,
        /// Root the proof should lead to.
        expected: Digest,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("tree size {from} is larger than {to}")]
    SizesReversed {
        /// The older size.
        from: u64,
        /// The newer size.
        to: u64,
    },
}

/// The number of hashes in an inclusion proof for `index` in a tree of `size` leaves.
/// Requires `index < size`. Follows the recursion of RFC 9162 section 2.1.3.1 on sizes alone.
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    debug_assert!(index < size);
    let (mut index, mut width, mut count) = (index, size, 0);
    while width > 1 {
        let split = largest_power_of_two_below(width);
        if index < split {
            width = split;
        } else {
            index -= split;
            width -= split;
        }
        count += 1;
    }
    count
}

/// Verifies an RFC 9162 inclusion proof (section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest,
    path: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if path.len() != want {
        return Err(ProofError::WrongProofSize {
            got: path.len(),
            want,
        });
    }
    let computed = root_from_inclusion_proof(index, size, leaf, path);
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// The root an inclusion proof leads to. Requires `index < size` and a path of the right
/// length ([`inclusion_proof_len`]).
pub fn root_from_inclusion_proof(index: u64, size: u64, leaf: &Digest, path: &[Digest]) -> Digest {
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    for p in path {
        debug_assert!(sn != 0, "path length was checked");
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    r
}

/// Verifies an RFC 9162 consistency proof (section 2.1.4.2) between a tree of `from` leaves
/// with root `from_root` and a tree of `to` leaves with root `to_root`.
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Digest],
    from_root: &Digest,
    to_root: &Digest,
) -> Result<(), ProofError> {
    if from > to {
        return Err(ProofError::SizesReversed { from, to });
    }
    if from == to || from == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofSize {
                got: proof.len(),
                want: 0,
            });
        }
        let expected = if from == 0 { empty_root() } else { *to_root };
        if *from_root != expected {
            return Err(ProofError::RootMismatch {
                computed: *from_root,
                expected,
            });
        }
        return Ok(());
    }
    let want = consistency_proof_len(from, to);
    if proof.len() != want {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want,
        });
    }
    // Step 2: when `from` is a power of two, its root is the first node of the path.
    let mut path: Vec<Digest> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*from_root);
    }
    path.extend_from_slice(proof);

    let mut fn_ = from - 1;
    let mut sn = to - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongProofSize {
                got: proof.len(),
                want,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr != *from_root {
        return Err(ProofError::RootMismatch {
            computed: fr,
            expected: *from_root,
        });
    }
    if sr != *to_root || sn != 0 {
        return Err(ProofError::RootMismatch {
            computed: sr,
            expected: *to_root,
        });
    }
    Ok(())
}

/// The number of hashes in a consistency proof from `from` to `to` leaves.
/// Requires `0 < from < to`. Follows SUBPROOF of RFC 9162 section 2.1.4.1 on sizes alone.
pub fn consistency_proof_len(from: u64, to: u64) -> usize {
    debug_assert!(0 < from && from < to);
    let (mut m, mut width, mut whole, mut count) = (from, to, true, 0);
    while m != width {
        let split = largest_power_of_two_below(width);
        if m <= split {
            width = split;
        } else {
            m -= split;
            width -= split;
            whole = false;
        }
        count += 1;
    }
    count + usize::from(!whole)
}

/// The entries' RFC 6962 leaf hashes, SHA-256(0x00 || entry): the leaves of a block tree.
pub fn leaf_hashes(entries: &[Digest]) -> Vec<[u8; 32]> {
    entries
        .iter()
        .map(|entry| *crate::hash::leaf_hash(entry.as_bytes()).as_bytes())
        .collect()
}

/// The Merkle tree of one block's entries, built with `rs_merkle`.
pub struct BlockTree {
    /// `layers[0]` are the leaf hashes; the last layer is the root alone.
    layers: Vec<Vec<[u8; 32]>>,
}

impl BlockTree {
    /// Builds the tree over the entries' RFC 6962 leaf hashes.
    /// Requires at least one entry: the notary never makes an empty block.
    pub fn build(entries: &[Digest]) -> BlockTree {
        BlockTree::from_leaves(&leaf_hashes(entries))
    }

    /// Builds the tree over leaf hashes already computed with [`leaf_hashes`].
    /// Requires at least one leaf.
    pub fn from_leaves(leaves: &[[u8; 32]]) -> BlockTree {
        assert!(!leaves.is_empty(), "a block holds at least one entry");
        let tree = PartialTree::<Rfc6962Hasher>::from_leaves(leaves)
            .expect("a full set of leaves needs no helper nodes");
        let layers = tree
            .layers()
            .iter()
            .map(|layer| layer.iter().map(|(_, hash)| *hash).collect())
            .collect();
        BlockTree { layers }
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.layers[0].len() as u64
    }

    /// Always false: blocks are never empty.
    pub fn is_empty(&self) -> bool {
        self.layers[0].is_empty()
    }

    /// The RFC 6962 Merkle tree hash of the entries.
    pub fn root(&self) -> Digest {
        let top = self
            .layers
            .last()
            .expect("a tree has at least the leaf layer");
        Digest::from_bytes(top[0])
    }

    /// The audit path of entry `index`, from the leaf's sibling up. Requires `index < len`.
    pub fn inclusion_proof(&self, index: u64) -> Vec<Digest> {
        self.inclusion_path(index).collect()
    }

    /// The audit path of entry `index`, without allocating. Requires `index < len`.
    pub fn inclusion_path(&self, index: u64) -> impl Iterator<Item = Digest> + '_ {
        self.inclusion_nodes(index)
            .map(|(layer, position)| Digest::from_bytes(self.layers[layer][position]))
    }

    /// Where the hashes of entry `index`'s audit path are: (layer, position in the layer),
    /// from the leaf's sibling up. Requires `index < len`.
    pub fn inclusion_nodes(&self, index: u64) -> impl Iterator<Item = (usize, usize)> + '_ {
        assert!(index < self.len(), "entry index inside the block");
        let levels = &self.layers[..self.layers.len() - 1];
        levels.iter().enumerate().filter_map(move |(level, layer)| {
            // rs_merkle promotes a lone last node, so a missing sibling adds no hash.
            let sibling = ((index as usize) >> level) ^ 1;
            (sibling < layer.len()).then_some((level, sibling))
        })
    }

    /// Every layer below the root in lower-case hex, [`HEX_DIGITS`] per hash, indexed as
    /// [`BlockTree::inclusion_nodes`] names them: a block's submitters share most of their
    /// paths' hashes, so encoding each once is cheaper than once per path.
    pub fn hex_layers(&self) -> Vec<Vec<u8>> {
        let levels = &self.layers[..self.layers.len() - 1];
        levels
            .iter()
            .map(|layer| {
                let bytes = layer.as_flattened();
                let mut hex = vec![0; 2 * bytes.len()];
                const_hex::encode_to_slice(bytes, &mut hex)
                    .expect("the buffer holds twice the bytes");
                hex
            })
            .collect()
    }
}

/// Hex digits of one hash.
pub const HEX_DIGITS: usize = 2 * crate::hash::DIGEST_BYTES;

/// The append-only log of block headers, in memory: every complete subtree's hash, so that
/// roots, inclusion and consistency proofs at any past size cost O(log n) lookups.
#[derive(Default, Clone)]
pub struct LogTree {
    /// `levels[l][k]` is the hash of leaves `k * 2^l .. (k + 1) * 2^l`, once all are present.
    levels: Vec<Vec<Digest>>,
}

impl LogTree {
    /// An empty log.
    pub fn new() -> LogTree {
        LogTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Digest) {
        let mut node = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(node);
            let count = self.levels[level].len();
            if count % 2 == 1 {
                break;
            }
            node = node_hash(
                &self.levels[level][count - 2],
                &self.levels[level][count - 1],
            );
            level += 1;
        }
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Digest> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// The root of the first `size` leaves. Requires `size <= self.size()`.
    pub fn root(&self, size: u64) -> Digest {
        assert!(size <= self.size(), "root of a size the log has reached");
        if size == 0 {
            return empty_root();
        }
        self.subtree(0, size)
    }

    /// MTH(D[start..end]) for a range that RFC 6962's recursion produces: `start` is a
    /// multiple of the largest power of two not above `end - start`.
    fn subtree(&self, start: u64, end: u64) -> Digest {
        debug_assert!(start < end && end <= self.size());
        let width = end - start;
        if width.is_power_of_two() {
            let level = width.trailing_zeros() as usize;
            return self.levels[level][(start >> level) as usize];
        }
        let split = largest_power_of_two_below(width);
        node_hash(
            &self.subtree(start, start + split),
            &self.subtree(start + split, end),
        )
    }

    /// The RFC 9162 inclusion proof of leaf `index` in the tree of the first `size` leaves.
    /// Requires `index < size <= self.size()`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Vec<Digest> {
        assert!(
            index < size && size <= self.size(),
            "inclusion proof inside the log"
        );
        let mut path = Vec::with_capacity(inclusion_proof_len(index, size));
        self.path(index, 0, size, &mut path);
        path
    }

    fn path(&self, index: u64, start: u64, end: u64, out: &mut Vec<Digest>) {
        let width = end - start;
        if width == 1 {
            return;
        }
        let split = largest_power_of_two_below(width);
        if index - start < split {
            self.path(index, start, start + split, out);
            out.push(self.subtree(start + split, end));
        } else {
            self.path(index, start + split, end, out);
            out.push(self.subtree(start, start + split));
        }
    }

    /// The RFC 9162 consistency proof from the tree of `from` leaves to the tree of `to`
    /// leaves. Requires `from <= to <= self.size()`; empty when `from` is 0 or equals `to`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Vec<Digest> {
        assert!(
            from <= to && to <= self.size(),
            "consistency inside the log"
        );
        let mut proof = Vec::new();
        if from == 0 || from == to {
            return proof;
        }
        self.subproof(from, 0, to, true, &mut proof);
        debug_assert_eq!(proof.len(), consistency_proof_len(from, to));
        proof
    }

    /// SUBPROOF(m, D[start..end], b) of RFC 9162 section 2.1.4.1, with `m` counted from `start`.
    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Digest>) {
        let width = end - start;
        if m == width {
            if !whole {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let split = largest_power_of_two_below(width);
        if m <= split {
            self.subproof(m, start, start + split, whole, out);
            out.push(self.subtree(start + split, end));
        } else {
            self.subproof(m - split, start + split, end, false, out);
            out.push(self.subtree(start, start + split));
        }
    }

    /// The compact range of the first `size` leaves: the roots of the perfect subtrees that
    /// cover them, largest first. With it an auditor can append leaves and recompute roots.
    /// Requires `size <= self.size()`.
    pub fn frontier(&self, size: u64) -> Vec<Digest> {
        assert!(
            size <= self.size(),
            "frontier of a size the log has reached"
        );
        let mut out = Vec::new();
        let mut start = 0;
        for level in (0..64).rev() {
            if size & (1 << level) != 0 {
                out.push(self.levels[level][(start >> level) as usize]);
                start += 1 << level;
            }
        }
        out
    }
}

/// The largest power of two strictly below `n`. Requires `n > 1`.
fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// An auditor's running view of a log: the compact range of the leaves seen so far.
/// Appending leaves and asking for the root recomputes the log's root without the log's help.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Roots of perfect subtrees, largest first; their sizes are the set bits of `size`.
    nodes: Vec<Digest>,
}

impl Frontier {
    /// The frontier of a log of `size` leaves; `nodes` as [`LogTree::frontier`] returns them.
    pub fn new(size: u64, nodes: Vec<Digest>) -> Result<Frontier, ProofError> {
        let want = size.count_ones() as usize;
        if nodes.len() != want {
            return Err(ProofError::WrongProofSize {
                got: nodes.len(),
                want,
            });
        }
        Ok(Frontier { size, nodes })
    }

    /// Leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, largest first.
    pub fn nodes(&self) -> &[Digest] {
        &self.nodes
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Digest) {
        let mut node = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit of the size");
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The RFC 6962 root of the leaves covered.
    pub fn root(&self) -> Digest {
        let mut nodes = self.nodes.iter().rev();
        let Some(mut root) = nodes.next().copied() else {
            return empty_root();
        };
        for left in nodes {
            root = node_hash(left, &root);
        }
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use proptest::prelude::*;

    fn h(text: &str) -> Digest {
        Digest::from_hex(text).unwrap()
    }

    /// The RFC 6962 test data used by certificate-transparency and Go's tlog.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn vector_log() -> LogTree {
        let mut log = LogTree::new();
        for leaf in LEAVES {
            log.push(leaf_hash(&hex::decode(leaf).unwrap()));
        }
        log
    }

    #[test]
    fn rfc6962_roots() {
        let log = vector_log();
        assert_eq!(log.root(0), empty_root());
        for (size, root) in ROOTS.iter().enumerate() {
            assert_eq!(log.root(size as u64 + 1), h(root), "size {}", size + 1);
        }
    }

    #[test]
    fn rfc6962_inclusion_vectors() {
        let log = vector_log();
        let want = [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        let path = log.inclusion_proof(5, 8);
        assert_eq!(path, want.map(h).to_vec());
        let leaf = leaf_hash(&hex::decode(LEAVES[5]).unwrap());
        verify_inclusion(5, 8, &leaf, &path, &h(ROOTS[7])).unwrap();
        assert!(matches!(
            verify_inclusion(4, 8, &leaf, &path, &h(ROOTS[7])),
            Err(ProofError::RootMismatch { .. })
        ));
        // Leaf 2 of a tree of 3: the path is the root of the first two leaves.
        let leaf2 = leaf_hash(&hex::decode(LEAVES[2]).unwrap());
        assert_eq!(log.inclusion_proof(2, 3), vec![h(ROOTS[1])]);
        verify_inclusion(2, 3, &leaf2, &[h(ROOTS[1])], &h(ROOTS[2])).unwrap();
    }

    #[test]
    fn rfc6962_consistency_vectors() {
        let log = vector_log();
        let want = [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        let proof = log.consistency_proof(6, 8);
        assert_eq!(proof, want.map(h).to_vec());
        verify_consistency(6, 8, &proof, &h(ROOTS[5]), &h(ROOTS[7])).unwrap();
        assert!(verify_consistency(6, 8, &proof, &h(ROOTS[4]), &h(ROOTS[7])).is_err());
        let want = [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ];
        let proof = log.consistency_proof(2, 5);
        assert_eq!(proof, want.map(h).to_vec());
        verify_consistency(2, 5, &proof, &h(ROOTS[1]), &h(ROOTS[4])).unwrap();
        // Size 1 to 8 and 4 to 8, two more shapes from the same data.
        for from in 1..=8u64 {
            let proof = log.consistency_proof(from, 8);
            verify_consistency(from, 8, &proof, &h(ROOTS[from as usize - 1]), &h(ROOTS[7]))
                .unwrap();
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let log = vector_log();
        let root8 = h(ROOTS[7]);
        verify_consistency(8, 8, &[], &root8, &root8).unwrap();
        verify_consistency(0, 8, &[], &empty_root(), &root8).unwrap();
        assert_eq!(
            verify_consistency(8, 4, &[], &root8, &root8),
            Err(ProofError::SizesReversed { from: 8, to: 4 })
        );
        let proof = log.consistency_proof(3, 8);
        // Truncated, extended and reordered proofs all fail.
        assert!(matches!(
            verify_consistency(3, 8, &proof[1..], &h(ROOTS[2]), &root8),
            Err(ProofError::WrongProofSize { .. })
        ));
        let mut longer = proof.clone();
        longer.push(root8);
        assert!(verify_consistency(3, 8, &longer, &h(ROOTS[2]), &root8).is_err());
        let mut reordered = proof.clone();
        reordered.swap(0, 1);
        assert!(verify_consistency(3, 8, &reordered, &h(ROOTS[2]), &root8).is_err());
        // A proof for other sizes does not pass.
        assert!(verify_consistency(3, 7, &proof, &h(ROOTS[2]), &h(ROOTS[6])).is_err());
    }

    #[test]
    fn block_tree_matches_rfc6962() {
        let entries: Vec<Digest> = (0u32..300)
            .map(|i| Digest::sha256(&i.to_be_bytes()))
            .collect();
        for size in 1..=entries.len() {
            let block = BlockTree::build(&entries[..size]);
            let mut log = LogTree::new();
            for entry in &entries[..size] {
                log.push(leaf_hash(entry.as_bytes()));
            }
            assert_eq!(block.root(), log.root(size as u64), "size {size}");
            let hex_layers = block.hex_layers();
            for index in [0, size / 2, size - 1] {
                let path = block.inclusion_proof(index as u64);
                assert_eq!(
                    path,
                    log.inclusion_proof(index as u64, size as u64),
                    "size {size} index {index}"
                );
                // The hex layers name the same hashes where `inclusion_nodes` says.
                let from_hex: Vec<String> = block
                    .inclusion_nodes(index as u64)
                    .map(|(layer, at)| {
                        String::from_utf8(
                            hex_layers[layer][at * HEX_DIGITS..(at + 1) * HEX_DIGITS].to_vec(),
                        )
                        .expect("hex is ASCII")
                    })
                    .collect();
                let want: Vec<String> = path.iter().map(Digest::to_hex).collect();
                assert_eq!(from_hex, want, "size {size} index {index}");
            }
        }
    }

    /// ct-merkle is an independent RFC 6962 implementation: our roots and proofs match it
    /// byte for byte.
    #[test]
    fn matches_ct_merkle() {
        let mut theirs = ct_merkle::CtMerkleTree::<sha2::Sha256, Vec<u8>>::new();
        let mut ours = LogTree::new();
        for i in 0u32..70 {
            let data = i.to_le_bytes().to_vec();
            ours.push(leaf_hash(&data));
            theirs.push(data);
            let size = u64::from(i) + 1;
            let root = theirs.root();
            assert_eq!(ours.root(size).as_bytes(), root.as_bytes().as_slice());
            for index in [0, i / 3, i] {
                let proof = theirs.prove_inclusion(index as usize);
                let mine: Vec<u8> = ours
                    .inclusion_proof(u64::from(index), size)
                    .iter()
                    .flat_map(|d| *d.as_bytes())
                    .collect();
                assert_eq!(
                    proof.as_bytes(),
                    mine.as_slice(),
                    "inclusion {index} of {size}"
                );
            }
            for old in 1..size {
                let proof = theirs.prove_consistency(old as usize);
                let mine: Vec<u8> = ours
                    .consistency_proof(old, size)
                    .iter()
                    .flat_map(|d| *d.as_bytes())
                    .collect();
                assert_eq!(
                    proof.as_bytes(),
                    mine.as_slice(),
                    "consistency {old}->{size}"
                );
            }
        }
    }

    #[test]
    fn frontier_tracks_root() {
        let log = vector_log();
        let mut frontier = Frontier::default();
        for index in 0..8u64 {
            frontier.push(log.leaf(index).unwrap());
            assert_eq!(frontier.root(), log.root(index + 1));
            assert_eq!(frontier.nodes(), log.frontier(index + 1).as_slice());
        }
        assert!(Frontier::new(3, vec![empty_root()]).is_err());
    }

    fn log_of(size: u64) -> LogTree {
        let mut log = LogTree::new();
        for i in 0..size {
            log.push(leaf_hash(&i.to_be_bytes()));
        }
        log
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn inclusion_proofs_verify(size in 1u64..2000, seed in any::<u64>()) {
            let log = log_of(size);
            let index = seed % size;
            let path = log.inclusion_proof(index, size);
            prop_assert_eq!(path.len(), inclusion_proof_len(index, size));
            let leaf = log.leaf(index).unwrap();
            let root = log.root(size);
            prop_assert!(verify_inclusion(index, size, &leaf, &path, &root).is_ok());
            // Any other index, or any flipped hash, fails.
            let other = (index + 1) % size;
            if other != index {
                prop_assert!(verify_inclusion(other, size, &leaf, &path, &root).is_err());
            }
            if !path.is_empty() {
                let mut bad = path.clone();
                let at = (seed as usize) % bad.len();
                bad[at] = Digest::sha256(bad[at].as_bytes());
                prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify(to in 1u64..2000, seed in any::<u64>()) {
            let log = log_of(to);
            let from = seed % (to + 1);
            let proof = log.consistency_proof(from, to);
            let (from_root, to_root) = (log.root(from), log.root(to));
            prop_assert!(verify_consistency(from, to, &proof, &from_root, &to_root).is_ok());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = (seed as usize) % bad.len();
                bad[at] = Digest::sha256(bad[at].as_bytes());
                prop_assert!(verify_consistency(from, to, &bad, &from_root, &to_root).is_err());
                prop_assert!(verify_consistency(from, to, &proof[1..], &from_root, &to_root).is_err());
            }
            if from > 0 && from < to {
                // The proof does not carry over to a different old root.
                let wrong = Digest::sha256(from_root.as_bytes());
                prop_assert!(verify_consistency(from, to, &proof, &wrong, &to_root).is_err());
            }
        }
    }
}
