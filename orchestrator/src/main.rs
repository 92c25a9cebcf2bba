//! `sigillo`: the service and the command-line tool. This binary only wires the library crates
//! together; the logic lives in them.

mod audit;
mod bench;
mod config;
mod credentials;
mod eligibility_cli;
mod observability;
mod openapi;
mod protection;
mod serve;
mod stamp;
mod token;
mod tokens_cli;
mod trust;
mod verify;
mod wallet_cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The service answers thousands of small requests a second, each allocating a few dozen times
/// across hyper, axum and serde; glibc's allocator took a fifth of the notary's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sigillo: notarisation, verifiable credentials and eligibility for public bodies.
#[derive(Parser)]
#[command(name = "sigillo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (notary, TSA, anchoring, token ledger, credentials) on the embedded store.
    Serve(serve::ServeArgs),
    /// Hash files locally, notarise the digests, save FILE.receipt.json beside each file.
    Stamp(stamp::StampArgs),
    /// Verify a receipt offline against a file or a digest.
    Verify(verify::VerifyArgs),
    /// Check that the notary's log only ever grew: consistency, block chain, monotonic times.
    Audit(audit::AuditArgs),
    /// Load-test the notary over HTTP, bounded in time.
    Bench(bench::BenchArgs),
    /// Verifiable credentials: the load tool.
    Credentials {
        #[command(subcommand)]
        command: credentials::CredentialsCommand,
    },
    /// The closed-circuit token ledger: keys, signing, submitting, balances, audit, load.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// The simulated registries (ANPR, INPS, nurseries, job centres, Registro Imprese, DURC)
    /// over a synthetic population, each answer signed, with fault injection.
    Registries(eligibility_cli::RegistriesArgs),
    /// Eligibility: apply to a measure, list and resolve pending reviews, load-test.
    Eligibility {
        #[command(subcommand)]
        command: eligibility_cli::EligibilityCommand,
    },
    /// Create, revoke or list the bearer tokens of every module (DATA/access/tokens.json; a
    /// running service picks changes up within a second).
    Tokens {
        #[command(subcommand)]
        command: tokens_cli::TokensCommand,
    },
    /// Replay a decision offline from its evidence: registry signatures, rules, receipts.
    Replay(eligibility_cli::ReplayArgs),
    /// A citizen's or business's wallet: create, list, show, import-document, receive
    /// (OpenID4VCI), present (OpenID4VP), export.
    Wallet {
        #[command(subcommand)]
        command: wallet_cli::WalletCommand,
    },
}

/// Parses the command line; for `serve --config FILE`, again with the file's settings added
/// where neither a flag nor the environment set them.
fn parse() -> Cli {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = Cli::command();
    let matches = command.clone().get_matches_from(&argv);
    if let Some(("serve", serve_matches)) = matches.subcommand() {
        if let Some(path) = serve_matches.get_one::<PathBuf>("config") {
            let serve = command
                .find_subcommand("serve")
                .expect("serve is a subcommand");
            match config::extra_args(path, serve, serve_matches) {
                Ok(extra) => {
                    let mut argv = argv;
                    argv.extend(extra);
                    return Cli::parse_from(argv);
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    std::process::exit(2);
                }
            }
        }
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    // Structured logs on stderr: text by default, one JSON object per event with
    // SIGILLO_LOG_FORMAT=json; the level from RUST_LOG (default info).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SIGILLO_LOG_FORMAT").as_deref() == Ok("json") {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Stamp(args) => stamp::run(args),
        Command::Verify(args) => return verify::run(args),
        Command::Audit(args) => return audit::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Credentials { command } => credentials::run(command),
        Command::Wallet { command } => wallet_cli::run(command),
        Command::Registries(args) => eligibility_cli::registries(args),
        Command::Eligibility { command } => match eligibility_cli::run(command) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
        Command::Tokens { command } => tokens_cli::run(command),
        Command::Replay(args) => match eligibility_cli::replay(args) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
        Command::Token { command } => match token::run(command) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The default service address, for the commands that talk to it.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Default headers with `Authorization: Bearer TOKEN` when a token is given.
pub fn bearer_headers(token: Option<&str>) -> anyhow::Result<reqwest::header::HeaderMap> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| anyhow::anyhow!("the token is not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(headers)
}

/// A path with `.receipt.json` appended to the file name.
pub fn receipt_path(file: &std::path::Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".receipt.json");
    PathBuf::from(name)
}
