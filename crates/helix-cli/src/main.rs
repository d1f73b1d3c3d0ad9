//! `helix`: run the scenario demo, classify an error, list a Gene Map.

mod bench;
mod classify;
mod config;
mod demo;
mod events;
mod genes;
mod pay;
mod serve;
mod sinks;
mod store;

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
    /// Settings file (default ./helix.toml; absent is fine). The
    /// environment overrides it; --db overrides both.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check every configured URL; exit 1 if one is unreachable.
    Check {
        /// The TOML file (default ./helix.toml; absent is fine).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every scenario through the lab twice: repaired, then immune.
    Demo {
        /// Gene Map: a SQLite file (or sqlite://path), or a PostgreSQL URL
        /// (postgres://user@host:port/db) shared by many instances.
        #[arg(long)]
        db: Option<String>,
        /// Print one JSON object per scenario instead of a table.
        #[arg(long)]
        json: bool,
        /// Start from an empty Gene Map (deletes the genes in --db).
        #[arg(long)]
        fresh: bool,
        /// Only these rows (e.g. --rows 1,4,15).
        #[arg(long, value_delimiter = ',')]
        rows: Vec<u8>,
        /// Where the Tempo rows that exist on a real chain (1, 2, 3, 5, 6, 7, 8, 11, 12, 13) run.
        #[arg(long, value_enum, default_value = "auto")]
        chain: demo::ChainMode,
        /// The on-chain agent's key, from a file only its owner can read
        /// (hex); a new random key per row when not given.
        #[arg(long, env = "HELIX_AGENT_KEY_FILE")]
        agent_key_file: Option<PathBuf>,
    },
    /// Fault-injection benchmark: N payments through three arms (no retry,
    /// blind retry, Helix) on one seeded schedule of scenario faults.
    Bench {
        /// Payments per arm.
        #[arg(short = 'n', long, default_value_t = 1000)]
        n: usize,
        /// Schedule seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print one JSON object keyed by arm.
        #[arg(long)]
        json: bool,
        /// Only faults from these rows (e.g. --rows 1,6,18). Rows 1-25 are
        /// SCENARIOS.md's; row 26 is a service that settles the payment and
        /// then answers 502 without a receipt.
        #[arg(long, value_delimiter = ',')]
        rows: Vec<u8>,
        /// Where rows 1, 2, 3, 5, 7, 8, 11, 12, 13 run (anvil when it can
        /// start, else the lab).
        #[arg(long, value_enum, default_value = "auto")]
        chain: demo::ChainMode,
    },
    /// Print the event log of a Gene Map file: recent repairs, or one repair's events.
    Events {
        /// Gene Map file.
        #[arg(long)]
        db: Option<String>,
        /// Only this repair.
        #[arg(long)]
        repair: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-run perceive, construct and evaluate of a logged repair from its
    /// logged inputs and gene snapshot; exit 1 if a decision differs.
    Replay {
        /// The repair id (see `helix events`).
        repair: u64,
        /// Gene Map file.
        #[arg(long)]
        db: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Configuration: `helix config check` prints every setting (from
    /// helix.toml and the environment) and whether it is reachable.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Pay an MPP resource (HTTP 402, `WWW-Authenticate: Payment`) on a
    /// Tempo chain with the agent's key, repairing what fails.
    Pay {
        /// The paid resource.
        url: String,
        /// The agent's key (hex), in a file only its owner can read.
        #[arg(long, env = "HELIX_AGENT_KEY_FILE")]
        key_file: PathBuf,
        /// The Tempo RPC endpoint (default: the config's `[chain] rpc`,
        /// HELIX_RPC_URL).
        #[arg(long)]
        rpc: Option<String>,
        /// observe: recommend only; auto: repairs that move no funds; full:
        /// also swaps and top-ups.
        #[arg(long, default_value = "auto")]
        mode: helix_core::Mode,
        /// The most the agent agrees to pay for the resource, USD (also the
        /// most one repair may cost).
        #[arg(long, default_value_t = 1.0)]
        max_usd: f64,
        /// Gene Map, budget and wallet locks: a SQLite file.
        #[arg(long)]
        db: Option<String>,
        /// Print the outcome and the repair report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the API and dashboard (HELIX_API_TOKEN protects them).
    Serve {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// observe: recommend only; auto: repairs that move no funds; full: all.
        #[arg(long, default_value = "observe")]
        mode: helix_core::Mode,
        /// Gene Map: a SQLite path or postgres:// URL (default: the config's).
        #[arg(long)]
        db: Option<String>,
        /// Monthly repair budget in USD (none by default).
        #[arg(long)]
        budget_usd: Option<f64>,
        /// Where the budget is kept.
        #[arg(long, default_value = "./helix-budget.db")]
        budget_db: PathBuf,
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
        /// Gene Map: a SQLite file (or sqlite://path), or a PostgreSQL URL.
        #[arg(long)]
        db: Option<String>,
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
    let named = cli.config.is_some();
    let path = cli.config.unwrap_or_else(|| PathBuf::from("helix.toml"));
    let settings = match config::Config::load(&path, named) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("helix: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.cmd {
        Cmd::Demo {
            db,
            json,
            fresh,
            rows,
            chain,
            agent_key_file,
        } => demo::run(
            &settings.db(db),
            &settings,
            json,
            fresh,
            &rows,
            chain,
            agent_key_file.as_deref(),
        ),
        Cmd::Bench {
            n,
            seed,
            json,
            rows,
            chain,
        } => bench::run(n, seed, json, &rows, chain),
        Cmd::Classify {
            text,
            status,
            body,
            json,
        } => classify::run(&text, status, body, json),
        Cmd::Pay {
            url,
            key_file,
            rpc,
            mode,
            max_usd,
            db,
            json,
        } => match rpc.or_else(|| settings.rpc().map(str::to_owned)) {
            Some(rpc) => pay::run(pay::PayArgs {
                url,
                key_file,
                rpc,
                mode,
                max_usd,
                db: settings.db(db),
                json,
            }),
            None => Err("no RPC endpoint: give --rpc, HELIX_RPC_URL or [chain] rpc".into()),
        },
        Cmd::Serve {
            listen,
            mode,
            db,
            budget_usd,
            budget_db,
        } => serve::run(
            serve::Args {
                listen,
                mode,
                db: settings.db(db),
                budget_usd,
                budget_db,
            },
            &settings,
        ),
        Cmd::Genes { db, json } => genes::run(&settings.db(db), &settings, json),
        Cmd::Config {
            cmd: ConfigCmd::Check { config, json },
        } => match config {
            Some(p) => config::run_check(&p, true, json),
            None => config::run_check(&path, named, json),
        },
        Cmd::Events { db, repair, json } => events::list(&settings.db(db), repair, json),
        Cmd::Replay { repair, db, json } => events::replay(&settings.db(db), repair, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("helix: {e}");
            ExitCode::from(2)
        }
    }
}
