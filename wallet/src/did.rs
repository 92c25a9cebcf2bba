//! DIDs: did:key (Ed25519 and P-256, computed offline) for holders, and did:web documents for
//! issuers, whose keys come from the issuer registry rather than the network.

use serde_json::{json, Value};

use crate::jose::PublicKey;
use crate::Error;

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of a compressed P-256 public key (`p256-pub`, varint 0x1200).
const P256_PUB: [u8; 2] = [0x80, 0x24];

/// The fragment of an issuer's Ed25519 verification method (Data Integrity).
pub const ED25519_FRAGMENT: &str = "ed25519";
/// The fragment of an issuer's P-256 verification method (ES256).
pub const P256_FRAGMENT: &str = "p256";

/// The multibase (base58btc, `z`) multicodec encoding of a public key, as used by did:key and
/// `publicKeyMultibase`.
pub fn multikey(key: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(35);
    match key {
        PublicKey::Ed25519(key) => {
            bytes.extend_from_slice(&ED25519_PUB);
            bytes.extend_from_slice(key.as_bytes());
        }
        PublicKey::P256(key) => {
            bytes.extend_from_slice(&P256_PUB);
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(key, true);
            bytes.extend_from_slice(point.as_bytes());
        }
    }
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Reads a `publicKeyMultibase` value.
pub fn from_multikey(text: &str) -> Result<PublicKey, Error> {
    let bad = |reason: &str| Error::Malformed {
        what: "multikey",
        reason: reason.into(),
    };
    let encoded = text
        .strip_prefix('z')
        .ok_or_else(|| bad("only base58btc (z) multibase is used"))?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| bad("not base58btc"))?;
    match bytes.split_at_checked(2) {
        Some((prefix, key)) if prefix == ED25519_PUB => {
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| bad("Ed25519 keys are 32 bytes"))?;
            Ok(PublicKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(&key)
                    .map_err(|_| bad("not an Ed25519 point"))?,
            ))
        }
        Some((prefix, key)) if prefix == P256_PUB => {
            if key.len() != 33 {
                return Err(bad("P-256 keys are 33-byte compressed points"));
            }
            Ok(PublicKey::P256(
                p256::PublicKey::from_sec1_bytes(key).map_err(|_| bad("not a point on P-256"))?,
            ))
        }
        _ => Err(bad("only Ed25519 and P-256 keys are supported")),
    }
}

/// The did:key DID of a public key.
pub fn did_key(key: &PublicKey) -> String {
    format!("did:key:{}", multikey(key))
}

/// Resolves a did:key DID (or DID URL: the fragment must repeat the key) to its key, offline.
pub fn resolve_did_key(did: &str) -> Result<PublicKey, Error> {
    let rest = did
        .strip_prefix("did:key:")
        .ok_or_else(|| Error::Malformed {
            what: "did:key",
            reason: "not a did:key DID".into(),
        })?;
    let (identifier, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    if !fragment.is_empty() && fragment != identifier {
        return Err(Error::Malformed {
            what: "did:key",
            reason: "the fragment must repeat the key".into(),
        });
    }
    from_multikey(identifier)
}

/// An issuer's did:web document: its Ed25519 key as a `Multikey` (Data Integrity proofs) and
/// its P-256 key as a `JsonWebKey` (ES256 for SD-JWT VC), both assertion methods.
pub fn issuer_document(did: &str, name: &str, ed25519: &PublicKey, p256: &PublicKey) -> Value {
    let ed_id = format!("{did}#{ED25519_FRAGMENT}");
    let p256_id = format!("{did}#{P256_FRAGMENT}");
    json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/jwk/v1"
        ],
        "id": did,
        "alsoKnownAs": [],
        "verificationMethod": [
            {"id": ed_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey(ed25519)},
            {"id": p256_id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": p256.to_jwk()}
        ],
        "assertionMethod": [ed_id, p256_id],
        "service": [{"id": format!("{did}#name"), "type": "LinkedDomains", "serviceEndpoint": format!("urn:sigillo:issuer:{name}")}]
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    #[test]
    fn did_key_vectors_from_the_did_key_spec() {
        // did:key test vectors (w3c-ccg did-method-key): an Ed25519 and a P-256 key.
        for did in [
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        ] {
            let key = resolve_did_key(did).unwrap();
            assert_eq!(did_key(&key), did);
        }
        assert!(
            resolve_did_key("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#other")
                .is_err()
        );
        assert!(
            resolve_did_key("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme").is_err()
        );
    }
}
