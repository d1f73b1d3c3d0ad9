//! The demo's network act: two agent processes, each with its own Gene Map,
//! and a registry between them. Agent A meets row 1's failure on anvil,
//! repairs it with a swap on the StablecoinDEX and pushes the gene (signed,
//! its transactions as evidence, checked on the chain by the registry).
//! Agent B, subscribed to that failure (NATS JetStream, or the registry's
//! WebSocket stream when NATS cannot be reached), holds the gene before it
//! ever fails and is immune on first sight.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use helix_core::{Category, EventKind, FailureCode, GeneKey, GeneSource, GeneStore, MemorySink};
use helix_genemap::SqliteGeneStore;
use helix_lab::anvil::Anvil;
use helix_lab::contracts::deploy;
use helix_lab::onchain::{ChainLab, funded_agent, token};
use helix_lab::registry::LabRegistry;
use helix_registry::anchor::AnchorReader;
use helix_registry::client::{LayerConfig, RegistryClient, RegistryGeneStore, subscribe, watch};
use helix_registry::store::SqliteRegistry;
use helix_tempo::TempoChain;
use helix_tempo::Wallet;
use serde_json::{Value, json};

const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

/// What an agent process is told.
#[derive(clap::Args)]
pub struct AgentArgs {
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub registry: String,
    #[arg(long)]
    pub main_rpc: String,
    #[arg(long)]
    pub other_rpc: String,
    #[arg(long)]
    pub db: String,
    #[arg(long)]
    pub nats: Option<String>,
    #[arg(long)]
    pub durable: Option<String>,
    /// The registry's broadcast channel.
    #[arg(long, default_value = helix_registry::broadcast::DEFAULT_CHANNEL)]
    pub channel: String,
}

fn layer(
    inner: Arc<dyn GeneStore>,
    registry: &str,
    w: &Wallet,
) -> Result<Arc<RegistryGeneStore>, String> {
    let client = RegistryClient::new(registry)
        .map_err(|e| e.to_string())?
        .as_agent(&w.address().to_string());
    let cfg = LayerConfig {
        chain_id: 31337,
        pull_timeout: Duration::from_secs(2),
        ..LayerConfig::default()
    };
    Ok(Arc::new(RegistryGeneStore::new(
        inner,
        client,
        Some(w.signer()),
        cfg,
    )))
}

/// `helix-lab registry-agent`: one agent of the act, in its own process.
pub fn agent(a: AgentArgs) -> Result<ExitCode, String> {
    let rt = helix_cli::runtime()?;
    let out = rt.block_on(async {
        let local: Arc<SqliteGeneStore> = Arc::new(SqliteGeneStore::open(&a.db).map_err(|e| e.to_string())?);
        let mut lab = ChainLab::attach(Anvil::attach(&a.main_rpc, 31337), Anvil::attach(&a.other_rpc, 42431))
            .map_err(|e| e.to_string())?;
        let wallet = Wallet::random();
        lab.agent_key = Some(wallet.clone());
        match a.role.as_str() {
            "a" => {
                let store = layer(local, &a.registry, &wallet)?;
                let sink = Arc::new(MemorySink::new());
                let run = lab.run(1, store.clone(), sink.clone()).await.map_err(|e| e.to_string())?;
                let verified_at = sink.take().iter().find(|e| matches!(e.kind, EventKind::Verified { .. })).map(|e| e.at);
                let outbox = store.outbox().ok_or("no outbox")?;
                let flushed = outbox.flush(Duration::from_secs(20)).await;
                let pushed = outbox.last();
                Ok::<Value, String>(json!({
                    "ok": run.ok,
                    "detail": run.detail,
                    "strategy": run.report.repaired_by(),
                    "verified_at": verified_at,
                    "pushed": flushed && pushed.is_some(),
                    "gene": pushed.as_ref().map(|g| g.id.to_string()),
                    "evidence_verified": pushed.as_ref().is_some_and(|g| g.verified_agents >= 1 && g.verified_evidence >= 1),
                    "tx_hashes": run.tx_hashes,
                }))
            }
            "b" => {
                let sub = match &a.nats {
                    Some(url) => {
                        let durable = a
                            .durable
                            .clone()
                            .unwrap_or_else(|| format!("demo-agent-b-{:x}", rand::random::<u64>()));
                        subscribe(url, &a.channel, &durable, &[KEY], local.clone()).await
                    }
                    None => watch(&a.registry, &[KEY], local.clone()).await,
                }
                .map_err(|e| e.to_string())?;
                println!("ready");
                let (gene, received_at) = sub
                    .wait_for(KEY, Duration::from_secs(90))
                    .await
                    .ok_or("no gene arrived in 90 s")?;
                let held = local.lookup(KEY).await.map_err(|e| e.to_string())?;
                let sink = Arc::new(MemorySink::new());
                let run = lab.run(1, layer(local, &a.registry, &wallet)?, sink.clone()).await.map_err(|e| e.to_string())?;
                let from_registry = sink.take().iter().any(|e| matches!(&e.kind,
                    EventKind::GeneHit { gene } if gene.source == GeneSource::Registry));
                Ok(json!({
                    "ok": run.ok,
                    "detail": run.detail,
                    "received_at": received_at,
                    "gene": gene.id.to_string(),
                    "held_before_failing": held.is_some_and(|g| g.source == GeneSource::Registry),
                    "immune": run.report.immune() && from_registry,
                    "tx_hashes": run.tx_hashes,
                }))
            }
            other => Err(format!("unknown role {other}")),
        }
    })?;
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

async fn nats_reachable() -> Option<String> {
    let url = std::env::var("HELIX_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let ok = tokio::time::timeout(Duration::from_secs(1), async_nats::connect(url.as_str()))
        .await
        .is_ok_and(|r| r.is_ok());
    ok.then_some(url)
}

fn last_json(out: &[u8]) -> Result<Value, String> {
    String::from_utf8_lossy(out)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .ok_or_else(|| format!("no result from the agent: {}", String::from_utf8_lossy(out)))
}

/// Runs the act on `chain`'s anvils; the demo's JSON element.
pub async fn act(chain: &ChainLab) -> Value {
    match run_act(chain).await {
        Ok(v) => v,
        Err(e) => json!({
            "scenario": "registry", "repaired": false, "immune_on_first_sight": false,
            "propagation_ms": null, "evidence_verified": false, "detail": e,
        }),
    }
}

async fn run_act(chain: &ChainLab) -> Result<Value, String> {
    let dir = std::env::temp_dir().join(format!("helix-demo-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let nats = nats_reachable().await;
    // The trust layer on the same chain, deployed as the script does; the
    // registry anchors with a key of its own that holds only fee money.
    let registry_key = funded_agent(&chain.funder, token(1), 100_000_000)
        .await
        .map_err(|e| e.to_string())?;
    let deployed = deploy(
        &chain.funder,
        registry_key.address(),
        chain.funder.address(),
        token(1),
    )
    .await
    .map_err(|e| format!("deploying the contracts: {e}"))?;
    let mut reg = LabRegistry::on(&chain.main.url);
    reg.anchoring = Some((
        TempoChain::connect(&chain.main.url, &registry_key).map_err(|e| e.to_string())?,
        deployed.anchor,
        token(1),
    ));
    reg.store = Some(Arc::new(
        SqliteRegistry::open(dir.join("registry.db")).map_err(|e| e.to_string())?,
    ));
    reg.nats = nats.clone();
    let channel = reg.channel.clone();
    let (server, registry) = reg.start().await.map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let agent_cmd = |role: &str| {
        let mut c = Command::new(&exe);
        c.args([
            "registry-agent",
            "--role",
            role,
            "--registry",
            &server.url(),
            "--main-rpc",
            &chain.main.url,
            "--other-rpc",
            &chain.other.url,
            "--db",
        ])
        .arg(dir.join(format!("agent-{role}.db")))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if let Some(n) = &nats {
            c.args(["--nats", n, "--channel", &channel]);
        }
        c
    };
    // B first: subscribed before anything fails anywhere.
    let mut b = agent_cmd("b").spawn().map_err(|e| e.to_string())?;
    let b_out = b.stdout.take().ok_or("no stdout")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(b_out).lines();
        let mut rest = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if line == "ready" {
                let _ = ready_tx.send(());
            } else {
                rest.push(line);
            }
        }
        rest.join("\n")
    });
    tokio::task::spawn_blocking(move || ready_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "agent B did not subscribe in 30 s".to_string())?;
    let mut a_cmd = agent_cmd("a");
    let a_out = tokio::task::spawn_blocking(move || a_cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let a = last_json(&a_out.stdout)?;
    let b_text = tokio::task::spawn_blocking(move || {
        let _ = b.wait();
        reader.join().unwrap_or_default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let b = last_json(b_text.as_bytes())?;
    // A's gene on chain: anchored by the registry, as served.
    let anchored = match a["gene"].as_str().and_then(|g| g.parse().ok()) {
        Some(id) => {
            if let Some(anchorer) = registry.anchorer() {
                for _ in 0..100 {
                    if anchorer.anchored() >= 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let client = RegistryClient::new(&server.url()).map_err(|e| e.to_string())?;
            match client.show(id).await.map_err(|e| e.to_string())? {
                Some(g) => {
                    AnchorReader::new(&chain.main.url, deployed.anchor, registry_key.address())
                        .verify(&g)
                        .await
                        .map_err(|e| e.to_string())?
                        .is_valid()
                }
                None => false,
            }
        }
        None => false,
    };
    let _ = std::fs::remove_dir_all(&dir);
    let propagation = match (b["received_at"].as_i64(), a["verified_at"].as_i64()) {
        (Some(r), Some(v)) => json!(r - v),
        _ => Value::Null,
    };
    Ok(json!({
        "scenario": "registry",
        "repaired": a["ok"] == true && a["pushed"] == true,
        "immune_on_first_sight": b["ok"] == true && b["immune"] == true && b["held_before_failing"] == true && b["gene"] == a["gene"],
        "propagation_ms": propagation,
        "evidence_verified": a["evidence_verified"] == true,
        "anchored": anchored,
        "contracts": deployed,
        "chain": "anvil-tempo",
        "broadcast": if nats.is_some() { "nats-jetstream" } else { "websocket" },
        "gene": a["gene"],
        "strategy": a["strategy"],
        "tx_hashes": { "a": a["tx_hashes"], "b": b["tx_hashes"] },
        "detail": format!("A: {}; B: {}", a["detail"].as_str().unwrap_or(""), b["detail"].as_str().unwrap_or("")),
    }))
}
