//! Sigillo's credentials: DIDs, issuance and verification of SD-JWT VC (RFC 9901 and the
//! SD-JWT VC draft) and W3C VC 2.0 with Data Integrity proofs, and status lists.
//!
//! - [`jose`]: compact JWS (ES256, EdDSA) and JWKs; [`did`]: did:key and did:web documents.
//! - [`sdjwt`]: the SD-JWT format (disclosures, decoys, key binding).
//! - [`vc`]: VC 2.0 Data Integrity proofs (`eddsa-rdfc-2022` through `ssi`, `eddsa-jcs-2022`).
//! - [`types`]: the credential types, their JSON Schemas and SD-JWT VC type metadata.
//! - [`status`]: Token Status List and Bitstring Status List.
//! - [`issuers`]: the issuer registry, keys, tokens and the trust list.
//! - [`service`]: [`Credentials`], which issues, verifies and changes statuses; [`store`] keeps
//!   its state; [`http`] is the axum edge.

pub mod did;
pub mod holder;
pub mod holder_client;
pub mod hosted;
pub mod http;
pub mod issuers;
pub mod jose;
pub mod limits;
pub mod oid4vci;
pub mod oid4vp;
pub mod sdjwt;
pub mod service;
pub mod status;
pub mod store;
pub mod types;
pub mod vc;

pub use service::{Credentials, CredentialsConfig};

/// Everything that can be refused or go wrong in issuing and verifying credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse or has the wrong shape.
    #[error("{what}: {reason}")]
    Malformed {
        /// The part at fault.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Input over a size limit.
    #[error("{what} is larger than {limit}")]
    TooLarge {
        /// The part at fault.
        what: &'static str,
        /// The limit (bytes or items).
        limit: usize,
    },
    /// JSON nested deeper than allowed.
    #[error("{what} is nested deeper than {limit} levels")]
    TooDeep {
        /// The part at fault.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A signature algorithm that is never accepted, or one that does not fit the key.
    #[error("algorithm {alg} refused: {reason}")]
    AlgorithmRefused {
        /// The algorithm named.
        alg: String,
        /// Why.
        reason: &'static str,
    },
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A Data Integrity proof is missing, malformed or does not verify.
    #[error("proof: {reason}")]
    Proof {
        /// Why.
        reason: String,
    },
    /// The same disclosure was presented twice.
    #[error("a disclosure is presented more than once")]
    DisclosureDuplicated,
    /// A digest is referenced twice in the payload.
    #[error("a disclosure digest appears more than once in the credential")]
    DigestRepeated,
    /// A presented disclosure whose digest is nowhere in the credential.
    #[error("a disclosure's digest is not in the credential (tampered or foreign disclosure)")]
    DisclosureNotReferenced,
    /// Claims that break a rule of the format.
    #[error("claims: {reason}")]
    Claims {
        /// Why.
        reason: String,
    },
    /// Claims that do not fit the type's JSON Schema.
    #[error("claims do not fit the schema: {}", errors.join("; "))]
    Schema {
        /// Each violation, with its JSON pointer.
        errors: Vec<String>,
    },
    /// The key binding (KB-JWT) is missing or wrong.
    #[error("key binding: {reason}")]
    Binding {
        /// Why.
        reason: String,
    },
    /// An unknown credential type.
    #[error("unknown credential type {name}")]
    UnknownType {
        /// What was asked for.
        name: String,
    },
    /// An issuer that is not in the trust list.
    #[error("issuer {issuer} is not trusted")]
    UntrustedIssuer {
        /// The issuer.
        issuer: String,
    },
    /// A trusted issuer that may not issue this type.
    #[error("issuer {issuer} is not trusted for {credential_type}")]
    NotTrustedForType {
        /// The issuer.
        issuer: String,
        /// The type.
        credential_type: String,
    },
    /// Not valid yet.
    #[error("not valid before {valid_from} (Unix seconds)")]
    NotYetValid {
        /// Start of validity.
        valid_from: i64,
    },
    /// No longer valid.
    #[error("expired at {valid_until} (Unix seconds)")]
    Expired {
        /// End of validity.
        valid_until: i64,
    },
    /// Revoked by its issuer.
    #[error("the credential is revoked")]
    Revoked,
    /// Suspended by its issuer.
    #[error("the credential is suspended")]
    Suspended,
    /// No or a wrong bearer token.
    #[error("missing or wrong issuer token")]
    Unauthorized,
    /// A known caller acting outside its scope.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// Nothing under that name.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// A status change that is not allowed (revocation is final).
    #[error("a credential that is {from:?} cannot become {to:?}")]
    StatusChange {
        /// The current status.
        from: status::Status,
        /// The requested status.
        to: status::Status,
    },
    /// Every status list of an issuer is full.
    #[error("no room left in the status lists")]
    ListsFull,
    /// The storage failed.
    #[error("storage: {reason}")]
    Storage {
        /// Why.
        reason: String,
    },
    /// A configuration error, found at start.
    #[error("configuration: {reason}")]
    Config {
        /// Why.
        reason: String,
    },
}

impl Error {
    /// A stable machine-readable code for each kind of refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed { .. } => "malformed",
            Error::TooLarge { .. } => "too_large",
            Error::TooDeep { .. } => "too_deep",
            Error::AlgorithmRefused { .. } => "algorithm_refused",
            Error::BadSignature => "bad_signature",
            Error::Proof { .. } => "bad_proof",
            Error::DisclosureDuplicated => "disclosure_duplicated",
            Error::DigestRepeated => "digest_repeated",
            Error::DisclosureNotReferenced => "disclosure_not_referenced",
            Error::Claims { .. } => "bad_claims",
            Error::Schema { .. } => "schema",
            Error::Binding { .. } => "key_binding",
            Error::UnknownType { .. } => "unknown_type",
            Error::UntrustedIssuer { .. } => "untrusted_issuer",
            Error::NotTrustedForType { .. } => "issuer_not_trusted_for_type",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::Expired { .. } => "expired",
            Error::Revoked => "revoked",
            Error::Suspended => "suspended",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound { .. } => "not_found",
            Error::StatusChange { .. } => "status_change_refused",
            Error::ListsFull => "status_lists_full",
            Error::Storage { .. } => "storage",
            Error::Config { .. } => "config",
        }
    }
}

/// Now, in Unix seconds.
pub fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
