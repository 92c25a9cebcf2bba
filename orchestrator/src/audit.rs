//! `sigillo audit`: fetches the notary's latest checkpoint and proves, trusting no server, that
//! the log only grew since the last audit: the consistency proof between the two checkpoints
//! verifies, and the block headers served since then chain on (heights, entry numbering,
//! monotonic times) and hash to exactly the new checkpoint's root.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use notary::audit::{Audit, AuditState};
use notary::{BlockHeader, Digest, NoteVerifier};
use serde::Deserialize;

use crate::trust;
use crate::verify::format_time;

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
    let mut notes = Vec::new();
    let key: NoteVerifier = match (
        trust::from_flag_or_env(args.notary_key.as_deref())?,
        &previous,
    ) {
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
    let mut audit = Audit::begin(key, previous.as_ref(), &latest_note)?;
    let (old, new) = (audit.old().clone(), audit.new_checkpoint().clone());

    // 1. The new checkpoint is an extension of the old one.
    if old.size > 0 {
        let answer: ConsistencyAnswer = serde_json::from_str(
            &get_text(
                &client,
                &format!(
                    "{base}/proofs/consistency?from={}&to={}",
                    old.size, new.size
                ),
            )
            .await?,
        )
        .context("the consistency proof is malformed")?;
        audit.check_consistency(&answer.proof)?;
    }

    // 2. Every new header chains on, and together they hash to the new root.
    while audit.next_height() < new.size {
        let height = audit.next_height();
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
        let wanted = usize::try_from(new.size - height).unwrap_or(usize::MAX);
        audit.add_headers(&page.blocks[..page.blocks.len().min(wanted)])?;
    }
    let state = audit.finish()?;

    let temporary = args.since.with_extension("tmp");
    std::fs::write(&temporary, serde_json::to_string_pretty(&state)? + "\n")?;
    std::fs::rename(&temporary, &args.since)?;

    notes.push(format!(
        "OK: log {} is consistent: {} -> {} blocks ({} new headers verified, {} entries in all), times monotonic{}",
        new.origin,
        old.size,
        new.size,
        new.size - old.size,
        state.next_entry,
        if new.size > 0 {
            format!(", latest block at {}", format_time(state.last_time_ms))
        } else {
            String::new()
        }
    ));
    notes.push(format!(
        "saved checkpoint {} to {}",
        new.size,
        args.since.display()
    ));
    Ok(notes.join("\n"))
}
