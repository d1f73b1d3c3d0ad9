//! Pre-emption: a forecast expects a failure now, and the repair its gene
//! knows runs before the call, within the same bounds as any repair.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use helix_core::*;

use crate::common;
use common::*;

const NONCE: GeneKey = GeneKey {
    code: FailureCode::VerificationFailed,
    category: Category::Signature,
};
const BALANCE: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

/// Always expects `key` (or nothing).
struct Always(Option<GeneKey>);

impl Forecast for Always {
    fn expected(&self, _: &PaymentView, _: i64) -> Option<(GeneKey, Platform)> {
        self.0.map(|k| (k, Platform::Tempo))
    }
}

async fn store_with(key: GeneKey, strategy: StrategyId) -> Arc<MemoryGeneStore> {
    let store = Arc::new(MemoryGeneStore::new());
    for _ in 0..3 {
        store
            .record(&Outcome::new(key, strategy, Platform::Tempo, true))
            .await
            .unwrap();
    }
    store
}

struct World {
    helix: Helix,
    sink: Arc<MemorySink>,
    commits: Arc<AtomicU32>,
}

fn world(store: Arc<MemoryGeneStore>, forecast: Option<GeneKey>, mode: Mode) -> World {
    let sink = Arc::new(MemorySink::new());
    let (nonce, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
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
        .store(store)
        .sink(sink.clone())
        .forecast(Arc::new(Always(forecast)))
        .mode(mode)
        .build();
    World {
        helix,
        sink,
        commits,
    }
}

fn calls_counted() -> (Arc<AtomicU32>, impl AsyncFnMut(&Pay) -> Result<(), String>) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    (calls, async move |p: &Pay| {
        c.fetch_add(1, Ordering::SeqCst);
        only_nonce(p).await
    })
}

#[tokio::test]
async fn a_predicted_failure_is_repaired_before_the_call() {
    let w = world(
        store_with(NONCE, StrategyId::RefreshNonce).await,
        Some(NONCE),
        Mode::Auto,
    );
    let (calls, op) = calls_counted();
    let mut req = pay();
    let (res, report) = w.helix.run_mut(&mut req, op).await;
    assert!(res.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the call never failed");
    assert_eq!(report.preempted, Some(StrategyId::RefreshNonce));
    assert!(report.repairs.is_empty(), "no failure, no reactive repair");
    assert_eq!(w.commits.load(Ordering::SeqCst), 1);
    let kinds: Vec<String> = w
        .sink
        .take()
        .iter()
        .map(|e| format!("{:?}", e.kind.stage()))
        .collect();
    assert!(kinds.first().is_some_and(|k| k == "Perceive"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "Commit"), "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| k == "Record"),
        "nothing learned: {kinds:?}"
    );
}

#[tokio::test]
async fn nothing_that_moves_funds_runs_ahead_of_a_failure() {
    let w = world(
        store_with(BALANCE, StrategyId::SwapCurrency).await,
        Some(BALANCE),
        Mode::Full,
    );
    let mut req = pay();
    req.nonce = 9;
    let (res, report) = w
        .helix
        .run_mut(&mut req, async |p: &Pay| {
            if p.currency == "AlphaUSD" {
                Ok(())
            } else {
                Err("insufficient balance".to_string())
            }
        })
        .await;
    assert!(res.is_ok(), "repaired after the failure, as ever");
    assert_eq!(report.preempted, None);
    assert_eq!(report.calls, 2);
    let blocked = w.sink.take().into_iter().any(|e| {
        matches!(
            e.kind,
            EventKind::Blocked {
                strategy: StrategyId::SwapCurrency,
                reason: BlockReason::Predicted,
                ..
            }
        )
    });
    assert!(blocked, "the swap was held back until the failure happened");
}

#[tokio::test]
async fn observe_mode_predicts_and_does_nothing() {
    let w = world(
        store_with(NONCE, StrategyId::RefreshNonce).await,
        Some(NONCE),
        Mode::Observe,
    );
    let (calls, op) = calls_counted();
    let (_, report) = w.helix.run_mut(&mut pay(), op).await;
    assert_eq!(report.preempted, None);
    assert_eq!(w.commits.load(Ordering::SeqCst), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_an_expected_failure_or_a_gene_nothing_runs_ahead() {
    for (store, forecast) in [
        (store_with(NONCE, StrategyId::RefreshNonce).await, None),
        (Arc::new(MemoryGeneStore::new()), Some(NONCE)),
    ] {
        let w = world(store, forecast, Mode::Auto);
        let (calls, op) = calls_counted();
        let (res, report) = w.helix.run_mut(&mut pay(), op).await;
        assert!(res.is_ok());
        assert_eq!(report.preempted, None);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "failed, then repaired");
    }
}
