//! The ledger's HTTP edge (axum), under `/v1/token`. Writes are signed operations, so
//! `POST /operations` needs no other credential; reads of an account, its history, a
//! settlement report or the journal need a signed read (see [`crate::auth`]) by the participant
//! itself, the authority or an auditor.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::{Json, Router};
use notary::http::{ApiError, ApiRouter};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{self, AuthError};
use crate::journal::Entry;
use crate::ledger::{Clock, Error, Ledger, PAGE_ENTRIES_MAX};
use crate::model::{Name, Role};
use crate::op::SignedOperation;
use crate::state::{Outcome, Participant, BATCH_OPERATIONS_MAX};

/// Largest request body: a full batch of operations in JSON fits.
pub const REQUEST_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    clock: Clock,
}

/// The ledger's routes as a plain axum router; see [`api`].
pub fn router(ledger: Ledger, clock: Clock) -> Router {
    api(ledger, clock).into()
}

/// The ledger's routes with their OpenAPI description. `clock` dates signed reads (the wall
/// clock in service).
pub fn api(ledger: Ledger, clock: Clock) -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(ledger_info))
        .routes(routes!(classes))
        .routes(routes!(class))
        .routes(routes!(participants))
        .routes(routes!(participant))
        .routes(routes!(account))
        .routes(routes!(history))
        .routes(routes!(settlement))
        .routes(routes!(journal))
        .routes(routes!(stamps))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(AppState { ledger, clock })
}

fn from_ledger_error(error: Error) -> ApiError {
    match error {
        Error::BatchSize { got, max } => ApiError::new(
            if got == 0 {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::PAYLOAD_TOO_LARGE
            },
            "batch_size",
            Some("operations"),
            format!("a batch holds 1 to {max} operations, got {got}"),
        ),
        Error::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            None,
            error.to_string(),
        ),
        Error::Stopped => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopped",
            None,
            error.to_string(),
        ),
        Error::Config { .. } | Error::Replay(_) | Error::Store(_) => ApiError::internal(&error),
    }
}

fn from_auth_error(error: AuthError) -> ApiError {
    let status = match error {
        AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    let code = match error {
        AuthError::Missing => "unauthenticated",
        AuthError::Malformed(_) => "malformed_authorization",
        AuthError::Stale => "stale_authorization",
        AuthError::BadSignature => "bad_signature",
        AuthError::Forbidden { .. } => "forbidden",
    };
    ApiError::new(status, code, Some("authorization"), error.to_string())
}

fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "too_large",
                Some("body"),
                format!("the body is larger than {REQUEST_BODY_BYTES_MAX} bytes"),
            )
        } else {
            ApiError::new(
                status,
                "invalid_request",
                Some("body"),
                rejection.body_text(),
            )
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitRequest {
    operations: Vec<SignedOperation>,
}

/// Finds which operation of a malformed request is at fault, for the error's `field`.
fn locate_malformed(body: &[u8]) -> ApiError {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let error = serde_json::from_slice::<SubmitRequest>(body)
            .err()
            .map_or_else(|| "malformed JSON".to_owned(), |error| error.to_string());
        return ApiError::new(StatusCode::BAD_REQUEST, "malformed", Some("body"), error);
    };
    if let Some(operations) = value.get("operations").and_then(Value::as_array) {
        for (position, operation) in operations.iter().enumerate() {
            if let Err(error) = serde_json::from_value::<SignedOperation>(operation.clone()) {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    Some(&format!("operations[{position}]")),
                    error.to_string(),
                );
            }
        }
    }
    let error = serde_json::from_value::<SubmitRequest>(value)
        .err()
        .map_or_else(|| "malformed request".to_owned(), |error| error.to_string());
    ApiError::new(StatusCode::BAD_REQUEST, "malformed", Some("body"), error)
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Ok(applied) => json!({
            "status": "applied",
            "index": applied.index,
            "time_ms": applied.time_ms,
            "duplicate": applied.duplicate,
        }),
        Err(reject) => {
            let mut value = serde_json::to_value(reject).expect("a reject serialises");
            if let Value::Object(fields) = &mut value {
                fields.insert("status".into(), "rejected".into());
                fields.insert("message".into(), reject.to_string().into());
            }
            value
        }
    }
}

#[utoipa::path(post, path = "/v1/token/operations", operation_id = "submit_operations", tag = "token", summary = "Apply a batch of signed operations (each signed by its actor; the ledger rules decide)", request_body(content = Object, content_type = "application/json", description = "{\"operations\": [signed operation, ...]}"), responses((status = 200, description = "{applied, rejected, results, head}", body = Object), (status = 400, description = "malformed input: JSON {error: {code, field, message}}"), (status = 413, description = "body too large")))]
async fn submit(
    State(state): State<AppState>,
    request: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request = body(request)?;
    let parsed: SubmitRequest =
        serde_json::from_slice(&request).map_err(|_| locate_malformed(&request))?;
    if parsed.operations.is_empty() || parsed.operations.len() > BATCH_OPERATIONS_MAX {
        return Err(from_ledger_error(Error::BatchSize {
            got: parsed.operations.len(),
            max: BATCH_OPERATIONS_MAX,
        }));
    }
    let outcomes = state
        .ledger
        .submit_async(parsed.operations)
        .await
        .map_err(from_ledger_error)?;
    let head = state.ledger.head();
    let applied = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    Ok(Json(json!({
        "applied": applied,
        "rejected": outcomes.len() - applied,
        "results": outcomes.iter().map(outcome_json).collect::<Vec<_>>(),
        "head": { "length": head.length, "hash": hex::encode(head.hash) },
    })))
}

#[utoipa::path(get, path = "/v1/token/ledger", tag = "token", summary = "The ledger's name, authority, time and journal head", responses((status = 200, description = "ledger info", body = Object)))]
async fn ledger_info(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let genesis = state.ledger.genesis().clone();
    let head = state.ledger.head();
    let (time_ms, participants, classes) = state
        .ledger
        .read(|ledger| {
            (
                ledger.time_ms(),
                ledger.participants().len(),
                ledger.classes().len(),
            )
        })
        .map_err(from_ledger_error)?;
    Ok(Json(json!({
        "ledger": genesis.ledger,
        "authority": genesis.authority,
        "authority_did": genesis.authority.to_did_key(),
        "created_ms": genesis.created_ms,
        "genesis_hash": hex::encode(genesis.hash()),
        "head": { "length": head.length, "hash": hex::encode(head.hash) },
        "time_ms": time_ms,
        "participants": participants,
        "classes": classes,
    })))
}

#[utoipa::path(get, path = "/v1/token/classes", tag = "token", summary = "Every class, its rules and supply", responses((status = 200, description = "classes", body = Object)))]
async fn classes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let classes = state
        .ledger
        .read(|ledger| serde_json::to_value(ledger.classes()).expect("classes serialise"))
        .map_err(from_ledger_error)?;
    Ok(Json(json!({ "classes": classes })))
}

#[utoipa::path(get, path = "/v1/token/classes/{class}", tag = "token", summary = "One class", params(("class" = String, Path, description = "class name")), responses((status = 200, description = "the class", body = Object), (status = 404, description = "unknown class")))]
async fn class(
    State(state): State<AppState>,
    Path(class): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .ledger
        .read(|ledger| {
            ledger
                .class(&class)
                .map(|class| Json(serde_json::to_value(class).expect("a class serialises")))
        })
        .map_err(from_ledger_error)?
        .ok_or_else(|| ApiError::not_found("class", format!("no class {class:?}")))
}

/// Who may read what. `subject` is the participant whose data is read, if any.
#[derive(Clone, Copy)]
enum Readers<'a> {
    /// The subject itself, the authority, an auditor.
    SubjectOrOversight(&'a str),
    /// As above, plus any issuer (settlement reports concern issuers).
    SubjectOversightOrIssuer(&'a str),
    /// The authority and auditors only.
    Oversight,
}

fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    readers: Readers<'_>,
) -> Result<Participant, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| from_auth_error(AuthError::Missing))?;
    let claim = auth::parse(header).map_err(from_auth_error)?;
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str());
    let ledger_name = state.ledger.genesis().ledger.clone();
    let reader = state
        .ledger
        .read(|ledger| ledger.participant(claim.participant.as_str()).cloned())
        .map_err(from_ledger_error)?
        .ok_or_else(|| from_auth_error(AuthError::BadSignature))?;
    auth::verify(&claim, &ledger_name, &reader.key, (state.clock)(), path)
        .map_err(from_auth_error)?;
    let oversight = matches!(reader.role, None | Some(Role::Auditor));
    let allowed = match readers {
        Readers::SubjectOrOversight(subject) => oversight || reader.name.as_str() == subject,
        Readers::SubjectOversightOrIssuer(subject) => {
            oversight || reader.name.as_str() == subject || reader.role == Some(Role::Issuer)
        }
        Readers::Oversight => oversight,
    };
    if !allowed {
        return Err(from_auth_error(AuthError::Forbidden {
            participant: reader.name.to_string(),
        }));
    }
    Ok(reader)
}

/// Checks the path's participant name (`field`), then that the reader may read its data.
fn authorize_subject(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    text: &str,
    field: &str,
    readers: fn(&str) -> Readers<'_>,
) -> Result<Name, ApiError> {
    let name = Name::new(text).map_err(|error| ApiError::bad_request(field, error.to_string()))?;
    authorize(state, headers, uri, readers(name.as_str()))?;
    Ok(name)
}

fn participant_json(participant: &Participant) -> Value {
    json!({
        "name": participant.name,
        "role": participant.role.map_or("authority", Role::as_str),
        "key": participant.key,
        "did": participant.key.to_did_key(),
        "category": participant.category,
        "next_seq": participant.next_seq,
    })
}

#[utoipa::path(get, path = "/v1/token/participants", tag = "token", summary = "Every participant (authority and auditors)", responses((status = 200, description = "participants", body = Object), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this")), security(("signed_read" = [])))]
async fn participants(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &uri, Readers::Oversight)?;
    let participants = state
        .ledger
        .read(|ledger| {
            ledger
                .participants()
                .iter()
                .map(participant_json)
                .collect::<Vec<_>>()
        })
        .map_err(from_ledger_error)?;
    Ok(Json(json!({ "participants": participants })))
}

#[utoipa::path(get, path = "/v1/token/participants/{participant}", tag = "token", summary = "One participant (itself, authority, auditors)", params(("participant" = String, Path, description = "participant name")), responses((status = 200, description = "the participant", body = Object), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this"), (status = 404, description = "unknown")), security(("signed_read" = [])))]
async fn participant(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let name = authorize_subject(&state, &headers, &uri, &name, "participant", |name| {
        Readers::SubjectOrOversight(name)
    })?;
    state
        .ledger
        .read(|ledger| ledger.participant(name.as_str()).map(participant_json))
        .map_err(from_ledger_error)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("participant", format!("{name} is not enrolled")))
}

#[utoipa::path(get, path = "/v1/token/accounts/{participant}", tag = "token", summary = "A participant's balances (itself, authority, auditors)", params(("participant" = String, Path, description = "participant name")), responses((status = 200, description = "balances", body = Object), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this"), (status = 404, description = "unknown")), security(("signed_read" = [])))]
async fn account(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let name = authorize_subject(&state, &headers, &uri, &name, "participant", |name| {
        Readers::SubjectOrOversight(name)
    })?;
    let balances = state
        .ledger
        .read(|ledger| {
            ledger.participant(name.as_str())?;
            Some(
                ledger
                    .accounts_of(name.as_str())
                    .into_iter()
                    .map(|(class, account)| {
                        json!({
                            "class": class,
                            "balance": account.balance,
                            "pending_out": account.pending_out,
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .map_err(from_ledger_error)?
        .ok_or_else(|| ApiError::not_found("participant", format!("{name} is not enrolled")))?;
    Ok(Json(json!({ "participant": name, "balances": balances })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    from: u64,
    #[serde(default = "page_default")]
    limit: usize,
}

fn page_default() -> usize {
    PAGE_ENTRIES_MAX
}

fn page(
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Page, ApiError> {
    let Query(page) =
        query.map_err(|rejection| ApiError::bad_request("query", rejection.body_text()))?;
    if page.limit == 0 || page.limit > PAGE_ENTRIES_MAX {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit is 1 to {PAGE_ENTRIES_MAX}"),
        ));
    }
    Ok(page)
}

fn entries_json(entries: &[Entry]) -> Vec<Value> {
    entries
        .iter()
        .map(|entry| serde_json::to_value(entry.to_json()).expect("an entry serialises"))
        .collect()
}

#[utoipa::path(get, path = "/v1/token/accounts/{participant}/history", tag = "token", summary = "A participant's journal entries", params(("participant" = String, Path, description = "participant name"), ("from" = u64, Query, description = "first journal index"), ("limit" = u64, Query, description = "at most this many")), responses((status = 200, description = "entries", body = Object), (status = 400, description = "malformed input: JSON {error: {code, field, message}}"), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this")), security(("signed_read" = [])))]
async fn history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let page = page(query)?;
    let name = authorize_subject(&state, &headers, &uri, &name, "participant", |name| {
        Readers::SubjectOrOversight(name)
    })?;
    let from = usize::try_from(page.from).unwrap_or(usize::MAX);
    let entries = state
        .ledger
        .history(name.as_str(), from, page.limit)
        .map_err(from_ledger_error)?;
    Ok(Json(
        json!({ "participant": name, "from": page.from, "entries": entries_json(&entries) }),
    ))
}

#[utoipa::path(get, path = "/v1/token/settlements/{merchant}", tag = "token", summary = "A merchant's settlement report", params(("merchant" = String, Path, description = "merchant name")), responses((status = 200, description = "settlement", body = Object), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this"), (status = 404, description = "unknown")), security(("signed_read" = [])))]
async fn settlement(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let name = authorize_subject(&state, &headers, &uri, &name, "merchant", |name| {
        Readers::SubjectOversightOrIssuer(name)
    })?;
    let report = state
        .ledger
        .read(|ledger| {
            let merchant = ledger.participant(name.as_str())?;
            (merchant.role == Some(Role::Merchant)).then(|| {
                ledger
                    .settlements_of(name.as_str())
                    .into_iter()
                    .map(|(class, settlement)| {
                        let issuer = ledger.class(class.as_str()).map(|c| c.rules.issuer.clone());
                        json!({
                            "class": class,
                            "issuer": issuer,
                            "amount": settlement.amount,
                            "redemptions": settlement.redemptions,
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .map_err(from_ledger_error)?
        .ok_or_else(|| {
            ApiError::not_found("merchant", format!("{name} is not an enrolled merchant"))
        })?;
    Ok(Json(json!({ "merchant": name, "settlements": report })))
}

#[utoipa::path(get, path = "/v1/token/journal", tag = "token", summary = "The journal, a page (authority and auditors)", params(("from" = u64, Query, description = "first journal index"), ("limit" = u64, Query, description = "at most this many")), responses((status = 200, description = "entries", body = Object), (status = 400, description = "malformed input: JSON {error: {code, field, message}}"), (status = 401, description = "no or a bad signed read"), (status = 403, description = "the signer may not read this")), security(("signed_read" = [])))]
async fn journal(
    State(state): State<AppState>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let page = page(query)?;
    authorize(&state, &headers, &uri, Readers::Oversight)?;
    let entries = state
        .ledger
        .journal(page.from, page.limit)
        .map_err(from_ledger_error)?;
    let head = state.ledger.head();
    Ok(Json(json!({
        "from": page.from,
        "length": head.length,
        "entries": entries_json(&entries),
    })))
}

#[utoipa::path(get, path = "/v1/token/stamps", tag = "token", summary = "The journal heads' notary receipts", params(("from" = u64, Query, description = "first journal index"), ("limit" = u64, Query, description = "at most this many")), responses((status = 200, description = "stamps", body = Object), (status = 400, description = "malformed input: JSON {error: {code, field, message}}")))]
async fn stamps(
    State(state): State<AppState>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let page = page(query)?;
    let stamps = state
        .ledger
        .stamps(page.from, page.limit)
        .map_err(from_ledger_error)?;
    Ok(Json(json!({ "stamps": stamps })))
}
