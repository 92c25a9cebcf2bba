//! The eligibility API's HTTP edge (axum): routes, bearer-token roles, limits and the JSON
//! error body `{"error": CODE, "message": TEXT, "field"?: NAME}`.
//!
//! - `POST /v1/eligibility/{measure}/applications` (platform, for the measures in its scope):
//!   decide an application.
//! - `GET /v1/eligibility/decisions/{id}` and `…/{id}/evidence` (operator, auditor, and the
//!   platforms whose scope has the decision's measure).
//! - `GET /v1/eligibility/reviews` and `POST /v1/eligibility/reviews/{id}` (operator).
//! - `GET /v1/eligibility/measures[/{measure}]`, `GET /v1/eligibility/registries`: public.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use notary::http::ApiRouter;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use access::{Access, Denied, Grant, Role};

use crate::eligibility::{Eligibility, Error};

/// The largest request body, in bytes.
pub const REQUEST_BODY_BYTES_MAX: usize = 16 * 1024;

struct Api {
    service: Arc<Eligibility>,
    access: Arc<Access>,
}

/// The eligibility router; `access` says who may call it.
pub fn router(service: Arc<Eligibility>, access: Arc<Access>) -> Router {
    api(service, access).into()
}

/// The eligibility routes with their OpenAPI description.
pub fn api(service: Arc<Eligibility>, access: Arc<Access>) -> ApiRouter {
    let api = Arc::new(Api { service, access });
    OpenApiRouter::new()
        .routes(routes!(apply))
        .routes(routes!(decision))
        .routes(routes!(evidence))
        .routes(routes!(reviews))
        .routes(routes!(review))
        .routes(routes!(measures))
        .routes(routes!(measure))
        .routes(routes!(registries))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(api)
}

/// A refusal: status, code, message and the field at fault.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error_body(self.status, self.code, self.message, None)
    }
}

fn error_body(status: StatusCode, code: &str, message: String, field: Option<&str>) -> Response {
    let mut body = json!({"error": code, "message": message});
    if let Some(field) = field {
        body["field"] = field.into();
    }
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

fn error_response(error: Error) -> Response {
    let message = error.to_string();
    match error {
        Error::UnknownMeasure { .. } => {
            error_body(StatusCode::NOT_FOUND, "unknown_measure", message, None)
        }
        Error::Invalid { field, .. } => error_body(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            message,
            Some(field),
        ),
        Error::NoVersion { .. } => error_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_version_open",
            message,
            None,
        ),
        Error::NotFound { .. } => error_body(StatusCode::NOT_FOUND, "not_found", message, None),
        Error::NotPending { .. } => error_body(StatusCode::CONFLICT, "not_pending", message, None),
        Error::Store(error) => {
            tracing::error!(%error, "eligibility storage");
            error_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".into(),
                None,
            )
        }
    }
}

impl From<Denied> for Refusal {
    fn from(denied: Denied) -> Refusal {
        Refusal {
            status: denied.status(),
            code: denied.code(),
            message: denied.to_string(),
        }
    }
}

/// The caller's grant, if its bearer token has one of `roles`.
fn authorise(api: &Api, headers: &HeaderMap, roles: &[Role]) -> Result<Arc<Grant>, Refusal> {
    Ok(api.access.authorise(headers, roles)?)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|error| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "malformed",
        message: format!("the body: {error}"),
    })
}

#[utoipa::path(post, path = "/v1/eligibility/{measure}/applications", tag = "eligibility", summary = "Decide an application from the registries, in real time", params(("measure" = String, Path, description = "nidi-gratis, bando-pmi")), request_body(content = crate::eligibility::ApplicationRequest, content_type = "application/json", description = "{fiscal_code, child_fiscal_code, application_date?, token_key?} or {vat, application_date?}"), responses((status = 201, description = "the decision (requirements, outcome, amount, consequences)", body = Object), (status = 400, description = "malformed or invalid_field"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not a platform, or a measure outside its scope"), (status = 404, description = "unknown_measure"), (status = 413, description = "over 16 KiB"), (status = 422, description = "no_version_open")), security(("bearer" = [])))]
async fn apply(
    State(api): State<Arc<Api>>,
    Path(measure): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(refusal) =
        authorise(&api, &headers, &[Role::Platform]).and_then(|grant| Ok(grant.require(&measure)?))
    {
        return refusal.into_response();
    }
    let request = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    match api.service.apply(&measure, request).await {
        Ok(decision) => (StatusCode::CREATED, Json(decision)).into_response(),
        Err(error) => error_response(error),
    }
}

/// The roles that may read decisions and evidence.
const READERS: &[Role] = &[Role::Platform, Role::Operator, Role::Auditor];

/// A read of decision `id`: the caller must be a reader, and a platform's scope must have the
/// decision's measure.
fn read(
    api: &Api,
    headers: &HeaderMap,
    id: &str,
    read: impl FnOnce(&Eligibility) -> Result<Value, Error>,
) -> Response {
    let grant = match authorise(api, headers, READERS) {
        Ok(grant) => grant,
        Err(refusal) => return refusal.into_response(),
    };
    if grant.role == Role::Platform {
        let measure = match api.service.decision(id) {
            Ok(decision) => decision["measure"].as_str().unwrap_or_default().to_owned(),
            Err(error) => return error_response(error),
        };
        if let Err(denied) = grant.require(&measure) {
            return Refusal::from(denied).into_response();
        }
    }
    match read(&api.service) {
        Ok(value) => Json(value).into_response(),
        Err(error) => error_response(error),
    }
}

#[utoipa::path(get, path = "/v1/eligibility/decisions/{id}", tag = "eligibility", summary = "A decision (operator, auditor, platforms of its measure)", params(("id" = String, Path, description = "decision id")), responses((status = 200, description = "the decision", body = Object), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")), security(("bearer" = [])))]
async fn decision(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    read(&api, &headers, &id, |service| service.decision(&id))
}

#[utoipa::path(get, path = "/v1/eligibility/decisions/{id}/evidence", tag = "eligibility", summary = "A decision's evidence: every registry exchange, the rule set, the facts", params(("id" = String, Path, description = "decision id")), responses((status = 200, description = "the evidence bundle", body = Object), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "forbidden"), (status = 404, description = "not_found")), security(("bearer" = [])))]
async fn evidence(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    read(&api, &headers, &id, |service| service.evidence(&id))
}

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/eligibility/reviews", tag = "eligibility", summary = "The decisions waiting for an operator", params(("after" = String, Query, description = "page after this id"), ("limit" = u64, Query, description = "at most this many")), responses((status = 200, description = "{pending}", body = Object), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an operator")), security(("bearer" = [])))]
async fn reviews(
    State(api): State<Arc<Api>>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorise(&api, &headers, &[Role::Operator]) {
        return refusal.into_response();
    }
    match api
        .service
        .reviews(page.after.as_deref(), page.limit.unwrap_or(100))
    {
        Ok(list) => Json(json!({"pending": list})).into_response(),
        Err(error) => error_response(error),
    }
}

#[utoipa::path(post, path = "/v1/eligibility/reviews/{id}", tag = "eligibility", summary = "Resolve a pending decision", params(("id" = String, Path, description = "decision id")), request_body(content = crate::eligibility::ReviewRequest, content_type = "application/json", description = "{outcome, reason, monthly_amount_cents?}"), responses((status = 200, description = "the review record", body = Object), (status = 400, description = "malformed"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an operator"), (status = 404, description = "not_found"), (status = 409, description = "not_pending")), security(("bearer" = [])))]
async fn review(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let operator = match authorise(&api, &headers, &[Role::Operator]) {
        Ok(grant) => grant.name.clone(),
        Err(refusal) => return refusal.into_response(),
    };
    let request = match parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    match api.service.review(&id, &operator, request).await {
        Ok(record) => Json(record).into_response(),
        Err(error) => error_response(error),
    }
}

#[utoipa::path(get, path = "/v1/eligibility/measures", tag = "eligibility", summary = "The measures, their dated versions and rule-set hashes", responses((status = 200, description = "{measures}", body = Object)))]
async fn measures(State(api): State<Arc<Api>>) -> Json<Value> {
    let list: Vec<Value> = api
        .service
        .measures()
        .iter()
        .map(|measure| {
            json!({
                "measure": measure.measure,
                "title": measure.title,
                "applicant": measure.applicant,
                "versions": measure.versions.iter().map(|v| json!({
                    "id": v.id,
                    "title": v.title,
                    "legal_basis": v.legal_basis,
                    "applications_open": v.applications_open,
                    "applications_close": v.applications_close,
                    "rule_set_hash": v.hash(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({"measures": list}))
}

#[utoipa::path(get, path = "/v1/eligibility/measures/{measure}", tag = "eligibility", summary = "A measure's whole rule file", params(("measure" = String, Path, description = "measure name")), responses((status = 200, description = "the measure", body = Object), (status = 404, description = "unknown_measure")))]
async fn measure(State(api): State<Arc<Api>>, Path(name): Path<String>) -> Response {
    match api.service.measures().iter().find(|m| m.measure == name) {
        Some(measure) => Json(measure).into_response(),
        None => error_response(Error::UnknownMeasure { measure: name }),
    }
}

#[utoipa::path(get, path = "/v1/eligibility/registries", tag = "eligibility", summary = "Each registry's circuit and counters", responses((status = 200, description = "{registries}", body = Object)))]
async fn registries(State(api): State<Arc<Api>>) -> Json<Value> {
    Json(json!({"registries": api.service.client().health()}))
}
