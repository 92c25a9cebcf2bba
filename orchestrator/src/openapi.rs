//! The service's OpenAPI 3.1 document at `/openapi.json`. Every module builds its routes with
//! `utoipa_axum::routes!`, which registers a handler and its `#[utoipa::path]` description
//! together, so the document lists exactly the routes that answer; `sigillo serve` adds the
//! title, the server and the security schemes here. CI checks it against the running service
//! (`tests/openapi_e2e.rs`).

use std::sync::OnceLock;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use notary::http::ApiRouter;
use serde_json::json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Components, InfoBuilder, LicenseBuilder, OpenApi, Server};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document, serialised once at start.
static DOCUMENT: OnceLock<String> = OnceLock::new();

/// `GET /openapi.json`.
pub fn router() -> ApiRouter {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations", summary = "This OpenAPI 3.1 document", responses((status = 200, description = "the document", body = Object)))]
async fn openapi_json() -> Response {
    match DOCUMENT.get() {
        Some(text) => ([(header::CONTENT_TYPE, "application/json")], text.clone()).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Completes the routes' `document` (title, server, security schemes, tags) and serves it.
pub fn publish(mut document: OpenApi, public_url: &str) -> anyhow::Result<()> {
    document.info = InfoBuilder::new()
        .title("Sigillo")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Notarisation (a verifiable timestamping log and an RFC 3161 TSA), verifiable \
             credentials and wallets (SD-JWT VC, VC 2.0, OpenID4VCI, OpenID4VP), a \
             closed-circuit token ledger and eligibility decisions from public registries, \
             for public bodies. Who may call what: docs/access.md.",
        ))
        .license(Some(LicenseBuilder::new().name("EUPL-1.2").build()))
        .build();
    document.servers = Some(vec![Server::new(public_url.trim_end_matches('/'))]);
    let components = document.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token from the service's store (sigillo tokens create): its role and \
                     scope decide (docs/access.md)",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some("A hosted wallet's id and passphrase"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "signed_read",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "Sigillo-Signature participant=\"…\",time=\"…\",signature=\"…\": a ledger \
             participant signs the path and the time (docs/token-formats.md)",
        ))),
    );
    document.tags = Some(
        [
            (
                "notary",
                "Entries, receipts, checkpoints and proofs of the timestamping log",
            ),
            ("tsa", "The RFC 3161 time-stamp authority"),
            ("anchors", "Anchoring checkpoints on an EVM chain"),
            ("token", "The closed-circuit token ledger"),
            (
                "credentials",
                "Issuance, status and verification of credentials",
            ),
            ("oid4vci", "OpenID for Verifiable Credential Issuance"),
            ("calls", "Calls (bandi) answered over OpenID4VP"),
            ("wallets", "Hosted wallets"),
            (
                "eligibility",
                "Decisions from the registries, reviews and evidence",
            ),
            ("operations", "Health, readiness, metrics and this document"),
        ]
        .into_iter()
        .map(|(name, description)| {
            TagBuilder::new()
                .name(name)
                .description(Some(description))
                .build()
        })
        .collect(),
    );
    let text = document.to_pretty_json()?;
    DOCUMENT
        .set(text)
        .map_err(|_| anyhow::anyhow!("the OpenAPI document is published once"))?;
    Ok(())
}

/// The answer to a path no route has: JSON, pointing at the document.
pub async fn no_route(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "code": "no_route",
            "message": format!("no route for {}; the API is described at /openapi.json", uri.path()),
        })),
    )
        .into_response()
}
