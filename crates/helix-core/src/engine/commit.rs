//! Acting on one candidate: the wallet lock, the budget's hold, the
//! executor under its timeout, and the patches against the invariants.

use std::sync::Arc;
use std::time::Instant;

use crate::event::{BlockReason, EventKind};
use crate::failure::{Candidate, CandidateSource, Failure};
use crate::gene::GeneSource;
use crate::patch::{Patch, PaymentView, Repairable, Violation, check_invariants, check_patches};
use crate::policy::{Budget, BudgetError};
use crate::signal::ErrorSignal;
use crate::taxonomy::StrategyId;
use crate::traits::{CommitCtx, CommitError, Committed, Executor};

use super::report::RepairStep;
use super::run::{Attempt, Pending, Run, Stop, Unapplied};

impl Run<'_> {
    /// The most a repair may spend: for one that moves funds, its
    /// executor's cap (never above the per-repair ceiling), so the budget
    /// holds what could really leave, not a guess.
    pub(super) fn upper_bound(&self, c: &Candidate, exec: &dyn Executor) -> u64 {
        let ceiling = self.h.policy.per_repair_ceiling;
        if c.strategy.moves_funds() {
            exec.max_cost()
                .unwrap_or(ceiling)
                .min(ceiling)
                .max(c.est_cost)
        } else {
            c.est_cost
        }
    }

    pub(super) async fn commit<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        failure: &Failure,
        signal: &ErrorSignal,
        view: &PaymentView,
        c: Candidate,
        source: GeneSource,
    ) -> Attempt {
        let Some(exec) = self.h.executors.get(&c.strategy).cloned() else {
            self.block(c.strategy, BlockReason::NoExecutor);
            return Attempt::Failed;
        };
        let max_cost = self.upper_bound(&c, exec.as_ref());
        let ctx = CommitCtx {
            failure,
            signal,
            request: view,
            params: &c.params,
            mode: self.h.policy.mode,
            repairs_so_far: self.report.repairs.len() as u32,
            max_cost,
        };
        if c.source == CandidateSource::Diagnosis {
            // A diagnoser's proposal is only as good as its guess: where the
            // platform can simulate the repair, it must pass first.
            let checked = exec.dry_run(&ctx).await;
            self.emit(EventKind::DryRun {
                strategy: c.strategy,
                available: checked.is_some(),
                error: checked
                    .as_ref()
                    .and_then(|r| r.as_ref().err())
                    .map(|e| e.to_string()),
            });
            if let Some(Err(_)) = checked {
                self.tried.push(c.strategy);
                return Attempt::Failed;
            }
        }
        // Another run's repair may be moving this wallet's funds: wait for
        // it, then read the balance it left.
        let wallet = match (c.strategy.moves_funds(), view.payer.as_deref()) {
            (true, Some(payer)) => {
                match self
                    .h
                    .wallet_locks
                    .lock(payer, self.h.policy.commit_timeout)
                    .await
                {
                    Ok(g) => Some(g),
                    Err(e) => {
                        self.emit(EventKind::CommitFailed {
                            strategy: c.strategy,
                            error: e.to_string(),
                        });
                        return Attempt::Failed;
                    }
                }
            }
            _ => None,
        };
        // Held until settled; a run dropped mid-commit (a caller's timeout, a
        // client gone) settles it from the guard.
        let held = match &self.h.budget {
            Some(b) => match Held::reserve(
                b,
                max_cost,
                c.strategy.moves_funds(),
                self.h.policy.store_timeout,
            )
            .await
            {
                Ok(h) => Some(h),
                Err(e) => {
                    self.block(c.strategy, BlockReason::Budget);
                    self.emit(EventKind::CommitFailed {
                        strategy: c.strategy,
                        error: e.to_string(),
                    });
                    return Attempt::Refused(e);
                }
            },
            None => None,
        };
        let immune = c.source == CandidateSource::Gene;
        self.emit(EventKind::Committing {
            strategy: c.strategy,
            immune,
            params: c.params.clone(),
        });
        self.tried.push(c.strategy);
        let started = Instant::now();
        let timeout = self.h.policy.commit_timeout;
        let result = match tokio::time::timeout(timeout, exec.commit(&ctx)).await {
            Ok(r) => r,
            Err(_) => Err(CommitError::Timeout(timeout.as_millis() as u64)),
        };
        let committed = match result {
            Ok(done) => done,
            Err(e) => {
                let spent = spent_on_error(&c, max_cost, &e);
                if c.strategy.moves_funds() && may_have_acted(&e) {
                    self.funds_in_flight = true;
                }
                Held::settle(held, spent).await;
                self.emit(EventKind::CommitFailed {
                    strategy: c.strategy,
                    error: e.to_string(),
                });
                let p = Pending {
                    candidate: c,
                    source,
                    started,
                    learned: serde_json::Value::Null,
                    cost: spent,
                    tx_hashes: Vec::new(),
                    diagnosed: self.diagnosed_fp.clone(),
                    _wallet: None,
                };
                self.record(failure, &p, false, started.elapsed().as_millis() as u64)
                    .await;
                return Attempt::Failed;
            }
        };
        Held::settle(held, committed.cost).await;
        let ceiling = self.h.policy.per_repair_ceiling;
        // The estimate passed the ceiling; the actual cost must too.
        let checked = if committed.cost > ceiling {
            Err(Unapplied::Violation(Violation::CostOverCeiling {
                cost: committed.cost,
                ceiling,
            }))
        } else {
            self.apply(req, c.strategy, view, &committed)
        };
        match checked {
            Ok(()) => {}
            Err(Unapplied::Violation(v)) => {
                self.emit(EventKind::InvariantViolated {
                    strategy: c.strategy,
                    violation: v.clone(),
                });
                return Attempt::Stop(Stop::Invariant(c.strategy, v));
            }
            Err(Unapplied::AlreadyPaid(evidence)) => {
                return Attempt::Stop(Stop::AlreadyPaid(c.strategy, evidence));
            }
            Err(Unapplied::Refused) => {
                // The repair acted but the request cannot carry its result:
                // retrying would send the unrepaired request again.
                let p = Pending {
                    candidate: c,
                    source,
                    started,
                    learned: serde_json::Value::Null,
                    cost: committed.cost,
                    tx_hashes: committed.tx_hashes.clone(),
                    diagnosed: self.diagnosed_fp.clone(),
                    _wallet: None,
                };
                self.record(failure, &p, false, started.elapsed().as_millis() as u64)
                    .await;
                return Attempt::Failed;
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        self.report.repairs.push(RepairStep {
            strategy: c.strategy,
            immune,
            verified: false,
            ms,
            cost: committed.cost,
            tx_hashes: committed.tx_hashes.clone(),
        });
        let Committed {
            patches,
            cost,
            tx_hashes,
            params,
        } = committed;
        self.emit(EventKind::Committed {
            strategy: c.strategy,
            patches,
            ms,
            cost,
            tx_hashes: tx_hashes.clone(),
        });
        Attempt::Committed(Pending {
            candidate: c,
            source,
            started,
            learned: params,
            cost,
            tx_hashes,
            diagnosed: self.diagnosed_fp.clone(),
            _wallet: wallet,
        })
    }

    pub(super) fn apply<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        strategy: StrategyId,
        before: &PaymentView,
        committed: &Committed,
    ) -> Result<(), Unapplied> {
        check_patches(strategy, before, &committed.patches).map_err(Unapplied::Violation)?;
        let mut refused = None;
        for p in &committed.patches {
            if let Err(r) = req.apply(p) {
                self.emit(EventKind::CommitFailed {
                    strategy,
                    error: r.to_string(),
                });
                refused = Some(p);
                break;
            }
        }
        // Checked whatever happened: the patches before a refused one stay.
        check_invariants(strategy, before, &req.view()).map_err(Unapplied::Violation)?;
        match refused {
            None => Ok(()),
            Some(Patch::UseExisting { id }) => Err(Unapplied::AlreadyPaid(format!("tx {id}"))),
            Some(Patch::Receipt { receipt }) => {
                Err(Unapplied::AlreadyPaid(format!("receipt {receipt}")))
            }
            Some(_) => Err(Unapplied::Refused),
        }
    }
}

/// How long a settlement may take before the run goes on without it.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A store call that answers within `timeout`, or the store is down.
pub(super) async fn bounded<T>(
    timeout: std::time::Duration,
    call: impl std::future::Future<Output = Result<T, crate::traits::StoreError>>,
) -> Result<T, crate::traits::StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(crate::traits::StoreError::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            )))
        })
}

/// Whether an executor's error says it acted (or may have) before failing:
/// `NotApplicable` and `Unsafe` are refusals before acting.
fn may_have_acted(e: &CommitError) -> bool {
    matches!(e, CommitError::Platform(_) | CommitError::Timeout(_))
}

/// What a repair that erred is booked as having spent. A refusal before
/// acting spent nothing. One that moves funds may have moved up to its
/// bound before it erred (a swap mined, its answer lost): the bound is
/// booked, never a guess below it. Others may have spent their estimate
/// (gas).
fn spent_on_error(c: &Candidate, bound: u64, e: &CommitError) -> u64 {
    match e {
        _ if !may_have_acted(e) => 0,
        _ if c.strategy.moves_funds() => bound,
        _ => c.est_cost,
    }
}

/// A budget reservation settled exactly once: by [`Held::settle`], or by
/// its drop when the run is cancelled or panics mid-commit. A dropped
/// reservation of a repair that moves funds is booked in full (it may have
/// moved that much); any other is released.
struct Held {
    budget: Arc<dyn Budget>,
    r: Option<crate::policy::Reservation>,
    if_dropped: u64,
}

impl Held {
    async fn reserve(
        budget: &Arc<dyn Budget>,
        amount: u64,
        moves_funds: bool,
        timeout: std::time::Duration,
    ) -> Result<Held, BudgetError> {
        // No answer is no: nothing moves without a hold.
        let r = tokio::time::timeout(timeout, budget.reserve_for(amount, moves_funds))
            .await
            .map_err(|_| {
                BudgetError::Unavailable(format!("no answer within {} ms", timeout.as_millis()))
            })??;
        Ok(Held {
            budget: budget.clone(),
            if_dropped: if moves_funds { r.amount } else { 0 },
            r: Some(r),
        })
    }

    async fn settle(held: Option<Held>, actual: u64) {
        let Some(mut h) = held else { return };
        let Some(r) = h.r.take() else { return };
        // A budget that does not answer keeps the hold; a stale hold is
        // expired by the store (booked in full when money may have moved).
        let (id, timeout) = (r.id, SETTLE_TIMEOUT);
        match tokio::time::timeout(timeout, h.budget.settle(r, actual)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "helix::budget", %e, id, "settling a reservation failed")
            }
            Err(_) => tracing::error!(
                target: "helix::budget",
                id,
                "the budget did not answer a settlement; the hold stays until it expires"
            ),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(r) = self.r.take() else { return };
        let (budget, amount) = (self.budget.clone(), self.if_dropped);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = budget.settle(r, amount).await {
                        tracing::error!(target: "helix::budget", %e, "settling a dropped reservation failed");
                    }
                });
            }
            Err(_) => tracing::error!(
                target: "helix::budget",
                id = r.id,
                "a reservation was dropped outside a runtime; the store expires it"
            ),
        }
    }
}
