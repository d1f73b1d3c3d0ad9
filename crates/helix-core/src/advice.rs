//! A repair for a caller outside this process (the API server, an agent in
//! another language): one PCEC step without the call. Helix perceives,
//! chooses and, where the mode allows, commits the repair and hands back its
//! patches; the caller applies them, retries its payment, and reports the
//! outcome, which verifies the repair and teaches the gene.

use serde::Serialize;

use crate::engine::{Helix, Pending, Run, Stop};
use crate::event::EventKind;
use crate::event::GaveUp;
use crate::failure::{Failure, GeneKey};
use crate::gene::Gene;
use crate::patch::{Patch, PaymentView, Refused, Repairable};
use crate::signal::ErrorSignal;
use crate::taxonomy::{Mode, StrategyId};

/// What Helix decided for a reported failure.
#[derive(Debug, Serialize)]
pub struct Advice {
    /// Identifies the repair in events and in the outcome report.
    pub repair_id: u64,
    /// The classification; `None` when nothing recognised the failure.
    pub failure: Option<Failure>,
    /// The mode in force.
    pub mode: Mode,
    /// Repairs worth trying, best first (the committed one when one was).
    pub recommended: Vec<StrategyId>,
    /// The repair Helix performed, when the mode allowed one.
    pub committed: Option<CommittedRepair>,
    /// Why nothing was committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Present when a repair was committed: hand it back with the outcome.
    #[serde(skip)]
    pub ticket: Option<Ticket>,
}

/// A repair performed for the caller.
#[derive(Debug, Clone, Serialize)]
pub struct CommittedRepair {
    /// The strategy.
    pub strategy: StrategyId,
    /// Chosen from a gene without construct (immunity).
    pub immune: bool,
    /// What the caller must change in its request before retrying.
    pub patches: Vec<Patch>,
    /// Transactions sent while repairing.
    pub tx_hashes: Vec<String>,
    /// Money spent, micro-USD.
    pub cost: u64,
}

/// What Helix did for a caller about to pay (`Helix::ahead`): the gene's
/// repair for a failure a forecast expects now, applied before the call.
#[derive(Debug, Default, Serialize)]
pub struct Ahead {
    /// The failure the forecast expects for this request now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<GeneKey>,
    /// The repair applied ahead, when the gene's may run (live, moving no
    /// funds, allowed by the mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyId>,
    /// What the caller must change in its request before calling.
    pub patches: Vec<Patch>,
}

/// A committed repair awaiting the caller's retry.
pub struct Ticket {
    repair_id: u64,
    seq: u32,
    pending: Pending,
    failure: Failure,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("repair_id", &self.repair_id)
            .field("strategy", &self.pending.strategy())
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// The repair this ticket belongs to.
    pub fn repair_id(&self) -> u64 {
        self.repair_id
    }
}

/// The caller's request as Helix sees it: patches are collected for the
/// caller and applied to the view, against which the invariants are checked.
struct Remote {
    view: PaymentView,
    patches: Vec<Patch>,
}

impl Repairable for Remote {
    fn view(&self) -> PaymentView {
        self.view.clone()
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        let v = &mut self.view;
        match p {
            Patch::Nonce { nonce } => v.nonce = Some(*nonce),
            Patch::FeeToken { token } => v.fee_token = Some(token.clone()),
            Patch::Currency { currency } => v.currency = Some(currency.clone()),
            Patch::Amount { amount } => v.amount = Some(*amount),
            Patch::Endpoint { url } => v.endpoint = Some(url.clone()),
            Patch::Network { chain_id, .. } => v.chain_id = Some(*chain_id),
            Patch::Deadline { ms } => v.deadline_ms = Some(*ms),
            Patch::PaymentMethod { id } => v.payment_method = Some(id.clone()),
            Patch::IdempotencyKey { key } => v.idempotency_key = Some(key.clone()),
            // Nothing in the view to change: the caller applies these.
            Patch::Challenge { .. }
            | Patch::Receipt { .. }
            | Patch::DropCall { .. }
            | Patch::Split { .. }
            | Patch::UseExisting { .. } => {}
        }
        self.patches.push(p.clone());
        Ok(())
    }
}

impl Helix {
    /// One PCEC step for a failure reported by a caller outside the
    /// process: perceive, gene, construct, evaluate, and commit when the
    /// mode allows. Events are emitted as for [`Helix::run`].
    pub async fn advise(&self, mut signal: ErrorSignal, request: PaymentView) -> Advice {
        let mut run = Run::new(self.inner());
        let repair_id = run.report.repair_id.unwrap_or(0);
        let mode = self.policy().mode;
        run.emit(EventKind::CallFailed {
            attempt: 1,
            status: signal.http_status,
            message: signal.message.clone(),
        });
        for probe in self.probes() {
            probe.gather(&mut signal, &request).await;
        }
        run.emit(EventKind::Observed {
            signal: signal.clone(),
        });
        let mut advice = Advice {
            repair_id,
            failure: None,
            mode,
            recommended: Vec::new(),
            committed: None,
            reason: None,
            ticket: None,
        };
        let Some(failure) = run.perceive(&signal).await else {
            run.emit(EventKind::Unrecognised {
                message: signal.message.clone(),
            });
            advice.reason = Some(GaveUp::Unrecognised.to_string());
            run.emit(EventKind::gave_up(GaveUp::Unrecognised));
            return advice;
        };
        run.emit(EventKind::Perceived {
            failure: failure.clone(),
            service: request.service(),
        });
        advice.failure = Some(failure.clone());
        let mut remote = Remote {
            view: request.clone(),
            patches: Vec::new(),
        };
        match run
            .choose_and_commit(&mut remote, &failure, &signal, &request)
            .await
        {
            Ok(pending) => {
                let step = run.report.repairs.last().cloned();
                if let Some(step) = step {
                    advice.recommended = vec![step.strategy];
                    advice.committed = Some(CommittedRepair {
                        strategy: step.strategy,
                        immune: step.immune,
                        patches: remote.patches,
                        tx_hashes: step.tx_hashes,
                        cost: step.cost,
                    });
                }
                advice.ticket = Some(Ticket {
                    repair_id,
                    seq: run.seq,
                    pending,
                    failure,
                });
            }
            Err(stop) => {
                let why = match stop {
                    Stop::Budget(recommended, refusal) => {
                        advice.recommended = recommended;
                        GaveUp::Budget {
                            refusal: refusal.to_string(),
                        }
                    }
                    Stop::NotRepaired(recommended) => {
                        advice.recommended = recommended.clone();
                        GaveUp::NotRepaired {
                            recommended,
                            observe: mode == Mode::Observe,
                        }
                    }
                    Stop::AlreadyPaid(strategy, evidence) => {
                        GaveUp::AlreadyPaid { strategy, evidence }
                    }
                    Stop::Invariant(strategy, violation) => GaveUp::Invariant {
                        strategy,
                        violation: violation.to_string(),
                    },
                };
                advice.reason = Some(why.to_string());
                run.emit(EventKind::gave_up(why));
            }
        }
        advice
    }

    /// Pre-emption for a caller outside the process, before its call: when
    /// the forecast expects a failure for `request` now, the gene's repair
    /// is applied as [`Helix::run`] applies it, and its patches handed back.
    /// Without a forecast, or with nothing expected, nothing is done.
    pub async fn ahead(&self, request: PaymentView) -> Ahead {
        let Some(forecast) = self.inner().forecast.clone() else {
            return Ahead::default();
        };
        let expected = forecast
            .expected(&request, crate::gene::now_ms())
            .map(|(k, _)| k);
        if expected.is_none() {
            return Ahead::default();
        }
        let mut remote = Remote {
            view: request,
            patches: Vec::new(),
        };
        let strategy = self.preempt(&mut remote, forecast.as_ref()).await;
        Ahead {
            expected,
            strategy,
            patches: if strategy.is_some() {
                remote.patches
            } else {
                Vec::new()
            },
        }
    }

    /// The caller's retry after an [`Advice`]: `success` verifies the
    /// repair (or not) and teaches the gene, which is returned.
    pub async fn report_outcome(&self, ticket: Ticket, success: bool) -> Option<Gene> {
        let mut run = Run::new(self.inner());
        run.report.repair_id = Some(ticket.repair_id);
        run.seq = ticket.seq;
        run.report.calls = 2;
        let gene = run
            .settle_pending(&ticket.failure, ticket.pending, success)
            .await;
        if !success {
            run.emit(EventKind::gave_up(GaveUp::RetryFailed));
        }
        gene
    }
}
