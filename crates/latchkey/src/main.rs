//! `latchkey`: the server and its command line (SPEC §6).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod backup;
mod cli;
mod config;
mod doctor;
mod http;
mod serve;
mod tls;
mod token_cmd;

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "A self-hosted OAuth 2.0 and OpenID Connect server built around client management"
)]
struct Cli {
    /// Configuration file (default: ./latchkey.toml when present).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG")]
    config: Option<PathBuf>,
    /// Server base URL, for the commands that talk to a running server.
    #[arg(long, global = true, env = "LATCHKEY_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Tenant to manage (default: the default tenant).
    #[arg(long, global = true, env = "LATCHKEY_TENANT")]
    tenant: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (creates the data directory and default tenant on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Fetch a token with client_credentials from a running server (for testing).
    Token(token_cmd::TokenArgs),
    /// Check a configuration: database, master key, clock, public URL, file modes, TLS.
    Doctor,
    /// Print a shell completion script (e.g. `latchkey completions bash > /etc/bash_completion.d/latchkey`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `latchkey man | man -l -`.
    Man,
    /// Copy the SQLite database to FILE while the server runs (PostgreSQL: pg_dump).
    #[command(after_help = "Examples:\n  latchkey backup /var/backups/latchkey-$(date +%F).db\n\n\
        The backup does not contain the master key and cannot be read without it: keep a copy of the key apart.")]
    Backup {
        /// Where to write the backup (must not exist).
        file: PathBuf,
    },
    /// Restore a backup made by `latchkey backup` into an empty data directory.
    #[command(after_help = "Examples:\n  install -m 0600 master.key /var/lib/latchkey/master.key\n  \
        latchkey restore /var/backups/latchkey-2026-12-01.db\n\n\
        The master key of the installation the backup comes from must be in place first.")]
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    #[command(flatten)]
    Admin(cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every HTTP client of the process (CLI, outbound) uses rustls on aws-lc-rs.
    latchkey_app::remote::http::install_tls_provider();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Serve => serve::serve(cli.config.as_deref()).await,
            Command::Migrate => serve::migrate(cli.config.as_deref()).await,
            Command::Backup { file } => backup::backup(cli.config.as_deref(), &file).await,
            Command::Restore { file } => backup::restore(cli.config.as_deref(), &file).await,
            Command::Token(args) => token_cmd::run(args, &cli.server).await,
            Command::Doctor => match doctor::run(cli.config.as_deref()).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(anyhow::anyhow!("doctor: some checks failed")),
                Err(e) => Err(e),
            },
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "latchkey", &mut std::io::stdout());
                Ok(())
            }
            Command::Man => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()).map_err(Into::into),
            Command::Admin(cmd) => cli::run(cmd, &cli.server, cli.tenant.as_deref()).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: error chains and server messages never span lines.
            let msg = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("latchkey: {msg}");
            ExitCode::from(1)
        }
    }
}
