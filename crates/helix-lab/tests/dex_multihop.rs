//! swap_multihop on the real StablecoinDEX: BetaUSD to AlphaUSD in two
//! explicit legs through pathUSD, each approved for exactly what it sells
//! and bounded against par; the agent ends with the accepted currency and
//! no pathUSD left over. The dry run (what the engine asks before a repair
//! an LLM proposed) reads and quotes only: it sends nothing.

use helix_core::{
    Category, CommitCtx, ErrorSignal, Evidence, Executor, Facts, Failure, FailureCode, Mode, Patch,
    PaymentView, Platform, Severity, StrategyId,
};
use helix_lab::onchain::{funded_agent, stablecoin_chain, token};
use helix_platforms::tempo::DexSwap;
use helix_tempo::{TempoChain, Wallet};

const UNIT: u128 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beta_to_alpha_in_two_bounded_legs_through_path_usd() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let agent = funded_agent(&funder, token(2), 10 * UNIT).await.unwrap();
    let failure = Failure {
        code: FailureCode::MethodUnsupported,
        category: Category::Currency,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::ProblemType,
        facts: Facts {
            accepted_currencies: vec![token(1).to_string()],
            ..Default::default()
        },
    };
    let request = PaymentView {
        payer: Some(agent.address().to_string()),
        amount: Some(UNIT / 2),
        currency: Some(token(2).to_string()),
        ..Default::default()
    };
    let ctx = CommitCtx {
        failure: &failure,
        signal: &ErrorSignal::message("currency not accepted"),
        request: &request,
        params: &serde_json::Value::Null,
        mode: Mode::Full,
        repairs_so_far: 0,
        max_cost: 5_000_000,
    };
    let swap = DexSwap::new(
        StrategyId::SwapMultihop,
        anvil.url.clone(),
        agent.clone(),
        vec![token(1), token(2)],
    );
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    assert!(matches!(swap.dry_run(&ctx).await, Some(Ok(()))));
    assert_eq!(me.nonce().await.unwrap(), 0, "the dry run sent nothing");
    assert_eq!(
        me.balance(token(2), agent.address()).await.unwrap(),
        10 * UNIT
    );
    // A wallet with nothing to sell fails the dry run, still sending nothing.
    let broke = Wallet::random();
    let empty = PaymentView {
        payer: Some(broke.address().to_string()),
        ..request.clone()
    };
    let broke_swap = DexSwap::new(
        StrategyId::SwapMultihop,
        anvil.url.clone(),
        broke.clone(),
        vec![token(1), token(2)],
    );
    let refused = broke_swap
        .dry_run(&CommitCtx {
            request: &empty,
            ..ctx
        })
        .await;
    assert!(
        matches!(
            refused,
            Some(Err(helix_core::CommitError::NotApplicable(_)))
        ),
        "{refused:?}"
    );

    let done = swap.commit(&ctx).await.expect("swapped");
    assert_eq!(
        done.patches,
        vec![Patch::Currency {
            currency: token(1).to_string()
        }]
    );
    assert_eq!(done.tx_hashes.len(), 4, "approve + swap, twice");
    for h in &done.tx_hashes {
        assert!(me.receipt_ok(h.parse().unwrap()).await.unwrap(), "{h}");
    }
    assert!(me.balance(token(1), agent.address()).await.unwrap() >= UNIT / 2);
    assert_eq!(
        me.balance(token(0), agent.address()).await.unwrap(),
        0,
        "leg two sold exactly what leg one bought"
    );
}

/// A server naming a token nobody configured (worthless, priced near par,
/// or simply unknown) gets no swap: the executor buys the first accepted
/// currency that is a configured stablecoin, and refuses when there is none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_configured_stablecoin_is_ever_bought() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let agent = funded_agent(&funder, token(2), 10 * UNIT).await.unwrap();
    let me = TempoChain::connect(&anvil.url, &agent).unwrap();
    let swap = DexSwap::new(
        StrategyId::SwapDirect,
        anvil.url.clone(),
        agent.clone(),
        vec![token(1), token(2)],
    );
    let request = PaymentView {
        payer: Some(agent.address().to_string()),
        amount: Some(UNIT / 2),
        currency: Some(token(2).to_string()),
        ..Default::default()
    };
    let asking = |accepted: Vec<String>| Failure {
        code: FailureCode::MethodUnsupported,
        category: Category::Currency,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::ProblemType,
        facts: Facts {
            accepted_currencies: accepted,
            ..Default::default()
        },
    };
    let signal = ErrorSignal::message("currency not accepted");
    let ctx = |f: &'static Failure| CommitCtx {
        failure: f,
        signal: Box::leak(Box::new(signal.clone())),
        request: Box::leak(Box::new(request.clone())),
        params: &serde_json::Value::Null,
        mode: Mode::Full,
        repairs_so_far: 0,
        max_cost: 5_000_000,
    };
    let leak = |f: Failure| -> &'static Failure { Box::leak(Box::new(f)) };

    // Only an unconfigured token: refused, nothing sent.
    let other = token(3).to_string();
    let refused = swap.commit(&ctx(leak(asking(vec![other.clone()])))).await;
    assert!(
        matches!(refused, Err(helix_core::CommitError::NotApplicable(_))),
        "{refused:?}"
    );
    assert_eq!(me.nonce().await.unwrap(), 0, "nothing was sent");

    // A swap that would change nothing (the wallet holds the charged
    // currency already) is not a repair: it earns no retry.
    let idle = DexSwap::new(
        StrategyId::SwapCurrency,
        anvil.url.clone(),
        agent.clone(),
        vec![token(1), token(2)],
    )
    .commit(&ctx(leak(asking(vec![]))))
    .await;
    assert!(
        matches!(idle, Err(helix_core::CommitError::NotApplicable(_))),
        "{idle:?}"
    );
    assert_eq!(me.nonce().await.unwrap(), 0, "nothing was sent");

    // The unconfigured one named first: the configured one is bought.
    let done = swap
        .commit(&ctx(leak(asking(vec![other, token(1).to_string()]))))
        .await
        .expect("bought the configured stablecoin");
    assert_eq!(
        done.patches,
        vec![Patch::Currency {
            currency: token(1).to_string()
        }]
    );
    assert_eq!(me.balance(token(3), agent.address()).await.unwrap(), 0);
    assert!(me.balance(token(1), agent.address()).await.unwrap() >= UNIT / 2);
}

/// An agent holding only BetaUSD that must pay 0.5 AlphaUSD; its swap
/// repair reaches the chain through a proxy that can lose answers, and a
/// reserve top-up stands behind it.
struct LostAnswer {
    anvil: helix_lab::anvil::Anvil,
    agent: Wallet,
    reserve: Wallet,
    watcher: TempoChain,
    proxy: helix_lab::drop_proxy::DropProxy,
    budget: std::sync::Arc<helix_core::MemoryBudget>,
    helix: helix_core::Helix,
}

impl LostAnswer {
    async fn new() -> LostAnswer {
        use std::sync::Arc;

        use helix_core::{Helix, MemoryBudget, MemoryGeneStore};
        use helix_lab::anvil::{DEV_KEY_0, DEV_KEY_1};
        use helix_lab::drop_proxy::DropProxy;
        use helix_platforms::tempo::TopupFromReserve;

        let (anvil, funder) = stablecoin_chain()
            .await
            .expect("anvil (run scripts/tools.sh)");
        let agent = funded_agent(&funder, token(2), 10 * UNIT).await.unwrap();
        let reserve = Wallet::from_hex(DEV_KEY_1).unwrap();
        let watcher = anvil.client(DEV_KEY_0).unwrap();
        let proxy = DropProxy::start(&anvil.url).await.unwrap();
        let budget = Arc::new(MemoryBudget::new(10 * UNIT as u64));
        let helix = Helix::builder()
            .adapter(helix_platforms::builtin())
            .strategy(DexSwap::new(
                StrategyId::SwapCurrency,
                proxy.url.clone(),
                agent.clone(),
                vec![token(1), token(2)],
            ))
            .strategy(TopupFromReserve::new(
                anvil.url.clone(),
                reserve.clone(),
                agent.address(),
                5 * UNIT,
            ))
            .store(Arc::new(MemoryGeneStore::new()))
            .budget(budget.clone())
            .mode(Mode::Full)
            .build();
        LostAnswer {
            anvil,
            agent,
            reserve,
            watcher,
            proxy,
            budget,
            helix,
        }
    }

    /// Pays 0.5 AlphaUSD to a fresh address; returns the result, the
    /// report and the address.
    async fn pay(
        &self,
    ) -> (
        Result<String, helix_core::HelixError<helix_tempo::ChainError>>,
        helix_core::Report,
        alloy::primitives::Address,
    ) {
        use helix_tempo::{Tip20Payment, pay};
        let to = Wallet::random().address();
        let mut req = Tip20Payment {
            rpc: self.anvil.url.clone(),
            chain_id: self.anvil.chain_id,
            payer: self.agent.address(),
            to,
            token: token(1),
            amount: UNIT / 2,
            fee_token: Some(token(2)),
            nonce: None,
            landed: None,
            idempotency_key: Tip20Payment::new_key(),
            memo: None,
        };
        let agent = self.agent.clone();
        let (res, report) = self
            .helix
            .run_mut(&mut req, async |p: &Tip20Payment| pay(&agent, p).await)
            .await;
        (res, report, to)
    }

    async fn reserve_balance(&self) -> u128 {
        self.watcher
            .balance(token(1), self.reserve.address())
            .await
            .unwrap()
    }

    async fn alpha_held(&self) -> u128 {
        self.watcher
            .balance(token(1), self.agent.address())
            .await
            .unwrap()
    }
}

/// A swap repair whose answer is lost may have moved the money: nothing
/// else moves funds in that run. Here the swap reaches the node and its
/// answer is lost while it waits in the pool (so the balance does not show
/// it yet, for longer than the repair looks for it); the top-up that would
/// come next is never sent, and once the block is mined exactly one fund
/// move happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_whose_answer_was_lost_is_not_followed_by_another_fund_move() {
    use helix_core::HelixError;

    let t = LostAnswer::new().await;
    let reserve_before = t.reserve_balance().await;
    // The approval is answered; the swap's answer is lost.
    t.proxy.drop_sends_after(1, 1);
    t.proxy.hold_dropped_sends_in_pool();
    let (res, report, _) = t.pay().await;
    assert_eq!(t.proxy.dropped(), 1, "the swap's answer was lost");
    assert!(
        matches!(res, Err(HelixError::NotRepaired { .. })),
        "{res:?}"
    );
    assert!(report.repairs.is_empty(), "{report:?}");
    let rpc = |m: &'static str, p| {
        let url = t.anvil.url.clone();
        async move {
            helix_http::rpc::call(&reqwest::Client::new(), &url, m, p)
                .await
                .unwrap()
        }
    };
    rpc("evm_setAutomine", serde_json::json!([true])).await;
    rpc("evm_mine", serde_json::json!([])).await;
    assert_eq!(
        t.reserve_balance().await,
        reserve_before,
        "no top-up followed the lost swap"
    );
    let bought = t.alpha_held().await;
    assert!(
        (UNIT / 2..UNIT).contains(&bought),
        "one swap landed, not two: {bought}"
    );
}

/// The swap reaches the node and is mined, and its answer is lost: the
/// repair finds it on chain by its receipt before deciding anything, counts
/// it (the repair succeeds, its cost booked from the balances) and the
/// payment goes through, with exactly one swap and no top-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_that_landed_with_its_answer_lost_is_reconciled_and_counted_once() {
    use helix_core::Budget;

    let t = LostAnswer::new().await;
    let reserve_before = t.reserve_balance().await;
    // The approval is answered; the swap is mined and its answer lost.
    t.proxy.drop_sends_after(1, 1);
    let (res, report, to) = t.pay().await;
    assert_eq!(t.proxy.dropped(), 1, "the swap's answer was lost");
    res.expect("paid after the reconciled swap");
    assert_eq!(
        report
            .repairs
            .iter()
            .map(|r| r.strategy)
            .collect::<Vec<_>>(),
        vec![StrategyId::SwapCurrency],
        "{report:?}"
    );
    assert_eq!(
        t.watcher.balance(token(1), to).await.unwrap(),
        UNIT / 2,
        "paid once"
    );
    assert_eq!(t.reserve_balance().await, reserve_before, "no top-up");
    let left = t.alpha_held().await;
    assert!(
        left < UNIT / 2,
        "one swap's worth bought, not two: {left} left"
    );
    let status = t.budget.status().await.unwrap();
    assert_eq!(status.reserved, 0);
    assert!(
        status.spent < UNIT as u64 / 100,
        "the swap's cost (its slippage) was booked, not its bound: {}",
        status.spent
    );
}
