//! Servers that take the money and then say otherwise, on a real chain.
//!
//! An MPP server (Tempo's own `mpp` crate, on anvil) verifies the agent's
//! credential and settles the payment on chain, then answers without a
//! receipt: 502 as a flaky gateway would, 429 or a 402
//! "payment-insufficient" as a hostile one would. Helix must not pay again:
//! the credential's transaction is reconciled on chain, found landed, and
//! the run stops with that evidence. Exactly one transfer each time.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use helix_core::{EventKind, FailureCode, Helix, HelixError, MemorySink, Mode, StrategyId};
use helix_lab::anvil::{Anvil, DEV_KEY_0};
use helix_lab::mpp_server::MppServer;
use helix_lab::onchain::{funded_agent, stablecoins, token};
use helix_platforms::http::executors::{Backoff, BackoffRetry};
use helix_platforms::mpp::{ChallengeProbe, RenewSession, RetryWithReceipt};
use helix_platforms::mpp::{MppGet, get_paid};
use helix_platforms::tempo::DexSwap;
use helix_platforms::tempo::{BalanceProbe, ReconcileTx, SentTxProbe};
use helix_tempo::{TempoChain, Wallet};

const UNIT: u128 = 1_000_000;

async fn settles_then_answers(status: u16) {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let funder = anvil.client(DEV_KEY_0).unwrap();
    let agent = funded_agent(&funder, token(1), 10 * UNIT).await.unwrap();
    let merchant = Wallet::random().address();
    let server = MppServer::start(
        &anvil.url,
        anvil.chain_id,
        &merchant.to_string(),
        &[token(1).to_string()],
    )
    .await
    .unwrap();
    server
        .faults
        .answer_after_settling_next
        .store(status, Ordering::SeqCst);

    let http = reqwest::Client::new();
    let sink = Arc::new(MemorySink::new());
    // Everything a paying agent would register, in the widest mode: only
    // the rule about sent payments stands between it and a second payment.
    let mut b = Helix::builder()
        .adapter(helix_platforms::builtin())
        .probe(SentTxProbe::new(http.clone(), anvil.url.clone()))
        .probe(BalanceProbe::new(http.clone(), anvil.url.clone()))
        .probe(ChallengeProbe::new(http.clone()))
        .strategy(ReconcileTx::new(http.clone(), anvil.url.clone()))
        .strategy(RenewSession::new(http.clone()))
        .strategy(RetryWithReceipt)
        .strategy(Backoff {
            default_wait: Duration::from_millis(100),
            max_wait: Duration::from_secs(2),
        })
        .strategy(BackoffRetry::default())
        .sink(sink.clone())
        .mode(Mode::Full);
    for id in [StrategyId::SwapCurrency, StrategyId::SwapDirect] {
        b = b.strategy(DexSwap::new(
            id,
            anvil.url.clone(),
            agent.clone(),
            stablecoins(),
        ));
    }
    let helix = b.build();
    let mut req = MppGet::new(
        format!("{}/paid", server.url),
        anvil.url.clone(),
        anvil.chain_id,
        agent.address(),
        merchant,
        UNIT / 2,
        token(1),
    );
    let (res, report) = helix
        .run_mut(&mut req, async |r: &MppGet| get_paid(&agent, r).await)
        .await;

    let evidence = match res {
        Err(HelixError::AlreadyPaid {
            evidence, strategy, ..
        }) => {
            assert_eq!(strategy, StrategyId::Reconcile, "{status}");
            evidence
        }
        other => panic!("{status}: expected a stop with the payment's evidence, got {other:?}"),
    };
    assert_eq!(
        report.calls, 1,
        "{status}: the payment was not attempted again"
    );
    let perceived: Vec<FailureCode> = sink
        .take()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Perceived { failure, .. } => Some(failure.code),
            _ => None,
        })
        .collect();
    assert_eq!(perceived, [FailureCode::OutcomeUnknown], "{status}");

    // On chain: the merchant was paid once, the agent sent one transaction,
    // and it is the one the evidence names.
    assert_eq!(server.faults.settled.load(Ordering::SeqCst), 1, "{status}");
    assert_eq!(funder.balance(token(1), merchant).await.unwrap(), UNIT / 2);
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    let hash = evidence.trim_start_matches("tx ");
    assert!(
        me.receipt_ok(hash.parse().unwrap()).await.unwrap(),
        "{status}"
    );
    let spent = 10 * UNIT - me.balance(token(1), agent.address()).await.unwrap();
    assert!(
        (UNIT / 2..UNIT / 2 + UNIT / 10).contains(&spent),
        "{status}: the agent paid once and its fee: {spent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_then_502_without_a_receipt_is_not_paid_again() {
    settles_then_answers(502).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_then_a_hostile_429_is_not_paid_again() {
    settles_then_answers(429).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_then_a_hostile_payment_insufficient_is_not_paid_again() {
    settles_then_answers(402).await;
}
