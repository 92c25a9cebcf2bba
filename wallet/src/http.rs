//! The credentials' HTTP edge, in VC-API shapes where they exist:
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /v1/credentials/issue` | issuer | VC-API: `{credential, options}` → `{verifiableCredential}` (VC 2.0) |
//! | `POST /v1/credentials/issue/batch` | issuer | `{credentials: [{credential, options}]}` |
//! | `POST /v1/credentials/sd-jwt/issue` | issuer | one SD-JWT VC, or `{credentials: [...]}` |
//! | `POST /v1/credentials/status` | issuer | `{credentialId, status: revoked \| suspended \| valid}` |
//! | `POST /v1/credentials/verify` | public | `{verifiableCredential, options}` → `{checks, warnings, errors}` |
//! | `POST /v1/presentations/verify` | public | `{verifiablePresentation, options: {challenge, domain}}` |
//! | `GET /v1/credentials/status-lists/{issuer}/{list}[/{purpose}]` | public | status lists |
//! | `GET /v1/credentials/types[/{name}[/schema]]`, `/v1/credentials/issuers` | public | metadata |
//! | `GET /issuers/{issuer}/did.json`, `/contexts/credentials/v1` | public | DID documents, context |
//! | `POST /v1/oid4vci/offers` | issuer | OpenID4VCI offer `{credential_type, claims, tx_code}` |
//! | `GET /.well-known/openid-credential-issuer/issuers/{issuer}` | public | OpenID4VCI metadata |
//! | `GET /.well-known/oauth-authorization-server/issuers/{issuer}` | public | RFC 8414 metadata |
//! | `GET /issuers/{issuer}/offers/{offer}` | public | an offer by reference |
//! | `POST /issuers/{issuer}/token`, `/nonce`, `/credential` | holder | OpenID4VCI endpoints |
//!
//! [`calls_router`] adds the calls (bandi) and OpenID4VP:
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /v1/calls` | issuer | publish a call: `{title, dcql_query, rules, issuers}` |
//! | `GET /v1/calls/{call}` | public | the call |
//! | `POST /v1/calls/{call}/requests` | public | a fresh OpenID4VP authorization request |
//! | `GET /v1/calls/{call}/requests/{state}` | public | its request object (`request_uri`) |
//! | `POST /v1/calls/{call}/response` | holder | `direct_post`: `vp_token`, `state` |
//! | `GET /v1/applications/{id}` | the call's publisher | an application and its receipts |
//! | `GET /v1/applications/{id}/receipts` | public | its two hashes and receipts (202 while pending) |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use notary::http::ApiRouter;
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::issuers::Issuer;
use crate::jose::Algorithm;
use crate::oid4vci;
use crate::service::{
    Credentials, Holder, IssueRequest, IssuedCredential, VerifyOptions, BATCH_CREDENTIALS_MAX,
    STATUS_LIST_TTL_SECONDS,
};
use crate::status::{Purpose, Status};
use crate::vc::Suite;
use crate::{types, Error};

/// The largest request body, in bytes (a full batch of credentials).
pub const REQUEST_BODY_BYTES_MAX: usize = 1024 * 1024;

/// The error boundary: a refusal becomes a 4xx with `{code, message}`, a failure a 500.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::StatusChange { .. } => StatusCode::CONFLICT,
            Error::Storage { .. } | Error::Config { .. } | Error::ListsFull => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "credentials request failed");
            "internal error".to_owned()
        } else {
            self.0.to_string()
        };
        let mut response = (
            status,
            Json(json!({"code": self.0.code(), "message": message})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sigillo-issuer\""),
            );
        }
        response
    }
}

type Shared = Arc<Credentials>;

/// The routes as a plain axum router; see [`api`].
pub fn router(credentials: Arc<Credentials>) -> Router {
    api(credentials).into()
}

/// The routes with their OpenAPI description.
pub fn api(credentials: Arc<Credentials>) -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(issue_vc))
        .routes(routes!(issue_vc_batch))
        .routes(routes!(issue_sd_jwt))
        .routes(routes!(update_status))
        .routes(routes!(verify_credential))
        .routes(routes!(verify_presentation))
        .routes(routes!(token_status_list))
        .routes(routes!(bitstring_status_list))
        .routes(routes!(list_types))
        .routes(routes!(type_metadata))
        .routes(routes!(type_schema))
        .routes(routes!(list_issuers))
        .routes(routes!(did_document))
        .routes(routes!(context))
        .routes(routes!(create_offer))
        .routes(routes!(issuer_metadata))
        .routes(routes!(authorization_server_metadata))
        .routes(routes!(offer_document))
        .routes(routes!(token))
        .routes(routes!(nonce))
        .routes(routes!(credential_endpoint))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(credentials)
}

fn authenticate<'a>(
    credentials: &'a Credentials,
    headers: &HeaderMap,
) -> Result<&'a Issuer, Error> {
    credentials.authenticate(headers)
}

fn body(bytes: &Bytes) -> Result<Map<String, Value>, Error> {
    crate::limits::parse_json(bytes, "request body")
}

fn string<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, Error> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Error::Malformed {
            what: name,
            reason: "must be a string".into(),
        }),
    }
}

fn holder(value: Option<&Value>) -> Result<Option<Holder>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(did)) => Ok(Some(Holder::DidKey(did.clone()))),
        Some(Value::Object(object)) => {
            match (object.get("did").and_then(Value::as_str), object.get("jwk")) {
                (Some(did), None) => Ok(Some(Holder::DidKey(did.to_owned()))),
                (None, Some(jwk)) => Ok(Some(Holder::Jwk(jwk.clone()))),
                _ => Err(Error::Malformed {
                    what: "holder",
                    reason: "give either did or jwk".into(),
                }),
            }
        }
        Some(_) => Err(Error::Malformed {
            what: "holder",
            reason: "a did:key string or {did} or {jwk}".into(),
        }),
    }
}

fn seconds(object: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, Error> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(Error::Malformed {
            what: name,
            reason: "not an integer".into(),
        }),
        Some(Value::String(text)) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|t| Some(t.unix_timestamp()))
                .map_err(|_| Error::Malformed {
                    what: name,
                    reason: "an RFC 3339 date-time or Unix seconds".into(),
                })
        }
        Some(_) => Err(Error::Malformed {
            what: name,
            reason: "an RFC 3339 date-time or Unix seconds".into(),
        }),
    }
}

/// One SD-JWT VC request: `{vct | type, claims, holder, validFrom, validUntil, alg, decoys}`.
fn sd_jwt_request(object: &Map<String, Value>) -> Result<IssueRequest, Error> {
    let credential_type =
        string(object, "vct")?
            .or(string(object, "type")?)
            .ok_or(Error::Malformed {
                what: "vct",
                reason: "missing".into(),
            })?;
    let claims = match object.get("claims") {
        Some(Value::Object(claims)) => claims.clone(),
        _ => {
            return Err(Error::Malformed {
                what: "claims",
                reason: "must be an object".into(),
            })
        }
    };
    let mut request = IssueRequest::new(credential_type, claims, holder(object.get("holder"))?);
    request.valid_from = seconds(object, "validFrom")?;
    request.valid_until = seconds(object, "validUntil")?;
    request.algorithm = match string(object, "alg")? {
        None | Some("ES256") => Algorithm::Es256,
        Some("EdDSA") => Algorithm::EdDsa,
        Some(other) => {
            return Err(Error::AlgorithmRefused {
                alg: other.into(),
                reason: "issuance signs with ES256 or EdDSA",
            })
        }
    };
    request.decoys = object
        .get("decoys")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok(request)
}

fn issued_json(issued: &IssuedCredential) -> Value {
    json!({
        "id": issued.id,
        "credential": issued.credential,
        "status": {"list": issued.status_list, "index": issued.status_index},
    })
}

fn batch(object: &Map<String, Value>) -> Option<Result<&Vec<Value>, Error>> {
    object.get("credentials").map(|items| match items {
        Value::Array(items) if !items.is_empty() && items.len() <= BATCH_CREDENTIALS_MAX => {
            Ok(items)
        }
        Value::Array(_) => Err(Error::TooLarge {
            what: "credentials",
            limit: BATCH_CREDENTIALS_MAX,
        }),
        _ => Err(Error::Malformed {
            what: "credentials",
            reason: "must be an array".into(),
        }),
    })
}

#[utoipa::path(post, path = "/v1/credentials/sd-jwt/issue", tag = "credentials", summary = "Issue SD-JWT VCs as the caller issuer", request_body(content = Object, content_type = "application/json", description = "{vct, claims, holder?, disclose?} or {credentials: [...]}"), responses((status = 201, description = "the SD-JWT VC(s)", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on")), security(("bearer" = [])))]
async fn issue_sd_jwt(
    State(credentials): State<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let issuer = authenticate(&credentials, &headers)?;
    let object = body(&bytes)?;
    let requests = match batch(&object) {
        Some(items) => items?
            .iter()
            .map(|item| {
                item.as_object()
                    .ok_or(Error::Malformed {
                        what: "credentials",
                        reason: "each item is an object".into(),
                    })
                    .and_then(sd_jwt_request)
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![sd_jwt_request(&object)?],
    };
    let issued = credentials.issue_sd_jwt(issuer, &requests)?;
    let response = if object.contains_key("credentials") {
        json!({"credentials": issued.iter().map(issued_json).collect::<Vec<_>>()})
    } else {
        issued_json(&issued[0])
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// A VC-API issue request: the unsigned credential names its type and subject; the issuer, if
/// given, must be the caller.
fn vc_request(
    issuer: &Issuer,
    object: &Map<String, Value>,
) -> Result<(IssueRequest, Suite), Error> {
    let credential =
        object
            .get("credential")
            .and_then(Value::as_object)
            .ok_or(Error::Malformed {
                what: "credential",
                reason: "must be an object".into(),
            })?;
    let options = object
        .get("options")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let named_issuer = match credential.get("issuer") {
        Some(Value::String(id)) => Some(id.as_str()),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
        _ => None,
    };
    if let Some(named) = named_issuer {
        if named != issuer.did {
            return Err(Error::Forbidden {
                reason: format!("{} cannot issue as {named}", issuer.did),
            });
        }
    }
    let types: Vec<&str> = match credential.get("type") {
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(t)) => vec![t.as_str()],
        _ => Vec::new(),
    };
    let credential_type =
        types
            .iter()
            .find(|t| **t != "VerifiableCredential")
            .ok_or(Error::Malformed {
                what: "type",
                reason: "name the credential type besides VerifiableCredential".into(),
            })?;
    let mut subject = match credential.get("credentialSubject") {
        Some(Value::Object(subject)) => subject.clone(),
        _ => {
            return Err(Error::Malformed {
                what: "credentialSubject",
                reason: "must be one object".into(),
            })
        }
    };
    let holder = match subject.remove("id") {
        Some(Value::String(did)) => Some(Holder::DidKey(did)),
        Some(_) => {
            return Err(Error::Malformed {
                what: "credentialSubject.id",
                reason: "must be a DID".into(),
            })
        }
        None => None,
    };
    let mut request = IssueRequest::new(credential_type, subject, holder);
    request.valid_from = seconds(credential, "validFrom")?;
    request.valid_until = seconds(credential, "validUntil")?;
    let suite = Suite::from_name(string(&options, "cryptosuite")?.unwrap_or("eddsa-rdfc-2022"))?;
    Ok((request, suite))
}

#[utoipa::path(post, path = "/v1/credentials/issue", tag = "credentials", summary = "VC-API issue: a VC 2.0 with a Data Integrity proof", request_body(content = Object, content_type = "application/json", description = "{credential, options}"), responses((status = 201, description = "{verifiableCredential}", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on")), security(("bearer" = [])))]
async fn issue_vc(
    State(credentials): State<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let issuer = authenticate(&credentials, &headers)?;
    let (request, suite) = vc_request(issuer, &body(&bytes)?)?;
    let issued = credentials.issue_vc(issuer, &[request], suite).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"verifiableCredential": issued[0].credential})),
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/credentials/issue/batch", tag = "credentials", summary = "Issue VC 2.0 credentials, all or nothing", request_body(content = Object, content_type = "application/json", description = "{credentials: [{credential, options}]}"), responses((status = 201, description = "the credentials", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on")), security(("bearer" = [])))]
async fn issue_vc_batch(
    State(credentials): State<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let issuer = authenticate(&credentials, &headers)?;
    let object = body(&bytes)?;
    let items = batch(&object).ok_or(Error::Malformed {
        what: "credentials",
        reason: "missing".into(),
    })??;
    let mut requests = Vec::with_capacity(items.len());
    let mut suite = None;
    for item in items {
        let item = item.as_object().ok_or(Error::Malformed {
            what: "credentials",
            reason: "each item is an object".into(),
        })?;
        let (request, item_suite) = vc_request(issuer, item)?;
        if suite.is_some_and(|s| s != item_suite) {
            return Err(Error::Malformed {
                what: "options.cryptosuite",
                reason: "one cryptosuite per batch".into(),
            }
            .into());
        }
        suite = Some(item_suite);
        requests.push(request);
    }
    let issued = credentials
        .issue_vc(issuer, &requests, suite.unwrap_or(Suite::EddsaRdfc2022))
        .await?;
    let list: Vec<Value> = issued
        .iter()
        .map(|i| json!({"verifiableCredential": i.credential}))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"credentials": list}))).into_response())
}

#[utoipa::path(post, path = "/v1/credentials/status", tag = "credentials", summary = "Revoke, suspend or reinstate one of the caller's credentials", request_body(content = Object, content_type = "application/json", description = "{credentialId, status: revoked | suspended | valid}"), responses((status = 200, description = "{credentialId, previous, status}", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on"), (status = 404, description = "not one of the caller's credentials")), security(("bearer" = [])))]
async fn update_status(
    State(credentials): State<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let issuer = authenticate(&credentials, &headers)?;
    let object = body(&bytes)?;
    let id = string(&object, "credentialId")?.ok_or(Error::Malformed {
        what: "credentialId",
        reason: "missing".into(),
    })?;
    let status = match string(&object, "status")? {
        Some("revoked") => Status::Invalid,
        Some("suspended") => Status::Suspended,
        Some("valid") | Some("reinstated") => Status::Valid,
        _ => {
            return Err(Error::Malformed {
                what: "status",
                reason: "revoked, suspended or valid".into(),
            }
            .into())
        }
    };
    let previous = credentials.set_status(issuer, id, status)?;
    Ok(Json(
        json!({"credentialId": id, "previous": previous, "status": status}),
    ))
}

fn verification_response(result: Result<crate::service::Verification, Error>) -> Response {
    match result {
        Ok(verification) => Json(json!({
            "checks": verification.checks,
            "warnings": verification.warnings,
            "errors": [],
            "issuer": verification.issuer,
            "credentialType": verification.credential_type,
            "claims": verification.claims,
            "disclosed": verification.disclosed,
        }))
        .into_response(),
        Err(error @ (Error::Storage { .. } | Error::Config { .. })) => {
            ApiError(error).into_response()
        }
        Err(error) => {
            let status = if matches!(error, Error::TooLarge { .. }) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, Json(json!({"checks": [], "warnings": [], "errors": [{"code": error.code(), "message": error.to_string()}]}))).into_response()
        }
    }
}

fn verify_options(object: &Map<String, Value>) -> Result<VerifyOptions, Error> {
    let options = match object.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(options)) => options.clone(),
        Some(_) => {
            return Err(Error::Malformed {
                what: "options",
                reason: "must be an object".into(),
            })
        }
    };
    Ok(VerifyOptions {
        aud: string(&options, "domain")?.map(str::to_owned),
        nonce: string(&options, "challenge")?.map(str::to_owned),
        now: None,
    })
}

#[utoipa::path(post, path = "/v1/credentials/verify", tag = "credentials", summary = "VC-API verify a credential (VC 2.0 or SD-JWT VC)", request_body(content = Object, content_type = "application/json", description = "{verifiableCredential, options}"), responses((status = 200, description = "{checks, warnings, errors}", body = Object), (status = 400, description = "not valid: {checks, warnings, errors}")))]
async fn verify_credential(State(credentials): State<Shared>, bytes: Bytes) -> Response {
    let result = async {
        let object = body(&bytes)?;
        let options = verify_options(&object)?;
        match object.get("verifiableCredential") {
            Some(Value::String(sd_jwt)) => {
                if options.nonce.is_some() || options.aud.is_some() || !sd_jwt.ends_with('~') {
                    return Err(Error::Malformed {
                        what: "verifiableCredential",
                        reason: "a presentation with key binding goes to /v1/presentations/verify"
                            .into(),
                    });
                }
                credentials.verify_sd_jwt(sd_jwt, &options)
            }
            Some(credential @ Value::Object(_)) => {
                credentials.verify_vc(credential, &options).await
            }
            _ => Err(Error::Malformed {
                what: "verifiableCredential",
                reason: "an SD-JWT string or a VC 2.0 object".into(),
            }),
        }
    }
    .await;
    verification_response(result)
}

#[utoipa::path(post, path = "/v1/presentations/verify", tag = "credentials", summary = "VC-API verify a presentation", request_body(content = Object, content_type = "application/json", description = "{verifiablePresentation, options: {challenge, domain}}"), responses((status = 200, description = "{checks, warnings, errors}", body = Object), (status = 400, description = "not valid")))]
async fn verify_presentation(State(credentials): State<Shared>, bytes: Bytes) -> Response {
    let result = (|| {
        let object = body(&bytes)?;
        let options = verify_options(&object)?;
        if options.nonce.is_none() || options.aud.is_none() {
            return Err(Error::Binding {
                reason: "options.challenge and options.domain are required".into(),
            });
        }
        match object.get("verifiablePresentation") {
            Some(Value::String(presentation)) => credentials.verify_sd_jwt(presentation, &options),
            _ => Err(Error::Malformed {
                what: "verifiablePresentation",
                reason: "an SD-JWT presentation with a key-binding JWT".into(),
            }),
        }
    })();
    verification_response(result)
}

fn cached(content_type: &'static str, body: String) -> Response {
    let etag = format!("\"{}\"", &crate::sdjwt::digest(&body)[..22]);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={}", STATUS_LIST_TTL_SECONDS / 2))
            .expect("ASCII"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[utoipa::path(get, path = "/v1/credentials/status-lists/{issuer}/{list}", tag = "credentials", summary = "IETF Token Status List (statuslist+jwt)", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)"), ("list" = String, Path, description = "list number")), responses((status = 200, description = "the status list token", content_type = "application/statuslist+jwt", body = String), (status = 404, description = "unknown list")))]
async fn token_status_list(
    State(credentials): State<Shared>,
    Path((issuer, list)): Path<(String, u32)>,
) -> Result<Response, ApiError> {
    let jwt = credentials.token_status_list(&issuer, list)?;
    Ok(cached("application/statuslist+jwt", jwt))
}

#[utoipa::path(get, path = "/v1/credentials/status-lists/{issuer}/{list}/{purpose}", tag = "credentials", summary = "W3C Bitstring Status List credential", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)"), ("list" = String, Path, description = "list number"), ("purpose" = String, Path, description = "revocation or suspension")), responses((status = 200, description = "the status list credential", body = Object), (status = 404, description = "unknown list")))]
async fn bitstring_status_list(
    State(credentials): State<Shared>,
    Path((issuer, list, purpose)): Path<(String, u32, String)>,
) -> Result<Response, ApiError> {
    let purpose = match purpose.as_str() {
        "revocation" => Purpose::Revocation,
        "suspension" => Purpose::Suspension,
        _ => {
            return Err(Error::NotFound {
                what: format!("status purpose {purpose}"),
            }
            .into())
        }
    };
    let document = credentials
        .bitstring_status_list(&issuer, list, purpose)
        .await?;
    Ok(cached("application/vc+ld+json", document.to_string()))
}

#[utoipa::path(get, path = "/v1/credentials/types", tag = "credentials", summary = "The credential types", responses((status = 200, description = "types", body = Object)))]
async fn list_types() -> Json<Value> {
    let list: Vec<Value> = types::TYPES
        .iter()
        .map(|t| json!({"name": t.name, "vct": t.vct, "type": t.vc_type, "display": t.display, "validityDaysMax": t.validity_days_max}))
        .collect();
    Json(json!({"types": list}))
}

fn find_type(name: &str) -> Result<&'static types::CredentialType, Error> {
    types::find(name).ok_or_else(|| Error::NotFound {
        what: format!("credential type {name}"),
    })
}

#[utoipa::path(get, path = "/v1/credentials/types/{name}", tag = "credentials", summary = "SD-JWT VC type metadata", params(("name" = String, Path, description = "type name")), responses((status = 200, description = "type metadata", body = Object), (status = 404, description = "unknown type")))]
async fn type_metadata(Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(find_type(&name)?.metadata()))
}

#[utoipa::path(get, path = "/v1/credentials/types/{name}/schema", tag = "credentials", summary = "A type's JSON Schema", params(("name" = String, Path, description = "type name")), responses((status = 200, description = "JSON Schema", body = Object), (status = 404, description = "unknown type")))]
async fn type_schema(Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(find_type(&name)?.schema().clone()))
}

#[utoipa::path(get, path = "/v1/credentials/issuers", tag = "credentials", summary = "The issuers, their did:web DIDs and types", responses((status = 200, description = "issuers", body = Object)))]
async fn list_issuers(State(credentials): State<Shared>) -> Json<Value> {
    let list: Vec<Value> = credentials
        .issuers()
        .iter()
        .map(|issuer| json!({"id": issuer.id, "name": issuer.name, "did": issuer.did, "types": issuer.types.iter().map(|t| t.name).collect::<Vec<_>>()}))
        .collect();
    Json(json!({"issuers": list}))
}

#[utoipa::path(get, path = "/issuers/{issuer}/did.json", tag = "credentials", summary = "An issuer's did:web document", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), responses((status = 200, description = "the DID document", body = Object), (status = 404, description = "unknown issuer")))]
async fn did_document(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let issuer = credentials.issuer(&issuer).ok_or_else(|| Error::NotFound {
        what: format!("issuer {issuer}"),
    })?;
    Ok(Json(issuer.document()))
}

#[utoipa::path(get, path = "/contexts/credentials/v1", tag = "credentials", summary = "Sigillo's JSON-LD context", responses((status = 200, description = "the context", content_type = "application/ld+json", body = String)))]
async fn context() -> Response {
    let mut response = types::CONTEXT.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    response
}

impl IntoResponse for oid4vci::ProtocolError {
    fn into_response(self) -> Response {
        let status = if self.unauthorized {
            StatusCode::UNAUTHORIZED
        } else if self.code == "server_error" {
            tracing::error!(error = %self.description, "OpenID4VCI request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = (
            status,
            Json(json!({"error": self.code, "error_description": self.description})),
        )
            .into_response();
        no_store(&mut response);
        if self.unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn issuer_named<'a>(credentials: &'a Credentials, id: &str) -> Result<&'a Issuer, Error> {
    credentials.issuer(id).ok_or_else(|| Error::NotFound {
        what: format!("issuer {id}"),
    })
}

#[utoipa::path(post, path = "/v1/oid4vci/offers", tag = "oid4vci", summary = "An OpenID4VCI credential offer (pre-authorized code, tx_code)", request_body(content = Object, content_type = "application/json", description = "{credential_type, claims, tx_code?}"), responses((status = 201, description = "{offer_uri, offer_uri_by_reference, tx_code}", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on")), security(("bearer" = [])))]
async fn create_offer(
    State(credentials): State<Shared>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let issuer = authenticate(&credentials, &headers)?;
    let object = body(&bytes)?;
    let credential_type = string(&object, "credential_type")?.ok_or(Error::Malformed {
        what: "credential_type",
        reason: "missing".into(),
    })?;
    let claims = object
        .get("claims")
        .and_then(Value::as_object)
        .cloned()
        .ok_or(Error::Malformed {
            what: "claims",
            reason: "must be an object".into(),
        })?;
    let tx_code = match object.get("tx_code") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(Error::Malformed {
                what: "tx_code",
                reason: "must be a boolean".into(),
            }
            .into())
        }
    };
    let format = match string(&object, "format")? {
        None => oid4vci::Format::SdJwt,
        Some(name) => oid4vci::Format::from_name(name).ok_or_else(|| Error::Malformed {
            what: "format",
            reason: "dc+sd-jwt or ldp_vc".into(),
        })?,
    };
    let created = oid4vci::create_offer(
        &credentials,
        issuer,
        credential_type,
        claims,
        format,
        tx_code,
    )?;
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "credential_offer": created.offer,
            "offer_uri": created.by_value,
            "offer_uri_by_reference": created.by_reference,
            "tx_code": created.tx_code,
            "expires_at": created.expires_at,
        })),
    )
        .into_response();
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(get, path = "/.well-known/openid-credential-issuer/issuers/{issuer}", tag = "oid4vci", summary = "OpenID4VCI credential issuer metadata", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), responses((status = 200, description = "metadata", body = Object), (status = 404, description = "unknown issuer")))]
async fn issuer_metadata(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let issuer = issuer_named(&credentials, &issuer)?;
    Ok(Json(oid4vci::metadata(&credentials, issuer)))
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server/issuers/{issuer}", tag = "oid4vci", summary = "RFC 8414 authorization server metadata", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), responses((status = 200, description = "metadata", body = Object), (status = 404, description = "unknown issuer")))]
async fn authorization_server_metadata(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let issuer = issuer_named(&credentials, &issuer)?;
    Ok(Json(oid4vci::authorization_server_metadata(
        &credentials,
        issuer,
    )))
}

#[utoipa::path(get, path = "/issuers/{issuer}/offers/{offer}", tag = "oid4vci", summary = "A credential offer by reference", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)"), ("offer" = String, Path, description = "offer id")), responses((status = 200, description = "the offer", body = Object), (status = 404, description = "unknown or expired")))]
async fn offer_document(
    State(credentials): State<Shared>,
    Path((issuer, offer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let offer = oid4vci::offer_document(&credentials, &issuer, &offer)?;
    let mut response = Json(offer).into_response();
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(post, path = "/issuers/{issuer}/token", tag = "oid4vci", summary = "OAuth token endpoint: pre-authorized code and tx_code for an access token", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), request_body(content = Vec<u8>, content_type = "application/x-www-form-urlencoded", description = "grant_type, pre-authorized_code, tx_code"), responses((status = 200, description = "{access_token, token_type, expires_in}", body = Object), (status = 400, description = "invalid_grant and the other RFC 6749 errors")))]
async fn token(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let result = (|| {
        let issuer = issuer_named(&credentials, &issuer)?;
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !form_type.starts_with("application/x-www-form-urlencoded") {
            return Err(oid4vci::ProtocolError {
                code: "invalid_request",
                description: "the token request is application/x-www-form-urlencoded".into(),
                unauthorized: false,
            });
        }
        let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        oid4vci::token(&credentials, issuer, &form)
    })();
    match result {
        Ok(token) => {
            let mut response = Json(token).into_response();
            no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

#[utoipa::path(post, path = "/issuers/{issuer}/nonce", tag = "oid4vci", summary = "A fresh c_nonce", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), responses((status = 200, description = "{c_nonce}", body = Object), (status = 404, description = "unknown issuer")))]
async fn nonce(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
) -> Result<Response, ApiError> {
    issuer_named(&credentials, &issuer)?;
    let mut response = Json(oid4vci::nonce(&credentials)?).into_response();
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(post, path = "/issuers/{issuer}/credential", tag = "oid4vci", summary = "OpenID4VCI credential endpoint: access token and key proof", params(("issuer" = String, Path, description = "issuer id (comune-milano, inps, ...)")), request_body(content = Object, content_type = "application/json", description = "{credential_configuration_id, proofs}"), responses((status = 200, description = "{credentials}", body = Object), (status = 400, description = "invalid_proof and the other OpenID4VCI errors"), (status = 401, description = "invalid_token")), security(("bearer" = [])))]
async fn credential_endpoint(
    State(credentials): State<Shared>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let result = async {
        let issuer = issuer_named(&credentials, &issuer)?;
        let access_token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let request = body(&bytes)?;
        oid4vci::credential(&credentials, issuer, access_token, &request).await
    }
    .await;
    match result {
        Ok(issued) => {
            let mut response = Json(issued).into_response();
            no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The calls (bandi) and their OpenID4VP endpoints, as a plain axum router.
pub fn calls_router(calls: Arc<crate::oid4vp::Calls>) -> Router {
    calls_api(calls).into()
}

/// The calls (bandi) and their OpenID4VP endpoints, with their OpenAPI description.
pub fn calls_api(calls: Arc<crate::oid4vp::Calls>) -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(publish_call))
        .routes(routes!(get_call))
        .routes(routes!(new_request))
        .routes(routes!(request_object))
        .routes(routes!(call_response))
        .routes(routes!(get_application))
        .routes(routes!(application_receipts))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(calls)
}

type SharedCalls = Arc<crate::oid4vp::Calls>;

#[utoipa::path(post, path = "/v1/calls", tag = "calls", summary = "Publish a call (bando) as the caller issuer: DCQL query and rules", request_body(content = Object, content_type = "application/json", description = "{title, dcql_query, rules, issuers}"), responses((status = 201, description = "the call", body = Object), (status = 400, description = "malformed input: JSON {code, message}"), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not an issuer, or a type or record it may not act on")), security(("bearer" = [])))]
async fn publish_call(
    State(calls): State<SharedCalls>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let publisher = authenticate(calls.credentials(), &headers)?;
    let call = calls.publish(publisher, body(&bytes)?)?;
    Ok((StatusCode::CREATED, Json(call)).into_response())
}

#[utoipa::path(get, path = "/v1/calls/{call}", tag = "calls", summary = "A call", params(("call" = String, Path, description = "call id")), responses((status = 200, description = "the call", body = Object), (status = 404, description = "unknown call")))]
async fn get_call(
    State(calls): State<SharedCalls>,
    Path(call): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(calls.call(&call)?))
}

#[utoipa::path(post, path = "/v1/calls/{call}/requests", tag = "calls", summary = "A fresh OpenID4VP authorization request", params(("call" = String, Path, description = "call id")), responses((status = 201, description = "{request_uri, request_uri_by_reference, state, expires_at}", body = Object), (status = 404, description = "unknown call")))]
async fn new_request(
    State(calls): State<SharedCalls>,
    Path(call): Path<String>,
) -> Result<Response, ApiError> {
    let request = calls.request(&call)?;
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "request_uri": request.by_value,
            "request_uri_by_reference": request.by_reference,
            "state": request.state,
            "expires_at": request.expires_at,
        })),
    )
        .into_response();
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(get, path = "/v1/calls/{call}/requests/{state}", tag = "calls", summary = "The signed request object (request_uri)", params(("call" = String, Path, description = "call id"), ("state" = String, Path, description = "request state")), responses((status = 200, description = "the JWT", content_type = "application/oauth-authz-req+jwt", body = String), (status = 404, description = "unknown or expired")))]
async fn request_object(
    State(calls): State<SharedCalls>,
    Path((call, state)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let jwt = calls.request_object(&call, &state)?;
    let mut response = jwt.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/oauth-authz-req+jwt"),
    );
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(post, path = "/v1/calls/{call}/response", tag = "calls", summary = "OpenID4VP direct_post: the holder's vp_token", params(("call" = String, Path, description = "call id")), request_body(content = Vec<u8>, content_type = "application/x-www-form-urlencoded", description = "vp_token, state"), responses((status = 200, description = "the application and its outcome", body = Object), (status = 400, description = "a presentation that does not verify or does not answer the request")))]
async fn call_response(
    State(calls): State<SharedCalls>,
    Path(call): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let field = |name: &'static str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or(Error::Malformed {
                what: name,
                reason: "missing from the direct_post body".into(),
            })
    };
    let application = calls
        .respond(&call, field("vp_token")?, field("state")?)
        .await?;
    let mut response = Json(application).into_response();
    no_store(&mut response);
    Ok(response)
}

#[utoipa::path(get, path = "/v1/applications/{id}", tag = "calls", summary = "An application (the call's publisher)", params(("id" = String, Path, description = "application id")), responses((status = 200, description = "the application", body = Object), (status = 401, description = "no or unknown bearer token"), (status = 403, description = "not the call's publisher"), (status = 404, description = "unknown")), security(("bearer" = [])))]
async fn get_application(
    State(calls): State<SharedCalls>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = authenticate(calls.credentials(), &headers)?;
    let application = calls.application(&id)?;
    let call = calls.call(application["call"].as_str().unwrap_or_default())?;
    if call["publisher"] != caller.id.as_str() {
        return Err(Error::Forbidden {
            reason: "only the call's publisher reads its applications".into(),
        }
        .into());
    }
    Ok(Json(application))
}

#[utoipa::path(get, path = "/v1/applications/{id}/receipts", tag = "calls", summary = "An application's hashes and notary receipts", params(("id" = String, Path, description = "application id")), responses((status = 200, description = "receipts", body = Object), (status = 202, description = "stamp pending"), (status = 404, description = "unknown")))]
async fn application_receipts(
    State(calls): State<SharedCalls>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(match calls.receipts(&id)? {
        Some(receipts) => Json(receipts).into_response(),
        None => (
            StatusCode::ACCEPTED,
            Json(json!({"application_id": id, "status": "stamp pending"})),
        )
            .into_response(),
    })
}
