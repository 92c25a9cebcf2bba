//! The registry client: a deadline per registry, retries with exponential backoff and full
//! jitter, a circuit breaker, bounded concurrency, and a check of every answer's signature
//! before it is used. It never fails an application: whatever goes wrong ends as an
//! [`Exchange`] with a `failure`, and the facts that needed it as undetermined.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use tokio::sync::Semaphore;
use wallet::jose::PublicKey;

use crate::evidence::{self, Answer, Exchange, Request};
use crate::registries::{Registry, CLIENT_HEADER, DIGEST_HEADER, PURPOSE_HEADER, SIGNATURE_HEADER};

/// The largest registry answer read, in bytes.
pub const ANSWER_BYTES_MAX: usize = 64 * 1024;

/// How the client treats the registries.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The registries' base URL (`http://host:port`).
    pub base_url: String,
    /// Our name, sent in `Client-Id` (the `aud` of the answers).
    pub client_id: String,
    /// Time from the first attempt after which a registry counts as unavailable.
    pub deadline: Duration,
    /// The longest one attempt may take.
    pub attempt_timeout: Duration,
    /// Attempts per request.
    pub attempts_max: u32,
    /// Backoff before the second attempt; it doubles after each failure (with full jitter).
    pub backoff_base: Duration,
    /// Requests in flight per registry; more wait (within the deadline).
    pub concurrency_per_registry: usize,
    /// Consecutive failures that open a registry's circuit.
    pub breaker_failures: u32,
    /// How long an open circuit fails requests at once before letting one probe through.
    pub breaker_open: Duration,
}

impl ClientConfig {
    /// The defaults: 2 s deadline, 800 ms attempts, 3 attempts from 25 ms backoff, 256 in
    /// flight per registry, the circuit open after 20 failures in a row for 5 s.
    pub fn new(base_url: &str) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id: "sigillo".into(),
            deadline: Duration::from_millis(2_000),
            attempt_timeout: Duration::from_millis(800),
            attempts_max: 3,
            backoff_base: Duration::from_millis(25),
            concurrency_per_registry: 256,
            breaker_failures: 20,
            breaker_open: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    /// A probe is in flight while half-open.
    probing: bool,
}

struct RegistryState {
    permits: Semaphore,
    breaker: Mutex<Breaker>,
    requests: AtomicU64,
    failures: AtomicU64,
}

/// A registry's health, for metrics and `GET /v1/eligibility/registries`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// The registry.
    pub registry: &'static str,
    /// `closed`, `open` or `half_open`.
    pub circuit: &'static str,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Requests made (attempts).
    pub requests: u64,
    /// Attempts that failed.
    pub failures: u64,
}

/// The client.
pub struct RegistryClient {
    http: reqwest::Client,
    config: ClientConfig,
    keys: HashMap<Registry, PublicKey>,
    states: HashMap<Registry, RegistryState>,
}

enum Attempt {
    /// A verified answer.
    Answered(Exchange, Answer),
    /// Worth another attempt.
    Retry(String),
    /// Not worth another attempt.
    Fail(String),
}

impl RegistryClient {
    /// A client trusting `keys` (every registry's).
    pub fn new(config: ClientConfig, keys: HashMap<Registry, PublicKey>) -> RegistryClient {
        let states = Registry::ALL
            .iter()
            .map(|&registry| {
                (
                    registry,
                    RegistryState {
                        permits: Semaphore::new(config.concurrency_per_registry),
                        breaker: Mutex::new(Breaker::default()),
                        requests: AtomicU64::new(0),
                        failures: AtomicU64::new(0),
                    },
                )
            })
            .collect();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1_024)
            .tcp_nodelay(true)
            .build()
            .expect("a reqwest client with these settings builds");
        RegistryClient {
            http,
            config,
            keys,
            states,
        }
    }

    /// The trusted keys.
    pub fn keys(&self) -> &HashMap<Registry, PublicKey> {
        &self.keys
    }

    /// Each registry's health.
    pub fn health(&self) -> Vec<Health> {
        Registry::ALL
            .iter()
            .map(|registry| {
                let state = &self.states[registry];
                let breaker = state
                    .breaker
                    .lock()
                    .expect("the breaker lock is never poisoned");
                let circuit = match breaker.open_until {
                    None => "closed",
                    Some(until) if until > Instant::now() => "open",
                    Some(_) => "half_open",
                };
                Health {
                    registry: registry.id(),
                    circuit,
                    consecutive_failures: breaker.consecutive_failures,
                    requests: state.requests.load(Ordering::Relaxed),
                    failures: state.failures.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Makes `request` for `purpose` within the registry's deadline. Never fails: a request
    /// that gets no verified answer ends as an exchange with a `failure`.
    pub async fn fetch(&self, request: &Request, purpose: &str) -> (Exchange, Answer) {
        let started = Instant::now();
        let deadline = started + self.config.deadline;
        let state = &self.states[&request.registry];
        let failed = |reason: String, attempts: u32| {
            let exchange = Exchange {
                registry: request.registry.id().to_owned(),
                request: request.path.clone(),
                purpose: purpose.to_owned(),
                status: None,
                body: None,
                digest: None,
                signature: None,
                failure: Some(reason.clone()),
                attempts,
                elapsed_ms: started.elapsed().as_millis() as u64,
            };
            let answer =
                Answer::Unavailable(format!("{} unavailable: {reason}", request.registry.id()));
            (exchange, answer)
        };
        let permit = match tokio::time::timeout_at(deadline.into(), state.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return failed("too many requests waiting for it".into(), 0),
        };
        let mut attempts = 0;
        let mut last = String::from("no attempt made");
        while attempts < self.config.attempts_max {
            if !self.admit(state) {
                last = "circuit open after repeated failures".into();
                break;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            attempts += 1;
            state.requests.fetch_add(1, Ordering::Relaxed);
            let timeout = remaining.min(self.config.attempt_timeout);
            let outcome = match tokio::time::timeout(timeout, self.attempt(request, purpose)).await
            {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Retry(format!("no answer within {} ms", timeout.as_millis())),
            };
            match outcome {
                Attempt::Answered(mut exchange, answer) => {
                    self.record(state, true);
                    drop(permit);
                    exchange.attempts = attempts;
                    exchange.elapsed_ms = started.elapsed().as_millis() as u64;
                    return (exchange, answer);
                }
                Attempt::Fail(reason) => {
                    self.record(state, false);
                    last = reason;
                    break;
                }
                Attempt::Retry(reason) => {
                    self.record(state, false);
                    last = reason;
                }
            }
            if attempts < self.config.attempts_max {
                let ceiling = self.config.backoff_base * 2u32.pow(attempts - 1);
                let pause = rand::thread_rng().gen_range(Duration::ZERO..=ceiling);
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(pause.min(remaining)).await;
            }
        }
        drop(permit);
        failed(
            format!(
                "{last} ({attempts} attempts in {} ms)",
                started.elapsed().as_millis()
            ),
            attempts,
        )
    }

    /// Whether the circuit lets a request through; half-open lets one probe at a time.
    fn admit(&self, state: &RegistryState) -> bool {
        let mut breaker = state
            .breaker
            .lock()
            .expect("the breaker lock is never poisoned");
        match breaker.open_until {
            None => true,
            Some(until) if until > Instant::now() => false,
            Some(_) if breaker.probing => false,
            Some(_) => {
                breaker.probing = true;
                true
            }
        }
    }

    fn record(&self, state: &RegistryState, success: bool) {
        let mut breaker = state
            .breaker
            .lock()
            .expect("the breaker lock is never poisoned");
        breaker.probing = false;
        if success {
            breaker.consecutive_failures = 0;
            breaker.open_until = None;
            return;
        }
        state.failures.fetch_add(1, Ordering::Relaxed);
        breaker.consecutive_failures += 1;
        if breaker.consecutive_failures >= self.config.breaker_failures
            || breaker.open_until.is_some()
        {
            breaker.open_until = Some(Instant::now() + self.config.breaker_open);
        }
    }

    async fn attempt(&self, request: &Request, purpose: &str) -> Attempt {
        let url = format!("{}{}", self.config.base_url, request.path);
        let response = match self
            .http
            .get(&url)
            .header(PURPOSE_HEADER, purpose)
            .header(CLIENT_HEADER, &self.config.client_id)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Retry(format!("request failed: {}", without_url(&error)))
            }
        };
        let status = response.status().as_u16();
        if status >= 500 || status == 429 {
            return Attempt::Retry(format!("answered {status}"));
        }
        if status != 200 && status != 404 {
            return Attempt::Fail(format!("refused the request with {status}"));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let (digest, signature) = (header(DIGEST_HEADER), header(SIGNATURE_HEADER));
        let body = match read_limited(response).await {
            Ok(body) => body,
            Err(reason) => return Attempt::Retry(reason),
        };
        let exchange = Exchange {
            registry: request.registry.id().to_owned(),
            request: request.path.clone(),
            purpose: purpose.to_owned(),
            status: Some(status),
            body: Some(body),
            digest,
            signature,
            failure: None,
            attempts: 0,
            elapsed_ms: 0,
        };
        match evidence::verify(&exchange, &self.keys) {
            Ok(answer) => Attempt::Answered(exchange, answer),
            // An answer that does not verify is never used; the registry may have rotated its
            // key or something sits in between: an operator must look.
            Err(error) => Attempt::Fail(format!("the answer does not verify: {error}")),
        }
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| format!("reading the answer: {}", without_url(&error)))?
    {
        if body.len() + chunk.len() > ANSWER_BYTES_MAX {
            return Err(format!("the answer is over {ANSWER_BYTES_MAX} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8".into())
}

/// The error without its URL (which holds a fiscal code).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "connection refused or reset"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "transport error"
    };
    kind.to_owned()
}
