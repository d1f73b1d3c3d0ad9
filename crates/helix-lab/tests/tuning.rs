//! The tuning rows model what `helix-lab evolve` claims of them: a wait
//! shorter than the untold window fails, a longer one repairs, and the
//! repair takes at least the window (rows 27 and 28; docs/EVOLVE.md).

use std::sync::Arc;

use helix_core::{
    Executor, GeneKey, GeneStore, Helix, MemoryGeneStore, Mode, Outcome, Platform, StrategyId,
};
use helix_lab::Lab;
use helix_lab::runner::Runner;
use helix_lab::scenarios::run_row_with;
use serde_json::json;

async fn gene(key: GeneKey, strategy: StrategyId, wait_ms: u64) -> Arc<dyn GeneStore> {
    let store = Arc::new(MemoryGeneStore::new());
    for _ in 0..5 {
        store
            .record(&Outcome {
                ms: 1_000,
                params: json!({ "wait_ms": wait_ms }),
                ..Outcome::new(key, strategy, Platform::Other, true)
            })
            .await
            .unwrap();
    }
    store
}

fn engine(lab: &Lab, store: Arc<dyn GeneStore>) -> Helix {
    let strategies: Vec<Arc<dyn Executor>> = lab
        .strategies()
        .into_iter()
        .filter(|e| e.id() != StrategyId::SplitSwap)
        .collect();
    Helix::builder()
        .adapter(helix_platforms::builtin())
        .probes(lab.probes())
        .strategies(strategies)
        .store(store)
        .mode(Mode::Full)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_repairs_only_when_it_outlasts_the_untold_window() {
    let lab = Lab::start().await.unwrap();
    lab.state().untold_window_ms = 600;
    for (row, strategy) in [(27u8, StrategyId::WaitAndRetry), (28, StrategyId::Backoff)] {
        // The key as perceived.
        let probe = Helix::builder()
            .adapter(helix_platforms::builtin())
            .probes(lab.probes())
            .mode(Mode::Observe)
            .build();
        let key = run_row_with(&lab, &Runner::Helix(&probe), row)
            .await
            .report
            .failure
            .expect("perceived")
            .key();
        let short = engine(&lab, gene(key, strategy, 250).await);
        let r = run_row_with(&lab, &Runner::Helix(&short), row).await;
        assert!(
            !r.ok,
            "row {row}: a 250 ms wait repaired a 600 ms window: {}",
            r.detail
        );
        assert_eq!(r.report.repairs[0].strategy, strategy, "row {row}");

        let long = engine(&lab, gene(key, strategy, 1_000).await);
        let r = run_row_with(&lab, &Runner::Helix(&long), row).await;
        assert!(r.ok, "row {row}: {}", r.detail);
        assert!(r.report.immune(), "row {row}: the gene answered");
        assert!(r.ms >= 1_000, "row {row}: repaired in {} ms", r.ms);
    }
}
