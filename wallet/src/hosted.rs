//! Hosted wallets: the `sigillo wallet` operations over HTTP, for owners who keep their wallet
//! with the service. Each wallet is its own encrypted file under `DATA/wallets/`, and every
//! call authenticates its owner with HTTP Basic (`WALLET-ID:PASSPHRASE`): the passphrase opens
//! the file, and the service keeps neither it nor the derived key between calls.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/wallets` | create `{owner, kind, passphrase}` → `{wallet_id, dids}` |
//! | `GET /v1/wallets/{id}` | list the credentials and documents |
//! | `GET /v1/wallets/{id}/items/{item}` | one credential (its claims) or document (its receipt) |
//! | `POST /v1/wallets/{id}/documents?name=N` | add the body as a document, stamped by the notary |
//! | `POST /v1/wallets/{id}/receive` | `{offer, tx_code, copies}`: OpenID4VCI |
//! | `POST /v1/wallets/{id}/present` | `{request}` → what would leave; `{request, confirm: true}` sends it |
//! | `GET /v1/wallets/{id}/export` | everything but the private keys |
//!
//! Operations on one wallet run one at a time (a per-wallet lock), so two concurrent changes
//! cannot overwrite each other.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine as _;
use notary::http::ApiRouter;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::holder::{HolderWallet, OwnerKind, WalletError, DOCUMENT_BYTES_MAX};
use crate::holder_client::{self, ClientError};

/// The hosted wallets.
pub struct HostedWallets {
    dir: PathBuf,
    notary: notary::Notary,
    http: reqwest::Client,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for HostedWallets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedWallets")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// A refusal or failure, as `{code, message}` with its HTTP status.
#[derive(Debug)]
pub struct HostedError(StatusCode, &'static str, String);

impl IntoResponse for HostedError {
    fn into_response(self) -> Response {
        let mut response =
            (self.0, Json(json!({"code": self.1, "message": self.2}))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sigillo-wallet\""),
            );
        }
        response
    }
}

impl From<WalletError> for HostedError {
    fn from(error: WalletError) -> Self {
        match &error {
            WalletError::WrongPassphrase => {
                HostedError(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string())
            }
            WalletError::NotFound { .. } => {
                HostedError(StatusCode::NOT_FOUND, "not_found", error.to_string())
            }
            WalletError::Refused { .. } | WalletError::Exists { .. } => {
                HostedError(StatusCode::BAD_REQUEST, "refused", error.to_string())
            }
            WalletError::Damaged { .. } | WalletError::Io { .. } => {
                tracing::error!(%error, "hosted wallet");
                HostedError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "wallet_damaged",
                    error.to_string(),
                )
            }
        }
    }
}

impl From<ClientError> for HostedError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Wallet(error) => error.into(),
            ClientError::Refused { status, body, .. } => HostedError(
                StatusCode::BAD_GATEWAY,
                "refused_by_peer",
                format!("the other side answered {status}: {body}"),
            ),
            other => HostedError(StatusCode::BAD_REQUEST, "refused", other.to_string()),
        }
    }
}

fn bad(message: impl Into<String>) -> HostedError {
    HostedError(StatusCode::BAD_REQUEST, "malformed", message.into())
}

fn unauthorized() -> HostedError {
    HostedError(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "HTTP Basic with the wallet id and its passphrase is required".into(),
    )
}

impl HostedWallets {
    /// Hosted wallets under `dir`, documents stamped by `notary`.
    pub fn new(dir: PathBuf, notary: notary::Notary) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(HostedWallets {
            dir,
            notary,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(std::io::Error::other)?,
            locks: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, id: &str) -> Result<PathBuf, HostedError> {
        uuid::Uuid::parse_str(id).map_err(|_| unauthorized())?;
        Ok(self.dir.join(format!("{id}.wallet")))
    }

    fn lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    /// Opens wallet `id` for the caller of `headers` (Argon2id off the async threads).
    async fn open(&self, id: &str, headers: &HeaderMap) -> Result<HolderWallet, HostedError> {
        let (user, passphrase) = basic(headers).ok_or_else(unauthorized)?;
        if user != id {
            return Err(unauthorized());
        }
        let path = self.path(id)?;
        if !path.exists() {
            return Err(unauthorized());
        }
        tokio::task::spawn_blocking(move || HolderWallet::open(&path, &passphrase))
            .await
            .map_err(|e| HostedError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
            .map_err(HostedError::from)
    }
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

type Shared = Arc<HostedWallets>;

/// The hosted wallets' routes as a plain axum router; see [`api`].
pub fn router(wallets: Arc<HostedWallets>, guard: notary::http::Guard) -> Router {
    api(wallets, guard).into()
}

/// The hosted wallets' routes with their OpenAPI description. `guard` wraps `POST /v1/wallets`,
/// the only route that no wallet's passphrase opens (`sigillo serve` lets operators, the desks
/// that open wallets for citizens, call it).
pub fn api(wallets: Arc<HostedWallets>, guard: notary::http::Guard) -> ApiRouter {
    let writes = guard(
        OpenApiRouter::new()
            .routes(routes!(create))
            .with_state(wallets.clone()),
    );
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(import_document))
        .routes(routes!(receive))
        .routes(routes!(present))
        .routes(routes!(export))
        .with_state(wallets)
        .merge(writes)
        .layer(DefaultBodyLimit::max(DOCUMENT_BYTES_MAX + 4096))
}

fn json_body(bytes: &Bytes) -> Result<serde_json::Map<String, Value>, HostedError> {
    crate::limits::parse_json(bytes, "request body").map_err(|e| bad(e.to_string()))
}

#[utoipa::path(post, path = "/v1/wallets", tag = "wallets", summary = "Open a hosted wallet", request_body(content = Object, content_type = "application/json", description = "{owner, kind?: citizen | business, passphrase}"), responses((status = 201, description = "{id}", body = Object), (status = 400, description = "malformed"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an operator")), security(("bearer" = [])))]
async fn create(State(wallets): State<Shared>, bytes: Bytes) -> Result<Response, HostedError> {
    let body = json_body(&bytes)?;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("{name} is required")))
    };
    let owner = text("owner")?;
    if owner.is_empty() || owner.len() > 200 {
        return Err(bad("owner is 1 to 200 characters"));
    }
    let kind = match body
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("citizen")
    {
        "citizen" => OwnerKind::Citizen,
        "business" => OwnerKind::Business,
        other => return Err(bad(format!("kind {other:?} is citizen or business"))),
    };
    let passphrase = text("passphrase")?;
    let id = uuid::Uuid::new_v4().to_string();
    let path = wallets.path(&id)?;
    let wallet =
        tokio::task::spawn_blocking(move || HolderWallet::create(&path, &owner, kind, &passphrase))
            .await
            .map_err(|e| {
                HostedError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })??;
    Ok((
        StatusCode::CREATED,
        Json(json!({"wallet_id": id, "dids": wallet.dids()})),
    )
        .into_response())
}

fn summary(wallet: &HolderWallet) -> Value {
    json!({
        "owner": wallet.owner(),
        "kind": wallet.kind(),
        "credentials": wallet.credentials().iter().map(|c| json!({
            "id": c.id, "format": c.format, "credential_type": c.credential_type,
            "issuer": c.issuer, "received_at": c.received_at,
        })).collect::<Vec<_>>(),
        "documents": wallet.documents().iter().map(|d| json!({
            "id": d.id, "name": d.name, "media_type": d.media_type, "sha256": d.sha256,
            "added_at": d.added_at, "stamped": d.receipt.is_some(),
        })).collect::<Vec<_>>(),
    })
}

#[utoipa::path(get, path = "/v1/wallets/{id}", tag = "wallets", summary = "The wallet's items", params(("id" = String, Path, description = "wallet id (HTTP Basic user)")), responses((status = 200, description = "items", body = Object), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required")), security(("basic" = [])))]
async fn list(
    State(wallets): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, HostedError> {
    let wallet = wallets.open(&id, &headers).await?;
    Ok(Json(summary(&wallet)))
}

#[utoipa::path(get, path = "/v1/wallets/{id}/items/{item}", tag = "wallets", summary = "One item", params(("id" = String, Path, description = "wallet id (HTTP Basic user)"), ("item" = String, Path, description = "item id")), responses((status = 200, description = "the item", body = Object), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required"), (status = 404, description = "unknown item")), security(("basic" = [])))]
async fn show(
    State(wallets): State<Shared>,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, HostedError> {
    let wallet = wallets.open(&id, &headers).await?;
    if let Some(held) = wallet.credentials().iter().find(|c| c.id == item) {
        let claims = wallet.claims(held);
        return Ok(Json(json!({
            "id": held.id, "format": held.format, "credential_type": held.credential_type,
            "issuer": held.issuer, "received_at": held.received_at, "claims": claims,
            "credential": held.credential,
        })));
    }
    if let Some(document) = wallet.documents().iter().find(|d| d.id == item) {
        return Ok(Json(json!({
            "id": document.id, "name": document.name, "media_type": document.media_type,
            "sha256": document.sha256, "added_at": document.added_at,
            "receipt": document.receipt, "content": document.content,
        })));
    }
    Err(WalletError::NotFound {
        what: format!("item {item}"),
    }
    .into())
}

#[utoipa::path(post, path = "/v1/wallets/{id}/documents", tag = "wallets", summary = "Import a document (stamped by the notary)", params(("id" = String, Path, description = "wallet id (HTTP Basic user)"), ("name" = String, Query, description = "document name")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the document"), responses((status = 201, description = "the document and its receipt", body = Object), (status = 400, description = "malformed"), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required")), security(("basic" = [])))]
async fn import_document(
    State(wallets): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HostedError> {
    let name = query
        .get("name")
        .filter(|n| !n.is_empty() && n.len() <= 200)
        .ok_or_else(|| bad("?name= (1 to 200 characters) names the document"))?
        .clone();
    if bytes.is_empty() {
        return Err(bad("the body is the document, and it is empty"));
    }
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let lock = wallets.lock(&id);
    let _guard = lock.lock().await;
    let mut wallet = wallets.open(&id, &headers).await?;
    // A salted entry, as `sigillo stamp --salt` makes: the log reveals nothing of the document.
    let content = notary::Digest::from_bytes(Sha256::digest(&bytes).into());
    let salt = hex::encode(rand::random::<[u8; 32]>());
    let entry = notary::Digest::from_bytes(
        Sha256::new()
            .chain_update(hex::decode(&salt).expect("hex we made"))
            .chain_update(content.as_bytes())
            .finalize()
            .into(),
    );
    let submitted = wallets.notary.submit(vec![entry]).await.map_err(|e| {
        HostedError(
            StatusCode::SERVICE_UNAVAILABLE,
            "notary_unavailable",
            e.to_string(),
        )
    })?;
    let mut receipt = submitted.receipts().into_iter().next().ok_or_else(|| {
        HostedError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "no receipt".into(),
        )
    })?;
    receipt.salt = Some(salt);
    let receipt = serde_json::to_value(&receipt).expect("a receipt serialises");
    let document = wallet.add_document(&name, &media_type, &bytes, Some(receipt.clone()))?;
    tokio::task::block_in_place(|| wallet.save())?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"document_id": document, "sha256": hex::encode(content.as_bytes()), "receipt": receipt})),
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/wallets/{id}/receive", tag = "wallets", summary = "Receive a credential offer (OpenID4VCI)", params(("id" = String, Path, description = "wallet id (HTTP Basic user)")), request_body(content = Object, content_type = "application/json", description = "{offer, tx_code?, copies?}"), responses((status = 201, description = "the credentials received", body = Object), (status = 400, description = "malformed"), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required")), security(("basic" = [])))]
async fn receive(
    State(wallets): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HostedError> {
    let body = json_body(&bytes)?;
    let offer = body
        .get("offer")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("offer (the offer URI) is required"))?;
    let tx_code = body.get("tx_code").and_then(Value::as_str);
    let copies = body.get("copies").and_then(Value::as_u64).unwrap_or(1) as usize;
    let lock = wallets.lock(&id);
    let _guard = lock.lock().await;
    let mut wallet = wallets.open(&id, &headers).await?;
    let ids = holder_client::receive(&wallets.http, &mut wallet, offer, tx_code, copies).await?;
    Ok((StatusCode::CREATED, Json(json!({"credential_ids": ids}))).into_response())
}

#[utoipa::path(post, path = "/v1/wallets/{id}/present", tag = "wallets", summary = "Answer an OpenID4VP request", params(("id" = String, Path, description = "wallet id (HTTP Basic user)")), request_body(content = Object, content_type = "application/json", description = "{request, confirm?}"), responses((status = 200, description = "what would leave, or the application", body = Object), (status = 400, description = "malformed"), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required")), security(("basic" = [])))]
async fn present(
    State(wallets): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, HostedError> {
    let body = json_body(&bytes)?;
    let uri = body
        .get("request")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("request (the openid4vp:// URI) is required"))?;
    let confirm = body
        .get("confirm")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let lock = wallets.lock(&id);
    let _guard = lock.lock().await;
    let mut wallet = wallets.open(&id, &headers).await?;
    let request = holder_client::read_request(&wallets.http, uri).await?;
    let planned = holder_client::plan(&wallet, &request)?;
    let shown: Vec<Value> = planned
        .iter()
        .map(|d| json!({
            "query": d.query, "credential_id": d.credential_id,
            "credential_type": d.credential_type, "issuer": d.issuer,
            "claims": d.claims.iter().map(|(path, value)| json!({"path": path, "value": value})).collect::<Vec<_>>(),
        }))
        .collect();
    if !confirm {
        return Ok(Json(
            json!({"verifier": request.client_id, "would_disclose": shown, "sent": false}),
        ));
    }
    let answer = holder_client::present(&wallets.http, &wallet, &request, &planned).await?;
    let answer =
        holder_client::await_receipts(&wallets.http, &answer, std::time::Duration::from_secs(30))
            .await?;
    let text = serde_json::to_string_pretty(&answer).expect("JSON serialises") + "\n";
    wallet.add_document(
        &format!(
            "application-{}.json",
            answer["application_id"].as_str().unwrap_or_default()
        ),
        "application/json",
        text.as_bytes(),
        Some(answer["receipts"]["result"].clone()),
    )?;
    tokio::task::block_in_place(|| wallet.save())?;
    Ok(Json(
        json!({"verifier": request.client_id, "disclosed": shown, "sent": true, "answer": answer}),
    ))
}

#[utoipa::path(get, path = "/v1/wallets/{id}/export", tag = "wallets", summary = "Export the wallet (JSON)", params(("id" = String, Path, description = "wallet id (HTTP Basic user)")), responses((status = 200, description = "the export", body = Object), (status = 401, description = "HTTP Basic with the wallet id and its passphrase is required")), security(("basic" = [])))]
async fn export(
    State(wallets): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, HostedError> {
    let wallet = wallets.open(&id, &headers).await?;
    Ok(Json(wallet.export()))
}
