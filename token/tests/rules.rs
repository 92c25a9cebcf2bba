//! Every rule of the ledger, on the pure state: what applies, and what is refused with which
//! error, leaving the state unchanged.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use token::model::Role;
use token::op::Body;
use token::state::{PendingStatus, Reject, State, Supply};
use token::testkit::{checked, name, rules, Circuit};
use token::{OperationId, SignedOperation};

const START_MS: u64 = 1_000;
const DOTE_EXPIRES_MS: u64 = 50_000;
const NIDI_LIMIT: u64 = 100_000;

/// A circuit: Regione issues "nidi" (citizens only, paid to nurseries, not transferable, limit
/// 1,000.00); the Comune issues "dote" (transferable, paid to school suppliers, expires).
fn world() -> (Circuit, State) {
    let mut circuit = Circuit::new("lombardia", 1);
    let mut state = State::genesis(circuit.ledger.clone(), circuit.public_key("authority"));
    let mut nidi = rules("regione", &["nursery"]);
    nidi.holder_categories = vec![name("citizen")];
    nidi.holder_transfers = false;
    nidi.holder_limit = Some(NIDI_LIMIT);
    let mut dote = rules("comune", &["school_supplier"]);
    dote.expires_at_ms = Some(DOTE_EXPIRES_MS);
    let setup = vec![
        circuit.enrol("regione", Role::Issuer, None),
        circuit.enrol("comune", Role::Issuer, None),
        circuit.enrol("rossi", Role::Holder, Some("citizen")),
        circuit.enrol("bianchi", Role::Holder, Some("citizen")),
        circuit.enrol("impresa", Role::Holder, Some("business")),
        circuit.enrol("asilo", Role::Merchant, Some("nursery")),
        circuit.enrol("cartoleria", Role::Merchant, Some("school_supplier")),
        circuit.enrol("revisore", Role::Auditor, None),
        circuit.define("nidi", nidi),
        circuit.define("dote", dote),
    ];
    apply_all(&mut state, START_MS, &setup);
    let mints = vec![
        circuit.sign("regione", mint("nidi", "rossi", 50_000)),
        circuit.sign("comune", mint("dote", "rossi", 10_000)),
    ];
    apply_all(&mut state, START_MS, &mints);
    (circuit, state)
}

fn apply_all(state: &mut State, now_ms: u64, ops: &[SignedOperation]) -> Vec<u64> {
    state
        .apply_batch(now_ms, &checked(ops))
        .into_iter()
        .map(|outcome| outcome.expect("applies").index)
        .collect()
}

/// Applies one operation at the state's time and expects `want`, with nothing changed.
fn refused(circuit: &mut Circuit, state: &mut State, op: SignedOperation, want: Reject) {
    let before = state.digest();
    let time = state.time_ms();
    let outcomes = state.apply_batch(time, &checked(std::slice::from_ref(&op)));
    assert_eq!(outcomes, vec![Err(want)]);
    assert_eq!(
        state.digest(),
        before,
        "a refused operation changed the state"
    );
    state.check_invariants().unwrap();
    circuit.settle(&[op], &outcomes);
}

fn mint(class: &str, to: &str, amount: u64) -> Body {
    Body::Mint {
        class: name(class),
        to: name(to),
        amount,
    }
}

fn transfer(class: &str, to: &str, amount: u64) -> Body {
    Body::Transfer {
        class: name(class),
        to: name(to),
        amount,
    }
}

fn pending(class: &str, to: &str, amount: u64, timeout_ms: u64) -> Body {
    Body::Pending {
        class: name(class),
        to: name(to),
        amount,
        timeout_ms,
    }
}

fn balance(state: &State, participant: &str, class: &str) -> u64 {
    state.account(participant, class).unwrap().balance
}

#[test]
fn a_voucher_goes_from_the_issuer_to_a_family_to_a_nursery_and_back() {
    let (mut circuit, mut state) = world();
    let pay = circuit.sign("rossi", transfer("nidi", "asilo", 20_000));
    let redeem = circuit.sign(
        "asilo",
        Body::Redeem {
            class: name("nidi"),
            amount: 15_000,
        },
    );
    let indexes = apply_all(&mut state, START_MS + 1, &[pay, redeem]);
    assert_eq!(balance(&state, "rossi", "nidi"), 30_000);
    assert_eq!(balance(&state, "asilo", "nidi"), 5_000);
    let settlements = state.settlements_of("asilo");
    assert_eq!(settlements.len(), 1);
    assert_eq!(settlements[0].1.amount, 15_000);
    assert_eq!(settlements[0].1.redemptions, 1);
    let supply = state.class("nidi").unwrap().supply;
    assert_eq!(
        supply,
        Supply {
            minted: 50_000,
            redeemed: 15_000,
            clawed_back: 0,
            balances: 35_000,
            pending: 0,
        }
    );
    // Both parties see the payment in their history; the issuer sees the redemption.
    assert!(state.history_of("rossi").contains(&indexes[0]));
    assert!(state.history_of("asilo").ends_with(&indexes));
    assert_eq!(state.history_of("regione").last(), Some(&indexes[1]));
    assert!(!state.history_of("bianchi").contains(&indexes[0]));
    state.check_invariants().unwrap();
}

#[test]
fn a_transferable_class_moves_between_holders() {
    let (mut circuit, mut state) = world();
    let op = circuit.sign("rossi", transfer("dote", "bianchi", 4_000));
    apply_all(&mut state, START_MS, &[op]);
    assert_eq!(balance(&state, "rossi", "dote"), 6_000);
    assert_eq!(balance(&state, "bianchi", "dote"), 4_000);
}

#[test]
fn signatures_must_verify_under_the_actors_own_key() {
    let (mut circuit, mut state) = world();
    // Tampered after signing.
    let mut op = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    op.operation.body = transfer("dote", "bianchi", 9_999);
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::BadSignature {
            actor: "rossi".into(),
        },
    );
    // Signed by another participant with its own key.
    let mut op = circuit.sign("bianchi", transfer("dote", "bianchi", 1));
    op.operation.actor = name("rossi");
    op.operation.seq = circuit.next_seq("rossi");
    let key = circuit.key("bianchi").clone();
    let op = op.operation.sign(&key);
    circuit.set_next_seq("bianchi", 0);
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::BadSignature {
            actor: "rossi".into(),
        },
    );
}

#[test]
fn sequence_numbers_are_neither_reused_nor_skipped() {
    let (mut circuit, mut state) = world();
    let first = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    apply_all(&mut state, START_MS, &[first]);
    circuit.set_next_seq("rossi", 0);
    let reused = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    refused(
        &mut circuit,
        &mut state,
        reused,
        Reject::SequenceReused { expected: 1 },
    );
    circuit.set_next_seq("rossi", 5);
    let gap = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    refused(
        &mut circuit,
        &mut state,
        gap,
        Reject::SequenceGap { expected: 1 },
    );
}

#[test]
fn only_enrolled_participants_act_or_receive() {
    let (mut circuit, mut state) = world();
    let stranger = circuit.sign("sconosciuto", transfer("dote", "bianchi", 1));
    refused(
        &mut circuit,
        &mut state,
        stranger,
        Reject::UnknownParticipant {
            participant: "sconosciuto".into(),
        },
    );
    let to_stranger = circuit.sign("rossi", transfer("dote", "sconosciuto", 1));
    refused(
        &mut circuit,
        &mut state,
        to_stranger,
        Reject::UnknownParticipant {
            participant: "sconosciuto".into(),
        },
    );
    let unknown_class = circuit.sign("rossi", transfer("mensa", "bianchi", 1));
    refused(
        &mut circuit,
        &mut state,
        unknown_class,
        Reject::UnknownClass {
            class: "mensa".into(),
        },
    );
    let again = circuit.enrol("rossi", Role::Holder, Some("citizen"));
    refused(
        &mut circuit,
        &mut state,
        again,
        Reject::AlreadyEnrolled {
            participant: "rossi".into(),
        },
    );
}

#[test]
fn class_rules_decide_who_may_receive() {
    let (mut circuit, mut state) = world();
    let not_allowed = |participant: &str, class: &str| Reject::ClassNotAllowed {
        class: class.into(),
        participant: participant.into(),
    };
    // Nidi is not transferable between holders.
    let op = circuit.sign("rossi", transfer("nidi", "bianchi", 1));
    refused(&mut circuit, &mut state, op, not_allowed("bianchi", "nidi"));
    // Nidi is spent only at nurseries.
    let op = circuit.sign("rossi", transfer("nidi", "cartoleria", 1));
    refused(
        &mut circuit,
        &mut state,
        op,
        not_allowed("cartoleria", "nidi"),
    );
    // Nidi is for citizens, not businesses.
    let op = circuit.sign("regione", mint("nidi", "impresa", 1));
    refused(&mut circuit, &mut state, op, not_allowed("impresa", "nidi"));
    // Nobody mints to a merchant.
    let op = circuit.sign("regione", mint("nidi", "asilo", 1));
    refused(&mut circuit, &mut state, op, not_allowed("asilo", "nidi"));
    // An auditor receives nothing.
    let op = circuit.sign("rossi", transfer("dote", "revisore", 1));
    refused(
        &mut circuit,
        &mut state,
        op,
        not_allowed("revisore", "dote"),
    );
}

#[test]
fn roles_decide_who_may_act() {
    let (mut circuit, mut state) = world();
    let enrol = Body::Enrol {
        participant: name("nuovo"),
        role: Role::Holder,
        key: circuit.public_key("nuovo"),
        category: None,
    };
    let clawback = Body::Clawback {
        class: name("nidi"),
        from: name("rossi"),
        amount: 1,
        reason: "audit".into(),
    };
    let redeem = Body::Redeem {
        class: name("nidi"),
        amount: 1,
    };
    let authority_only = "only the circuit's authority may do this";
    let cases = vec![
        (
            "comune",
            mint("nidi", "rossi", 1),
            "only the class's issuer mints it",
        ),
        (
            "rossi",
            mint("nidi", "rossi", 1),
            "only the class's issuer mints it",
        ),
        (
            "asilo",
            transfer("nidi", "rossi", 1),
            "only holders transfer or pay",
        ),
        (
            "regione",
            pending("nidi", "asilo", 1, 9),
            "only holders transfer or pay",
        ),
        ("rossi", redeem, "only merchants redeem"),
        ("regione", enrol, authority_only),
        ("revisore", clawback, authority_only),
        (
            "rossi",
            transfer("dote", "rossi", 1),
            "a participant does not pay itself",
        ),
    ];
    for (actor, body, reason) in cases {
        let op = circuit.sign(actor, body);
        refused(&mut circuit, &mut state, op, Reject::NotAllowed { reason });
    }
    let mut bad_issuer = rules("rossi", &[]);
    bad_issuer.title = "x".into();
    let op = circuit.define("abusivo", bad_issuer);
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::NotAllowed {
            reason: "a class's issuer must have the issuer role",
        },
    );
    let op = circuit.define("nidi", rules("regione", &[]));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::ClassExists {
            class: "nidi".into(),
        },
    );
}

#[test]
fn balances_limits_and_amounts_are_enforced() {
    let (mut circuit, mut state) = world();
    let op = circuit.sign("rossi", transfer("nidi", "asilo", 50_001));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::InsufficientBalance { available: 50_000 },
    );
    let op = circuit.sign("regione", mint("nidi", "rossi", NIDI_LIMIT - 50_000 + 1));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::OverHolderLimit { limit: NIDI_LIMIT },
    );
    let op = circuit.sign("rossi", transfer("dote", "bianchi", 0));
    refused(&mut circuit, &mut state, op, Reject::AmountZero);
    // dote has no holder limit: the account itself overflows.
    let big = circuit.sign("comune", mint("dote", "bianchi", u64::MAX));
    apply_all(&mut state, START_MS, &[big]);
    let op = circuit.sign("comune", mint("dote", "bianchi", 1));
    refused(&mut circuit, &mut state, op, Reject::Overflow);
    let op = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    refused(&mut circuit, &mut state, op, Reject::Overflow);
    // The totals are u128: far above one account's u64.
    let op = circuit.sign("comune", mint("dote", "impresa", u64::MAX));
    apply_all(&mut state, START_MS, &[op]);
    assert_eq!(
        state.class("dote").unwrap().supply.minted,
        2 * u128::from(u64::MAX) + 10_000
    );
    state.check_invariants().unwrap();
}

#[test]
fn an_expired_class_cannot_be_minted_or_spent_but_can_be_redeemed() {
    let (mut circuit, mut state) = world();
    let paid = circuit.sign("rossi", transfer("dote", "cartoleria", 2_000));
    apply_all(&mut state, START_MS, &[paid]);
    let expired = Reject::ClassExpired {
        class: "dote".into(),
        expires_at_ms: DOTE_EXPIRES_MS,
    };
    // Advance time past the expiry with an operation on another class.
    let tick = circuit.sign("rossi", transfer("nidi", "asilo", 1));
    apply_all(&mut state, DOTE_EXPIRES_MS, &[tick]);
    let op = circuit.sign("rossi", transfer("dote", "cartoleria", 1));
    refused(&mut circuit, &mut state, op, expired.clone());
    let op = circuit.sign("comune", mint("dote", "rossi", 1));
    refused(&mut circuit, &mut state, op, expired.clone());
    let op = circuit.sign("rossi", pending("dote", "cartoleria", 1, 1_000));
    refused(&mut circuit, &mut state, op, expired);
    let redeem = circuit.sign(
        "cartoleria",
        Body::Redeem {
            class: name("dote"),
            amount: 2_000,
        },
    );
    apply_all(&mut state, DOTE_EXPIRES_MS, &[redeem]);
    assert_eq!(state.settlements_of("cartoleria")[0].1.amount, 2_000);
}

#[test]
fn two_phase_payments_post_void_and_expire() {
    let (mut circuit, mut state) = world();
    let hold = circuit.sign("rossi", pending("nidi", "asilo", 10_000, 5_000));
    let hold_id = hold.operation.id;
    apply_all(&mut state, START_MS, &[hold]);
    let account = state.account("rossi", "nidi").unwrap();
    assert_eq!((account.balance, account.pending_out), (40_000, 10_000));
    assert_eq!(state.class("nidi").unwrap().supply.pending, 10_000);
    // Only the payee posts.
    let op = circuit.sign(
        "rossi",
        Body::Post {
            class: name("nidi"),
            pending: hold_id,
        },
    );
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::NotAllowed {
            reason: "only the payee posts or voids a pending payment",
        },
    );
    let post = circuit.sign(
        "asilo",
        Body::Post {
            class: name("nidi"),
            pending: hold_id,
        },
    );
    apply_all(&mut state, START_MS + 1, &[post]);
    assert_eq!(balance(&state, "asilo", "nidi"), 10_000);
    assert_eq!(state.pending(&hold_id).unwrap().0, PendingStatus::Posted);
    // A posted payment cannot be voided or posted again.
    for body in [
        Body::Void {
            class: name("nidi"),
            pending: hold_id,
        },
        Body::Post {
            class: name("nidi"),
            pending: hold_id,
        },
    ] {
        let op = circuit.sign("asilo", body);
        refused(&mut circuit, &mut state, op, Reject::PendingPosted);
    }

    // Voided: the payer gets it back, and it cannot be posted after.
    let hold = circuit.sign("rossi", pending("nidi", "asilo", 5_000, 5_000));
    let voided_id = hold.operation.id;
    let void = circuit.sign(
        "asilo",
        Body::Void {
            class: name("nidi"),
            pending: voided_id,
        },
    );
    apply_all(&mut state, START_MS + 2, &[hold, void]);
    assert_eq!(balance(&state, "rossi", "nidi"), 40_000);
    let op = circuit.sign(
        "asilo",
        Body::Post {
            class: name("nidi"),
            pending: voided_id,
        },
    );
    refused(&mut circuit, &mut state, op, Reject::PendingVoided);

    // Timed out: posting after the deadline fails and the payer has its money back.
    let hold = circuit.sign("rossi", pending("nidi", "asilo", 7_000, 100));
    let late_id = hold.operation.id;
    apply_all(&mut state, START_MS + 10, &[hold]);
    assert_eq!(balance(&state, "rossi", "nidi"), 33_000);
    let tick = circuit.sign("rossi", transfer("dote", "bianchi", 1));
    apply_all(&mut state, START_MS + 110, &[tick]);
    assert_eq!(balance(&state, "rossi", "nidi"), 40_000);
    let op = circuit.sign(
        "asilo",
        Body::Post {
            class: name("nidi"),
            pending: late_id,
        },
    );
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::PendingExpired {
            expired_at_ms: START_MS + 110,
        },
    );
    // Unknown ids, or an id of another class, are unknown.
    for (class, id) in [
        ("nidi", OperationId::from_bytes([7; 16]).unwrap()),
        ("dote", late_id),
    ] {
        let op = circuit.sign(
            "asilo",
            Body::Void {
                class: name(class),
                pending: id,
            },
        );
        refused(
            &mut circuit,
            &mut state,
            op,
            Reject::UnknownPending {
                pending: id.to_hex(),
            },
        );
    }
    for timeout_ms in [0, token::op::PENDING_TIMEOUT_MS_MAX + 1] {
        let op = circuit.sign("rossi", pending("nidi", "asilo", 1, timeout_ms));
        refused(&mut circuit, &mut state, op, Reject::TimeoutOutOfRange);
    }
    state.check_invariants().unwrap();
}

#[test]
fn the_same_id_returns_the_first_result_and_other_content_under_it_is_refused() {
    let (mut circuit, mut state) = world();
    let op = circuit.sign("rossi", transfer("dote", "bianchi", 100));
    let first = state.apply_batch(START_MS, &checked(std::slice::from_ref(&op)));
    let first = first[0].clone().unwrap();
    let before = state.digest();
    let again = state.apply_batch(START_MS, &checked(std::slice::from_ref(&op)));
    assert_eq!(
        again[0].clone().unwrap(),
        token::Applied {
            duplicate: true,
            ..first
        }
    );
    assert_eq!(state.digest(), before);
    let mut other = op.operation.clone();
    other.body = transfer("dote", "bianchi", 200);
    let key = circuit.key("rossi").clone();
    let other = other.sign(&key);
    refused(&mut circuit, &mut state, other, Reject::IdConflict);
}

#[test]
fn operations_for_another_ledger_are_refused() {
    let (_, mut state) = world();
    let mut elsewhere = Circuit::new("veneto", 1);
    let op = elsewhere.sign("rossi", transfer("dote", "bianchi", 1));
    let mut circuit = Circuit::new("lombardia", 1);
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::WrongLedger {
            got: "veneto".into(),
            want: "lombardia".into(),
        },
    );
}

#[test]
fn a_linked_chain_applies_entirely_or_not_at_all() {
    let (mut circuit, mut state) = world();
    let before = state.digest();
    let ops = vec![
        circuit.sign_linked("rossi", transfer("dote", "bianchi", 1_000)),
        circuit.sign_linked("bianchi", transfer("dote", "cartoleria", 1_000)),
        circuit.sign("cartoleria", transfer("dote", "rossi", 1)),
    ];
    let outcomes = state.apply_batch(START_MS, &checked(&ops));
    assert_eq!(
        outcomes,
        vec![
            Err(Reject::LinkedEventFailed),
            Err(Reject::LinkedEventFailed),
            Err(Reject::NotAllowed {
                reason: "only holders transfer or pay"
            }),
        ]
    );
    assert_eq!(state.digest(), before);
    circuit.settle(&ops, &outcomes);
    // The same chain with a valid last step applies whole, and a following unlinked operation
    // is independent of it.
    let ops = vec![
        circuit.sign_linked("rossi", transfer("dote", "bianchi", 1_000)),
        circuit.sign("bianchi", transfer("dote", "cartoleria", 1_000)),
        circuit.sign("rossi", transfer("dote", "bianchi", 1_000_000)),
    ];
    let outcomes = state.apply_batch(START_MS, &checked(&ops));
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
    assert_eq!(
        outcomes[2],
        Err(Reject::InsufficientBalance { available: 9_000 })
    );
    assert_eq!(balance(&state, "cartoleria", "dote"), 1_000);
    // A batch ending inside a chain applies none of it.
    let before = state.digest();
    let open = vec![circuit.sign_linked("rossi", transfer("dote", "bianchi", 1))];
    let outcomes = state.apply_batch(START_MS, &checked(&open));
    assert_eq!(outcomes, vec![Err(Reject::LinkedChainOpen)]);
    assert_eq!(state.digest(), before);
    state.check_invariants().unwrap();
}

#[test]
fn an_enrolment_and_a_definition_undone_with_their_chain_leave_no_trace() {
    let (mut circuit, mut state) = world();
    let before = state.digest();
    let mut linked = Vec::new();
    let key = circuit.public_key("nuovo");
    linked.push(circuit.sign_linked(
        "authority",
        Body::Enrol {
            participant: name("nuovo"),
            role: Role::Holder,
            key,
            category: Some(name("citizen")),
        },
    ));
    linked.push(circuit.sign_linked(
        "authority",
        Body::DefineClass {
            class: name("mensa"),
            rules: rules("comune", &[]),
        },
    ));
    linked.push(circuit.sign("comune", mint("mensa", "nuovo", 0)));
    let outcomes = state.apply_batch(START_MS, &checked(&linked));
    assert_eq!(outcomes[2], Err(Reject::AmountZero));
    assert_eq!(state.digest(), before);
    assert!(state.participant("nuovo").is_none());
    assert!(state.class("mensa").is_none());
    // The chain's failure left the authority's sequence number where it was.
    assert_eq!(
        state.participant("authority").unwrap().next_seq,
        circuit.next_seq("authority") - 2
    );
}

#[test]
fn the_authority_claws_back_with_a_reason() {
    let (mut circuit, mut state) = world();
    let clawback = |amount, reason: &str| Body::Clawback {
        class: name("nidi"),
        from: name("rossi"),
        amount,
        reason: reason.into(),
    };
    let op = circuit.sign("authority", clawback(1, "  "));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::NotAllowed {
            reason: "a clawback records a reason",
        },
    );
    let op = circuit.sign("authority", clawback(1, &"x".repeat(513)));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::TooLong { field: "reason" },
    );
    let op = circuit.sign("authority", clawback(60_000, "requisiti non posseduti"));
    refused(
        &mut circuit,
        &mut state,
        op,
        Reject::InsufficientBalance { available: 50_000 },
    );
    let op = circuit.sign("authority", clawback(20_000, "requisiti non posseduti"));
    apply_all(&mut state, START_MS, &[op]);
    let supply = state.class("nidi").unwrap().supply;
    assert_eq!((supply.clawed_back, supply.balances), (20_000, 30_000));
    state.check_invariants().unwrap();
}
