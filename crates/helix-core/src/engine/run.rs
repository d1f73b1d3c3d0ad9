//! One run's bookkeeping: what was tried, what the run found, the events it
//! emits, and how an attempt or the run ends.

use std::time::Instant;

use crate::event::{BlockReason, Event, EventKind};
use crate::failure::Candidate;
use crate::gene::{GeneSource, now_ms};
use crate::patch::Violation;
use crate::policy::BudgetError;
use crate::taxonomy::StrategyId;
use crate::wallet_lock::WalletGuard;

use super::Inner;
use super::report::Report;

/// A repair committed and awaiting its retried call.
pub(crate) struct Pending {
    pub(super) candidate: Candidate,
    pub(super) source: GeneSource,
    pub(super) started: Instant,
    pub(super) learned: serde_json::Value,
    pub(super) cost: u64,
    /// The repair's own transactions: the evidence a registry checks.
    pub(super) tx_hashes: Vec<String>,
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
}

impl Pending {
    pub(crate) fn strategy(&self) -> StrategyId {
        self.candidate.strategy
    }
}
