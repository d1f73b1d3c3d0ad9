//! The PCEC loop: Perceive, (Gene), Construct, Evaluate, Commit, Verify, Gene.
//!
//! One room per stage: `mod.rs` holds the runtime and its loop
//! ([`Helix::run`]); `builder.rs` how it is assembled; `run.rs` one run's
//! bookkeeping; `perceive.rs` classification (adapters, the sent rule,
//! diagnoses); `select.rs` the gene and the candidates, each admissible or
//! blocked with its reason; `commit.rs` acting on one (wallet, budget, the
//! executor, the patches); `learn.rs` recording outcomes; `report.rs` what
//! a run says about itself.

mod builder;
mod commit;
mod learn;
mod perceive;
mod preempt;

pub use preempt::Forecast;
mod report;
mod run;
mod select;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::diagnose::Diagnoser;
use crate::event::{EventKind, EventSink, GaveUp};
use crate::failure::Failure;
use crate::patch::Repairable;
use crate::policy::{Budget, Policy};
use crate::signal::{ErrorSignal, IntoSignal};
use crate::taxonomy::{Mode, StrategyId};
use crate::traits::{Adapter, Executor, GeneStore, Probe};
use crate::wallet_lock::WalletLocks;

pub use builder::HelixBuilder;
pub use report::{HelixError, RepairStep, Report};
pub(crate) use run::{Pending, Run, Stop};

/// The self-healing runtime. Cheap to clone; share one per process.
///
/// ```
/// use helix_core::*;
///
/// // A request type: recipient and amount are guarded, the nonce may be patched.
/// struct Pay { to: &'static str, amount: u128, nonce: u64 }
/// impl Repairable for Pay {
///     fn view(&self) -> PaymentView {
///         PaymentView { recipient: Some(self.to.into()), amount: Some(self.amount),
///                       nonce: Some(self.nonce), ..Default::default() }
///     }
///     fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
///         match p { Patch::Nonce { nonce } => { self.nonce = *nonce; Ok(()) }
///                   other => Err(Refused::unsupported(other)) }
///     }
/// }
///
/// // A one-rule adapter and an executor that "reads" the chain's nonce.
/// struct Nonces;
/// impl Adapter for Nonces {
///     fn name(&self) -> &'static str { "nonces" }
///     fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
///         s.message.contains("nonce too low").then(|| Failure {
///             code: FailureCode::VerificationFailed, category: Category::Signature,
///             severity: Severity::Medium, platform: Platform::Tempo,
///             evidence: Evidence::Message, facts: Facts::default() })
///     }
///     fn construct(&self, _: &Failure) -> Vec<Candidate> {
///         vec![Candidate::new(StrategyId::RefreshNonce, 0, 50)]
///     }
/// }
/// struct ReadNonce(u64);
/// #[async_trait::async_trait]
/// impl Executor for ReadNonce {
///     fn id(&self) -> StrategyId { StrategyId::RefreshNonce }
///     async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
///         Ok(Committed { patches: vec![Patch::Nonce { nonce: self.0 }], ..Default::default() })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let helix = Helix::builder().adapter(Nonces).strategy(ReadNonce(7)).build();
/// let pay = Pay { to: "0xbob", amount: 500_000, nonce: 3 };
/// let receipt = helix
///     .run(pay, async |p: &Pay| {
///         if p.nonce == 7 { Ok("paid") } else { Err(format!("nonce too low: next nonce 7, tx nonce {}", p.nonce)) }
///     })
///     .await
///     .unwrap();
/// assert_eq!(receipt, "paid");
/// # });
/// ```
#[derive(Clone)]
pub struct Helix {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    adapters: Vec<Arc<dyn Adapter>>,
    probes: Vec<Arc<dyn Probe>>,
    diagnoser: Option<Arc<dyn Diagnoser>>,
    executors: HashMap<StrategyId, Arc<dyn Executor>>,
    store: Arc<dyn GeneStore>,
    sink: Arc<dyn EventSink>,
    budget: Option<Arc<dyn Budget>>,
    wallet_locks: Arc<dyn WalletLocks>,
    pub(crate) forecast: Option<Arc<dyn Forecast>>,
    policy: Policy,
}

impl fmt::Debug for Helix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut strategies: Vec<_> = self.inner.executors.keys().map(|s| s.as_str()).collect();
        strategies.sort_unstable();
        f.debug_struct("Helix")
            .field(
                "adapters",
                &self
                    .inner
                    .adapters
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>(),
            )
            .field("strategies", &strategies)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl Helix {
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The repair budget, if one was given.
    pub fn budget(&self) -> Option<&Arc<dyn Budget>> {
        self.inner.budget.as_ref()
    }

    pub(crate) fn probes(&self) -> &[Arc<dyn Probe>] {
        &self.inner.probes
    }

    /// Starts a builder.
    pub fn builder() -> HelixBuilder {
        HelixBuilder::default()
    }

    /// The limits in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The gene store.
    pub fn store(&self) -> &Arc<dyn GeneStore> {
        &self.inner.store
    }

    /// Classifies a signal with the registered adapters (no I/O, no events).
    pub fn classify(&self, signal: &ErrorSignal) -> Option<Failure> {
        crate::sent::perceive(&self.inner.adapters, signal)
    }

    /// Calls `op` with the request and repairs failures until it succeeds, a
    /// bound is reached, or no allowed repair remains.
    pub async fn run<R, T, E, F>(&self, mut req: R, op: F) -> Result<T, HelixError<E>>
    where
        R: Repairable,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        self.run_mut(&mut req, op).await.0
    }

    /// Like [`Helix::run`] on a borrowed request (which keeps the patches),
    /// also returning what the run did. After [`HelixError::Invariant`] the
    /// request may hold the offending patch (it was never sent): discard it.
    pub async fn run_mut<R, T, E, F>(
        &self,
        req: &mut R,
        mut op: F,
    ) -> (Result<T, HelixError<E>>, Report)
    where
        R: Repairable + ?Sized,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        // Only with a forecast configured; boxed so the plain path's future
        // stays small.
        let preempted = match &self.inner.forecast {
            Some(f) => Box::pin(self.preempt(req, f.as_ref())).await,
            None => None,
        };
        let (result, mut report) = match op(req).await {
            Ok(v) => (Ok(v), Report::default()),
            // Boxed so the happy path's future stays small.
            Err(e) => Box::pin(self.heal(req, op, e)).await,
        };
        report.preempted = preempted;
        (result, report)
    }

    /// A reusable wrapped operation: `wrap(op).call(req)`.
    pub fn wrap<F>(&self, op: F) -> Wrapped<F> {
        Wrapped {
            helix: self.clone(),
            op,
        }
    }

    async fn heal<R, T, E, F>(
        &self,
        req: &mut R,
        mut op: F,
        first: E,
    ) -> (Result<T, HelixError<E>>, Report)
    where
        R: Repairable + ?Sized,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        let h = &*self.inner;
        let mut run = Run::new(h);
        let mut err = first;
        let mut pending: Option<(Pending, Failure)> = None;
        loop {
            let mut signal = err.to_signal();
            run.emit(EventKind::CallFailed {
                attempt: run.report.calls,
                status: signal.http_status,
                message: signal.message.clone(),
            });
            let view = req.view();
            for probe in &h.probes {
                probe.gather(&mut signal, &view).await;
            }
            run.emit(EventKind::Observed {
                signal: signal.clone(),
            });
            let perceived = run.perceive(&signal).await;
            if let Some((p, f)) = pending.take() {
                // The repair is verified when the failure it targeted is gone,
                // even if the call now fails for another (recognised) reason.
                let progressed = perceived.as_ref().is_some_and(|n| n.key() != f.key());
                run.settle_pending(&f, p, progressed).await;
            }
            let Some(failure) = perceived else {
                run.emit(EventKind::Unrecognised {
                    message: signal.message.clone(),
                });
                run.emit(EventKind::gave_up(GaveUp::Unrecognised));
                return (Err(HelixError::Unrecognised { error: err }), run.report);
            };
            run.emit(EventKind::Perceived {
                failure: failure.clone(),
                service: view.service(),
            });
            run.report.failure = Some(failure.clone());
            if run.report.repairs.len() as u32 >= h.policy.max_repairs {
                run.emit(EventKind::gave_up(GaveUp::Exhausted {
                    repairs: h.policy.max_repairs,
                }));
                let failure = Box::new(failure);
                return (
                    Err(HelixError::Exhausted {
                        error: err,
                        failure,
                    }),
                    run.report,
                );
            }
            match run.choose_and_commit(req, &failure, &signal, &view).await {
                Ok(p) => pending = Some((p, failure)),
                Err(Stop::Budget(_, refusal)) => {
                    run.emit(EventKind::gave_up(GaveUp::Budget {
                        refusal: refusal.to_string(),
                    }));
                    let err = HelixError::Budget {
                        error: err,
                        failure: Box::new(failure),
                        refusal,
                    };
                    return (Err(err), run.report);
                }
                Err(Stop::NotRepaired(recommended)) => {
                    let failure = Box::new(failure);
                    run.emit(EventKind::gave_up(GaveUp::NotRepaired {
                        recommended: recommended.clone(),
                        observe: h.policy.mode == Mode::Observe,
                    }));
                    return (
                        Err(HelixError::NotRepaired {
                            error: err,
                            failure,
                            recommended,
                        }),
                        run.report,
                    );
                }
                Err(Stop::AlreadyPaid(strategy, evidence)) => {
                    run.emit(EventKind::gave_up(GaveUp::AlreadyPaid {
                        strategy,
                        evidence: evidence.clone(),
                    }));
                    return (
                        Err(HelixError::AlreadyPaid {
                            error: err,
                            strategy,
                            evidence,
                        }),
                        run.report,
                    );
                }
                Err(Stop::Invariant(strategy, violation)) => {
                    run.emit(EventKind::gave_up(GaveUp::Invariant {
                        strategy,
                        violation: violation.to_string(),
                    }));
                    return (
                        Err(HelixError::Invariant {
                            error: err,
                            strategy,
                            violation,
                        }),
                        run.report,
                    );
                }
            }
            run.report.calls += 1;
            match op(req).await {
                Ok(v) => {
                    if let Some((p, f)) = pending.take() {
                        run.settle_pending(&f, p, true).await;
                    }
                    return (Ok(v), run.report);
                }
                Err(e) => err = e,
            }
        }
    }
}

/// An operation bound to a [`Helix`]; see [`Helix::wrap`].
pub struct Wrapped<F> {
    helix: Helix,
    op: F,
}

impl<F> Wrapped<F> {
    /// Runs the wrapped operation on a request.
    pub async fn call<R, T, E>(&mut self, req: R) -> Result<T, HelixError<E>>
    where
        R: Repairable,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        let mut req = req;
        self.helix.run_mut(&mut req, &mut self.op).await.0
    }
}
