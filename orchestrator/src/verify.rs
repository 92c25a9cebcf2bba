//! `sigillo verify`: checks a receipt offline, trusting only the notary key it is given.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use notary::{Digest, Receipt, ReceiptError, ReceiptVerifier};

use crate::stamp::{entry_for, file_digest};
use crate::trust;

#[derive(Args)]
pub struct VerifyArgs {
    /// The receipt file (FILE.receipt.json as `sigillo stamp` saves it, or a bare receipt).
    #[arg(long)]
    receipt: PathBuf,
    /// The file the receipt is for.
    #[arg(long, conflicts_with = "digest", required_unless_present = "digest")]
    file: Option<PathBuf>,
    /// The SHA-256 digest (hex) the receipt is for.
    #[arg(long)]
    digest: Option<String>,
    /// The trusted notary key: its DID document (did.json) or its verifier key string.
    #[arg(long)]
    notary_key: Option<String>,
    /// First ask the service for the anchored form of the receipt and, when there is one,
    /// save it over the receipt file (a `signed` receipt becomes `anchored`).
    #[arg(long)]
    upgrade: bool,
    /// The service, for `--upgrade`.
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// Check an anchored receipt against this Ethereum JSON-RPC node: the transaction, its
    /// block, its confirmations, and the root and size it carries.
    #[arg(long)]
    rpc: Option<String>,
    /// Confirmations `--rpc` requires.
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
}

/// Exit code for a receipt that does not verify (2 is for usage and I/O errors).
const EXIT_INVALID: u8 = 1;

pub fn run(args: VerifyArgs) -> ExitCode {
    match check(&args) {
        Ok(Ok(summary)) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Ok(Err(reason)) => {
            eprintln!("INVALID: {reason}");
            ExitCode::from(EXIT_INVALID)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &VerifyArgs) -> anyhow::Result<Result<String, String>> {
    let key = trust::required(args.notary_key.as_deref())?;
    let text = std::fs::read_to_string(&args.receipt)
        .map_err(|error| anyhow::anyhow!("reading {}: {error}", args.receipt.display()))?;
    let mut file: Receipt = match serde_json::from_str(&text) {
        Ok(file) => file,
        Err(error) => return Ok(Err(format!("the receipt is malformed: {error}"))),
    };
    let mut upgrade_note = String::new();
    if args.upgrade {
        match fetch_upgrade(&args.url, &file)? {
            Some(upgraded) => {
                file = upgraded;
                notary::keys::write_durably(
                    &args.receipt,
                    (serde_json::to_string_pretty(&file)? + "\n").as_bytes(),
                    0o644,
                )
                .map_err(|error| anyhow::anyhow!("saving {}: {error}", args.receipt.display()))?;
                upgrade_note = format!("\n  upgraded and saved to {}", args.receipt.display());
            }
            None => {
                upgrade_note =
                    "\n  not anchored yet: no confirmed anchor covers it; try again later".into();
            }
        }
    }
    let content = match (&args.file, &args.digest) {
        (Some(path), _) => file_digest(path)?,
        (None, Some(hex)) => {
            Digest::from_hex(hex).map_err(|error| anyhow::anyhow!("--digest: {error}"))?
        }
        (None, None) => unreachable!("clap requires --file or --digest"),
    };
    let entry = match entry_for(&content, file.salt.as_deref()) {
        Ok(entry) => entry,
        Err(reason) => return Ok(Err(reason)),
    };
    let receipt = &file;
    let mut verifier = ReceiptVerifier::new(key.clone());
    let verified = match verifier.verify(receipt, &entry) {
        Ok(verified) => verified,
        Err(error) => return Ok(Err(explain(&error, receipt, &content, args.file.is_some()))),
    };
    let anchor_line = match (&receipt.anchor, &verified.anchored) {
        (Some(anchor), Some(anchored)) => {
            let chain = match &args.rpc {
                Some(rpc) => {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    match runtime.block_on(notary::anchor::check_on_chain(
                        rpc,
                        anchor,
                        anchored,
                        args.confirmations,
                    )) {
                        Ok(check) => format!(
                            "\n  on chain: checked at {rpc}, {} confirmations",
                            check.confirmations
                        ),
                        Err(reason) => {
                            return Ok(Err(format!("the anchor does not hold: {reason}")))
                        }
                    }
                }
                None => {
                    "\n  on chain: not checked (give --rpc URL to check it against a node)".into()
                }
            };
            format!(
                "\n  state: anchored in checkpoint size {} on chain {} tx {} block {} log {}{chain}",
                anchored.size, anchor.chain_id, anchor.tx_hash, anchor.block_number, anchor.log_index
            )
        }
        _ if args.rpc.is_some() => {
            return Ok(Err(
                "the receipt is signed, not anchored: nothing to check on chain (try --upgrade)"
                    .into(),
            ))
        }
        _ => "\n  state: signed (checkpoint only; --upgrade fetches the anchored proof)".into(),
    };
    Ok(Ok(format!(
            "OK: {} was notarised\n  block {} sealed at {} ({} ms), entry {} of {}\n  checkpoint {} size {} root {}\n  signed by {}{anchor_line}{upgrade_note}",
            args.file
                .as_ref()
                .map_or_else(|| content.to_hex(), |path| path.display().to_string()),
            verified.block.height,
            format_time(verified.block.time_ms),
            verified.block.time_ms,
            receipt.entry_index,
            verified.block.entry_count,
            verified.checkpoint.origin,
            verified.checkpoint.size,
            verified.checkpoint.root.to_base64(),
            key.to_vkey(),
    )))
}

/// Asks the service for the anchored form of `receipt`; `None` while no anchor covers it.
fn fetch_upgrade(url: &str, receipt: &Receipt) -> anyhow::Result<Option<Receipt>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/v1/notary/receipts/upgrade",
                url.trim_end_matches('/')
            ))
            .json(receipt)
            .send()
            .await?;
        match response.status().as_u16() {
            200 => Ok(Some(response.json::<Receipt>().await?)),
            409 => Ok(None),
            status => anyhow::bail!(
                "the service answered {status}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    })
}

fn explain(error: &ReceiptError, receipt: &Receipt, content: &Digest, is_file: bool) -> String {
    match error {
        ReceiptError::EntryMismatch { .. } if is_file => format!(
            "the file changed: its SHA-256 is {content}, the receipt is for a file whose entry is {}",
            receipt.entry
        ),
        ReceiptError::EntryPath(reason) => {
            format!("the entry's path in block {} is wrong: {reason}", receipt.block.height)
        }
        ReceiptError::BlockPath(reason) => {
            format!("the block's path in the signed log is wrong: {reason}")
        }
        ReceiptError::Checkpoint(notary::note::NoteError::UnknownKey { name, key_id }) => format!(
            "unknown key: the checkpoint is not signed by the trusted key {name}+{key_id:08x}"
        ),
        ReceiptError::Checkpoint(notary::note::NoteError::BadSignature { name }) => {
            format!("signature wrong: the checkpoint's signature by {name} does not verify")
        }
        other => other.to_string(),
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn format_time(time_ms: u64) -> String {
    let nanos = i128::from(time_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{time_ms} ms"))
}
