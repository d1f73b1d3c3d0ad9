//! One run's bookkeeping and decisions: perceive (adapters, the sent rule,
//! remembered and fresh diagnoses), the gene, the candidates, and learning
//! from each outcome.

use std::time::Instant;

use crate::diagnose::{Diagnosis, fingerprint};
use crate::evaluate::{construct, rank};
use crate::event::{BlockReason, Event, EventKind};
use crate::failure::{Candidate, CandidateSource, Failure};
use crate::gene::{Gene, GeneSource, Outcome, now_ms};
use crate::patch::{PaymentView, Repairable, Violation};
use crate::policy::BudgetError;
use crate::signal::ErrorSignal;
use crate::taxonomy::{Mode, StrategyId};
use crate::wallet_lock::WalletGuard;

use super::Inner;
use super::commit::bounded;
use super::report::Report;

/// A repair committed and awaiting its retried call.
pub(crate) struct Pending {
    pub(super) candidate: Candidate,
    pub(super) source: GeneSource,
    pub(super) started: Instant,
    pub(super) learned: serde_json::Value,
    pub(super) cost: u64,
    /// The fingerprint of the diagnosis the failure came from, if any.
    pub(super) diagnosed: Option<String>,
    /// The wallet a fund-moving repair holds until its retry has answered.
    pub(super) _wallet: Option<WalletGuard>,
}

pub(super) enum Attempt {
    Committed(Pending),
    Failed,
    /// The budget would not hold what the repair could spend.
    Refused(BudgetError),
    Stop(Stop),
}

pub(crate) enum Stop {
    NotRepaired(Vec<StrategyId>),
    /// Every repair that could have helped was refused by the budget (what
    /// would have been tried, and the refusal).
    Budget(Vec<StrategyId>, BudgetError),
    Invariant(StrategyId, Violation),
    /// Proof of the payment already made that the request refused.
    AlreadyPaid(StrategyId, String),
}

/// Why applying a repair's patches stopped.
pub(super) enum Unapplied {
    Violation(Violation),
    /// The request refused a patch: this candidate ends here.
    Refused,
    /// The request refused proof of a payment already made.
    AlreadyPaid(String),
}

/// One run's bookkeeping (created on the first failure only).
pub(crate) struct Run<'h> {
    pub(crate) h: &'h Inner,
    pub(crate) seq: u32,
    pub(super) tried: Vec<StrategyId>,
    /// A repair that moves funds erred after it may have acted: nothing
    /// else moves funds in this run (its money may already have moved).
    pub(super) funds_in_flight: bool,
    pub(crate) report: Report,
    /// Candidates of the diagnosis behind the current failure, if any.
    pub(super) diagnosed: Vec<Candidate>,
    /// Who diagnosed it: genes born from its candidates carry this source.
    pub(super) diagnosed_by: GeneSource,
    /// The signal fingerprint the diagnosis is remembered under.
    pub(super) diagnosed_fp: Option<String>,
}

impl<'h> Run<'h> {
    pub(crate) fn new(h: &'h Inner) -> Self {
        Run {
            h,
            seq: 0,
            tried: Vec::new(),
            funds_in_flight: false,
            diagnosed: Vec::new(),
            diagnosed_by: GeneSource::Pcec,
            diagnosed_fp: None,
            report: Report {
                repair_id: Some(rand::random::<u64>() >> 11),
                calls: 1,
                ..Report::default()
            },
        }
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        let e = Event {
            repair_id: self.report.repair_id.unwrap_or(0),
            seq: self.seq,
            at: now_ms(),
            kind,
        };
        self.seq += 1;
        self.h.sink.emit(&e);
    }

    pub(super) fn block(&mut self, strategy: StrategyId, reason: BlockReason) {
        let mode = self.h.policy.mode;
        self.emit(EventKind::Blocked {
            strategy,
            reason,
            mode,
        });
    }

    pub(super) async fn record(
        &mut self,
        failure: &Failure,
        p: &Pending,
        success: bool,
        ms: u64,
    ) -> Option<Gene> {
        let params = if p.learned.is_null() {
            p.candidate.params.clone()
        } else {
            p.learned.clone()
        };
        let outcome = Outcome {
            key: failure.key(),
            strategy: p.candidate.strategy,
            params,
            success,
            ms,
            cost: p.cost,
            platform: failure.platform,
            source: p.source,
            at: now_ms(),
            id: crate::gene::outcome_id(),
        };
        match bounded(self.h.policy.store_timeout, self.h.store.record(&outcome)).await {
            Ok(gene) => {
                self.emit(EventKind::GeneRecorded { gene: gene.clone() });
                if !success && !gene.is_live(now_ms()) {
                    self.forget_if_exhausted(failure, p).await;
                }
                Some(gene)
            }
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// A diagnosis whose repairs all demoted is forgotten, so the next
    /// occurrence asks again rather than staying unrepaired for good.
    async fn forget_if_exhausted(&mut self, failure: &Failure, p: &Pending) {
        let Some(fp) = p.diagnosed.clone() else {
            return;
        };
        let timeout = self.h.policy.store_timeout;
        match bounded(timeout, self.h.store.lookup(failure.key())).await {
            Ok(None) => match bounded(timeout, self.h.store.forget_diagnosis(&fp)).await {
                Ok(()) => self.emit(EventKind::DiagnosisForgotten { fingerprint: fp }),
                Err(e) => self.emit(EventKind::StoreError {
                    message: e.to_string(),
                }),
            },
            Ok(Some(_)) => {}
            Err(e) => self.emit(EventKind::StoreError {
                message: e.to_string(),
            }),
        }
    }

    /// Perceive: the adapters first; what none recognises goes to the
    /// remembered diagnoses, then to the diagnoser.
    pub(crate) async fn perceive(&mut self, signal: &ErrorSignal) -> Option<Failure> {
        self.diagnosed.clear();
        self.diagnosed_fp = None;
        if let Some(f) = crate::sent::perceive(&self.h.adapters, signal) {
            return Some(f);
        }
        let (fp, d) = self.diagnose(signal).await?;
        self.diagnosed = d.candidates();
        self.diagnosed_by = d.source;
        self.diagnosed_fp = Some(fp);
        Some(d.failure(signal))
    }

    async fn diagnose(&mut self, signal: &ErrorSignal) -> Option<(String, Diagnosis)> {
        let fp = fingerprint(signal);
        if let Some(d) = self.remembered(&fp).await {
            self.emit(EventKind::Diagnosed {
                fingerprint: fp.clone(),
                diagnosis: d.clone(),
                remembered: true,
            });
            return Some((fp, d));
        }
        let diagnoser = self.h.diagnoser.clone()?;
        let asked = diagnoser
            .diagnose(signal)
            .await
            .and_then(Diagnosis::validated);
        let d = match asked {
            Ok(d) => d,
            Err(e) => {
                self.emit(EventKind::DiagnoseFailed {
                    fingerprint: fp,
                    error: e.to_string(),
                });
                return None;
            }
        };
        // The first diagnosis stored wins, so instances asking at once
        // agree on the gene key; adopt whichever that was.
        let d = match bounded(
            self.h.policy.store_timeout,
            self.h.store.remember_diagnosis(&fp, &d),
        )
        .await
        {
            Ok(()) => self.remembered(&fp).await.unwrap_or(d),
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                d
            }
        };
        self.emit(EventKind::Diagnosed {
            fingerprint: fp.clone(),
            diagnosis: d.clone(),
            remembered: false,
        });
        Some((fp, d))
    }

    async fn remembered(&mut self, fp: &str) -> Option<Diagnosis> {
        match bounded(self.h.policy.store_timeout, self.h.store.diagnosis(fp)).await {
            Ok(d) => d,
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    async fn lookup(&mut self, failure: &Failure) -> Option<Gene> {
        let key = failure.key();
        match bounded(self.h.policy.store_timeout, self.h.store.lookup(key)).await {
            Ok(Some(g)) if g.q >= self.h.policy.min_gene_q => {
                self.emit(EventKind::GeneHit { gene: g.clone() });
                Some(g)
            }
            Ok(_) => {
                self.emit(EventKind::GeneMiss { key });
                None
            }
            Err(e) => {
                // A dead gene store must not stop a payment: go on without immunity.
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// Whether `c` may be committed now; emits the reason when not.
    fn admissible(
        &mut self,
        c: &Candidate,
        failure: &Failure,
        view: &PaymentView,
        signal: &ErrorSignal,
    ) -> bool {
        let policy = &self.h.policy;
        let exec = self.h.executors.get(&c.strategy);
        let reason = if self.tried.contains(&c.strategy) {
            Some(BlockReason::AlreadyTried)
        } else if crate::sent::may_have_paid(signal) && !c.strategy.safe_after_send() {
            Some(BlockReason::PaymentSent)
        } else if self.funds_in_flight && c.strategy.moves_funds() {
            Some(BlockReason::FundsInFlight)
        } else if !c.strategy.allowed_in(policy.mode) {
            Some(BlockReason::Mode)
        } else if c.strategy.reduces_amount() && !view.partial_ok {
            Some(BlockReason::PartialNotAllowed)
        } else if c.est_cost > policy.per_repair_ceiling {
            Some(BlockReason::Ceiling)
        } else if let Some(exec) = exec {
            // Declared needs: a repair that cannot act takes no lock and no
            // budget.
            crate::need::Need::first_missing(exec.needs(), failure, signal, view)
                .map(BlockReason::Missing)
        } else {
            Some(BlockReason::NoExecutor)
        };
        match reason {
            Some(r) => {
                self.block(c.strategy, r);
                false
            }
            None => true,
        }
    }

    pub(crate) async fn choose_and_commit<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        failure: &Failure,
        signal: &ErrorSignal,
        view: &PaymentView,
    ) -> Result<Pending, Stop> {
        let mut refused = None;
        let gene = self.lookup(failure).await;
        if let Some(g) = &gene {
            let c = Candidate {
                strategy: g.strategy,
                params: g.params.clone(),
                est_cost: g.mean_cost.round() as u64,
                est_ms: g.mean_ms.round() as u64,
                source: CandidateSource::Gene,
            };
            if self.admissible(&c, failure, view, signal) {
                match self.commit(req, failure, signal, view, c, g.source).await {
                    Attempt::Committed(p) => return Ok(p),
                    Attempt::Stop(stop) => return Err(stop),
                    Attempt::Refused(e) => refused = Some(e),
                    Attempt::Failed => {}
                }
            }
        }

        let candidates = construct(&self.h.adapters, failure, &self.diagnosed);
        self.emit(EventKind::Constructed {
            candidates: candidates.iter().map(|c| c.strategy).collect(),
        });
        let ranked = rank(candidates, gene.as_ref());
        self.emit(EventKind::Evaluated {
            ranked: ranked.iter().map(|(c, s)| (c.strategy, *s)).collect(),
        });
        let recommended: Vec<StrategyId> = ranked.iter().map(|(c, _)| c.strategy).collect();
        if self.h.policy.mode == Mode::Observe {
            for (c, _) in &ranked {
                self.block(c.strategy, BlockReason::Mode);
            }
            self.emit(EventKind::Recommended {
                strategies: recommended.clone(),
            });
            return Err(Stop::NotRepaired(recommended));
        }
        for (c, _) in ranked {
            if !self.admissible(&c, failure, view, signal) {
                continue;
            }
            let source = match c.source {
                CandidateSource::Diagnosis => self.diagnosed_by,
                _ => GeneSource::Pcec,
            };
            match self.commit(req, failure, signal, view, c, source).await {
                Attempt::Committed(p) => return Ok(p),
                Attempt::Stop(stop) => return Err(stop),
                Attempt::Refused(e) => refused = Some(e),
                Attempt::Failed => {}
            }
        }
        self.emit(EventKind::Recommended {
            strategies: recommended.clone(),
        });
        Err(match refused {
            Some(e) => Stop::Budget(recommended, e),
            None => Stop::NotRepaired(recommended),
        })
    }

    pub(crate) async fn settle_pending(
        &mut self,
        failure: &Failure,
        p: Pending,
        verified: bool,
    ) -> Option<Gene> {
        let ms = p.started.elapsed().as_millis() as u64;
        let strategy = p.candidate.strategy;
        if verified {
            if let Some(step) = self
                .report
                .repairs
                .iter_mut()
                .rev()
                .find(|r| r.strategy == strategy)
            {
                step.verified = true;
                step.ms = ms;
            }
            self.emit(EventKind::Verified { strategy, ms });
        } else {
            self.emit(EventKind::VerifyFailed { strategy });
        }
        self.record(failure, &p, verified, ms).await
    }
}

impl Pending {
    pub(crate) fn strategy(&self) -> StrategyId {
        self.candidate.strategy
    }
}
