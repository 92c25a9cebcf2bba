//! The notary's HTTP edge (axum): routes under `/v1/notary`, the did:web document, and the one
//! place where errors become status codes and JSON bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::anchor::Anchorer;
use crate::hash::Digest;
use crate::notary::{Notary, BATCH_ENTRIES_MAX, BLOCKS_PAGE_MAX};
use crate::receipt::Receipt;
use crate::tsa::{Rejection, Tsa};
use crate::Error;

/// Largest request body accepted: a full batch of hex digests in JSON fits with room to spare.
pub const REQUEST_BODY_BYTES_MAX: usize = 1024 * 1024;

/// An error as the API shows it: a status, a stable code, the field at fault and a reason.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    field: Option<String>,
    message: String,
}

impl ApiError {
    /// A 400 naming the field and the reason.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 404 for something that does not exist.
    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Any error: a status, a stable code, the field at fault (if one is) and a reason. For the
    /// other crates' HTTP edges, so that every module answers errors in one shape.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A 500 with a generic message; the cause is logged once, here.
    pub fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            field: None,
            message: "internal error".into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "field": self.field,
                "message": self.message,
            }
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        let (status, code, field) = match &error {
            Error::BatchSize { .. } => (StatusCode::BAD_REQUEST, "invalid_request", "entries"),
            Error::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy", ""),
            Error::Stopped => (StatusCode::SERVICE_UNAVAILABLE, "stopped", ""),
            Error::UnknownBlock { .. } => (StatusCode::NOT_FOUND, "not_found", "height"),
            Error::BeyondLog { .. } => (StatusCode::BAD_REQUEST, "invalid_request", "size"),
            Error::SizesReversed { .. } => (StatusCode::BAD_REQUEST, "invalid_request", "from"),
            Error::ForeignBlock { .. } | Error::Receipt(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request", "receipt")
            }
            Error::Config { .. } | Error::Note(_) | Error::Store(_) | Error::Corrupt(_) => {
                return ApiError::internal(&error);
            }
        };
        ApiError {
            status,
            code,
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: error.to_string(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        let status = rejection.status();
        ApiError {
            status,
            code: if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "invalid_request"
            },
            field: Some("body".into()),
            message: if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the body is larger than {REQUEST_BODY_BYTES_MAX} bytes")
            } else {
                rejection.body_text()
            },
        }
    }
}

#[derive(Clone)]
struct AppState {
    notary: Notary,
    did_document: Option<Arc<Value>>,
}

/// Routes and their OpenAPI description, built together by `utoipa_axum::routes!` so that
/// no route goes undocumented. `Into<Router>` gives the plain axum router.
pub type ApiRouter = utoipa_axum::router::OpenApiRouter;

/// Wraps a router's write routes, for example in an access check: `sigillo serve` passes one
/// made with the `access` crate; [`open`] leaves them as they are.
pub type Guard<'a> = &'a dyn Fn(ApiRouter) -> ApiRouter;

/// The guard that lets every caller write (tests, and a library user with its own gate).
pub fn open(router: ApiRouter) -> ApiRouter {
    router
}

/// The notary's routes as a plain axum router; see [`api`].
pub fn router(notary: Notary, did_document: Option<Value>, guard: Guard) -> Router {
    api(notary, did_document, guard).into()
}

/// The notary's routes with their OpenAPI description. `did_document`, when given, is served
/// at `/notary/did.json` (where the notary's did:web DID resolves). `guard` wraps the write
/// route, `POST /v1/notary/entries`.
pub fn api(notary: Notary, did_document: Option<Value>, guard: Guard) -> ApiRouter {
    let state = AppState {
        notary,
        did_document: did_document.map(Arc::new),
    };
    let writes = guard(
        OpenApiRouter::new()
            .routes(routes!(submit))
            .with_state(state.clone()),
    );
    OpenApiRouter::new()
        .routes(routes!(receipts))
        .routes(routes!(latest_checkpoint))
        .routes(routes!(checkpoint))
        .routes(routes!(blocks))
        .routes(routes!(block))
        .routes(routes!(consistency))
        .routes(routes!(inclusion))
        .routes(routes!(refresh))
        .routes(routes!(key))
        .routes(routes!(did_document_handler))
        .with_state(state)
        .merge(writes)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::bad_request("body", error.to_string()))
}

/// One SHA-256 digest (`entry`) or a batch of 1 to 10,000 (`entries`), in hex.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SubmitRequest<'a> {
    /// One digest: 64 hex digits.
    #[serde(borrow)]
    entry: Option<&'a str>,
    /// A batch of digests.
    #[serde(borrow)]
    entries: Option<Vec<&'a str>>,
}

fn parse_entries(request: SubmitRequest<'_>) -> Result<Vec<Digest>, ApiError> {
    match (request.entry, request.entries) {
        (Some(entry), None) => Digest::from_hex(entry)
            .map(|digest| vec![digest])
            .map_err(|error| ApiError::bad_request("entry", error.to_string())),
        (None, Some(entries)) => {
            if entries.is_empty() || entries.len() > BATCH_ENTRIES_MAX {
                return Err(ApiError::bad_request(
                    "entries",
                    format!(
                        "a batch holds 1 to {BATCH_ENTRIES_MAX} entries, got {}",
                        entries.len()
                    ),
                ));
            }
            entries
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    Digest::from_hex(text).map_err(|error| {
                        ApiError::bad_request(format!("entries[{index}]"), error.to_string())
                    })
                })
                .collect()
        }
        _ => Err(ApiError::bad_request(
            "body",
            "give either \"entry\" (one hex SHA-256 digest) or \"entries\" (a list of them)",
        )),
    }
}

/// `POST /v1/notary/entries`: answers with the receipts once the block is durable.
#[utoipa::path(post, path = "/v1/notary/entries", operation_id = "submit_entries", tag = "notary", summary = "Notarise one digest or a batch; answers once their block is durable", request_body(content = SubmitRequest, content_type = "application/json", description = "{\"entry\": HEX} or {\"entries\": [HEX, ...]} (at most 10,000 SHA-256 digests)"), responses((status = 201, description = "the receipts (a receipt bundle: block, entries paths, C2SP tlog-proof)", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "a role that may not stamp"), (status = 413, description = "body too large")), security(("bearer" = [])))]
async fn submit(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let entries = parse_entries(parse_json(&body)?)?;
    let submitted = state.notary.submit(entries).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        submitted.bundle_json(),
    )
        .into_response())
}

fn parse_digest(text: &str) -> Result<Digest, ApiError> {
    Digest::from_hex(text).map_err(|error| ApiError::bad_request("digest", error.to_string()))
}

fn parse_number(field: &str, text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(field, format!("{field} must be a non-negative integer"))
    })
}

fn query_number(
    query: &HashMap<String, String>,
    field: &str,
    default: Option<u64>,
) -> Result<u64, ApiError> {
    match (query.get(field), default) {
        (Some(text), _) => parse_number(field, text),
        (None, Some(value)) => Ok(value),
        (None, None) => Err(ApiError::bad_request(field, format!("{field} is required"))),
    }
}

fn query_map(
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(map)| map)
        .map_err(|rejection| ApiError::bad_request("query", rejection.body_text()))
}

/// `GET /v1/notary/entries/{digest}`.
#[utoipa::path(get, path = "/v1/notary/entries/{digest}", tag = "notary", summary = "The receipts of a digest", params(("digest" = String, Path, description = "64 hex digits")), responses((status = 200, description = "every receipt of the digest", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 404, description = "unknown digest")))]
async fn receipts(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let digest = parse_digest(&digest)?;
    let notary = state.notary.clone();
    let receipts = tokio::task::spawn_blocking(move || notary.receipts(&digest))
        .await
        .map_err(|_| ApiError::from(Error::Stopped))??;
    if receipts.is_empty() {
        return Err(ApiError::not_found(
            "digest",
            format!("{digest} has not been notarised"),
        ));
    }
    Ok(Json(json!({ "receipts": receipts })))
}

fn note_response(note: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response()
}

/// `GET /v1/notary/checkpoint`: the latest signed checkpoint, as a C2SP signed note.
#[utoipa::path(get, path = "/v1/notary/checkpoint", tag = "notary", summary = "The latest signed checkpoint (C2SP signed note)", responses((status = 200, description = "the checkpoint note", content_type = "text/plain", body = String)))]
async fn latest_checkpoint(State(state): State<AppState>) -> Response {
    note_response(state.notary.latest_checkpoint())
}

/// `GET /v1/notary/checkpoints/{size}`.
#[utoipa::path(get, path = "/v1/notary/checkpoints/{size}", tag = "notary", summary = "The signed checkpoint at a log size", params(("size" = u64, Path, description = "number of blocks")), responses((status = 200, description = "the checkpoint note", content_type = "text/plain", body = String), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 404, description = "no checkpoint of that size")))]
async fn checkpoint(
    State(state): State<AppState>,
    Path(size): Path<String>,
) -> Result<Response, ApiError> {
    let size = parse_number("size", &size)?;
    let log_size = state.notary.size();
    if size > log_size {
        return Err(ApiError::not_found(
            "size",
            format!("the log has {log_size} blocks, not {size}"),
        ));
    }
    Ok(note_response(state.notary.checkpoint(size)?))
}

/// `GET /v1/notary/blocks/{height}`.
#[utoipa::path(get, path = "/v1/notary/blocks/{height}", tag = "notary", summary = "One block header", params(("height" = u64, Path, description = "block height")), responses((status = 200, description = "the header", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 404, description = "unknown height")))]
async fn block(
    State(state): State<AppState>,
    Path(height): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let height = parse_number("height", &height)?;
    let header = state.notary.block(height)?;
    Ok(Json(json!({
        "block": header,
        "encoded": hex::encode(header.encode()),
        "leaf_hash": header.leaf_hash(),
    })))
}

/// `GET /v1/notary/blocks?from=N&limit=M`: a page of headers.
#[utoipa::path(get, path = "/v1/notary/blocks", tag = "notary", summary = "Block headers, a page", params(("from" = u64, Query, description = "first height (default 0)"), ("limit" = u64, Query, description = "at most this many")), responses((status = 200, description = "{from, blocks}", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}")))]
async fn blocks(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = query_map(query)?;
    let from = query_number(&query, "from", Some(0))?;
    let limit = query_number(&query, "limit", Some(BLOCKS_PAGE_MAX))?;
    if limit == 0 || limit > BLOCKS_PAGE_MAX {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit is 1 to {BLOCKS_PAGE_MAX}"),
        ));
    }
    let headers = state.notary.blocks(from, limit);
    Ok(Json(json!({ "from": from, "blocks": headers })))
}

/// `GET /v1/notary/proofs/consistency?from=N&to=M`.
#[utoipa::path(get, path = "/v1/notary/proofs/consistency", tag = "notary", summary = "RFC 9162 consistency proof between two log sizes", params(("from" = u64, Query, description = "the older size"), ("to" = u64, Query, description = "the newer size")), responses((status = 200, description = "{from, to, proof}", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}")))]
async fn consistency(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = query_map(query)?;
    let from = query_number(&query, "from", None)?;
    let to = query_number(&query, "to", None)?;
    let proof = state.notary.consistency_proof(from, to)?;
    Ok(Json(json!({ "from": from, "to": to, "proof": proof })))
}

/// `GET /v1/notary/proofs/inclusion?height=H[&size=N]`: the C2SP tlog-proof of a block.
#[utoipa::path(get, path = "/v1/notary/proofs/inclusion", tag = "notary", summary = "A block's C2SP tlog-proof at a log size", params(("height" = u64, Query, description = "block height"), ("size" = u64, Query, description = "log size (default: latest)")), responses((status = 200, description = "the tlog-proof", content_type = "text/plain", body = String), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 404, description = "unknown height or size")))]
async fn inclusion(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query_map(query)?;
    let height = query_number(&query, "height", None)?;
    let size = query
        .get("size")
        .map(|s| parse_number("size", s))
        .transpose()?;
    Ok(note_response(state.notary.log_proof(height, size)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    receipt: Receipt,
    tree_size: Option<u64>,
}

/// `POST /v1/notary/receipts/refresh`: the receipt proven at a later checkpoint.
#[utoipa::path(post, path = "/v1/notary/receipts/refresh", tag = "notary", summary = "A receipt proven at a later checkpoint", request_body(content = Object, content_type = "application/json", description = "{receipt, tree_size?}"), responses((status = 200, description = "the refreshed receipt", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}")))]
async fn refresh(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let body = body?;
    let request: RefreshRequest = parse_json(&body)?;
    if let Some(size) = request.tree_size {
        if size <= request.receipt.block.height {
            return Err(ApiError::bad_request(
                "tree_size",
                "the tree size must be above the receipt's block height",
            ));
        }
    }
    Ok(Json(
        state.notary.refresh(&request.receipt, request.tree_size)?,
    ))
}

/// `GET /v1/notary/key`: the C2SP note verifier key of the checkpoints.
#[utoipa::path(get, path = "/v1/notary/key", tag = "notary", summary = "The checkpoints' C2SP verifier key", responses((status = 200, description = "the vkey", content_type = "text/plain", body = String)))]
async fn key(State(state): State<AppState>) -> Response {
    note_response(format!("{}\n", state.notary.verifier().to_vkey()))
}

#[utoipa::path(get, path = "/notary/did.json", tag = "notary", summary = "The notary's did:web document", responses((status = 200, description = "the DID document", body = Object), (status = 404, description = "not configured")))]
async fn did_document_handler(State(state): State<AppState>) -> Response {
    match state.did_document {
        Some(document) => (
            [(header::CONTENT_TYPE, "application/did+json")],
            Json(document.as_ref().clone()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The RFC 3161 media type of a request.
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";
/// The RFC 3161 media type of a reply.
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

#[derive(Clone)]
struct TsaState {
    tsa: Arc<Tsa>,
    notary: Notary,
}

/// The time-stamp authority's routes: `POST /v1/tsa` (RFC 3161 over HTTP), and its
/// certificates at `GET /v1/tsa/ca.pem` and `GET /v1/tsa/certs` (TSA then CA). `guard` wraps
/// `POST /v1/tsa`.
pub fn tsa_router(tsa: Arc<Tsa>, notary: Notary, guard: Guard) -> ApiRouter {
    let state = TsaState { tsa, notary };
    let writes = guard(
        OpenApiRouter::new()
            .routes(routes!(timestamp))
            .with_state(state.clone()),
    );
    OpenApiRouter::new()
        .routes(routes!(tsa_ca))
        .routes(routes!(tsa_certs))
        .with_state(state)
        .merge(writes)
        .layer(DefaultBodyLimit::max(crate::tsa::REQUEST_BYTES_MAX))
}

fn timestamp_reply(status: StatusCode, der: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, TIMESTAMP_REPLY)], der).into_response()
}

/// Checks the query, enters its imprint in the log, and answers once the block holding it is
/// durable: the token's serial number is the entry's number and its time the block's.
#[utoipa::path(post, path = "/v1/tsa", tag = "tsa", summary = "RFC 3161 time-stamp (the imprint is entered in the log first)", request_body(content = Vec<u8>, content_type = "application/timestamp-query", description = "a DER TimeStampReq"), responses((status = 200, description = "a DER TimeStampResp", content_type = "application/timestamp-reply", body = String), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "a role that may not stamp"), (status = 415, description = "wrong content type")), security(("bearer" = [])))]
async fn timestamp(
    State(state): State<TsaState>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|media| media.eq_ignore_ascii_case(TIMESTAMP_QUERY)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Some("content-type"),
            format!("send the query as {TIMESTAMP_QUERY}"),
        ));
    }
    let body = body?;
    let request = match state.tsa.check_request(&body) {
        Ok(request) => request,
        // RFC 3161 section 3.4: a refused query still gets a TimeStampResp.
        Err(rejection) => return Ok(timestamp_reply(StatusCode::OK, rejection.to_der())),
    };
    let submitted = match state.notary.submit(vec![request.entry()]).await {
        Ok(submitted) => submitted,
        Err(error) => {
            let mut response = timestamp_reply(
                StatusCode::SERVICE_UNAVAILABLE,
                Rejection::system_failure(error.to_string()).to_der(),
            );
            if matches!(error, Error::Busy) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            return Ok(response);
        }
    };
    let block = submitted.block.header();
    let serial = block.first_entry + submitted.offset;
    match state.tsa.grant(&request, serial, block.time_ms) {
        Ok(der) => Ok(timestamp_reply(StatusCode::OK, der)),
        Err(error) => {
            tracing::error!(%error, "the TSA could not sign a token");
            Ok(timestamp_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                Rejection::system_failure("the TSA could not sign").to_der(),
            ))
        }
    }
}

#[utoipa::path(get, path = "/v1/tsa/ca.pem", tag = "tsa", summary = "The TSA's CA certificate (PEM)", responses((status = 200, description = "PEM", content_type = "application/x-pem-file", body = String)))]
async fn tsa_ca(State(state): State<TsaState>) -> Response {
    pem_response(state.tsa.ca_pem().to_owned())
}

#[utoipa::path(get, path = "/v1/tsa/certs", tag = "tsa", summary = "The TSA chain (PEM: TSA, then CA)", responses((status = 200, description = "PEM", content_type = "application/x-pem-file", body = String)))]
async fn tsa_certs(State(state): State<TsaState>) -> Response {
    pem_response(format!(
        "{}{}",
        state.tsa.certificate_pem(),
        state.tsa.ca_pem()
    ))
}

fn pem_response(pem: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pem-certificate-chain"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pem,
    )
        .into_response()
}

#[derive(Clone)]
struct AnchorRoutes {
    anchorer: Arc<Anchorer>,
    notary: Notary,
}

/// Most anchor records listed by `GET /v1/notary/anchors`.
const ANCHORS_LISTED_MAX: usize = 100;

/// The anchoring routes: `GET /v1/notary/anchors` (the account, the contract, the latest
/// records, the last failure), `POST /v1/notary/anchors` (anchor now), and
/// `POST /v1/notary/receipts/upgrade` (a `signed` receipt in, an `anchored` one out). `guard`
/// wraps `POST /v1/notary/anchors`.
pub fn anchor_router(anchorer: Arc<Anchorer>, notary: Notary, guard: Guard) -> ApiRouter {
    let state = AnchorRoutes { anchorer, notary };
    let writes = guard(
        OpenApiRouter::new()
            .routes(routes!(request_anchor))
            .with_state(state.clone()),
    );
    OpenApiRouter::new()
        .routes(routes!(anchors))
        .routes(routes!(upgrade))
        .with_state(state)
        .merge(writes)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
}

#[utoipa::path(get, path = "/v1/notary/anchors", tag = "anchors", summary = "The anchoring account, contract, latest records, last failure", responses((status = 200, description = "anchor state", body = Object)))]
async fn anchors(State(state): State<AnchorRoutes>) -> Json<Value> {
    let records = state.anchorer.records(ANCHORS_LISTED_MAX);
    Json(json!({
        "account": state.anchorer.account(),
        "contract": state.anchorer.contract(),
        "last_error": state.anchorer.last_error(),
        "anchors": records,
    }))
}

#[utoipa::path(post, path = "/v1/notary/anchors", tag = "anchors", summary = "Anchor the latest checkpoint now", responses((status = 202, description = "accepted"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an operator")), security(("bearer" = [])))]
async fn request_anchor(State(state): State<AnchorRoutes>) -> Response {
    state.anchorer.request();
    (StatusCode::ACCEPTED, Json(json!({ "requested": true }))).into_response()
}

#[utoipa::path(post, path = "/v1/notary/receipts/upgrade", tag = "anchors", summary = "A signed receipt in, an anchored one out", request_body(content = Object, content_type = "application/json", description = "{receipt}"), responses((status = 200, description = "the anchored receipt", body = Object), (status = 400, description = "malformed input: JSON {code, field, message}"), (status = 404, description = "not anchored yet")))]
async fn upgrade(
    State(state): State<AnchorRoutes>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let body = body?;
    let receipt: Receipt = parse_json(&body)?;
    match state.anchorer.upgrade(&state.notary, &receipt)? {
        Some(upgraded) => Ok(Json(upgraded)),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_anchored",
            Some("receipt"),
            "no confirmed anchor covers this receipt's checkpoint yet; retry after the next anchor",
        )),
    }
}
