//! `sigillo tokens create|revoke|list`: the bearer tokens of every module, in
//! `DATA/access/tokens.json` (hashes only). A running service picks changes up within a second.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Create a token and print it (once: only its hash is kept).
    Create {
        /// The data directory of the service.
        #[arg(long, default_value = "data", env = "SIGILLO_DATA")]
        data: PathBuf,
        /// Who holds it (logged, and recorded in reviews).
        #[arg(long)]
        name: String,
        /// Its role: authority, issuer, platform, holder, auditor or operator.
        #[arg(long)]
        role: access::Role,
        /// What it may act as or on, comma-separated: the issuer id for an issuer, measures for
        /// a platform; `*` for everything.
        #[arg(long, value_delimiter = ',', default_value = access::ANY)]
        scope: Vec<String>,
    },
    /// Revoke the token with this name.
    Revoke {
        /// The data directory of the service.
        #[arg(long, default_value = "data", env = "SIGILLO_DATA")]
        data: PathBuf,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
    /// List the tokens: name, role, scope, and `revoked` for the revoked ones.
    List {
        /// The data directory of the service.
        #[arg(long, default_value = "data", env = "SIGILLO_DATA")]
        data: PathBuf,
    },
}

fn open(data: &std::path::Path) -> anyhow::Result<access::Access> {
    Ok(access::Access::open(&data.join("access"))?)
}

/// Runs one `sigillo tokens` command.
pub fn run(command: TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::Create {
            data,
            name,
            role,
            scope,
        } => {
            let token = open(&data)?.create(&name, role, &scope)?;
            println!("{token}");
            eprintln!(
                "created {name} ({role}, scope {}); the token is shown only now",
                scope.join(",")
            );
        }
        TokensCommand::Revoke { data, name } => {
            let grant = open(&data)?.revoke(&name)?;
            eprintln!("revoked {name} ({})", grant.role);
        }
        TokensCommand::List { data } => {
            for grant in open(&data)?.list() {
                let revoked = if grant.revoked { " revoked" } else { "" };
                println!(
                    "{} {} {}{revoked}",
                    grant.name,
                    grant.role,
                    grant.scope.join(",")
                );
            }
        }
    }
    Ok(())
}
