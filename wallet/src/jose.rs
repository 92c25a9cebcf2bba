//! JSON Web Signatures in compact form (RFC 7515), for ES256 (P-256, through `ring`) and EdDSA
//! (Ed25519, through `ed25519-dalek` with `verify_strict`), and the public JWKs of those keys.
//!
//! Only these two algorithms exist here: `alg: none` and every HMAC algorithm are refused by
//! name before any key is touched, and a key is only ever used with the one algorithm its type
//! allows, so a public key can never be mistaken for an HMAC secret (key confusion).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{json, Map, Value};

use crate::Error;

/// The largest compact JWS accepted, in bytes (header, payload and signature).
pub const JWS_BYTES_MAX: usize = 64 * 1024;

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; `what` names the field in the error.
pub fn unb64(text: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
        what,
        reason: "not unpadded base64url".into(),
    })
}

/// A signature algorithm this crate signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Parses a header's `alg`, refusing `none` and the HMAC family by name.
    pub fn from_header(alg: &str) -> Result<Self, Error> {
        match alg {
            "ES256" => Ok(Algorithm::Es256),
            "EdDSA" | "Ed25519" => Ok(Algorithm::EdDsa),
            "none" | "None" | "NONE" => Err(Error::AlgorithmRefused {
                alg: alg.into(),
                reason: "unsigned tokens are never accepted",
            }),
            hmac if hmac.starts_with("HS") => Err(Error::AlgorithmRefused {
                alg: alg.into(),
                reason: "HMAC would use a public key as a shared secret",
            }),
            _ => Err(Error::AlgorithmRefused {
                alg: alg.into(),
                reason: "only ES256 and EdDSA are supported",
            }),
        }
    }
}

/// A private key that signs JWSs.
// One per issuer or holder; boxing the Ed25519 key would only add an indirection to signing.
#[allow(clippy::large_enum_variant)]
pub enum SigningKey {
    /// A P-256 key (ES256).
    P256(Box<EcdsaKeyPair>),
    /// An Ed25519 key (EdDSA).
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, secret hidden)", self.public())
    }
}

impl SigningKey {
    /// Generates a P-256 key; returns it with its PKCS#8 document, for storage.
    pub fn generate_p256() -> (Self, zeroize::Zeroizing<Vec<u8>>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("the system random source works");
        let pkcs8 = zeroize::Zeroizing::new(pkcs8.as_ref().to_vec());
        let key = Self::p256_from_pkcs8(&pkcs8).expect("ring reads the PKCS#8 it wrote");
        (key, pkcs8)
    }

    /// Reads a P-256 key from PKCS#8 DER.
    pub fn p256_from_pkcs8(pkcs8: &[u8]) -> Result<Self, Error> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| Error::Malformed {
            what: "P-256 key",
            reason: "not a PKCS#8 P-256 key".into(),
        })?;
        Ok(SigningKey::P256(Box::new(pair)))
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::P256(_) => Algorithm::Es256,
            SigningKey::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        match self {
            SigningKey::P256(pair) => PublicKey::P256(
                p256::PublicKey::from_sec1_bytes(pair.public_key().as_ref())
                    .expect("ring's public key is a valid SEC1 point"),
            ),
            SigningKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
        }
    }

    /// Signs `message` (for ES256, the 64-byte r || s form that JWS uses).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .expect("ECDSA signing with a valid key does not fail")
                .as_ref()
                .to_vec(),
            SigningKey::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// Signs a compact JWS over `header` (to which `alg`, and `kid` when given, are added) and
    /// `payload`.
    pub fn sign_jws(
        &self,
        mut header: Map<String, Value>,
        kid: Option<&str>,
        payload: &Value,
    ) -> String {
        header.insert("alg".into(), self.algorithm().name().into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        let header = serde_json::to_vec(&header).expect("a JSON map serialises");
        let payload = serde_json::to_vec(payload).expect("a JSON value serialises");
        let mut jws = String::with_capacity(header.len() * 4 / 3 + payload.len() * 4 / 3 + 100);
        jws.push_str(&b64(header));
        jws.push('.');
        jws.push_str(&b64(payload));
        let signature = self.sign(jws.as_bytes());
        jws.push('.');
        jws.push_str(&b64(signature));
        jws
    }
}

/// A public key that verifies JWSs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 key (ES256).
    P256(p256::PublicKey),
    /// An Ed25519 key (EdDSA).
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::Es256,
            PublicKey::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// The public JWK (RFC 7517; OKP per RFC 8037).
    pub fn to_jwk(&self) -> Value {
        match self {
            PublicKey::P256(key) => {
                let point =
                    p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(key, false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(point.x().expect("an uncompressed point has x")),
                    "y": b64(point.y().expect("an uncompressed point has y")),
                })
            }
            PublicKey::Ed25519(key) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.as_bytes())})
            }
        }
    }

    /// Reads a public JWK. Private members (`d`) and symmetric keys (`kty: oct`) are refused.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Malformed {
            what: "jwk",
            reason: reason.into(),
        };
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if jwk.get("d").is_some() {
            return Err(bad("a private key was sent where a public key belongs"));
        }
        match (member("kty"), member("crv")) {
            (Some("EC"), Some("P-256")) => {
                let x = unb64(member("x").ok_or_else(|| bad("missing x"))?, "jwk.x")?;
                let y = unb64(member("y").ok_or_else(|| bad("missing y"))?, "jwk.y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(bad("P-256 coordinates are 32 bytes"));
                }
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(4);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let key = p256::PublicKey::from_sec1_bytes(&sec1)
                    .map_err(|_| bad("not a point on P-256"))?;
                Ok(PublicKey::P256(key))
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = unb64(member("x").ok_or_else(|| bad("missing x"))?, "jwk.x")?;
                let bytes: [u8; 32] = x.try_into().map_err(|_| bad("Ed25519 keys are 32 bytes"))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| bad("not an Ed25519 point"))?;
                Ok(PublicKey::Ed25519(key))
            }
            (Some("oct"), _) => Err(bad("symmetric keys are never accepted")),
            _ => Err(bad("only EC P-256 and OKP Ed25519 keys are supported")),
        }
    }

    /// Verifies `signature` over `message` with `alg`, which must be this key's algorithm.
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        if alg != self.algorithm() {
            return Err(Error::AlgorithmRefused {
                alg: alg.name().into(),
                reason: "the algorithm does not match the key's type",
            });
        }
        match self {
            PublicKey::P256(key) => {
                let point =
                    p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(key, false);
                signature::UnparsedPublicKey::new(
                    &signature::ECDSA_P256_SHA256_FIXED,
                    point.as_bytes(),
                )
                .verify(message, signature)
                .map_err(|_| Error::BadSignature)
            }
            PublicKey::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| Error::BadSignature)?;
                key.verify_strict(message, &signature)
                    .map_err(|_| Error::BadSignature)
            }
        }
    }
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug)]
pub struct Jws<'a> {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload, parsed as a JSON object.
    pub payload: Map<String, Value>,
    /// The algorithm named by the header (already checked to be one we accept).
    pub alg: Algorithm,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Splits and decodes `compact`, refusing oversized tokens, bad encodings and refused
    /// algorithms. The signature is not checked: call [`Jws::verify`].
    pub fn parse(compact: &'a str) -> Result<Self, Error> {
        if compact.len() > JWS_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "jws",
                limit: JWS_BYTES_MAX,
            });
        }
        let mut parts = compact.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed {
                what: "jws",
                reason: "a compact JWS has exactly three parts".into(),
            });
        };
        let header: Map<String, Value> =
            crate::limits::parse_json(&unb64(header, "jws header")?, "jws header")?;
        let payload: Map<String, Value> =
            crate::limits::parse_json(&unb64(payload, "jws payload")?, "jws payload")?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(Error::Malformed {
                what: "jws header",
                reason: "no alg".into(),
            })?;
        let alg = Algorithm::from_header(alg)?;
        if header.contains_key("crit") {
            return Err(Error::Malformed {
                what: "jws header",
                reason: "no critical extension is understood".into(),
            });
        }
        let signature = unb64(signature, "jws signature")?;
        let signing_input = &compact[..compact.rfind('.').expect("three parts were found")];
        Ok(Jws {
            header,
            payload,
            alg,
            signing_input,
            signature,
        })
    }

    /// The header's `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), Error> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    #[test]
    fn es256_and_eddsa_round_trip_through_jwk() {
        let (p256, _) = SigningKey::generate_p256();
        let ed = SigningKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng));
        for key in [p256, ed] {
            let jws = key.sign_jws(Map::new(), Some("k"), &json!({"a": 1}));
            let parsed = Jws::parse(&jws).unwrap();
            let public = PublicKey::from_jwk(&key.public().to_jwk()).unwrap();
            parsed.verify(&public).unwrap();
            assert_eq!(parsed.kid(), Some("k"));
            let mut tampered = jws.clone();
            tampered.insert(jws.find('.').unwrap() + 2, 'A');
            assert!(
                Jws::parse(&tampered).map(|j| j.verify(&public)).is_err()
                    || Jws::parse(&tampered).unwrap().verify(&public).is_err()
            );
        }
    }

    #[test]
    fn none_and_hmac_are_refused_and_keys_keep_their_algorithm() {
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"a":1}"#));
        assert!(matches!(
            Jws::parse(&none),
            Err(Error::AlgorithmRefused { .. })
        ));
        let hs = format!("{}.{}.AAAA", b64(br#"{"alg":"HS256"}"#), b64(br#"{"a":1}"#));
        assert!(matches!(
            Jws::parse(&hs),
            Err(Error::AlgorithmRefused { .. })
        ));
        // An EdDSA token checked against a P-256 key is refused before any arithmetic.
        let ed = SigningKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng));
        let jws = ed.sign_jws(Map::new(), None, &json!({}));
        let (p256, _) = SigningKey::generate_p256();
        assert!(matches!(
            Jws::parse(&jws).unwrap().verify(&p256.public()),
            Err(Error::AlgorithmRefused { .. })
        ));
        assert!(PublicKey::from_jwk(&json!({"kty": "oct", "k": "c2VjcmV0"})).is_err());
    }
}
