//! Immunity across agents through the registry, on a real chain: agent A
//! repairs a failure with a swap on the StablecoinDEX and pushes the gene;
//! agent B (its own SQLite Gene Map, subscribed on NATS JetStream) holds
//! it before it ever fails and is immune on first sight; B, restarted,
//! catches up from its durable consumer. A poisoned gene pulled by three
//! agents is demoted by each on its first failure and reported until the
//! registry stops serving it, and nothing moved funds in their mode.

use std::sync::Arc;
use std::time::Duration;

use helix_core::{
    Category, EventKind, FailureCode, GeneKey, GeneSource, GeneStore, MemorySink, Mode, StrategyId,
};
use helix_genemap::SqliteGeneStore;
use helix_lab::onchain::{ChainLab, token};
use helix_lab::registry::{LabRegistry, agent_with_a_tx, shared_gene, signed_push};
use helix_registry::client::{LayerConfig, RegistryClient, RegistryGeneStore, subscribe};
use helix_registry::quality::PULL_THRESHOLD;
use helix_tempo::Wallet;
use serde_json::json;

const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

fn nats() -> String {
    std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn sqlite(dir: &tempfile::TempDir, name: &str) -> Arc<SqliteGeneStore> {
    Arc::new(SqliteGeneStore::open(dir.path().join(name)).unwrap())
}

fn layer(inner: Arc<dyn GeneStore>, url: &str, key: &Wallet) -> Arc<RegistryGeneStore> {
    Arc::new(RegistryGeneStore::new(
        inner,
        RegistryClient::new(url)
            .unwrap()
            .as_agent(&key.address().to_string()),
        Some(key.signer()),
        LayerConfig {
            chain_id: 31337,
            pull_timeout: Duration::from_secs(2),
            ..LayerConfig::default()
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_is_immune_on_first_sight_and_catches_up_after_a_restart() {
    let mut lab = ChainLab::start()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let mut reg = LabRegistry::on(&lab.main.url);
    reg.nats = Some(nats());
    let channel = reg.channel.clone();
    let (server, _registry) = reg.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // B follows the broadcast for this failure before anything happens.
    let durable = format!("test-agent-b-{:x}", rand::random::<u64>());
    let b_map = sqlite(&dir, "b.db");
    let sub = subscribe(&nats(), &channel, &durable, &[KEY], b_map.clone())
        .await
        .unwrap();
    assert!(b_map.lookup(KEY).await.unwrap().is_none(), "B starts empty");

    // A meets the failure, repairs it with a swap, and pushes the gene.
    let a = Wallet::random();
    lab.agent_key = Some(a.clone());
    let a_store = layer(sqlite(&dir, "a.db"), &server.url(), &a);
    let sink = Arc::new(MemorySink::new());
    let run_a = lab.run(1, a_store.clone(), sink.clone()).await.unwrap();
    let verified_at = sink
        .take()
        .iter()
        .find(|e| matches!(e.kind, EventKind::Verified { .. }))
        .map(|e| e.at)
        .expect("A's repair verified");
    assert!(run_a.ok, "{}", run_a.detail);
    assert_eq!(run_a.report.repaired_by(), Some(StrategyId::SwapCurrency));
    assert!(!run_a.report.immune());
    let outbox = a_store.outbox().unwrap();
    assert!(outbox.flush(Duration::from_secs(15)).await);
    let pushed = outbox.last().expect("the registry took A's push");
    assert_eq!(pushed.verified_agents, 1);
    assert!(
        pushed.verified_evidence >= 1,
        "the swap's transactions, checked on chain"
    );
    assert!(pushed.quality >= PULL_THRESHOLD);

    // B holds it without having failed once.
    let (got, at) = sub
        .wait_for(KEY, Duration::from_secs(5))
        .await
        .expect("broadcast reached B");
    assert_eq!(got.id, pushed.id);
    assert!(at >= verified_at);
    println!("propagation: {} ms", at - verified_at);
    let held = b_map
        .lookup(KEY)
        .await
        .unwrap()
        .expect("B's own Gene Map holds it");
    assert_eq!(held.source, GeneSource::Registry);
    assert_eq!(held.strategy, StrategyId::SwapCurrency);

    // B meets the same failure with its own wallet: immune on first sight.
    let b = Wallet::random();
    lab.agent_key = Some(b.clone());
    let b_sink = Arc::new(MemorySink::new());
    let run_b = lab
        .run(1, layer(b_map.clone(), &server.url(), &b), b_sink.clone())
        .await
        .unwrap();
    assert!(run_b.ok, "{}", run_b.detail);
    assert!(run_b.report.immune(), "B immune on first sight");
    assert!(b_sink.take().iter().any(|e| matches!(&e.kind,
        EventKind::GeneHit { gene } if gene.source == GeneSource::Registry)));

    // B goes down; a third agent pushes a better-proven variant meanwhile.
    drop(sub);
    let (c, tx) = agent_with_a_tx(&lab.funder, &lab.main.url).await.unwrap();
    let variant = shared_gene(
        KEY,
        StrategyId::SwapCurrency,
        json!({ "max_slippage_bps": 75 }),
        1,
    );
    let client = RegistryClient::new(&server.url()).unwrap();
    let while_down = client
        .push(&signed_push(&c.signer(), variant, tx))
        .await
        .unwrap();

    // B restarts (a new handle on its file, the same durable name) and
    // receives what it missed, and only that.
    let b_again = sqlite(&dir, "b.db");
    let sub = subscribe(&nats(), &channel, &durable, &[KEY], b_again.clone())
        .await
        .unwrap();
    let (caught, _) = sub
        .wait_for(KEY, Duration::from_secs(5))
        .await
        .expect("caught up");
    assert_eq!(caught.id, while_down.id);
    assert_eq!(sub.received(), 1);
    // What B learned itself stays: a gene for the same repair does not
    // overwrite it.
    let genes = b_again.list().await.unwrap();
    assert_eq!(genes.len(), 1, "{genes:?}");
    assert_eq!(genes[0].params, json!({ "max_slippage_bps": 50 }));
    assert_eq!(genes[0].successes, 1, "B's own verified use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_gene_is_demoted_by_each_agent_and_stops_being_served() {
    let mut lab = ChainLab::start()
        .await
        .expect("anvil (run scripts/tools.sh)");
    lab.mode = Mode::Auto;
    let (server, _registry) = LabRegistry::on(&lab.main.url).start().await.unwrap();
    let client = RegistryClient::new(&server.url()).unwrap();

    // The poisoner proves it exists on chain and claims that waiting
    // repairs an empty balance (it cannot).
    let (m, tx) = agent_with_a_tx(&lab.funder, &lab.main.url).await.unwrap();
    let poison = shared_gene(KEY, StrategyId::BackoffRetry, json!({ "wait_ms": 50 }), 1);
    let served = client
        .push(&signed_push(&m.signer(), poison, tx))
        .await
        .unwrap();
    assert!(
        served.quality >= PULL_THRESHOLD,
        "served at first: {served:?}"
    );

    // Three agents, each with its own Gene Map, pull it before any runs.
    let dir = tempfile::tempdir().unwrap();
    let mut agents = Vec::new();
    for i in 0..3 {
        let w = Wallet::random();
        let store = layer(sqlite(&dir, &format!("agent{i}.db")), &server.url(), &w);
        let pulled = store.lookup(KEY).await.unwrap().expect("pulled");
        assert_eq!(
            (pulled.strategy, pulled.source),
            (StrategyId::BackoffRetry, GeneSource::Registry)
        );
        agents.push((w, store));
    }
    for (w, store) in &agents {
        lab.agent_key = Some(w.clone());
        let sink = Arc::new(MemorySink::new());
        let run = lab.run(1, store.clone(), sink.clone()).await.unwrap();
        let events = sink.take();
        assert!(
            !run.ok,
            "auto mode cannot swap, and the poison cannot repair"
        );
        assert!(events.iter().any(|e| matches!(&e.kind,
            EventKind::VerifyFailed { strategy } if *strategy == StrategyId::BackoffRetry)));
        let moved = events.iter().any(|e| {
            matches!(&e.kind,
            EventKind::Committed { strategy, .. } if strategy.moves_funds())
        });
        assert!(!moved, "nothing moved funds in auto mode");
        // Demoted at once: the next lookup neither uses nor re-pulls it.
        assert!(
            store.lookup(KEY).await.unwrap().is_none(),
            "demoted after one failure"
        );
        assert!(store.outbox().unwrap().flush(Duration::from_secs(10)).await);
        // Only the first agent's AlphaUSD stays where it was: no payment
        // and no swap left the wallet (fees aside, which it holds none of).
        let balance = lab.funder.balance(token(1), w.address()).await.unwrap();
        assert_eq!(
            balance, 0,
            "the agent was never given AlphaUSD and acquired none"
        );
    }
    let after = client.show(served.id).await.unwrap().unwrap();
    assert_eq!(after.failures, 3, "three agents reported: {after:?}");
    assert!(after.quality < PULL_THRESHOLD, "{after:?}");
    assert!(
        client.pull(KEY).await.unwrap().map(|g| g.id) != Some(served.id),
        "no longer served"
    );
}

/// `helix-lab registry-agent`, the demo's agent process.
fn agent_process(
    role: &str,
    (registry, channel): (&str, &str),
    lab: &ChainLab,
    db: &std::path::Path,
    durable: &str,
) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_helix-lab"));
    c.args([
        "registry-agent",
        "--role",
        role,
        "--registry",
        registry,
        "--main-rpc",
        &lab.main.url,
    ])
    .args([
        "--other-rpc",
        &lab.other.url,
        "--nats",
        &nats(),
        "--channel",
        channel,
        "--durable",
        durable,
        "--db",
    ])
    .arg(db)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::inherit());
    c
}

fn last_json(out: &[u8]) -> serde_json::Value {
    String::from_utf8_lossy(out)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON in {}", String::from_utf8_lossy(out)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_b_killed_before_the_push_catches_up_in_a_new_process() {
    use std::io::{BufRead, BufReader};
    let lab = ChainLab::start()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let mut reg = LabRegistry::on(&lab.main.url);
    reg.nats = Some(nats());
    let channel = reg.channel.clone();
    let (server, _registry) = reg.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let durable = format!("test-b-process-{:x}", rand::random::<u64>());
    let b_db = dir.path().join("b.db");

    // B's first process subscribes, then is killed before anything is pushed.
    let mut b = agent_process("b", (&server.url(), &channel), &lab, &b_db, &durable)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(b.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    b.kill().unwrap();
    b.wait().unwrap();

    // A, its own process and Gene Map, repairs and pushes while B is down.
    let a = agent_process(
        "a",
        (&server.url(), &channel),
        &lab,
        &dir.path().join("a.db"),
        "unused",
    )
    .output()
    .unwrap();
    let a = last_json(&a.stdout);
    assert_eq!(a["ok"], true, "{a}");
    assert_eq!(a["evidence_verified"], true, "{a}");

    // B's second process, same durable consumer and Gene Map: it receives
    // what it missed, then meets the failure immune.
    let b2 = agent_process("b", (&server.url(), &channel), &lab, &b_db, &durable)
        .output()
        .unwrap();
    let b2 = last_json(&b2.stdout);
    assert_eq!(
        b2["gene"], a["gene"],
        "caught up from the durable consumer: {b2}"
    );
    assert_eq!(b2["held_before_failing"], true, "{b2}");
    assert_eq!(b2["immune"], true, "{b2}");
    assert_eq!(b2["ok"], true, "{b2}");
}

/// Two registries on one NATS server: an agent following one of them never
/// receives what the other accepted, though the keys are the same, nor its
/// own registry's genes for keys it does not follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_hears_only_its_own_registry_on_a_shared_nats() {
    let lab = ChainLab::start()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let mut ours = LabRegistry::on(&lab.main.url);
    ours.nats = Some(nats());
    let channel = ours.channel.clone();
    let (ours, _r1) = ours.start().await.unwrap();
    let mut theirs = LabRegistry::on(&lab.main.url);
    theirs.nats = Some(nats());
    assert_ne!(theirs.channel, channel);
    let (theirs, _r2) = theirs.start().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let b_map = sqlite(&dir, "b.db");
    let durable = format!("test-channel-b-{:x}", rand::random::<u64>());
    // Two keys: the server filters by the channel, B by the keys.
    let session = GeneKey {
        code: FailureCode::PaymentExpired,
        category: Category::Session,
    };
    let sub = subscribe(&nats(), &channel, &durable, &[KEY, session], b_map.clone())
        .await
        .unwrap();
    let push_to = |url: String, key: GeneKey, strategy: StrategyId, slippage: u64| {
        let lab = &lab;
        async move {
            let (w, tx) = agent_with_a_tx(&lab.funder, &lab.main.url).await.unwrap();
            let gene = shared_gene(key, strategy, json!({ "max_slippage_bps": slippage }), 1);
            RegistryClient::new(&url)
                .unwrap()
                .push(&signed_push(&w.signer(), gene, tx))
                .await
                .unwrap()
        }
    };

    let foreign = push_to(theirs.url(), KEY, StrategyId::SwapCurrency, 55).await;
    let unfollowed = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Service,
    };
    let other_key = push_to(ours.url(), unfollowed, StrategyId::BackoffRetry, 10).await;
    assert!(other_key.quality >= PULL_THRESHOLD);
    assert!(
        foreign.quality >= PULL_THRESHOLD,
        "broadcast by its registry"
    );
    if let Some((g, _)) = sub.wait_for(KEY, Duration::from_secs(2)).await {
        panic!(
            "a gene of another registry's channel reached B: {} (foreign {})",
            g.id, foreign.id
        );
    }
    assert!(b_map.lookup(KEY).await.unwrap().is_none());
    assert!(b_map.lookup(unfollowed).await.unwrap().is_none());
    assert_eq!(sub.received(), 0);

    let own = push_to(ours.url(), KEY, StrategyId::SwapCurrency, 45).await;
    let (got, _) = sub
        .wait_for(KEY, Duration::from_secs(5))
        .await
        .expect("B's own registry's gene");
    assert_eq!(got.id, own.id);
    assert_ne!(got.id, foreign.id);
}
