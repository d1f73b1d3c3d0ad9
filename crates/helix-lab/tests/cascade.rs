//! Scenario 9 on anvil with agent processes on the mesh (NATS, Redis): A
//! buys a render job from B, B buys the rendering from C, C fails. B's
//! Helix reroutes to C2 and is immune on the next job; with no C2 the money
//! goes back down the chain; a C that keeps the money stops everything
//! (B never pays C2 while C holds its payment). Every balance is read on
//! chain.

use std::path::Path;
use std::sync::Arc;

use helix_core::{GeneStore, MemoryGeneStore, MemorySink, StrategyId};
use helix_lab::cascade::{Failing, JOB_PRICE, SUB_PRICE, World, WorldConfig};
use helix_lab::onchain::{stablecoin_chain, token};

async fn world(
    failing: Failing,
    alternative: bool,
    jobs: usize,
) -> (helix_lab::anvil::Anvil, World) {
    let (chain, funder) = stablecoin_chain().await.expect("anvil (scripts/tools.sh)");
    let cfg = WorldConfig {
        failing,
        alternative,
        ..WorldConfig::local(jobs)
    };
    let exe = Path::new(env!("CARGO_BIN_EXE_helix-lab"));
    let w = World::start(&chain, &funder, exe, &cfg)
        .await
        .expect("the relay (NATS, Redis) and the agents");
    (chain, w)
}

fn strategies(r: &helix_core::Report) -> Vec<StrategyId> {
    r.repairs.iter().map(|r| r.strategy).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_provider_is_rerouted_around_then_the_reroute_is_immediate() {
    let (_chain, w) = world(Failing::Refunds, true, 2).await;
    let store: Arc<dyn GeneStore> = Arc::new(MemoryGeneStore::new());
    let sink = Arc::new(MemorySink::new());

    let first = w.pass(&w.helix(store.clone(), sink.clone())).await.unwrap();
    assert!(first.ok, "{}", first.detail);
    assert_eq!(strategies(&first.report), [StrategyId::RerouteViaAlt]);
    assert!(!first.report.repairs[0].immune);
    // A's payment, B's payment to C, C's refund, B's payment to C2.
    assert_eq!(first.tx_hashes.len(), 4, "{:?}", first.tx_hashes);
    assert!(first.receipts_ok && !first.double_paid);
    assert!(
        first.detail.contains(&format!("C2 +{SUB_PRICE}")),
        "{}",
        first.detail
    );

    let second = w.pass(&w.helix(store.clone(), sink.clone())).await.unwrap();
    assert!(second.ok, "{}", second.detail);
    assert_eq!(strategies(&second.report), [StrategyId::RerouteViaAlt]);
    assert!(
        second.report.repairs[0].immune,
        "the gene chose the reroute at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_alternative_the_money_goes_back_down_the_chain_once() {
    let (chain, w) = world(Failing::Refunds, false, 1).await;
    let store: Arc<dyn GeneStore> = Arc::new(MemoryGeneStore::new());
    let helix = w.helix(store, Arc::new(MemorySink::new()));
    let run = w.pass(&helix).await.unwrap();
    assert!(run.ok, "{}", run.detail);
    let s = strategies(&run.report);
    assert_eq!(s.last(), Some(&StrategyId::RefundWaterfall), "{s:?}");
    // A's payment, B's to C, C's refund, B's refund to A.
    assert_eq!(run.tx_hashes.len(), 4, "{:?}", run.tx_hashes);
    let funder = chain.client(helix_lab::anvil::DEV_KEY_0).unwrap();
    assert_eq!(
        funder.balance(token(1), w.a).await.unwrap(),
        10 * JOB_PRICE,
        "A has all its AlphaUSD back"
    );
    assert_eq!(funder.balance(token(1), w.b.address()).await.unwrap(), 0);
    assert_eq!(funder.balance(token(1), w.c).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_keeps_the_money_is_never_paid_around() {
    let (chain, w) = world(Failing::Keeps, true, 1).await;
    let store: Arc<dyn GeneStore> = Arc::new(MemoryGeneStore::new());
    let helix = w.helix(store, Arc::new(MemorySink::new()));
    let run = w.pass(&helix).await.unwrap();
    assert!(!run.ok, "{}", run.detail);
    assert!(
        !strategies(&run.report).contains(&StrategyId::RerouteViaAlt),
        "{:?}",
        run.report
    );
    let funder = chain.client(helix_lab::anvil::DEV_KEY_0).unwrap();
    assert_eq!(
        funder.balance(token(1), w.c2).await.unwrap(),
        0,
        "C2 was not paid while C holds B's payment"
    );
    assert_eq!(funder.balance(token(1), w.c).await.unwrap(), SUB_PRICE);
    assert!(!run.double_paid);
}
