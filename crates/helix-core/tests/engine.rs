//! The loop's guarantees: mode gates (fresh and immune alike), the attempt
//! bound, the immune path, no strategy twice, invariants, a dead store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use helix_core::*;

use crate::common;
use common::*;

/// The op: needs nonce 9 and AlphaUSD.
async fn op(p: &Pay) -> Result<&'static str, String> {
    if p.nonce != 9 {
        return Err(format!("nonce too low: next nonce 9, tx nonce {}", p.nonce));
    }
    if p.currency != "AlphaUSD" {
        return Err("insufficient balance in AlphaUSD".into());
    }
    Ok("paid")
}

fn stages(events: &[Event]) -> Vec<Stage> {
    events.iter().map(|e| e.kind.stage()).collect()
}

#[tokio::test]
async fn a_fresh_repair_then_an_immune_one() {
    let sink = Arc::new(MemorySink::new());
    let store = Arc::new(MemoryGeneStore::new());
    let (nonce, nonce_calls) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let (swap, _) = Exec::new(
        StrategyId::SwapCurrency,
        vec![Patch::Currency {
            currency: "AlphaUSD".into(),
        }],
    );
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::RefreshNonce,
            StrategyId::SwapCurrency,
        ]))
        .strategy(nonce)
        .strategy(swap)
        .store(store.clone())
        .sink(sink.clone())
        .mode(Mode::Full)
        .build();

    let mut req = pay();
    let (res, report) = helix.run_mut(&mut req, op).await;
    assert_eq!(res.unwrap(), "paid");
    assert_eq!(report.calls, 3);
    let used: Vec<_> = report
        .repairs
        .iter()
        .map(|r| (r.strategy, r.immune, r.verified))
        .collect();
    assert_eq!(
        used,
        vec![
            (StrategyId::RefreshNonce, false, true),
            (StrategyId::SwapCurrency, false, true)
        ]
    );
    assert!(stages(&sink.take()).contains(&Stage::Construct));
    assert_eq!(req.nonce, 9, "run_mut keeps the patched request");

    // Same failures again: both answered from genes, no construct stage.
    let (res, report) = helix.run_mut(&mut pay(), op).await;
    assert_eq!(res.unwrap(), "paid");
    assert!(report.repairs.iter().all(|r| r.immune && r.verified));
    assert!(report.immune());
    let ev = sink.take();
    assert!(
        !stages(&ev).contains(&Stage::Construct),
        "immune runs skip construct"
    );
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e.kind, EventKind::GeneHit { .. }))
            .count(),
        2
    );
    assert_eq!(nonce_calls.load(Ordering::SeqCst), 2);
    let g = store
        .lookup_now(GeneKey {
            code: FailureCode::VerificationFailed,
            category: Category::Signature,
        })
        .unwrap();
    assert_eq!(g.successes, 2);
}

#[tokio::test]
async fn observe_mode_never_acts_even_with_a_gene() {
    let store = Arc::new(MemoryGeneStore::new());
    // Learn the nonce gene in auto mode first.
    let (nonce, calls) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let nonce = Arc::new(nonce);
    let auto = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy_arc(nonce.clone())
        .store(store.clone())
        .build();
    auto.run(pay(), only_nonce).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let sink = Arc::new(MemorySink::new());
    let observe = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy_arc(nonce)
        .store(store)
        .sink(sink.clone())
        .mode(Mode::Observe)
        .build();
    let err = observe.run(pay(), only_nonce).await.unwrap_err();
    match err {
        HelixError::NotRepaired { recommended, .. } => {
            assert_eq!(recommended, vec![StrategyId::RefreshNonce])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "observe executed nothing");
    let ev = sink.take();
    assert!(
        ev.iter()
            .any(|e| matches!(e.kind, EventKind::GeneHit { .. }))
    );
    assert!(ev.iter().any(|e| matches!(
        e.kind,
        EventKind::Blocked {
            reason: BlockReason::Mode,
            ..
        }
    )));
    assert!(
        !ev.iter()
            .any(|e| matches!(e.kind, EventKind::Committing { .. }))
    );
}

#[tokio::test]
async fn auto_mode_does_not_run_a_fund_moving_gene() {
    let store = Arc::new(MemoryGeneStore::new());
    let key = GeneKey {
        code: FailureCode::PaymentInsufficient,
        category: Category::Balance,
    };
    let mut g = Gene::new(&Outcome::new(
        key,
        StrategyId::SwapCurrency,
        Platform::Tempo,
        true,
    ));
    g.q = 0.99;
    store.put(g);
    let (swap, calls) = Exec::new(
        StrategyId::SwapCurrency,
        vec![Patch::Currency {
            currency: "AlphaUSD".into(),
        }],
    );
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::SwapCurrency]))
        .strategy(swap)
        .store(store)
        .sink(sink.clone())
        .mode(Mode::Auto)
        .build();
    let mut req = pay();
    req.nonce = 9;
    let err = helix.run(req, op).await.unwrap_err();
    assert!(matches!(err, HelixError::NotRepaired { .. }), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a swap needs full mode");
    let blocked: Vec<_> = sink
        .take()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Blocked {
                strategy, reason, ..
            } => Some((strategy, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocked,
        vec![
            (StrategyId::SwapCurrency, BlockReason::Mode),
            (StrategyId::SwapCurrency, BlockReason::Mode)
        ],
        "blocked as a gene and again as a fresh candidate"
    );
}

#[tokio::test]
async fn the_attempt_bound_holds_and_nothing_is_tried_twice() {
    // Every repair "works" at commit but the call keeps failing.
    let (a, a_calls) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 2 }]);
    let (b, b_calls) = Exec::new(StrategyId::SwapCurrency, vec![]);
    let (c, c_calls) = Exec::new(StrategyId::TopupFromReserve, vec![]);
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::RefreshNonce,
            StrategyId::SwapCurrency,
            StrategyId::TopupFromReserve,
        ]))
        .strategy(a)
        .strategy(b)
        .strategy(c)
        .mode(Mode::Full)
        .max_repairs(2)
        .build();
    let calls = AtomicU32::new(0);
    let (res, report) = helix
        .run_mut(&mut pay(), async |_p: &Pay| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("nonce too low, still".to_string())
        })
        .await;
    assert!(matches!(res, Err(HelixError::Exhausted { .. })));
    assert_eq!(report.repairs.len(), 2);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "first call plus one per repair"
    );
    assert_eq!(a_calls.load(Ordering::SeqCst), 1);
    assert_eq!(b_calls.load(Ordering::SeqCst), 1);
    assert_eq!(c_calls.load(Ordering::SeqCst), 0, "bound reached");
}

#[tokio::test]
async fn a_failed_commit_moves_on_to_the_next_candidate() {
    // The first repair moves no funds, so its failure leaves the others
    // free to act (one that moves funds and errs does not:
    // tests/money.rs).
    let (mut bad, bad_calls) = Exec::new(StrategyId::SwitchFeeToken, vec![]);
    bad.fail = true;
    let (good, _) = Exec::new(
        StrategyId::TopupFromReserve,
        vec![Patch::Currency {
            currency: "AlphaUSD".into(),
        }],
    );
    let store = Arc::new(MemoryGeneStore::new());
    let helix = Helix::builder()
        .adapter(Words(vec![
            StrategyId::SwitchFeeToken,
            StrategyId::TopupFromReserve,
        ]))
        .strategy(bad)
        .strategy(good)
        .store(store.clone())
        .mode(Mode::Full)
        .build();
    let mut req = pay();
    req.nonce = 9;
    let (res, report) = helix.run_mut(&mut req, op).await;
    assert_eq!(res.unwrap(), "paid");
    assert_eq!(bad_calls.load(Ordering::SeqCst), 1);
    assert_eq!(report.repaired_by(), Some(StrategyId::TopupFromReserve));
    let genes = store.list().await.unwrap();
    let failed = genes
        .iter()
        .find(|g| g.strategy == StrategyId::SwitchFeeToken)
        .unwrap();
    assert_eq!(
        (failed.successes, failed.failures),
        (0, 1),
        "the failed commit is learned too"
    );
}

#[tokio::test]
async fn a_repair_that_raises_the_amount_is_stopped_before_the_retry() {
    let (evil, _) = Exec::new(
        StrategyId::RefreshNonce,
        vec![Patch::Amount { amount: 900_000 }],
    );
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(evil)
        .sink(sink.clone())
        .build();
    let calls = AtomicU32::new(0);
    let mut req = pay();
    let (res, _) = helix
        .run_mut(&mut req, async |p: &Pay| {
            calls.fetch_add(1, Ordering::SeqCst);
            op(p).await
        })
        .await;
    assert!(matches!(
        res,
        Err(HelixError::Invariant {
            violation: Violation::PatchRaisesAmount { .. },
            ..
        })
    ));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "no retry after a violation"
    );
    assert_eq!(req.amount, 500_000, "the patch never reached the request");
    assert!(
        sink.take()
            .iter()
            .any(|e| matches!(e.kind, EventKind::InvariantViolated { .. }))
    );
}

#[tokio::test]
async fn reductions_need_the_callers_consent() {
    let (reduce, calls) = Exec::new(
        StrategyId::ReduceRequest,
        vec![Patch::Amount { amount: 300_000 }],
    );
    let reduce = Arc::new(reduce);
    let build = || {
        Helix::builder()
            .adapter(Words(vec![StrategyId::ReduceRequest]))
            .strategy_arc(reduce.clone())
            .build()
    };
    let op = async |p: &Pay| {
        if p.amount <= 300_000 {
            Ok(())
        } else {
            Err("balance too low".to_string())
        }
    };
    assert!(build().run(pay(), op).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let mut ok = pay();
    ok.partial_ok = true;
    build().run(ok, op).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

struct DeadStore;

#[async_trait]
impl GeneStore for DeadStore {
    async fn lookup(&self, _: GeneKey) -> Result<Option<Gene>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn record(&self, _: &Outcome) -> Result<Gene, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn diagnosis(&self, _: &str) -> Result<Option<Diagnosis>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn remember_diagnosis(&self, _: &str, _: &Diagnosis) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn forget_diagnosis(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn a_dead_gene_store_does_not_stop_a_payment() {
    let (nonce, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .store(Arc::new(DeadStore))
        .sink(sink.clone())
        .build();
    helix.run(pay(), only_nonce).await.unwrap();
    let store_errors = sink
        .take()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::StoreError { .. }))
        .count();
    assert_eq!(
        store_errors, 2,
        "lookup and record failures are reported, not fatal"
    );
}

#[tokio::test]
async fn budget_refusal_blocks_the_repair() {
    let (nonce, calls) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let budget = Arc::new(MemoryBudget::new(500));
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .budget(budget.clone())
        .build();
    assert!(
        helix.run(pay(), only_nonce).await.is_err(),
        "estimated 1000 > cap 500"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(budget.usage(), (0, 0));
}

#[tokio::test]
async fn unknown_failures_stay_unknown_and_success_costs_nothing() {
    let helix = Helix::builder().adapter(Words(vec![])).build();
    let err = helix
        .run(pay(), async |_: &Pay| {
            Err::<(), _>("the moon is in the wrong phase".to_string())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, HelixError::Unrecognised { .. }));
    let (res, report) = helix
        .run_mut(&mut pay(), async |_: &Pay| Ok::<_, String>(1))
        .await;
    assert_eq!(res.unwrap(), 1);
    assert_eq!(report, Report::default());
}

#[tokio::test]
async fn wrap_reuses_one_operation() {
    let (nonce, calls) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .build();
    let mut paid = helix.wrap(async |p: &Pay| {
        if p.nonce == 9 {
            Ok(p.amount)
        } else {
            Err("nonce too low".to_string())
        }
    });
    assert_eq!(paid.call(pay()).await.unwrap(), 500_000);
    assert_eq!(paid.call(pay()).await.unwrap(), 500_000);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn runs_can_be_spawned_on_a_multithreaded_runtime() {
    let (nonce, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .build();
    let h = helix.clone();
    let task = tokio::spawn(async move {
        h.run(pay(), async |p: &Pay| {
            if p.nonce == 9 {
                Ok(p.amount)
            } else {
                Err("nonce too low".to_string())
            }
        })
        .await
        .map_err(|e| e.to_string())
    });
    assert_eq!(task.await.unwrap().unwrap(), 500_000);
}

#[tokio::test]
async fn every_stage_reaches_a_broadcast_subscriber_in_order() {
    let bus = Arc::new(BroadcastSink::new(64));
    let mut rx = bus.subscribe();
    let (nonce, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .sink(Arc::new(Fanout(vec![bus.clone(), Arc::new(TracingSink)])))
        .build();
    helix.run(pay(), only_nonce).await.unwrap();
    let mut got = Vec::new();
    while let Ok(e) = rx.try_recv() {
        got.push(e);
    }
    let seqs: Vec<u32> = got.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..got.len() as u32).collect::<Vec<_>>());
    assert!(
        got.iter()
            .all(|e| e.repair_id == got[0].repair_id && e.repair_id != 0)
    );
    assert_eq!(
        got.iter().map(|e| e.kind.stage()).collect::<Vec<_>>(),
        vec![
            Stage::Call,
            Stage::Perceive, // observed: the signal, for replay
            Stage::Perceive,
            Stage::Gene,
            Stage::Construct,
            Stage::Evaluate,
            Stage::Commit,
            Stage::Commit,
            Stage::Verify,
            Stage::Record
        ]
    );
}

#[tokio::test]
async fn a_repair_that_spent_more_than_the_ceiling_stops_the_run() {
    struct Pricey;
    #[async_trait]
    impl Executor for Pricey {
        fn id(&self) -> StrategyId {
            StrategyId::RefreshNonce
        }
        async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
            Ok(Committed {
                patches: vec![Patch::Nonce { nonce: 9 }],
                cost: 9_000_000,
                ..Default::default()
            })
        }
    }
    let budget = Arc::new(MemoryBudget::new(100_000_000));
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(Pricey)
        .budget(budget.clone())
        .build();
    let calls = AtomicU32::new(0);
    let err = helix
        .run(pay(), async |p: &Pay| {
            calls.fetch_add(1, Ordering::SeqCst);
            if p.nonce == 9 {
                Ok(())
            } else {
                Err("nonce too low".to_string())
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HelixError::Invariant {
                violation: Violation::CostOverCeiling {
                    cost: 9_000_000,
                    ceiling: 5_000_000
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "not retried");
    assert_eq!(
        budget.usage(),
        (9_000_000, 0),
        "the real spend is on the books"
    );
}

/// A logged repair replays to the same decisions; a log whose decision
/// differs from what the inputs give is caught, at the event that differs.
#[tokio::test]
async fn a_logged_repair_replays_to_the_same_decision_and_a_changed_one_is_caught() {
    let log = Arc::new(MemorySink::new());
    let (nonce, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let adapter = Words(vec![StrategyId::RefreshNonce, StrategyId::BackoffRetry]);
    let helix = Helix::builder()
        .adapter(adapter.clone())
        .strategy(nonce)
        .sink(log.clone())
        .build();
    helix.run(pay(), only_nonce).await.unwrap();
    let events = log.take();
    let adapters: Vec<Arc<dyn Adapter>> = vec![Arc::new(adapter)];
    let r = helix_core::replay::replay(&adapters, &events);
    assert!(r.same(), "{r:?}");
    assert_eq!(r.decisions, 1);

    // The same log, but the run had ranked differently.
    let mut changed = events.clone();
    for e in &mut changed {
        if let EventKind::Evaluated { ranked } = &mut e.kind {
            ranked.reverse();
        }
    }
    let r = helix_core::replay::replay(&adapters, &changed);
    assert!(!r.same());
    assert!(r.differences[0].contains("evaluate gives"), "{r:?}");

    // Adapters that classify differently now.
    let other: Vec<Arc<dyn Adapter>> = vec![Arc::new(Words(vec![]))];
    let r = helix_core::replay::replay(&other, &events);
    assert!(!r.same(), "{r:?}");
}

/// What a repair acted with is in the log: an outcome can be tied to the
/// parameter values that produced it (what tuning them needs).
#[tokio::test]
async fn the_commit_names_the_parameters_it_acts_with() {
    let store = Arc::new(MemoryGeneStore::new());
    let key = GeneKey {
        code: FailureCode::VerificationFailed,
        category: Category::Signature,
    };
    store
        .record(&Outcome {
            params: serde_json::json!({ "max_slippage_bps": 30 }),
            ..Outcome::new(key, StrategyId::RefreshNonce, Platform::Tempo, true)
        })
        .await
        .unwrap();
    let sink = Arc::new(MemorySink::new());
    let (nonce, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(nonce)
        .store(store)
        .sink(sink.clone())
        .mode(Mode::Auto)
        .build();
    let (res, _) = helix.run_mut(&mut pay(), only_nonce).await;
    assert!(res.is_ok());
    let params = sink.take().into_iter().find_map(|e| match e.kind {
        EventKind::Committing { params, .. } => Some(params),
        _ => None,
    });
    assert_eq!(params, Some(serde_json::json!({ "max_slippage_bps": 30 })));
}
