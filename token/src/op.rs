//! Operations, their canonical encoding (the bytes a participant signs) and their JSON form.
//!
//! The canonical encoding is binary and has exactly one form per operation:
//!
//! ```text
//! "sigillo.token.op/v1" 0x00           domain separation
//! str ledger | id (16) | str actor | u64 seq | u8 flags (bit 0: linked) | u8 kind | fields
//! ```
//!
//! `str` is a one-byte length then the bytes, `text` a two-byte big-endian length then UTF-8,
//! integers are big-endian. The fields of each kind are listed in [`Body::encode`]. A decoder
//! refuses unknown kinds, flags and roles, invalid names and trailing bytes, so two different
//! byte strings never decode to the same operation.

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::model::{
    ClassRules, ModelError, Name, OperationId, PublicKey, Role, CATEGORIES_MAX, REASON_BYTES_MAX,
    TITLE_BYTES_MAX,
};

/// The domain-separation prefix of every signed operation.
pub const OPERATION_DOMAIN: &[u8] = b"sigillo.token.op/v1\0";
/// Longest pending-payment timeout: 90 days.
pub const PENDING_TIMEOUT_MS_MAX: u64 = 90 * 24 * 3600 * 1000;
/// Longest canonical encoding of one operation, in bytes.
pub const OPERATION_BYTES_MAX: usize = 4096;

/// An operation as its actor signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The ledger it is meant for: an operation signed for one ledger is refused by another.
    pub ledger: Name,
    /// Client-chosen id: the same id again returns the first result.
    pub id: OperationId,
    /// The participant who acts and signs (`authority` for the circuit's authority).
    pub actor: Name,
    /// The actor's next sequence number: 0 for its first applied operation, then 1, 2, …
    pub seq: u64,
    /// Whether this operation is linked to the next one in its batch: a chain of linked
    /// operations applies entirely or not at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linked: bool,
    /// What it does.
    pub body: Body,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// Authority: enrols a participant with a role and a key.
    Enrol {
        /// The new participant's name.
        participant: Name,
        /// Its role.
        role: Role,
        /// Its Ed25519 key (base64url, hex or did:key in JSON).
        key: PublicKey,
        /// A holder's or merchant's category (e.g. `citizen`, `nursery`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<Name>,
    },
    /// Authority: defines a token class and its rules.
    DefineClass {
        /// The class's name.
        class: Name,
        /// Its rules.
        rules: ClassRules,
    },
    /// Issuer → holder: creates tokens.
    Mint {
        /// The class.
        class: Name,
        /// The holder credited.
        to: Name,
        /// Smallest units.
        amount: u64,
    },
    /// Holder → holder or merchant, as the class allows.
    Transfer {
        /// The class.
        class: Name,
        /// The participant credited.
        to: Name,
        /// Smallest units.
        amount: u64,
    },
    /// Merchant → issuer: burns tokens and enters them in the merchant's settlement report.
    Redeem {
        /// The class.
        class: Name,
        /// Smallest units.
        amount: u64,
    },
    /// Holder → merchant (or holder): reserves a payment that the payee posts or voids before
    /// `timeout_ms` passes; after that it expires and the payer gets the amount back.
    Pending {
        /// The class.
        class: Name,
        /// The payee.
        to: Name,
        /// Smallest units.
        amount: u64,
        /// Milliseconds the payee has to post or void it (1 to [`PENDING_TIMEOUT_MS_MAX`]).
        timeout_ms: u64,
    },
    /// Payee: completes a pending payment.
    Post {
        /// The class.
        class: Name,
        /// The id of the pending operation.
        pending: OperationId,
    },
    /// Payee: cancels a pending payment; the payer gets the amount back.
    Void {
        /// The class.
        class: Name,
        /// The id of the pending operation.
        pending: OperationId,
    },
    /// Authority: takes tokens back from an account and burns them, with a recorded reason.
    Clawback {
        /// The class.
        class: Name,
        /// The account debited.
        from: Name,
        /// Smallest units.
        amount: u64,
        /// Why (recorded in the journal).
        reason: String,
    },
}

/// An operation and its actor's Ed25519 signature over [`Operation::signing_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedOperation {
    /// The operation.
    pub operation: Operation,
    /// base64url (no padding) of the 64-byte signature.
    #[serde(with = "signature_base64")]
    pub signature: Signature,
}

/// Why canonical bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The bytes end before the operation does.
    #[error("the encoding ends early")]
    Truncated,
    /// Bytes follow the operation.
    #[error("{count} bytes follow the operation")]
    Trailing {
        /// How many.
        count: usize,
    },
    /// The domain prefix is not [`OPERATION_DOMAIN`].
    #[error("not a sigillo.token.op/v1 encoding")]
    Domain,
    /// An unknown operation kind.
    #[error("unknown operation kind {kind}")]
    Kind {
        /// The code.
        kind: u8,
    },
    /// Flag bits this version does not define.
    #[error("unknown flags {flags:#04x}")]
    Flags {
        /// The byte.
        flags: u8,
    },
    /// A field with a value outside its type.
    #[error("{field}: {source}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        source: ModelError,
    },
    /// Text that is not UTF-8.
    #[error("{field} is not UTF-8")]
    Utf8 {
        /// The field.
        field: &'static str,
    },
    /// The encoding exceeds [`OPERATION_BYTES_MAX`].
    #[error("an encoded operation is at most {OPERATION_BYTES_MAX} bytes")]
    TooLong,
}

impl Operation {
    /// The canonical bytes the actor signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(OPERATION_DOMAIN);
        put_str(&mut out, self.ledger.as_str());
        out.extend_from_slice(self.id.as_bytes());
        put_str(&mut out, self.actor.as_str());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.push(u8::from(self.linked));
        self.body.encode(&mut out);
        out
    }

    /// Decodes canonical bytes; the inverse of [`Operation::signing_bytes`].
    pub fn decode(bytes: &[u8]) -> Result<Operation, EncodingError> {
        if bytes.len() > OPERATION_BYTES_MAX {
            return Err(EncodingError::TooLong);
        }
        let mut reader = Reader { bytes };
        if reader.take(OPERATION_DOMAIN.len())? != OPERATION_DOMAIN {
            return Err(EncodingError::Domain);
        }
        let ledger = reader.name("ledger")?;
        let id =
            OperationId::from_bytes(reader.array()?).map_err(|source| EncodingError::Field {
                field: "id",
                source,
            })?;
        let actor = reader.name("actor")?;
        let seq = reader.u64()?;
        let flags = reader.u8()?;
        if flags > 1 {
            return Err(EncodingError::Flags { flags });
        }
        let body = Body::decode(&mut reader)?;
        if !reader.bytes.is_empty() {
            return Err(EncodingError::Trailing {
                count: reader.bytes.len(),
            });
        }
        Ok(Operation {
            ledger,
            id,
            actor,
            seq,
            linked: flags == 1,
            body,
        })
    }

    /// Signs the operation with the actor's key.
    pub fn sign(self, key: &SigningKey) -> SignedOperation {
        let signature = key.sign(&self.signing_bytes());
        SignedOperation {
            operation: self,
            signature,
        }
    }

    /// The class the operation acts on, if any.
    pub fn class(&self) -> Option<&Name> {
        match &self.body {
            Body::Enrol { .. } => None,
            Body::DefineClass { class, .. }
            | Body::Mint { class, .. }
            | Body::Transfer { class, .. }
            | Body::Redeem { class, .. }
            | Body::Pending { class, .. }
            | Body::Post { class, .. }
            | Body::Void { class, .. }
            | Body::Clawback { class, .. } => Some(class),
        }
    }
}

/// The content fingerprint used to tell "the same operation again" from "another operation with
/// the same id": the first 16 bytes of SHA-256 of the canonical bytes.
pub fn fingerprint(signing_bytes: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(signing_bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

impl Body {
    /// The kind's code in the canonical encoding.
    pub fn kind(&self) -> u8 {
        match self {
            Body::Enrol { .. } => 1,
            Body::DefineClass { .. } => 2,
            Body::Mint { .. } => 3,
            Body::Transfer { .. } => 4,
            Body::Redeem { .. } => 5,
            Body::Pending { .. } => 6,
            Body::Post { .. } => 7,
            Body::Void { .. } => 8,
            Body::Clawback { .. } => 9,
        }
    }

    /// The kind's name in JSON.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Body::Enrol { .. } => "enrol",
            Body::DefineClass { .. } => "define_class",
            Body::Mint { .. } => "mint",
            Body::Transfer { .. } => "transfer",
            Body::Redeem { .. } => "redeem",
            Body::Pending { .. } => "pending",
            Body::Post { .. } => "post",
            Body::Void { .. } => "void",
            Body::Clawback { .. } => "clawback",
        }
    }

    /// Appends the kind byte and the fields:
    ///
    /// ```text
    /// 1 enrol         str participant | u8 role | str category (empty: none) | key (32)
    /// 2 define_class  str class | text title | str issuer | u8 decimals | u8 holder_transfers
    ///                 | u64 expires_at_ms (0: never) | u64 holder_limit (0: none)
    ///                 | u8 n, n × str holder category | u8 m, m × str merchant category
    /// 3 mint          str class | str to | u64 amount
    /// 4 transfer      str class | str to | u64 amount
    /// 5 redeem        str class | u64 amount
    /// 6 pending       str class | str to | u64 amount | u64 timeout_ms
    /// 7 post          str class | pending id (16)
    /// 8 void          str class | pending id (16)
    /// 9 clawback      str class | str from | u64 amount | text reason
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind());
        match self {
            Body::Enrol {
                participant,
                role,
                key,
                category,
            } => {
                put_str(out, participant.as_str());
                out.push(role.code());
                put_str(out, category.as_ref().map_or("", Name::as_str));
                out.extend_from_slice(key.as_bytes());
            }
            Body::DefineClass { class, rules } => {
                put_str(out, class.as_str());
                put_text(out, &rules.title);
                put_str(out, rules.issuer.as_str());
                out.push(rules.decimals);
                out.push(u8::from(rules.holder_transfers));
                out.extend_from_slice(&rules.expires_at_ms.unwrap_or(0).to_be_bytes());
                out.extend_from_slice(&rules.holder_limit.unwrap_or(0).to_be_bytes());
                for categories in [&rules.holder_categories, &rules.merchant_categories] {
                    // Lengths are checked by ClassRules::check before an operation is applied;
                    // an over-long list saturates here and then fails that check on decode.
                    out.push(u8::try_from(categories.len()).unwrap_or(u8::MAX));
                    for category in categories.iter().take(u8::MAX as usize) {
                        put_str(out, category.as_str());
                    }
                }
            }
            Body::Mint { class, to, amount } | Body::Transfer { class, to, amount } => {
                put_str(out, class.as_str());
                put_str(out, to.as_str());
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Body::Redeem { class, amount } => {
                put_str(out, class.as_str());
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Body::Pending {
                class,
                to,
                amount,
                timeout_ms,
            } => {
                put_str(out, class.as_str());
                put_str(out, to.as_str());
                out.extend_from_slice(&amount.to_be_bytes());
                out.extend_from_slice(&timeout_ms.to_be_bytes());
            }
            Body::Post { class, pending } | Body::Void { class, pending } => {
                put_str(out, class.as_str());
                out.extend_from_slice(pending.as_bytes());
            }
            Body::Clawback {
                class,
                from,
                amount,
                reason,
            } => {
                put_str(out, class.as_str());
                put_str(out, from.as_str());
                out.extend_from_slice(&amount.to_be_bytes());
                put_text(out, reason);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Body, EncodingError> {
        let kind = reader.u8()?;
        Ok(match kind {
            1 => {
                let participant = reader.name("participant")?;
                let role = Role::from_code(reader.u8()?).ok_or(EncodingError::Field {
                    field: "role",
                    source: ModelError::Role { got: "?".into() },
                })?;
                let category = reader.str("category")?;
                let category = if category.is_empty() {
                    None
                } else {
                    Some(name("category", category)?)
                };
                let key = PublicKey::from_bytes(&reader.array()?).map_err(|source| {
                    EncodingError::Field {
                        field: "key",
                        source,
                    }
                })?;
                Body::Enrol {
                    participant,
                    role,
                    key,
                    category,
                }
            }
            2 => {
                let class = reader.name("class")?;
                let title = reader.text("title")?;
                if title.len() > TITLE_BYTES_MAX {
                    return Err(EncodingError::Field {
                        field: "title",
                        source: ModelError::TooLong {
                            field: "title",
                            max: TITLE_BYTES_MAX,
                        },
                    });
                }
                let issuer = reader.name("issuer")?;
                let decimals = reader.u8()?;
                let holder_transfers = match reader.u8()? {
                    0 => false,
                    1 => true,
                    flags => return Err(EncodingError::Flags { flags }),
                };
                let expires_at_ms = Some(reader.u64()?).filter(|&ms| ms != 0);
                let holder_limit = Some(reader.u64()?).filter(|&limit| limit != 0);
                let holder_categories = reader.names("holder_categories")?;
                let merchant_categories = reader.names("merchant_categories")?;
                Body::DefineClass {
                    class,
                    rules: ClassRules {
                        title,
                        issuer,
                        decimals,
                        holder_categories,
                        merchant_categories,
                        holder_transfers,
                        expires_at_ms,
                        holder_limit,
                    },
                }
            }
            3 | 4 => {
                let class = reader.name("class")?;
                let to = reader.name("to")?;
                let amount = reader.u64()?;
                if kind == 3 {
                    Body::Mint { class, to, amount }
                } else {
                    Body::Transfer { class, to, amount }
                }
            }
            5 => Body::Redeem {
                class: reader.name("class")?,
                amount: reader.u64()?,
            },
            6 => Body::Pending {
                class: reader.name("class")?,
                to: reader.name("to")?,
                amount: reader.u64()?,
                timeout_ms: reader.u64()?,
            },
            7 | 8 => {
                let class = reader.name("class")?;
                let pending = OperationId::from_bytes(reader.array()?).map_err(|source| {
                    EncodingError::Field {
                        field: "pending",
                        source,
                    }
                })?;
                if kind == 7 {
                    Body::Post { class, pending }
                } else {
                    Body::Void { class, pending }
                }
            }
            9 => {
                let class = reader.name("class")?;
                let from = reader.name("from")?;
                let amount = reader.u64()?;
                let reason = reader.text("reason")?;
                Body::Clawback {
                    class,
                    from,
                    amount,
                    reason,
                }
            }
            kind => return Err(EncodingError::Kind { kind }),
        })
    }
}

/// Checks the limits of an operation's free-text and list fields (the decoder and JSON accept
/// anything that fits their length prefixes; the ledger refuses what exceeds these).
pub fn check_lengths(body: &Body) -> Result<(), ModelError> {
    match body {
        Body::DefineClass { rules, .. } => rules.check(),
        Body::Clawback { reason, .. } if reason.len() > REASON_BYTES_MAX => {
            Err(ModelError::TooLong {
                field: "reason",
                max: REASON_BYTES_MAX,
            })
        }
        _ => Ok(()),
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    // Names are at most NAME_BYTES_MAX (64) bytes, so one length byte suffices.
    debug_assert!(text.len() <= u8::MAX as usize);
    out.push(text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    let length = text.len().min(u16::MAX as usize);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    out.extend_from_slice(&text.as_bytes()[..length]);
}

fn name(field: &'static str, text: &str) -> Result<Name, EncodingError> {
    Name::new(text).map_err(|source| EncodingError::Field { field, source })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], EncodingError> {
        if self.bytes.len() < count {
            return Err(EncodingError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EncodingError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EncodingError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, EncodingError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn str(&mut self, field: &'static str) -> Result<&'a str, EncodingError> {
        let length = self.u8()? as usize;
        std::str::from_utf8(self.take(length)?).map_err(|_| EncodingError::Utf8 { field })
    }

    fn name(&mut self, field: &'static str) -> Result<Name, EncodingError> {
        name(field, self.str(field)?)
    }

    fn text(&mut self, field: &'static str) -> Result<String, EncodingError> {
        let length = u16::from_be_bytes(self.array()?) as usize;
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EncodingError::Utf8 { field })
    }

    fn names(&mut self, field: &'static str) -> Result<Vec<Name>, EncodingError> {
        let count = self.u8()? as usize;
        if count > CATEGORIES_MAX {
            return Err(EncodingError::Field {
                field,
                source: ModelError::TooLong {
                    field,
                    max: CATEGORIES_MAX,
                },
            });
        }
        (0..count).map(|_| self.name(field)).collect()
    }
}

mod signature_base64 {
    use base64::Engine as _;
    use ed25519_dalek::Signature;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        signature: &Signature,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Signature, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let bytes: [u8; 64] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| serde::de::Error::custom("a signature is 64 bytes in base64url"))?;
        Ok(Signature::from_bytes(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::new(text).unwrap()
    }

    pub(crate) fn every_kind() -> Vec<Body> {
        let key =
            PublicKey::from_bytes(SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes())
                .unwrap();
        let pending = OperationId::from_bytes([9; 16]).unwrap();
        vec![
            Body::Enrol {
                participant: name("asilo-girasole"),
                role: Role::Merchant,
                key,
                category: Some(name("nursery")),
            },
            Body::Enrol {
                participant: name("famiglia-rossi"),
                role: Role::Holder,
                key,
                category: None,
            },
            Body::DefineClass {
                class: name("nidi-gratis"),
                rules: ClassRules {
                    title: "Nidi Gratis Plus 2025/26 — contributo".into(),
                    issuer: name("regione-lombardia"),
                    decimals: 2,
                    holder_categories: vec![name("citizen")],
                    merchant_categories: vec![name("nursery"), name("micronido")],
                    holder_transfers: false,
                    expires_at_ms: Some(1_790_000_000_000),
                    holder_limit: Some(300_000),
                },
            },
            Body::Mint {
                class: name("c"),
                to: name("h"),
                amount: 1,
            },
            Body::Transfer {
                class: name("c"),
                to: name("h"),
                amount: u64::MAX,
            },
            Body::Redeem {
                class: name("c"),
                amount: 5,
            },
            Body::Pending {
                class: name("c"),
                to: name("m"),
                amount: 5,
                timeout_ms: 60_000,
            },
            Body::Post {
                class: name("c"),
                pending,
            },
            Body::Void {
                class: name("c"),
                pending,
            },
            Body::Clawback {
                class: name("c"),
                from: name("h"),
                amount: 7,
                reason: "erogazione non dovuta".into(),
            },
        ]
    }

    fn operation(body: Body) -> Operation {
        Operation {
            ledger: name("lombardia"),
            id: OperationId::from_bytes([1; 16]).unwrap(),
            actor: name("authority"),
            seq: 42,
            linked: true,
            body,
        }
    }

    #[test]
    fn every_kind_round_trips_through_bytes_and_json() {
        for body in every_kind() {
            let op = operation(body);
            let bytes = op.signing_bytes();
            assert_eq!(Operation::decode(&bytes).unwrap(), op);
            let signed = op.clone().sign(&SigningKey::from_bytes(&[5; 32]));
            let json = serde_json::to_string(&signed).unwrap();
            let back: SignedOperation = serde_json::from_str(&json).unwrap();
            assert_eq!(back, signed, "{json}");
        }
    }

    #[test]
    fn the_encoding_of_a_transfer_is_byte_exact() {
        let op = Operation {
            ledger: name("l"),
            id: OperationId::from_bytes([0xab; 16]).unwrap(),
            actor: name("a"),
            seq: 1,
            linked: false,
            body: Body::Transfer {
                class: name("c"),
                to: name("b"),
                amount: 256,
            },
        };
        let mut want = b"sigillo.token.op/v1\0".to_vec();
        want.extend_from_slice(&[1, b'l']);
        want.extend_from_slice(&[0xab; 16]);
        want.extend_from_slice(&[1, b'a', 0, 0, 0, 0, 0, 0, 0, 1, 0, 4]);
        want.extend_from_slice(&[1, b'c', 1, b'b', 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(op.signing_bytes(), want);
    }

    #[test]
    fn malformed_encodings_are_refused() {
        let bytes = operation(every_kind().remove(3)).signing_bytes();
        for cut in 0..bytes.len() {
            assert!(Operation::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Operation::decode(&trailing),
            Err(EncodingError::Trailing { count: 1 })
        );
        let mut domain = bytes.clone();
        domain[0] ^= 1;
        assert_eq!(Operation::decode(&domain), Err(EncodingError::Domain));
        let flags_at = OPERATION_DOMAIN.len() + 10 + 16 + 10 + 8;
        let mut flags = bytes.clone();
        flags[flags_at] = 2;
        assert_eq!(
            Operation::decode(&flags),
            Err(EncodingError::Flags { flags: 2 })
        );
        let mut kind = bytes.clone();
        kind[flags_at + 1] = 99;
        assert_eq!(
            Operation::decode(&kind),
            Err(EncodingError::Kind { kind: 99 })
        );
        let mut upper = bytes;
        upper[OPERATION_DOMAIN.len() + 1] = b'L';
        assert!(matches!(
            Operation::decode(&upper),
            Err(EncodingError::Field {
                field: "ledger",
                ..
            })
        ));
    }

    #[test]
    fn json_refuses_unknown_fields_floats_negative_and_oversized_amounts() {
        let good = r#"{"operation":{"ledger":"l","id":"0102030405060708090a0b0c0d0e0f10","actor":"a","seq":0,
            "body":{"type":"transfer","class":"c","to":"b","amount":5}},"signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
        serde_json::from_str::<SignedOperation>(good).unwrap();
        for (from, to) in [
            ("\"amount\":5", "\"amount\":5.0"),
            ("\"amount\":5", "\"amount\":-5"),
            ("\"amount\":5", "\"amount\":18446744073709551616"),
            ("\"amount\":5", "\"amount\":5,\"memo\":1"),
            ("\"transfer\"", "\"teleport\""),
            ("\"seq\":0", "\"seq\":0,\"extra\":true"),
            (
                "0102030405060708090a0b0c0d0e0f10",
                "00000000000000000000000000000000",
            ),
            ("\"AAAA", "\"AA"),
        ] {
            let bad = good.replacen(from, to, 1);
            assert!(
                serde_json::from_str::<SignedOperation>(&bad).is_err(),
                "{from} -> {to}"
            );
        }
    }
}
