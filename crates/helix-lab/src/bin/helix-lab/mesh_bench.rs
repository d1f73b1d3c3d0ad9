//! `helix-lab mesh-bench`: the agent mesh under load on loopback, bounded
//! in count and time. Two relay nodes; half the agents on each; agents on
//! node 1 send to agents on node 2. Measured: message latency from the
//! sender's send to the recipient's receipt (one clock), then node 2 is
//! stopped, more messages are sent while it is down, a new node 2 starts,
//! its agents reconnect, and every message must arrive (none lost).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use futures_util::StreamExt;
use helix_lab::bounded::percentile as pct;
use helix_mesh::server::spawn;
use helix_mesh::{MeshClient, Relay, RelayConfig};
use serde_json::json;

/// What to run.
#[derive(clap::Args)]
pub struct Args {
    /// Connected agents (half on each node).
    #[arg(long, default_value_t = 500)]
    pub agents: usize,
    /// Messages from node-1 agents to node-2 agents.
    #[arg(long, default_value_t = 5000)]
    pub messages: usize,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 16)]
    pub in_flight: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

const TOKEN: &str = "mesh-bench-token-0123456789";
/// The whole run's bound.
const LIMIT: Duration = Duration::from_secs(300);

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let rt = helix_cli::runtime()?;
    rt.block_on(async {
        tokio::time::timeout(LIMIT, bench(a))
            .await
            .map_err(|_| format!("mesh-bench ran over {} s", LIMIT.as_secs()))?
    })
}

async fn node(
    name: &str,
    nats: &str,
    redis: &str,
) -> Result<(helix_mesh::server::Running, Relay), String> {
    let relay = Relay::connect(RelayConfig::new(name), nats, Some(redis))
        .await
        .map_err(|e| e.to_string())?;
    let running = spawn(relay.clone(), TOKEN, "127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    Ok((running, relay))
}

async fn connect_all(url: &str, keys: &[PrivateKeySigner]) -> Result<Vec<MeshClient>, String> {
    let clients: Vec<_> = futures_util::stream::iter(keys.iter())
        .map(|k| MeshClient::connect(url, k))
        .buffered(32)
        .collect()
        .await;
    clients
        .into_iter()
        .map(|c| c.map_err(|e| e.to_string()))
        .collect()
}

/// Each receiver drains its inbox into `got` (ids and latencies), acking.
fn receive(
    clients: Vec<MeshClient>,
    got: Arc<Mutex<(HashSet<String>, Vec<f64>)>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    clients
        .into_iter()
        .map(|mut c| {
            let got = got.clone();
            tokio::spawn(async move {
                while let Some(m) = c.recv(Duration::from_secs(3600)).await {
                    let sent = m.body["t"].as_i64().unwrap_or(0);
                    let ms = (now_us() - sent) as f64 / 1000.0;
                    if let Ok(mut g) = got.lock()
                        && g.0.insert(m.id.clone())
                    {
                        g.1.push(ms);
                    }
                    let _ = c.ack(&m).await;
                }
            })
        })
        .collect()
}

async fn wait_for(
    got: &Arc<Mutex<(HashSet<String>, Vec<f64>)>>,
    n: usize,
    limit: Duration,
) -> usize {
    let t = Instant::now();
    loop {
        let have = got.lock().map(|g| g.0.len()).unwrap_or(0);
        if have >= n || t.elapsed() > limit {
            return have;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bench(a: Args) -> Result<ExitCode, String> {
    let nats = std::env::var("HELIX_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let redis =
        std::env::var("HELIX_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let half = (a.agents / 2).max(1);
    let (n1, _r1) = node("bench-n1", &nats, &redis).await?;
    let (n2, _r2) = node("bench-n2", &nats, &redis).await?;
    let senders_keys: Vec<PrivateKeySigner> =
        (0..half).map(|_| PrivateKeySigner::random()).collect();
    let receivers_keys: Vec<PrivateKeySigner> =
        (0..half).map(|_| PrivateKeySigner::random()).collect();
    eprintln!(
        "mesh-bench: connecting {} agents to two nodes ...",
        half * 2
    );
    let senders = connect_all(&n1.connect_url(), &senders_keys).await?;
    let receivers = connect_all(&n2.connect_url(), &receivers_keys).await?;
    let got = Arc::new(Mutex::new((HashSet::new(), Vec::new())));
    let tasks = receive(receivers, got.clone());

    // 1. Latency, both nodes up.
    let send_batch = |from: usize, to: usize, tag: &'static str| {
        let senders = &senders;
        let receivers_keys = &receivers_keys;
        futures_util::stream::iter(from..to)
            .map(move |i| async move {
                let to = receivers_keys[(i * 7) % half].address();
                let id = format!("{tag}-{i}");
                senders[i % half]
                    .send(to, &id, json!({"t": now_us()}))
                    .await
            })
            .buffer_unordered(a.in_flight.max(1))
            .collect::<Vec<_>>()
    };
    let t = Instant::now();
    let sent: Vec<_> = send_batch(0, a.messages, "up").await;
    let refused = sent.iter().filter(|r| r.is_err()).count();
    let arrived = wait_for(&got, a.messages, Duration::from_secs(30)).await;
    let phase1_secs = t.elapsed().as_secs_f64();
    let mut lat = got.lock().map(|g| g.1.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);

    // 2. Node 2 stops; messages sent meanwhile wait; a new node 2 starts.
    for t in &tasks {
        t.abort();
    }
    drop(n2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = a.messages / 2;
    let sent2: Vec<_> = send_batch(a.messages, a.messages + during, "down").await;
    let refused2 = sent2.iter().filter(|r| r.is_err()).count();
    let (n2b, _r2b) = node("bench-n2", &nats, &redis).await?;
    let receivers = connect_all(&n2b.connect_url(), &receivers_keys).await?;
    let tasks = receive(receivers, got.clone());
    let total = a.messages + during;
    let arrived_total = wait_for(&got, total, Duration::from_secs(60)).await;
    for t in tasks {
        t.abort();
    }
    drop(n1);
    let lost = total.saturating_sub(arrived_total);
    let report = json!({
        "agents": half * 2, "nodes": 2, "in_flight": a.in_flight,
        "messages": a.messages, "arrived": arrived, "refused": refused, "seconds": phase1_secs,
        "latency_ms": {"p50": pct(&lat, 0.5), "p99": pct(&lat, 0.99), "max": lat.last().copied().unwrap_or(f64::NAN)},
        "restart": {"sent_while_down": during, "refused": refused2, "arrived_after_restart": arrived_total - arrived.min(arrived_total)},
        "lost": lost,
    });
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{} agents on 2 nodes: {} messages ({} in flight), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; node 2 restarted with {during} sent while down; lost {lost}",
            half * 2,
            a.messages,
            a.in_flight,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(if lost == 0 && refused + refused2 == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
