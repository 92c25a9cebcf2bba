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
        /// A bearer token that may stamp (a holder's own, given by the service's operator).
        #[arg(long, env = "SIGILLO_TOKEN", hide_env_values = true)]
        token: Option<String>,
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
    /// Load-test the apply-to-a-call round trip over HTTP: a company wallet (filled over
    /// OpenID4VCI first) asks for an authorization request, matches, discloses, signs the
    /// KB-JWT and posts the answer, which the service checks, signs and stamps.
    Bench(BenchArgs),
    /// Everything but the private keys, as JSON.
    Export {
        #[command(flatten)]
        file: WalletFile,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The round trip load.
#[derive(Args)]
pub struct BenchArgs {
    /// The service (its --public-url must be the address used here).
    #[arg(long, default_value = crate::DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The issuer tokens file the service wrote (DATA/wallet/new-issuer-tokens.txt).
    #[arg(long)]
    tokens: PathBuf,
    /// Concurrent applicants, each with one application in flight.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
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
                let claims = wallet.claims(held);
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
            token,
        } => {
            let mut wallet = open(&file)?;
            let bytes = std::fs::read(&document)
                .with_context(|| format!("reading {}", document.display()))?;
            let content = notary::Digest::from_bytes(Sha256::digest(&bytes).into());
            let salt = hex::encode(rand::random::<[u8; 32]>());
            let entry =
                crate::stamp::entry_for(&content, Some(&salt)).map_err(anyhow::Error::msg)?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .default_headers(crate::bearer_headers(token.as_deref())?)
                .build()?;
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
            // The notary's receipts follow the answer within a block interval.
            let answer = runtime.block_on(holder_client::await_receipts(
                &client,
                &answer,
                Duration::from_secs(30),
            ))?;
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
        WalletCommand::Bench(args) => runtime.block_on(bench(args))?,
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

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.clients > 256 || args.seconds == 0 || args.seconds > 600 {
        bail!("--clients must be 1 to 256 and --seconds 1 to 600");
    }
    let url = args.url.trim_end_matches('/').to_owned();
    let tokens: std::collections::HashMap<String, String> = std::fs::read_to_string(&args.tokens)
        .with_context(|| format!("reading {}", args.tokens.display()))?
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(issuer, token)| (issuer.to_owned(), token.to_owned()))
        .collect();
    let token = |issuer: &str| {
        tokens
            .get(issuer)
            .cloned()
            .with_context(|| format!("no token for {issuer} in {}", args.tokens.display()))
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let dir = std::env::temp_dir().join(format!("sigillo-wallet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut wallet = HolderWallet::create(
        &dir.join("bench.wallet"),
        "Bench S.r.l.",
        OwnerKind::Business,
        "bench passphrase",
    )?;
    let registration = json!({
        "vat_number": "01234567890", "company_name": "Bench S.r.l.",
        "seat": {"street_address": "Via Roma 1", "locality": "Milano", "postal_code": "20121", "province": "MI", "region": "Lombardia"},
        "ateco_code": "62.01", "employees": 12, "company_status": "attiva"
    });
    let durc = json!({"vat_number": "01234567890", "regular": true, "issue_date": "2026-10-01",
                      "valid_until": "2027-01-29", "protocol": "INPS_12345678"});
    for (issuer, kind, claims) in [
        ("camera-commercio-milano", "registro-imprese", registration),
        ("inps", "durc", durc),
    ] {
        let offer: Value = client
            .post(format!("{url}/v1/oid4vci/offers"))
            .bearer_auth(token(issuer)?)
            .json(&json!({"credential_type": kind, "claims": claims}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        holder_client::receive(
            &client,
            &mut wallet,
            offer["offer_uri"].as_str().unwrap_or_default(),
            offer["tx_code"].as_str(),
            1,
        )
        .await?;
    }
    let call: Value = client
        .post(format!("{url}/v1/calls"))
        .bearer_auth(token("regione-lombardia")?)
        .json(&json!({
            "title": "Bando di prova (carico)",
            "dcql_query": {"credentials": [
                {"id": "visura", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:registro-imprese:1"]},
                 "claims": [{"path": ["seat", "region"]}, {"path": ["employees"]}, {"path": ["ateco_code"]}]},
                {"id": "durc", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
                 "claims": [{"path": ["regular"]}, {"path": ["valid_until"]}]}
            ]},
            "rules": [
                {"credential": "visura", "path": ["employees"], "op": "<", "value": 50},
                {"credential": "durc", "path": ["regular"], "op": "==", "value": true}
            ]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let requests_url = format!(
        "{url}/v1/calls/{}/requests",
        call["id"].as_str().unwrap_or_default()
    );
    let wallet = std::sync::Arc::new(wallet);
    let deadline = std::time::Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (client, wallet, requests_url) = (client.clone(), wallet.clone(), requests_url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut first_error: Option<String> = None;
            let mut errors = 0u64;
            while std::time::Instant::now() < deadline {
                let start = std::time::Instant::now();
                let result: anyhow::Result<Value> = async {
                    let created: Value = client
                        .post(&requests_url)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let request = holder_client::read_request(
                        &client,
                        created["request_uri"].as_str().unwrap_or_default(),
                    )
                    .await?;
                    let planned = holder_client::plan(&wallet, &request)?;
                    Ok(holder_client::present(&client, &wallet, &request, &planned).await?)
                }
                .await;
                match result {
                    Ok(answer) if answer["outcome"] == "admitted" => {
                        latencies.push(start.elapsed().as_micros() as u32);
                    }
                    Ok(answer) => {
                        errors += 1;
                        first_error.get_or_insert(answer.to_string());
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
    let started = std::time::Instant::now();
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
    for task in tasks {
        let (mut l, e, f) = task.await?;
        latencies.append(&mut l);
        errors += e;
        first_error = first_error.or(f);
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    latencies.sort_unstable();
    let percentile = |p: f64| crate::credentials::percentile_ms(&latencies, p);
    println!("| operation | clients | applications/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| apply to a call (request, match, disclose, KB-JWT, check, sign, store) | {} | {:.0} | {:.1} | {:.1} | {errors} |",
        args.clients,
        latencies.len() as f64 / elapsed,
        percentile(0.5),
        percentile(0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(error) = first_error {
        bail!("{errors} applications failed; the first: {error}");
    }
    Ok(())
}
