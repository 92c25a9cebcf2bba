//! An RFC 3161 time-stamp authority whose every token is also an entry in the notary's log.
//!
//! The TSA signs with ECDSA P-256 (OpenSSL 3 cannot verify Ed25519 time-stamp tokens) under a
//! certificate chain made for the deployment: a CA, and a TSA certificate with the critical
//! `id-kp-timeStamping` extended key usage. A granted token carries:
//!
//! - `serialNumber`: the entry's number in the notary's log (its block's `first_entry` plus its
//!   index in the block), unique because the log only grows;
//! - `genTime`: the time of the block that sealed the entry, in milliseconds, so the token and
//!   the Sigillo receipt of the same imprint name the same instant;
//! - the policy, an accuracy of one second, the request's nonce, and the TSA's name;
//! - signed attributes `contentType`, `messageDigest` and ESS `signingCertificateV2`.
//!
//! The entry for an imprint is the imprint itself when it is a SHA-256 digest, so
//! `GET /v1/notary/entries/{imprint}` finds the receipt; for SHA-384 and SHA-512 imprints it is
//! SHA-256 of the imprint. See `docs/notary-formats.md`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use cmpv2::status::PkiStatus;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, BitString, OctetString, SetOfVec, Uint, Utf8StringRef};
use der::oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use der::oid::{AssociatedOid, ObjectIdentifier};
use der::{
    DecodePem, Encode, EncodePem, EncodeValue, FixedTag, Length, Sequence, Tag, Tagged, Writer,
};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::attr::Attribute;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;
use x509_cert::Certificate;
use x509_tsp::{Accuracy, MessageImprint, TspVersion};
use zeroize::Zeroizing;

use crate::hash::Digest;
use crate::keys::write_durably;

/// `id-kp-timeStamping` (RFC 5280).
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// `id-ct-TSTInfo` (RFC 3161).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-signedData` (RFC 5652).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-contentType` signed attribute.
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` signed attribute.
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `id-aa-signingCertificateV2` (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The TSA policy when none is configured: an OID under `2.25` (ITU-T X.667), made from a UUID
/// generated for Sigillo, so it names this policy and nothing else.
pub const DEFAULT_POLICY: &str = "2.25.223632124405454127003488311539312839563";
/// Largest nonce accepted, in bytes (OpenSSL sends 8).
pub const NONCE_BYTES_MAX: usize = 64;
/// Largest request accepted, in bytes: a SHA-512 imprint, a long nonce and a policy fit.
pub const REQUEST_BYTES_MAX: usize = 1024;
/// How long the TSA certificate is valid from its creation.
const TSA_CERTIFICATE_DAYS: u64 = 5 * 366;
/// How long the CA certificate is valid from its creation.
const CA_CERTIFICATE_DAYS: u64 = 10 * 366;

/// A TSA policy identifier. `der`'s `ObjectIdentifier` holds arcs of 32 bits, too few for an
/// OID under `2.25` (a UUID is one 128-bit arc), so policies are kept as their DER contents and
/// compared byte for byte; arcs of up to 128 bits are read and written.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PolicyId {
    contents: Vec<u8>,
}

impl PolicyId {
    /// Parses dotted decimal (`2.25.1234`). At least two arcs; the first is 0, 1 or 2, and
    /// the second below 40 unless the first is 2.
    pub fn parse(dotted: &str) -> Option<PolicyId> {
        let arcs: Vec<u128> = dotted
            .split('.')
            .map(|arc| {
                let canonical = !arc.is_empty()
                    && arc.bytes().all(|b| b.is_ascii_digit())
                    && (arc == "0" || !arc.starts_with('0'));
                canonical.then(|| arc.parse().ok()).flatten()
            })
            .collect::<Option<_>>()?;
        let (&first, &second) = (arcs.first()?, arcs.get(1)?);
        if first > 2 || (first < 2 && second >= 40) {
            return None;
        }
        let mut contents = Vec::new();
        let mut push = |mut arc: u128| {
            let mut groups = vec![(arc & 0x7f) as u8];
            arc >>= 7;
            while arc > 0 {
                groups.push((arc & 0x7f) as u8 | 0x80);
                arc >>= 7;
            }
            contents.extend(groups.iter().rev());
        };
        push(first.checked_mul(40)?.checked_add(second)?);
        arcs[2..].iter().for_each(|&arc| push(arc));
        Some(PolicyId { contents })
    }

    /// Dotted decimal.
    pub fn to_dotted(&self) -> String {
        let mut arcs: Vec<u128> = Vec::new();
        let mut arc: u128 = 0;
        for byte in &self.contents {
            arc = (arc << 7) | u128::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                arcs.push(arc);
                arc = 0;
            }
        }
        let mut text = match arcs.first() {
            Some(&first) if first < 80 => format!("{}.{}", first / 40, first % 40),
            Some(&first) => format!("2.{}", first - 80),
            None => String::new(),
        };
        for arc in arcs.iter().skip(1) {
            text.push_str(&format!(".{arc}"));
        }
        text
    }
}

impl FixedTag for PolicyId {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl EncodeValue for PolicyId {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.contents.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.contents)
    }
}

impl<'a> der::DecodeValue<'a> for PolicyId {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let contents = reader.read_vec(header.length)?;
        // Minimal base-128, each arc within 128 bits, the last byte ending an arc.
        let mut groups = 0;
        for (index, byte) in contents.iter().enumerate() {
            let starts_arc = index == 0 || contents[index - 1] & 0x80 == 0;
            if starts_arc && *byte == 0x80 {
                return Err(der::ErrorKind::Value {
                    tag: Tag::ObjectIdentifier,
                }
                .into());
            }
            groups = if starts_arc { 1 } else { groups + 1 };
            if groups > 19 {
                return Err(der::ErrorKind::Value {
                    tag: Tag::ObjectIdentifier,
                }
                .into());
            }
        }
        if contents.last().is_none_or(|last| last & 0x80 != 0) {
            return Err(der::ErrorKind::Value {
                tag: Tag::ObjectIdentifier,
            }
            .into());
        }
        Ok(PolicyId { contents })
    }
}

/// RFC 3161 `TimeStampReq`, as `x509_tsp` declares it but with a [`PolicyId`] policy.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Must be v1.
    pub version: TspVersion,
    /// The hash algorithm and the digest to stamp.
    pub message_imprint: MessageImprint,
    /// The policy the client asks for.
    #[asn1(optional = "true")]
    pub req_policy: Option<PolicyId>,
    /// The client's nonce.
    #[asn1(optional = "true")]
    pub nonce: Option<der::asn1::Int>,
    /// Whether the TSA certificate should be in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Request extensions (none are accepted).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<x509_cert::ext::Extensions>,
}

/// Why the TSA could not be set up or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// A key or certificate file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// Some of the TSA's files exist and some do not.
    #[error("the TSA directory {dir} is incomplete: {missing} is missing (remove the directory to make a new chain)")]
    Incomplete {
        /// The directory.
        dir: String,
        /// The first missing file.
        missing: &'static str,
    },
    /// A stored key or certificate does not parse, or they do not belong together.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which file or object.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The configured policy is not an OID.
    #[error("the TSA policy {0:?} is not an object identifier")]
    Policy(String),
    /// Encoding or signing a token failed.
    #[error("signing the token failed: {0}")]
    Signing(String),
}

fn invalid(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> TsaError {
    move |reason| TsaError::Invalid {
        what,
        reason: reason.to_string(),
    }
}

/// The hash algorithms accepted in a request's message imprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImprintAlgorithm {
    /// SHA-256: the imprint is the notary entry.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl ImprintAlgorithm {
    fn from_oid(oid: &ObjectIdentifier) -> Option<ImprintAlgorithm> {
        match *oid {
            ID_SHA_256 => Some(ImprintAlgorithm::Sha256),
            ID_SHA_384 => Some(ImprintAlgorithm::Sha384),
            ID_SHA_512 => Some(ImprintAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ImprintAlgorithm::Sha256 => 32,
            ImprintAlgorithm::Sha384 => 48,
            ImprintAlgorithm::Sha512 => 64,
        }
    }

    /// The digest of `data`, for clients and tests that build requests.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ImprintAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            ImprintAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            ImprintAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            ImprintAlgorithm::Sha256 => ID_SHA_256,
            ImprintAlgorithm::Sha384 => ID_SHA_384,
            ImprintAlgorithm::Sha512 => ID_SHA_512,
        }
    }
}

/// A request that passed every check, ready to be entered in the log and granted.
#[derive(Debug, Clone)]
pub struct TimeStampRequest {
    algorithm: ImprintAlgorithm,
    imprint: MessageImprint,
    nonce: Option<der::asn1::Int>,
    cert_req: bool,
}

impl TimeStampRequest {
    /// The notary entry for this imprint: the imprint itself for SHA-256, else its SHA-256.
    pub fn entry(&self) -> Digest {
        let bytes = self.imprint.hashed_message.as_bytes();
        match self.algorithm {
            ImprintAlgorithm::Sha256 => {
                let mut entry = [0u8; 32];
                entry.copy_from_slice(bytes);
                Digest::from_bytes(entry)
            }
            _ => Digest::sha256(bytes),
        }
    }
}

/// The `PKIFailureInfo` bits a TSA uses (RFC 3161 section 2.4.2). `cmpv2` 0.2 declares them as
/// flag masks equal to their bit numbers, which encodes the wrong bits, so they are kept here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported.
    UnacceptedExtension = 16,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// The DER `BIT STRING` with only this bit set, trailing zero bits removed.
    fn to_bit_string(self) -> BitString {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new((7 - bit % 8) as u8, bytes).expect("at most 7 unused bits")
    }
}

/// `PKIStatusInfo` (RFC 4210 section 5.2.3) with a correctly encoded `failInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo<'a> {
    status: PkiStatus,
    #[asn1(optional = "true")]
    status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// Why a request is refused: the RFC 3161 `PKIFailureInfo` bit and a reason for the
/// `statusString`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The failure bit.
    pub fail_info: FailureInfo,
    /// A human-readable reason.
    pub reason: String,
}

impl Rejection {
    fn new(fail_info: FailureInfo, reason: impl Into<String>) -> Rejection {
        Rejection {
            fail_info,
            reason: reason.into(),
        }
    }

    /// A `systemFailure` rejection (storage failed, or the notary is stopping or busy).
    pub fn system_failure(reason: impl Into<String>) -> Rejection {
        Rejection::new(FailureInfo::SystemFailure, reason)
    }

    /// The DER `TimeStampResp` carrying this rejection (status `rejection`, no token).
    pub fn to_der(&self) -> Vec<u8> {
        let status_string = Utf8StringRef::new(&self.reason).ok().map(|text| vec![text]);
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection,
                status_string,
                fail_info: Some(self.fail_info.to_bit_string()),
            },
            time_stamp_token: None,
        };
        response
            .to_der()
            .expect("a rejection with a short UTF-8 reason always encodes")
    }
}

/// `TimeStampResp` with our own token type (`x509_tsp`'s equals it; kept here for symmetry with
/// [`TstInfo`], whose `genTime` carries milliseconds).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp<'a> {
    status: PkiStatusInfo<'a>,
    #[asn1(optional = "true")]
    time_stamp_token: Option<ContentInfo>,
}

/// RFC 3161 `TSTInfo`. Its `genTime` carries milliseconds, which `der`'s `GeneralizedTime`
/// cannot, so the structure is declared here with [`GenTime`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// Always v1.
    pub version: TspVersion,
    /// The TSA policy.
    pub policy: PolicyId,
    /// The request's imprint, verbatim.
    pub message_imprint: MessageImprint,
    /// The entry's number in the notary's log.
    pub serial_number: Uint,
    /// The block's time.
    pub gen_time: GenTime,
    /// One second.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Never set: tokens are ordered by their serial number, not by `genTime`.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce.
    #[asn1(optional = "true")]
    pub nonce: Option<der::asn1::Int>,
    /// The TSA certificate's subject.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
}

/// A `GeneralizedTime` with milliseconds, as RFC 3161 allows and DER requires: `YYYYMMDDhhmmss`,
/// a fraction without trailing zeros (none at all for a whole second), and `Z`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct GenTime {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl GenTime {
    fn text(&self) -> der::Result<String> {
        let nanos = i128::from(self.unix_ms) * 1_000_000;
        let time = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|_| der::Error::from(der::ErrorKind::DateTime))?;
        let mut text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            time.year(),
            u8::from(time.month()),
            time.day(),
            time.hour(),
            time.minute(),
            time.second()
        );
        let millis = self.unix_ms % 1000;
        if millis != 0 {
            let fraction = format!("{millis:03}");
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text.push('Z');
        Ok(text)
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.text()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.text()?.as_bytes())
    }
}

impl<'a> der::DecodeValue<'a> for GenTime {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let bad = || der::Error::from(der::ErrorKind::DateTime);
        let bytes = reader.read_vec(header.length)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        let text = text.strip_suffix('Z').ok_or_else(bad)?;
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.len() != 14
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 3
            || fraction.ends_with('0')
            || (text.contains('.') && fraction.is_empty())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> der::Result<u32> {
            whole[range].parse().map_err(|_| bad())
        };
        let month = time::Month::try_from(number(4..6)? as u8).map_err(|_| bad())?;
        let date = time::Date::from_calendar_date(number(0..4)? as i32, month, number(6..8)? as u8)
            .map_err(|_| bad())?;
        let clock = time::Time::from_hms(
            number(8..10)? as u8,
            number(10..12)? as u8,
            number(12..14)? as u8,
        )
        .map_err(|_| bad())?;
        let seconds = date.with_time(clock).assume_utc().unix_timestamp();
        let millis: u64 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<3}").parse().map_err(|_| bad())?
        };
        let seconds = u64::try_from(seconds).map_err(|_| bad())?;
        Ok(GenTime {
            unix_ms: seconds * 1000 + millis,
        })
    }
}

/// ESS `SigningCertificateV2` (RFC 5035): binds the signature to the TSA certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// ESS `ESSCertIDv2` with the default hash algorithm (SHA-256), which DER omits.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// The `extendedKeyUsage` extension, critical, with `id-kp-timeStamping` only, as RFC 3161
/// requires of a TSA certificate.
struct TimeStampingUsage(ExtendedKeyUsage);

impl AssociatedOid for TimeStampingUsage {
    const OID: ObjectIdentifier = ExtendedKeyUsage::OID;
}

impl Encode for TimeStampingUsage {
    fn encoded_len(&self) -> der::Result<Length> {
        self.0.encoded_len()
    }

    fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

impl AsExtension for TimeStampingUsage {
    fn critical(&self, _subject: &Name, _extensions: &[Extension]) -> bool {
        true
    }
}

/// File names under the TSA's directory.
const CA_KEY: &str = "ca.key";
const CA_CERT: &str = "ca.pem";
const TSA_KEY: &str = "tsa.key";
const TSA_CERT: &str = "tsa.pem";

/// The time-stamp authority: its key, its certificate chain and its policy.
pub struct Tsa {
    signer: EcdsaKeyPair,
    rng: SystemRandom,
    certificate: Certificate,
    ca_pem: String,
    tsa_pem: String,
    signer_id: SignerIdentifier,
    signing_certificate: Attribute,
    tsa_name: GeneralName,
    policy: PolicyId,
}

impl std::fmt::Debug for Tsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsa")
            .field(
                "subject",
                &self.certificate.tbs_certificate.subject.to_string(),
            )
            .field("policy", &self.policy.to_dotted())
            .finish_non_exhaustive()
    }
}

impl Tsa {
    /// Loads the TSA's keys and chain from `dir`, or makes them there (keys mode 0600) when the
    /// directory holds none. `organisation` goes into the certificates' subjects; `policy` is
    /// the policy OID in dotted form.
    pub fn open(dir: &Path, organisation: &str, policy: &str) -> Result<Tsa, TsaError> {
        let policy = PolicyId::parse(policy).ok_or_else(|| TsaError::Policy(policy.to_owned()))?;
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| TsaError::Io {
                path: path.clone(),
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let files = [CA_KEY, CA_CERT, TSA_KEY, TSA_CERT];
        let present: Vec<bool> = files.iter().map(|name| dir.join(name).exists()).collect();
        if present.iter().all(|here| !here) {
            create_chain(dir, organisation)?;
        } else if let Some(index) = present.iter().position(|here| !here) {
            return Err(TsaError::Incomplete {
                dir: dir.display().to_string(),
                missing: files[index],
            });
        }
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(io(&path))
        };
        let key_pem = Zeroizing::new(read(TSA_KEY)?);
        let key = SigningKey::from_pkcs8_pem(&key_pem).map_err(|e| invalid(TSA_KEY)(&e))?;
        let tsa_pem = read(TSA_CERT)?;
        let ca_pem = read(CA_CERT)?;
        let certificate = Certificate::from_pem(&tsa_pem).map_err(|e| invalid(TSA_CERT)(&e))?;
        let ca = Certificate::from_pem(&ca_pem).map_err(|e| invalid(CA_CERT)(&e))?;
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .map_err(|e| invalid(TSA_KEY)(&e))?;
        if spki != certificate.tbs_certificate.subject_public_key_info {
            return Err(invalid(TSA_CERT)(
                &"the certificate is not for the key in tsa.key",
            ));
        }
        if certificate.tbs_certificate.issuer != ca.tbs_certificate.subject {
            return Err(invalid(TSA_CERT)(
                &"the certificate is not issued by ca.pem",
            ));
        }
        Tsa::new(&key, certificate, ca_pem, tsa_pem, policy)
    }

    fn new(
        key: &SigningKey,
        certificate: Certificate,
        ca_pem: String,
        tsa_pem: String,
        policy: PolicyId,
    ) -> Result<Tsa, TsaError> {
        let pkcs8 = key.to_pkcs8_der().map_err(|e| invalid(TSA_KEY)(&e))?;
        let rng = SystemRandom::new();
        let signer =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes(), &rng)
                .map_err(|e| invalid(TSA_KEY)(&e))?;
        let tbs = &certificate.tbs_certificate;
        let signer_id = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        let certificate_der = certificate.to_der().map_err(|e| invalid(TSA_CERT)(&e))?;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&certificate_der).to_vec())
                    .map_err(|e| invalid(TSA_CERT)(&e))?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                },
            }],
        };
        let signing_certificate = attribute(
            ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(|e| invalid(TSA_CERT)(&e))?,
        )
        .map_err(|e| invalid(TSA_CERT)(&e))?;
        let tsa_name = GeneralName::DirectoryName(tbs.subject.clone());
        Ok(Tsa {
            signer,
            rng,
            certificate,
            ca_pem,
            tsa_pem,
            signer_id,
            signing_certificate,
            tsa_name,
            policy,
        })
    }

    /// The CA certificate, PEM: what `openssl ts -verify -CAfile` trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The TSA certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.tsa_pem
    }

    /// The policy OID.
    pub fn policy(&self) -> &PolicyId {
        &self.policy
    }

    /// Checks a DER `TimeStampReq`: version 1, a SHA-256/384/512 imprint of the right length,
    /// our policy or none, no extensions, a nonce of at most [`NONCE_BYTES_MAX`] bytes.
    pub fn check_request(&self, der: &[u8]) -> Result<TimeStampRequest, Rejection> {
        use der::Decode;
        if der.len() > REQUEST_BYTES_MAX {
            return Err(Rejection::new(
                FailureInfo::BadDataFormat,
                format!("the request is larger than {REQUEST_BYTES_MAX} bytes"),
            ));
        }
        let request = TimeStampReq::from_der(der).map_err(|error| {
            Rejection::new(
                FailureInfo::BadDataFormat,
                format!("the request is not a DER TimeStampReq v1: {error}"),
            )
        })?;
        let oid = request.message_imprint.hash_algorithm.oid;
        let algorithm = ImprintAlgorithm::from_oid(&oid).ok_or_else(|| {
            Rejection::new(
                FailureInfo::BadAlg,
                format!("unsupported hash algorithm {oid}: use SHA-256, SHA-384 or SHA-512"),
            )
        })?;
        match &request.message_imprint.hash_algorithm.parameters {
            None => {}
            Some(parameters) if parameters.tag() == Tag::Null && parameters.value().is_empty() => {}
            Some(_) => {
                return Err(Rejection::new(
                    FailureInfo::BadAlg,
                    "the hash algorithm has parameters",
                ))
            }
        }
        let imprint_len = request.message_imprint.hashed_message.as_bytes().len();
        if imprint_len != algorithm.digest_len() {
            return Err(Rejection::new(
                FailureInfo::BadDataFormat,
                format!(
                    "the imprint has {imprint_len} bytes, {oid} digests have {}",
                    algorithm.digest_len()
                ),
            ));
        }
        if let Some(policy) = request.req_policy {
            if policy != self.policy {
                return Err(Rejection::new(
                    FailureInfo::UnacceptedPolicy,
                    format!(
                        "this TSA has the policy {}, not {}",
                        self.policy.to_dotted(),
                        policy.to_dotted()
                    ),
                ));
            }
        }
        if request.extensions.is_some() {
            return Err(Rejection::new(
                FailureInfo::UnacceptedExtension,
                "this TSA accepts no request extensions",
            ));
        }
        if let Some(nonce) = &request.nonce {
            if nonce.as_bytes().len() > NONCE_BYTES_MAX {
                return Err(Rejection::new(
                    FailureInfo::BadDataFormat,
                    format!("the nonce is longer than {NONCE_BYTES_MAX} bytes"),
                ));
            }
        }
        Ok(TimeStampRequest {
            algorithm,
            imprint: request.message_imprint,
            nonce: request.nonce,
            cert_req: request.cert_req,
        })
    }

    /// The DER `TimeStampResp` granting `request`: a token with serial number `serial` (the
    /// entry's number in the log) and `genTime` `time_ms` (its block's time).
    pub fn grant(
        &self,
        request: &TimeStampRequest,
        serial: u64,
        time_ms: u64,
    ) -> Result<Vec<u8>, TsaError> {
        let signing = |error: &dyn std::fmt::Display| TsaError::Signing(error.to_string());
        let info = TstInfo {
            version: TspVersion::V1,
            policy: self.policy.clone(),
            message_imprint: request.imprint.clone(),
            serial_number: Uint::new(&serial.to_be_bytes()).map_err(|e| signing(&e))?,
            gen_time: GenTime { unix_ms: time_ms },
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: Some(self.tsa_name.clone()),
        };
        let info_der = info.to_der().map_err(|e| signing(&e))?;
        let message_digest =
            OctetString::new(Sha256::digest(&info_der).to_vec()).map_err(|e| signing(&e))?;
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(
                ID_CONTENT_TYPE,
                Any::encode_from(&ID_CT_TST_INFO).map_err(|e| signing(&e))?,
            )
            .map_err(|e| signing(&e))?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&message_digest).map_err(|e| signing(&e))?,
            )
            .map_err(|e| signing(&e))?,
            self.signing_certificate.clone(),
        ])
        .map_err(|e| signing(&e))?;
        let to_sign = signed_attrs.to_der().map_err(|e| signing(&e))?;
        let signature = self
            .signer
            .sign(&self.rng, &to_sign)
            .map_err(|e| signing(&e))?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.signer_id.clone(),
            digest_alg: sha256.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_ref()).map_err(|e| signing(&e))?,
            unsigned_attrs: None,
        };
        let certificates = if request.cert_req {
            Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(
                    self.certificate.clone(),
                )])
                .map_err(|e| signing(&e))?,
            ))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(|e| signing(&e))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, info_der).map_err(|e| signing(&e))?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(|e| signing(&e))?,
            ),
        };
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(ContentInfo {
                content_type: ID_SIGNED_DATA,
                content: Any::encode_from(&signed_data).map_err(|e| signing(&e))?,
            }),
        };
        response.to_der().map_err(|e| signing(&e))
    }
}

/// A DER `TimeStampReq` for `imprint` (a digest made with `algorithm`), for clients, load tools
/// and tests.
pub fn request_der(
    algorithm: ImprintAlgorithm,
    imprint: &[u8],
    nonce: Option<u64>,
    cert_req: bool,
) -> Vec<u8> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: x509_cert::spki::AlgorithmIdentifier {
                oid: algorithm.oid(),
                parameters: None,
            },
            hashed_message: OctetString::new(imprint).expect("a digest is a short octet string"),
        },
        req_policy: None,
        nonce: nonce.map(|nonce| {
            let uint = Uint::new(&nonce.to_be_bytes()).expect("8 bytes make an integer");
            der::asn1::Int::new(uint.as_bytes()).expect("a positive integer")
        }),
        cert_req,
        extensions: None,
    }
    .to_der()
    .expect("a request always encodes")
}

/// The `TSTInfo` of a DER `TimeStampResp`, for auditors matching a token with its receipt.
/// Checks only the structure, not the signature (`openssl ts -verify` does that).
pub fn token_info(reply: &[u8]) -> Result<TstInfo, String> {
    use der::Decode;
    let response =
        TimeStampResp::from_der(reply).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    let token = response.time_stamp_token.ok_or_else(|| {
        format!(
            "the reply carries no token (status {:?})",
            response.status.status
        )
    })?;
    let content = token.content.to_der().map_err(|e| e.to_string())?;
    let signed = SignedData::from_der(&content).map_err(|e| format!("not SignedData: {e}"))?;
    let info = signed
        .encap_content_info
        .econtent
        .ok_or("the token has no content")?;
    TstInfo::from_der(info.value()).map_err(|e| format!("not a TSTInfo: {e}"))
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// Makes a CA and a TSA certificate with fresh P-256 keys and writes the four files durably.
fn create_chain(dir: &Path, organisation: &str) -> Result<(), TsaError> {
    let organisation: String = organisation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " ./:-_".contains(*c))
        .collect();
    let name = |common: &str| {
        Name::from_str(&format!("CN={common},O={organisation}"))
            .map_err(|e| invalid("certificate subject")(&e))
    };
    let ca_key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let tsa_key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let ca_subject = name("Sigillo TSA CA")?;
    let spki = |key: &SigningKey| {
        SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| invalid("key")(&e))
    };
    let serial = || {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes)
            .map_err(|e| invalid("serial")(&e))?;
        bytes[0] &= 0x7f;
        SerialNumber::new(&bytes).map_err(|e| invalid("serial")(&e))
    };
    let validity = |days: u64| {
        Validity::from_now(Duration::from_secs(days * 86_400)).map_err(|e| invalid("validity")(&e))
    };
    let ca = CertificateBuilder::new(
        Profile::Root,
        serial()?,
        validity(CA_CERTIFICATE_DAYS)?,
        ca_subject.clone(),
        spki(&ca_key)?,
        &ca_key,
    )
    .map_err(|e| invalid("CA certificate")(&e))?
    .build::<DerSignature>()
    .map_err(|e| invalid("CA certificate")(&e))?;
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca_subject,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        serial()?,
        validity(TSA_CERTIFICATE_DAYS)?,
        name("Sigillo TSA")?,
        spki(&tsa_key)?,
        &ca_key,
    )
    .map_err(|e| invalid("TSA certificate")(&e))?;
    builder
        .add_extension(&TimeStampingUsage(ExtendedKeyUsage(vec![
            ID_KP_TIME_STAMPING,
        ])))
        .map_err(|e| invalid("TSA certificate")(&e))?;
    let tsa = builder
        .build::<DerSignature>()
        .map_err(|e| invalid("TSA certificate")(&e))?;

    let write = |name: &str, text: &[u8], mode: u32| {
        let path = dir.join(name);
        write_durably(&path, text, mode).map_err(|source| TsaError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let pem = |certificate: &Certificate| {
        certificate
            .to_pem(LineEnding::LF)
            .map_err(|e| invalid("certificate")(&e))
    };
    let key_pem = |key: &SigningKey| {
        key.to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| invalid("key")(&e))
    };
    // Keys first: a crash between files leaves an incomplete directory, which `open` refuses
    // rather than silently making a second chain.
    write(CA_KEY, key_pem(&ca_key)?.as_bytes(), 0o600)?;
    write(TSA_KEY, key_pem(&tsa_key)?.as_bytes(), 0o600)?;
    write(CA_CERT, pem(&ca)?.as_bytes(), 0o644)?;
    write(TSA_CERT, pem(&tsa)?.as_bytes(), 0o644)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use p256::ecdsa::signature::Verifier;

    fn tsa(dir: &Path) -> Tsa {
        Tsa::open(dir, "test.example/notary", DEFAULT_POLICY).unwrap()
    }

    fn request(algorithm: ImprintAlgorithm, nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
        let der = request_der(algorithm, &algorithm.digest(b"hello"), None, cert_req);
        let mut request = TimeStampReq::from_der(&der).unwrap();
        request.nonce = nonce.map(|nonce| der::asn1::Int::new(nonce).unwrap());
        request.to_der().unwrap()
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sigillo-tsa-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn chain_is_made_once_and_reloaded() {
        let dir = temp_dir("reload");
        let first = tsa(&dir);
        let second = tsa(&dir);
        assert_eq!(first.ca_pem(), second.ca_pem());
        assert_eq!(first.certificate_pem(), second.certificate_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(TSA_KEY))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let certificate = Certificate::from_pem(first.certificate_pem()).unwrap();
        let eku = certificate
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|extension| extension.extn_id == ExtendedKeyUsage::OID)
            .unwrap();
        assert!(eku.critical);
        std::fs::remove_file(dir.join(CA_CERT)).unwrap();
        assert!(matches!(
            Tsa::open(&dir, "x", DEFAULT_POLICY),
            Err(TsaError::Incomplete {
                missing: CA_CERT,
                ..
            })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn granted_token_carries_the_request_and_a_valid_signature() {
        let dir = temp_dir("grant");
        let tsa = tsa(&dir);
        let request = tsa
            .check_request(&request(
                ImprintAlgorithm::Sha256,
                Some(&[0x12, 0x34]),
                true,
            ))
            .unwrap();
        assert_eq!(request.entry(), Digest::sha256(b"hello"));
        let der = tsa.grant(&request, 4242, 1_700_000_000_120).unwrap();
        let response = TimeStampResp::from_der(&der).unwrap();
        assert_eq!(response.status.status, PkiStatus::Accepted);
        let token = response.time_stamp_token.unwrap();
        let signed = SignedData::from_der(&token.content.to_der().unwrap()).unwrap();
        let content = signed.encap_content_info.econtent.unwrap();
        let info = TstInfo::from_der(content.value()).unwrap();
        assert_eq!(info.serial_number.as_bytes(), &4242u64.to_be_bytes()[6..]);
        assert_eq!(info.gen_time.unix_ms, 1_700_000_000_120);
        assert_eq!(info.nonce.unwrap().as_bytes(), &[0x12, 0x34]);
        assert_eq!(&info.policy, tsa.policy());
        assert_eq!(info.policy.to_dotted(), DEFAULT_POLICY);
        assert!(signed.certificates.is_some());
        let signer = signed.signer_infos.0.get(0).unwrap();
        let attrs = signer.signed_attrs.as_ref().unwrap();
        let key = Certificate::from_pem(tsa.certificate_pem())
            .unwrap()
            .tbs_certificate
            .subject_public_key_info;
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(key.subject_public_key.as_bytes().unwrap())
                .unwrap();
        let signature = p256::ecdsa::DerSignature::from_bytes(signer.signature.as_bytes()).unwrap();
        key.verify(&attrs.to_der().unwrap(), &signature).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn policy_ids_round_trip_with_large_arcs() {
        for dotted in [DEFAULT_POLICY, "1.2.3.4", "0.4.0.2023.1.1", "2.999.1"] {
            let policy = PolicyId::parse(dotted).unwrap();
            assert_eq!(policy.to_dotted(), dotted);
            let der = policy.to_der().unwrap();
            assert_eq!(PolicyId::from_der(&der).unwrap(), policy);
        }
        // The DER of 1.2.840.113549 from X.690.
        assert_eq!(
            PolicyId::parse("1.2.840.113549").unwrap().to_der().unwrap(),
            [0x06, 0x06, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]
        );
        for bad in ["", "1", "3.1", "1.40", "1.02", "1..2", "1.2.x"] {
            assert!(PolicyId::parse(bad).is_none(), "{bad}");
        }
        for bad in [
            &[0x06, 0x02, 0x2a, 0x80][..],
            &[0x06, 0x02, 0x80, 0x01],
            &[0x06, 0x00],
        ] {
            assert!(PolicyId::from_der(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn failure_bits_are_encoded_as_rfc_3161_numbers_them() {
        // badAlg is bit 0: one byte 0x80 with 7 unused bits.
        assert_eq!(
            FailureInfo::BadAlg.to_bit_string().to_der().unwrap(),
            [0x03, 0x02, 0x07, 0x80]
        );
        // unacceptedPolicy is bit 15: two bytes, the last bit of the second set.
        assert_eq!(
            FailureInfo::UnacceptedPolicy
                .to_bit_string()
                .to_der()
                .unwrap(),
            [0x03, 0x03, 0x00, 0x00, 0x01]
        );
        assert_eq!(
            FailureInfo::SystemFailure.to_bit_string().to_der().unwrap(),
            [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]
        );
    }

    #[test]
    fn gen_time_encodes_milliseconds_without_trailing_zeros() {
        for (ms, text) in [
            (1_700_000_000_000, "20231114221320Z"),
            (1_700_000_000_120, "20231114221320.12Z"),
            (1_700_000_000_007, "20231114221320.007Z"),
        ] {
            let time = GenTime { unix_ms: ms };
            assert_eq!(time.text().unwrap(), text);
            let der = time.to_der().unwrap();
            assert_eq!(GenTime::from_der(&der).unwrap(), time);
        }
        for bad in ["20231114221320.120Z", "20231114221320.Z", "2023111422132Z"] {
            let mut der = vec![0x18, bad.len() as u8];
            der.extend_from_slice(bad.as_bytes());
            assert!(GenTime::from_der(&der).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_requests_get_the_right_failure() {
        let dir = temp_dir("reject");
        let tsa = tsa(&dir);
        let fail = |der: &[u8]| tsa.check_request(der).unwrap_err().fail_info;
        assert_eq!(fail(b"not der"), FailureInfo::BadDataFormat);
        let mut sha1 =
            TimeStampReq::from_der(&request(ImprintAlgorithm::Sha256, None, false)).unwrap();
        sha1.message_imprint.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        sha1.message_imprint.hashed_message = OctetString::new(vec![0u8; 20]).unwrap();
        assert_eq!(fail(&sha1.to_der().unwrap()), FailureInfo::BadAlg);
        let mut short =
            TimeStampReq::from_der(&request(ImprintAlgorithm::Sha512, None, false)).unwrap();
        short.message_imprint.hashed_message = OctetString::new(vec![0u8; 32]).unwrap();
        assert_eq!(fail(&short.to_der().unwrap()), FailureInfo::BadDataFormat);
        let mut policy =
            TimeStampReq::from_der(&request(ImprintAlgorithm::Sha384, None, false)).unwrap();
        policy.req_policy = PolicyId::parse("1.2.3.4");
        assert_eq!(
            fail(&policy.to_der().unwrap()),
            FailureInfo::UnacceptedPolicy
        );
        assert_eq!(
            fail(&request(ImprintAlgorithm::Sha256, Some(&[1u8; 65]), false)),
            FailureInfo::BadDataFormat
        );
        let rejection = tsa.check_request(b"x").unwrap_err().to_der();
        let response = TimeStampResp::from_der(&rejection).unwrap();
        assert_eq!(response.status.status, PkiStatus::Rejection);
        assert!(response.time_stamp_token.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
