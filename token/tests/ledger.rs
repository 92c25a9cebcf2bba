//! The ledger service on a real sled store: batch signature checks, durability across reopen,
//! the journal's chain, and the limits.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::path::PathBuf;

use token::ledger::{wall_clock, Error, Ledger};
use token::model::Role;
use token::op::Body;
use token::replay::Replay;
use token::state::{Reject, BATCH_OPERATIONS_MAX};
use token::testkit::{name, rules, Circuit};
use token::{Genesis, SignedOperation};

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "sigillo-token-{label}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn setup(circuit: &mut Circuit) -> Vec<SignedOperation> {
    vec![
        circuit.enrol("comune", Role::Issuer, None),
        circuit.enrol("rossi", Role::Holder, Some("citizen")),
        circuit.enrol("bianchi", Role::Holder, Some("citizen")),
        circuit.enrol("cartoleria", Role::Merchant, Some("school_supplier")),
        circuit.define("dote", rules("comune", &["school_supplier"])),
        circuit.sign(
            "comune",
            Body::Mint {
                class: name("dote"),
                to: name("rossi"),
                amount: 1_000_000,
            },
        ),
    ]
}

fn pay(circuit: &mut Circuit, to: &str, amount: u64) -> SignedOperation {
    circuit.sign(
        "rossi",
        Body::Transfer {
            class: name("dote"),
            to: name(to),
            amount,
        },
    )
}

#[test]
fn operations_survive_a_reopen_and_the_journal_replays_to_the_same_state() {
    let dir = TempDir::new("reopen");
    let mut circuit = Circuit::new("lombardia", 3);
    let ledger = Ledger::open(&dir.0, circuit.genesis(), wall_clock()).unwrap();
    // Actors enrolled in this very batch: the sequencer verifies their signatures itself.
    let outcomes = ledger.submit(setup(&mut circuit)).unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let payments: Vec<_> = (0..100)
        .map(|_| pay(&mut circuit, "cartoleria", 10))
        .collect();
    let outcomes = ledger.submit(payments.clone()).unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    let head = ledger.head();
    assert_eq!(head.length, 106);
    let digest = ledger.read(|state| state.digest()).unwrap();
    ledger.shutdown();
    drop(ledger);

    let ledger = Ledger::open(&dir.0, circuit.genesis(), wall_clock()).unwrap();
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.read(|state| state.digest()).unwrap(), digest);
    // Resubmitted after the restart: the original results, nothing applied twice.
    let again = ledger.submit(payments).unwrap();
    for (first, second) in outcomes.iter().zip(&again) {
        let (first, second) = (first.as_ref().unwrap(), second.as_ref().unwrap());
        assert_eq!((first.index, second.duplicate), (second.index, true));
    }
    assert_eq!(ledger.head(), head);

    // The auditor's replay, every signature checked, reaches the same head and state.
    let mut replay = Replay::new(ledger.genesis(), true, true);
    for entry in ledger.journal(0, 1_000).unwrap() {
        replay.push(entry).unwrap();
    }
    let (state, replayed_head) = replay.finish().unwrap();
    assert_eq!(replayed_head, head.hash);
    assert_eq!(state.digest(), digest);
    // The holder's history lists its payments, the merchant's too.
    let history = ledger.history("cartoleria", 0, 1_000).unwrap();
    assert_eq!(history.len(), 101); // its enrolment and the 100 payments
    ledger.shutdown();
}

#[test]
fn batch_verification_finds_the_bad_signatures_among_good_ones() {
    let dir = TempDir::new("batch");
    let mut circuit = Circuit::new("lombardia", 4);
    let ledger = Ledger::open(&dir.0, circuit.genesis(), wall_clock()).unwrap();
    ledger.submit(setup(&mut circuit)).unwrap();
    let mut ops: Vec<_> = (0..64).map(|_| pay(&mut circuit, "bianchi", 1)).collect();
    // Op 10 tampered; op 20 signed by bianchi in rossi's name; op 30 with a small-order R
    // (the identity) that batch verification alone would not refuse by itself.
    ops[10].operation.body = Body::Transfer {
        class: name("dote"),
        to: name("bianchi"),
        amount: 999,
    };
    let forged = ops[20].operation.clone();
    ops[20] = forged.sign(circuit.key("bianchi"));
    let mut identity_r = ops[30].signature.to_bytes();
    identity_r[..32].copy_from_slice(&{
        let mut r = [0u8; 32];
        r[0] = 1;
        r
    });
    ops[30].signature = ed25519_dalek::Signature::from_bytes(&identity_r);
    let checked = ledger.check(ops.clone()).unwrap();
    let unverified: Vec<usize> = (0..64).filter(|&i| !checked[i].verified).collect();
    assert_eq!(unverified, vec![10, 20, 30]);
    let outcomes = ledger.submit(ops).unwrap();
    let bad = Reject::BadSignature {
        actor: "rossi".into(),
    };
    assert_eq!(outcomes[10], Err(bad.clone()));
    assert_eq!(outcomes[20], Err(bad.clone()));
    assert_eq!(outcomes[30], Err(bad));
    // The ones before op 10 applied; after it, rossi's sequence has a gap.
    assert!(outcomes[..10].iter().all(Result::is_ok));
    assert_eq!(outcomes[11], Err(Reject::SequenceGap { expected: 10 }));
    ledger.shutdown();
}

#[test]
fn batches_are_one_to_the_limit_and_a_foreign_genesis_is_refused() {
    let dir = TempDir::new("limits");
    let mut circuit = Circuit::new("lombardia", 5);
    let ledger = Ledger::open(&dir.0, circuit.genesis(), wall_clock()).unwrap();
    assert!(matches!(
        ledger.submit(Vec::new()),
        Err(Error::BatchSize { got: 0, .. })
    ));
    let one = pay(&mut circuit, "bianchi", 1);
    let oversized = vec![one; BATCH_OPERATIONS_MAX + 1];
    assert!(matches!(
        ledger.submit(oversized),
        Err(Error::BatchSize { got, max }) if got == max + 1
    ));
    assert_eq!(ledger.head().length, 0);
    ledger.shutdown();
    drop(ledger);
    let other = Circuit::new("lombardia", 6);
    let foreign = Genesis {
        authority: other.public_key("authority"),
        ..circuit.genesis()
    };
    assert!(matches!(
        Ledger::open(&dir.0, foreign, wall_clock()),
        Err(Error::Config { .. })
    ));
}
