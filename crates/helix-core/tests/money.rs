//! Money paths through the engine: what stops a run, what the budget
//! holds, and what one wallet allows at once. Each test names the fault
//! it guards against; each failed before its fix.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{Exec, Words, pay};
use helix_core::*;

fn counted<T: Clone>(
    calls: &Arc<AtomicU32>,
    res: Result<T, ErrorSignal>,
) -> impl AsyncFnMut(&common::Pay) -> Result<T, ErrorSignal> {
    let calls = calls.clone();
    async move |_: &common::Pay| {
        calls.fetch_add(1, Ordering::SeqCst);
        res.clone()
    }
}

/// One run where `strategy` answers with `patches` to a call that fails
/// with `message`; returns the result and how often the call was made.
async fn run_with_patches(
    strategy: StrategyId,
    patches: Vec<Patch>,
    message: &str,
) -> (Result<(), HelixError<ErrorSignal>>, u32) {
    let (exec, _) = Exec::new(strategy, patches);
    let helix = Helix::builder()
        .adapter(Words(vec![strategy]))
        .strategy(exec)
        .build();
    let calls = Arc::new(AtomicU32::new(0));
    let (res, _) = helix
        .run_mut(
            &mut pay(),
            counted(&calls, Err::<(), _>(ErrorSignal::message(message))),
        )
        .await;
    (res, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_refused_proof_of_payment_stops_the_run_and_sends_nothing() {
    let (res, calls) = run_with_patches(
        StrategyId::Reconcile,
        vec![Patch::UseExisting {
            id: "0xfeed".into(),
        }],
        "nonce lost",
    )
    .await;
    match res {
        Err(HelixError::AlreadyPaid { evidence, .. }) => assert!(evidence.contains("0xfeed")),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls, 1, "the payment was not sent again");
}

#[tokio::test]
async fn a_refused_patch_ends_the_attempt_without_a_retry() {
    // `Pay` takes no endpoint: the repair's only change cannot be carried.
    let (res, calls) = run_with_patches(
        StrategyId::RefreshNonce,
        vec![Patch::Endpoint {
            url: "https://b".into(),
        }],
        "nonce too low",
    )
    .await;
    assert!(
        matches!(res, Err(HelixError::NotRepaired { .. })),
        "{res:?}"
    );
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn after_the_payment_left_only_repairs_that_cannot_pay_again_run() {
    let (swap, swaps) = Exec::new(StrategyId::SwapCurrency, vec![]);
    let (nonce, nonces) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::SwapCurrency,
            StrategyId::RefreshNonce,
        ]))
        .strategy(swap)
        .strategy(nonce)
        .sink(sink.clone())
        .mode(Mode::Full)
        .build();
    // A hostile server: it settled, then said "insufficient balance".
    let mut after_send = ErrorSignal::message("insufficient balance").with_status(402);
    after_send.facts.payment_sent = true;
    let calls = Arc::new(AtomicU32::new(0));
    let (res, _) = helix
        .run_mut(&mut pay(), counted(&calls, Err::<(), _>(after_send)))
        .await;
    assert!(
        matches!(res, Err(HelixError::NotRepaired { .. })),
        "{res:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "never paid again");
    assert_eq!(
        swaps.load(Ordering::SeqCst) + nonces.load(Ordering::SeqCst),
        0
    );
    let events = sink.take();
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Perceived { failure, .. } if failure.code == FailureCode::OutcomeUnknown
    )));
    assert!(events.iter().any(|e| matches!(
        e.kind,
        EventKind::Blocked {
            reason: BlockReason::PaymentSent,
            ..
        }
    )));
}

fn budgeted(cap: u64, exec: impl Executor + 'static) -> (Helix, Arc<MemoryBudget>) {
    let budget = Arc::new(MemoryBudget::new(cap));
    let id = exec.id();
    let helix = Helix::builder()
        .adapter(Words(vec![id]))
        .strategy(exec)
        .budget(budget.clone())
        .mode(Mode::Full)
        .build();
    (helix, budget)
}

#[tokio::test]
async fn a_fund_moving_repair_reserves_what_it_could_move_not_its_estimate() {
    // Estimated at 1,000 by the adapter; it could move up to the ceiling.
    let (exec, commits) = Exec::new(StrategyId::TopupFromReserve, vec![]);
    let (helix, budget) = budgeted(100_000, exec);
    let (res, _) = helix.run_mut(&mut pay(), common::only_nonce).await;
    assert!(matches!(res, Err(HelixError::Budget { .. })), "{res:?}");
    assert_eq!(
        commits.load(Ordering::SeqCst),
        0,
        "nothing moved past the cap"
    );
    assert_eq!(budget.usage(), (0, 0));
}

#[tokio::test]
async fn a_fund_moving_repair_that_erred_is_booked_at_its_bound() {
    let (mut exec, _) = Exec::new(StrategyId::TopupFromReserve, vec![]);
    exec.fail = true;
    let ceiling = Policy::default().per_repair_ceiling;
    let (helix, budget) = budgeted(3 * ceiling, exec);
    let _ = helix.run_mut(&mut pay(), common::only_nonce).await;
    assert_eq!(budget.usage(), (ceiling, 0), "it may have moved that much");
}

#[tokio::test]
async fn after_a_fund_moving_repair_erred_nothing_else_moves_funds() {
    // A swap whose answer was lost: it may have landed.
    let (mut swap, swaps) = Exec::new(StrategyId::SwapDirect, vec![]);
    swap.fail = true;
    let (multihop, multihops) = Exec::new(StrategyId::SwapMultihop, vec![]);
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::SwapDirect,
            StrategyId::SwapMultihop,
        ]))
        .strategy(swap)
        .strategy(multihop)
        .sink(sink.clone())
        .mode(Mode::Full)
        .build();
    let (res, _) = helix.run_mut(&mut pay(), common::only_nonce).await;
    assert!(
        matches!(res, Err(HelixError::NotRepaired { .. })),
        "{res:?}"
    );
    assert_eq!(swaps.load(Ordering::SeqCst), 1);
    assert_eq!(multihops.load(Ordering::SeqCst), 0, "no second swap");
    assert!(sink.take().iter().any(|e| matches!(
        e.kind,
        EventKind::Blocked {
            strategy: StrategyId::SwapMultihop,
            reason: BlockReason::FundsInFlight,
            ..
        }
    )));
}

/// An executor that never finishes: the caller gives up on the run.
struct Hangs(StrategyId);

#[async_trait]
impl Executor for Hangs {
    fn id(&self) -> StrategyId {
        self.0
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Committed::default())
    }
}

#[tokio::test]
async fn a_cancelled_run_settles_its_reservation() {
    for (id, booked) in [
        (StrategyId::RefreshNonce, 0),
        (
            StrategyId::SwapCurrency,
            Policy::default().per_repair_ceiling,
        ),
    ] {
        let (helix, budget) = budgeted(10 * Policy::default().per_repair_ceiling, Hangs(id));
        let mut req = pay();
        let run = helix.run_mut(&mut req, common::only_nonce);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), run)
                .await
                .is_err()
        );
        assert_ne!(budget.usage(), (0, 0), "{id}: held while it ran");
        // The guard settles from a task of its own.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(budget.usage(), (booked, 0), "{id}");
    }
}

/// A payment from a wallet whose balance lives in the test.
#[derive(Clone)]
struct FromWallet {
    amount: u128,
}

impl Repairable for FromWallet {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some("0xagent".into()),
            recipient: Some("0xmerchant".into()),
            amount: Some(self.amount),
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        Err(Refused::unsupported(p))
    }
}

#[derive(Default)]
struct Wallet {
    balance: Mutex<u128>,
    topped_up: Mutex<u128>,
    /// Fund-moving repairs whose retried payment has not answered yet.
    open: AtomicU32,
    most_open: AtomicU32,
}

/// Tops the wallet up to the payment's amount after a slow balance read.
struct TopUp(Arc<Wallet>);

#[async_trait]
impl Executor for TopUp {
    fn id(&self) -> StrategyId {
        StrategyId::TopupFromReserve
    }
    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let w = &self.0;
        let n = w.open.fetch_add(1, Ordering::SeqCst) + 1;
        w.most_open.fetch_max(n, Ordering::SeqCst);
        let have = *w.balance.lock().unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let need = ctx.request.amount.unwrap_or(0).saturating_sub(have);
        *w.balance.lock().unwrap() += need;
        *w.topped_up.lock().unwrap() += need;
        Ok(Committed::default())
    }
}

#[tokio::test]
async fn one_wallet_runs_one_fund_moving_repair_at_a_time() {
    let w = Arc::new(Wallet::default());
    *w.balance.lock().unwrap() = 60;
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::TopupFromReserve]))
        .strategy(TopUp(w.clone()))
        .mode(Mode::Full)
        .build();
    let run = |w: Arc<Wallet>| {
        let helix = helix.clone();
        async move {
            let mut req = FromWallet { amount: 100 };
            let mut repaired = false;
            helix
                .run_mut(&mut req, async |p: &FromWallet| {
                    if repaired {
                        w.open.fetch_sub(1, Ordering::SeqCst);
                    }
                    repaired = true;
                    let mut b = w.balance.lock().unwrap();
                    if *b >= p.amount {
                        *b -= p.amount;
                        Ok(())
                    } else {
                        Err("insufficient balance".to_string())
                    }
                })
                .await
                .0
        }
    };
    // Interleaved in one task: each run yields while it reads the balance.
    let (a, b) = tokio::join!(run(w.clone()), run(w.clone()));
    assert_eq!(w.most_open.load(Ordering::SeqCst), 1, "repairs overlapped");
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(
        *w.topped_up.lock().unwrap(),
        140,
        "exactly the two shortfalls"
    );
    assert_eq!(*w.balance.lock().unwrap(), 0);
}

/// A store that accepts every call and never answers (a database behind a
/// black hole).
struct Silent;

#[async_trait]
impl GeneStore for Silent {
    async fn lookup(&self, _: GeneKey) -> Result<Option<Gene>, StoreError> {
        std::future::pending().await
    }
    async fn record(&self, _: &Outcome) -> Result<Gene, StoreError> {
        std::future::pending().await
    }
    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        std::future::pending().await
    }
    async fn diagnosis(&self, _: &str) -> Result<Option<Diagnosis>, StoreError> {
        std::future::pending().await
    }
    async fn remember_diagnosis(&self, _: &str, _: &Diagnosis) -> Result<(), StoreError> {
        std::future::pending().await
    }
    async fn forget_diagnosis(&self, _: &str) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

#[async_trait]
impl Budget for Silent {
    async fn reserve(&self, _: u64) -> Result<Reservation, BudgetError> {
        std::future::pending().await
    }
    async fn settle(&self, _: Reservation, _: u64) -> Result<(), BudgetError> {
        std::future::pending().await
    }
    async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_store_that_never_answers_does_not_stall_the_payment() {
    let (exec, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(exec)
        .store(Arc::new(Silent))
        .sink(sink.clone())
        .policy(Policy {
            store_timeout: Duration::from_millis(100),
            ..Policy::default()
        })
        .build();
    let t = std::time::Instant::now();
    let mut req = pay();
    let (res, report) = tokio::time::timeout(
        Duration::from_secs(5),
        helix.run_mut(&mut req, common::only_nonce),
    )
    .await
    .expect("the payment went on within the bound");
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(report.repaired_by(), Some(StrategyId::RefreshNonce));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(sink.take().iter().any(
        |e| matches!(&e.kind, EventKind::StoreError { message } if message.contains("no answer"))
    ));

    // A budget that never answers holds nothing, so nothing moves.
    let (swap, swaps) = Exec::new(StrategyId::SwapCurrency, vec![]);
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::SwapCurrency]))
        .strategy(swap)
        .budget(Arc::new(Silent))
        .mode(Mode::Full)
        .policy(Policy {
            mode: Mode::Full,
            store_timeout: Duration::from_millis(100),
            ..Policy::default()
        })
        .build();
    let mut req = pay();
    let (res, _) = tokio::time::timeout(
        Duration::from_secs(5),
        helix.run_mut(&mut req, common::only_nonce),
    )
    .await
    .expect("the budget's silence is a refusal within the bound");
    assert!(matches!(res, Err(HelixError::Budget { .. })), "{res:?}");
    assert_eq!(swaps.load(Ordering::SeqCst), 0);
}

/// A fund-moving repair that refuses before acting (a quote below its
/// bound) spent nothing and leaves the next one free to act.
struct RefusesBeforeActing(StrategyId);

#[async_trait]
impl Executor for RefusesBeforeActing {
    fn id(&self) -> StrategyId {
        self.0
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        Err(CommitError::Unsafe("quote below the bound".into()))
    }
}

#[tokio::test]
async fn a_refusal_before_acting_books_nothing_and_blocks_nothing() {
    let budget = Arc::new(MemoryBudget::new(20 * Policy::default().per_repair_ceiling));
    let (topup, topups) = Exec::new(
        StrategyId::TopupFromReserve,
        vec![Patch::Nonce { nonce: 9 }],
    );
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::SwapDirect,
            StrategyId::TopupFromReserve,
        ]))
        .strategy(RefusesBeforeActing(StrategyId::SwapDirect))
        .strategy(topup)
        .budget(budget.clone())
        .mode(Mode::Full)
        .build();
    let (res, report) = helix.run_mut(&mut pay(), common::only_nonce).await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(report.repaired_by(), Some(StrategyId::TopupFromReserve));
    assert_eq!(topups.load(Ordering::SeqCst), 1);
    // The top-up's actual cost (700) and nothing for the refusal.
    assert_eq!(budget.usage(), (700, 0));
}

/// A budget that counts how often it was asked to hold money.
struct CountingBudget {
    inner: MemoryBudget,
    reserves: Arc<std::sync::atomic::AtomicU32>,
}

#[async_trait::async_trait]
impl Budget for CountingBudget {
    async fn reserve(&self, amount: u64) -> Result<Reservation, BudgetError> {
        self.reserves
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.reserve(amount).await
    }
    async fn settle(&self, r: Reservation, actual: u64) -> Result<(), BudgetError> {
        self.inner.settle(r, actual).await
    }
    async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        self.inner.status().await
    }
}

/// An executor that needs the hash of a sent transaction.
struct NeedsHash(Arc<std::sync::atomic::AtomicU32>);

#[async_trait::async_trait]
impl Executor for NeedsHash {
    fn id(&self) -> StrategyId {
        StrategyId::SwapCurrency
    }
    fn needs(&self) -> &'static [Need] {
        &[Need::TxHash]
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Committed {
            patches: vec![Patch::Currency {
                currency: "AlphaUSD".into(),
            }],
            ..Default::default()
        })
    }
}

/// A repair whose executor declares a fact the failure does not hold is
/// blocked with that fact before the engine reserves budget or commits.
#[tokio::test]
async fn a_repair_missing_a_declared_fact_is_blocked_before_the_budget_is_asked() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let reserves = Arc::new(AtomicU32::new(0));
    let commits = Arc::new(AtomicU32::new(0));
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::SwapCurrency]))
        .strategy(NeedsHash(commits.clone()))
        .budget(Arc::new(CountingBudget {
            inner: MemoryBudget::new(10_000_000),
            reserves: reserves.clone(),
        }))
        .sink(sink.clone())
        .mode(Mode::Full)
        .build();
    let err = helix
        .run(pay(), async |_: &common::Pay| {
            Err::<(), _>("low balance".to_string())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, HelixError::NotRepaired { .. }), "{err:?}");
    assert_eq!(commits.load(Ordering::SeqCst), 0, "never committed");
    assert_eq!(
        reserves.load(Ordering::SeqCst),
        0,
        "the budget was never asked"
    );
    let events = sink.take();
    assert!(events.iter().any(|e| matches!(
        e.kind,
        EventKind::Blocked {
            strategy: StrategyId::SwapCurrency,
            reason: BlockReason::Missing(Need::TxHash),
            ..
        }
    )));
    let ended = events.last().map(|e| e.kind.clone());
    assert_eq!(
        ended,
        Some(EventKind::gave_up(GaveUp::NotRepaired {
            recommended: vec![StrategyId::SwapCurrency],
            observe: false,
        })),
        "the run ends with one typed reason"
    );
    let json = serde_json::to_value(events.last().unwrap()).unwrap();
    assert_eq!(json["event"], "gave_up");
    assert_eq!(json["why"]["kind"], "not_repaired");
    assert_eq!(json["reason"], "no allowed repair");
}
