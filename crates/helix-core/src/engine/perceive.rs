//! Perceive: the adapters and the sent rule first; what none recognises
//! goes to the remembered diagnoses, then to the diagnoser.

use crate::diagnose::{Diagnosis, fingerprint};
use crate::event::EventKind;
use crate::failure::Failure;
use crate::signal::ErrorSignal;

use super::commit::bounded;
use super::run::Run;

impl Run<'_> {
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
}
