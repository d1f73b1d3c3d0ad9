//! Learning from an outcome: the verified (or failed) repair is recorded
//! in the Gene Map, and a diagnosis whose repairs all demoted is forgotten.

use crate::event::EventKind;
use crate::failure::Failure;
use crate::gene::{Gene, Outcome, now_ms};

use super::commit::bounded;
use super::run::{Pending, Run};

impl Run<'_> {
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
            evidence: p.tx_hashes.clone(),
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
