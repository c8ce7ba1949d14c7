//! `latchkey`: the server and its command line (SPEC §6).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod backup;
mod cli;
mod config;
mod doctor;
mod http;
mod master_key;
mod serve;
mod telemetry;
mod tls;
mod token_cmd;

/// Where `--help` lists the options every command takes.
const GLOBAL: &str = "Global options";

/// `latchkey --help` after the options: exit codes and where to start.
const AFTER_HELP: &str = "\
Examples:
  latchkey serve
  latchkey login
  latchkey client list -o table
  latchkey -o json client show billing-jobs
  latchkey plan clients.yaml --detailed-exitcode

Output: -o table (default on a terminal), -o json (default when piped) or -o yaml,
before or after the command. No colours when the output is not a terminal, or
when NO_COLOR is set.
";

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "A self-hosted OAuth 2.0 and OpenID Connect server built around client management",
    after_help = format!("{AFTER_HELP}\n{}", cli::exit::HELP)
)]
struct Cli {
    /// Configuration file (default: ./latchkey.toml when present).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", help_heading = GLOBAL)]
    config: Option<PathBuf>,
    /// Server base URL, for the commands that talk to a running server.
    #[arg(long, global = true, env = "LATCHKEY_SERVER", default_value = "http://127.0.0.1:8080", help_heading = GLOBAL)]
    server: String,
    /// Tenant to manage (default: the default tenant).
    #[arg(long, global = true, env = "LATCHKEY_TENANT", help_heading = GLOBAL)]
    tenant: Option<String>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'o', global = true, value_enum, help_heading = GLOBAL)]
    output: Option<cli::Format>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (creates the data directory and default tenant on first start).
    #[command(after_help = "Examples:
  latchkey serve
  LATCHKEY_DATABASE_URL=postgres://latchkey@db/latchkey latchkey serve
  latchkey serve --config /etc/latchkey/latchkey.toml")]
    Serve,
    /// Apply database migrations and exit.
    #[command(after_help = "Examples:
  latchkey migrate
  latchkey migrate --config /etc/latchkey/latchkey.toml")]
    Migrate,
    /// Fetch a token with client_credentials from a running server (for testing).
    #[command(after_help = "Examples:
  latchkey token --client-id latchkey-admin --client-secret \"$SECRET\" --scope admin
  latchkey token --client-id billing-jobs --client-secret \"$SECRET\" --raw")]
    Token(token_cmd::TokenArgs),
    /// Check a configuration: database, master key, clock, public URL, file modes, TLS.
    #[command(after_help = "Examples:
  latchkey doctor
  latchkey doctor --config /etc/latchkey/latchkey.toml")]
    Doctor,
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  latchkey completions bash > /etc/bash_completion.d/latchkey
  latchkey completions zsh > ~/.zfunc/_latchkey")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Examples:
  latchkey man | man -l -")]
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
    /// Rotate the master key: a new key seals, the previous one still opens (see ADR 0017).
    #[command(
        subcommand,
        name = "master-key",
        after_help = "Examples:
  latchkey master-key rotate
  latchkey master-key retire"
    )]
    MasterKey(MasterKeyCommand),
    #[command(flatten)]
    Admin(cli::Command),
}

#[derive(Subcommand)]
enum MasterKeyCommand {
    /// Put a new key first in the key ring and re-seal every sealed value under it.
    #[command(after_help = "Examples:
  latchkey master-key rotate
  latchkey master-key rotate --config /etc/latchkey/latchkey.toml
  latchkey master-key rotate --output-file /run/secrets/new-master-key

Restart every node afterwards: each reads the key ring at start.")]
    Rotate {
        /// Write the new key ring here instead of {data_dir}/master.key (required when the key comes from LATCHKEY_MASTER_KEY).
        #[arg(long)]
        output_file: Option<PathBuf>,
    },
    /// Re-seal what a previous key of the ring sealed (finishes an interrupted rotation).
    #[command(after_help = "Examples:
  latchkey master-key reseal")]
    Reseal,
    /// Drop the previous keys from the ring once the current key alone opens everything.
    #[command(after_help = "Examples:
  latchkey master-key retire
  latchkey master-key retire --output-file /run/secrets/master-key")]
    Retire {
        /// Write the retired key ring here instead of {data_dir}/master.key.
        #[arg(long)]
        output_file: Option<PathBuf>,
    },
}

/// The arguments, or the exit code of a usage error (printed): clap's 2,
/// or 1 for `plan --detailed-exitcode`, where 2 means "there are changes".
fn parse() -> Result<Cli, u8> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        let detailed = std::env::args_os().any(|a| a == "--detailed-exitcode");
        match e.exit_code() {
            0 => cli::exit::OK,
            _ if detailed => cli::exit::GENERIC,
            _ => cli::exit::USAGE,
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    // Every HTTP client of the process (CLI, outbound) uses rustls on aws-lc-rs.
    latchkey_app::remote::http::install_tls_provider();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::GENERIC);
        }
    };
    let detailed = matches!(&cli.command, Command::Admin(c) if c.detailed_exitcode());
    let result = rt.block_on(async {
        let done = |r: anyhow::Result<()>| r.map(|()| cli::exit::OK);
        match cli.command {
            Command::Serve => done(serve::serve(cli.config.as_deref()).await),
            Command::Migrate => done(serve::migrate(cli.config.as_deref()).await),
            Command::Backup { file } => done(backup::backup(cli.config.as_deref(), &file).await),
            Command::Restore { file } => done(backup::restore(cli.config.as_deref(), &file).await),
            Command::MasterKey(MasterKeyCommand::Rotate { output_file }) => {
                done(master_key::rotate(cli.config.as_deref(), output_file.as_deref()).await)
            }
            Command::MasterKey(MasterKeyCommand::Reseal) => done(master_key::reseal(cli.config.as_deref()).await),
            Command::MasterKey(MasterKeyCommand::Retire { output_file }) => {
                done(master_key::retire(cli.config.as_deref(), output_file.as_deref()).await)
            }
            Command::Token(args) => done(token_cmd::run(args, &cli.server).await),
            Command::Doctor => match doctor::run(cli.config.as_deref()).await {
                Ok(true) => Ok(cli::exit::OK),
                Ok(false) => Err(anyhow::anyhow!("doctor: some checks failed")),
                Err(e) => Err(e),
            },
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "latchkey", &mut std::io::stdout());
                Ok(cli::exit::OK)
            }
            Command::Man => {
                done(clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()).map_err(Into::into))
            }
            Command::Admin(cmd) => {
                let target = cli::Target {
                    server: cli.server,
                    tenant: cli.tenant,
                    format: cli::Format::or_default(cli.output),
                    asked: cli.output,
                };
                cli::run(cmd, target).await
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line: error chains and server messages never span lines.
            let msg = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("latchkey: {msg}");
            ExitCode::from(if detailed { cli::exit::GENERIC } else { cli::exit_code(&e) })
        }
    }
}

#[cfg(test)]
#[path = "help_tests.rs"]
mod help_tests;
