//! [`Credentials`]: the issuers' keys and registry, the trust list, the status lists and the
//! store, and the operations on them: issue (SD-JWT VC and VC 2.0, one or a batch), change a
//! status, serve signed status lists, and verify credentials and presentations.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use crate::issuers::{self, ExternalIssuer, Issuer, IssuerConfig, TrustedIssuer};
use crate::jose::{Algorithm, PublicKey, SigningKey};
use crate::sdjwt::{self, BindingCheck, DisclosurePolicy};
use crate::status::{List, Purpose, Status, LIST_ENTRIES};
use crate::store::{CredentialRecord, Store};
use crate::types::{self, CredentialType};
use crate::{now_seconds, Error};

/// The SD-JWT VC media type's `typ`.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The `typ` of earlier SD-JWT VC drafts, still produced by some peers; accepted with a warning.
pub const SD_JWT_VC_TYP_LEGACY: &str = "vc+sd-jwt";
/// How far a verifier tolerates clock skew, in seconds.
pub const CLOCK_SKEW_SECONDS: i64 = 60;
/// How long a key-binding JWT stays fresh, in seconds.
pub const KB_FRESHNESS_SECONDS: i64 = 300;
/// How long a signed status list may be cached, in seconds (its `ttl`).
pub const STATUS_LIST_TTL_SECONDS: i64 = 300;
/// The most credentials one batch may issue.
pub const BATCH_CREDENTIALS_MAX: usize = 100;

fn check_batch_size(requests: &[IssueRequest]) -> Result<(), Error> {
    if requests.is_empty() || requests.len() > BATCH_CREDENTIALS_MAX {
        return Err(Error::TooLarge {
            what: "batch",
            limit: BATCH_CREDENTIALS_MAX,
        });
    }
    Ok(())
}

/// How the credentials module is set up.
#[derive(Clone, Debug)]
pub struct CredentialsConfig {
    /// Where keys, token hashes and the database live (`DATA/wallet`).
    pub data_dir: PathBuf,
    /// The public base URL (status list URLs start with it).
    pub public_url: String,
    /// The host (and port) that names the did:web DIDs.
    pub did_host: String,
    /// The issuers.
    pub issuers: Vec<IssuerConfig>,
    /// External issuers the verifiers trust.
    pub external: Vec<ExternalIssuer>,
    /// Who may act as each issuer: `sigillo serve` shares its store; `None` opens one in
    /// `data_dir/access`.
    pub access: Option<Arc<access::Access>>,
}

/// Who a credential is bound to.
#[derive(Clone, Debug)]
pub enum Holder {
    /// A did:key DID.
    DidKey(String),
    /// A bare public JWK.
    Jwk(Value),
}

impl Holder {
    fn key(&self) -> Result<PublicKey, Error> {
        match self {
            Holder::DidKey(did) => crate::did::resolve_did_key(did),
            Holder::Jwk(jwk) => PublicKey::from_jwk(jwk),
        }
    }
}

/// One credential to issue.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The credential type (short name, `vct` or VC type).
    pub credential_type: String,
    /// The subject's claims.
    pub claims: Map<String, Value>,
    /// The holder, for holder binding (`cnf`, or `credentialSubject.id`).
    pub holder: Option<Holder>,
    /// Start of validity (Unix seconds); now if absent.
    pub valid_from: Option<i64>,
    /// End of validity (Unix seconds); the type's longest validity if absent.
    pub valid_until: Option<i64>,
    /// The SD-JWT signature algorithm: ES256 unless EdDSA is asked for.
    pub algorithm: Algorithm,
    /// Add decoy digests (SD-JWT).
    pub decoys: bool,
}

impl IssueRequest {
    /// A request with the defaults: ES256, decoys, valid from now for the type's longest term.
    pub fn new(credential_type: &str, claims: Map<String, Value>, holder: Option<Holder>) -> Self {
        IssueRequest {
            credential_type: credential_type.into(),
            claims,
            holder,
            valid_from: None,
            valid_until: None,
            algorithm: Algorithm::Es256,
            decoys: true,
        }
    }
}

/// An issued credential.
#[derive(Clone, Debug)]
pub struct IssuedCredential {
    /// Its id.
    pub id: String,
    /// The SD-JWT (a string) or the VC 2.0 document (an object).
    pub credential: Value,
    /// Where its status is kept.
    pub status_list: String,
    /// Its index in that list.
    pub status_index: u32,
}

/// Options of a verification.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The audience a presentation must be bound to (VC-API `domain`).
    pub aud: Option<String>,
    /// The nonce a presentation must be bound to (VC-API `challenge`).
    pub nonce: Option<String>,
    /// Now, in Unix seconds, if not the clock's.
    pub now: Option<i64>,
}

/// What a successful verification found.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The checks that passed, by name.
    pub checks: Vec<&'static str>,
    /// Things worth knowing that do not invalidate the credential.
    pub warnings: Vec<String>,
    /// The issuer.
    pub issuer: String,
    /// The `vct` or VC type.
    pub credential_type: String,
    /// The claims (SD-JWT: only the disclosed ones).
    pub claims: Value,
    /// The paths of the disclosed claims (SD-JWT).
    pub disclosed: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ListView {
    Token,
    Bitstring(Purpose),
}

/// Signed status lists by (issuer, list, view): (list version, signed at, the signed list).
type SignedLists = HashMap<(String, u32, ListView), (u64, i64, Value)>;

#[derive(Default)]
struct Lists {
    lists: HashMap<(String, u32), (List, u64)>,
    current: HashMap<String, u32>,
}

/// The credentials service.
pub struct Credentials {
    issuers: Vec<Issuer>,
    trust: HashMap<String, TrustedIssuer>,
    store: Store,
    lists: Mutex<Lists>,
    signed_lists: Mutex<SignedLists>,
    public_url: String,
    access: Arc<access::Access>,
    new_tokens: Vec<(String, String)>,
    json_ld: crate::vc::Loader,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Opens the module: loads or creates the issuers' keys, makes a token for each issuer that
    /// has none, builds the trust list, and replays the status entries from the store.
    pub fn open(config: CredentialsConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| Error::Storage {
            reason: format!("{}: {e}", config.data_dir.display()),
        })?;
        let issuers = issuers::load(
            &config.data_dir.join("issuers"),
            &config.did_host,
            &config.issuers,
        )?;
        let access_error = |error: access::AccessError| Error::Storage {
            reason: format!("access tokens: {error}"),
        };
        let access = match config.access {
            Some(access) => access,
            None => Arc::new(
                access::Access::open(&config.data_dir.join("access")).map_err(access_error)?,
            ),
        };
        let mut new_tokens = Vec::new();
        for issuer in &issuers {
            let scope = [issuer.id.clone()];
            // Before the shared store, each issuer's token hash was kept beside its keys.
            let legacy = config
                .data_dir
                .join("issuers")
                .join(&issuer.id)
                .join("token.sha256");
            if let Ok(sha256) = std::fs::read_to_string(&legacy) {
                access
                    .import(&issuer.id, access::Role::Issuer, &scope, sha256.trim())
                    .map_err(access_error)?;
            }
            if let Some(token) = access
                .ensure(&issuer.id, access::Role::Issuer, &scope)
                .map_err(access_error)?
            {
                new_tokens.push((issuer.id.clone(), token));
            }
        }
        let mut trust = HashMap::new();
        for issuer in &issuers {
            let mut keys = HashMap::new();
            keys.insert(
                issuer.ed25519_method(),
                PublicKey::Ed25519(issuer.ed25519.verifying_key()),
            );
            keys.insert(issuer.p256_method(), issuer.p256.public());
            let types = issuer.types.iter().map(|t| t.name.to_owned()).collect();
            trust.insert(issuer.did.clone(), TrustedIssuer { keys, types });
        }
        for external in &config.external {
            trust.insert(external.id.clone(), issuers::external(external)?);
        }
        let store = Store::open(&config.data_dir.join("db"))?;
        let mut lists = Lists::default();
        for (issuer, list, index, status) in store.entries()? {
            let (entry, _) = lists.lists.entry((issuer.clone(), list)).or_default();
            entry.mark_allocated(index);
            entry.set(index, status);
            let current = lists.current.entry(issuer).or_insert(list);
            *current = (*current).max(list);
        }
        Ok(Credentials {
            issuers,
            trust,
            store,
            lists: Mutex::new(lists),
            signed_lists: Mutex::new(HashMap::new()),
            public_url: config.public_url.trim_end_matches('/').to_owned(),
            access,
            new_tokens,
            json_ld: crate::vc::Loader::new(),
        })
    }

    /// Removes the OpenID4VCI and OpenID4VP grants that expired before `now` (offers with
    /// their claims, access tokens, nonces, authorization requests). `sigillo serve` runs it
    /// every minute.
    pub fn purge_expired(&self, now: i64) -> Result<usize, Error> {
        self.store.purge_expired(now)
    }

    /// The store (the OpenID4VCI and OpenID4VP flows keep their records there too).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Tokens generated at this start, for issuers that had none: (issuer, token).
    pub fn new_tokens(&self) -> &[(String, String)] {
        &self.new_tokens
    }

    /// The issuers.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// An issuer by short name.
    pub fn issuer(&self, id: &str) -> Option<&Issuer> {
        self.issuers.iter().find(|issuer| issuer.id == id)
    }

    /// The issuer the bearer token of `headers` acts as: an `issuer` token, scoped to one of
    /// this module's issuers.
    pub fn authenticate(&self, headers: &axum::http::HeaderMap) -> Result<&Issuer, Error> {
        let grant = self
            .access
            .authorise(headers, &[access::Role::Issuer])
            .map_err(|denied| match denied {
                access::Denied::Missing | access::Denied::Invalid => Error::Unauthorized,
                denied => Error::Forbidden {
                    reason: denied.to_string(),
                },
            })?;
        grant
            .scope
            .iter()
            .find_map(|id| self.issuer(id))
            .ok_or_else(|| Error::Forbidden {
                reason: format!(
                    "the token {:?} acts as no issuer of this service",
                    grant.name
                ),
            })
    }

    /// The public base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The JSON-LD loader with the pinned contexts.
    pub fn json_ld(&self) -> &crate::vc::Loader {
        &self.json_ld
    }

    /// The trust entry of `issuer`.
    pub fn trusted(&self, issuer: &str) -> Result<&TrustedIssuer, Error> {
        self.trust
            .get(issuer)
            .ok_or_else(|| Error::UntrustedIssuer {
                issuer: issuer.into(),
            })
    }

    /// The URL of a Token Status List.
    pub fn token_list_url(&self, issuer: &str, list: u32) -> String {
        format!(
            "{}/v1/credentials/status-lists/{issuer}/{list}",
            self.public_url
        )
    }

    /// The URL of a Bitstring Status List credential.
    pub fn bitstring_list_url(&self, issuer: &str, list: u32, purpose: Purpose) -> String {
        format!(
            "{}/v1/credentials/status-lists/{issuer}/{list}/{}",
            self.public_url,
            purpose.name()
        )
    }

    fn check_request(
        &self,
        issuer: &Issuer,
        request: &IssueRequest,
        now: i64,
    ) -> Result<(&'static CredentialType, i64, i64), Error> {
        let credential_type =
            types::find(&request.credential_type).ok_or_else(|| Error::UnknownType {
                name: request.credential_type.clone(),
            })?;
        if !issuer.may_issue(credential_type) {
            return Err(Error::Forbidden {
                reason: format!("{} may not issue {}", issuer.id, credential_type.name),
            });
        }
        let claims = Value::Object(request.claims.clone());
        crate::limits::check_depth(&claims, "claims")?;
        credential_type.check_claims(&claims)?;
        let valid_from = request.valid_from.unwrap_or(now);
        let longest = valid_from + i64::from(credential_type.validity_days_max) * 86_400;
        let valid_until = request.valid_until.unwrap_or(longest);
        if valid_until <= valid_from {
            return Err(Error::Claims {
                reason: "valid_until must come after valid_from".into(),
            });
        }
        if valid_until > longest {
            return Err(Error::Claims {
                reason: format!(
                    "a {} credential is valid for at most {} days",
                    credential_type.name, credential_type.validity_days_max
                ),
            });
        }
        if valid_until <= now {
            return Err(Error::Claims {
                reason: "the credential would already be expired".into(),
            });
        }
        Ok((credential_type, valid_from, valid_until))
    }

    fn allocate(&self, issuer: &str, count: usize) -> Result<Vec<(u32, u32)>, Error> {
        let mut lists = self.lists.lock().expect("the lists lock is never poisoned");
        let Lists { lists, current } = &mut *lists;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let number = current.entry(issuer.to_owned()).or_insert(0);
            let (list, _) = lists.entry((issuer.to_owned(), *number)).or_default();
            if !list.has_room() {
                *number = number.checked_add(1).ok_or(Error::ListsFull)?;
            }
            let (list, _) = lists.entry((issuer.to_owned(), *number)).or_default();
            out.push((*number, list.allocate()));
        }
        Ok(out)
    }

    /// Issues SD-JWT VCs as `issuer`: every claim selectively disclosable (nested objects and
    /// arrays element by element), decoys, `cnf` for the holder, a Token Status List entry.
    /// All or nothing: the batch is checked whole before anything is allocated, and returned
    /// only once its status entries are on disk.
    pub fn issue_sd_jwt(
        &self,
        issuer: &Issuer,
        requests: &[IssueRequest],
    ) -> Result<Vec<IssuedCredential>, Error> {
        check_batch_size(requests)?;
        let now = now_seconds();
        let mut checked = Vec::with_capacity(requests.len());
        for request in requests {
            let (credential_type, valid_from, valid_until) =
                self.check_request(issuer, request, now)?;
            let holder = request.holder.as_ref().map(Holder::key).transpose()?;
            checked.push((credential_type, valid_from, valid_until, holder));
        }
        let slots = self.allocate(&issuer.id, requests.len())?;
        let ed25519 = SigningKey::Ed25519(issuer.ed25519.clone());
        let mut issued = Vec::with_capacity(requests.len());
        let mut records = Vec::with_capacity(requests.len());
        for ((request, (credential_type, valid_from, valid_until, holder)), (list, index)) in
            requests.iter().zip(checked).zip(slots)
        {
            let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            let list_url = self.token_list_url(&issuer.id, list);
            let mut clear = Map::new();
            clear.insert("iss".into(), issuer.did.clone().into());
            clear.insert("iat".into(), now.into());
            clear.insert("nbf".into(), valid_from.into());
            clear.insert("exp".into(), valid_until.into());
            clear.insert("vct".into(), credential_type.vct.into());
            clear.insert("jti".into(), id.clone().into());
            if let Some(holder) = &holder {
                clear.insert("cnf".into(), json!({"jwk": holder.to_jwk()}));
            }
            clear.insert(
                "status".into(),
                json!({"status_list": {"idx": index, "uri": list_url}}),
            );
            let (key, kid) = match request.algorithm {
                Algorithm::Es256 => (&issuer.p256, issuer.p256_method()),
                Algorithm::EdDsa => (&ed25519, issuer.ed25519_method()),
            };
            let policy = DisclosurePolicy {
                decoys: request.decoys,
                recursive: true,
            };
            let sd_jwt = sdjwt::issue(
                key,
                &kid,
                SD_JWT_VC_TYP,
                clear,
                request.claims.clone(),
                policy,
            )?;
            records.push(CredentialRecord {
                id: id.clone(),
                issuer: issuer.id.clone(),
                credential_type: credential_type.name.into(),
                format: SD_JWT_VC_TYP.into(),
                ..CredentialRecord::slot(list, index, now, valid_until)
            });
            issued.push(IssuedCredential {
                id,
                credential: Value::String(sd_jwt.compact),
                status_list: list_url,
                status_index: index,
            });
        }
        self.store.put_issued(&records)?;
        self.store.flush()?;
        Ok(issued)
    }

    /// Issues VC 2.0 credentials with an `eddsa-rdfc-2022` (or `eddsa-jcs-2022`) proof and
    /// Bitstring Status List entries for revocation and suspension.
    pub async fn issue_vc(
        &self,
        issuer: &Issuer,
        requests: &[IssueRequest],
        suite: crate::vc::Suite,
    ) -> Result<Vec<IssuedCredential>, Error> {
        check_batch_size(requests)?;
        let now = now_seconds();
        let mut checked = Vec::with_capacity(requests.len());
        for request in requests {
            let checks = self.check_request(issuer, request, now)?;
            if let Some(Holder::Jwk(_)) = request.holder {
                return Err(Error::Claims {
                    reason: "a VC 2.0 holder is named by a DID (credentialSubject.id)".into(),
                });
            }
            checked.push(checks);
        }
        let slots = self.allocate(&issuer.id, requests.len())?;
        let mut issued = Vec::with_capacity(requests.len());
        let mut records = Vec::with_capacity(requests.len());
        for ((request, (credential_type, valid_from, valid_until)), (list, index)) in
            requests.iter().zip(checked).zip(slots)
        {
            let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            let mut subject = request.claims.clone();
            if let Some(Holder::DidKey(did)) = &request.holder {
                subject.insert("id".into(), did.clone().into());
            }
            let status = |purpose: Purpose| {
                let url = self.bitstring_list_url(&issuer.id, list, purpose);
                json!({
                    "id": format!("{url}#{index}"),
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": purpose.name(),
                    "statusListIndex": index.to_string(),
                    "statusListCredential": url,
                })
            };
            let credential = json!({
                "@context": [crate::vc::CREDENTIALS_V2, types::CONTEXT_URL],
                "id": id,
                "type": ["VerifiableCredential", credential_type.vc_type],
                "issuer": {"id": issuer.did, "name": issuer.name},
                "validFrom": crate::vc::datetime(valid_from),
                "validUntil": crate::vc::datetime(valid_until),
                "credentialSubject": subject,
                "credentialStatus": [status(Purpose::Revocation), status(Purpose::Suspension)],
                "credentialSchema": {
                    "id": format!("{}/v1/credentials/types/{}/schema", self.public_url, credential_type.name),
                    "type": "JsonSchema"
                },
            });
            let signed = crate::vc::sign(self, issuer, credential, suite, now).await?;
            records.push(CredentialRecord {
                id: id.clone(),
                issuer: issuer.id.clone(),
                credential_type: credential_type.name.into(),
                format: "ldp_vc".into(),
                ..CredentialRecord::slot(list, index, now, valid_until)
            });
            issued.push(IssuedCredential {
                id,
                credential: signed,
                status_list: self.bitstring_list_url(&issuer.id, list, Purpose::Revocation),
                status_index: index,
            });
        }
        self.store.put_issued(&records)?;
        self.store.flush()?;
        Ok(issued)
    }

    /// Changes the status of one of `issuer`'s credentials; returns the previous status.
    /// Revocation is final; a suspended credential may be reinstated.
    pub fn set_status(
        &self,
        issuer: &Issuer,
        credential_id: &str,
        status: Status,
    ) -> Result<Status, Error> {
        let record = self
            .store
            .credential(credential_id)?
            .filter(|record| record.issuer == issuer.id)
            .ok_or_else(|| Error::NotFound {
                what: format!("credential {credential_id} of {}", issuer.id),
            })?;
        let mut lists = self.lists.lock().expect("the lists lock is never poisoned");
        let (list, version) = lists
            .lists
            .get_mut(&(record.issuer.clone(), record.list))
            .ok_or_else(|| Error::Storage {
                reason: "a credential's status list is missing".into(),
            })?;
        let current = list.get(record.index);
        if !current.may_become(status) {
            return Err(Error::StatusChange {
                from: current,
                to: status,
            });
        }
        self.store.put_status(&record, status)?;
        self.store.flush()?;
        list.set(record.index, status);
        *version += 1;
        Ok(current)
    }

    /// The status of an entry in one of our lists, if the URL is one of ours.
    fn local_status(&self, list_url: &str, index: u32) -> Option<Status> {
        let rest = list_url
            .strip_prefix(&self.public_url)?
            .strip_prefix("/v1/credentials/status-lists/")?;
        let mut parts = rest.split('/');
        let issuer = parts.next()?;
        let list: u32 = parts.next()?.parse().ok()?;
        let lists = self.lists.lock().expect("the lists lock is never poisoned");
        Some(match lists.lists.get(&(issuer.to_owned(), list)) {
            Some((list, _)) if index < LIST_ENTRIES => list.get(index),
            _ => Status::Valid,
        })
    }

    fn list_snapshot(&self, issuer: &str, list: u32) -> Result<(List, u64), Error> {
        let lists = self.lists.lock().expect("the lists lock is never poisoned");
        if self.issuer(issuer).is_none() || list > lists.current.get(issuer).copied().unwrap_or(0) {
            return Err(Error::NotFound {
                what: format!("status list {issuer}/{list}"),
            });
        }
        Ok(lists
            .lists
            .get(&(issuer.to_owned(), list))
            .cloned()
            .unwrap_or_default())
    }

    /// The signed Token Status List (`statuslist+jwt`) `list` of `issuer`, re-signed only when a
    /// status changed or half its `ttl` has passed.
    pub fn token_status_list(&self, issuer_id: &str, list: u32) -> Result<String, Error> {
        let now = now_seconds();
        let key = (issuer_id.to_owned(), list, ListView::Token);
        let (snapshot, version) = self.list_snapshot(issuer_id, list)?;
        if let Some((cached_version, signed_at, Value::String(jwt))) =
            self.signed_lists.lock().expect("never poisoned").get(&key)
        {
            if *cached_version == version && now - signed_at < STATUS_LIST_TTL_SECONDS / 2 {
                return Ok(jwt.clone());
            }
        }
        let issuer = self
            .issuer(issuer_id)
            .expect("list_snapshot checked the issuer");
        let mut header = Map::new();
        header.insert("typ".into(), "statuslist+jwt".into());
        let payload = json!({
            "sub": self.token_list_url(issuer_id, list),
            "iss": issuer.did,
            "iat": now,
            "exp": now + 2 * STATUS_LIST_TTL_SECONDS,
            "ttl": STATUS_LIST_TTL_SECONDS,
            "status_list": {"bits": crate::status::TOKEN_STATUS_BITS, "lst": snapshot.token_status_lst()},
        });
        let jwt = issuer
            .p256
            .sign_jws(header, Some(&issuer.p256_method()), &payload);
        self.signed_lists
            .lock()
            .expect("never poisoned")
            .insert(key, (version, now, Value::String(jwt.clone())));
        Ok(jwt)
    }

    /// The signed Bitstring Status List credential for `purpose`.
    pub async fn bitstring_status_list(
        &self,
        issuer_id: &str,
        list: u32,
        purpose: Purpose,
    ) -> Result<Value, Error> {
        let now = now_seconds();
        let key = (issuer_id.to_owned(), list, ListView::Bitstring(purpose));
        let (snapshot, version) = self.list_snapshot(issuer_id, list)?;
        if let Some((cached_version, signed_at, document)) =
            self.signed_lists.lock().expect("never poisoned").get(&key)
        {
            if *cached_version == version && now - signed_at < STATUS_LIST_TTL_SECONDS / 2 {
                return Ok(document.clone());
            }
        }
        let issuer = self
            .issuer(issuer_id)
            .expect("list_snapshot checked the issuer");
        let url = self.bitstring_list_url(issuer_id, list, purpose);
        let credential = json!({
            "@context": [crate::vc::CREDENTIALS_V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer.did,
            "validFrom": crate::vc::datetime(now),
            "validUntil": crate::vc::datetime(now + 2 * STATUS_LIST_TTL_SECONDS),
            "credentialSubject": {
                "id": format!("{url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": purpose.name(),
                "ttl": STATUS_LIST_TTL_SECONDS * 1000,
                "encodedList": snapshot.bitstring_encoded(purpose),
            },
        });
        let signed = crate::vc::sign(
            self,
            issuer,
            credential,
            crate::vc::Suite::EddsaRdfc2022,
            now,
        )
        .await?;
        self.signed_lists
            .lock()
            .expect("never poisoned")
            .insert(key, (version, now, signed.clone()));
        Ok(signed)
    }

    /// Verifies an SD-JWT VC, or a presentation of one when `options` carries `aud` and
    /// `nonce`: signature and algorithm, issuer trusted for the `vct`, validity period,
    /// status, schema of the disclosed claims, every disclosure, and the key binding.
    pub fn verify_sd_jwt(
        &self,
        compact: &str,
        options: &VerifyOptions,
    ) -> Result<Verification, Error> {
        let now = options.now.unwrap_or_else(now_seconds);
        let parsed = sdjwt::parse(compact)?;
        let mut warnings = Vec::new();
        let mut checks = vec!["format"];
        match parsed.jwt.typ() {
            Some(SD_JWT_VC_TYP) => {}
            Some(SD_JWT_VC_TYP_LEGACY) => warnings.push(format!(
                "typ {SD_JWT_VC_TYP_LEGACY} is from an earlier draft; {SD_JWT_VC_TYP} is current"
            )),
            other => {
                return Err(Error::Malformed {
                    what: "typ",
                    reason: format!("{other:?} is not {SD_JWT_VC_TYP}"),
                })
            }
        }
        let claim = |name: &str| parsed.jwt.payload.get(name);
        let issuer = claim("iss")
            .and_then(Value::as_str)
            .ok_or(Error::Malformed {
                what: "iss",
                reason: "missing".into(),
            })?;
        let trusted = self.trusted(issuer)?;
        let key = trusted
            .key(issuer, parsed.jwt.kid())
            .ok_or_else(|| Error::Malformed {
                what: "kid",
                reason: format!("{:?} is not a key of {issuer}", parsed.jwt.kid()),
            })?;
        let revealed = sdjwt::reveal(&parsed, key)?;
        checks.extend(["signature", "disclosures"]);
        let vct = claim("vct")
            .and_then(Value::as_str)
            .ok_or(Error::Malformed {
                what: "vct",
                reason: "missing".into(),
            })?;
        if !trusted.trusted_for(vct) {
            return Err(Error::NotTrustedForType {
                issuer: issuer.into(),
                credential_type: vct.into(),
            });
        }
        checks.push("issuer");
        let seconds = |name: &str| -> Result<Option<i64>, Error> {
            match claim(name) {
                None => Ok(None),
                Some(value) => value.as_i64().map(Some).ok_or(Error::Malformed {
                    what: "time claim",
                    reason: format!("{name} is not a NumericDate"),
                }),
            }
        };
        if let Some(nbf) = seconds("nbf")? {
            if nbf > now + CLOCK_SKEW_SECONDS {
                return Err(Error::NotYetValid { valid_from: nbf });
            }
        }
        if let Some(iat) = seconds("iat")? {
            if iat > now + CLOCK_SKEW_SECONDS {
                return Err(Error::NotYetValid { valid_from: iat });
            }
        }
        match seconds("exp")? {
            Some(exp) if exp <= now - CLOCK_SKEW_SECONDS => {
                return Err(Error::Expired { valid_until: exp })
            }
            Some(_) => {}
            None => warnings.push("the credential has no exp".into()),
        }
        checks.push("validity");
        if let Some(status) = claim("status") {
            let entry = &status["status_list"];
            let (Some(index), Some(uri)) = (entry["idx"].as_u64(), entry["uri"].as_str()) else {
                return Err(Error::Malformed {
                    what: "status",
                    reason: "status_list needs idx and uri".into(),
                });
            };
            let index = u32::try_from(index).map_err(|_| Error::Malformed {
                what: "status",
                reason: "idx out of range".into(),
            })?;
            match self.local_status(uri, index) {
                Some(Status::Valid) => checks.push("status"),
                Some(Status::Invalid) => return Err(Error::Revoked),
                Some(Status::Suspended) => return Err(Error::Suspended),
                None => warnings.push(format!(
                    "status list {uri} is not ours and is not fetched while verifying"
                )),
            }
        }
        if let Some(credential_type) = types::find(vct) {
            let mut subject = revealed.claims.clone();
            for registered in [
                "iss", "iat", "nbf", "exp", "vct", "cnf", "status", "jti", "sub",
            ] {
                subject.remove(registered);
            }
            credential_type.check_disclosed(&Value::Object(subject))?;
            checks.push("schema");
        }
        if parsed.kb_jwt.is_some() || options.aud.is_some() || options.nonce.is_some() {
            let (Some(aud), Some(nonce)) = (&options.aud, &options.nonce) else {
                return Err(Error::Binding { reason: "a presentation is checked against a nonce (challenge) and an audience (domain)".into() });
            };
            let holder = claim("cnf")
                .and_then(|cnf| cnf.get("jwk"))
                .ok_or(Error::Binding {
                    reason: "the credential has no cnf.jwk to bind to".into(),
                })?;
            let holder = PublicKey::from_jwk(holder)?;
            let check = BindingCheck {
                aud,
                nonce,
                now,
                freshness_seconds: KB_FRESHNESS_SECONDS,
            };
            sdjwt::check_binding(&parsed, &holder, &check)?;
            checks.push("key_binding");
        }
        Ok(Verification {
            checks,
            warnings,
            issuer: issuer.into(),
            credential_type: vct.into(),
            claims: Value::Object(revealed.claims),
            disclosed: revealed.disclosed,
        })
    }

    /// Verifies a VC 2.0 credential: the proof (`eddsa-rdfc-2022` or `eddsa-jcs-2022`), the
    /// issuer trusted for the type, validity, status and schema.
    pub async fn verify_vc(
        &self,
        credential: &Value,
        options: &VerifyOptions,
    ) -> Result<Verification, Error> {
        crate::vc::verify(self, credential, options).await
    }

    /// The status of a credential in one of our Bitstring lists, for [`crate::vc`].
    pub(crate) fn bitstring_status(&self, entry: &Value) -> Result<Option<Status>, Error> {
        let (Some(url), Some(index)) = (
            entry["statusListCredential"].as_str(),
            entry["statusListIndex"].as_str(),
        ) else {
            return Err(Error::Malformed {
                what: "credentialStatus",
                reason: "needs statusListCredential and statusListIndex".into(),
            });
        };
        let index: u32 = index.parse().map_err(|_| Error::Malformed {
            what: "statusListIndex",
            reason: "not a number".into(),
        })?;
        Ok(self.local_status(url, index))
    }
}
