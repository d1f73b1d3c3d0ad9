//! Outcome unknown on a real chain: the agent's signed transfer reaches
//! anvil and is mined, but the connection drops before the node's answer
//! arrives (`helix_lab::drop_proxy`). Helix must classify this as
//! outcome-unknown, reconcile by the transaction hash, and complete the
//! payment without sending it again: exactly one transfer on chain.

use std::sync::Arc;

use helix_core::{EventKind, FailureCode, Helix, MemoryGeneStore, MemorySink, Mode, StrategyId};
use helix_lab::anvil::{Anvil, DEV_KEY_0};
use helix_lab::drop_proxy::DropProxy;
use helix_lab::onchain::{funded_agent, token};
use helix_platforms::tempo::ReconcileTx;
use helix_tempo::{TempoChain, Tip20Payment, Wallet, pay};

const UNIT: u128 = 1_000_000;

struct Setup {
    anvil: Anvil,
    proxy: DropProxy,
    funder: TempoChain,
    agent: Wallet,
    req: Tip20Payment,
}

async fn setup() -> Setup {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let agent = funded_agent(&funder, token(1), 10 * UNIT).await.unwrap();
    let proxy = DropProxy::start(&anvil.url).await.unwrap();
    let req = Tip20Payment {
        rpc: proxy.url.clone(),
        chain_id: anvil.chain_id,
        payer: agent.address(),
        to: Wallet::random().address(),
        token: token(1),
        amount: UNIT / 2,
        fee_token: Some(token(1)),
        nonce: None,
        landed: None,
        idempotency_key: Tip20Payment::new_key(),
        memo: None,
    };
    Setup {
        anvil,
        proxy,
        funder,
        agent,
        req,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_answer_after_broadcast_is_reconciled_not_paid_twice() {
    let Setup {
        anvil,
        proxy,
        funder,
        agent,
        mut req,
    } = setup().await;
    proxy.drop_next_sends(1);
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .strategy(ReconcileTx::new(reqwest::Client::new(), anvil.url.clone()))
        .store(Arc::new(MemoryGeneStore::new()))
        .sink(sink.clone())
        .mode(Mode::Full)
        .build();
    let (res, report) = helix
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let hash = res.expect("completed");
    assert_eq!(proxy.dropped(), 1, "the node's answer was really lost");

    let events = sink.take();
    let code = events.iter().find_map(|e| match &e.kind {
        EventKind::Perceived { failure, .. } => Some(failure.code),
        _ => None,
    });
    assert_eq!(code, Some(FailureCode::OutcomeUnknown));
    assert_eq!(report.repaired_by(), Some(StrategyId::Reconcile));
    assert_eq!(req.landed.as_deref(), Some(hash.as_str()));

    // Exactly one transfer: the recipient got the amount once, and the
    // agent's account sent exactly one transaction.
    assert_eq!(funder.balance(token(1), req.to).await.unwrap(), UNIT / 2);
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    assert_eq!(me.nonce().await.unwrap(), 1);
    assert!(me.receipt_ok(hash.parse().unwrap()).await.unwrap());
}

/// The same fault with a blind retry (what a plain retry loop does):
/// the payment lands twice. This is the failure Helix exists to prevent,
/// and it shows the proxy really delivers the first transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_retry_of_the_same_fault_pays_twice() {
    let Setup {
        anvil: _running,
        proxy,
        funder,
        agent,
        req,
    } = setup().await;
    proxy.drop_next_sends(1);
    let first = pay(&agent, &req).await;
    assert!(
        matches!(first, Err(helix_tempo::ChainError::Unanswered { .. })),
        "{first:?}"
    );
    pay(&agent, &req).await.expect("the resend goes through");
    assert_eq!(funder.balance(token(1), req.to).await.unwrap(), UNIT);
}

/// The race a reconciliation must survive: the lost transaction is still in
/// the pool when Helix asks for its receipt, and a block is mined right
/// after that answer (the proxy mines between the two reads). Reading the
/// receipt first and the nonce second sees "no receipt, nonce used" and
/// pays again; Helix reads the nonce first and the receipt after, and
/// finds the payment landed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_mined_between_two_reads_does_not_make_a_second_payment() {
    let Setup {
        anvil,
        proxy,
        funder,
        agent,
        mut req,
    } = setup().await;
    let http = reqwest::Client::new();
    let automine = |on: bool| {
        let (http, url) = (http.clone(), anvil.url.clone());
        async move {
            helix_http::rpc::call(&http, &url, "evm_setAutomine", serde_json::json!([on]))
                .await
                .unwrap();
        }
    };
    automine(false).await;
    proxy.drop_next_sends(1);
    proxy.mine_after_next_receipt_misses(1);
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .strategy(ReconcileTx::new(http.clone(), proxy.url.clone()))
        .store(Arc::new(MemoryGeneStore::new()))
        .mode(Mode::Full)
        .build();
    let (res, report) = helix
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    assert_eq!(proxy.mined(), 1, "the chain moved between the reads");
    let hash = res.expect("completed");
    assert_eq!(report.repaired_by(), Some(StrategyId::Reconcile));
    assert_eq!(req.landed.as_deref(), Some(hash.as_str()));

    // Whatever is still in the pool lands now.
    automine(true).await;
    helix_http::rpc::call(&http, &anvil.url, "evm_mine", serde_json::json!([]))
        .await
        .unwrap();
    assert_eq!(funder.balance(token(1), req.to).await.unwrap(), UNIT / 2);
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    assert_eq!(me.nonce().await.unwrap(), 1, "one transaction, not two");
}
