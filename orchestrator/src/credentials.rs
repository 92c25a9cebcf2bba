//! `sigillo credentials`: the credentials' load tool. `bench` drives issuance
//! (`POST /v1/credentials/sd-jwt/issue` or the VC-API `POST /v1/credentials/issue`) or
//! verification (`POST /v1/credentials/verify`) with concurrent clients for a bounded time and
//! prints credentials/s and latency percentiles. Every answer's status is checked, and the
//! verification load uses a credential issued by the same run, so errors cannot pass unseen.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

/// Longest run allowed.
const SECONDS_MAX: u64 = 600;
/// Most concurrent clients.
const CLIENTS_MAX: usize = 1024;

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// Load-test issuance or verification over HTTP, bounded in time.
    Bench(BenchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Operation {
    Issue,
    Verify,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// SD-JWT VC (ES256).
    SdJwt,
    /// VC 2.0 with eddsa-rdfc-2022.
    Vc,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The service's base URL (loopback only in tests and CI).
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The issuer's bearer token (INPS's: the load issues ISEE attestations).
    #[arg(long, env = "SIGILLO_ISSUER_TOKEN")]
    token: String,
    #[arg(long, value_enum, default_value = "issue")]
    operation: Operation,
    #[arg(long, value_enum, default_value = "sd-jwt")]
    format: Format,
    /// Credentials per issuance request (SD-JWT batches).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Concurrent clients, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

pub fn run(command: CredentialsCommand) -> anyhow::Result<()> {
    match command {
        CredentialsCommand::Bench(args) => bench(args),
    }
}

fn isee() -> Value {
    json!({
        "fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
        "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31",
        "household_members": 3
    })
}

fn issue_request(format: Format, batch: usize) -> (&'static str, Value) {
    match format {
        Format::SdJwt if batch == 1 => (
            "/v1/credentials/sd-jwt/issue",
            json!({"vct": "isee", "claims": isee()}),
        ),
        Format::SdJwt => {
            let one = json!({"vct": "isee", "claims": isee()});
            (
                "/v1/credentials/sd-jwt/issue",
                json!({"credentials": vec![one; batch]}),
            )
        }
        Format::Vc => (
            "/v1/credentials/issue",
            json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", wallet::types::CONTEXT_URL],
                "type": ["VerifiableCredential", "IseeCredential"],
                "credentialSubject": isee(),
            }}),
        ),
    }
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.clients > CLIENTS_MAX {
        bail!("--clients must be 1 to {CLIENTS_MAX}");
    }
    if args.seconds == 0 || args.seconds > SECONDS_MAX {
        bail!("--seconds must be 1 to {SECONDS_MAX}");
    }
    if args.batch == 0
        || args.batch > wallet::service::BATCH_CREDENTIALS_MAX
        || (args.batch > 1 && matches!(args.format, Format::Vc))
    {
        bail!(
            "--batch must be 1 to {} (SD-JWT only)",
            wallet::service::BATCH_CREDENTIALS_MAX
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(drive(args))
}

async fn drive(args: BenchArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let base = args.url.trim_end_matches('/').to_owned();
    let (path, issue_body) = issue_request(args.format, args.batch);
    // One credential to verify, issued now.
    let sample: Value = client
        .post(format!("{base}{path}"))
        .bearer_auth(&args.token)
        .json(&issue_request(args.format, 1).1)
        .send()
        .await?
        .error_for_status()
        .context("issuing the sample credential (is --token INPS's?)")?
        .json()
        .await?;
    let credential = sample
        .get("credential")
        .or_else(|| sample.get("verifiableCredential"))
        .cloned()
        .context("no credential in the answer")?;
    let (url, body, per_request, auth) = match args.operation {
        Operation::Issue => (
            format!("{base}{path}"),
            issue_body.to_string(),
            args.batch,
            true,
        ),
        Operation::Verify => (
            format!("{base}/v1/credentials/verify"),
            json!({"verifiableCredential": credential}).to_string(),
            1,
            false,
        ),
    };
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (client, url, body, token) = (
            client.clone(),
            url.clone(),
            body.clone(),
            args.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                let start = Instant::now();
                let mut request = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if auth {
                    request = request.bearer_auth(&token);
                }
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(start.elapsed().as_micros() as u32);
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
            (latencies, errors, first_error)
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (mut l, e, f) = task.await?;
        latencies.append(&mut l);
        errors += e;
        first_error = first_error.or(f);
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    latencies.sort_unstable();
    let percentile = |p: f64| percentile_ms(&latencies, p);
    let operation = match (args.operation, args.format) {
        (Operation::Issue, Format::SdJwt) => format!("issue SD-JWT VC (batch {})", args.batch),
        (Operation::Issue, Format::Vc) => "issue VC 2.0 eddsa-rdfc-2022".to_owned(),
        (Operation::Verify, Format::SdJwt) => "verify SD-JWT VC".to_owned(),
        (Operation::Verify, Format::Vc) => "verify VC 2.0 eddsa-rdfc-2022".to_owned(),
    };
    println!("| operation | clients | credentials/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {operation} | {} | {:.0} | {:.1} | {:.1} | {errors} |",
        args.clients,
        (latencies.len() * per_request) as f64 / elapsed,
        percentile(0.5),
        percentile(0.99)
    );
    if let Some(error) = first_error {
        bail!("{errors} requests failed; the first: {error}");
    }
    Ok(())
}

/// The `p` quantile of sorted latencies in microseconds, in milliseconds (0 when empty).
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    sorted_us
        .get(((sorted_us.len() as f64 - 1.0) * p) as usize)
        .map_or(0.0, |us| f64::from(*us) / 1000.0)
}
