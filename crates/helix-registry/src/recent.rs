//! What an operator looks at first: the last pushes accepted and the last
//! refused, with why (`GET /v1/recent`). In memory, bounded; the counts
//! since start are in `/metrics`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// Entries kept per list.
pub const KEPT: usize = 50;

/// A push the registry took.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pushed {
    /// Unix ms.
    pub at: i64,
    /// The signing agent.
    pub agent: String,
    /// `code/category`.
    pub key: String,
    /// The strategy.
    pub strategy: String,
}

/// A push or report the registry refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Refused {
    /// Unix ms.
    pub at: i64,
    /// The agent it named (unverified when the signature was the problem).
    pub agent: String,
    /// The short reason (as in `helix_registry_refused_total`).
    pub reason: &'static str,
    /// What was wrong.
    pub message: String,
}

/// The two lists, newest first.
#[derive(Debug, Default)]
pub struct Recent {
    pushes: Mutex<VecDeque<Pushed>>,
    refusals: Mutex<VecDeque<Refused>>,
}

fn keep<T>(q: &Mutex<VecDeque<T>>, item: T) {
    let mut q = q.lock().unwrap_or_else(|p| p.into_inner());
    q.push_front(item);
    q.truncate(KEPT);
}

impl Recent {
    pub(crate) fn pushed(&self, p: Pushed) {
        keep(&self.pushes, p);
    }

    pub(crate) fn refused(&self, r: Refused) {
        keep(&self.refusals, r);
    }

    /// Newest first.
    pub fn pushes(&self) -> Vec<Pushed> {
        let q = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }

    /// Newest first.
    pub fn refusals(&self) -> Vec<Refused> {
        let q = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_keep_the_newest_and_stay_bounded() {
        let r = Recent::default();
        for i in 0..(KEPT as i64 + 5) {
            r.refused(Refused {
                at: i,
                agent: "0xa".into(),
                reason: "signature",
                message: "bad".into(),
            });
        }
        let got = r.refusals();
        assert_eq!(got.len(), KEPT);
        assert_eq!(got[0].at, KEPT as i64 + 4, "newest first");
        assert!(r.pushes().is_empty());
    }
}
