//! `sigillo bench`: drives `POST /v1/notary/entries` (or, with `--tsa`, `POST /v1/tsa` with one
//! RFC 3161 query per request) with concurrent clients for a bounded time and prints durable
//! entries/s and latency percentiles. Each client's first answer and every 100th after it are
//! parsed and checked (all receipts verified; the token's imprint and nonce), so a fast wrong
//! answer cannot pass unnoticed; the check is not part of the latency.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use notary::receipt::ReceiptBundle;
use notary::tsa::{request_der, ImprintAlgorithm};
use notary::{Digest, NoteVerifier, ReceiptVerifier};

/// Longest run allowed.
const SECONDS_MAX: u64 = 600;
/// Most concurrent clients.
const CLIENTS_MAX: usize = 4096;
/// Every this many answers per client, one is fully parsed and verified.
const VERIFY_EVERY: u64 = 100;

#[derive(Args)]
pub struct BenchArgs {
    /// The service's base URL (loopback only in tests and CI).
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// Concurrent clients, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Entries per request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many requests in all, even before the time is up.
    #[arg(long, default_value_t = 100_000_000)]
    requests_max: u64,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds at the start (connections opening, first blocks) left out of the figures.
    #[arg(long, default_value_t = 1)]
    warmup_seconds: u64,
    /// Load the RFC 3161 TSA instead: one SHA-256 query with a nonce and certReq per request
    /// (`--batch` is ignored).
    #[arg(long)]
    tsa: bool,
    /// Also write every measured request to this file, one line each: when it was sent and
    /// how long its answer took, in microseconds (for plotting the distribution).
    #[arg(long)]
    latencies: Option<std::path::PathBuf>,
    /// A bearer token that may stamp (issuer, platform, operator or authority).
    #[arg(long, env = "SIGILLO_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Default)]
struct ClientReport {
    requests: u64,
    entries: u64,
    errors: u64,
    verified: u64,
    latencies_us: Vec<u32>,
    /// When each measured request was sent, in microseconds from the start of measuring.
    sent_us: Vec<u32>,
    first_error: Option<String>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.clients > CLIENTS_MAX {
        bail!("--clients must be 1 to {CLIENTS_MAX}");
    }
    if args.batch == 0 || args.batch > notary::notary::BATCH_ENTRIES_MAX {
        bail!("--batch must be 1 to {}", notary::notary::BATCH_ENTRIES_MAX);
    }
    if args.seconds == 0 || args.seconds > SECONDS_MAX {
        bail!("--seconds must be 1 to {SECONDS_MAX}");
    }
    if args.warmup_seconds >= args.seconds {
        bail!("--warmup-seconds must be below --seconds");
    }
    // One thread (the default) is a current-thread runtime: no work stealing to pay for.
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads.min(64))
            .enable_all()
            .build()?
    };
    runtime.block_on(drive(args))
}

async fn drive(args: BenchArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let key_text = client
        .get(format!("{base}/v1/notary/key"))
        .send()
        .await
        .context("fetching the notary key")?
        .text()
        .await?;
    let key = NoteVerifier::from_vkey(key_text.trim()).context("the notary key")?;
    let authority = base
        .strip_prefix("http://")
        .context("the load tool speaks plain HTTP: --url http://HOST:PORT")?
        .to_owned();
    let target = Arc::new(Target {
        authority,
        path: if args.tsa {
            "/v1/tsa"
        } else {
            "/v1/notary/entries"
        }
        .to_owned(),
        tsa: args.tsa,
        authorization: args.token.as_ref().map(|token| format!("Bearer {token}")),
    });
    let batch = if args.tsa { 1 } else { args.batch };
    let stop = Arc::new(AtomicBool::new(false));
    let per_client_max = args.requests_max.div_ceil(args.clients as u64);
    let started = Instant::now();
    let measured_from = started + Duration::from_secs(args.warmup_seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..args.clients {
        let (target, stop, key) = (Arc::clone(&target), Arc::clone(&stop), key.clone());
        tasks.spawn(async move {
            let limits = ClientLimits {
                batch,
                requests_max: per_client_max,
                measured_from,
            };
            run_client(id as u64, &target, limits, &stop, key).await
        });
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = ClientReport::default();
    // (sent, latency) of every measured request, for `--latencies`.
    let mut requests: Vec<(u32, u32)> = Vec::new();
    while let Some(report) = tasks.join_next().await {
        let report = report?;
        total.requests += report.requests;
        total.entries += report.entries;
        total.errors += report.errors;
        total.verified += report.verified;
        if args.latencies.is_some() {
            requests.extend(
                report
                    .sent_us
                    .iter()
                    .copied()
                    .zip(report.latencies_us.iter().copied()),
            );
        }
        total.latencies_us.extend(report.latencies_us);
        if total.first_error.is_none() {
            total.first_error = report.first_error;
        }
    }
    let elapsed = measured_from.elapsed().as_secs_f64();
    if let Some(path) = &args.latencies {
        let mut text = String::from("sent_us latency_us\n");
        for (sent, latency) in &requests {
            text.push_str(&format!("{sent} {latency}\n"));
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    total.latencies_us.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if total.latencies_us.is_empty() {
            return 0.0;
        }
        let at = ((total.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(total.latencies_us[at]) / 1000.0
    };
    println!(
        "{}clients {} batch {batch} for {elapsed:.1} s",
        if args.tsa { "RFC 3161 tokens: " } else { "" },
        args.clients
    );
    println!(
        "| durable entries/s | requests/s | p50 ms | p99 ms | max ms | errors | answers checked |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |",
        total.entries as f64 / elapsed,
        total.requests as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
        total.errors,
        total.verified,
    );
    if let Some(error) = total.first_error {
        bail!("{} requests failed; the first: {error}", total.errors);
    }
    Ok(())
}

fn body(id: u64, sequence: u64, batch: usize) -> (String, Vec<Digest>) {
    let mut text = String::with_capacity(16 + batch * 67);
    let mut entries = Vec::with_capacity(batch);
    text.push_str("{\"entries\":[");
    for i in 0..batch as u64 {
        let mut seed = [0u8; 24];
        seed[..8].copy_from_slice(&id.to_le_bytes());
        seed[8..16].copy_from_slice(&sequence.to_le_bytes());
        seed[16..].copy_from_slice(&i.to_le_bytes());
        let entry = Digest::sha256(&seed);
        if i > 0 {
            text.push(',');
        }
        text.push('"');
        text.push_str(&entry.to_hex());
        text.push('"');
        entries.push(entry);
    }
    text.push_str("]}");
    (text, entries)
}

/// One connection per client: hyper's HTTP/1 client without a pool, so that the load
/// generator spends its core on requests, not on bookkeeping.
async fn connect(
    authority: &str,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends when the client drops its sender, or on a server error that
        // the next request reports.
        let _ = connection.await;
    });
    Ok(sender)
}

/// What one client does, and from when it counts.
#[derive(Clone, Copy)]
struct ClientLimits {
    batch: usize,
    requests_max: u64,
    measured_from: Instant,
}

async fn run_client(
    id: u64,
    target: &Target,
    limits: ClientLimits,
    stop: &AtomicBool,
    key: NoteVerifier,
) -> ClientReport {
    let ClientLimits {
        batch,
        requests_max,
        measured_from,
    } = limits;
    let mut report = ClientReport::default();
    let mut verifier = ReceiptVerifier::new(key);
    let mut sequence = 0u64;
    let mut sender = None;
    while !stop.load(Ordering::Relaxed) && report.requests < requests_max {
        let (text, entries) = if target.tsa {
            let imprint = Digest::sha256(&[id.to_le_bytes(), sequence.to_le_bytes()].concat());
            let query = request_der(
                ImprintAlgorithm::Sha256,
                imprint.as_bytes(),
                Some(sequence),
                true,
            );
            (Bytes::from(query), vec![imprint])
        } else {
            let (text, entries) = body(id, sequence, batch);
            (Bytes::from(text), entries)
        };
        // Each client's first answer, and every 100th after it, is fully verified. The
        // clients take turns (the id shifts the count, by 19 so that a few clients spread over
        // the whole cycle), so that the checks of 2,000 clients do not fall due in the same
        // round and hold up the others' answers.
        let check = sequence == 0 || (sequence + id * 19).is_multiple_of(VERIFY_EVERY);
        sequence += 1;
        let sent = Instant::now();
        let outcome = async {
            if sender.is_none() {
                sender = Some(connect(&target.authority).await?);
            }
            let connection = sender.as_mut().expect("connected above");
            connection.ready().await?;
            let mut request = hyper::Request::post(&target.path)
                .header(hyper::header::HOST, &target.authority)
                .header(
                    hyper::header::CONTENT_TYPE,
                    if target.tsa {
                        notary::http::TIMESTAMP_QUERY
                    } else {
                        "application/json"
                    },
                )
                .body(Full::new(text))?;
            if let Some(authorization) = &target.authorization {
                request.headers_mut().insert(
                    hyper::header::AUTHORIZATION,
                    hyper::header::HeaderValue::from_str(authorization)?,
                );
            }
            let response = connection.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            // The latency ends here: checking the answer is the load tool's own work.
            let answered = Instant::now();
            let want = if target.tsa {
                hyper::StatusCode::OK
            } else {
                hyper::StatusCode::CREATED
            };
            if status != want {
                bail!("{status}: {}", String::from_utf8_lossy(&bytes));
            }
            if check && target.tsa {
                let info = notary::tsa::token_info(&bytes).map_err(anyhow::Error::msg)?;
                if info.message_imprint.hashed_message.as_bytes() != entries[0].as_bytes()
                    || info.nonce.as_ref().map(|n| n.as_bytes().to_vec())
                        != Some(trimmed(&(sequence - 1).to_be_bytes()))
                {
                    bail!("the token is not for the query sent");
                }
                return Ok((answered, true));
            }
            if check {
                let bundle: ReceiptBundle = serde_json::from_slice(&bytes)?;
                if bundle.entries.len() != entries.len() {
                    bail!(
                        "{} receipts for {} entries",
                        bundle.entries.len(),
                        entries.len()
                    );
                }
                for (receipt, entry) in bundle.receipts().iter().zip(&entries) {
                    verifier.verify(receipt, entry)?;
                }
                return Ok((answered, true));
            }
            Ok((answered, false))
        }
        .await;
        let answered = outcome
            .as_ref()
            .map_or_else(|_| Instant::now(), |(at, _)| *at);
        let latency = (answered - sent).as_micros().min(u128::from(u32::MAX)) as u32;
        if sent < measured_from {
            if let Ok((_, true)) = outcome {
                // Checked in the warm-up: counted as checked, left out of the figures.
                report.verified += batch as u64;
            }
            if outcome.is_ok() {
                continue;
            }
        }
        report.requests += 1;
        match outcome {
            Ok((_, verified)) => {
                report.entries += batch as u64;
                report.latencies_us.push(latency);
                let since = sent.saturating_duration_since(measured_from).as_micros();
                report.sent_us.push(since.min(u128::from(u32::MAX)) as u32);
                if verified {
                    report.verified += batch as u64;
                }
            }
            Err(error) => {
                sender = None;
                report.errors += 1;
                if report.first_error.is_none() {
                    report.first_error = Some(format!("{error:#}"));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    report
}

/// Where the load goes: `host:port`, the path, and whether it is the TSA.
struct Target {
    authority: String,
    path: String,
    tsa: bool,
    /// `Bearer TOKEN`, when given.
    authorization: Option<String>,
}

/// A non-negative INTEGER's content octets: leading zeros dropped, a zero added before a high bit.
fn trimmed(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = bytes[start..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}
