//! Who may do what, for every module of `sigillo serve`: one role model, one token store.
//!
//! A caller shows a bearer token. The store keeps only the token's SHA-256, with a name, a
//! [`Role`] and a scope: the names the holder may act as or on (an issuer's id, a measure), or
//! `*` for all. Tokens live in `DATA/access/tokens.json` (mode 0600); the running service picks
//! up changes within a second, so `sigillo tokens create|revoke|list` works while it runs.
//!
//! Two roles are not bearer tokens, because their credential is a key the caller holds:
//! the circuit authority and every ledger participant sign their operations (`token`), and a
//! holder proves its key in OpenID4VCI and OpenID4VP and opens a hosted wallet with its
//! passphrase. The roles are here all the same, so that one table says who does what
//! (`docs/access.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use notary::http::ApiRouter;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// How often the service looks at the file for changes, at most.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// The longest token name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// The most scope items a token may carry.
pub const SCOPE_ITEMS_MAX: usize = 64;
/// The scope item that covers everything.
pub const ANY: &str = "*";

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The circuit authority: enrols participants and classes on the token ledger. It signs
    /// its operations with its key; a bearer token of this role may also stamp.
    Authority,
    /// A public body that issues credentials (scope: the one issuer id it acts as) and stamps
    /// documents.
    Issuer,
    /// A call's or a municipality's platform: submits eligibility applications for the
    /// measures in its scope and stamps documents.
    Platform,
    /// A citizen or a business: proves its key (OpenID4VCI, OpenID4VP) or its wallet
    /// passphrase; a bearer token of this role stamps its documents and opens nothing else.
    Holder,
    /// An auditor: reads decisions and their evidence; changes nothing.
    Auditor,
    /// An operator: resolves pending cases, anchors, opens hosted wallets, stamps.
    Operator,
}

impl Role {
    /// Every role, in the order of the docs.
    pub const ALL: [Role; 6] = [
        Role::Authority,
        Role::Issuer,
        Role::Platform,
        Role::Holder,
        Role::Auditor,
        Role::Operator,
    ];

    /// The role's name (`issuer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Authority => "authority",
            Role::Issuer => "issuer",
            Role::Platform => "platform",
            Role::Holder => "holder",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|role| role.as_str()).collect();
                format!("unknown role {text:?}; one of {}", names.join(", "))
            })
    }
}

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Who holds it (logged, and recorded in reviews).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// What it may act as or on; `*` for everything.
    pub scope: Vec<String>,
    /// Hex SHA-256 of the token; empty once revoked.
    pub sha256: String,
    /// Revoked: the name stays, so that a restart does not make the token again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

impl Grant {
    /// Whether the scope covers `item`.
    pub fn covers(&self, item: &str) -> bool {
        self.scope.iter().any(|scope| scope == ANY || scope == item)
    }

    /// `Ok` when the scope covers `item`, or the refusal that names both.
    pub fn require(&self, item: &str) -> Result<(), Denied> {
        if self.covers(item) {
            Ok(())
        } else {
            Err(Denied::Scope {
                name: self.name.clone(),
                item: item.to_owned(),
            })
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No `Authorization: Bearer` header.
    #[error("send Authorization: Bearer TOKEN")]
    Missing,
    /// A token that is not (or no longer) valid.
    #[error("the token is not valid")]
    Invalid,
    /// A valid token of a role that may not do this.
    #[error("the {role} role may not do this; it needs {}", roles(.allowed))]
    Role {
        /// The caller's role.
        role: Role,
        /// The roles that may.
        allowed: Vec<Role>,
    },
    /// A valid token whose scope does not cover what the request acts as or on.
    #[error("the token {name:?} may not act on {item:?}")]
    Scope {
        /// The token's name.
        name: String,
        /// What the request named.
        item: String,
    },
}

fn roles(allowed: &[Role]) -> String {
    let names: Vec<_> = allowed.iter().map(|role| role.as_str()).collect();
    names.join(" or ")
}

impl Denied {
    /// 401 for a missing or invalid token, 403 for the wrong role or scope.
    pub fn status(&self) -> StatusCode {
        match self {
            Denied::Missing | Denied::Invalid => StatusCode::UNAUTHORIZED,
            Denied::Role { .. } | Denied::Scope { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// The error code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::Missing | Denied::Invalid => "unauthorized",
            Denied::Role { .. } | Denied::Scope { .. } => "forbidden",
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            Json(serde_json::json!({"code": self.code(), "message": self.to_string()})),
        )
            .into_response();
        if self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sigillo\""),
            );
        }
        response
    }
}

/// Why a token could not be created, revoked or read.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A name, role or scope that is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

struct Loaded {
    /// Every grant, revoked ones included.
    all: Vec<Grant>,
    /// The grants in force, by the token's SHA-256 (shared: a request's check clones no
    /// strings).
    grants: HashMap<[u8; 32], Arc<Grant>>,
    /// SHA-256 of the file as last read (a timestamp can miss two writes in one tick).
    version: [u8; 32],
    /// The file's length and modification time when last read or written: an unknown token
    /// re-reads the file only when they changed, so a flood of bad tokens costs a `stat` each.
    stamp: Option<(u64, SystemTime)>,
    checked: Instant,
}

/// The token store, reloaded when its file changes.
pub struct Access {
    dir: PathBuf,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("sig_{}", hex::encode(bytes))
}

/// The file's grants and its SHA-256 (an absent file has none and zeros).
fn read(path: &Path) -> Result<(Vec<Grant>, [u8; 32]), AccessError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), [0; 32]))
        }
        Err(error) => return Err(error.into()),
    };
    let grants = serde_json::from_slice(&bytes)
        .map_err(|error| AccessError::Invalid(format!("{}: {error}", path.display())))?;
    Ok((grants, Sha256::digest(&bytes).into()))
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

/// The grants in force by token digest. A grant whose `sha256` is not 64 hex digits can match
/// no token, so it is left out.
fn by_hash(grants: &[Grant]) -> HashMap<[u8; 32], Arc<Grant>> {
    grants
        .iter()
        .filter(|grant| !grant.revoked)
        .filter_map(|grant| {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(&grant.sha256, &mut digest).ok()?;
            Some((digest, Arc::new(grant.clone())))
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let valid = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(AccessError::Invalid(format!(
            "a token name is 1 to {NAME_BYTES_MAX} characters of a-z A-Z 0-9 - _ ."
        )))
    }
}

fn check_scope(role: Role, scope: &[String]) -> Result<(), AccessError> {
    if scope.is_empty() || scope.len() > SCOPE_ITEMS_MAX {
        return Err(AccessError::Invalid(format!(
            "a scope has 1 to {SCOPE_ITEMS_MAX} items (`*` for everything)"
        )));
    }
    for item in scope {
        if item != ANY {
            check_name(item).map_err(|_| {
                AccessError::Invalid(format!("scope item {item:?}: a name, or `*`"))
            })?;
        }
    }
    if role == Role::Issuer && (scope.len() != 1 || scope[0] == ANY) {
        return Err(AccessError::Invalid(
            "an issuer token acts as exactly one issuer: --scope ISSUER-ID".into(),
        ));
    }
    Ok(())
}

impl Access {
    /// The store in `dir` (`tokens.json`), empty when the file does not exist yet.
    pub fn open(dir: &Path) -> Result<Access, AccessError> {
        std::fs::create_dir_all(dir)?;
        let (grants, version) = read(&dir.join("tokens.json"))?;
        Ok(Access {
            dir: dir.to_owned(),
            loaded: RwLock::new(Loaded {
                grants: by_hash(&grants),
                all: grants,
                version,
                stamp: stamp(&dir.join("tokens.json")),
                checked: Instant::now(),
            }),
        })
    }

    /// Where the tokens made by [`Access::ensure`] are written for the administrator.
    pub fn new_tokens_path(&self) -> PathBuf {
        self.dir.join("new-tokens.txt")
    }

    fn path(&self) -> PathBuf {
        self.dir.join("tokens.json")
    }

    /// Adds `grant` to the file (whose current content wins over memory) and to memory.
    fn add(&self, grant: Grant) -> Result<(), AccessError> {
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        let (mut grants, _) = read(&self.path())?;
        if grants
            .iter()
            .any(|existing| existing.name == grant.name && !existing.revoked)
        {
            return Err(AccessError::Invalid(format!(
                "a token named {:?} exists; revoke it first",
                grant.name
            )));
        }
        grants.retain(|existing| existing.name != grant.name);
        grants.push(grant);
        self.write(&mut loaded, grants)
    }

    fn write(&self, loaded: &mut Loaded, grants: Vec<Grant>) -> Result<(), AccessError> {
        let json = serde_json::to_vec_pretty(&grants).expect("grants serialise");
        notary::keys::write_durably(&self.path(), &json, 0o600)?;
        loaded.version = Sha256::digest(&json).into();
        loaded.stamp = stamp(&self.path());
        loaded.grants = by_hash(&grants);
        loaded.all = grants;
        Ok(())
    }

    /// Creates a token named `name` and returns it: it is shown only now, since only its
    /// hash is kept.
    pub fn create(&self, name: &str, role: Role, scope: &[String]) -> Result<String, AccessError> {
        let token = new_token();
        self.insert(name, role, scope, hash(&token))?;
        Ok(token)
    }

    /// Checks a grant's name and scope, then adds it.
    fn insert(
        &self,
        name: &str,
        role: Role,
        scope: &[String],
        sha256: String,
    ) -> Result<(), AccessError> {
        check_name(name)?;
        check_scope(role, scope)?;
        self.add(Grant {
            name: name.to_owned(),
            role,
            scope: scope.to_vec(),
            sha256,
            revoked: false,
        })
    }

    /// Makes a token named `name` unless one exists or was revoked, and appends `name token` to
    /// [`Access::new_tokens_path`] (mode 0600) for the administrator to hand out. Returns the
    /// new token, if any.
    pub fn ensure(
        &self,
        name: &str,
        role: Role,
        scope: &[String],
    ) -> Result<Option<String>, AccessError> {
        if self.list().iter().any(|grant| grant.name == name) {
            return Ok(None);
        }
        let token = self.create(name, role, scope)?;
        let path = self.new_tokens_path();
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("{name} {token}\n"));
        notary::keys::write_durably(&path, text.as_bytes(), 0o600)?;
        Ok(Some(token))
    }

    /// Adds a grant from an earlier store (only the hash is known) unless the name is taken.
    /// Returns whether it was added.
    pub fn import(
        &self,
        name: &str,
        role: Role,
        scope: &[String],
        sha256: &str,
    ) -> Result<bool, AccessError> {
        if sha256.len() != 64 || hex::decode(sha256).is_err() {
            return Err(AccessError::Invalid(format!(
                "{name}: not a SHA-256 hex digest"
            )));
        }
        if self.list().iter().any(|grant| grant.name == name) {
            return Ok(false);
        }
        self.insert(name, role, scope, sha256.to_ascii_lowercase())?;
        Ok(true)
    }

    /// Revokes the token named `name`: the service refuses it within a second. The name stays,
    /// marked revoked, so that a restart does not make it again; `create` may reuse it.
    pub fn revoke(&self, name: &str) -> Result<Grant, AccessError> {
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        let (mut grants, _) = read(&self.path())?;
        let grant = grants
            .iter_mut()
            .find(|grant| grant.name == name && !grant.revoked)
            .ok_or_else(|| AccessError::Invalid(format!("no token in force named {name:?}")))?;
        grant.revoked = true;
        grant.sha256.clear();
        let revoked = grant.clone();
        self.write(&mut loaded, grants)?;
        Ok(revoked)
    }

    /// Every grant, revoked ones included, sorted by name.
    pub fn list(&self) -> Vec<Grant> {
        self.reload_if_changed();
        let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        let mut grants = loaded.all.clone();
        grants.sort_by(|a, b| a.name.cmp(&b.name));
        grants
    }

    /// The grant of `token`, if any (looked up by hash), after picking up a changed file. An
    /// unknown token looks at the file at once, so a token made a moment ago works.
    pub fn check(&self, token: &str) -> Option<Arc<Grant>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.reload_if_changed();
        let found = {
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            loaded.grants.get(&digest).cloned()
        };
        found.or_else(|| {
            let touched = {
                let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
                stamp(&self.path()) != loaded.stamp
            };
            if !touched {
                return None;
            }
            self.reload();
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            loaded.grants.get(&digest).cloned()
        })
    }

    /// The caller's grant when its bearer token is valid and has one of `roles`.
    pub fn authorise(&self, headers: &HeaderMap, roles: &[Role]) -> Result<Arc<Grant>, Denied> {
        let token = bearer(headers).ok_or(Denied::Missing)?;
        let grant = self.check(token).ok_or(Denied::Invalid)?;
        if !roles.contains(&grant.role) {
            return Err(Denied::Role {
                role: grant.role,
                allowed: roles.to_vec(),
            });
        }
        Ok(grant)
    }

    fn reload_if_changed(&self) {
        {
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            if loaded.checked.elapsed() < RELOAD_CHECK_INTERVAL {
                return;
            }
        }
        self.reload();
    }

    /// Reads the file again if it changed since it was last read.
    fn reload(&self) {
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        loaded.checked = Instant::now();
        loaded.stamp = stamp(&self.path());
        // A file that no longer reads keeps the tokens in force: failing open is not an
        // option, and failing closed would lock everyone out over a typo.
        match read(&self.path()) {
            Ok((_, version)) if version == loaded.version => {}
            Ok((grants, version)) => {
                loaded.grants = by_hash(&grants);
                loaded.all = grants;
                loaded.version = version;
                tracing::info!(tokens = loaded.grants.len(), "access tokens reloaded");
            }
            Err(error) => {
                tracing::error!(%error, "the access tokens file does not read; keeping the previous tokens")
            }
        }
    }
}

/// The bearer token of `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `router` with every route behind a bearer token of one of `roles`; handlers find the
/// caller's grant, an `Arc<Grant>`, in the request's extensions.
pub fn guard(router: ApiRouter, access: Arc<Access>, roles: &'static [Role]) -> ApiRouter {
    router.route_layer(RequireLayer { access, roles })
}

/// The layer of [`guard`]. A plain tower layer rather than `middleware::from_fn`, which boxes
/// the future and clones the route below on every request: stamping is the hot path.
#[derive(Clone)]
struct RequireLayer {
    access: Arc<Access>,
    roles: &'static [Role],
}

impl<S> tower::Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            access: Arc::clone(&self.access),
            roles: self.roles,
        }
    }
}

#[derive(Clone)]
struct Require<S> {
    inner: S,
    access: Arc<Access>,
    roles: &'static [Role],
}

impl<S> tower::Service<Request> for Require<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequireFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match self.access.authorise(request.headers(), self.roles) {
            Ok(grant) => {
                tracing::debug!(caller = %grant.name, role = %grant.role, "authorised");
                request.extensions_mut().insert(grant);
                RequireFuture::Allowed {
                    inner: self.inner.call(request),
                }
            }
            Err(denied) => RequireFuture::Denied {
                response: Some(denied.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's answer, or the refusal.
    #[project = RequireProjection]
    enum RequireFuture<F> {
        Allowed { #[pin] inner: F },
        Denied { response: Option<Response> },
    }
}

impl<F, E> std::future::Future for RequireFuture<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            RequireProjection::Allowed { inner } => inner.poll(cx),
            RequireProjection::Denied { response } => std::task::Poll::Ready(Ok(response
                .take()
                .expect("a refusal is polled to completion once"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sigillo-access-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    #[test]
    fn tokens_are_stored_hashed_checked_by_role_and_scope_and_revoked() {
        let dir = temp("roles");
        let access = Access::open(&dir).unwrap();
        let milano = access
            .create("milano", Role::Issuer, &["comune-milano".into()])
            .unwrap();
        let file = std::fs::read_to_string(dir.join("tokens.json")).unwrap();
        assert!(!file.contains(&milano), "the token itself is never stored");
        assert!(file.contains(&hash(&milano)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join("tokens.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let grant = access
            .authorise(&headers(&milano), &[Role::Issuer])
            .unwrap();
        assert_eq!(grant.name, "milano");
        assert!(grant.require("comune-milano").is_ok());
        assert_eq!(
            grant.require("inps"),
            Err(Denied::Scope {
                name: "milano".into(),
                item: "inps".into()
            })
        );
        assert_eq!(
            access.authorise(&headers(&milano), &[Role::Operator, Role::Auditor]),
            Err(Denied::Role {
                role: Role::Issuer,
                allowed: vec![Role::Operator, Role::Auditor]
            })
        );
        assert_eq!(
            access.authorise(&HeaderMap::new(), &[Role::Issuer]),
            Err(Denied::Missing)
        );
        assert_eq!(
            access.authorise(&headers("sig_00"), &[Role::Issuer]),
            Err(Denied::Invalid)
        );

        // Another handle on the same directory (the CLI) makes a token: it works at once.
        let other = Access::open(&dir).unwrap();
        let ops = other.create("ops", Role::Operator, &[ANY.into()]).unwrap();
        assert_eq!(access.check(&ops).unwrap().name, "ops");
        // It revokes one; the first handle refuses it within a second.
        other.revoke("milano").unwrap();
        std::thread::sleep(RELOAD_CHECK_INTERVAL + Duration::from_millis(50));
        assert_eq!(
            access.authorise(&headers(&milano), &[Role::Issuer]),
            Err(Denied::Invalid)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_names_scopes_and_duplicates_are_refused_and_change_nothing() {
        let dir = temp("refusals");
        let access = Access::open(&dir).unwrap();
        let any = [ANY.to_owned()];
        access.create("ops", Role::Operator, &any).unwrap();
        for (name, role, scope) in [
            ("", Role::Operator, vec![ANY.to_owned()]),
            ("a b", Role::Operator, vec![ANY.to_owned()]),
            ("ops", Role::Operator, vec![ANY.to_owned()]),
            ("x", Role::Platform, vec![]),
            ("x", Role::Platform, vec!["nidi gratis".to_owned()]),
            ("x", Role::Issuer, vec![ANY.to_owned()]),
            (
                "x",
                Role::Issuer,
                vec!["inps".to_owned(), "comune-milano".to_owned()],
            ),
        ] {
            assert!(
                access.create(name, role, &scope).is_err(),
                "{name:?} {role} {scope:?}"
            );
        }
        assert!(access.revoke("nobody").is_err());
        assert_eq!(access.list().len(), 1);
        assert!(access.import("old", Role::Operator, &any, "zz").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ensure_makes_a_token_once_and_writes_it_for_the_administrator() {
        let dir = temp("ensure");
        let access = Access::open(&dir).unwrap();
        let any = [ANY.to_owned()];
        let token = access
            .ensure("operator", Role::Operator, &any)
            .unwrap()
            .unwrap();
        assert_eq!(
            access.ensure("operator", Role::Operator, &any).unwrap(),
            None
        );
        let text = std::fs::read_to_string(access.new_tokens_path()).unwrap();
        assert_eq!(text, format!("operator {token}\n"));
        assert!(access.check(&token).is_some());
        // A revoked token is not made again by the next start; `create` may reuse the name.
        access.revoke("operator").unwrap();
        assert!(access.check(&token).is_none());
        assert_eq!(
            access.ensure("operator", Role::Operator, &any).unwrap(),
            None
        );
        assert!(access.list()[0].revoked);
        assert!(access.revoke("operator").is_err());
        let again = access.create("operator", Role::Operator, &any).unwrap();
        assert_eq!(access.check(&again).unwrap().name, "operator");
        assert_eq!(access.list().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_guard_refuses_before_the_handler_runs() {
        use tower::ServiceExt as _;
        let dir = temp("guard");
        let access = Arc::new(Access::open(&dir).unwrap());
        let operator = access.create("ops", Role::Operator, &[ANY.into()]).unwrap();
        let auditor = access
            .create("audit", Role::Auditor, &[ANY.into()])
            .unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let router: axum::Router = guard(
            axum::Router::new()
                .route(
                    "/write",
                    // The guard hands the handler the caller's grant.
                    axum::routing::post(
                        move |axum::Extension(grant): axum::Extension<Arc<Grant>>| async move {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            grant.name.clone()
                        },
                    ),
                )
                .into(),
            access,
            &[Role::Operator],
        )
        .into();
        let send = |token: Option<&str>| {
            let mut request = axum::http::Request::post("/write");
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            router
                .clone()
                .oneshot(request.body(axum::body::Body::empty()).unwrap())
        };
        let missing = send(None).await.unwrap();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert!(missing.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(
            send(Some("sig_bad")).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            send(Some(&auditor)).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
        let allowed = send(Some(&operator)).await.unwrap();
        assert_eq!(allowed.status(), StatusCode::OK);
        let name = axum::body::to_bytes(allowed.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&name[..], b"ops");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
