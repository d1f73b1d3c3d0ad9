//! `helix-lab`: the scenario demo and the fault-injection bench, run
//! against the lab's stand-in services and local chains. Never shipped: the
//! `helix` binary links none of this.

mod bench;
mod cascade_agent;
mod demo;
mod evolve_bench;
mod mesh_bench;
mod objective_act;
mod ode_bench;
mod registry_act;
mod registry_bench;
mod saga;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "helix-lab",
    version,
    about = "Helix's lab: every scenario through the stand-ins, and the fault-injection bench"
)]
struct Cli {
    #[command(flatten)]
    global: helix_cli::Global,
    #[command(subcommand)]
    cmd: Cmd,
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
    /// Deploy HELIX, GeneAnchor, GeneStaking and Governance on a Tempo
    /// chain (0x76 transactions naming their fee token); prints the addresses.
    DeployContracts {
        /// The chain's RPC.
        #[arg(long)]
        rpc: String,
        /// The deployer's key (hex) in a file (default: anvil's dev account 0).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// The registry whose anchors stakes may back (default: the deployer).
        #[arg(long)]
        registry: Option<alloy::primitives::Address>,
        /// Who receives the HELIX supply (default: the deployer).
        #[arg(long)]
        holder: Option<alloy::primitives::Address>,
        /// The TIP-20 fees are paid in (default AlphaUSD).
        #[arg(long, default_value = "0x20c0000000000000000000000000000000000001")]
        fee_token: alloy::primitives::Address,
    },
    /// One agent of the demo's registry act, in its own process (the demo
    /// starts it).
    #[command(hide = true)]
    RegistryAgent(registry_act::AgentArgs),
    /// A stand-in agent of scenario 9 (provider or buyer), in its own
    /// process (the demo and the tests start it).
    #[command(hide = true)]
    CascadeAgent(cascade_agent::Args),
    /// The agent mesh under load on loopback: two relay nodes, message
    /// latency, and a node restart that must lose nothing.
    MeshBench(mesh_bench::Args),
    /// Run or resume a saga plan (JSON) with the coordinator, its log in
    /// PostgreSQL, signing for the given payers.
    Saga(saga::Args),
    /// The gene registry's figures: push throughput, pull latency through
    /// the cache, broadcast latency to subscribers (anvil, NATS, Redis Cluster).
    RegistryBench(registry_bench::Args),
    /// The evolution worker's logic on the tuning rows: default waits
    /// against evolved ones, one seed (docs/EVOLVE.md).
    Evolve(evolve_bench::Args),
    /// What Temporal adds to a payment: the same payments straight through
    /// the worker's actions and as an objective's steps (docs/OBJECTIVES.md).
    OdeBench(ode_bench::Args),
    /// The demo's objective act alone: ten payees in three currencies
    /// through the LLM stand-in, validation and Temporal (JSON).
    ObjectiveAct,
}

fn deploy_contracts(
    rpc: &str,
    key_file: Option<&std::path::Path>,
    registry: Option<alloy::primitives::Address>,
    holder: Option<alloy::primitives::Address>,
    fee_token: alloy::primitives::Address,
) -> Result<ExitCode, String> {
    let wallet = match key_file {
        Some(f) => helix_tempo::Wallet::from_file(f).map_err(|e| e.to_string())?,
        None => {
            helix_tempo::Wallet::from_hex(helix_lab::anvil::DEV_KEY_0).map_err(|e| e.to_string())?
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let deployed = rt.block_on(async {
        let chain = helix_tempo::TempoChain::connect(rpc, &wallet).map_err(|e| e.to_string())?;
        let me = wallet.address();
        helix_lab::contracts::deploy(
            &chain,
            registry.unwrap_or(me),
            holder.unwrap_or(me),
            fee_token,
        )
        .await
        .map_err(|e| e.to_string())
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&deployed).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match helix_cli::start("helix-lab", cli.global.config) {
        Ok(s) => s,
        Err(code) => return code,
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
        Cmd::DeployContracts {
            rpc,
            key_file,
            registry,
            holder,
            fee_token,
        } => deploy_contracts(&rpc, key_file.as_deref(), registry, holder, fee_token),
        Cmd::RegistryAgent(a) => registry_act::agent(a),
        Cmd::CascadeAgent(a) => Ok(cascade_agent::run(a)),
        Cmd::Saga(a) => saga::run(a),
        Cmd::MeshBench(a) => mesh_bench::run(a),
        Cmd::RegistryBench(a) => registry_bench::run(a),
        Cmd::Evolve(a) => evolve_bench::run(a),
        Cmd::OdeBench(a) => ode_bench::run(a),
        Cmd::ObjectiveAct => objective_act::alone(),
    };
    helix_cli::finish("helix-lab", result)
}
