//! `helix registry serve`: the gene registry (helix-registry) over a
//! SQLite file (one node, the default) or PostgreSQL with an optional read
//! replica, checking evidence on the configured chain RPCs, rate limiting
//! in process or in a Redis Cluster, broadcasting on NATS when given.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use helix_registry::Registry;
use helix_registry::anchor::Anchorer;
use helix_registry::broadcast::Broadcast;
use helix_registry::cache::PullCache;
use helix_registry::evidence::RpcVerifier;
use helix_registry::limits::{Limiter, LocalLimiter, Rate, RedisLimiter};
use helix_registry::server::{router, serve as serve_router};
use helix_registry::store::{PostgresRegistry, RegistryStore, SqliteRegistry};
use helix_registry::thresholds::follow;

/// What `helix registry serve` was asked for.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub listen: std::net::SocketAddr,
    /// Storage: a SQLite path (one node) or a postgres:// URL (the primary).
    #[arg(long, default_value = "./helix-registry.db")]
    pub db: String,
    /// A streaming replica of the primary for reads (postgres:// URL).
    #[arg(long)]
    pub replica: Option<String>,
    /// Chain RPCs to check evidence on (default: the config's [chain] rpc).
    #[arg(long)]
    pub rpc: Vec<String>,
    /// NATS with JetStream for the broadcast (default: the config's [events] nats).
    #[arg(long)]
    pub nats: Option<String>,
    /// This registry's broadcast channel on NATS (subjects
    /// `helix.genes.<channel>.<category>.<code>`; default: the config's
    /// [registry] channel, else "main"). Registries sharing a NATS server
    /// need channels of their own.
    #[arg(long)]
    pub channel: Option<String>,
    /// Redis Cluster nodes for rate limits, rankings and the pull cache
    /// (comma-separated redis:// URLs; in-process limits when absent).
    #[arg(long, value_delimiter = ',')]
    pub redis_cluster: Vec<String>,
    /// Genes under this quality are not served or broadcast.
    #[arg(long, default_value_t = helix_registry::quality::PULL_THRESHOLD)]
    pub threshold: f64,
    /// Pushes and reports each agent may send per second (burst twice that).
    #[arg(long, default_value_t = 20.0)]
    pub push_per_second: f64,
    /// Pulls each caller may make per second (burst twice that).
    #[arg(long, default_value_t = 200.0)]
    pub pull_per_second: f64,
    /// Anchor genes over the quality threshold in this GeneAnchor.
    #[arg(long)]
    pub anchor: Option<alloy::primitives::Address>,
    /// The anchoring key (hex) in a file only its owner can read; its
    /// address is the anchorer readers trust.
    #[arg(long, env = "HELIX_REGISTRY_KEY_FILE")]
    pub anchor_key_file: Option<PathBuf>,
    /// The TIP-20 anchoring fees are paid in (default AlphaUSD).
    #[arg(long)]
    pub fee_token: Option<alloy::primitives::Address>,
    /// Follow this Governance contract's thresholds (read every 5 s).
    #[arg(long)]
    pub governance: Option<alloy::primitives::Address>,
}

/// Shortest accepted metrics token.
const MIN_TOKEN: usize = 16;
/// How far behind (WAL bytes) the replica may be and still serve reads.
const MAX_LAG_BYTES: u64 = 1 << 20;

/// Serves, the settings filling what the flags leave out (`[chain] rpc`,
/// `[events] nats`).
pub fn run(mut args: Args, settings: &crate::config::Config) -> Result<ExitCode, String> {
    if args.rpc.is_empty() {
        args.rpc.extend(settings.rpc().map(str::to_owned));
    }
    if args.nats.is_none() {
        args.nats = settings.nats().map(str::to_owned);
    }
    let channel = args
        .channel
        .take()
        .unwrap_or_else(|| settings.channel().to_owned());
    helix_registry::broadcast::check_channel(&channel).map_err(|e| e.to_string())?;
    args.channel = Some(channel);
    if args.rpc.is_empty() {
        return Err(
            "no chain RPC to check evidence on: give --rpc, HELIX_RPC_URL or [chain] rpc".into(),
        );
    }
    if !(0.0..=10.0).contains(&args.threshold) {
        return Err(format!("--threshold {} is outside 0..10", args.threshold));
    }
    let token = helix_cli::token_from_env("HELIX_REGISTRY_TOKEN", MIN_TOKEN, "metrics token")?;
    let rt = helix_cli::runtime()?;
    rt.block_on(serve(args, token))
}

async fn serve(args: Args, token: String) -> Result<ExitCode, String> {
    let store: Arc<dyn RegistryStore> =
        if args.db.starts_with("postgres://") || args.db.starts_with("postgresql://") {
            Arc::new(
                PostgresRegistry::connect(&args.db, args.replica.as_deref(), MAX_LAG_BYTES)
                    .await
                    .map_err(|e| format!("{}: {e}", helix_genemap::redact_url(&args.db)))?,
            )
        } else {
            if args.replica.is_some() {
                return Err("--replica needs a postgres:// --db".into());
            }
            let path = args.db.strip_prefix("sqlite://").unwrap_or(&args.db);
            Arc::new(SqliteRegistry::open(path).map_err(|e| e.to_string())?)
        };
    let verifier = RpcVerifier::connect(&args.rpc, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let chains = verifier.chains();
    let broadcast = match &args.nats {
        Some(url) => Broadcast::nats(
            url,
            args.channel
                .as_deref()
                .unwrap_or(helix_registry::broadcast::DEFAULT_CHANNEL),
        )
        .await
        .map_err(|e| e.to_string())?,
        None => Broadcast::local(),
    };
    let push = Rate {
        per_second: args.push_per_second,
        burst: (args.push_per_second * 2.0).max(1.0),
    };
    let pull = Rate {
        per_second: args.pull_per_second,
        burst: (args.pull_per_second * 2.0).max(1.0),
    };
    let (cache, limiter): (Option<PullCache>, Arc<dyn Limiter>) = if args.redis_cluster.is_empty() {
        (None, Arc::new(LocalLimiter::new(push, pull)))
    } else {
        let conn = PullCache::connect(&args.redis_cluster)
            .await
            .map_err(|e| format!("Redis Cluster {:?}: {e}", args.redis_cluster))?;
        (
            Some(PullCache::new(conn.clone())),
            Arc::new(RedisLimiter::new(conn, push, pull)),
        )
    };
    let mut registry = Registry::new(
        store.clone(),
        Arc::new(verifier),
        broadcast,
        cache,
        args.threshold,
    )
    .with_limiter(limiter);
    let rpc = args.rpc[0].clone();
    match (args.anchor, &args.anchor_key_file) {
        (Some(contract), Some(file)) => {
            let wallet = helix_tempo::Wallet::from_file(file).map_err(|e| e.to_string())?;
            let chain =
                helix_tempo::TempoChain::connect(&rpc, &wallet).map_err(|e| e.to_string())?;
            eprintln!(
                "helix registry: anchoring in {contract} as {}",
                wallet.address()
            );
            let fee = args
                .fee_token
                .or_else(|| crate::trust::ALPHA_USD.parse().ok());
            registry = registry.with_anchorer(Anchorer::start(chain, &rpc, contract, fee, store));
        }
        (None, None) => {}
        _ => return Err("--anchor and --anchor-key-file go together".into()),
    }
    if let Some(gov) = args.governance {
        drop(follow(
            registry.thresholds().clone(),
            rpc,
            gov,
            Duration::from_secs(5),
        ));
    }
    let pruner = registry.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Err(e) = pruner.prune().await {
                tracing::warn!(target: "helix::registry", error = %e, "nonce pruning failed");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // One line a script can wait for.
    println!(
        "helix registry: listening on http://{addr} (evidence on chains {chains:?}, nats {}, redis cluster {})",
        args.nats
            .as_deref()
            .map(helix_genemap::redact_url)
            .unwrap_or_else(|| "off".into()),
        if args.redis_cluster.is_empty() {
            "off"
        } else {
            "on"
        },
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_router(listener, router(registry, &token), shutdown)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
