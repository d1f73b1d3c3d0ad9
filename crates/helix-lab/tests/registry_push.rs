//! The registry's trust rules against a real chain: signed pushes whose
//! evidence is checked on anvil, merged exactly under concurrency; forged,
//! replayed and unproven pushes refused; the rate limit's 429 honoured by
//! Helix's own outbox.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use helix_core::{Category, FailureCode, GeneKey, StrategyId};
use helix_lab::onchain::stablecoin_chain;
use helix_lab::registry::{CHAIN_ID, LabRegistry, agent_with_a_tx, shared_gene, signed_push};
use helix_registry::client::{ClientError, Outbox, RegistryClient};
use helix_registry::limits::Rate;
use helix_registry::sign::sign;
use helix_registry::wire::{Evidence, Push, SharedGene};
use serde_json::json;

const CHAIN: u64 = CHAIN_ID;
const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

fn gene(slippage: u64, successes: u64) -> SharedGene {
    shared_gene(
        KEY,
        StrategyId::SwapCurrency,
        json!({ "max_slippage_bps": slippage }),
        successes,
    )
}

/// Every push here is signed by the agent it names (the forged one is re-signed).
fn push(key: &PrivateKeySigner, _agent: Address, g: SharedGene, tx: B256) -> Push {
    signed_push(key, g, tx)
}

fn refused_with(r: Result<impl std::fmt::Debug, ClientError>, status: u16, reason: &str) {
    match r {
        Err(ClientError::Refused {
            status: s,
            reason: why,
            message,
        }) => {
            assert_eq!((s, why.as_str()), (status, reason), "{message}");
        }
        other => panic!("expected {status} {reason}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_pushes_merge_exactly_and_bad_ones_are_refused() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let (server, registry) = LabRegistry::on(&anvil.url).start().await.unwrap();
    let client = RegistryClient::new(&server.url()).unwrap();

    // Twenty agents, each with one real transaction of its own.
    let mut agents = Vec::new();
    for _ in 0..20 {
        let (w, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
        agents.push((w.signer(), tx));
    }
    // Each pushes its record ten times as it grows (cumulative successes
    // 1..=10); even agents push one parameter set, odd agents another.
    let mut pushes = Vec::new();
    for (i, (key, tx)) in agents.iter().enumerate() {
        for n in 1..=10u64 {
            let slippage = if i % 2 == 0 { 50 } else { 100 };
            pushes.push(push(key, key.address(), gene(slippage, n), *tx));
        }
    }
    let results = futures_util::future::join_all(pushes.iter().map(|p| client.push(p))).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(accepted, 200, "every push accepted: {errors:?}");

    let listed = client.list(10).await.unwrap();
    assert_eq!(
        listed.len(),
        2,
        "duplicates merged into two genes: {listed:#?}"
    );
    for g in &listed {
        assert_eq!(g.pushes, 100, "{g:?}");
        assert_eq!(g.verified_agents, 10, "{g:?}");
        assert_eq!(
            g.verified_evidence, 10,
            "one transaction counts once: {g:?}"
        );
        assert_eq!(
            g.successes, 10,
            "each agent's successes up to its one transaction: {g:?}"
        );
        assert_eq!(
            g.claimed_successes, 100,
            "each agent's largest claim, once: {g:?}"
        );
        assert_eq!(
            g.mean_ms, 1000,
            "the mean time of each agent's largest record: {g:?}"
        );
        let want = 11f64.ln() * (10.0 / 11.0);
        assert!((g.quality - want).abs() < 1e-9, "{} vs {want}", g.quality);
    }
    let stats = client.stats().await.unwrap();
    assert_eq!(stats["pushes"], 200);
    assert_eq!(stats["agents"], 20);

    let (key0, tx0) = &agents[0];
    let (_, tx1) = &agents[1];
    // Forged: signed by someone else in agent 0's name.
    let mut forged = push(key0, key0.address(), gene(50, 11), *tx0);
    let thief = PrivateKeySigner::random();
    forged.signature = sign(forged.body.clone(), &thief).unwrap().signature;
    refused_with(client.push(&forged).await, 401, "signature");
    // Replayed: an accepted push sent again, byte for byte.
    refused_with(client.push(&pushes[0]).await, 409, "replayed");
    // Evidence that is not on the chain.
    refused_with(
        client
            .push(&push(
                key0,
                key0.address(),
                gene(50, 12),
                B256::repeat_byte(0xab),
            ))
            .await,
        422,
        "evidence",
    );
    // Evidence someone else sent and claimed.
    refused_with(
        client
            .push(&push(key0, key0.address(), gene(50, 12), *tx1))
            .await,
        422,
        "evidence",
    );
    // Evidence someone else sent and nobody claimed: the funder's transfer.
    let (fresh, _) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let funding_tx = funder
        .transfer(
            helix_lab::onchain::token(1),
            fresh.address(),
            1,
            Default::default(),
        )
        .await
        .unwrap();
    refused_with(
        client
            .push(&push(
                &fresh.signer(),
                fresh.address(),
                gene(50, 1),
                funding_tx,
            ))
            .await,
        422,
        "evidence",
    );
    // A gene carrying an amount.
    let mut leaky = gene(50, 1);
    leaky.params = json!({ "max_slippage_bps": 50, "amount": 123456 });
    let (w, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    refused_with(
        client
            .push(&push(&w.signer(), w.address(), leaky, tx))
            .await,
        422,
        "gene",
    );

    // Nothing refused changed the merged genes.
    let after = client.list(10).await.unwrap();
    assert_eq!(after.len(), 2);
    assert!(
        after
            .iter()
            .all(|g| g.pushes == 100 && g.verified_agents == 10)
    );
    let refusals = registry.metrics().refusals();
    assert_eq!(refusals.get("signature"), Some(&1), "{refusals:?}");
    assert_eq!(refusals.get("replayed"), Some(&1), "{refusals:?}");
    assert_eq!(refusals.get("evidence"), Some(&3), "{refusals:?}");
    // What an operator reads first: the last refusals with their reasons,
    // newest first, and the last pushes taken.
    let recent: serde_json::Value = reqwest::get(format!("{}/v1/recent", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = recent["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "gene",
            "evidence",
            "evidence",
            "evidence",
            "replayed",
            "signature"
        ],
        "{recent}"
    );
    let pushes = recent["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), helix_registry::recent::KEPT, "bounded");
    assert!(
        pushes
            .iter()
            .all(|p| p["key"].as_str().is_some_and(|k| k.contains('/')))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_and_the_outbox_waits_as_told() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    // Slow enough that two pushes (each verified on anvil) cannot refill
    // the bucket on a loaded machine before the third.
    let slow = Rate {
        per_second: 0.5,
        burst: 2.0,
    };
    let mut lab = LabRegistry::on(&anvil.url);
    lab.limits = Some((slow, slow));
    let (server, registry) = lab.start().await.unwrap();
    let client = RegistryClient::new(&server.url()).unwrap();
    let (w, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let key = w.signer();

    assert!(
        client
            .push(&push(&key, key.address(), gene(50, 1), tx))
            .await
            .is_ok()
    );
    assert!(
        client
            .push(&push(&key, key.address(), gene(50, 2), tx))
            .await
            .is_ok()
    );
    match client
        .push(&push(&key, key.address(), gene(50, 3), tx))
        .await
    {
        Err(ClientError::Limited(wait)) => assert!(wait >= Duration::from_secs(1), "{wait:?}"),
        other => panic!("expected 429, got {other:?}"),
    }

    // Helix's own sender: three more pushes, one bucket; it waits out each
    // 429 rather than dropping or hammering.
    let outbox = Outbox::start(client.clone(), key.clone());
    for n in 4..=6 {
        outbox.send_push(
            gene(50, n),
            vec![Evidence {
                chain_id: CHAIN,
                tx,
            }],
        );
    }
    assert!(
        outbox.flush(Duration::from_secs(40)).await,
        "outbox drained"
    );
    assert_eq!(outbox.sent(), 3);
    assert_eq!(outbox.dropped(), 0);
    assert!(outbox.limited() >= 1, "it met the limit");
    let g = outbox.last().unwrap();
    assert_eq!(g.pushes, 5, "every push arrived");
    assert_eq!(g.claimed_successes, 6);
    assert_eq!(g.successes, 1, "six claimed, one transaction to prove them");
    assert!(
        registry
            .metrics()
            .refusals()
            .get("rate_limited")
            .copied()
            .unwrap_or(0)
            >= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_stream_delivers_accepted_genes_for_the_keys_asked() {
    use helix_core::{GeneStore, MemoryGeneStore};
    use std::sync::Arc;
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let (server, registry) = LabRegistry::on(&anvil.url).start().await.unwrap();
    let client = RegistryClient::new(&server.url()).unwrap();
    let key = KEY;
    let store = Arc::new(MemoryGeneStore::new());
    let other = Arc::new(MemoryGeneStore::new());
    let sub = helix_registry::client::watch(&server.url(), &[key], store.clone())
        .await
        .unwrap();
    let rate = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };
    let sub_other = helix_registry::client::watch(&server.url(), &[rate], other.clone())
        .await
        .unwrap();
    // The upgrade is answered before the handler subscribes: wait until
    // both are counted (the count follows the subscription).
    let t = std::time::Instant::now();
    while !registry
        .metrics()
        .render(None)
        .contains("helix_registry_ws_clients 2")
    {
        assert!(t.elapsed() < Duration::from_secs(10), "both subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let (w, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let stored = client
        .push(&push(&w.signer(), w.address(), gene(50, 1), tx))
        .await
        .unwrap();
    let (got, _) = sub
        .wait_for(key, Duration::from_secs(5))
        .await
        .expect("streamed");
    assert_eq!(got.id, stored.id);
    assert_eq!(
        store.lookup(key).await.unwrap().map(|g| g.source),
        Some(helix_core::GeneSource::Registry)
    );
    assert!(
        sub_other
            .wait_for(key, Duration::from_millis(300))
            .await
            .is_none(),
        "not a key it asked for"
    );
    assert!(other.list().await.unwrap().is_empty());
    assert!(
        registry
            .metrics()
            .render(None)
            .contains("helix_registry_ws_clients 2")
    );
    // The same gene pushed again (its agent's record grew) is merged, not
    // broadcast again: subscribers already hold it.
    let again = client
        .push(&push(&w.signer(), w.address(), gene(50, 2), tx))
        .await
        .unwrap();
    assert_eq!(again.pushes, 2);
    let m = registry.metrics().render(None);
    assert!(m.contains("helix_registry_broadcasts_total 1\n"), "{m}");

    // A malformed key list is refused before the upgrade.
    let r = reqwest::get(format!("{}/v1/stream?keys=nonsense", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The load test: `helix-lab registry-bench`, bounded in count and time,
/// on loopback only.
#[test]
fn a_bounded_load_on_loopback_meets_its_figures() {
    let v = helix_lab::bounded::run_json(
        std::path::Path::new(env!("CARGO_BIN_EXE_helix-lab")),
        &[
            "registry-bench",
            "--pushes",
            "600",
            "--agents",
            "12",
            "--pulls",
            "400",
            "--subscribers",
            "10",
            "--broadcasts",
            "3",
            "--json",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(v["push"]["accepted"], 600);
    assert_eq!(v["broadcast"]["receipts"], 30);
    assert_eq!(v["broadcast"]["missed"], 0);
    // Latency is the benchmark's figure to report (docs/BENCHMARKS.md), not
    // this test's to time on a loaded machine; the bound only catches pulls
    // that stall (a lost cache, a lock held across the network).
    assert!(v["pull"]["p99_ms"].as_f64().unwrap() < 1000.0, "{v}");
}
