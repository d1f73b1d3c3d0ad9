//! topup_from_reserve on anvil: the agent holds none of the charged token;
//! in full mode the operator's reserve sends the shortfall and the payment
//! lands; in auto mode (which never moves funds) nothing is sent.

use std::sync::Arc;

use helix_core::{Helix, HelixError, MemoryGeneStore, Mode, StrategyId};
use helix_lab::anvil::{Anvil, DEV_KEY_0, DEV_KEY_1};
use helix_lab::onchain::token;
use helix_platforms::tempo::BalanceProbe;
use helix_platforms::tempo::TopupFromReserve;
use helix_tempo::{ChainError, Tip20Payment, Wallet, pay};

const UNIT: u128 = 1_000_000;

/// The run's result, what the reserve spent, what the merchant got, and
/// the strategy that repaired.
async fn attempt(
    mode: Mode,
) -> (
    Result<String, HelixError<ChainError>>,
    u128,
    u128,
    Option<StrategyId>,
) {
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let reserve = Wallet::from_hex(DEV_KEY_1).unwrap();
    let watcher = anvil.client(DEV_KEY_0).unwrap();
    let agent = Wallet::random();
    let merchant = Wallet::random().address();
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .probe(BalanceProbe::new(reqwest::Client::new(), anvil.url.clone()))
        .strategy(TopupFromReserve::new(
            anvil.url.clone(),
            reserve.clone(),
            agent.address(),
            5 * UNIT,
        ))
        .store(Arc::new(MemoryGeneStore::new()))
        .mode(mode)
        .build();
    let mut req = Tip20Payment {
        rpc: anvil.url.clone(),
        chain_id: anvil.chain_id,
        payer: agent.address(),
        to: merchant,
        token: token(1),
        amount: UNIT / 2,
        fee_token: Some(token(1)),
        nonce: None,
        landed: None,
        idempotency_key: Tip20Payment::new_key(),
        memo: None,
    };
    let reserve_before = watcher.balance(token(1), reserve.address()).await.unwrap();
    let (res, report) = helix
        .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
        .await;
    let reserve_spent =
        reserve_before - watcher.balance(token(1), reserve.address()).await.unwrap();
    let merchant_got = watcher.balance(token(1), merchant).await.unwrap();
    (res, reserve_spent, merchant_got, report.repaired_by())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mode_tops_up_the_shortfall_and_pays() {
    let (res, spent, got, by) = attempt(Mode::Full).await;
    res.expect("paid");
    assert_eq!(by, Some(StrategyId::TopupFromReserve));
    assert_eq!(got, UNIT / 2, "the merchant got the charge once");
    // The shortfall plus the fee margin, and the reserve's own fee.
    assert!(spent >= UNIT / 2 + 50_000, "{spent}");
    assert!(
        spent < UNIT,
        "never more than the shortfall and fees: {spent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_mode_never_moves_reserve_funds() {
    let (res, spent, got, by) = attempt(Mode::Auto).await;
    assert!(
        matches!(res, Err(HelixError::NotRepaired { .. })),
        "{res:?}"
    );
    assert_eq!(by, None);
    assert_eq!(spent, 0, "the reserve sent nothing");
    assert_eq!(got, 0);
}

/// The cap holds per logical payment, not per repair: a second top-up for
/// the same payment (its idempotency key) that would pass the cap is
/// refused, however the first one was spent; another payment has its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_per_payment_not_per_repair() {
    use helix_core::{
        Category, CommitCtx, CommitError, ErrorSignal, Evidence, Executor, Facts, Failure,
        FailureCode, PaymentView, Platform, Severity,
    };
    let anvil = Anvil::start(None)
        .await
        .expect("anvil (run scripts/tools.sh)");
    let reserve = Wallet::from_hex(DEV_KEY_1).unwrap();
    let watcher = anvil.client(DEV_KEY_0).unwrap();
    let agent = Wallet::random();
    let topup = TopupFromReserve::new(
        anvil.url.clone(),
        reserve.clone(),
        agent.address(),
        UNIT * 6 / 10,
    );
    let failure = Failure {
        code: FailureCode::PaymentInsufficient,
        category: Category::Balance,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::Probe,
        facts: Facts::default(),
    };
    let signal = ErrorSignal::message("insufficient balance");
    let view = |key: &str| PaymentView {
        payer: Some(agent.address().to_string()),
        amount: Some(UNIT / 2),
        currency: Some(token(1).to_string()),
        idempotency_key: Some(key.into()),
        ..Default::default()
    };
    let commit = |v: PaymentView| {
        let (topup, failure, signal) = (topup.clone(), failure.clone(), signal.clone());
        async move {
            topup
                .commit(&CommitCtx {
                    failure: &failure,
                    signal: &signal,
                    request: &v,
                    params: &serde_json::Value::Null,
                    mode: Mode::Full,
                    repairs_so_far: 0,
                    max_cost: 5 * UNIT as u64,
                })
                .await
        }
    };
    commit(view("order-1")).await.expect("first top-up");
    // The agent spends what it was given elsewhere, and the payment fails again.
    let me = helix_tempo::TempoChain::connect(&anvil.url, &agent).unwrap();
    me.transfer(
        token(1),
        Wallet::random().address(),
        UNIT * 45 / 100,
        helix_tempo::SendOpts {
            nonce: None,
            fee_token: Some(token(1)),
        },
    )
    .await
    .unwrap();
    let reserve_before = watcher.balance(token(1), reserve.address()).await.unwrap();
    let again = commit(view("order-1")).await;
    assert!(matches!(again, Err(CommitError::Unsafe(_))), "{again:?}");
    assert_eq!(
        watcher.balance(token(1), reserve.address()).await.unwrap(),
        reserve_before,
        "nothing more left the reserve for that payment"
    );
    commit(view("order-2"))
        .await
        .expect("another payment has its own cap");
}
