//! `sigillo wallet`: a citizen's or a business's wallet file, and the OpenID4VCI and OpenID4VP
//! flows that fill and use it. The logic is in `wallet::holder` and `wallet::holder_client`.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use wallet::holder::{HolderWallet, OwnerKind};
use wallet::holder_client;

/// Where the wallet is and how to open it.
#[derive(Args)]
pub struct WalletFile {
    /// The wallet file.
    #[arg(long, env = "SIGILLO_WALLET")]
    wallet: PathBuf,
    /// A file whose first line is the passphrase; otherwise $SIGILLO_WALLET_PASSPHRASE, or
    /// asked on the terminal.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// Who owns the wallet.
#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    /// A person.
    Citizen,
    /// A company.
    Business,
}

/// The wallet's commands.
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a wallet with fresh holder keys (Ed25519 and P-256).
    Create {
        #[command(flatten)]
        file: WalletFile,
        /// The owner's name.
        #[arg(long)]
        owner: String,
        /// Citizen or business.
        #[arg(long, value_enum, default_value = "citizen")]
        kind: Kind,
    },
    /// List the credentials and documents.
    List {
        #[command(flatten)]
        file: WalletFile,
    },
    /// Show one credential (its claims) or document (its receipt).
    Show {
        #[command(flatten)]
        file: WalletFile,
        /// The credential's or document's id.
        id: String,
    },
    /// Add a document, stamped by the notary (its receipt kept beside it).
    ImportDocument {
        #[command(flatten)]
        file: WalletFile,
        /// The document.
        document: PathBuf,
        /// Its media type (guessed from the extension otherwise).
        #[arg(long)]
        media_type: Option<String>,
        /// The service whose notary stamps it.
        #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
        url: String,
    },
    /// Receive a credential offer (OpenID4VCI, pre-authorized code).
    Receive {
        #[command(flatten)]
        file: WalletFile,
        /// The offer URI (openid-credential-offer://…).
        offer: String,
        /// The transaction code the issuer gave you.
        #[arg(long)]
        tx_code: Option<String>,
        /// Copies, each bound to its own key (unlinkable).
        #[arg(long, default_value_t = 1)]
        copies: usize,
    },
    /// Answer a presentation request (OpenID4VP): shows what would leave, asks, sends.
    Present {
        #[command(flatten)]
        file: WalletFile,
        /// The request URI (openid4vp://…).
        request: String,
        /// Send without asking.
        #[arg(long)]
        yes: bool,
        /// Also write the verifier's answer (signed result, receipts) to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Everything but the private keys, as JSON.
    Export {
        #[command(flatten)]
        file: WalletFile,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn passphrase(file: &WalletFile) -> anyhow::Result<String> {
    if let Some(path) = &file.passphrase_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    if let Ok(passphrase) = std::env::var("SIGILLO_WALLET_PASSPHRASE") {
        return Ok(passphrase);
    }
    eprint!("passphrase for {}: ", file.wallet.display());
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn open(file: &WalletFile) -> anyhow::Result<HolderWallet> {
    Ok(HolderWallet::open(&file.wallet, &passphrase(file)?)?)
}

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn media_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain",
        Some("p7m") => "application/pkcs7-mime",
        _ => "application/octet-stream",
    }
}

/// Runs a wallet command.
pub fn run(command: WalletCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        WalletCommand::Create { file, owner, kind } => {
            let kind = match kind {
                Kind::Citizen => OwnerKind::Citizen,
                Kind::Business => OwnerKind::Business,
            };
            let wallet = HolderWallet::create(&file.wallet, &owner, kind, &passphrase(&file)?)?;
            println!("created {} for {owner}", file.wallet.display());
            for did in wallet.dids() {
                println!("holder key {did}");
            }
        }
        WalletCommand::List { file } => {
            let wallet = open(&file)?;
            println!("{} ({:?})", wallet.owner(), wallet.kind());
            for credential in wallet.credentials() {
                println!(
                    "credential {}  {}  from {}  received {}",
                    credential.id,
                    credential.credential_type,
                    credential.issuer,
                    wallet::vc::datetime(credential.received_at)
                );
            }
            for document in wallet.documents() {
                println!(
                    "document   {}  {}  sha256 {}  {}",
                    document.id,
                    document.name,
                    document.sha256,
                    if document.receipt.is_some() {
                        "stamped"
                    } else {
                        "not stamped"
                    }
                );
            }
        }
        WalletCommand::Show { file, id } => {
            let wallet = open(&file)?;
            let export = wallet.export();
            let found = ["credentials", "documents"]
                .iter()
                .flat_map(|kind| export[kind].as_array().cloned().unwrap_or_default())
                .find(|item| item["id"] == id.as_str())
                .with_context(|| format!("nothing with id {id} in the wallet"))?;
            let mut shown = found.clone();
            if let Some(held) = wallet.credentials().iter().find(|c| c.id == id) {
                let claims = held
                    .issuer_key
                    .as_ref()
                    .and_then(|k| wallet::jose::PublicKey::from_jwk(k).ok())
                    .and_then(|key| {
                        let parsed = wallet::sdjwt::parse(&held.credential).ok()?;
                        wallet::sdjwt::reveal(&parsed, &key).ok()
                    })
                    .map(|revealed| Value::Object(revealed.claims));
                shown["claims"] = claims.unwrap_or(Value::Null);
            }
            if let Some(object) = shown.as_object_mut() {
                object.remove("content");
            }
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        WalletCommand::ImportDocument {
            file,
            document,
            media_type: given,
            url,
        } => {
            let mut wallet = open(&file)?;
            let bytes = std::fs::read(&document)
                .with_context(|| format!("reading {}", document.display()))?;
            let content = notary::Digest::from_bytes(Sha256::digest(&bytes).into());
            let salt = hex::encode(rand::random::<[u8; 32]>());
            let entry =
                crate::stamp::entry_for(&content, Some(&salt)).map_err(anyhow::Error::msg)?;
            let client = http()?;
            let bundle = runtime.block_on(crate::stamp::submit(
                &client,
                &format!("{}/v1/notary/entries", url.trim_end_matches('/')),
                vec![entry.to_hex()],
            ))?;
            let mut receipt = bundle
                .receipts()
                .into_iter()
                .next()
                .context("the notary answered no receipt")?;
            if receipt.entry != entry {
                bail!("the notary answered a receipt for another entry");
            }
            receipt.salt = Some(salt);
            let name = document
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("document");
            let media_type = given.unwrap_or_else(|| media_type(&document).to_owned());
            let id = wallet.add_document(
                name,
                &media_type,
                &bytes,
                Some(serde_json::to_value(&receipt)?),
            )?;
            wallet.save()?;
            println!(
                "document {id}: {name} ({} bytes), stamped in block {}",
                bytes.len(),
                bundle.block.height
            );
        }
        WalletCommand::Receive {
            file,
            offer,
            tx_code,
            copies,
        } => {
            let mut wallet = open(&file)?;
            let ids = runtime.block_on(holder_client::receive(
                &http()?,
                &mut wallet,
                &offer,
                tx_code.as_deref(),
                copies,
            ))?;
            for id in ids {
                let held = wallet.credentials().iter().find(|c| c.id == id);
                println!(
                    "received credential {id}: {} from {}",
                    held.map(|c| c.credential_type.as_str()).unwrap_or_default(),
                    held.map(|c| c.issuer.as_str()).unwrap_or_default()
                );
            }
        }
        WalletCommand::Present {
            file,
            request,
            yes,
            out,
        } => {
            let mut wallet = open(&file)?;
            let client = http()?;
            let request = runtime.block_on(holder_client::read_request(&client, &request))?;
            let planned = holder_client::plan(&wallet, &request)?;
            println!("verifier: {}", request.client_id);
            println!("these claims, and only these, will leave the wallet:");
            for disclosure in &planned {
                println!(
                    "  {} ← {} from {}",
                    disclosure.query, disclosure.credential_type, disclosure.issuer
                );
                for (path, value) in &disclosure.claims {
                    println!("      {path} = {value}");
                }
            }
            if !yes {
                eprint!("send them? [y/N] ");
                std::io::stderr().flush()?;
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                if !matches!(line.trim(), "y" | "Y" | "yes" | "si" | "sì") {
                    bail!("nothing sent");
                }
            }
            let answer =
                runtime.block_on(holder_client::present(&client, &wallet, &request, &planned))?;
            let id = answer["application_id"].as_str().unwrap_or_default();
            println!("application {id}: {}", answer["outcome"]);
            // Keep the verifier's signed answer, with the receipt of its hash, in the wallet.
            let text = serde_json::to_string_pretty(&answer)? + "\n";
            wallet.add_document(
                &format!("application-{id}.json"),
                "application/json",
                text.as_bytes(),
                Some(answer["receipts"]["result"].clone()),
            )?;
            wallet.save()?;
            if let Some(out) = out {
                notary::keys::write_durably(&out, text.as_bytes(), 0o600)?;
                println!("answer saved to {}", out.display());
            }
        }
        WalletCommand::Export { file, out } => {
            let wallet = open(&file)?;
            let text = serde_json::to_string_pretty(&json!(wallet.export()))? + "\n";
            match out {
                Some(out) => {
                    notary::keys::write_durably(&out, text.as_bytes(), 0o600)?;
                    println!("exported to {}", out.display());
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}
