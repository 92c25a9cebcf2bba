//! Token ledger benchmarks: applying already-verified transfers on one core, checking signatures
//! in batches, and signed operations end to end through the ledger service (four submitter
//! threads on the machine's two cores, sled with one fsync per group).
#![allow(missing_docs, clippy::unwrap_used)] // criterion's macros; a panic is the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use token::ledger::{wall_clock, Ledger};
use token::model::Role;
use token::op::Body;
use token::state::{Checked, State};
use token::testkit::{checked, name, rules, Circuit};
use token::SignedOperation;

const HOLDERS: usize = 1_000;
const BATCH: usize = 1_000;

fn holder(i: usize) -> String {
    format!("h{i}")
}

/// A circuit with `HOLDERS` holders, each minted plenty of a transferable class.
fn circuit() -> (Circuit, Vec<SignedOperation>) {
    let mut circuit = Circuit::new("bench", 7);
    let mut setup = vec![circuit.enrol("issuer", Role::Issuer, None)];
    for i in 0..HOLDERS {
        setup.push(circuit.enrol(&holder(i), Role::Holder, Some("citizen")));
    }
    setup.push(circuit.define("dote", rules("issuer", &[])));
    for i in 0..HOLDERS {
        setup.push(circuit.sign(
            "issuer",
            Body::Mint {
                class: name("dote"),
                to: name(&holder(i)),
                amount: 1 << 40,
            },
        ));
    }
    (circuit, setup)
}

/// `count` transfers, each from holder `first + k % span` to the next holder.
fn transfers(
    circuit: &mut Circuit,
    count: usize,
    first: usize,
    span: usize,
) -> Vec<SignedOperation> {
    (0..count)
        .map(|k| {
            let from = first + k % span;
            let to = first + (k + 1) % span;
            circuit.sign(
                &holder(from),
                Body::Transfer {
                    class: name("dote"),
                    to: name(&holder(to)),
                    amount: 1,
                },
            )
        })
        .collect()
}

fn apply(c: &mut Criterion) {
    let (mut circuit, setup) = circuit();
    let genesis = circuit.genesis();
    let mut state = State::genesis(genesis.ledger.clone(), genesis.authority);
    for chunk in setup.chunks(4_096) {
        state.apply_batch(1, &checked(chunk));
    }
    let mut group = c.benchmark_group("apply");
    const OPS: usize = 8_192;
    group.throughput(Throughput::Elements(OPS as u64));
    group.bench_function("verified transfers, batches of 8192", |b| {
        b.iter_batched(
            || {
                let ops = transfers(&mut circuit, OPS, 0, HOLDERS);
                let mut batch: Vec<Checked> = checked(&ops);
                for op in &mut batch {
                    op.verified = true;
                }
                batch
            },
            |batch| {
                let outcomes = state.apply_batch(2, &batch);
                debug_assert!(outcomes.iter().all(Result::is_ok));
                outcomes
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sigillo-bench-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut circuit, setup) = circuit();
    let ledger = Ledger::open(&dir, circuit.genesis(), wall_clock()).unwrap();
    for chunk in setup.chunks(4_096) {
        ledger.submit(chunk.to_vec()).unwrap();
    }
    let ops = transfers(&mut circuit, BATCH, 0, HOLDERS);
    let mut group = c.benchmark_group("signatures");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("batch check of 1000, one core", |b| {
        b.iter_batched(
            || ops.clone(),
            |ops| {
                let checked = ledger.check(ops).unwrap();
                debug_assert!(checked.iter().all(|op| op.verified));
                checked
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("verify_strict of 1000, one core", |b| {
        let checked = checked(&ops);
        let key = *circuit.public_key("h0").verifying_key();
        b.iter(|| {
            checked
                .iter()
                .filter(|op| key.verify_strict(&op.bytes, &op.signed.signature).is_ok())
                .count()
        })
    });
    group.finish();
    ledger.shutdown();
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Signed transfers through `Ledger::submit` from two threads (each checks its batches'
/// signatures, as HTTP handlers do), with durable group commits.
fn end_to_end(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sigillo-bench-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (circuit, setup) = circuit();
    let ledger = Ledger::open(&dir, circuit.genesis(), wall_clock()).unwrap();
    for chunk in setup.chunks(4_096) {
        ledger.submit(chunk.to_vec()).unwrap();
    }
    let circuit = Arc::new(std::sync::Mutex::new(circuit));
    let mut group = c.benchmark_group("ledger");
    // More submitters than cores: while one waits for a group's fsync, another checks.
    const THREADS: usize = 4;
    const BATCHES_PER_THREAD: usize = 4;
    group.throughput(Throughput::Elements(
        (THREADS * BATCHES_PER_THREAD * BATCH) as u64,
    ));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(
        "signed transfers end to end, 4 submitters, batches of 1000",
        |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    // Sign outside the timing; each thread spends its own half of the holders.
                    let work: Vec<Vec<Vec<SignedOperation>>> = (0..THREADS)
                        .map(|thread| {
                            let mut circuit = circuit.lock().unwrap();
                            (0..BATCHES_PER_THREAD)
                                .map(|_| {
                                    transfers(
                                        &mut circuit,
                                        BATCH,
                                        thread * HOLDERS / THREADS,
                                        HOLDERS / THREADS,
                                    )
                                })
                                .collect()
                        })
                        .collect();
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for batches in work {
                            let ledger = ledger.clone();
                            scope.spawn(move || {
                                for batch in batches {
                                    let outcomes = ledger.submit(batch).unwrap();
                                    assert!(outcomes.iter().all(Result::is_ok));
                                }
                            });
                        }
                    });
                    total += start.elapsed();
                }
                total
            })
        },
    );
    group.finish();
    ledger.shutdown();
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, apply, verify, end_to_end);
criterion_main!(benches);
