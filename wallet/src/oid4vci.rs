//! OpenID for Verifiable Credential Issuance 1.0, issuer side: the pre-authorized code flow.
//!
//! Each issuer is its own credential issuer, identified by `PUBLIC/issuers/ID`:
//! - metadata at `/.well-known/openid-credential-issuer/issuers/ID` (and the OAuth
//!   authorization server's at `/.well-known/oauth-authorization-server/issuers/ID`);
//! - `POST /v1/oid4vci/offers` (the issuer's bearer token): a credential offer for a type and
//!   claims, by value (`openid-credential-offer://?credential_offer=…`) and by reference
//!   (`…?credential_offer_uri=PUBLIC/issuers/ID/offers/OFFER`), with a 6-digit transaction code
//!   to hand to the holder out of band;
//! - `POST /issuers/ID/token`: the pre-authorized code and transaction code for an access
//!   token (the code works once; three wrong transaction codes burn it);
//! - `POST /issuers/ID/nonce`: a fresh `c_nonce`, valid once, for 5 minutes;
//! - `POST /issuers/ID/credential`: the access token and one `openid4vci-proof+jwt` per copy
//!   (`proofs.jwt`, at most [`BATCH_SIZE`]): one SD-JWT VC per proof, each bound to that
//!   proof's key, so copies bound to different keys cannot be linked by `cnf`.
//!
//! Every grant (offer, token, nonce) is on disk before it is handed out, and consumed on disk
//! before what it buys is handed out.

use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::issuers::Issuer;
use crate::jose::{b64, Jws, PublicKey};
use crate::service::{Credentials, Holder, IssueRequest};
use crate::store::Records;
use crate::types::{self, CredentialType};
use crate::Error;

/// The grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The `typ` of a key proof.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// The most copies one credential request may ask for.
pub const BATCH_SIZE: usize = 10;
/// How long an offer stays open, in seconds.
pub const OFFER_TTL_SECONDS: i64 = 24 * 3600;
/// How long an access token lives, in seconds.
pub const TOKEN_TTL_SECONDS: i64 = 300;
/// How long a `c_nonce` lives, in seconds.
pub const NONCE_TTL_SECONDS: i64 = 300;
/// Wrong transaction codes after which an offer is burnt.
pub const TX_CODE_ATTEMPTS_MAX: u64 = 3;
/// How far a proof's `iat` may be from now, in seconds.
const PROOF_IAT_WINDOW_SECONDS: i64 = 300;

/// An OAuth or OpenID4VCI error: `{error, error_description}`.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct ProtocolError {
    /// The registered error code (`invalid_grant`, `invalid_proof`, …).
    pub code: &'static str,
    /// What went wrong.
    pub description: String,
    /// 401 (with `WWW-Authenticate`) rather than 400.
    pub unauthorized: bool,
}

fn refuse(code: &'static str, description: impl Into<String>) -> ProtocolError {
    ProtocolError {
        code,
        description: description.into(),
        unauthorized: false,
    }
}

impl From<Error> for ProtocolError {
    fn from(error: Error) -> Self {
        match error {
            Error::Storage { .. } | Error::ListsFull | Error::Config { .. } => ProtocolError {
                code: "server_error",
                description: error.to_string(),
                unauthorized: false,
            },
            other => refuse("invalid_credential_request", other.to_string()),
        }
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    b64(bytes)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The credential issuer identifier of `issuer`.
pub fn issuer_identifier(credentials: &Credentials, issuer: &str) -> String {
    format!("{}/issuers/{issuer}", credentials.public_url())
}

/// The two formats a type is offered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SD-JWT VC (`dc+sd-jwt`), bound by `cnf.jwk`.
    SdJwt,
    /// W3C VC 2.0 with an `eddsa-rdfc-2022` proof (`ldp_vc`), bound by `credentialSubject.id`
    /// (the proof key's did:key).
    LdpVc,
}

impl Format {
    /// The OpenID4VCI format identifier.
    pub fn name(self) -> &'static str {
        match self {
            Format::SdJwt => "dc+sd-jwt",
            Format::LdpVc => "ldp_vc",
        }
    }

    /// From the identifier.
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::SdJwt, Format::LdpVc]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// The credential configuration id of a type in a format.
pub fn configuration_id(credential_type: &CredentialType, format: Format) -> String {
    match format {
        Format::SdJwt => format!("{}-sd-jwt", credential_type.name),
        Format::LdpVc => format!("{}-ldp-vc", credential_type.name),
    }
}

fn configuration(id: &str) -> Option<(&'static CredentialType, Format)> {
    types::TYPES.iter().find_map(|t| {
        [Format::SdJwt, Format::LdpVc]
            .into_iter()
            .find(|f| configuration_id(t, *f) == id)
            .map(|f| (t, f))
    })
}

/// The credential issuer metadata of `issuer`.
pub fn metadata(credentials: &Credentials, issuer: &Issuer) -> Value {
    let identifier = issuer_identifier(credentials, &issuer.id);
    let mut configurations = Map::new();
    for credential_type in &issuer.types {
        let type_metadata = credential_type.metadata();
        configurations.insert(
            configuration_id(credential_type, Format::LdpVc),
            json!({
                "format": "ldp_vc",
                "scope": credential_type.name,
                "credential_definition": {
                    "@context": [crate::vc::CREDENTIALS_V2, types::CONTEXT_URL],
                    "type": ["VerifiableCredential", credential_type.vc_type],
                },
                "cryptographic_binding_methods_supported": ["did:key"],
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}
                },
                "credential_metadata": {
                    "display": type_metadata["display"],
                    "claims": type_metadata["claims"],
                },
            }),
        );
        configurations.insert(
            configuration_id(credential_type, Format::SdJwt),
            json!({
                "format": "dc+sd-jwt",
                "vct": credential_type.vct,
                "scope": credential_type.name,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["ES256", "EdDSA"],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}
                },
                "credential_metadata": {
                    "display": type_metadata["display"],
                    "claims": type_metadata["claims"],
                },
            }),
        );
    }
    json!({
        "credential_issuer": identifier,
        "authorization_servers": [identifier],
        "credential_endpoint": format!("{identifier}/credential"),
        "nonce_endpoint": format!("{identifier}/nonce"),
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        "display": [{"name": issuer.name, "locale": "it-IT"}],
        "credential_configurations_supported": configurations,
    })
}

/// The OAuth authorization server metadata (RFC 8414) of `issuer`.
pub fn authorization_server_metadata(credentials: &Credentials, issuer: &Issuer) -> Value {
    let identifier = issuer_identifier(credentials, &issuer.id);
    json!({
        "issuer": identifier,
        "token_endpoint": format!("{identifier}/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": true,
        "response_types_supported": [],
    })
}

/// A created offer.
#[derive(Clone, Debug)]
pub struct CreatedOffer {
    /// The offer object.
    pub offer: Value,
    /// `openid-credential-offer://?credential_offer=…` (by value).
    pub by_value: String,
    /// `openid-credential-offer://?credential_offer_uri=…` (by reference).
    pub by_reference: String,
    /// The transaction code for the holder, if one is required.
    pub tx_code: Option<String>,
    /// When the offer lapses (Unix seconds).
    pub expires_at: i64,
}

/// Creates an offer for one credential of `credential_type` with `claims` in `format`,
/// checked now against the type's schema. With `tx_code`, the holder must also give the
/// 6-digit code returned.
pub fn create_offer(
    credentials: &Credentials,
    issuer: &Issuer,
    credential_type: &str,
    claims: Map<String, Value>,
    format: Format,
    tx_code: bool,
) -> Result<CreatedOffer, Error> {
    let credential_type = types::find(credential_type).ok_or_else(|| Error::UnknownType {
        name: credential_type.to_owned(),
    })?;
    if !issuer.types.iter().any(|t| t.name == credential_type.name) {
        return Err(Error::Forbidden {
            reason: format!("{} may not issue {}", issuer.id, credential_type.name),
        });
    }
    crate::limits::check_depth(&Value::Object(claims.clone()), "claims")?;
    credential_type.check_claims(&Value::Object(claims.clone()))?;
    let now = crate::now_seconds();
    let code = random_token();
    let tx_code = tx_code.then(|| {
        let mut bytes = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000)
    });
    let identifier = issuer_identifier(credentials, &issuer.id);
    let mut grant = json!({"pre-authorized_code": code});
    if tx_code.is_some() {
        grant["tx_code"] = json!({
            "input_mode": "numeric",
            "length": 6,
            "description": format!("Il codice che {} le ha comunicato", issuer.name),
        });
    }
    let offer = json!({
        "credential_issuer": identifier,
        "credential_configuration_ids": [configuration_id(credential_type, format)],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    });
    let expires_at = now + OFFER_TTL_SECONDS;
    let record = json!({
        "issuer": issuer.id,
        "credential_type": credential_type.name,
        "format": format.name(),
        "claims": claims,
        "tx_code_sha256": tx_code.as_deref().map(|c| hex::encode(sha256(c))),
        "tx_attempts": 0,
        "expires_at": expires_at,
    });
    let offer_id = uuid::Uuid::new_v4().to_string();
    let store = credentials.store();
    store.put_record(Records::Offers, &sha256(&code), &record)?;
    store.put_record(
        Records::OfferDocuments,
        offer_id.as_bytes(),
        &json!({"issuer": issuer.id, "offer": offer, "expires_at": expires_at}),
    )?;
    store.flush()?;
    Ok(CreatedOffer {
        by_value: format!(
            "openid-credential-offer://?credential_offer={}",
            percent_encode(&offer.to_string())
        ),
        by_reference: format!(
            "openid-credential-offer://?credential_offer_uri={}",
            percent_encode(&format!("{identifier}/offers/{offer_id}"))
        ),
        offer,
        tx_code,
        expires_at,
    })
}

/// The offer object behind a by-reference offer.
pub fn offer_document(
    credentials: &Credentials,
    issuer: &str,
    offer_id: &str,
) -> Result<Value, Error> {
    let not_found = || Error::NotFound {
        what: "credential offer".into(),
    };
    let record = credentials
        .store()
        .record(Records::OfferDocuments, offer_id.as_bytes())?
        .ok_or_else(not_found)?;
    if record["issuer"] != issuer
        || record["expires_at"].as_i64().unwrap_or(0) < crate::now_seconds()
    {
        return Err(not_found());
    }
    Ok(record["offer"].clone())
}

/// The token endpoint: `form` is the decoded `application/x-www-form-urlencoded` body.
pub fn token(
    credentials: &Credentials,
    issuer: &Issuer,
    form: &[(String, String)],
) -> Result<Value, ProtocolError> {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match field("grant_type") {
        Some(PRE_AUTHORIZED_GRANT) => {}
        Some(other) => {
            return Err(refuse(
                "unsupported_grant_type",
                format!("{other} is not supported"),
            ))
        }
        None => return Err(refuse("invalid_request", "grant_type is missing")),
    }
    let code = field("pre-authorized_code")
        .ok_or_else(|| refuse("invalid_request", "pre-authorized_code is missing"))?;
    let store = credentials.store();
    let key = sha256(code);
    let invalid = || {
        refuse(
            "invalid_grant",
            "unknown, used or expired pre-authorized code",
        )
    };
    let record = store.record(Records::Offers, &key)?.ok_or_else(invalid)?;
    if record["issuer"] != issuer.id.as_str() {
        return Err(invalid());
    }
    if record["expires_at"].as_i64().unwrap_or(0) < crate::now_seconds() {
        store.take_record(Records::Offers, &key)?;
        store.flush()?;
        return Err(invalid());
    }
    if let Some(expected) = record["tx_code_sha256"].as_str() {
        let given = field("tx_code")
            .ok_or_else(|| refuse("invalid_request", "this offer needs its tx_code"))?;
        if hex::encode(sha256(given)) != expected {
            let attempts = record["tx_attempts"].as_u64().unwrap_or(0) + 1;
            if attempts >= TX_CODE_ATTEMPTS_MAX {
                store.take_record(Records::Offers, &key)?;
            } else {
                let mut counted = record.clone();
                counted["tx_attempts"] = attempts.into();
                store.replace_record(Records::Offers, &key, &record, &counted)?;
            }
            store.flush()?;
            return Err(refuse(
                "invalid_grant",
                format!(
                    "wrong tx_code ({attempts} of {TX_CODE_ATTEMPTS_MAX} attempts; the offer is \
                     withdrawn after the last)"
                ),
            ));
        }
    }
    // Exactly one caller consumes the code.
    let record = store
        .take_record(Records::Offers, &key)?
        .ok_or_else(invalid)?;
    let access_token = random_token();
    let expires_at = crate::now_seconds() + TOKEN_TTL_SECONDS;
    store.put_record(
        Records::AccessTokens,
        &sha256(&access_token),
        &json!({"offer": record, "expires_at": expires_at}),
    )?;
    store.flush()?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECONDS,
    }))
}

/// The nonce endpoint.
pub fn nonce(credentials: &Credentials) -> Result<Value, Error> {
    let nonce = random_token();
    let store = credentials.store();
    store.put_record(
        Records::Nonces,
        nonce.as_bytes(),
        &json!({"expires_at": crate::now_seconds() + NONCE_TTL_SECONDS}),
    )?;
    store.flush()?;
    Ok(json!({"c_nonce": nonce}))
}

/// Checks one key proof: `typ`, a key in `jwk` or a did:key `kid` (not both), the signature,
/// `aud` = the credential issuer, a fresh `iat`; returns the key and the proof's nonce.
pub fn check_proof(
    proof: &str,
    audience: &str,
    now: i64,
) -> Result<(PublicKey, String), ProtocolError> {
    let invalid = |reason: String| refuse("invalid_proof", reason);
    let jws = Jws::parse(proof).map_err(|e| invalid(e.to_string()))?;
    if jws.typ() != Some(PROOF_TYP) {
        return Err(invalid(format!("typ must be {PROOF_TYP}")));
    }
    let key = match (jws.header.get("jwk"), jws.kid()) {
        (Some(jwk), None) => {
            if jwk.get("d").is_some() {
                return Err(invalid("the jwk holds a private key".into()));
            }
            PublicKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?
        }
        (None, Some(kid)) if kid.starts_with("did:key:") => {
            let did = kid.split('#').next().unwrap_or(kid);
            crate::did::resolve_did_key(did).map_err(|e| invalid(e.to_string()))?
        }
        _ => {
            return Err(invalid(
                "exactly one of jwk or a did:key kid names the key".into(),
            ))
        }
    };
    jws.verify(&key).map_err(|e| invalid(e.to_string()))?;
    if jws.payload.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(invalid(format!("aud must be {audience}")));
    }
    let iat = jws
        .payload
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("iat is missing".into()))?;
    if (iat - now).abs() > PROOF_IAT_WINDOW_SECONDS {
        return Err(invalid("iat is not within 5 minutes of now".into()));
    }
    let nonce = jws
        .payload
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse("invalid_nonce", "the proof has no nonce"))?;
    Ok((key, nonce.to_owned()))
}

/// The credential endpoint: `access_token` from the `Authorization` header, `request` the
/// JSON body. Returns `{credentials: [{credential}, …]}`, one per proof.
pub async fn credential(
    credentials: &Credentials,
    issuer: &Issuer,
    access_token: Option<&str>,
    request: &Map<String, Value>,
) -> Result<Value, ProtocolError> {
    let unauthorized = |reason: &str| ProtocolError {
        code: "invalid_token",
        description: reason.to_owned(),
        unauthorized: true,
    };
    let access_token = access_token.ok_or_else(|| unauthorized("no access token"))?;
    let store = credentials.store();
    let token_key = sha256(access_token);
    let grant = store
        .record(Records::AccessTokens, &token_key)?
        .ok_or_else(|| unauthorized("unknown or used access token"))?;
    let now = crate::now_seconds();
    if grant["expires_at"].as_i64().unwrap_or(0) < now {
        return Err(unauthorized("the access token has expired"));
    }
    let offer = &grant["offer"];
    if offer["issuer"] != issuer.id.as_str() {
        return Err(unauthorized("the access token is for another issuer"));
    }
    let credential_type = types::find(offer["credential_type"].as_str().unwrap_or_default())
        .ok_or_else(|| refuse("server_error", "the offer names an unknown type"))?;
    let asked = request
        .get("credential_configuration_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            refuse(
                "invalid_credential_request",
                "credential_configuration_id is missing",
            )
        })?;
    let format = Format::from_name(offer["format"].as_str().unwrap_or("dc+sd-jwt"))
        .ok_or_else(|| refuse("server_error", "the offer names an unknown format"))?;
    if configuration(asked).map(|(t, f)| (t.name, f)) != Some((credential_type.name, format)) {
        return Err(refuse(
            "unknown_credential_configuration",
            format!("{asked} is not the configuration offered"),
        ));
    }
    let proofs: Vec<&str> = match (request.get("proofs"), request.get("proof")) {
        (Some(proofs), None) => proofs
            .get("jwt")
            .and_then(Value::as_array)
            .ok_or_else(|| refuse("invalid_proof", "proofs.jwt must be an array"))?
            .iter()
            .map(|p| {
                p.as_str()
                    .ok_or_else(|| refuse("invalid_proof", "a proof is a string"))
            })
            .collect::<Result<_, _>>()?,
        (None, Some(_)) => {
            return Err(refuse(
                "invalid_credential_request",
                "use proofs (OpenID4VCI 1.0), not proof",
            ))
        }
        _ => return Err(refuse("invalid_proof", "proofs.jwt is missing")),
    };
    if proofs.is_empty() || proofs.len() > BATCH_SIZE {
        return Err(refuse(
            "invalid_proof",
            format!("between 1 and {BATCH_SIZE} proofs"),
        ));
    }
    let audience = issuer_identifier(credentials, &issuer.id);
    let mut keys = Vec::with_capacity(proofs.len());
    let mut nonces = Vec::new();
    for proof in proofs {
        let (key, nonce) = check_proof(proof, &audience, now)?;
        if !nonces.contains(&nonce) {
            nonces.push(nonce);
        }
        keys.push(key);
    }
    for nonce in &nonces {
        let fresh = store
            .record(Records::Nonces, nonce.as_bytes())?
            .is_some_and(|n| n["expires_at"].as_i64().unwrap_or(0) >= now);
        if !fresh {
            return Err(refuse("invalid_nonce", "unknown, used or expired c_nonce"));
        }
    }
    // Consume the nonces and the token before issuing: a replay finds them gone.
    for nonce in &nonces {
        if store
            .take_record(Records::Nonces, nonce.as_bytes())?
            .is_none()
        {
            return Err(refuse("invalid_nonce", "the c_nonce was just used"));
        }
    }
    if store
        .take_record(Records::AccessTokens, &token_key)?
        .is_none()
    {
        return Err(unauthorized("the access token was just used"));
    }
    let claims = offer["claims"].as_object().cloned().unwrap_or_default();
    let requests: Vec<IssueRequest> = keys
        .iter()
        .map(|key| {
            let holder = match format {
                Format::SdJwt => Holder::Jwk(key.to_jwk()),
                Format::LdpVc => Holder::DidKey(crate::did::did_key(key)),
            };
            IssueRequest::new(credential_type.name, claims.clone(), Some(holder))
        })
        .collect();
    // Issuance flushes the consumption above together with the status entries.
    let issued = match format {
        Format::SdJwt => credentials.issue_sd_jwt(issuer, &requests)?,
        Format::LdpVc => {
            credentials
                .issue_vc(issuer, &requests, crate::vc::Suite::EddsaRdfc2022)
                .await?
        }
    };
    Ok(json!({
        "credentials": issued
            .iter()
            .map(|c| json!({"credential": c.credential}))
            .collect::<Vec<_>>(),
    }))
}
