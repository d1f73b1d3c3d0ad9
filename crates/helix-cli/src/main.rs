//! `helix`: pay, serve, classify an error, list a Gene Map, read the event
//! log. The lab's demo and bench are the `helix-lab` binary: this one links
//! no stand-in.

mod classify;
mod events;
mod evolve;
mod forecast;
mod gene;
mod genes;
mod mesh;
mod ode;
mod pay;
mod predict;
mod registry;
mod serve;
mod timeline;
mod trust;
mod views;

use helix_cli::{config, sinks, store};

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
    #[command(flatten)]
    global: helix_cli::Global,
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
enum RegistryCmd {
    /// Serve the gene registry: signed pushes checked on chain, pulls,
    /// failure reports, a WebSocket stream (HELIX_REGISTRY_TOKEN guards /metrics).
    Serve(registry::Args),
}

#[derive(Subcommand)]
enum MeshCmd {
    /// Serve one relay node (HELIX_MESH_TOKEN guards /metrics).
    Serve(mesh::Args),
}

#[derive(Subcommand)]
enum GeneCmd {
    /// Push a gene of the local Gene Map, scrubbed and signed, with the
    /// transactions of its verified repairs.
    Push {
        /// The gene key, code/category (e.g. payment-insufficient/balance).
        key: String,
        /// Which strategy's gene (default: the first for the key).
        #[arg(long)]
        strategy: Option<String>,
        /// The agent's key (hex) in a file only its owner can read; the
        /// evidence must be transactions it sent.
        #[arg(long, env = "HELIX_AGENT_KEY_FILE")]
        key_file: PathBuf,
        /// A transaction hash of a verified repair (repeat for more).
        #[arg(long = "tx", required = true)]
        txs: Vec<String>,
        /// The chain the transactions are on (default: [registry] chain_id).
        #[arg(long)]
        chain_id: Option<u64>,
        /// The local Gene Map.
        #[arg(long)]
        db: Option<String>,
    },
    /// Pull the best gene for a key; with --db, keep it there as a registry gene.
    Pull {
        /// code/category.
        key: String,
        /// A local Gene Map to keep it in.
        #[arg(long)]
        db: Option<String>,
    },
    /// The registry's highest-quality genes.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One gene by id.
    Show {
        /// 0x and 64 hex digits.
        id: String,
    },
    /// Compare a gene as the registry serves it with its anchor on chain
    /// (exit 0 valid, 1 not anchored or altered).
    Verify {
        /// 0x and 64 hex digits.
        id: String,
        /// The GeneAnchor contract.
        #[arg(long)]
        anchor: alloy::primitives::Address,
        /// The registry's anchoring address (whose anchors you trust).
        #[arg(long)]
        anchorer: alloy::primitives::Address,
        /// The chain's RPC (default: [chain] rpc, HELIX_RPC_URL).
        #[arg(long)]
        rpc: Option<String>,
    },
}

#[derive(clap::Args)]
struct Signing {
    /// The chain's RPC (default: [chain] rpc, HELIX_RPC_URL).
    #[arg(long, global = true)]
    rpc: Option<String>,
    /// The signer's key (hex) in a file only its owner can read.
    #[arg(long, env = "HELIX_AGENT_KEY_FILE", global = true)]
    key_file: Option<PathBuf>,
    /// The TIP-20 fees are paid in (default AlphaUSD).
    #[arg(long, global = true)]
    fee_token: Option<alloy::primitives::Address>,
}

#[derive(Subcommand)]
enum GovCmd {
    /// Propose a new value for a protocol parameter.
    Propose {
        /// pull_threshold_bps, quality_threshold_bps, slash_ratio_bps,
        /// min_stake, failure_threshold, quorum, voting_period, timelock.
        #[arg(long)]
        param: String,
        /// The new value (a whole number; bps, base units or seconds).
        #[arg(long)]
        value: String,
    },
    /// Vote on a proposal with your stake at its snapshot.
    Vote {
        /// The proposal.
        id: u64,
        /// Vote against (default: for).
        #[arg(long)]
        against: bool,
    },
    /// Execute a proposal that passed, after its timelock.
    Execute {
        /// The proposal.
        id: u64,
    },
    /// The parameters in force.
    Params,
}

#[derive(Subcommand)]
enum Cmd {
    /// The evolution worker: tunes genes' waits from the events on NATS
    /// and writes each change as a new gene version (docs/EVOLVE.md).
    Evolve(evolve::Args),
    /// Objectives in plain language, run on Temporal: `helix ode serve`
    /// (the intent server), `worker`, `status`, `cancel`.
    Ode {
        #[command(subcommand)]
        cmd: ode::Cmd,
    },
    /// The agent mesh: `helix mesh serve`.
    Mesh {
        #[command(subcommand)]
        cmd: MeshCmd,
    },
    /// The gene registry: `helix registry serve`.
    Registry {
        #[command(subcommand)]
        cmd: RegistryCmd,
    },
    /// Back an anchored gene with HELIX (approves exactly, then stakes).
    Stake {
        /// The gene id.
        gene: String,
        /// HELIX, in whole or decimal tokens (e.g. 150 or 0.5).
        amount: String,
        /// The GeneStaking contract.
        #[arg(long)]
        staking: alloy::primitives::Address,
        #[command(flatten)]
        signing: Signing,
    },
    /// Governance: propose, vote, execute, and the parameters in force.
    Gov {
        /// The Governance contract.
        #[arg(long, global = true)]
        governance: Option<alloy::primitives::Address>,
        #[command(flatten)]
        signing: Signing,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: GovCmd,
    },
    /// Genes in the registry: push, pull, list, show, verify.
    Gene {
        /// The registry (default: [registry] url, HELIX_REGISTRY_URL).
        #[arg(long, global = true)]
        registry: Option<String>,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: GeneCmd,
    },
    /// Print the event log of a Gene Map file: recent repairs, or one repair's events.
    Events {
        /// Gene Map file.
        #[arg(long)]
        db: Option<String>,
        /// Only this repair.
        #[arg(long)]
        repair: Option<u64>,
        /// Only repairs started within this long (30s, 15m, 2h, 7d, 1w).
        #[arg(long)]
        since: Option<String>,
        /// Only repairs of this failure (`code` or `code/category`).
        #[arg(long)]
        failure: Option<String>,
        /// At most this many repairs, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recurring failure windows (hour of week) in the event log, or the
    /// predictive engine scored on simulated months (`--simulate`).
    Predict {
        /// Gene Map file (its event log).
        #[arg(long)]
        db: Option<String>,
        /// Weeks of the log to read.
        #[arg(long, default_value_t = 4)]
        weeks: u32,
        /// Score the engine on simulated months instead (docs/PREDICT.md).
        #[arg(long)]
        simulate: bool,
        /// Simulated months, with --simulate.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
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
        /// Read recurring failure windows from the last N weeks of the Gene
        /// Map's event log and apply a gene's repair before the call when
        /// its window is now (docs/PREDICT.md). Off by default.
        #[arg(long, value_name = "N")]
        forecast_weeks: Option<u32>,
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
        /// Where the budget is kept: a SQLite path, or a postgres:// URL for
        /// instances on several machines sharing one cap.
        #[arg(long, default_value = "./helix-budget.db")]
        budget_db: String,
        /// Read recurring failure windows from the last N weeks of the event
        /// log (again every hour) and pre-empt them: POST /v1/ahead, before
        /// a payment, applies the gene's repair when its window is now.
        #[arg(long, value_name = "N")]
        forecast_weeks: Option<u32>,
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

fn signing_chain(s: Signing, settings: &config::Config) -> Result<trust::Chain, String> {
    Ok(trust::Chain {
        rpc: s
            .rpc
            .or_else(|| settings.rpc().map(str::to_owned))
            .ok_or("no RPC: give --rpc, HELIX_RPC_URL or [chain] rpc")?,
        key_file: s.key_file,
        fee_token: s.fee_token,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `helix config check` without its own --config checks the global one.
    let named = cli.global.config.is_some();
    let path = cli
        .global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("helix.toml"));
    let settings = match helix_cli::start("helix", cli.global.config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = match cli.cmd {
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
            forecast_weeks,
        } => match rpc.or_else(|| settings.rpc().map(str::to_owned)) {
            Some(rpc) => pay::run(pay::PayArgs {
                url,
                key_file,
                rpc,
                mode,
                max_usd,
                db: settings.db(db),
                json,
                forecast_weeks,
                settings: settings.clone(),
            }),
            None => Err("no RPC endpoint: give --rpc, HELIX_RPC_URL or [chain] rpc".into()),
        },
        Cmd::Serve {
            listen,
            mode,
            db,
            budget_usd,
            budget_db,
            forecast_weeks,
        } => serve::run(
            serve::Args {
                listen,
                mode,
                db: settings.db(db),
                budget_usd,
                budget_db,
                forecast_weeks,
            },
            &settings,
        ),
        Cmd::Genes { db, json } => genes::run(&settings.db(db), &settings, json),
        Cmd::Registry {
            cmd: RegistryCmd::Serve(a),
        } => registry::run(a, &settings),
        Cmd::Gene {
            registry: url,
            json,
            cmd,
        } => {
            let cmd = match cmd {
                GeneCmd::Push {
                    key,
                    strategy,
                    key_file,
                    txs,
                    chain_id,
                    db,
                } => gene::Cmd::Push {
                    key,
                    strategy,
                    key_file,
                    txs,
                    chain_id,
                    db: settings.db(db),
                },
                GeneCmd::Verify {
                    id,
                    anchor,
                    anchorer,
                    rpc,
                } => gene::Cmd::Verify {
                    id,
                    anchor,
                    anchorer,
                    rpc,
                },
                GeneCmd::Pull { key, db } => gene::Cmd::Pull { key, db },
                GeneCmd::List { limit } => gene::Cmd::List { limit },
                GeneCmd::Show { id } => gene::Cmd::Show { id },
            };
            gene::run(cmd, url, &settings, json)
        }
        Cmd::Config {
            cmd: ConfigCmd::Check { config, json },
        } => match config {
            Some(p) => config::run_check(&p, true, json),
            None => config::run_check(&path, named, json),
        },
        Cmd::Mesh {
            cmd: MeshCmd::Serve(a),
        } => mesh::run(a, &settings),
        Cmd::Ode { cmd } => ode::run(cmd, &settings),
        Cmd::Evolve(a) => evolve::run(a, &settings),
        Cmd::Stake {
            gene,
            amount,
            staking,
            signing,
        } => signing_chain(signing, &settings).and_then(|chain| {
            trust::run(
                trust::Cmd::Stake {
                    gene,
                    amount,
                    staking,
                },
                chain,
                false,
            )
        }),
        Cmd::Gov {
            governance,
            signing,
            json,
            cmd,
        } => match governance {
            None => Err("give --governance (the Governance contract)".into()),
            Some(governance) => signing_chain(signing, &settings).and_then(|chain| {
                let cmd = match cmd {
                    GovCmd::Propose { param, value } => trust::Cmd::Propose {
                        param,
                        value,
                        governance,
                    },
                    GovCmd::Vote { id, against } => trust::Cmd::Vote {
                        id,
                        support: !against,
                        governance,
                    },
                    GovCmd::Execute { id } => trust::Cmd::Execute { id, governance },
                    GovCmd::Params => trust::Cmd::Params { governance },
                };
                trust::run(cmd, chain, json)
            }),
        },
        Cmd::Events {
            db,
            repair,
            since,
            failure,
            limit,
            json,
        } => match repair {
            Some(id) => events::show(&settings.db(db), id, json),
            None => events::recent(
                &settings.db(db),
                &events::Filter {
                    since,
                    failure,
                    limit,
                },
                json,
            ),
        },
        Cmd::Replay { repair, db, json } => events::replay(&settings.db(db), repair, json),
        Cmd::Predict {
            db,
            weeks,
            simulate,
            seeds,
            json,
        } => {
            if simulate {
                predict::simulate(seeds)
            } else {
                predict::from_log(&settings.db(db), weeks, json)
            }
        }
    };
    helix_cli::finish("helix", result)
}
