//! `sigillo token …`: keys, signing, submitting, balances, the auditor's replay and the load
//! tool of the token ledger. Only wiring: formats and checks live in the `token` crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use token::journal::{EntryJson, Genesis, Stamp};
use token::model::{ClassRules, Name, OperationId, PublicKey, Role};
use token::op::{Body, Operation, SignedOperation};

use crate::DEFAULT_URL;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Generate a participant key (file mode 0600); print its public key and did:key.
    Keygen(KeygenArgs),
    /// Sign one operation; print it as JSON for `submit`.
    Sign(SignArgs),
    /// Submit signed operations (files holding one, an array, or {"operations": […]}).
    Submit(SubmitArgs),
    /// Show a participant's balances (a signed read).
    Balance(BalanceArgs),
    /// Replay the whole journal from genesis and check signatures, rules, invariants and the
    /// notarised heads. Exit 1 on any failure.
    Audit(AuditArgs),
    /// Load-test `POST /v1/token/operations` over HTTP with batches of signed transfers.
    Bench(BenchArgs),
}

pub fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Keygen(args) => keygen(args).map(|()| ExitCode::SUCCESS),
        TokenCommand::Sign(args) => sign(args).map(|()| ExitCode::SUCCESS),
        TokenCommand::Submit(args) => runtime()?.block_on(submit(args)),
        TokenCommand::Balance(args) => runtime()?
            .block_on(balance(args))
            .map(|()| ExitCode::SUCCESS),
        TokenCommand::Audit(args) => runtime()?.block_on(audit(args)),
        TokenCommand::Bench(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(bench(args)).map(|()| ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?)
}

/// Loads a key file written by `keygen` (or by `sigillo serve` for the authority).
fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    if !path.is_file() {
        bail!("no key file at {}", path.display());
    }
    Ok(notary::keys::load_or_generate(path)?)
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the key.
    #[arg(long)]
    out: PathBuf,
}

fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        bail!("{} exists; refusing to overwrite a key", args.out.display());
    }
    let key = notary::keys::load_or_generate(&args.out)?;
    let public = PublicKey::from_bytes(key.verifying_key().as_bytes())?;
    println!(
        "{}",
        json!({ "key": public, "did": public.to_did_key(), "file": args.out })
    );
    Ok(())
}

#[derive(Args)]
pub struct SignArgs {
    /// The signer's key file.
    #[arg(long)]
    key: PathBuf,
    /// The acting participant (`authority` for the circuit's authority).
    #[arg(long)]
    actor: String,
    /// The service, to learn the ledger's name and the actor's next sequence number when they
    /// are not given.
    #[arg(long, default_value = DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The ledger's name.
    #[arg(long)]
    ledger: Option<String>,
    /// The actor's sequence number for this operation.
    #[arg(long)]
    seq: Option<u64>,
    /// Operation id (32 hex digits); random by default.
    #[arg(long)]
    id: Option<String>,
    /// Link to the next operation of the batch (all or nothing).
    #[arg(long)]
    linked: bool,
    #[command(subcommand)]
    operation: OperationArgs,
}

#[derive(Subcommand)]
enum OperationArgs {
    /// Authority: enrol a participant.
    Enrol {
        #[arg(long)]
        participant: String,
        /// issuer, holder, merchant or auditor.
        #[arg(long)]
        role: String,
        /// Its public key: base64url, hex, or did:key.
        #[arg(long)]
        public_key: String,
        #[arg(long)]
        category: Option<String>,
    },
    /// Authority: define a class from a JSON rules file (see docs/token-formats.md).
    DefineClass {
        #[arg(long)]
        class: String,
        #[arg(long)]
        rules: PathBuf,
    },
    /// Issuer: mint to a holder.
    Mint {
        #[arg(long)]
        class: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
    },
    /// Holder: transfer to a holder or merchant.
    Transfer {
        #[arg(long)]
        class: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
    },
    /// Merchant: redeem (burn) for settlement.
    Redeem {
        #[arg(long)]
        class: String,
        #[arg(long)]
        amount: u64,
    },
    /// Holder: reserve a payment the payee posts or voids before the timeout.
    Pending {
        #[arg(long)]
        class: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
        #[arg(long)]
        timeout_ms: u64,
    },
    /// Payee: complete a pending payment.
    Post {
        #[arg(long)]
        class: String,
        #[arg(long)]
        pending: String,
    },
    /// Payee: cancel a pending payment.
    Void {
        #[arg(long)]
        class: String,
        #[arg(long)]
        pending: String,
    },
    /// Authority: take tokens back, with a reason.
    Clawback {
        #[arg(long)]
        class: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        amount: u64,
        #[arg(long)]
        reason: String,
    },
}

fn name(text: &str, what: &str) -> anyhow::Result<Name> {
    Name::new(text).with_context(|| format!("--{what}"))
}

fn body(operation: OperationArgs) -> anyhow::Result<Body> {
    Ok(match operation {
        OperationArgs::Enrol {
            participant,
            role,
            public_key,
            category,
        } => Body::Enrol {
            participant: name(&participant, "participant")?,
            role: serde_json::from_value::<Role>(Value::String(role))
                .context("--role is issuer, holder, merchant or auditor")?,
            key: PublicKey::parse(&public_key).context("--public-key")?,
            category: category.map(|c| name(&c, "category")).transpose()?,
        },
        OperationArgs::DefineClass { class, rules } => {
            let text = std::fs::read_to_string(&rules)
                .with_context(|| format!("reading {}", rules.display()))?;
            let rules: ClassRules = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a class's rules", rules.display()))?;
            Body::DefineClass {
                class: name(&class, "class")?,
                rules,
            }
        }
        OperationArgs::Mint { class, to, amount } => Body::Mint {
            class: name(&class, "class")?,
            to: name(&to, "to")?,
            amount,
        },
        OperationArgs::Transfer { class, to, amount } => Body::Transfer {
            class: name(&class, "class")?,
            to: name(&to, "to")?,
            amount,
        },
        OperationArgs::Redeem { class, amount } => Body::Redeem {
            class: name(&class, "class")?,
            amount,
        },
        OperationArgs::Pending {
            class,
            to,
            amount,
            timeout_ms,
        } => Body::Pending {
            class: name(&class, "class")?,
            to: name(&to, "to")?,
            amount,
            timeout_ms,
        },
        OperationArgs::Post { class, pending } => Body::Post {
            class: name(&class, "class")?,
            pending: OperationId::from_hex(&pending).context("--pending")?,
        },
        OperationArgs::Void { class, pending } => Body::Void {
            class: name(&class, "class")?,
            pending: OperationId::from_hex(&pending).context("--pending")?,
        },
        OperationArgs::Clawback {
            class,
            from,
            amount,
            reason,
        } => Body::Clawback {
            class: name(&class, "class")?,
            from: name(&from, "from")?,
            amount,
            reason,
        },
    })
}

/// A signed GET: returns the JSON body, or the API's error as an `Err`.
async fn signed_get(
    client: &reqwest::Client,
    url: &str,
    ledger: &Name,
    reader: &Name,
    key: &SigningKey,
    path: &str,
) -> anyhow::Result<Value> {
    let header = token::auth::authorization(ledger, reader, key, now_ms(), path);
    get(client, url, path, Some(header)).await
}

async fn get_json(client: &reqwest::Client, url: &str, path: &str) -> anyhow::Result<Value> {
    get(client, url, path, None).await
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    authorization: Option<String>,
) -> anyhow::Result<Value> {
    let mut request = client.get(format!("{}{path}", url.trim_end_matches('/')));
    if let Some(header) = authorization {
        request = request.header("authorization", header);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("GET {path}: not JSON"))?;
    if !status.is_success() {
        bail!("GET {path}: {status}: {}", body["error"]["message"]);
    }
    Ok(body)
}

async fn ledger_name(client: &reqwest::Client, url: &str) -> anyhow::Result<Name> {
    let info = get_json(client, url, "/v1/token/ledger").await?;
    let text = info["ledger"]
        .as_str()
        .context("the service names no ledger")?;
    Ok(Name::new(text)?)
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = load_key(&args.key)?;
    let actor = name(&args.actor, "actor")?;
    let body = body(args.operation)?;
    let (ledger, seq) = match (args.ledger, args.seq) {
        (Some(ledger), Some(seq)) => (name(&ledger, "ledger")?, seq),
        (ledger, seq) => runtime()?.block_on(async {
            let client = client()?;
            let ledger = match ledger {
                Some(ledger) => name(&ledger, "ledger")?,
                None => ledger_name(&client, &args.url).await?,
            };
            let seq = match seq {
                Some(seq) => seq,
                None => {
                    let path = format!("/v1/token/participants/{actor}");
                    let participant =
                        signed_get(&client, &args.url, &ledger, &actor, &key, &path).await?;
                    participant["next_seq"].as_u64().context("no next_seq")?
                }
            };
            anyhow::Ok((ledger, seq))
        })?,
    };
    let id = match args.id {
        Some(hex) => OperationId::from_hex(&hex).context("--id")?,
        None => OperationId::random(),
    };
    let operation = Operation {
        ledger,
        id,
        actor,
        seq,
        linked: args.linked,
        body,
    };
    println!("{}", serde_json::to_string(&operation.sign(&key))?);
    Ok(())
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The service.
    #[arg(long, default_value = DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// Files of signed operations ("-" for standard input), submitted as one batch in order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn read_operations(path: &Path) -> anyhow::Result<Vec<SignedOperation>> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let mut operations = Vec::new();
    // One operation per line (as `sign` prints), a JSON array, or {"operations": […]}.
    let value: Result<Value, _> = serde_json::from_str(&text);
    match value {
        Ok(Value::Array(items)) => {
            for item in items {
                operations.push(serde_json::from_value(item)?);
            }
        }
        Ok(Value::Object(object)) if object.contains_key("operations") => {
            operations = serde_json::from_value(object["operations"].clone())?;
        }
        Ok(value) => operations.push(serde_json::from_value(value)?),
        Err(_) => {
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                operations.push(
                    serde_json::from_str(line).with_context(|| format!("{}", path.display()))?,
                );
            }
        }
    }
    Ok(operations)
}

async fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let mut operations = Vec::new();
    for file in &args.files {
        operations.extend(read_operations(file)?);
    }
    let response = client()?
        .post(format!(
            "{}/v1/token/operations",
            args.url.trim_end_matches('/')
        ))
        .json(&json!({ "operations": operations }))
        .send()
        .await
        .context("POST /v1/token/operations")?;
    let status = response.status();
    let body: Value = response.json().await.context("the answer is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    if !status.is_success() {
        bail!("{status}: {}", body["error"]["message"]);
    }
    Ok(if body["rejected"].as_u64() == Some(0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Args)]
pub struct BalanceArgs {
    /// The service.
    #[arg(long, default_value = DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The reader's key file.
    #[arg(long)]
    key: PathBuf,
    /// The reader (the participant itself, an auditor or `authority`).
    #[arg(long)]
    actor: String,
    /// Whose balances; the reader's own by default.
    participant: Option<String>,
}

async fn balance(args: BalanceArgs) -> anyhow::Result<()> {
    let key = load_key(&args.key)?;
    let actor = name(&args.actor, "actor")?;
    let participant = match args.participant {
        Some(participant) => name(&participant, "participant")?,
        None => actor.clone(),
    };
    let client = client()?;
    let ledger = ledger_name(&client, &args.url).await?;
    let path = format!("/v1/token/accounts/{participant}");
    let body = signed_get(&client, &args.url, &ledger, &actor, &key, &path).await?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}

#[derive(Args)]
pub struct AuditArgs {
    /// The service to fetch the journal from.
    #[arg(long, default_value = DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// An auditor's (or the authority's) key file: the journal is a signed read.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The auditor's participant name.
    #[arg(long, default_value = "authority")]
    actor: String,
    /// The authority key the auditor trusts (base64url, hex or did:key); required.
    #[arg(long)]
    authority: String,
    /// The notary key that stamps the journal heads (DID document, key string or file);
    /// defaults to $SIGILLO_NOTARY_KEY. Without one, stamps are compared with the journal only.
    #[arg(long)]
    notary_key: Option<String>,
    /// Audit this saved journal instead of fetching one (offline).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Save the fetched journal to this file (for a later offline audit).
    #[arg(long)]
    save: Option<PathBuf>,
}

/// Everything an offline audit needs.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedJournal {
    genesis: Genesis,
    entries: Vec<EntryJson>,
    stamps: Vec<Stamp>,
}

async fn fetch_journal(args: &AuditArgs) -> anyhow::Result<SavedJournal> {
    let client = client()?;
    let info = get_json(&client, &args.url, "/v1/token/ledger").await?;
    let genesis = Genesis {
        ledger: serde_json::from_value(info["ledger"].clone())?,
        authority: serde_json::from_value(info["authority"].clone())?,
        created_ms: info["created_ms"].as_u64().context("created_ms")?,
    };
    let key_path = args
        .key
        .as_ref()
        .context("fetching the journal needs --key (an auditor's or the authority's)")?;
    let key = load_key(key_path)?;
    let actor = name(&args.actor, "actor")?;
    let mut entries = Vec::new();
    loop {
        let path = format!("/v1/token/journal?from={}&limit=1000", entries.len());
        let page = signed_get(&client, &args.url, &genesis.ledger, &actor, &key, &path).await?;
        let batch: Vec<EntryJson> = serde_json::from_value(page["entries"].clone())?;
        if batch.is_empty() {
            break;
        }
        entries.extend(batch);
    }
    let mut stamps: Vec<Stamp> = Vec::new();
    loop {
        let from = stamps.last().map_or(0, |stamp| stamp.length + 1);
        let page = get_json(
            &client,
            &args.url,
            &format!("/v1/token/stamps?from={from}&limit=1000"),
        )
        .await?;
        let batch: Vec<Stamp> = serde_json::from_value(page["stamps"].clone())?;
        if batch.is_empty() {
            break;
        }
        stamps.extend(batch);
    }
    Ok(SavedJournal {
        genesis,
        entries,
        stamps,
    })
}

async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let authority = PublicKey::parse(&args.authority).context("--authority")?;
    let saved = match &args.journal {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a saved journal", path.display()))?
        }
        None => fetch_journal(&args).await?,
    };
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_vec(&saved)?)?;
    }
    let notary = crate::trust::from_flag_or_env(args.notary_key.as_deref())?;
    let mut verifier = notary.map(notary::ReceiptVerifier::new);
    let mut entries = Vec::with_capacity(saved.entries.len());
    for entry in &saved.entries {
        entries.push(
            entry
                .to_entry()
                .with_context(|| format!("journal entry {}", entry.index))?,
        );
    }
    let started = Instant::now();
    match token::audit::audit(
        &saved.genesis,
        entries,
        &saved.stamps,
        &authority,
        verifier.as_mut(),
    ) {
        Ok(report) => {
            let classes: Vec<Value> = report
                .state
                .classes()
                .iter()
                .map(|class| json!({ "class": class.name, "supply": class.supply }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "result": "ok",
                    "ledger": saved.genesis.ledger,
                    "entries": report.state.len(),
                    "head": hex::encode(report.head),
                    "stamps_checked": report.stamps,
                    "stamp_receipts_verified": verifier.is_some(),
                    "last_stamp": report.last_stamp.map(|(length, time_ms)| json!({ "length": length, "time_ms": time_ms })),
                    "participants": report.state.participants().len(),
                    "classes": classes,
                    "seconds": started.elapsed().as_secs_f64(),
                }))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!(
                "{}",
                json!({ "result": "failed", "reason": error.to_string() })
            );
            eprintln!("audit failed: {error}");
            Ok(ExitCode::from(1))
        }
    }
}

#[derive(Args)]
pub struct BenchArgs {
    /// The service.
    #[arg(long, default_value = DEFAULT_URL, env = "SIGILLO_URL")]
    url: String,
    /// The authority's key file (written by `sigillo serve` in its data directory), to enrol the
    /// load's participants.
    #[arg(long)]
    authority_key: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Operations per request.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Measured seconds (bounded to 300).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Holders per client (each signs transfers to the next).
    #[arg(long, default_value_t = 100)]
    holders: usize,
}

async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    operations: &[SignedOperation],
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{}/v1/token/operations", url.trim_end_matches('/')))
        .json(&json!({ "operations": operations }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{status}: {}", body["error"]["message"]);
    }
    Ok(body)
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0
        || args.clients > 256
        || args.batch == 0
        || args.batch > token::state::BATCH_OPERATIONS_MAX
    {
        bail!(
            "--clients is 1 to 256 and --batch 1 to {}",
            token::state::BATCH_OPERATIONS_MAX
        );
    }
    let seconds = args.seconds.clamp(1, 300);
    let authority = load_key(&args.authority_key)?;
    let client = client()?;
    let ledger = ledger_name(&client, &args.url).await?;
    let run = format!("{:x}", rand::random::<u32>());
    // Setup: an issuer, holders, a transferable class, one mint per holder.
    let mut circuit = token::testkit::Circuit::new(ledger.as_str(), rand::random());
    let authority_name = "authority";
    let authority_seq = signed_get(
        &client,
        &args.url,
        &ledger,
        &name(authority_name, "actor")?,
        &authority,
        "/v1/token/participants/authority",
    )
    .await?["next_seq"]
        .as_u64()
        .context("next_seq")?;
    circuit.set_next_seq(authority_name, authority_seq);
    circuit.set_key(authority_name, authority.clone());
    let issuer = format!("bench-{run}-issuer");
    let class = format!("bench-{run}");
    let holders: Vec<String> = (0..args.clients * args.holders)
        .map(|i| format!("bench-{run}-h{i}"))
        .collect();
    let mut setup = vec![circuit.enrol(&issuer, Role::Issuer, None)];
    for holder in &holders {
        setup.push(circuit.enrol(holder, Role::Holder, Some("citizen")));
    }
    setup.push(circuit.define(&class, token::testkit::rules(&issuer, &[])));
    for holder in &holders {
        setup.push(circuit.sign(
            &issuer,
            Body::Mint {
                class: name(&class, "class")?,
                to: name(holder, "holder")?,
                amount: 1 << 40,
            },
        ));
    }
    for chunk in setup.chunks(4_096) {
        let body = post_batch(&client, &args.url, chunk).await?;
        if body["rejected"].as_u64() != Some(0) {
            bail!("the load's setup was refused: {body}");
        }
    }
    // Pre-sign enough transfers for the run at 60,000 per second, so signing is not measured.
    let per_client =
        ((60_000 * (seconds + 1)) as usize / args.clients / args.batch + 1) * args.batch;
    eprintln!("signing {} transfers…", per_client * args.clients);
    let mut work = Vec::new();
    for c in 0..args.clients {
        let mine = &holders[c * args.holders..(c + 1) * args.holders];
        let ops: Vec<SignedOperation> = (0..per_client)
            .map(|k| {
                let from = &mine[k % mine.len()];
                let to = &mine[(k + 1) % mine.len()];
                circuit.sign(
                    from,
                    Body::Transfer {
                        class: Name::new(&class).expect("a valid class name"),
                        to: Name::new(to).expect("a valid holder name"),
                        amount: 1,
                    },
                )
            })
            .collect();
        work.push(ops);
    }
    eprintln!(
        "running {} clients for {seconds} s with batches of {}",
        args.clients, args.batch
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for ops in work {
        let client = client.clone();
        let url = args.url.clone();
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut applied = 0u64;
            for chunk in ops.chunks(batch) {
                if Instant::now() >= deadline {
                    break;
                }
                let started = Instant::now();
                let body = post_batch(&client, &url, chunk).await?;
                latencies.push(started.elapsed());
                applied += body["applied"].as_u64().unwrap_or(0);
                if body["rejected"].as_u64() != Some(0) {
                    bail!("transfers were refused: {}", body["results"]);
                }
            }
            anyhow::Ok((applied, latencies))
        }));
    }
    let started = Instant::now();
    let mut applied = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (count, mut times) = task.await??;
        applied += count;
        latencies.append(&mut times);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        json!({
            "clients": args.clients,
            "batch": args.batch,
            "seconds": elapsed,
            "operations_applied": applied,
            "operations_per_second": applied as f64 / elapsed,
            "requests": latencies.len(),
            "batch_latency_ms": { "p50": percentile(0.50), "p99": percentile(0.99), "max": percentile(1.0) },
        })
    );
    Ok(())
}
