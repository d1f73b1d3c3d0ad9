//! `helix`: run the scenario demo, classify an error, list a Gene Map.

mod classify;
mod demo;
mod genes;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "helix",
    version,
    about = "Self-healing runtime for AI-agent payments"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every scenario through the lab twice: repaired, then immune.
    Demo {
        /// Gene Map file.
        #[arg(long, default_value = "./helix-genes.db", env = "HELIX_DB")]
        db: PathBuf,
        /// Print one JSON object per scenario instead of a table.
        #[arg(long)]
        json: bool,
        /// Start from an empty Gene Map (deletes the genes in --db).
        #[arg(long)]
        fresh: bool,
        /// Only these rows (e.g. --rows 1,4,15).
        #[arg(long, value_delimiter = ',')]
        rows: Vec<u8>,
        /// Where the Tempo rows that exist on a real chain (1, 4, 8, 11, 12, 13) run.
        #[arg(long, value_enum, default_value = "auto")]
        chain: demo::ChainMode,
    },
    /// Classify an error message.
    Classify {
        /// The error text.
        text: String,
        /// The HTTP status that came with it.
        #[arg(long)]
        status: Option<u16>,
        /// The response body (JSON: problem+json, Stripe, Privy, JSON-RPC) instead of plain text.
        #[arg(long)]
        body: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the genes of a Gene Map file.
    Genes {
        /// Gene Map file.
        #[arg(long, default_value = "./helix-genes.db", env = "HELIX_DB")]
        db: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HELIX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Demo {
            db,
            json,
            fresh,
            rows,
            chain,
        } => demo::run(&db, json, fresh, &rows, chain),
        Cmd::Classify {
            text,
            status,
            body,
            json,
        } => classify::run(&text, status, body, json),
        Cmd::Genes { db, json } => genes::run(&db, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("helix: {e}");
            ExitCode::from(2)
        }
    }
}
