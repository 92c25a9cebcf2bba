//! `sigillo serve`: the notary, the token ledger and the credentials on sled under the data directory, the
//! notary's did:web document, a bounded number of connections, and a graceful stop that applies
//! and seals what waits.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::{bail, Context as _};
use axum::serve::Listener;
use clap::Args;
use notary::{keys, Notary, NotaryConfig, NoteSigner};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default for the most client connections open at once; further ones wait in the kernel's
/// backlog until one closes.
pub const CONNECTIONS_MAX: usize = 8_192;
/// The highest `--connections-max` accepted (the descriptors of one process).
const CONNECTIONS_LIMIT_MAX: usize = 65_536;
/// Connections the kernel queues before the service accepts them (capped by `somaxconn`).
const LISTEN_BACKLOG: u32 = 4_096;
/// The checkpoint origin of a new deployment when none is given.
pub const DEFAULT_ORIGIN: &str = "localhost/sigillo/notary";

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML file of settings (keys: these settings' names in snake_case, e.g.
    /// `block_interval_ms = 100`); flags and environment variables override it.
    #[arg(long, env = "SIGILLO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: every module's keys and sled stores (notary, token, wallet, eligibility).
    #[arg(long, default_value = "data", env = "SIGILLO_DATA")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SIGILLO_LISTEN")]
    listen: String,
    /// Public base URL of the service; its host names the did:web DID.
    /// Defaults to http://LISTEN.
    #[arg(long, env = "SIGILLO_PUBLIC_URL")]
    public_url: Option<String>,
    /// The log's origin (the checkpoint key's name). Fixed at the first start.
    #[arg(long, default_value = DEFAULT_ORIGIN, env = "SIGILLO_ORIGIN")]
    origin: String,
    /// Where the DID documents are written.
    #[arg(long, default_value = "did-docs", env = "SIGILLO_DID_DOCS")]
    did_docs: PathBuf,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = notary::notary::BLOCK_INTERVAL_MS, env = "SIGILLO_BLOCK_INTERVAL_MS")]
    block_interval_ms: u64,
    /// Entries that seal a block at once.
    #[arg(long, default_value_t = notary::notary::BLOCK_ENTRIES_MAX, env = "SIGILLO_BLOCK_ENTRIES_MAX")]
    block_entries_max: usize,
    /// Client connections open at once; more wait to be accepted.
    #[arg(long, default_value_t = CONNECTIONS_MAX, env = "SIGILLO_CONNECTIONS_MAX")]
    connections_max: usize,
    /// The RFC 3161 policy OID the time-stamp authority names in its tokens.
    #[arg(long, default_value = notary::tsa::DEFAULT_POLICY, env = "SIGILLO_TSA_POLICY")]
    tsa_policy: String,
    /// Ethereum JSON-RPC URL of the node to anchor checkpoints on (Besu, EBSI, anvil…). No
    /// anchoring without it. The account (key in DATA/anchor.key) must hold gas.
    #[arg(long, env = "SIGILLO_ANCHOR_RPC")]
    anchor_rpc: Option<String>,
    /// Milliseconds between anchors of a log that grew (`POST /v1/notary/anchors` anchors now).
    #[arg(long, default_value_t = 60_000, env = "SIGILLO_ANCHOR_INTERVAL_MS")]
    anchor_interval_ms: u64,
    /// Blocks (including the transaction's) before an anchor counts as confirmed.
    #[arg(long, default_value_t = 2, env = "SIGILLO_ANCHOR_CONFIRMATIONS")]
    anchor_confirmations: u64,
    /// Milliseconds between checks of the pending anchor transaction.
    #[arg(long, default_value_t = 1_000, env = "SIGILLO_ANCHOR_POLL_MS")]
    anchor_poll_ms: u64,
    /// A JSON file listing the credential issuers (`[{id, name, types}]`); the Nidi Gratis and
    /// business-call issuers when absent.
    #[arg(long, env = "SIGILLO_ISSUERS")]
    issuers: Option<PathBuf>,
    /// A JSON file of external issuers the credential verifiers trust
    /// (`[{id, types, document | jwk}]`), resolved offline.
    #[arg(long, env = "SIGILLO_TRUSTED_ISSUERS")]
    trusted_issuers: Option<PathBuf>,
    /// The token ledger's name (every operation signs it). Fixed at the first start.
    #[arg(long, default_value = DEFAULT_TOKEN_LEDGER, env = "SIGILLO_TOKEN_LEDGER")]
    token_ledger: String,
    /// Base URL of the registries (`sigillo registries`); eligibility is off without it.
    #[arg(long, env = "SIGILLO_REGISTRIES")]
    registries: Option<String>,
    /// The registries' keys (a JWK Set file). Without it they are fetched from
    /// REGISTRIES/.well-known/jwks.json at the first start and pinned in
    /// DATA/eligibility/registry-keys.json; a later change of key stops the start.
    #[arg(long, env = "SIGILLO_REGISTRY_KEYS")]
    registry_keys: Option<PathBuf>,
    /// Milliseconds after which a registry that has not answered counts as unavailable.
    #[arg(long, default_value_t = 2_000, env = "SIGILLO_REGISTRY_DEADLINE_MS")]
    registry_deadline_ms: u64,
    /// Requests a second each client (bearer token, else IP address) may make; 0 for no limit.
    /// Over it: 429 with Retry-After. Health, readiness and metrics are not limited.
    #[arg(long, default_value_t = 0, env = "SIGILLO_RATE_LIMIT_PER_SECOND")]
    rate_limit_per_second: u32,
    /// Requests a client may make at once above its rate (default: twice the rate).
    #[arg(long, env = "SIGILLO_RATE_LIMIT_BURST")]
    rate_limit_burst: Option<u32>,
    /// Milliseconds a request may take before it is answered 503.
    #[arg(long, default_value_t = 30_000, env = "SIGILLO_REQUEST_TIMEOUT_MS")]
    request_timeout_ms: u64,
    /// Requests handled at once; more wait.
    #[arg(long, default_value_t = REQUESTS_IN_FLIGHT_MAX, env = "SIGILLO_REQUESTS_IN_FLIGHT_MAX")]
    requests_in_flight_max: usize,
    /// Origins browsers may call the API from (comma-separated, e.g.
    /// https://servizi.comune.milano.it); none by default, and then no CORS header is sent.
    #[arg(long, value_delimiter = ',', env = "SIGILLO_CORS_ORIGINS")]
    cors_origins: Vec<String>,
}

/// Default for the most requests handled at once.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 16_384;

/// The token ledger's name when none is given.
pub const DEFAULT_TOKEN_LEDGER: &str = "sigillo";

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.block_interval_ms == 0 || args.block_interval_ms > 60_000 {
        bail!("--block-interval-ms must be 1 to 60000");
    }
    if args.block_entries_max < notary::notary::BATCH_ENTRIES_MAX
        || args.block_entries_max > 1 << 20
    {
        bail!(
            "--block-entries-max must be {} to {}",
            notary::notary::BATCH_ENTRIES_MAX,
            1 << 20
        );
    }
    if args.connections_max == 0 || args.connections_max > CONNECTIONS_LIMIT_MAX {
        bail!("--connections-max must be 1 to {CONNECTIONS_LIMIT_MAX}");
    }
    if args.request_timeout_ms < 100 || args.request_timeout_ms > 600_000 {
        bail!("--request-timeout-ms must be 100 to 600000");
    }
    if args.requests_in_flight_max == 0 || args.requests_in_flight_max > 1 << 20 {
        bail!("--requests-in-flight-max must be 1 to {}", 1 << 20);
    }
    if args.registry_deadline_ms == 0 || args.registry_deadline_ms > 60_000 {
        bail!("--registry-deadline-ms must be 1 to 60000");
    }
    if args.rate_limit_burst == Some(0) {
        bail!("--rate-limit-burst must be above 0");
    }
    let cors = crate::protection::cors(&args.cors_origins)?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating the data directory {}", args.data.display()))?;
    let access = open_access(&args.data)?;
    let stampers = |router| access::guard(router, access.clone(), STAMPERS);
    let operators = |router| access::guard(router, access.clone(), &[access::Role::Operator]);
    let key = keys::load_or_generate(&args.data.join("notary.key"))?;
    let signer = NoteSigner::new(&args.origin, key)?;
    let mut config = NotaryConfig::new(&args.origin);
    config.block_interval_ms = args.block_interval_ms;
    config.block_entries_max = args.block_entries_max;
    let notary = Notary::open(&args.data.join("notary"), signer, config)
        .with_context(|| format!("opening the notary in {}", args.data.display()))?;

    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let host = public_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .filter(|host| !host.is_empty())
        .context("--public-url must look like http://host[:port]")?;
    let did = keys::did_web(host, &["notary"]);
    let document = keys::did_document(
        &did,
        &notary.verifier(),
        &format!("{}/v1/notary", public_url.trim_end_matches('/')),
    );
    let document_dir = args.did_docs.join("notary");
    std::fs::create_dir_all(&document_dir)?;
    std::fs::write(
        document_dir.join("did.json"),
        serde_json::to_string_pretty(&document)? + "\n",
    )?;

    // The token ledger: its authority key beside the notary's, its journal under data/token.
    let token_name = token::Name::new(&args.token_ledger)
        .map_err(|error| anyhow::anyhow!("--token-ledger: {error}"))?;
    let authority_path = args.data.join("token-authority.key");
    let authority = keys::load_or_generate(&authority_path)?;
    let authority = token::PublicKey::from_bytes(authority.verifying_key().as_bytes())?;
    let clock = token::ledger::wall_clock();
    let genesis = token::Genesis {
        ledger: token_name,
        authority,
        created_ms: clock(),
    };
    let ledger = token::Ledger::open(&args.data.join("token"), genesis, clock.clone())
        .with_context(|| format!("opening the token ledger in {}", args.data.display()))?;

    // The RFC 3161 TSA: its P-256 key and certificate chain under data/tsa, made at first start.
    let tsa = notary::tsa::Tsa::open(&args.data.join("tsa"), &args.origin, &args.tsa_policy)
        .context("setting up the time-stamp authority")?;
    let anchorer = match &args.anchor_rpc {
        Some(rpc_url) => {
            if args.anchor_confirmations == 0 || args.anchor_confirmations > 1_000 {
                bail!("--anchor-confirmations must be 1 to 1000");
            }
            if args.anchor_poll_ms == 0 || args.anchor_interval_ms == 0 {
                bail!("--anchor-poll-ms and --anchor-interval-ms must be above 0");
            }
            let key = notary::anchor::load_or_generate_key(&args.data.join("anchor.key"))?;
            let config = notary::anchor::AnchorConfig {
                rpc_url: rpc_url.clone(),
                interval: std::time::Duration::from_millis(args.anchor_interval_ms),
                confirmations: args.anchor_confirmations,
                poll: std::time::Duration::from_millis(args.anchor_poll_ms),
                rpc_timeout: std::time::Duration::from_secs(10),
            };
            Some(
                notary::anchor::Anchorer::open(&args.data.join("anchor"), key, config)
                    .context("opening the anchor store")?,
            )
        }
        None => None,
    };
    // Every module's routes come with their OpenAPI description (`utoipa_axum::routes!`): the
    // document served at /openapi.json is made from the very routes that answer.
    let mut app = notary::http::api(notary.clone(), Some(document), &stampers).merge(
        notary::http::tsa_router(Arc::new(tsa), notary.clone(), &stampers),
    );
    if let Some(anchorer) = &anchorer {
        app = app.merge(notary::http::anchor_router(
            Arc::clone(anchorer),
            notary.clone(),
            &operators,
        ));
    }
    let app = app.merge(token::http::api(ledger.clone(), clock));

    // Credentials: the issuers' keys and token hashes under data/wallet, their DID documents
    // under did-docs/issuers and at /issuers/ID/did.json.
    let credentials = open_credentials(&args, &public_url, host, access.clone())?;
    for issuer in credentials.issuers() {
        let dir = args.did_docs.join("issuers").join(&issuer.id);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("did.json"),
            serde_json::to_string_pretty(&issuer.document())? + "\n",
        )?;
    }
    if access.new_tokens_path().exists() {
        println!(
            "new tokens (hand them out, then delete the file): {}",
            access.new_tokens_path().display()
        );
    }
    let credentials = Arc::new(credentials);
    let calls = Arc::new(wallet::oid4vp::Calls::new(
        credentials.clone(),
        notary.clone(),
    ));
    let hosted = wallet::hosted::HostedWallets::new(args.data.join("wallets"), notary.clone())
        .context("opening the hosted wallets' directory")?;
    let app = app
        .merge(wallet::http::api(credentials.clone()))
        .merge(wallet::http::calls_api(calls.clone()))
        .merge(wallet::hosted::api(Arc::new(hosted), &operators));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The minter's task starts in the runtime.
    let _runtime_guard = runtime.enter();
    // Eligibility: the registries' pinned keys, decisions under data/eligibility.
    let (app, eligibility) = match &args.registries {
        Some(url) => {
            let (router, eligibility) = open_eligibility(
                &args,
                url,
                notary.clone(),
                ledger.clone(),
                credentials,
                access.clone(),
            )?;
            (app.merge(router), Some(eligibility))
        }
        None => (app, None),
    };
    // Health, readiness and Prometheus metrics; every route above is counted and timed.
    let observability = Arc::new(crate::observability::Observability::new(
        notary.clone(),
        ledger.clone(),
        crate::observability::Sources {
            eligibility: eligibility.clone(),
            anchorer: anchorer.clone(),
        },
    ));
    let app = app
        .merge(crate::observability::router(observability.clone()))
        .merge(crate::openapi::router());
    let (app, document) = app.split_for_parts();
    crate::openapi::publish(document, &public_url)?;
    let rate_limit = std::num::NonZeroU32::new(args.rate_limit_per_second).map(|rate| {
        let burst = args
            .rate_limit_burst
            .and_then(std::num::NonZeroU32::new)
            .unwrap_or_else(|| {
                std::num::NonZeroU32::new(rate.get().saturating_mul(2)).unwrap_or(rate)
            });
        Arc::new(crate::protection::RateLimit::new(rate, burst))
    });
    // The service-wide layers, outermost first, as one stack: `Router::layer` wraps every
    // route on its own, and a route's service is cloned, down to its handler, at every layer
    // it passes on each request. One stack is one such layer instead of five.
    let layers = tower::ServiceBuilder::new()
        // Outermost, so that refusals by the layers below are counted too.
        .layer(crate::observability::TrackLayer(observability))
        .option_layer(cors)
        .option_layer(
            rate_limit
                .clone()
                .map(|limit| axum::middleware::from_fn_with_state(limit, crate::protection::limit)),
        )
        // Global: every route's copy of the stack shares one semaphore (a plain
        // `ConcurrencyLimitLayer` would give each route one of its own).
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            args.requests_in_flight_max,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            std::time::Duration::from_millis(args.request_timeout_ms),
        ));
    let app = app.fallback(crate::openapi::no_route).layer(layers);
    runtime.block_on(async {
        let listener = listen(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, %did, origin = %args.origin, data = %args.data.display(), "sigillo is serving");
        println!("sigillo listening on http://{address}");
        println!("notary key: {}", notary.verifier().to_vkey());
        println!(
            "token ledger {:?}: authority {} (key file {})",
            ledger.genesis().ledger.as_str(),
            ledger.genesis().authority.to_did_key(),
            authority_path.display()
        );
        tokio::spawn(ledger.clone().stamp_heads(notary.clone()));
        {
            // Expired offers, tokens, nonces and requests go, every minute.
            let calls = calls.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let now = wallet::now_seconds();
                    let sweeper = calls.clone();
                    let swept = tokio::task::spawn_blocking(move || {
                        sweeper.credentials().purge_expired(now)
                    })
                    .await;
                    match swept {
                        Ok(Ok(0)) => {}
                        Ok(Ok(count)) => tracing::info!(count, "purged expired grants"),
                        Ok(Err(error)) => tracing::error!(%error, "purging expired grants"),
                        Err(error) => tracing::error!(%error, "the purge task failed"),
                    }
                }
            });
        }
        {
            let calls = calls.clone();
            tokio::spawn(async move {
                match calls.stamp_pending().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "stamped applications a stop left unstamped"),
                    Err(error) => tracing::error!(%error, "stamping pending applications"),
                }
            });
        }
        if let Some(eligibility) = &eligibility {
            match eligibility.stamp_pending() {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "stamping decisions a stop left unstamped"),
                Err(error) => tracing::error!(%error, "stamping pending decisions"),
            }
        }
        if let Some(anchorer) = &anchorer {
            println!(
                "anchoring on {} from account {}",
                args.anchor_rpc.as_deref().unwrap_or_default(),
                anchorer.account()
            );
            tokio::spawn(Arc::clone(anchorer).run(notary.clone()));
        }
        let listener = LimitedListener {
            inner: listener,
            permits: Arc::new(Semaphore::new(args.connections_max)),
        };
        if let Some(limit) = rate_limit {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    limit.forget_idle();
                }
            });
        }
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<crate::protection::ClientAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        anyhow::Ok(())
    })?;
    // Apply and store whatever was accepted before the signal, then exit.
    ledger.shutdown();
    notary.shutdown();
    tracing::info!("sigillo stopped");
    Ok(())
}

/// Who may stamp (`POST /v1/notary/entries`, `POST /v1/tsa`): every role but the auditor,
/// which changes nothing.
const STAMPERS: &[access::Role] = &[
    access::Role::Authority,
    access::Role::Issuer,
    access::Role::Platform,
    access::Role::Holder,
    access::Role::Operator,
];

/// The bearer tokens of every module, in `DATA/access`. The first start makes a platform, an
/// operator and an auditor token (the credentials module adds one per issuer) and writes them
/// to `new-tokens.txt`; tokens of an earlier version's eligibility store are carried over.
fn open_access(data: &Path) -> anyhow::Result<Arc<access::Access>> {
    let access = access::Access::open(&data.join("access")).context("opening the access tokens")?;
    let legacy = data.join("eligibility").join("access.json");
    if let Ok(bytes) = std::fs::read(&legacy) {
        #[derive(serde::Deserialize)]
        struct OldGrant {
            name: String,
            role: access::Role,
            sha256: String,
        }
        let grants: Vec<OldGrant> = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading the earlier tokens in {}", legacy.display()))?;
        for grant in grants {
            access.import(
                &grant.name,
                grant.role,
                &[access::ANY.into()],
                &grant.sha256,
            )?;
        }
    }
    for (name, role) in [
        ("platform", access::Role::Platform),
        ("operator", access::Role::Operator),
        ("auditor", access::Role::Auditor),
    ] {
        access.ensure(name, role, &[access::ANY.into()])?;
    }
    Ok(Arc::new(access))
}

/// The eligibility service and its router: the registries' keys (given, pinned, or fetched
/// and pinned), the store, the shared access tokens, and the minter (started in the runtime).
fn open_eligibility(
    args: &ServeArgs,
    url: &str,
    notary: Notary,
    ledger: token::Ledger,
    credentials: Arc<wallet::Credentials>,
    access: Arc<access::Access>,
) -> anyhow::Result<(
    notary::http::ApiRouter,
    Arc<orchestrator::eligibility::Eligibility>,
)> {
    use orchestrator::registries;
    let dir = args.data.join("eligibility");
    std::fs::create_dir_all(&dir)?;
    let pinned_path = dir.join("registry-keys.json");
    let read_json = |path: &std::path::Path| -> anyhow::Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let jwks = match &args.registry_keys {
        Some(path) => read_json(path)?,
        None if pinned_path.exists() => read_json(&pinned_path)?,
        None => {
            // On a thread of its own: this runs inside the service's runtime context.
            let owned = url.to_owned();
            std::thread::spawn(move || fetch_jwks(&owned))
                .join()
                .map_err(|_| anyhow::anyhow!("the key fetch panicked"))?
                .with_context(|| format!("fetching the registries' keys from {url}"))?
        }
    };
    let keys = registries::keys_from_jwks(&jwks)
        .map_err(|error| anyhow::anyhow!("registry keys: {error}"))?;
    if !pinned_path.exists() {
        keys::write_durably(
            &pinned_path,
            (serde_json::to_string_pretty(&jwks)? + "\n").as_bytes(),
            0o644,
        )?;
    }
    let mut config = orchestrator::client::ClientConfig::new(url);
    config.deadline = std::time::Duration::from_millis(args.registry_deadline_ms);
    config.attempt_timeout = config
        .deadline
        .mul_f64(0.4)
        .max(std::time::Duration::from_millis(1));
    config.client_id = format!("sigillo:{}", args.origin);
    let client = orchestrator::client::RegistryClient::new(config, keys);
    let store = orchestrator::store::Store::open(&dir.join("db"))
        .context("opening the eligibility store")?;
    let authority = keys::load_or_generate(&args.data.join("token-authority.key"))?;
    let issuer = keys::load_or_generate(&dir.join("token-issuer.key"))?;
    let minter = orchestrator::minter::Minter::start(ledger, authority, issuer);
    let service = Arc::new(orchestrator::eligibility::Eligibility::new(
        orchestrator::rules::Measure::built_in(),
        client,
        store,
        notary,
        Some(credentials),
        Some(minter),
    ));
    Ok((orchestrator::http::api(service.clone(), access), service))
}

/// GETs the registries' JWK Set, retrying for up to ten seconds while they start.
fn fetch_jwks(url: &str) -> anyhow::Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let answer = client
                .get(format!(
                    "{}/.well-known/jwks.json",
                    url.trim_end_matches('/')
                ))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            match answer {
                Ok(response) => return Ok(response.json().await?),
                Err(error) if std::time::Instant::now() > deadline => return Err(error.into()),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    })
}

fn open_credentials(
    args: &ServeArgs,
    public_url: &str,
    host: &str,
    access: Arc<access::Access>,
) -> anyhow::Result<wallet::Credentials> {
    let read = |path: &PathBuf| -> anyhow::Result<String> {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let issuers = match &args.issuers {
        Some(path) => serde_json::from_str(&read(path)?)
            .with_context(|| format!("{}: a list of {{id, name, types}}", path.display()))?,
        None => wallet::issuers::default_issuers(),
    };
    let external = match &args.trusted_issuers {
        Some(path) => serde_json::from_str(&read(path)?).with_context(|| {
            format!(
                "{}: a list of {{id, types, document | jwk}}",
                path.display()
            )
        })?,
        None => Vec::new(),
    };
    wallet::Credentials::open(wallet::CredentialsConfig {
        access: Some(access),
        data_dir: args.data.join("wallet"),
        public_url: public_url.to_owned(),
        did_host: host.to_owned(),
        issuers,
        external,
    })
    .context("opening the credentials module")
}

/// Binds with a backlog of [`LISTEN_BACKLOG`]: `TcpListener::bind` uses 1,024, and a burst of
/// more connections than that waits for the client's SYN retransmit, a full second.
async fn listen(address: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for address in tokio::net::lookup_host(address).await? {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(address)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("the address resolves to nothing")))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// A TCP listener that holds at most `--connections-max` connections open.
struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

/// A connection holding its permit until it closes.
struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, address)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        LimitedStream {
                            stream,
                            _permit: permit,
                        },
                        address,
                    );
                }
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, LimitedListener>>
    for crate::protection::ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, LimitedListener>) -> Self {
        crate::protection::ClientAddr(*stream.remote_addr())
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
