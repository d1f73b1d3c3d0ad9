//! The tuning rows model what `helix-lab evolve` claims of them: a wait
//! shorter than the untold window fails, a longer one repairs, and the
//! repair takes at least the window (rows 27 and 28; docs/EVOLVE.md).

use helix_core::{Helix, Mode, StrategyId};
use helix_lab::Lab;
use helix_lab::runner::Runner;
use helix_lab::scenarios::run_row_with;
use helix_lab::tuning::{engine, gene_with_wait};

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
        let short = engine(
            &lab,
            gene_with_wait(key, strategy, 250).await.unwrap(),
            None,
            Mode::Full,
        );
        let r = run_row_with(&lab, &Runner::Helix(&short), row).await;
        assert!(
            !r.ok,
            "row {row}: a 250 ms wait repaired a 600 ms window: {}",
            r.detail
        );
        assert_eq!(r.report.repairs[0].strategy, strategy, "row {row}");

        let long = engine(
            &lab,
            gene_with_wait(key, strategy, 1_000).await.unwrap(),
            None,
            Mode::Full,
        );
        let r = run_row_with(&lab, &Runner::Helix(&long), row).await;
        assert!(r.ok, "row {row}: {}", r.detail);
        assert!(r.report.immune(), "row {row}: the gene answered");
        assert!(r.ms >= 1_000, "row {row}: repaired in {} ms", r.ms);
    }
}
