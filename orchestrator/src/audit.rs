//! `sigillo audit`: fetches the notary's latest checkpoint and proves, trusting no server, that
//! the log only grew since the last audit: the consistency proof between the two checkpoints
//! verifies, and the block headers served since then chain on (heights, entry numbering,
//! monotonic times) and hash to exactly the new checkpoint's root.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use notary::merkle::{verify_consistency, Frontier};
use notary::note::open_checkpoint;
use notary::{BlockHeader, Checkpoint, Digest, NoteVerifier};
use serde::{Deserialize, Serialize};

use crate::trust;
use crate::verify::format_time;

const STATE_FORMAT: &str = "sigillo.audit-state/v1";
/// Headers fetched per request.
const BLOCKS_PAGE: u64 = 1000;

#[derive(Args)]
pub struct AuditArgs {
    /// The service's base URL.
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The state of the previous audit; updated in place when this audit passes.
    #[arg(long, default_value = "notary-audit.json")]
    since: PathBuf,
    /// The trusted notary key (DID document or verifier key). Defaults to the key pinned in
    /// the state file; on a first audit without it, the key the server publishes is trusted
    /// on first use, and said so.
    #[arg(long)]
    notary_key: Option<String>,
}

/// What an audit remembers: the last checkpoint, and the compact range of the log at that
/// checkpoint so that the next audit can recompute roots from the new headers alone.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditState {
    format: String,
    notary_key: String,
    checkpoint: String,
    frontier: Vec<Digest>,
    next_entry: u64,
    last_time_ms: u64,
}

#[derive(Deserialize)]
struct BlocksPage {
    blocks: Vec<BlockHeader>,
}

#[derive(Deserialize)]
struct ConsistencyAnswer {
    proof: Vec<Digest>,
}

pub fn run(args: AuditArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(audit(&args)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("AUDIT FAILED: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn get_text(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {text}");
    }
    Ok(text)
}

async fn audit(args: &AuditArgs) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("{}/v1/notary", args.url.trim_end_matches('/'));
    let previous: Option<AuditState> = match std::fs::read_to_string(&args.since) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not an audit state", args.since.display()))?,
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error).context(format!("reading {}", args.since.display())),
    };
    if let Some(state) = &previous {
        if state.format != STATE_FORMAT {
            bail!(
                "{} has format {:?}, want {STATE_FORMAT:?}",
                args.since.display(),
                state.format
            );
        }
    }

    let mut notes = Vec::new();
    let key: NoteVerifier = match (
        trust::from_flag_or_env(args.notary_key.as_deref())?,
        &previous,
    ) {
        (Some(key), Some(state)) if key.to_vkey() != state.notary_key => bail!(
            "the trusted key {} is not the key pinned by the previous audit {}",
            key.to_vkey(),
            state.notary_key
        ),
        (Some(key), _) => key,
        (None, Some(state)) => NoteVerifier::from_vkey(&state.notary_key)?,
        (None, None) => {
            let served = get_text(&client, &format!("{base}/key")).await?;
            notes.push(format!(
                "note: trusting the key the notary serves, on first use: {}",
                served.trim()
            ));
            NoteVerifier::from_vkey(served.trim())?
        }
    };

    let latest_note = get_text(&client, &format!("{base}/checkpoint")).await?;
    let latest = open_checkpoint(&latest_note, &key).context("the latest checkpoint")?;

    let (old, mut frontier, mut next_entry, mut last_time_ms) = match &previous {
        Some(state) => {
            let old = open_checkpoint(&state.checkpoint, &key)
                .context("the checkpoint of the previous audit")?;
            let frontier = Frontier::new(old.size, state.frontier.clone())?;
            if frontier.root() != old.root {
                bail!("the saved audit state does not match its own checkpoint");
            }
            (old, frontier, state.next_entry, state.last_time_ms)
        }
        None => (
            Checkpoint {
                origin: key.name().to_owned(),
                size: 0,
                root: notary::hash::empty_root(),
            },
            Frontier::default(),
            0,
            0,
        ),
    };
    if latest.size < old.size {
        bail!(
            "the log shrank: it had {} blocks at the last audit, now {}",
            old.size,
            latest.size
        );
    }

    // 1. The new checkpoint is an extension of the old one.
    if old.size > 0 {
        let answer: ConsistencyAnswer = serde_json::from_str(
            &get_text(
                &client,
                &format!(
                    "{base}/proofs/consistency?from={}&to={}",
                    old.size, latest.size
                ),
            )
            .await?,
        )
        .context("the consistency proof is malformed")?;
        verify_consistency(old.size, latest.size, &answer.proof, &old.root, &latest.root)
            .context("history was rewritten: the latest checkpoint is not consistent with the previous audit's")?;
    }

    // 2. Every new header chains on and together they hash to the new root.
    let mut height = old.size;
    while height < latest.size {
        let page: BlocksPage = serde_json::from_str(
            &get_text(
                &client,
                &format!("{base}/blocks?from={height}&limit={BLOCKS_PAGE}"),
            )
            .await?,
        )
        .context("a block page is malformed")?;
        if page.blocks.is_empty() {
            bail!("the notary served no header at height {height}");
        }
        for header in page.blocks {
            if height == latest.size {
                break;
            }
            if header.height != height {
                bail!(
                    "the notary served block {} where block {height} was due",
                    header.height
                );
            }
            if header.first_entry != next_entry || header.entry_count == 0 {
                bail!("block {height} does not continue the entry numbering at {next_entry}");
            }
            if header.time_ms < last_time_ms {
                bail!(
                    "block {height} is dated {} before the previous block's {}",
                    format_time(header.time_ms),
                    format_time(last_time_ms)
                );
            }
            frontier.push(header.leaf_hash());
            next_entry = header.first_entry + header.entry_count;
            last_time_ms = header.time_ms;
            height += 1;
        }
    }
    if frontier.root() != latest.root {
        bail!("the block headers served do not hash to the signed checkpoint's root");
    }

    let state = AuditState {
        format: STATE_FORMAT.to_owned(),
        notary_key: key.to_vkey(),
        checkpoint: latest_note,
        frontier: frontier.nodes().to_vec(),
        next_entry,
        last_time_ms,
    };
    let temporary = args.since.with_extension("tmp");
    std::fs::write(&temporary, serde_json::to_string_pretty(&state)? + "\n")?;
    std::fs::rename(&temporary, &args.since)?;

    notes.push(format!(
        "OK: log {} is consistent: {} -> {} blocks ({} new headers verified, {} entries in all), times monotonic{}",
        latest.origin,
        old.size,
        latest.size,
        latest.size - old.size,
        next_entry,
        if latest.size > 0 {
            format!(", latest block at {}", format_time(last_time_ms))
        } else {
            String::new()
        }
    ));
    notes.push(format!(
        "saved checkpoint {} to {}",
        latest.size,
        args.since.display()
    ));
    Ok(notes.join("\n"))
}
