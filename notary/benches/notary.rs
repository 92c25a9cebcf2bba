//! Notary benchmarks: block building, proof generation, checkpoint signing, receipt
//! verification. `cargo bench -p notary`.
#![allow(missing_docs)] // criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used)] // Benchmarks unwrap: a panic is the failure report.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use notary::merkle::{BlockTree, LogTree};
use notary::receipt::{TlogProof, RECEIPT_FORMAT};
use notary::{BlockHeader, Checkpoint, Digest, NoteSigner, Receipt, ReceiptVerifier};

const ORIGIN: &str = "bench.sigillo/notary";

fn entries(count: u32) -> Vec<Digest> {
    (0..count)
        .map(|i| Digest::sha256(&i.to_le_bytes()))
        .collect()
}

fn block_building(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_build");
    for count in [1_000u32, 65_536] {
        let entries = entries(count);
        group.throughput(Throughput::Elements(u64::from(count)));
        group.bench_function(count.to_string(), |b| {
            b.iter(|| BlockTree::build(black_box(&entries)).root())
        });
    }
    group.finish();
}

fn log_of(size: u64) -> LogTree {
    let mut log = LogTree::new();
    for i in 0..size {
        log.push(Digest::sha256(&i.to_le_bytes()));
    }
    log
}

fn proofs(c: &mut Criterion) {
    let block = BlockTree::build(&entries(65_536));
    let log = log_of(1_000_000);
    let mut group = c.benchmark_group("proofs");
    group.throughput(Throughput::Elements(1));
    group.bench_function("entry_inclusion_in_block_65536", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % 65_536;
            block.inclusion_proof(black_box(i))
        })
    });
    group.bench_function("block_inclusion_in_log_1M", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % 999_999;
            log.inclusion_proof(black_box(i), 999_999)
        })
    });
    group.bench_function("consistency_in_log_1M", |b| {
        let mut i = 1u64;
        b.iter(|| {
            i = (i + 7919) % 999_998 + 1;
            log.consistency_proof(black_box(i), 999_999)
        })
    });
    group.finish();
}

fn signing(c: &mut Criterion) {
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: 123_456,
        root: Digest::sha256(b"root"),
    };
    c.bench_function("checkpoint_sign", |b| {
        b.iter(|| signer.sign(black_box(&checkpoint.to_text())).unwrap())
    });
}

/// Receipts for every entry of one block of `count` entries, in a log of 100,000 blocks.
fn receipts(count: u32) -> (Vec<Receipt>, Vec<Digest>, NoteSigner) {
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    let entries = entries(count);
    let tree = BlockTree::build(&entries);
    let mut log = log_of(99_999);
    let header = BlockHeader {
        height: 99_999,
        time_ms: 1_763_800_000_000,
        first_entry: 5_000_000_000,
        entry_count: u64::from(count),
        entries_root: tree.root(),
    };
    log.push(header.leaf_hash());
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: log.size(),
        root: log.root(log.size()),
    };
    let log_proof = TlogProof {
        index: header.height,
        path: log.inclusion_proof(header.height, log.size()),
        checkpoint: signer.sign(&checkpoint.to_text()).unwrap(),
    }
    .to_text();
    let receipts = (0..u64::from(count))
        .map(|i| Receipt {
            format: RECEIPT_FORMAT.into(),
            entry: entries[i as usize],
            block: header,
            entry_index: i,
            entry_path: tree.inclusion_proof(i),
            log_proof: log_proof.clone(),
            salt: None,
            state: Default::default(),
            anchor: None,
        })
        .collect();
    (receipts, entries, signer)
}

fn verification(c: &mut Criterion) {
    let (receipts, entries, signer) = receipts(20_000);
    let mut group = c.benchmark_group("receipt_verify");
    // A batch: the checkpoint's signature and the block's log path are checked once.
    group.throughput(Throughput::Elements(receipts.len() as u64));
    group.bench_function("batch_20000_same_block", |b| {
        b.iter_batched(
            || ReceiptVerifier::new(signer.verifier()),
            |mut verifier| {
                for (receipt, entry) in receipts.iter().zip(&entries) {
                    verifier.verify(receipt, entry).unwrap();
                }
            },
            BatchSize::SmallInput,
        )
    });
    // One receipt alone, as `sigillo verify` does it: every check, signature included.
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_cold", |b| {
        b.iter(|| {
            ReceiptVerifier::new(signer.verifier())
                .verify(&receipts[777], &entries[777])
                .unwrap()
        })
    });
    group.bench_function("json_parse_and_verify_cold", |b| {
        let json = serde_json::to_vec(&receipts[777]).unwrap();
        b.iter(|| {
            let receipt: Receipt = serde_json::from_slice(&json).unwrap();
            ReceiptVerifier::new(signer.verifier())
                .verify(&receipt, &entries[777])
                .unwrap()
        })
    });
    group.finish();
}

/// One RFC 3161 token: the request checked, the TSTInfo built, the signed attributes signed
/// with ECDSA P-256, the reply encoded (with the certificate, as `openssl ts -query -cert`).
fn time_stamping(c: &mut Criterion) {
    use notary::tsa::{request_der, ImprintAlgorithm, Tsa, DEFAULT_POLICY};
    let dir = std::env::temp_dir().join(format!("sigillo-bench-tsa-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tsa = Tsa::open(&dir, "bench", DEFAULT_POLICY).unwrap();
    let query = request_der(
        ImprintAlgorithm::Sha256,
        &ImprintAlgorithm::Sha256.digest(b"document"),
        Some(0x1234_5678_9abc_def0),
        true,
    );
    let mut group = c.benchmark_group("tsa");
    group.throughput(Throughput::Elements(1));
    let mut serial = 0u64;
    group.bench_function("check_and_grant", |b| {
        b.iter(|| {
            let request = tsa.check_request(black_box(&query)).unwrap();
            serial += 1;
            tsa.grant(&request, serial, 1_700_000_000_123).unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(
    benches,
    block_building,
    proofs,
    signing,
    verification,
    time_stamping
);
criterion_main!(benches);
