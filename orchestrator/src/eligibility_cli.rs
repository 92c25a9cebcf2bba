//! `sigillo registries` (the simulated registries), `sigillo eligibility` (check, reviews,
//! review, bench) and `sigillo replay` (a decision, offline, from its evidence).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use orchestrator::registries::{self, Fault, Registry};
use serde_json::{json, Value};

/// Longest load run allowed.
const SECONDS_MAX: u64 = 600;
/// Most concurrent clients.
const CLIENTS_MAX: usize = 1024;
/// The registries' default address.
pub const DEFAULT_REGISTRIES: &str = "127.0.0.1:8090";

#[derive(Args)]
pub struct RegistriesArgs {
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_REGISTRIES, env = "SIGILLO_REGISTRIES_LISTEN")]
    listen: String,
    /// Seed of the synthetic population and of the registries' keys.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Families (a quarter as many businesses, a fortieth as many nurseries).
    #[arg(long, default_value_t = 10_000)]
    population: usize,
    /// The day the data describes (YYYY-MM-DD).
    #[arg(long, default_value = "2025-10-01")]
    reference_date: String,
    /// Median latency added to every registry, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// A registry's faults: REGISTRY:name=value,... (latency_ms, latency_p99_ms, error_rate,
    /// timeout_rate, outage). Repeatable; overrides --latency-ms for that registry.
    #[arg(long = "fault")]
    faults: Vec<String>,
}

pub fn registries(args: RegistriesArgs) -> anyhow::Result<()> {
    if args.population == 0 || args.population > orchestrator::population::POPULATION_MAX {
        bail!(
            "--population must be 1 to {}",
            orchestrator::population::POPULATION_MAX
        );
    }
    let reference_date = time::Date::parse(
        &args.reference_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .context("--reference-date must be YYYY-MM-DD")?;
    let mut faults: HashMap<Registry, Fault> = Registry::ALL
        .iter()
        .map(|&registry| {
            let fault = Fault {
                latency_ms: args.latency_ms,
                ..Fault::default()
            };
            (registry, fault)
        })
        .collect();
    for spec in &args.faults {
        let (id, rest) = spec
            .split_once(':')
            .with_context(|| format!("--fault {spec:?}: REGISTRY:name=value,..."))?;
        let registry = Registry::from_id(id).with_context(|| {
            format!(
                "--fault: no registry {id:?} (one of {})",
                Registry::ALL.map(Registry::id).join(", ")
            )
        })?;
        let fault =
            Fault::parse(rest).map_err(|error| anyhow::anyhow!("--fault {spec:?}: {error}"))?;
        faults.insert(registry, fault);
    }
    let started = Instant::now();
    let app = registries::router(registries::Config {
        seed: args.seed,
        families: args.population,
        reference_date,
        faults,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        println!(
            "registries listening on http://{} ({} families from seed {}, made in {} ms)",
            listener.local_addr()?,
            args.population,
            args.seed,
            started.elapsed().as_millis()
        );
        println!(
            "keys: http://{}/.well-known/jwks.json",
            listener.local_addr()?
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}

#[derive(Subcommand)]
pub enum EligibilityCommand {
    /// Apply to a measure and print the decision.
    Check(CheckArgs),
    /// List the decisions waiting for an operator.
    Reviews(ServiceArgs),
    /// Resolve a pending decision (operator).
    Review(ReviewArgs),
    /// Load-test decisions over HTTP, bounded in time, with the simulator's applicants.
    Bench(BenchArgs),
}

#[derive(Args, Clone)]
pub struct ServiceArgs {
    /// The service's base URL.
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// A bearer token (platform to apply, operator to review).
    #[arg(long, env = "SIGILLO_ELIGIBILITY_TOKEN")]
    token: String,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// The measure (nidi-gratis, bando-pmi).
    #[arg(long)]
    measure: String,
    /// The applying parent's codice fiscale.
    #[arg(long)]
    cf: Option<String>,
    /// The child's codice fiscale (Nidi Gratis).
    #[arg(long)]
    child_cf: Option<String>,
    /// The applying business's partita IVA.
    #[arg(long)]
    vat: Option<String>,
    /// The day the application was filed (YYYY-MM-DD); today when absent.
    #[arg(long)]
    date: Option<String>,
    /// The family's Ed25519 key for the tokens (did:key).
    #[arg(long)]
    token_key: Option<String>,
}

#[derive(Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// The decision.
    decision: String,
    /// eligible or not_eligible.
    #[arg(long)]
    outcome: String,
    /// Why.
    #[arg(long)]
    reason: String,
    /// The monthly amount in cents, when eligible.
    #[arg(long)]
    amount_cents: Option<u64>,
}

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// The simulated registries (for the list of applicants).
    #[arg(
        long,
        default_value = "http://127.0.0.1:8090",
        env = "SIGILLO_REGISTRIES"
    )]
    registries: String,
    /// The measure.
    #[arg(long, default_value = "nidi-gratis")]
    measure: String,
    /// The application date.
    #[arg(long, default_value = "2025-10-15")]
    date: String,
    /// Concurrent clients, each with one application in flight.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Distinct applicants to cycle through.
    #[arg(long, default_value_t = 5_000)]
    applicants: usize,
}

pub fn run(command: EligibilityCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            EligibilityCommand::Check(args) => check(args).await,
            EligibilityCommand::Reviews(args) => {
                let body =
                    call(&args, reqwest::Method::GET, "/v1/eligibility/reviews", None).await?;
                println!("{}", serde_json::to_string_pretty(&body)?);
                Ok(ExitCode::SUCCESS)
            }
            EligibilityCommand::Review(args) => {
                let mut body = json!({"outcome": args.outcome, "reason": args.reason});
                if let Some(amount) = args.amount_cents {
                    body["monthly_amount_cents"] = amount.into();
                }
                let path = format!("/v1/eligibility/reviews/{}", args.decision);
                let answer = call(&args.service, reqwest::Method::POST, &path, Some(body)).await?;
                println!("{}", serde_json::to_string_pretty(&answer)?);
                Ok(ExitCode::SUCCESS)
            }
            EligibilityCommand::Bench(args) => bench(args).await.map(|()| ExitCode::SUCCESS),
        }
    })
}

async fn call(
    service: &ServiceArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", service.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(&service.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.context("the answer is not JSON")?;
    if !status.is_success() {
        bail!("{status}: {}", body["message"].as_str().unwrap_or_default());
    }
    Ok(body)
}

async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut body = json!({});
    for (name, value) in [
        ("fiscal_code", &args.cf),
        ("child_fiscal_code", &args.child_cf),
        ("vat", &args.vat),
        ("application_date", &args.date),
        ("token_key", &args.token_key),
    ] {
        if let Some(value) = value {
            body[name] = value.clone().into();
        }
    }
    let path = format!("/v1/eligibility/{}/applications", args.measure);
    let decision = call(&args.service, reqwest::Method::POST, &path, Some(body)).await?;
    println!("{}", serde_json::to_string_pretty(&decision)?);
    eprintln!(
        "decision {}: {} ({})",
        decision["decision_id"].as_str().unwrap_or_default(),
        decision["outcome"].as_str().unwrap_or_default(),
        decision["version"].as_str().unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.clients > CLIENTS_MAX {
        bail!("--clients must be 1 to {CLIENTS_MAX}");
    }
    if args.seconds == 0 || args.seconds > SECONDS_MAX {
        bail!("--seconds must be 1 to {SECONDS_MAX}");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let kind = if args.measure == "bando-pmi" {
        "business"
    } else {
        "family"
    };
    let applicants: Vec<Value> = client
        .get(format!(
            "{}/admin/applicants?kind={kind}&limit={}",
            args.registries.trim_end_matches('/'),
            args.applicants.min(10_000)
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .context("the registries' applicant list")?;
    if applicants.is_empty() {
        bail!("the registries list no applicants");
    }
    let bodies: Vec<String> = applicants
        .iter()
        .map(|applicant| {
            let mut body = applicant.clone();
            body["application_date"] = args.date.clone().into();
            body.to_string()
        })
        .collect();
    let bodies = std::sync::Arc::new(bodies);
    let url = format!(
        "{}/v1/eligibility/{}/applications",
        args.service.url.trim_end_matches('/'),
        args.measure
    );
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for client_index in 0..args.clients {
        let (client, url, token, bodies) = (
            client.clone(),
            url.clone(),
            args.service.token.clone(),
            bodies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut outcomes: HashMap<String, u64> = HashMap::new();
            let (mut automatic, mut requirements, mut errors) = (0u64, 0u64, 0u64);
            let mut first_error = None;
            let mut next = client_index;
            while Instant::now() < deadline {
                let body = bodies[next % bodies.len()].clone();
                next += CLIENTS_MAX;
                let start = Instant::now();
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        let decision: Value = response.json().await.unwrap_or_default();
                        latencies.push(start.elapsed().as_micros() as u32);
                        *outcomes
                            .entry(decision["outcome"].as_str().unwrap_or("?").to_owned())
                            .or_default() += 1;
                        for requirement in decision["requirements"].as_array().into_iter().flatten()
                        {
                            requirements += 1;
                            if requirement["status"] != "undetermined" {
                                automatic += 1;
                            }
                        }
                    }
                    Ok(response) => {
                        errors += 1;
                        first_error.get_or_insert(format!(
                            "{} {}",
                            response.status(),
                            response.text().await.unwrap_or_default()
                        ));
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error.to_string());
                    }
                }
            }
            (
                latencies,
                outcomes,
                automatic,
                requirements,
                errors,
                first_error,
            )
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut outcomes: HashMap<String, u64> = HashMap::new();
    let (mut automatic, mut requirements, mut errors) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    for task in tasks {
        let (mut l, o, a, r, e, f) = task.await?;
        latencies.append(&mut l);
        for (outcome, count) in o {
            *outcomes.entry(outcome).or_default() += count;
        }
        automatic += a;
        requirements += r;
        errors += e;
        first_error = first_error.or(f);
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    latencies.sort_unstable();
    let percentile = |p: f64| crate::credentials::percentile_ms(&latencies, p);
    println!("| measure | clients | decisions/s | p50 ms | p95 ms | p99 ms | max ms | errors | eligible | not eligible | pending | requirements automatic |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {errors} | {} | {} | {} | {:.1}% |",
        args.measure,
        args.clients,
        latencies.len() as f64 / elapsed,
        percentile(0.5),
        percentile(0.95),
        percentile(0.99),
        percentile(1.0),
        outcomes.get("eligible").copied().unwrap_or(0),
        outcomes.get("not_eligible").copied().unwrap_or(0),
        outcomes.get("pending_manual_review").copied().unwrap_or(0),
        100.0 * automatic as f64 / requirements.max(1) as f64,
    );
    if let Some(error) = first_error {
        bail!("{errors} applications failed; the first: {error}");
    }
    Ok(())
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The decision id.
    decision: String,
    /// The evidence bundle as a file (from GET /v1/eligibility/decisions/ID/evidence); fetched
    /// from --url otherwise.
    #[arg(long)]
    evidence: Option<PathBuf>,
    /// The service's base URL, when fetching the evidence.
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// A bearer token, when fetching.
    #[arg(long, env = "SIGILLO_ELIGIBILITY_TOKEN")]
    token: Option<String>,
    /// The registries' keys (a JWK Set, as served at /.well-known/jwks.json).
    #[arg(long)]
    registry_keys: PathBuf,
    /// The notary's key (its did.json or key string); the receipts are verified with it.
    #[arg(long)]
    notary_key: Option<String>,
}

/// Replays a decision; exit 0 when it replays and every signature and receipt verifies, 1
/// when it does not, 2 on usage or I/O errors.
pub fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let keys_text = std::fs::read_to_string(&args.registry_keys)
        .with_context(|| format!("reading {}", args.registry_keys.display()))?;
    let jwks: Value = serde_json::from_str(&keys_text).context("--registry-keys is not JSON")?;
    let keys = registries::keys_from_jwks(&jwks)
        .map_err(|error| anyhow::anyhow!("--registry-keys: {error}"))?;
    let notary = crate::trust::required(args.notary_key.as_deref())?;
    let bundle: Value = match &args.evidence {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .context("the evidence file is not JSON")?,
        None => {
            let token = args
                .token
                .clone()
                .context("--token (or --evidence FILE) is needed to fetch")?;
            let url = format!(
                "{}/v1/eligibility/decisions/{}/evidence",
                args.url.trim_end_matches('/'),
                args.decision
            );
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let response = reqwest::Client::new()
                    .get(&url)
                    .bearer_auth(token)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("{url}: {}", response.status());
                }
                Ok(response.json::<Value>().await?)
            })?
        }
    };
    if bundle["evidence"]["decision_id"] != args.decision.as_str() {
        eprintln!(
            "INVALID: the evidence is of decision {}, not {}",
            bundle["evidence"]["decision_id"], args.decision
        );
        return Ok(ExitCode::from(1));
    }
    let published = orchestrator::rules::Measure::built_in();
    match orchestrator::replay::replay(&bundle, &keys, Some(&notary), &published) {
        Ok(report) => {
            println!(
                "decision {} replays: {}",
                report.decision_id,
                report.outcome.as_str().unwrap_or_default()
            );
            println!(
                "  measure {} version {} (rule set {})",
                report.measure, report.version, report.rule_set_hash
            );
            println!(
                "  {} registry answers verified, {} exchanges without answer",
                report.answers_verified, report.exchanges_failed
            );
            if let Some(amount) = report.monthly_amount_cents {
                println!("  monthly amount {}.{:02} euro", amount / 100, amount % 100);
            }
            if let Some((height, time_ms)) = report.stamped {
                println!(
                    "  evidence {} notarised in block {height} at {time_ms} ms",
                    report.evidence_sha256
                );
            }
            if let Some(outcome) = report.reviewed_outcome {
                println!("  reviewed by an operator: {outcome} (review notarised)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("INVALID: {error}");
            Ok(ExitCode::from(1))
        }
    }
}
