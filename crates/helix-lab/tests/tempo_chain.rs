//! Scenarios on a real Tempo chain: anvil in tempo mode, the StablecoinDEX,
//! TIP-20 transfers signed locally. Each asserts balances or nonces on chain.

use std::sync::Arc;

use helix_core::{Event, EventKind, Helix, MemorySink, Mode, StrategyId};
use helix_genemap::SqliteGeneStore;
use helix_http::rpc::{BalanceProbe, ReconcileTx, RefreshNonce, SwitchFeeToken, SwitchNetwork};
use helix_lab::anvil::{Anvil, DEV_KEY_0, provide_liquidity};
use helix_tempo::{Address, DexSwap, SendOpts, TempoChain, Tip20Payment, Wallet, pay};

const UNIT: u128 = 1_000_000;

fn token(n: u8) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0x20;
    a[1] = 0xc0;
    a[19] = n;
    Address::new(a)
}

fn coins() -> Vec<Address> {
    vec![token(1), token(2), token(3), token(0)]
}

fn helix(
    anvils: &[&Anvil],
    agent: &Wallet,
    store: Arc<SqliteGeneStore>,
    sink: Arc<MemorySink>,
) -> Helix {
    let http = reqwest::Client::new();
    let main = anvils[0].url.clone();
    let names: Vec<String> = coins().iter().map(|c| c.to_string()).collect();
    let mut b = Helix::builder()
        .adapter(helix_adapters::builtin())
        .probe(BalanceProbe::new(http.clone(), main.clone()))
        .strategy(RefreshNonce::new(http.clone(), main.clone()))
        .strategy(ReconcileTx::new(http.clone(), main.clone()))
        .strategy(SwitchFeeToken::new(
            http.clone(),
            main.clone(),
            names,
            100_000,
        ))
        .strategy(SwitchNetwork::new(
            http.clone(),
            anvils.iter().rev().map(|a| a.url.clone()).collect(),
        ))
        .store(store)
        .sink(sink)
        .mode(Mode::Full);
    for id in [
        StrategyId::SwapCurrency,
        StrategyId::SwapDirect,
        StrategyId::SwitchStablecoin,
    ] {
        b = b.strategy(DexSwap::new(id, main.clone(), agent.clone(), coins()));
    }
    b.build()
}

fn first_error(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallFailed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn payment(
    anvil: &Anvil,
    agent: &Wallet,
    to: Address,
    token: Address,
    fee: Address,
) -> Tip20Payment {
    Tip20Payment {
        rpc: anvil.url.clone(),
        chain_id: anvil.chain_id,
        payer: agent.address(),
        to,
        token,
        amount: UNIT / 2,
        fee_token: Some(fee),
        nonce: None,
        landed: None,
    }
}

async fn funded(funder: &TempoChain, tokens: &[(Address, u128)]) -> Wallet {
    let w = Wallet::random();
    for (t, v) in tokens {
        funder
            .transfer(*t, w.address(), *v, SendOpts::default())
            .await
            .unwrap();
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_01_swap_on_the_stablecoin_dex_then_pay_then_immune() {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    provide_liquidity(&anvil, &[token(1), token(2)], 1_000 * UNIT)
        .await
        .unwrap();
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let merchant = Wallet::random().address();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteGeneStore::open(dir.path().join("genes.db")).unwrap());
    for run in 0..2 {
        let agent = funded(&funder, &[(token(2), 10 * UNIT)]).await;
        let sink = Arc::new(MemorySink::new());
        let h = helix(&[&anvil], &agent, store.clone(), sink.clone());
        let mut req = payment(&anvil, &agent, merchant, token(1), token(1));
        let before = funder.balance(token(1), merchant).await.unwrap();
        let (res, report) = h
            .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
            .await;
        let events = sink.take();
        println!("run {run}: first error: {}", first_error(&events));
        res.unwrap_or_else(|e| panic!("run {run}: {e}\n{events:#?}"));
        let after = funder.balance(token(1), merchant).await.unwrap();
        assert_eq!(
            after - before,
            UNIT / 2,
            "the merchant got exactly the charge"
        );
        assert_eq!(report.repaired_by(), Some(StrategyId::SwapCurrency));
        let txs = &report.repairs[0].tx_hashes;
        assert_eq!(txs.len(), 2, "an exact approval and one swap");
        let agent_alpha = funder.balance(token(1), agent.address()).await.unwrap();
        assert!(
            agent_alpha < 100_000,
            "the agent bought only what it needed (left {agent_alpha})"
        );
        assert_eq!(report.immune(), run == 1, "second run answered by the gene");
    }
}

/// Row 4 as anvil really behaves: a 0x76 transaction with a stale nonce is
/// accepted and never mined. Helix sees a sent payment without a receipt
/// (outcome unknown), reconciles on chain (the nonce was consumed by another
/// transaction, so the stale one can never land), resends once with the next
/// nonce, and exactly one transfer reaches the merchant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_04_a_stale_nonce_is_reconciled_and_paid_exactly_once() {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let agent = funded(&funder, &[(token(1), 10 * UNIT)]).await;
    let merchant = Wallet::random().address();
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    let stale = me.nonce().await.unwrap();
    let alpha_fee = SendOpts {
        nonce: None,
        fee_token: Some(token(1)),
    };
    // Another process with the same key sends a transaction first.
    me.transfer(token(1), funder.address(), 1, alpha_fee)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let h = helix(
        &[&anvil],
        &agent,
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap()),
        sink.clone(),
    );
    let mut req = payment(&anvil, &agent, merchant, token(1), token(1));
    req.nonce = Some(stale);
    let (res, report) = h
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let err = first_error(&sink.take());
    println!("first error: {err}");
    res.unwrap_or_else(|e| panic!("{e}"));
    assert!(err.contains("no receipt"), "{err}");
    assert_eq!(report.repaired_by(), Some(StrategyId::Reconcile));
    assert_eq!(req.nonce, Some(stale + 1), "resent with the next nonce");
    assert_eq!(
        me.nonce().await.unwrap(),
        stale + 2,
        "exactly one more transaction landed"
    );
    assert_eq!(
        funder.balance(token(1), merchant).await.unwrap(),
        UNIT / 2,
        "paid exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_12_the_fee_is_paid_in_another_token_the_agent_holds() {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let agent = funded(&funder, &[(token(1), 10 * UNIT)]).await;
    let merchant = Wallet::random().address();
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let h = helix(
        &[&anvil],
        &agent,
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap()),
        sink.clone(),
    );
    // Pays AlphaUSD, fee asked in BetaUSD, which the agent does not hold.
    let mut req = payment(&anvil, &agent, merchant, token(1), token(2));
    let (res, report) = h
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let err = first_error(&sink.take());
    println!("first error: {err}");
    res.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.repaired_by(), Some(StrategyId::SwitchFeeToken));
    assert_eq!(req.fee_token, Some(token(1)));
    assert_eq!(funder.balance(token(1), merchant).await.unwrap(), UNIT / 2);
    let left = funder.balance(token(1), agent.address()).await.unwrap();
    assert!(
        left < 10 * UNIT - UNIT / 2,
        "the fee was paid in AlphaUSD ({left} left)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_13_the_endpoint_serving_the_payments_chain_is_chosen() {
    let wrong = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let right = Anvil::start(Some(42431))
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = right.client(DEV_KEY_0).unwrap();
    let agent = funded(&funder, &[(token(1), 10 * UNIT)]).await;
    let merchant = Wallet::random().address();
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let h = helix(
        &[&wrong, &right],
        &agent,
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap()),
        sink.clone(),
    );
    let mut req = payment(&wrong, &agent, merchant, token(1), token(1));
    req.chain_id = 42431;
    let (res, report) = h
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let err = first_error(&sink.take());
    println!("first error: {err}");
    res.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.repaired_by(), Some(StrategyId::SwitchNetwork));
    assert_eq!(req.rpc, right.url);
    assert_eq!(
        funder.balance(token(1), merchant).await.unwrap(),
        UNIT / 2,
        "landed on chain 42431"
    );
}

/// Rows 8 and 11: a token the agent holds is blocked for it (TIP-403
/// blacklist) or paused. The transfer fails at the node with the token's own
/// custom error; Helix pays in another stablecoin the agent holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_08_11_a_blocked_or_paused_token_is_switched_for_another() {
    use helix_lab::issuer::{blacklist, issue, pause};
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let merchant = Wallet::random().address();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap());
    for (row, block) in [(8, true), (11, false)] {
        let agent = funded(&funder, &[(token(1), 10 * UNIT)]).await;
        let lab_usd = issue(&funder, &format!("LAB{row}"), agent.address(), 10 * UNIT)
            .await
            .unwrap();
        if block {
            blacklist(&funder, lab_usd, agent.address()).await.unwrap();
        } else {
            pause(&funder, lab_usd).await.unwrap();
        }
        let sink = Arc::new(MemorySink::new());
        let h = helix(&[&anvil], &agent, store.clone(), sink.clone());
        let mut req = payment(&anvil, &agent, merchant, lab_usd, token(1));
        let before = funder.balance(token(1), merchant).await.unwrap();
        let (res, report) = h
            .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
            .await;
        let err = first_error(&sink.take());
        println!("row {row}: first error: {err}");
        res.unwrap_or_else(|e| panic!("row {row}: {e}"));
        let selector = if block { "0x54cfe659" } else { "0xab35696f" };
        assert!(
            err.contains(selector),
            "row {row}: the token's own error {selector}: {err}"
        );
        assert_eq!(report.repaired_by(), Some(StrategyId::SwitchStablecoin));
        assert_eq!(
            report.immune(),
            row == 11,
            "row 11 heals through row 8's gene"
        );
        assert_eq!(
            funder.balance(token(1), merchant).await.unwrap() - before,
            UNIT / 2
        );
        assert_eq!(
            funder.balance(lab_usd, merchant).await.unwrap(),
            0,
            "nothing moved in the blocked token"
        );
    }
}
