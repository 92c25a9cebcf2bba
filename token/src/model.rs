//! The ledger's vocabulary: names, roles, amounts, operation ids and class rules. Each type is
//! checked when it is made, so a value that exists is valid.

use std::borrow::Borrow;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest participant, class, category or ledger name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest class title, in bytes of UTF-8.
pub const TITLE_BYTES_MAX: usize = 128;
/// Longest clawback reason, in bytes of UTF-8.
pub const REASON_BYTES_MAX: usize = 512;
/// Most holder or merchant categories a class lists.
pub const CATEGORIES_MAX: usize = 16;
/// Most decimals a class may declare (10^18 still fits a `u64`).
pub const DECIMALS_MAX: u8 = 18;

/// Why a value could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A name that is empty, too long, or holds characters outside `a-z 0-9 - _ . :`.
    #[error("a name is 1 to {NAME_BYTES_MAX} characters of a-z 0-9 - _ . : ; got {got:?}")]
    Name {
        /// The rejected text (cut to a printable length).
        got: String,
    },
    /// An unknown role.
    #[error("unknown role {got:?}: expected issuer, holder, merchant or auditor")]
    Role {
        /// The rejected text.
        got: String,
    },
    /// An operation id that is not 32 hex digits, or is all zero.
    #[error("an operation id is 32 hex digits (128 bits), not all zero")]
    OperationId,
    /// A key that is not a valid, non-weak Ed25519 public key.
    #[error(
        "not a valid Ed25519 public key (32 bytes base64url or hex, or did:key), or a weak one"
    )]
    Key,
    /// Text too long for its field.
    #[error("{field} is at most {max} bytes")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
}

/// A participant, class, category or ledger name: 1 to [`NAME_BYTES_MAX`] bytes of
/// `a-z 0-9 - _ . :` (so a DID such as `did:web:comune.milano.it` is a valid name).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// Checks `text` and makes a name of it.
    pub fn new(text: &str) -> Result<Name, ModelError> {
        let valid = !text.is_empty()
            && text.len() <= NAME_BYTES_MAX
            && text.bytes().all(|byte| {
                byte.is_ascii_lowercase()
                    || byte.is_ascii_digit()
                    || matches!(byte, b'-' | b'_' | b'.' | b':')
            });
        if !valid {
            return Err(ModelError::Name {
                got: text.chars().take(NAME_BYTES_MAX + 8).collect(),
            });
        }
        Ok(Name(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Name::new(&text).map_err(serde::de::Error::custom)
    }
}

/// What an enrolled participant may do. The circuit's authority is not a role a participant can
/// be given: it is the ledger's genesis key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Mints the classes it issues and receives their redemptions.
    Issuer,
    /// A citizen or business: receives, holds and spends tokens.
    Holder,
    /// An accredited participant (a nursery, a school supplier): is paid in tokens, redeems them.
    Merchant,
    /// Reads every account and the journal; acts on nothing.
    Auditor,
}

impl Role {
    /// The role's code in the canonical encoding.
    pub fn code(self) -> u8 {
        match self {
            Role::Issuer => 1,
            Role::Holder => 2,
            Role::Merchant => 3,
            Role::Auditor => 4,
        }
    }

    /// The role with that code.
    pub fn from_code(code: u8) -> Option<Role> {
        Some(match code {
            1 => Role::Issuer,
            2 => Role::Holder,
            3 => Role::Merchant,
            4 => Role::Auditor,
            _ => return None,
        })
    }

    /// The role's name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Holder => "holder",
            Role::Merchant => "merchant",
            Role::Auditor => "auditor",
        }
    }
}

/// A client-chosen 128-bit operation id (never all zero). Submitting the same id again returns
/// the first result.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId([u8; 16]);

impl OperationId {
    /// Makes an id of 16 bytes. Requires them not to be all zero.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<OperationId, ModelError> {
        if bytes == [0; 16] {
            return Err(ModelError::OperationId);
        }
        Ok(OperationId(bytes))
    }

    /// A fresh random id.
    pub fn random() -> OperationId {
        loop {
            let bytes: [u8; 16] = rand::random();
            if let Ok(id) = OperationId::from_bytes(bytes) {
                return id;
            }
        }
    }

    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Result<OperationId, ModelError> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| ModelError::OperationId)?;
        OperationId::from_bytes(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for OperationId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for OperationId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OperationId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        OperationId::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 public key that is a valid point and not of small order (a weak key would let
/// batch verification accept what `verify_strict` refuses).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Checks 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, ModelError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| ModelError::Key)?;
        if key.is_weak() {
            return Err(ModelError::Key);
        }
        Ok(PublicKey(key))
    }

    /// Parses base64url (no padding) or hex of 32 bytes, or an Ed25519 `did:key`.
    pub fn parse(text: &str) -> Result<PublicKey, ModelError> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        if let Some(multibase) = text.strip_prefix("did:key:z") {
            // did:key: base58btc of the multicodec ed25519-pub (0xed 0x01) and the key.
            let decoded = bs58::decode(multibase)
                .into_vec()
                .map_err(|_| ModelError::Key)?;
            match decoded.strip_prefix(&[0xed, 0x01]) {
                Some(key) if key.len() == 32 => bytes.copy_from_slice(key),
                _ => return Err(ModelError::Key),
            }
        } else if text.len() == 64 {
            hex::decode_to_slice(text, &mut bytes).map_err(|_| ModelError::Key)?;
        } else {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| ModelError::Key)?;
            bytes = decoded.try_into().map_err(|_| ModelError::Key)?;
        }
        PublicKey::from_bytes(&bytes)
    }

    /// The dalek key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// base64url without padding.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.as_bytes())
    }

    /// The key as an Ed25519 `did:key`.
    pub fn to_did_key(&self) -> String {
        let mut bytes = vec![0xed, 0x01];
        bytes.extend_from_slice(self.as_bytes());
        format!("did:key:z{}", bs58::encode(bytes).into_string())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        PublicKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The rules of a token class, fixed when the authority defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRules {
    /// A human title, e.g. "Dote Scuola 2026/27 voucher".
    pub title: String,
    /// The only participant that mints the class and receives its redemptions (role issuer).
    pub issuer: Name,
    /// Decimals of the display unit: amounts are integers of the smallest unit (2 = cents).
    pub decimals: u8,
    /// Holder categories that may hold the class (e.g. `citizen`, `business`); empty means every
    /// holder.
    #[serde(default)]
    pub holder_categories: Vec<Name>,
    /// Merchant categories that may be paid in the class (e.g. `nursery`); empty means none:
    /// the class is then only held.
    #[serde(default)]
    pub merchant_categories: Vec<Name>,
    /// Whether holders may transfer the class to other holders (a voucher usually may not).
    #[serde(default)]
    pub holder_transfers: bool,
    /// Ledger time (Unix ms) from which the class can no longer be minted, transferred or put in
    /// a pending payment; merchants may still redeem what they were paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// The most one holder may hold (balance plus its own pending payments), in smallest units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_limit: Option<u64>,
}

impl ClassRules {
    /// Checks the limits that do not depend on the ledger's state.
    pub fn check(&self) -> Result<(), ModelError> {
        if self.title.len() > TITLE_BYTES_MAX {
            return Err(ModelError::TooLong {
                field: "title",
                max: TITLE_BYTES_MAX,
            });
        }
        if self.holder_categories.len() > CATEGORIES_MAX {
            return Err(ModelError::TooLong {
                field: "holder_categories",
                max: CATEGORIES_MAX,
            });
        }
        if self.merchant_categories.len() > CATEGORIES_MAX {
            return Err(ModelError::TooLong {
                field: "merchant_categories",
                max: CATEGORIES_MAX,
            });
        }
        if self.decimals > DECIMALS_MAX {
            return Err(ModelError::TooLong {
                field: "decimals",
                max: DECIMALS_MAX as usize,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_alphabet_and_refuse_the_rest() {
        for good in ["comune-milano", "a", "did:web:comune.milano.it", "x_1"] {
            assert!(Name::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(NAME_BYTES_MAX + 1);
        for bad in ["", "Comune", "a b", "è", "a/b", long.as_str()] {
            assert!(Name::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn operation_ids_are_128_bits_and_never_zero() {
        let id = OperationId::random();
        assert_eq!(OperationId::from_hex(&id.to_hex()).unwrap(), id);
        assert!(OperationId::from_hex(&"0".repeat(32)).is_err());
        assert!(OperationId::from_hex("abcd").is_err());
        assert!(OperationId::from_hex(&"g".repeat(32)).is_err());
    }

    #[test]
    fn keys_parse_from_base64_hex_and_did_key_and_refuse_weak_ones() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let public = PublicKey::from_bytes(key.as_bytes()).unwrap();
        assert_eq!(PublicKey::parse(&public.to_base64()).unwrap(), public);
        assert_eq!(
            PublicKey::parse(&hex::encode(key.as_bytes())).unwrap(),
            public
        );
        let did = public.to_did_key();
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(PublicKey::parse(&did).unwrap(), public);
        // The identity point is of small order: a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(ModelError::Key));
        assert_eq!(PublicKey::parse("did:key:z6Mkabc"), Err(ModelError::Key));
    }
}
