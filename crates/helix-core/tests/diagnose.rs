//! Failures no adapter recognises: asked of the diagnoser once per
//! fingerprint, remembered in the gene store, answered by the gene after.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use helix_core::*;

use crate::common;
use common::*;

/// A diagnoser that answers the same and counts its calls.
struct Oracle {
    answer: Result<Diagnosis, DiagnoseError>,
    calls: Arc<AtomicU32>,
}

impl Oracle {
    fn new(answer: Result<Diagnosis, DiagnoseError>) -> (Arc<Self>, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let o = Oracle {
            answer,
            calls: calls.clone(),
        };
        (Arc::new(o), calls)
    }
}

#[async_trait]
impl Diagnoser for Oracle {
    fn name(&self) -> &str {
        "oracle"
    }
    async fn diagnose(&self, _: &ErrorSignal) -> Result<Diagnosis, DiagnoseError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.clone()
    }
}

fn nonce_diagnosis() -> Diagnosis {
    Diagnosis {
        code: FailureCode::VerificationFailed,
        category: Category::Signature,
        strategies: vec![StrategyId::RefreshNonce],
        source: GeneSource::Llm,
        by: "oracle".into(),
    }
}

/// Fails with words no adapter knows until the nonce is 9.
async fn sequence_gap(p: &Pay) -> Result<(), String> {
    if p.nonce == 9 {
        Ok(())
    } else {
        Err(format!("ledger sequence gap at slot {}", p.nonce))
    }
}

fn helix_with(
    oracle: Arc<Oracle>,
    store: Arc<MemoryGeneStore>,
    exec: Exec,
    sink: Arc<MemorySink>,
) -> Helix {
    Helix::builder()
        .adapter(Words(vec![]))
        .diagnoser(oracle)
        .strategy(exec)
        .store(store)
        .sink(sink)
        .mode(Mode::Auto)
        .build()
}

#[tokio::test]
async fn asked_once_then_the_gene_answers_with_llm_provenance() {
    let (oracle, asked) = Oracle::new(Ok(nonce_diagnosis()));
    let store = Arc::new(MemoryGeneStore::new());
    let sink = Arc::new(MemorySink::new());
    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = helix_with(oracle, store.clone(), exec, sink.clone());

    let (first, report) = helix.run_mut(&mut pay(), sequence_gap).await;
    first.unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(report.repaired_by(), Some(StrategyId::RefreshNonce));
    assert!(!report.immune());
    let genes = store.list().await.unwrap();
    assert_eq!(genes.len(), 1);
    assert_eq!(genes[0].source, GeneSource::Llm);
    assert_eq!(genes[0].confidence, 0.6, "born at the LLM prior");
    let events = sink.take();
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Diagnosed {
            remembered: false,
            ..
        }
    )));

    // Another slot number: the same kind of failure, so the same fingerprint.
    let mut again = pay();
    again.nonce = 4;
    let (second, report) = helix.run_mut(&mut again, sequence_gap).await;
    second.unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 1, "asked again");
    assert!(report.immune());
    assert_eq!(commits.load(Ordering::SeqCst), 2);
    let gene = &store.list().await.unwrap()[0];
    assert!(gene.confidence > 0.6, "a later verified success raises it");
    let events = sink.take();
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Diagnosed {
            remembered: true,
            ..
        }
    )));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Constructed { .. })),
        "immune runs skip construct"
    );
}

#[tokio::test]
async fn a_rejected_diagnosis_leaves_the_failure_unrecognised() {
    let (oracle, asked) = Oracle::new(Err(DiagnoseError::Rejected(
        "strategy pay_to_attacker is not in the taxonomy".into(),
    )));
    let store = Arc::new(MemoryGeneStore::new());
    let sink = Arc::new(MemorySink::new());
    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = helix_with(oracle, store.clone(), exec, sink.clone());
    let err = helix.run(pay(), sequence_gap).await.unwrap_err();
    assert!(matches!(err, HelixError::Unrecognised { .. }));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(commits.load(Ordering::SeqCst), 0);
    assert!(store.list().await.unwrap().is_empty());
    assert!(
        sink.take()
            .iter()
            .any(|e| matches!(e.kind, EventKind::DiagnoseFailed { .. }))
    );
}

#[tokio::test]
async fn an_unknown_answer_is_refused_by_the_engine_too() {
    let mut d = nonce_diagnosis();
    d.code = FailureCode::Unknown;
    let (oracle, _) = Oracle::new(Ok(d));
    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = helix_with(
        oracle,
        Arc::new(MemoryGeneStore::new()),
        exec,
        Arc::new(MemorySink::new()),
    );
    assert!(helix.run(pay(), sequence_gap).await.is_err());
    assert_eq!(commits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_dry_run_stops_the_diagnosed_repair_before_it_acts() {
    let (oracle, _) = Oracle::new(Ok(nonce_diagnosis()));
    let (mut exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    exec.dry = Some(Err(CommitError::Platform("eth_call reverted".into())));
    let sink = Arc::new(MemorySink::new());
    let helix = helix_with(oracle, Arc::new(MemoryGeneStore::new()), exec, sink.clone());
    let err = helix.run(pay(), sequence_gap).await.unwrap_err();
    assert!(matches!(err, HelixError::NotRepaired { .. }));
    assert_eq!(commits.load(Ordering::SeqCst), 0);
    assert!(sink.take().iter().any(|e| matches!(
        &e.kind,
        EventKind::DryRun {
            available: true,
            error: Some(_),
            ..
        }
    )));
}

#[tokio::test]
async fn a_diagnosis_in_a_shared_store_serves_an_instance_without_a_diagnoser() {
    let (oracle, asked) = Oracle::new(Ok(nonce_diagnosis()));
    let store = Arc::new(MemoryGeneStore::new());
    let (exec, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let first = helix_with(oracle, store.clone(), exec, Arc::new(MemorySink::new()));
    first.run(pay(), sequence_gap).await.unwrap();

    let (exec, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let second = Helix::builder()
        .strategy(exec)
        .store(store)
        .mode(Mode::Auto)
        .build();
    let (r, report) = second.run_mut(&mut pay(), sequence_gap).await;
    r.unwrap();
    assert!(report.immune());
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn replay_uses_the_logged_diagnosis() {
    let (oracle, _) = Oracle::new(Ok(nonce_diagnosis()));
    let sink = Arc::new(MemorySink::new());
    let (exec, _) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let helix = helix_with(oracle, Arc::new(MemoryGeneStore::new()), exec, sink.clone());
    helix.run(pay(), sequence_gap).await.unwrap();
    let events = sink.take();
    let adapters: Vec<Arc<dyn Adapter>> = vec![Arc::new(Words(vec![]))];
    let r = replay::replay(&adapters, &events);
    assert!(r.same(), "{:?}", r.differences);
    // Without the diagnosis event the log no longer explains its decisions.
    let cut: Vec<Event> = events
        .into_iter()
        .filter(|e| !matches!(e.kind, EventKind::Diagnosed { .. }))
        .collect();
    assert!(!replay::replay(&adapters, &cut).same());
}

#[tokio::test]
async fn advice_commits_only_when_the_mode_allows_and_the_outcome_teaches_the_gene() {
    let store = Arc::new(MemoryGeneStore::new());
    let signal = ErrorSignal::message("nonce too low: next nonce 9, tx nonce 3");
    let request = pay().view();

    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let observe = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(exec)
        .store(store.clone())
        .mode(Mode::Observe)
        .build();
    let advice = observe.advise(signal.clone(), request.clone()).await;
    assert!(advice.committed.is_none() && advice.ticket.is_none());
    assert_eq!(advice.recommended, vec![StrategyId::RefreshNonce]);
    assert_eq!(commits.load(Ordering::SeqCst), 0);

    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 9 }]);
    let auto = Helix::builder()
        .adapter(Words(vec![StrategyId::RefreshNonce]))
        .strategy(exec)
        .store(store.clone())
        .mode(Mode::Auto)
        .build();
    let advice = auto.advise(signal, request).await;
    assert_eq!(commits.load(Ordering::SeqCst), 1);
    let done = advice.committed.clone().unwrap();
    assert_eq!(done.patches, vec![Patch::Nonce { nonce: 9 }]);
    assert!(
        store.list().await.unwrap().is_empty(),
        "learned before verify"
    );
    let gene = auto
        .report_outcome(advice.ticket.unwrap(), true)
        .await
        .unwrap();
    assert_eq!(gene.strategy, StrategyId::RefreshNonce);
    assert_eq!(gene.successes, 1);
}

#[tokio::test]
async fn a_diagnosis_whose_repairs_all_demote_is_forgotten_and_asked_again() {
    let (oracle, asked) = Oracle::new(Ok(nonce_diagnosis()));
    let store = Arc::new(MemoryGeneStore::new());
    let sink = Arc::new(MemorySink::new());
    // The repair the diagnosis proposes never fixes it (nonce 8, not 9).
    let (exec, commits) = Exec::new(StrategyId::RefreshNonce, vec![Patch::Nonce { nonce: 8 }]);
    let helix = helix_with(oracle, store.clone(), exec, sink.clone());
    for run in 1..=gene::DEMOTE_AFTER {
        assert!(helix.run(pay(), sequence_gap).await.is_err());
        assert_eq!(asked.load(Ordering::SeqCst), 1, "run {run} asked again");
    }
    assert_eq!(commits.load(Ordering::SeqCst), gene::DEMOTE_AFTER);
    assert!(
        sink.take()
            .iter()
            .any(|e| matches!(e.kind, EventKind::DiagnosisForgotten { .. }))
    );
    assert!(helix.run(pay(), sequence_gap).await.is_err());
    assert_eq!(asked.load(Ordering::SeqCst), 2, "forgotten, so asked again");
}
