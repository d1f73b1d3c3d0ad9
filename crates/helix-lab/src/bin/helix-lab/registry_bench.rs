//! `helix-lab registry-bench`: the gene registry's three figures, measured
//! on this machine against real parts (anvil for the evidence, NATS
//! JetStream for the broadcast, the Redis Cluster of `scripts/cluster.sh`
//! for the pull cache when it answers), over HTTP on loopback:
//!
//! - push throughput: signed pushes with verified evidence, sent `CONCURRENCY`
//!   at a time (each agent's first push checks its transaction on anvil;
//!   later pushes of the same transaction find it already verified);
//! - pull latency through the hot cache, one request at a time;
//! - broadcast latency: from the registry accepting a push (its own clock)
//!   to each of the subscribers holding the gene in its Gene Map.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use helix_core::{Category, FailureCode, GeneKey, GeneStore, MemoryGeneStore, StrategyId};
use helix_lab::bounded::percentile as pct;
use helix_lab::onchain::stablecoin_chain;
use helix_lab::registry::{LabRegistry, agent_with_a_tx, shared_gene, signed_push};
use helix_registry::cache::PullCache;
use helix_registry::client::{RegistryClient, subscribe};
use helix_registry::wire::{Push, SharedGene};
use serde_json::json;

const CONCURRENCY: usize = 32;

/// What to measure.
#[derive(clap::Args)]
pub struct Args {
    /// Signed pushes with verified evidence.
    #[arg(long, default_value_t = 5000)]
    pub pushes: usize,
    /// Agents pushing (each with its own transaction).
    #[arg(long, default_value_t = 50)]
    pub agents: usize,
    /// Pulls, one at a time.
    #[arg(long, default_value_t = 5000)]
    pub pulls: usize,
    /// Broadcast subscribers.
    #[arg(long, default_value_t = 100)]
    pub subscribers: usize,
    /// Genes broadcast to them.
    #[arg(long, default_value_t = 20)]
    pub broadcasts: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn shared(key: GeneKey, slippage: u64, successes: u64) -> SharedGene {
    shared_gene(
        key,
        StrategyId::SwapCurrency,
        json!({ "max_slippage_bps": slippage }),
        successes,
    )
}

fn signed(
    w: &helix_tempo::Wallet,
    g: SharedGene,
    tx: alloy::primitives::B256,
) -> Result<Push, String> {
    Ok(signed_push(&w.signer(), g, tx))
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let rt = helix_cli::runtime()?;
    rt.block_on(bench(a))
}

async fn bench(a: Args) -> Result<ExitCode, String> {
    let nats = std::env::var("HELIX_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let nodes: Vec<String> = std::env::var("HELIX_TEST_REDIS_CLUSTER")
        .unwrap_or_else(|_| {
            "redis://127.0.0.1:7100,redis://127.0.0.1:7101,redis://127.0.0.1:7102".into()
        })
        .split(',')
        .map(str::to_owned)
        .collect();
    let (anvil, funder) = stablecoin_chain()
        .await
        .map_err(|e| format!("anvil: {e}"))?;
    eprintln!(
        "registry-bench: {} agents, each with a transaction of its own on anvil ...",
        a.agents + a.broadcasts
    );
    let mut agents = Vec::new();
    for _ in 0..a.agents + a.broadcasts {
        agents.push(
            agent_with_a_tx(&funder, &anvil.url)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let dir = std::env::temp_dir().join(format!("helix-registry-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let store = Arc::new(
        helix_registry::store::SqliteRegistry::open(dir.join("registry.db"))
            .map_err(|e| e.to_string())?,
    );
    let mut lab = LabRegistry::on(&anvil.url);
    lab.store = Some(store);
    lab.nats = Some(nats.clone());
    let channel = lab.channel.clone();
    let cache = match PullCache::connect(&nodes).await {
        Ok(c) => Some(PullCache::new(c)),
        Err(e) => {
            eprintln!(
                "registry-bench: no Redis Cluster ({e}); pulls measured without the hot cache"
            );
            None
        }
    };
    lab.cache = cache.clone();
    let (server, _registry) = lab.start().await.map_err(|e| e.to_string())?;
    let client = RegistryClient::new(&server.url()).map_err(|e| e.to_string())?;
    let key = GeneKey {
        code: FailureCode::PaymentInsufficient,
        category: Category::Balance,
    };

    // 1. Push throughput.
    let per_agent = a.pushes.div_ceil(a.agents.max(1));
    let mut pushes = Vec::with_capacity(a.pushes);
    'outer: for n in 1..=per_agent as u64 {
        for (i, (w, tx)) in agents[..a.agents].iter().enumerate() {
            if pushes.len() == a.pushes {
                break 'outer;
            }
            pushes.push(signed(w, shared(key, 10 + (i % 4) as u64, n), *tx)?);
        }
    }
    let t = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(pushes.iter())
        .map(|p| client.push(p))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let push_secs = t.elapsed().as_secs_f64();
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
        eprintln!("registry-bench: a push failed: {e}");
    }

    // 2. Pull latency through the cache.
    if let Some(c) = &cache {
        let _ = c.invalidate(key).await;
    }
    let mut pull_ms = Vec::with_capacity(a.pulls);
    for _ in 0..a.pulls {
        let t = Instant::now();
        client
            .pull(key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the pushed gene is not served")?;
        pull_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    pull_ms.sort_by(f64::total_cmp);

    // 3. Broadcast latency to subscribers, each with its own Gene Map.
    let keys: Vec<GeneKey> = FailureCode::ALL
        .iter()
        .flat_map(|c| {
            Category::ALL.iter().map(move |k| GeneKey {
                code: *c,
                category: *k,
            })
        })
        .filter(|k| *k != key)
        .take(a.broadcasts)
        .collect();
    eprintln!(
        "registry-bench: {} subscribers on NATS JetStream ...",
        a.subscribers
    );
    let run = rand::random::<u32>();
    let mut subs = Vec::new();
    for i in 0..a.subscribers {
        let store: Arc<dyn GeneStore> = Arc::new(MemoryGeneStore::new());
        subs.push(
            subscribe(&nats, &channel, &format!("bench-{run:x}-{i}"), &keys, store)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let mut bcast_ms = Vec::new();
    let mut missed = 0usize;
    for (k, (w, tx)) in keys.iter().zip(&agents[a.agents..]) {
        let stored = client
            .push(&signed(w, shared(*k, 50, 1), *tx)?)
            .await
            .map_err(|e| e.to_string())?;
        for s in &subs {
            match s.wait_for(*k, Duration::from_secs(5)).await {
                Some((g, at)) if g.id == stored.id => {
                    bcast_ms.push((at - stored.updated_at) as f64)
                }
                _ => missed += 1,
            }
        }
    }
    bcast_ms.sort_by(f64::total_cmp);

    let report = json!({
        "push": {
            "pushes": a.pushes, "accepted": accepted, "agents": a.agents, "concurrency": CONCURRENCY,
            "seconds": push_secs, "per_second": accepted as f64 / push_secs,
        },
        "pull": {
            "pulls": a.pulls, "cache": cache.is_some(),
            "p50_ms": pct(&pull_ms, 0.5), "p99_ms": pct(&pull_ms, 0.99),
        },
        "broadcast": {
            "subscribers": a.subscribers, "genes": keys.len(), "receipts": bcast_ms.len(), "missed": missed,
            "p50_ms": pct(&bcast_ms, 0.5), "p99_ms": pct(&bcast_ms, 0.99), "max_ms": bcast_ms.last().copied().unwrap_or(f64::NAN),
        },
    });
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "push       {accepted}/{} accepted in {push_secs:.2} s: {:.0} verified pushes/s ({} agents, {CONCURRENCY} in flight)",
            a.pushes,
            accepted as f64 / push_secs,
            a.agents
        );
        println!(
            "pull       p50 {:.3} ms  p99 {:.3} ms over {} pulls (hot cache: {})",
            pct(&pull_ms, 0.5),
            pct(&pull_ms, 0.99),
            a.pulls,
            cache.is_some()
        );
        println!(
            "broadcast  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms over {} receipts ({} subscribers x {} genes, {missed} missed)",
            pct(&bcast_ms, 0.5),
            pct(&bcast_ms, 0.99),
            bcast_ms.last().copied().unwrap_or(f64::NAN),
            bcast_ms.len(),
            a.subscribers,
            keys.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if accepted == a.pushes && missed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
