//! Signed reads: a participant proves who asks for its balances or history by signing the
//! request's path and the time with its ledger key.
//!
//! ```text
//! Authorization: Sigillo-Signature participant="rossi",time="1790000000000",signature="…"
//! message = "sigillo.token.read/v1" 0x00 | str ledger | str participant | u64 time_ms
//!           | u16 length | path and query
//! ```
//!
//! The time must be within [`READ_SKEW_MS_MAX`] of the server's clock. A signed read may be
//! replayed inside that window by whoever saw it: it only repeats a read.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey};

use crate::model::{Name, PublicKey};

/// How far a signed read's time may be from the server's, either way.
pub const READ_SKEW_MS_MAX: u64 = 5 * 60 * 1000;
/// The authorization scheme's name.
pub const SCHEME: &str = "Sigillo-Signature";
const READ_DOMAIN: &[u8] = b"sigillo.token.read/v1\0";

/// The bytes a reader signs.
pub fn read_message(ledger: &Name, participant: &Name, time_ms: u64, path: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + path.len());
    out.extend_from_slice(READ_DOMAIN);
    out.push(ledger.as_str().len() as u8);
    out.extend_from_slice(ledger.as_str().as_bytes());
    out.push(participant.as_str().len() as u8);
    out.extend_from_slice(participant.as_str().as_bytes());
    out.extend_from_slice(&time_ms.to_be_bytes());
    let path = &path.as_bytes()[..path.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(path.len() as u16).to_be_bytes());
    out.extend_from_slice(path);
    out
}

/// The `Authorization` header value for a read of `path` (path and query) at `time_ms`.
pub fn authorization(
    ledger: &Name,
    participant: &Name,
    key: &SigningKey,
    time_ms: u64,
    path: &str,
) -> String {
    let signature = key.sign(&read_message(ledger, participant, time_ms, path));
    format!(
        "{SCHEME} participant=\"{participant}\",time=\"{time_ms}\",signature=\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadClaim {
    /// Who asks.
    pub participant: Name,
    /// When it signed (Unix ms).
    pub time_ms: u64,
    /// Its signature.
    pub signature: Signature,
}

/// Why a signed read is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No header, or not this scheme.
    #[error("this read needs an Authorization: {SCHEME} header")]
    Missing,
    /// The header does not parse.
    #[error("malformed {SCHEME} header: {0}")]
    Malformed(&'static str),
    /// The time is too far from the server's.
    #[error("the signed time is more than {READ_SKEW_MS_MAX} ms from the server's clock")]
    Stale,
    /// The signature does not verify under the participant's key, or it is not enrolled.
    #[error("the signature does not verify for that participant")]
    BadSignature,
    /// The participant may not read this.
    #[error("{participant} may not read this")]
    Forbidden {
        /// Who asked.
        participant: String,
    },
}

/// Parses `Sigillo-Signature participant="…",time="…",signature="…"`.
pub fn parse(header: &str) -> Result<ReadClaim, AuthError> {
    let rest = header
        .strip_prefix(SCHEME)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or(AuthError::Missing)?;
    let (mut participant, mut time, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(AuthError::Malformed("a parameter has no value"))?;
        let value = value
            .strip_prefix('"')
            .and_then(|value| value.strip_suffix('"'))
            .ok_or(AuthError::Malformed("values are quoted"))?;
        match key {
            "participant" => {
                participant =
                    Some(Name::new(value).map_err(|_| AuthError::Malformed("participant"))?)
            }
            "time" => time = Some(value.parse().map_err(|_| AuthError::Malformed("time"))?),
            "signature" => {
                let bytes: [u8; 64] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value)
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or(AuthError::Malformed("signature"))?;
                signature = Some(Signature::from_bytes(&bytes));
            }
            _ => return Err(AuthError::Malformed("unknown parameter")),
        }
    }
    Ok(ReadClaim {
        participant: participant.ok_or(AuthError::Malformed("participant is missing"))?,
        time_ms: time.ok_or(AuthError::Malformed("time is missing"))?,
        signature: signature.ok_or(AuthError::Malformed("signature is missing"))?,
    })
}

/// Checks a claim's time against `now_ms` and its signature against `key`.
pub fn verify(
    claim: &ReadClaim,
    ledger: &Name,
    key: &PublicKey,
    now_ms: u64,
    path: &str,
) -> Result<(), AuthError> {
    if claim.time_ms.abs_diff(now_ms) > READ_SKEW_MS_MAX {
        return Err(AuthError::Stale);
    }
    key.verifying_key()
        .verify_strict(
            &read_message(ledger, &claim.participant, claim.time_ms, path),
            &claim.signature,
        )
        .map_err(|_| AuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_read_verifies_only_for_its_path_time_and_key() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let public = PublicKey::from_bytes(key.verifying_key().as_bytes()).unwrap();
        let ledger = Name::new("l").unwrap();
        let rossi = Name::new("rossi").unwrap();
        let header = authorization(&ledger, &rossi, &key, 1_000_000, "/v1/token/accounts/rossi");
        let claim = parse(&header).unwrap();
        assert_eq!(claim.participant, rossi);
        verify(
            &claim,
            &ledger,
            &public,
            1_000_000,
            "/v1/token/accounts/rossi",
        )
        .unwrap();
        assert_eq!(
            verify(
                &claim,
                &ledger,
                &public,
                1_000_000,
                "/v1/token/accounts/bianchi"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(
                &claim,
                &ledger,
                &public,
                1_000_000 + READ_SKEW_MS_MAX + 1,
                "/v1/token/accounts/rossi"
            ),
            Err(AuthError::Stale)
        );
        let other =
            PublicKey::from_bytes(SigningKey::from_bytes(&[5; 32]).verifying_key().as_bytes())
                .unwrap();
        assert_eq!(
            verify(
                &claim,
                &ledger,
                &other,
                1_000_000,
                "/v1/token/accounts/rossi"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(parse("Bearer x"), Err(AuthError::Missing));
        assert!(matches!(
            parse("Sigillo-Signature participant=rossi"),
            Err(AuthError::Malformed(_))
        ));
    }
}
