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
    let file: Receipt = match serde_json::from_str(&text) {
        Ok(file) => file,
        Err(error) => return Ok(Err(format!("the receipt is malformed: {error}"))),
    };
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
    match verifier.verify(receipt, &entry) {
        Ok(verified) => Ok(Ok(format!(
            "OK: {} was notarised\n  block {} sealed at {} ({} ms), entry {} of {}\n  checkpoint {} size {} root {}\n  signed by {}",
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
        ))),
        Err(error) => Ok(Err(explain(&error, receipt, &content, args.file.is_some()))),
    }
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
