//! SHA-256 digests and the RFC 6962 domain-separated hashes.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Length of a SHA-256 digest in bytes.
pub const DIGEST_BYTES: usize = 32;

/// A SHA-256 digest: an entry submitted to the notary, or a node of a Merkle tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest([u8; DIGEST_BYTES]);

impl Digest {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; DIGEST_BYTES]) -> Digest {
        Digest(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; DIGEST_BYTES] {
        &self.0
    }

    /// Parses a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Digest, DigestError> {
        let array: [u8; DIGEST_BYTES] = bytes.try_into().map_err(|_| DigestError::WrongLength {
            got: bytes.len(),
            want: DIGEST_BYTES,
        })?;
        Ok(Digest(array))
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Digest, DigestError> {
        if text.len() != 2 * DIGEST_BYTES {
            return Err(DigestError::WrongLength {
                got: text.len() / 2,
                want: DIGEST_BYTES,
            });
        }
        let mut bytes = [0u8; DIGEST_BYTES];
        // `const_hex` strips a leading "0x": at this length, what is left is too short.
        const_hex::decode_to_slice(text, &mut bytes).map_err(|_| DigestError::NotHex)?;
        Ok(Digest(bytes))
    }

    /// Parses standard base64 (RFC 4648 section 4, padded), as C2SP formats use.
    pub fn from_base64(text: &str) -> Result<Digest, DigestError> {
        let bytes = BASE64.decode(text).map_err(|_| DigestError::NotBase64)?;
        Digest::from_slice(&bytes)
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.with_hex(str::to_owned)
    }

    /// Calls `f` with the lower-case hex form, built on the stack: serialising receipts is a
    /// hot path, and `hex::encode` allocates and goes char by char.
    pub fn with_hex<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let buffer = self.hex_bytes();
        f(std::str::from_utf8(&buffer).expect("hex digits are ASCII"))
    }

    /// The lower-case hex digits as ASCII bytes, on the stack.
    pub fn hex_bytes(&self) -> [u8; 2 * DIGEST_BYTES] {
        let mut buffer = [0u8; 2 * DIGEST_BYTES];
        const_hex::encode_to_slice(self.0, &mut buffer).expect("the buffer is twice the digest");
        buffer
    }

    /// Standard padded base64.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// SHA-256 of arbitrary data.
    pub fn sha256(data: &[u8]) -> Digest {
        Digest(Sha256::digest(data).into())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_hex(|hex| f.write_str(hex))
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(text: &str) -> Result<Digest, DigestError> {
        Digest::from_hex(text)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_hex(|hex| serializer.serialize_str(hex))
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Digest::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a digest did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The input is not 32 bytes long.
    #[error("a digest is {want} bytes, got {got}")]
    WrongLength {
        /// Bytes found.
        got: usize,
        /// Bytes required.
        want: usize,
    },
    /// The input has a character that is not a hex digit.
    #[error("a digest must be hex digits")]
    NotHex,
    /// The input is not valid base64.
    #[error("a digest must be standard base64")]
    NotBase64,
}

/// SHA-256 of the empty string: the RFC 6962 hash of an empty tree.
pub fn empty_root() -> Digest {
    Digest::sha256(b"")
}

/// RFC 6962 leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Digest(hasher.finalize().into())
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut buffer = [0u8; 1 + 2 * DIGEST_BYTES];
    buffer[0] = 0x01;
    buffer[1..33].copy_from_slice(&left.0);
    buffer[33..].copy_from_slice(&right.0);
    Digest(Sha256::digest(buffer).into())
}

/// The `rs_merkle` hasher that makes its trees RFC 6962 trees: leaves are given already
/// hashed with [`leaf_hash`], and interior nodes are prefixed with 0x01. `rs_merkle` promotes
/// a lone left node unchanged, which is exactly RFC 6962's split at the largest power of two.
#[derive(Clone, Copy, Debug)]
pub struct Rfc6962Hasher;

impl rs_merkle::Hasher for Rfc6962Hasher {
    type Hash = [u8; DIGEST_BYTES];

    /// Only used by `rs_merkle` for leaves, which Sigillo always passes pre-hashed.
    fn hash(data: &[u8]) -> Self::Hash {
        *leaf_hash(data).as_bytes()
    }

    fn concat_and_hash(left: &Self::Hash, right: Option<&Self::Hash>) -> Self::Hash {
        match right {
            Some(right) => *node_hash(&Digest(*left), &Digest(*right)).as_bytes(),
            None => *left,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let digest = Digest::sha256(b"sigillo");
        assert_eq!(Digest::from_hex(&digest.to_hex()), Ok(digest));
        assert_eq!(
            Digest::from_hex(&digest.to_hex().to_uppercase()),
            Ok(digest)
        );
        assert_eq!(
            Digest::from_hex("abcd"),
            Err(DigestError::WrongLength { got: 2, want: 32 })
        );
        assert_eq!(Digest::from_hex(&"zz".repeat(32)), Err(DigestError::NotHex));
        // A "0x" prefix is not part of the format, with or without room for 64 digits.
        let hex = digest.to_hex();
        assert_eq!(
            Digest::from_hex(&format!("0x{}", &hex[2..])),
            Err(DigestError::NotHex)
        );
        assert!(Digest::from_hex(&format!("0x{hex}")).is_err());
        // One bad digit anywhere, also past the first SIMD lane.
        for at in [0, 31, 32, 63] {
            let mut text = hex.clone().into_bytes();
            text[at] = b'g';
            let text = String::from_utf8(text).expect("ASCII");
            assert_eq!(
                Digest::from_hex(&text),
                Err(DigestError::NotHex),
                "digit {at}"
            );
        }
        assert_eq!(
            hex,
            hex::encode(digest.as_bytes()),
            "lower-case hex, as the hex crate"
        );
        assert_eq!(Digest::from_base64("!!"), Err(DigestError::NotBase64));
        assert_eq!(Digest::from_base64(&digest.to_base64()), Ok(digest));
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
