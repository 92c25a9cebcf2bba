//! Protection for the composed service: a per-client rate limit (`governor`'s keyed GCRA
//! limiter; 429 with `Retry-After`), a request timeout, a bound on requests in flight, and CORS
//! only for the origins configured. A client is its bearer token (by hash) when it sends one,
//! else its IP address. Health, readiness and metrics are never limited.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A bearer token's SHA-256 prefix.
    Token([u8; 16]),
    /// A peer address.
    Address(IpAddr),
}

/// The peer address of a connection (`ConnectInfo` for the service's own listener).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The rate limiter.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<ClientKey>,
}

impl RateLimit {
    /// `per_second` requests a second per client, bursts of `burst`. Requires both above 0.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> RateLimit {
        RateLimit {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
        }
    }

    /// Forgets clients whose bucket is full again; call it now and then to bound memory.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Whether a path is exempt (probes and scrapes).
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The middleware: refuses with 429 and `Retry-After` (whole seconds, at least 1) a client
/// over its rate.
pub async fn limit(
    State(limit): State<Arc<RateLimit>>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    request: Request,
    next: Next,
) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let key = match request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    {
        Some(credential) => {
            let digest = Sha256::digest(credential.as_bytes());
            let mut prefix = [0u8; 16];
            prefix.copy_from_slice(&digest[..16]);
            ClientKey::Token(prefix)
        }
        None => ClientKey::Address(peer.ip()),
    };
    match limit.limiter.check_key(&key) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "error": "rate_limited",
                    "message": format!("too many requests from this client; retry in {} ms", wait.as_millis()),
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.max(1).to_string())
                    .expect("digits are a valid header"),
            );
            response
        }
    }
}

/// A CORS layer allowing exactly `origins` (each checked to be a valid origin), or `None` when
/// no origin is configured: then no CORS header is ever sent.
pub fn cors(origins: &[String]) -> anyhow::Result<Option<tower_http::cors::CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let mut allowed = Vec::with_capacity(origins.len());
    for origin in origins {
        let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin
                .trim_end_matches('/')
                .contains(|c: char| c.is_whitespace())
            && origin
                .split("://")
                .nth(1)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
        if !valid {
            anyhow::bail!("--cors-origins: {origin:?} is not an origin (scheme://host[:port])");
        }
        allowed.push(HeaderValue::from_str(origin)?);
    }
    Ok(Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::PUT,
                axum::http::Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    ))
}
