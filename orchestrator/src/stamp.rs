//! `sigillo stamp`: hashes files locally (documents never leave the machine), submits their
//! digests in batches, and saves a standalone receipt beside each file.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use notary::receipt::ReceiptBundle;
use notary::{Digest, Receipt};
use sha2::{Digest as _, Sha256};

use crate::receipt_path;

/// Submissions in flight at once: enough to fill the notary's next block while one is sealed.
const SUBMISSIONS_IN_FLIGHT_MAX: usize = 4;
/// Attempts per submission when the notary is busy or unreachable.
const SUBMIT_ATTEMPTS_MAX: u32 = 5;
/// Files stamped in one call, at most.
const FILES_MAX: usize = 10_000_000;

#[derive(Args)]
pub struct StampArgs {
    /// Files or folders (walked recursively; existing *.receipt.json files are skipped).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The service's base URL.
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// Blind each entry with a random 256-bit salt kept in the receipt.
    #[arg(long)]
    salt: bool,
    /// Entries per request (1 to 10000).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// A bearer token that may stamp (issuer, platform, operator or authority).
    #[arg(long, env = "SIGILLO_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// SHA-256 of a file, streamed.
pub fn file_digest(path: &Path) -> anyhow::Result<Digest> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Digest::from_bytes(hasher.finalize().into()))
}

/// The entry notarised for a document digest: the digest itself, or SHA-256(salt || digest).
pub fn entry_for(content: &Digest, salt: Option<&str>) -> Result<Digest, String> {
    let Some(salt) = salt else {
        return Ok(*content);
    };
    let salt = Digest::from_hex(salt).map_err(|error| format!("the receipt's salt: {error}"))?;
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(salt.as_bytes());
    data[32..].copy_from_slice(content.as_bytes());
    Ok(Digest::sha256(&data))
}

fn collect(paths: &[PathBuf], out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for path in paths {
        let metadata =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if metadata.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("listing {}", path.display()))?
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<Result<_, _>>()?;
            children.sort();
            collect(&children, out)?;
        } else if !path.to_string_lossy().ends_with(".receipt.json") {
            out.push(path.clone());
        }
        if out.len() > FILES_MAX {
            bail!("more than {FILES_MAX} files");
        }
    }
    Ok(())
}

struct Item {
    path: PathBuf,
    entry: Digest,
    salt: Option<String>,
}

pub fn run(args: StampArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.batch > notary::notary::BATCH_ENTRIES_MAX {
        bail!("--batch must be 1 to {}", notary::notary::BATCH_ENTRIES_MAX);
    }
    let started = Instant::now();
    let mut files = Vec::new();
    collect(&args.files, &mut files)?;
    let total = files.len();
    let mut items = Vec::with_capacity(total);
    let mut bytes = 0u64;
    let mut last_report = Instant::now();
    for (done, path) in files.into_iter().enumerate() {
        let content = file_digest(&path)?;
        bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
        let salt = args.salt.then(|| {
            let salt: [u8; 32] = rand::random();
            hex::encode(salt)
        });
        let entry = entry_for(&content, salt.as_deref()).map_err(anyhow::Error::msg)?;
        items.push(Item { path, entry, salt });
        if last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("hashed {}/{total} files", done + 1);
            last_report = Instant::now();
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(submit_all(&args, items))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "stamped {total} files ({:.1} MB) in {seconds:.2} s ({:.0} files/s): blocks {}..={}, receipts saved beside each file",
        bytes as f64 / 1e6,
        total as f64 / seconds.max(1e-9),
        summary.0,
        summary.1,
    );
    Ok(())
}

async fn submit_all(args: &StampArgs, items: Vec<Item>) -> anyhow::Result<(u64, u64)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .default_headers(crate::bearer_headers(args.token.as_deref())?)
        .build()?;
    let url = format!("{}/v1/notary/entries", args.url.trim_end_matches('/'));
    let total = items.len();
    let mut chunks = items.chunks(args.batch).enumerate();
    let mut in_flight = tokio::task::JoinSet::new();
    let (mut lowest, mut highest) = (u64::MAX, 0u64);
    let mut done = 0usize;
    let mut last_report = Instant::now();
    loop {
        while in_flight.len() < SUBMISSIONS_IN_FLIGHT_MAX {
            let Some((index, chunk)) = chunks.next() else {
                break;
            };
            let entries: Vec<String> = chunk.iter().map(|item| item.entry.to_hex()).collect();
            let (client, url) = (client.clone(), url.clone());
            let (start, count) = (index * args.batch, chunk.len());
            in_flight.spawn(async move { (start, count, submit(&client, &url, entries).await) });
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (start, count, bundle) = joined?;
        let bundle = bundle?;
        if bundle.entries.len() != count {
            bail!(
                "the notary answered {} receipts for {count} entries",
                bundle.entries.len()
            );
        }
        for (item, mut receipt) in items[start..start + count].iter().zip(bundle.receipts()) {
            if receipt.entry != item.entry {
                bail!("the notary answered a receipt for another entry");
            }
            receipt.salt.clone_from(&item.salt);
            save(&item.path, &receipt)?;
        }
        lowest = lowest.min(bundle.block.height);
        highest = highest.max(bundle.block.height);
        done += count;
        if last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("stamped {done}/{total} files");
            last_report = Instant::now();
        }
    }
    Ok((if lowest == u64::MAX { 0 } else { lowest }, highest))
}

pub(crate) async fn submit(
    client: &reqwest::Client,
    url: &str,
    entries: Vec<String>,
) -> anyhow::Result<ReceiptBundle> {
    let body = serde_json::json!({ "entries": entries });
    let mut attempt = 0;
    loop {
        attempt += 1;
        let retry = match client.post(url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {
                return response
                    .json::<ReceiptBundle>()
                    .await
                    .context("the notary's answer is not a receipt bundle");
            }
            Ok(response) if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                format!("{}", response.status())
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                bail!("the notary refused the batch ({status}): {text}");
            }
            Err(error) if error.is_connect() || error.is_timeout() => error.to_string(),
            Err(error) => return Err(error.into()),
        };
        if attempt >= SUBMIT_ATTEMPTS_MAX {
            bail!("giving up after {attempt} attempts: {retry}");
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
}

/// Writes `FILE.receipt.json` atomically (temporary file, fsync, rename).
fn save(file: &Path, receipt: &Receipt) -> anyhow::Result<()> {
    let path = receipt_path(file);
    let temporary = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(receipt)? + "\n";
    {
        use std::io::Write as _;
        let mut out = std::fs::File::create(&temporary)
            .with_context(|| format!("writing {}", temporary.display()))?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
    }
    std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
