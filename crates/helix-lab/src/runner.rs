//! How a scenario's payment is attempted: once, blindly repeated, or
//! through Helix. The benchmark runs the same armed faults through each, so
//! the arms differ only in what they do after a failure.

use std::fmt::Display;

use helix_core::{Helix, IntoSignal, Repairable, Report};

/// One way to attempt a payment.
#[derive(Clone, Copy)]
pub enum Runner<'h> {
    /// One attempt; a failure is final.
    Once,
    /// The same request again, up to `attempts` calls in all, no waiting.
    Blind {
        /// Calls in all, the first included.
        attempts: u32,
    },
    /// Helix's PCEC loop.
    Helix(&'h Helix),
}

impl Runner<'_> {
    /// Attempts `op` on `req`; the error is the last call's, as text. The
    /// report is empty unless Helix ran.
    pub async fn run_mut<R, T, E, F>(&self, req: &mut R, mut op: F) -> (Result<T, String>, Report)
    where
        R: Repairable + ?Sized,
        E: IntoSignal + Display,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        match self {
            Runner::Helix(h) => {
                let (res, report) = h.run_mut(req, op).await;
                (res.map_err(|e| e.to_string()), report)
            }
            Runner::Once => (op(req).await.map_err(|e| e.to_string()), Report::default()),
            Runner::Blind { attempts } => {
                let mut last = String::from("no attempt made");
                for _ in 0..(*attempts).max(1) {
                    match op(req).await {
                        Ok(v) => return (Ok(v), Report::default()),
                        Err(e) => last = e.to_string(),
                    }
                }
                (Err(last), Report::default())
            }
        }
    }
}
