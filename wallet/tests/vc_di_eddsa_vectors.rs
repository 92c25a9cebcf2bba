//! The W3C vc-di-eddsa specification's test vectors (`tests/vectors/`): our `eddsa-rdfc-2022`
//! (through `ssi` and the patched JSON-LD stack) and our own `eddsa-jcs-2022` produce the
//! specification's proof values byte for byte from its key, and accept its signed credentials;
//! a changed claim or proof value is refused.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use serde_json::Value;
use wallet::vc::{add_proof, check_proof, Loader, Suite};

const PRIVATE_KEY_MULTIBASE: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
const PUBLIC_KEY_MULTIBASE: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const ISSUER: &str = "https://vc.example/issuers/5678";
/// 2023-02-24T23:36:38Z, the vectors' `created`.
const CREATED: i64 = 1_677_281_798;

fn key() -> ed25519_dalek::SigningKey {
    // Multikey: multibase base58btc of the multicodec ed25519-priv (0x1300, varint 0x80 0x26)
    // followed by the 32-byte seed.
    let bytes = bs58::decode(&PRIVATE_KEY_MULTIBASE[1..])
        .into_vec()
        .unwrap();
    assert_eq!(&bytes[..2], &[0x80, 0x26]);
    let key = ed25519_dalek::SigningKey::from_bytes(&bytes[2..].try_into().unwrap());
    let public = bs58::decode(&PUBLIC_KEY_MULTIBASE[1..]).into_vec().unwrap();
    assert_eq!(&public[..2], &[0xed, 0x01]);
    assert_eq!(&public[2..], key.verifying_key().as_bytes());
    key
}

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn method() -> String {
    format!("{ISSUER}#{PUBLIC_KEY_MULTIBASE}")
}

fn check(suite: Suite, file: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let loader = Loader::new();
    let key = key();
    let signed = vector(file);
    let expected = signed["proof"]["proofValue"].as_str().unwrap();
    let mut unsigned = signed.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    runtime.block_on(async {
        let ours = add_proof(&loader, &key, ISSUER, &method(), unsigned, suite, CREATED)
            .await
            .unwrap();
        assert_eq!(ours["proof"]["proofValue"], expected, "{}", suite.name());
        assert_eq!(ours["proof"]["created"], signed["proof"]["created"]);
        let verifying = key.verifying_key();
        let at = CREATED + 1;
        check_proof(&loader, &signed, &verifying, ISSUER, &method(), suite, at)
            .await
            .unwrap();
        check_proof(&loader, &ours, &verifying, ISSUER, &method(), suite, at)
            .await
            .unwrap();
        let mut changed = signed.clone();
        changed["credentialSubject"]["alumniOf"] = "The School of Counterfeits".into();
        assert!(
            check_proof(&loader, &changed, &verifying, ISSUER, &method(), suite, at)
                .await
                .is_err()
        );
        let mut forged = signed.clone();
        let mut value = expected.to_owned();
        value.replace_range(10..11, if &value[10..11] == "A" { "B" } else { "A" });
        forged["proof"]["proofValue"] = value.into();
        assert!(
            check_proof(&loader, &forged, &verifying, ISSUER, &method(), suite, at)
                .await
                .is_err()
        );
    });
}

#[test]
fn eddsa_rdfc_2022_matches_the_specification_vector() {
    check(Suite::EddsaRdfc2022, "vc-di-eddsa-rdfc-signed.json");
}

#[test]
fn eddsa_jcs_2022_matches_the_specification_vector() {
    check(Suite::EddsaJcs2022, "vc-di-eddsa-jcs-signed.json");
}
