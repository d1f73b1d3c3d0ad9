//! The immune decision as the benchmarks measure it: classify a known
//! failure, look its gene up, check the mode. Shared by the criterion bench
//! and the latency-distribution binary so both time the same work.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use helix_core::*;

/// Polls a future that completes without waiting (the stores under test
/// answer synchronously); a future that would wait is a benchmark bug.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("benchmarked future must not wait"),
    }
}

/// The failure every decision sees.
pub fn signal() -> ErrorSignal {
    ErrorSignal::message("nonce too low: next nonce 9, tx nonce 7")
}

/// The gene that answers it, as a verified outcome to record.
pub fn outcome() -> Outcome {
    let key = GeneKey {
        code: FailureCode::VerificationFailed,
        category: Category::Signature,
    };
    Outcome {
        ms: 40,
        ..Outcome::new(key, StrategyId::RefreshNonce, Platform::Tempo, true)
    }
}

/// Classify, look up, gate: the strategy Helix would run at once.
pub fn decide(
    classifier: &dyn Adapter,
    signal: &ErrorSignal,
    store: &dyn GeneStore,
) -> Option<StrategyId> {
    let f = classifier.perceive(signal)?;
    let g = ready(store.lookup(f.key())).ok()??;
    g.strategy.allowed_in(Mode::Auto).then_some(g.strategy)
}
