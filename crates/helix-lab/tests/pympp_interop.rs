//! Interop with an MPP server nobody here wrote: pympp verifies payments on
//! a real Tempo chain (anvil). The agent holds only BetaUSD; the service
//! charges AlphaUSD. Helix must acquire AlphaUSD on the StablecoinDEX before
//! Tempo's own mpp client can pay.

use std::sync::Arc;

use helix_core::{EventKind, Helix, MemorySink, Mode, Stage, StrategyId};
use helix_genemap::SqliteGeneStore;
use helix_lab::onchain::{stablecoin_chain, token};
use helix_lab::pympp::Pympp;
use helix_platforms::mpp::{MppGet, get_paid};
use helix_platforms::tempo::BalanceProbe;
use helix_platforms::tempo::DexSwap;
use helix_tempo::{SendOpts, Wallet};

const UNIT: u128 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pympp_is_paid_after_a_real_dex_swap_then_immune() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let merchant = Wallet::random().address();
    let server = Pympp::start(
        &anvil.url,
        anvil.chain_id,
        &merchant.to_string(),
        &token(1).to_string(),
        "0.50",
    )
    .await
    .expect("pympp (run scripts/tools.sh)");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteGeneStore::open(dir.path().join("genes.db")).unwrap());

    for run in 0..2 {
        let agent = Wallet::random();
        funder
            .transfer(token(2), agent.address(), 10 * UNIT, SendOpts::default())
            .await
            .unwrap();
        let sink = Arc::new(MemorySink::new());
        let helix = Helix::builder()
            .adapter(helix_platforms::builtin())
            .probe(BalanceProbe::new(reqwest::Client::new(), anvil.url.clone()))
            .strategy(DexSwap::new(
                StrategyId::SwapCurrency,
                anvil.url.clone(),
                agent.clone(),
                vec![token(1), token(2)],
            ))
            .store(store.clone())
            .sink(sink.clone())
            .mode(Mode::Full)
            .build();
        let mut req = MppGet::new(
            format!("{}/paid", server.url),
            anvil.url.clone(),
            anvil.chain_id,
            agent.address(),
            merchant,
            UNIT / 2,
            token(1),
        );
        let before = funder.balance(token(1), merchant).await.unwrap();
        let (res, report) = helix
            .run_mut(&mut req, async |r: &MppGet| get_paid(&agent, r).await)
            .await;
        let events = sink.take();
        let first = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::CallFailed { message, .. } => Some(message.clone()),
                _ => None,
            })
            .unwrap_or_default();
        println!("run {run}: first attempt failed with: {first}");
        let receipt = res.unwrap_or_else(|e| panic!("run {run}: {e}"));
        assert!(!receipt.is_empty(), "a Payment-Receipt came back");
        assert!(
            first.contains("-32003") || first.contains("0x832f98b5"),
            "the real node error: {first}"
        );
        assert_eq!(report.repaired_by(), Some(StrategyId::SwapCurrency));
        let swap = &report.repairs[0];
        assert_eq!(swap.tx_hashes.len(), 2, "an exact approval and the swap");
        let after = funder.balance(token(1), merchant).await.unwrap();
        assert_eq!(
            after - before,
            UNIT / 2,
            "the recipient got exactly the charge"
        );
        let immune = !events.iter().any(|e| e.kind.stage() == Stage::Construct);
        assert_eq!(
            immune,
            run == 1,
            "run {run}: the second run is immune (no construct stage)"
        );
    }
    let genes = helix_core::GeneStore::list(store.as_ref()).await.unwrap();
    let g = genes
        .iter()
        .find(|g| g.strategy == StrategyId::SwapCurrency)
        .expect("gene stored");
    assert_eq!(g.key.to_string(), "payment-insufficient/balance");
    assert_eq!(g.successes, 2);
}
