//! Property tests: random operation sequences keep every invariant, and the journal they
//! produce replays to the same state; the canonical encoding round-trips.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use proptest::prelude::*;
use token::journal::Entry;
use token::model::Role;
use token::op::{Body, Operation};
use token::replay::Replay;
use token::state::State;
use token::testkit::{checked, name, rules, Circuit};

const HOLDERS: [&str; 4] = ["h0", "h1", "h2", "h3"];
const MERCHANTS: [&str; 2] = ["m0", "m1"];
const CLASSES: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
struct Step {
    kind: u8,
    actor: usize,
    target: usize,
    class: usize,
    amount: u64,
    linked: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..8,
        0usize..8,
        0usize..8,
        0usize..2,
        0u64..2_000,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(kind, actor, target, class, amount, linked)| Step {
            kind,
            actor,
            target,
            class,
            amount,
            linked,
        })
}

fn body_and_actor(step: &Step, pendings: &[(token::OperationId, usize, usize)]) -> (String, Body) {
    let class = name(CLASSES[step.class]);
    let holder = HOLDERS[step.actor % HOLDERS.len()];
    let to = if step.target.is_multiple_of(2) {
        HOLDERS[step.target % HOLDERS.len()]
    } else {
        MERCHANTS[step.target % MERCHANTS.len()]
    };
    match step.kind {
        0 | 1 => (
            "issuer".into(),
            Body::Mint {
                class,
                to: name(holder),
                amount: step.amount,
            },
        ),
        2 | 3 => (
            holder.into(),
            Body::Transfer {
                class,
                to: name(to),
                amount: step.amount,
            },
        ),
        4 => (
            holder.into(),
            Body::Pending {
                class,
                to: name(to),
                amount: step.amount,
                timeout_ms: 1 + step.amount % 50,
            },
        ),
        5 if !pendings.is_empty() => {
            let (id, payee, class) = pendings[step.target % pendings.len()];
            let payee = if payee.is_multiple_of(2) {
                HOLDERS[payee % HOLDERS.len()]
            } else {
                MERCHANTS[payee % MERCHANTS.len()]
            };
            let class = name(CLASSES[class]);
            let body = if step.amount.is_multiple_of(2) {
                Body::Post { class, pending: id }
            } else {
                Body::Void { class, pending: id }
            };
            (payee.into(), body)
        }
        6 => (
            MERCHANTS[step.actor % MERCHANTS.len()].into(),
            Body::Redeem {
                class,
                amount: step.amount,
            },
        ),
        _ => (
            "authority".into(),
            Body::Clawback {
                class,
                from: name(holder),
                amount: step.amount,
                reason: "property test".into(),
            },
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_sequences_keep_the_invariants_and_replay_to_the_same_state(
        batches in prop::collection::vec(prop::collection::vec(step(), 1..12), 2..14),
    ) {
        let mut circuit = Circuit::new("prop", 9);
        let genesis = circuit.genesis();
        let mut state = State::genesis(genesis.ledger.clone(), genesis.authority);
        let mut setup = vec![circuit.enrol("issuer", Role::Issuer, None)];
        for holder in HOLDERS {
            setup.push(circuit.enrol(holder, Role::Holder, Some("citizen")));
        }
        for merchant in MERCHANTS {
            setup.push(circuit.enrol(merchant, Role::Merchant, Some("shop")));
        }
        let mut limited = rules("issuer", &["shop"]);
        limited.holder_limit = Some(3_000);
        limited.holder_transfers = false;
        setup.push(circuit.define("a", limited));
        setup.push(circuit.define("b", rules("issuer", &["shop"])));
        let mut pendings = Vec::new();
        let mut journal = Vec::new();
        let mut head = genesis.hash();
        let mut now = 1_000;
        let mut signed_batches = vec![setup];
        for steps in &batches {
            // The first round applies the setup; later ones are signed lazily, after the
            // previous batch settled the sequence numbers.
            let ops = if signed_batches.is_empty() {
                let mut ops = Vec::new();
                for step in steps {
                    let (actor, body) = body_and_actor(step, &pendings);
                    if let Body::Pending { to, class, .. } = &body {
                        let payee = HOLDERS.iter().position(|h| *h == to.as_str()).map(|i| i * 2)
                            .or_else(|| MERCHANTS.iter().position(|m| *m == to.as_str()).map(|i| i * 2 + 1))
                            .unwrap();
                        let class = CLASSES.iter().position(|c| *c == class.as_str()).unwrap();
                        pendings.push((circuit.peek_id(), payee, class));
                    }
                    ops.push(if step.linked { circuit.sign_linked(&actor, body) } else { circuit.sign(&actor, body) });
                }
                ops
            } else {
                signed_batches.remove(0)
            };
            now += 17;
            let outcomes = state.apply_batch(now, &checked(&ops));
            circuit.settle(&ops, &outcomes);
            prop_assert_eq!(state.check_invariants(), Ok(()));
            for (op, outcome) in ops.iter().zip(&outcomes) {
                if let Ok(applied) = outcome {
                    if applied.duplicate { continue; }
                    let entry = Entry {
                        index: applied.index,
                        time_ms: applied.time_ms,
                        previous: head,
                        operation: op.operation.signing_bytes(),
                        signature: op.signature.to_bytes(),
                    };
                    head = entry.hash();
                    journal.push(entry);
                }
            }
        }
        let mut replay = Replay::new(&genesis, true, true);
        for entry in journal {
            replay.push(entry).unwrap();
        }
        let (replayed, replayed_head) = replay.finish().unwrap();
        prop_assert_eq!(replayed_head, head);
        prop_assert_eq!(replayed.digest(), state.digest());
    }

    #[test]
    fn transfers_round_trip_through_the_canonical_encoding(
        seq in any::<u64>(), amount in any::<u64>(), linked in any::<bool>(), id in any::<[u8; 16]>(),
        to in "[a-z0-9:._-]{1,64}",
    ) {
        prop_assume!(id != [0; 16]);
        let operation = Operation {
            ledger: name("l"),
            id: token::OperationId::from_bytes(id).unwrap(),
            actor: name("a"),
            seq,
            linked,
            body: Body::Transfer { class: name("c"), to: name(&to), amount },
        };
        prop_assert_eq!(Operation::decode(&operation.signing_bytes()).unwrap(), operation);
    }
}
