//! The offline receipt verifier: tamper each field of a receipt and of its checkpoint in turn,
//! and expect the precise error.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use ed25519_dalek::SigningKey;
use notary::merkle::ProofError;
use notary::note::NoteError;
use notary::receipt::TlogProof;
use notary::{Digest, Notary, NotaryConfig, NoteSigner, Receipt, ReceiptError, ReceiptVerifier};

const ORIGIN: &str = "sigillo.test/notary";

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).unwrap()
}

/// A receipt in a block of 7 entries at height 2 (so both paths have several hashes).
async fn sample() -> (Receipt, Digest, NoteSigner) {
    let dir = std::env::temp_dir().join(format!("sigillo-receipts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = NotaryConfig::new(ORIGIN);
    config.block_interval_ms = 1;
    let notary = Notary::open(&dir, signer(), config).unwrap();
    notary.submit(vec![Digest::sha256(b"a")]).await.unwrap();
    notary.submit(vec![Digest::sha256(b"b")]).await.unwrap();
    let entries: Vec<Digest> = (0u8..7).map(|i| Digest::sha256(&[i])).collect();
    let submitted = notary.submit(entries.clone()).await.unwrap();
    notary.submit(vec![Digest::sha256(b"c")]).await.unwrap();
    let receipt = notary.refresh(&submitted.receipts()[5], None).unwrap();
    notary.shutdown();
    drop(notary);
    std::fs::remove_dir_all(&dir).unwrap();
    (receipt, entries[5], signer())
}

fn verify(receipt: &Receipt, entry: &Digest, signer: &NoteSigner) -> Result<(), ReceiptError> {
    ReceiptVerifier::new(signer.verifier())
        .verify(receipt, entry)
        .map(|_| ())
}

fn with_log_proof(receipt: &Receipt, change: impl FnOnce(&mut TlogProof)) -> Receipt {
    let mut proof = TlogProof::parse(&receipt.log_proof).unwrap();
    change(&mut proof);
    Receipt {
        log_proof: proof.to_text(),
        ..receipt.clone()
    }
}

fn flip(digest: &Digest) -> Digest {
    let mut bytes = *digest.as_bytes();
    bytes[0] ^= 1;
    Digest::from_bytes(bytes)
}

#[tokio::test]
async fn every_tampered_field_fails_with_its_error() {
    let (receipt, entry, signer) = sample().await;
    assert_eq!(receipt.block.height, 2);
    assert!(receipt.entry_path.len() >= 3);
    verify(&receipt, &entry, &signer).unwrap();

    let entry_path_mismatch = |result: Result<(), ReceiptError>| {
        matches!(
            result,
            Err(ReceiptError::EntryPath(ProofError::RootMismatch { .. }))
        )
    };
    let block_path_mismatch = |result: Result<(), ReceiptError>| {
        matches!(
            result,
            Err(ReceiptError::BlockPath(ProofError::RootMismatch { .. }))
        )
    };

    // format
    let mut bad = receipt.clone();
    bad.format = "sigillo.receipt/v0".into();
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::UnsupportedFormat { .. })
    ));
    // the file changed: the entry checked is not the receipt's
    assert!(matches!(
        verify(&receipt, &flip(&entry), &signer),
        Err(ReceiptError::EntryMismatch { .. })
    ));
    // the entry in the receipt was swapped along with the file
    let mut bad = receipt.clone();
    bad.entry = flip(&entry);
    assert!(entry_path_mismatch(verify(
        &bad,
        &bad.entry.clone(),
        &signer
    )));
    // entry index
    let mut bad = receipt.clone();
    bad.entry_index = 4;
    assert!(entry_path_mismatch(verify(&bad, &entry, &signer)));
    let mut bad = receipt.clone();
    bad.entry_index = 7;
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::EntryPath(ProofError::IndexOutOfRange { .. }))
    ));
    // entry path: a flipped hash, truncated, extended, reordered
    let mut bad = receipt.clone();
    bad.entry_path[1] = flip(&bad.entry_path[1]);
    assert!(entry_path_mismatch(verify(&bad, &entry, &signer)));
    let mut bad = receipt.clone();
    bad.entry_path.pop();
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::EntryPath(ProofError::WrongProofSize { .. }))
    ));
    let mut bad = receipt.clone();
    bad.entry_path.push(entry);
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::EntryPath(ProofError::WrongProofSize { .. }))
    ));
    let mut bad = receipt.clone();
    bad.entry_path.swap(0, 1);
    assert!(entry_path_mismatch(verify(&bad, &entry, &signer)));
    // block header fields: each changes the leaf, so the block is not in the log
    let mut bad = receipt.clone();
    bad.block.entries_root = flip(&bad.block.entries_root);
    assert!(entry_path_mismatch(verify(&bad, &entry, &signer)));
    let mut bad = receipt.clone();
    // Index 5 has the same audit path shape in trees of 7 and 8 leaves, so this tamper
    // is caught by the header's leaf no longer being in the log.
    bad.block.entry_count = 8;
    assert!(block_path_mismatch(verify(&bad, &entry, &signer)));
    let mut bad = receipt.clone();
    bad.block.entry_count = 5;
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::EntryPath(ProofError::IndexOutOfRange { .. }))
    ));
    for change in [
        (|b: &mut notary::BlockHeader| b.time_ms += 1) as fn(&mut notary::BlockHeader),
        |b| b.first_entry += 1,
    ] {
        let mut bad = receipt.clone();
        change(&mut bad.block);
        assert!(block_path_mismatch(verify(&bad, &entry, &signer)));
    }
    let mut bad = receipt.clone();
    bad.block.height = 1;
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::BlockIndexMismatch { .. })
    ));
    // log proof: index, path hash, truncated, reordered
    let bad = with_log_proof(&receipt, |p| p.index = 1);
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::BlockIndexMismatch { .. })
    ));
    let bad = with_log_proof(&receipt, |p| p.path[0] = flip(&p.path[0]));
    assert!(block_path_mismatch(verify(&bad, &entry, &signer)));
    let bad = with_log_proof(&receipt, |p| {
        p.path.pop();
    });
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::BlockPath(ProofError::WrongProofSize { .. }))
    ));
    let bad = with_log_proof(&receipt, |p| p.path.reverse());
    assert!(block_path_mismatch(verify(&bad, &entry, &signer)));
    let mut bad = receipt.clone();
    bad.log_proof = bad
        .log_proof
        .replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1);
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::MalformedLogProof { .. })
    ));
    // checkpoint: size, root, origin, signature; each breaks the signature
    let proof = TlogProof::parse(&receipt.log_proof).unwrap();
    let (text, signature) = proof.checkpoint.rsplit_once("\n\n").unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    let resign = |body: String| format!("{body}\n\n{signature}");
    for body in [
        format!("{}\n{}\n{}", lines[0], 5, lines[2]),
        format!(
            "{}\n{}\n{}",
            lines[0],
            lines[1],
            flip(&Digest::from_base64(lines[2]).unwrap()).to_base64()
        ),
        format!("{}x\n{}\n{}", lines[0], lines[1], lines[2]),
    ] {
        let bad = with_log_proof(&receipt, |p| p.checkpoint = resign(body));
        assert!(
            matches!(
                verify(&bad, &entry, &signer),
                Err(ReceiptError::Checkpoint(NoteError::BadSignature { .. }))
            ),
            "{:?}",
            verify(&bad, &entry, &signer)
        );
    }
    let bad = with_log_proof(&receipt, |p| {
        let mut sig = p.checkpoint.clone();
        let at = sig.len() - 10;
        let replacement = if &sig[at..at + 1] == "A" { "B" } else { "A" };
        sig.replace_range(at..at + 1, replacement);
        p.checkpoint = sig;
    });
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::Checkpoint(NoteError::BadSignature { .. }))
    ));
    // A checkpoint honestly signed by the same key but for a wrong size fails the path.
    let bad = with_log_proof(&receipt, |p| {
        let body = format!("{}\n{}\n{}\n", lines[0], 3, lines[2]);
        p.checkpoint = signer.sign(&body).unwrap();
    });
    assert!(matches!(
        verify(&bad, &entry, &signer),
        Err(ReceiptError::BlockPath(_))
    ));
    // the wrong key: another key under the same name is an unknown key
    let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[6; 32])).unwrap();
    assert!(matches!(
        verify(&receipt, &entry, &other),
        Err(ReceiptError::Checkpoint(NoteError::UnknownKey { .. }))
    ));
}
