//! `/healthz`, `/readyz` and Prometheus `/metrics` for the composed service.
//!
//! Every request is counted by method, route (the matched route pattern, so ids do not make
//! new series) and status, and timed by route. The notary's block count and queue depth, the
//! token journal's length, each registry's circuit and attempts, and the anchors pending are
//! read at each scrape.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use notary::http::ApiRouter;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: Cow<'static, str>,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

/// The matched route pattern, or `unmatched`; shares the router's string, so that counting a
/// request copies none.
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The method's name, borrowed for the standard ones.
fn method_name(method: &Method) -> Cow<'static, str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    let name = method.as_str();
    STANDARD
        .iter()
        .find(|standard| **standard == name)
        .map_or_else(
            || Cow::Owned(name.to_owned()),
            |standard| Cow::Borrowed(*standard),
        )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistryLabels {
    registry: String,
}

/// The optional parts the metrics also read.
#[derive(Default)]
pub struct Sources {
    /// The eligibility service: registry health.
    pub eligibility: Option<Arc<orchestrator::eligibility::Eligibility>>,
    /// The anchorer: anchors pending.
    pub anchorer: Option<Arc<notary::anchor::Anchorer>>,
}

/// Anchor records looked at for the pending count (the newest ones).
const ANCHOR_RECORDS_SCANNED: usize = 64;

/// The service's metrics and what they read.
pub struct Observability {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    notary_blocks: Gauge,
    notary_queue: Gauge,
    token_journal: Gauge,
    registry_open: Family<RegistryLabels, Gauge>,
    registry_attempts: Family<RegistryLabels, Counter>,
    registry_failures: Family<RegistryLabels, Counter>,
    anchors_submitted: Gauge,
    anchored_blocks: Gauge,
    notary: notary::Notary,
    ledger: token::Ledger,
    sources: Sources,
}

impl Observability {
    /// Metrics over the notary, the token ledger and `sources`.
    pub fn new(notary: notary::Notary, ledger: token::Ledger, sources: Sources) -> Self {
        let mut registry = Registry::with_prefix("sigillo");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            durations.clone(),
        );
        let notary_blocks = Gauge::default();
        registry.register(
            "notary_blocks",
            "Blocks in the notary's log",
            notary_blocks.clone(),
        );
        let notary_queue = Gauge::default();
        registry.register(
            "notary_queue_entries",
            "Entries waiting for the next notary block",
            notary_queue.clone(),
        );
        let token_journal = Gauge::default();
        registry.register(
            "token_journal_entries",
            "Entries in the token ledger's journal",
            token_journal.clone(),
        );
        let registry_open = Family::<RegistryLabels, Gauge>::default();
        registry.register(
            "registry_circuit_open",
            "1 while the circuit to a registry is open (requests fail at once)",
            registry_open.clone(),
        );
        let registry_attempts = Family::<RegistryLabels, Counter>::default();
        registry.register(
            "registry_attempts",
            "Requests (attempts) made to a registry",
            registry_attempts.clone(),
        );
        let registry_failures = Family::<RegistryLabels, Counter>::default();
        registry.register(
            "registry_failed_attempts",
            "Attempts to a registry that failed (error, timeout, bad signature)",
            registry_failures.clone(),
        );
        let anchors_submitted = Gauge::default();
        registry.register(
            "anchors_pending",
            "Anchor transactions sent and not yet confirmed",
            anchors_submitted.clone(),
        );
        let anchored_blocks = Gauge::default();
        registry.register(
            "anchored_blocks",
            "The log size of the newest confirmed anchor",
            anchored_blocks.clone(),
        );
        Observability {
            registry,
            requests,
            durations,
            notary_blocks,
            notary_queue,
            token_journal,
            registry_open,
            registry_attempts,
            registry_failures,
            anchors_submitted,
            anchored_blocks,
            notary,
            ledger,
            sources,
        }
    }

    fn render(&self) -> String {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.notary_blocks.set(clamp(self.notary.size()));
        self.notary_queue
            .set(clamp(self.notary.queue_entries() as u64));
        self.token_journal.set(clamp(self.ledger.head().length));
        if let Some(eligibility) = &self.sources.eligibility {
            for health in eligibility.client().health() {
                let labels = RegistryLabels {
                    registry: health.registry.to_owned(),
                };
                self.registry_open
                    .get_or_create(&labels)
                    .set(i64::from(health.circuit == "open"));
                // Counters follow the client's totals.
                let attempts = self.registry_attempts.get_or_create(&labels);
                attempts.inc_by(health.requests.saturating_sub(attempts.get()));
                let failures = self.registry_failures.get_or_create(&labels);
                failures.inc_by(health.failures.saturating_sub(failures.get()));
            }
        }
        if let Some(anchorer) = &self.sources.anchorer {
            use notary::anchor::AnchorState;
            let records = anchorer.records(ANCHOR_RECORDS_SCANNED);
            let pending = records
                .iter()
                .filter(|r| r.state == AnchorState::Submitted)
                .count();
            self.anchors_submitted.set(pending as i64);
            let anchored = records
                .iter()
                .rev()
                .find(|r| r.state == AnchorState::Confirmed)
                .map_or(0, |r| r.size);
            self.anchored_blocks.set(clamp(anchored));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// Counts and times every request: the outermost layer of the service's stack, so that
/// refusals by the layers under it are counted too. A plain tower layer rather than
/// `middleware::from_fn`, which boxes the future and clones the whole stack below it on every
/// request.
#[derive(Clone)]
pub struct TrackLayer(pub Arc<Observability>);

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            observability: Arc::clone(&self.0),
        }
    }
}

/// The service of [`TrackLayer`].
#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    observability: Arc<Observability>,
}

impl<S, B> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = axum::http::Response<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = method_name(request.method());
        let route = Route(request.extensions().get::<MatchedPath>().cloned());
        TrackFuture {
            inner: self.inner.call(request),
            started: Instant::now(),
            labels: Some((method, route)),
            observability: Arc::clone(&self.observability),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Track`]: the inner answer, counted when it is ready.
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        labels: Option<(Cow<'static, str>, Route)>,
        observability: Arc<Observability>,
    }
}

impl<F, B, E> std::future::Future for TrackFuture<F>
where
    F: std::future::Future<Output = Result<axum::http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let outcome = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some((method, route))) = (&outcome, this.labels.take()) {
            this.observability
                .count(method, route, response.status(), this.started.elapsed());
        }
        std::task::Poll::Ready(outcome)
    }
}

impl Observability {
    fn count(
        &self,
        method: Cow<'static, str>,
        route: Route,
        status: StatusCode,
        elapsed: std::time::Duration,
    ) {
        let status = status.as_u16();
        // One structured event per request (RUST_LOG=debug); the route pattern, never the
        // path, so no fiscal code or id reaches the logs.
        tracing::debug!(%method, route = route.as_str(), status, micros = elapsed.as_micros() as u64, "request");
        if status >= 500 {
            tracing::warn!(%method, route = route.as_str(), status, "request failed");
        }
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
    }
}

/// `/healthz`, `/readyz`, `/metrics`.
pub fn router(observability: Arc<Observability>) -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .with_state(observability)
}

#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "Alive", responses((status = 200, description = "{status: ok}", body = Object)))]
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Ready: 503 once the notary stopped after a storage failure", responses((status = 200, description = "{status: ready}", body = Object), (status = 503, description = "not ready")))]
async fn ready(State(observability): State<Arc<Observability>>) -> Response {
    if observability.notary.failed() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": "the notary stopped after a storage failure"})),
        )
            .into_response()
    } else {
        Json(json!({"status": "ready"})).into_response()
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics (text format)", responses((status = 200, description = "metrics", content_type = "text/plain", body = String)))]
async fn metrics(State(observability): State<Arc<Observability>>) -> Response {
    let mut response = observability.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
