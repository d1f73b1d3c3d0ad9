//! Choosing a repair: the gene first (immunity), then the candidates the
//! adapters (or a diagnosis) construct, ranked; each must be admissible
//! (not tried, safe after a send, allowed by the mode and the ceiling, its
//! executor's needs met) before it is committed.

use crate::evaluate::{construct, rank};
use crate::event::{BlockReason, EventKind};
use crate::failure::{Candidate, CandidateSource, Failure};
use crate::gene::{Gene, GeneSource};
use crate::patch::{PaymentView, Repairable};
use crate::signal::ErrorSignal;
use crate::taxonomy::{Mode, StrategyId};

use super::commit::bounded;
use super::run::{Attempt, Pending, Run, Stop};

impl Run<'_> {
    pub(super) async fn lookup(&mut self, failure: &Failure) -> Option<Gene> {
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
}
