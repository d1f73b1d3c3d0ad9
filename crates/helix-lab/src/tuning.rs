//! What the tuning rows (27, 28) are run with, by `helix-lab evolve` and
//! its tests: the lab's engine without the split, and a gene that names
//! its wait.

use std::sync::Arc;

use helix_core::{
    EventSink, Executor, GeneKey, GeneStore, Helix, MemoryGeneStore, Mode, Outcome, Platform,
    StrategyId, TracingSink,
};
use serde_json::json;

use crate::Lab;

/// The lab's engine without `split_swap`: on the thin book a split repairs
/// at once, and the engine would learn it instead of the wait measured.
pub fn engine(
    lab: &Lab,
    store: Arc<dyn GeneStore>,
    sink: Option<Arc<dyn EventSink>>,
    mode: Mode,
) -> Helix {
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
        .sink(sink.unwrap_or_else(|| Arc::new(TracingSink)))
        .mode(mode)
        .build()
}

/// A Gene Map holding the gene for `key` with `strategy` and `wait_ms`,
/// proven enough (five successes) to answer at once.
pub async fn gene_with_wait(
    key: GeneKey,
    strategy: StrategyId,
    wait_ms: u64,
) -> Result<Arc<MemoryGeneStore>, helix_core::StoreError> {
    let store = Arc::new(MemoryGeneStore::new());
    for _ in 0..5 {
        store
            .record(&Outcome {
                ms: 1_000,
                params: json!({ "wait_ms": wait_ms }),
                ..Outcome::new(key, strategy, Platform::Other, true)
            })
            .await?;
    }
    Ok(store)
}
