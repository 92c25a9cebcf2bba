//! `docs/notary-formats.md` has a worked example with real values. This test recomputes every
//! one of them with the code and checks that the document shows exactly those bytes, so the
//! document cannot drift from the implementation. `SIGILLO_PRINT_EXAMPLE=1` prints them.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use ed25519_dalek::SigningKey;
use notary::hash::leaf_hash;
use notary::merkle::{BlockTree, LogTree};
use notary::receipt::{TlogProof, RECEIPT_FORMAT};
use notary::{BlockHeader, Checkpoint, Digest, NoteSigner, Receipt, ReceiptVerifier};

const ORIGIN: &str = "example.sigillo/notary";

/// Every value of the worked example, labelled as the document labels it.
fn example() -> (Vec<(&'static str, String)>, Receipt, NoteSigner) {
    let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&seed)).unwrap();
    let entries: Vec<Digest> = ["hello", "world", "sigillo"]
        .iter()
        .map(|text| Digest::sha256(text.as_bytes()))
        .collect();
    let tree = BlockTree::build(&entries);
    let block0 = BlockHeader {
        height: 0,
        time_ms: 1_763_800_000_000,
        first_entry: 0,
        entry_count: 3,
        entries_root: tree.root(),
    };
    let second = [Digest::sha256(b"second block")];
    let block1 = BlockHeader {
        height: 1,
        time_ms: 1_763_800_000_100,
        first_entry: 3,
        entry_count: 1,
        entries_root: BlockTree::build(&second).root(),
    };
    let mut log = LogTree::new();
    log.push(block0.leaf_hash());
    log.push(block1.leaf_hash());
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: 2,
        root: log.root(2),
    };
    let note = signer.sign(&checkpoint.to_text()).unwrap();
    let log_proof = TlogProof {
        index: 0,
        path: log.inclusion_proof(0, 2),
        checkpoint: note.clone(),
    }
    .to_text();
    let receipt = Receipt {
        format: RECEIPT_FORMAT.into(),
        entry: entries[1],
        block: block0,
        entry_index: 1,
        entry_path: tree.inclusion_proof(1),
        log_proof,
        salt: None,
        state: Default::default(),
        anchor: None,
    };
    let values = vec![
        ("secret-seed", hex::encode(seed)),
        ("vkey", signer.verifier().to_vkey()),
        ("key-id", format!("{:08x}", signer.verifier().key_id())),
        ("entry-hello", entries[0].to_hex()),
        ("entry-world", entries[1].to_hex()),
        ("entry-sigillo", entries[2].to_hex()),
        ("leaf-world", leaf_hash(entries[1].as_bytes()).to_hex()),
        ("entries-root", block0.entries_root.to_hex()),
        ("header0-encoded", hex::encode(block0.encode())),
        ("header0-leaf", block0.leaf_hash().to_hex()),
        ("header1-encoded", hex::encode(block1.encode())),
        ("header1-leaf", block1.leaf_hash().to_hex()),
        ("log-root-hex", checkpoint.root.to_hex()),
        ("signed-checkpoint", note),
        (
            "receipt-json",
            serde_json::to_string_pretty(&receipt).unwrap(),
        ),
    ];
    (values, receipt, signer)
}

#[test]
fn the_document_shows_the_values_the_code_computes() {
    let (values, receipt, signer) = example();
    ReceiptVerifier::new(signer.verifier())
        .verify(&receipt, &receipt.entry)
        .unwrap();
    if std::env::var_os("SIGILLO_PRINT_EXAMPLE").is_some() {
        for (label, value) in &values {
            println!("=== {label}\n{value}");
        }
    }
    let document = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/notary-formats.md"
    ))
    .unwrap();
    for (label, value) in &values {
        assert!(
            document.contains(value.as_str()),
            "docs/notary-formats.md does not show {label}:\n{value}"
        );
    }
}
