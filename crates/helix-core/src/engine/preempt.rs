//! Pre-emption: before a call that a forecast says will meet a known
//! failure (a recurring window: "this service fails Mondays 02:00"), the
//! repair the gene for that failure knows is applied first, so the call
//! does not fail at all.
//!
//! Bounded like any repair and more: only a live gene's repair, only one
//! that moves no funds (nothing is spent ahead of a failure that has not
//! happened), only where the mode allows it; the patches pass the same
//! invariants. A pre-emptive repair that works teaches nothing (the
//! failure never happened, so it proves nothing about the gene); one whose
//! commit fails counts against its gene like any failed commit.

use crate::event::{BlockReason, EventKind};
use crate::failure::{Candidate, CandidateSource, Evidence, Failure, GeneKey};
use crate::gene::now_ms;
use crate::patch::{PaymentView, Repairable};
use crate::signal::{ErrorSignal, Facts};
use crate::taxonomy::{Platform, Severity, StrategyId};

use super::Helix;
use super::run::{Attempt, Run};

/// Which failure is expected for a request now. Pure and fast: it is asked
/// before every call (no I/O; load the windows ahead).
pub trait Forecast: Send + Sync {
    /// The failure expected for `request` at `now_ms` (unix ms), and the
    /// platform it would come from, if any.
    fn expected(&self, request: &PaymentView, now_ms: i64) -> Option<(GeneKey, Platform)>;
}

impl Helix {
    /// Applies the gene's repair for the failure `forecast` expects, if any
    /// may run; answers the strategy applied.
    pub(crate) async fn preempt<R: Repairable + ?Sized>(
        &self,
        req: &mut R,
        forecast: &dyn Forecast,
    ) -> Option<StrategyId> {
        let view = req.view();
        let (key, platform) = forecast.expected(&view, now_ms())?;
        let h = &*self.inner;
        let mut run = Run::new(h);
        run.emit(EventKind::Predicted { key });
        let failure = Failure {
            code: key.code,
            category: key.category,
            severity: Severity::Low,
            platform,
            evidence: Evidence::Forecast,
            facts: Facts::default(),
        };
        let gene = run.lookup(&failure).await?;
        if gene.strategy.moves_funds() {
            run.block(gene.strategy, BlockReason::Predicted);
            return None;
        }
        if !gene.strategy.allowed_in(h.policy.mode) {
            run.block(gene.strategy, BlockReason::Mode);
            return None;
        }
        let signal = ErrorSignal::message(format!("{key} is expected now (a recurring window)"))
            .with_platform(platform);
        let c = Candidate {
            strategy: gene.strategy,
            params: gene.params.clone(),
            est_cost: gene.mean_cost.round() as u64,
            est_ms: gene.mean_ms.round() as u64,
            source: CandidateSource::Gene,
        };
        match run
            .commit(req, &failure, &signal, &view, c, gene.source)
            .await
        {
            // Dropped unrecorded: a repair ahead of a failure teaches nothing.
            Attempt::Committed(p) => Some(p.strategy()),
            _ => None,
        }
    }
}
