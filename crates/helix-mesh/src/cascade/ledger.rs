//! What an agent paid and got back per job: shared by the paying operation
//! and the repairs, so a repair never pays a provider while an earlier
//! payment for the same job is still out.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy::primitives::{Address, B256};

/// One payment to a provider for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// Who was paid.
    pub provider: Address,
    /// The payment.
    pub paid_tx: B256,
    /// What was paid.
    pub amount: u128,
    /// The refund, once proven on chain.
    pub refund_tx: Option<B256>,
}

/// The payment the agent received for a job (what a refund waterfall
/// gives back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// Who paid.
    pub payer: Address,
    /// The TIP-20.
    pub token: Address,
    /// What was paid.
    pub amount: u128,
    /// The payment.
    pub paid_tx: B256,
    /// The refund, from before it is broadcast.
    pub refund_tx: Option<B256>,
}

/// Per job: the payments made and received.
#[derive(Debug, Default)]
pub struct Ledger {
    legs: Mutex<HashMap<String, Vec<Leg>>>,
    upstream: Mutex<HashMap<String, Upstream>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// `provider` was paid `amount` by `tx` for `job`.
    pub fn paid(&self, job: &str, provider: Address, tx: B256, amount: u128) {
        if let Ok(mut m) = self.legs.lock() {
            m.entry(job.to_owned()).or_default().push(Leg {
                provider,
                paid_tx: tx,
                amount,
                refund_tx: None,
            });
        }
    }

    /// The payment `paid_tx` came back by `refund_tx` (proven on chain by
    /// the caller). One refund pays back one payment: a transaction already
    /// counted for another is refused (`false`).
    pub fn refunded(&self, job: &str, paid_tx: B256, refund_tx: B256) -> bool {
        let Ok(mut m) = self.legs.lock() else {
            return false;
        };
        if m.values().flatten().any(|l| l.refund_tx == Some(refund_tx)) {
            return false;
        }
        match m
            .get_mut(job)
            .and_then(|v| v.iter_mut().find(|l| l.paid_tx == paid_tx))
        {
            Some(leg) => {
                leg.refund_tx = Some(refund_tx);
                true
            }
            None => false,
        }
    }

    /// Forgets a payment that provably moved nothing (the node refused it,
    /// or it reverted).
    pub fn void(&self, job: &str, paid_tx: B256) {
        if let Ok(mut m) = self.legs.lock()
            && let Some(v) = m.get_mut(job)
        {
            v.retain(|l| l.paid_tx != paid_tx);
        }
    }

    /// Every payment for `job`, oldest first.
    pub fn legs(&self, job: &str) -> Vec<Leg> {
        self.legs
            .lock()
            .ok()
            .and_then(|m| m.get(job).cloned())
            .unwrap_or_default()
    }

    /// A payment for `job` that has not come back (it blocks paying anyone
    /// else for the job). A ledger that cannot be read answers as if one
    /// were out: nothing is paid on a guess.
    pub fn open_leg(&self, job: &str) -> Option<Leg> {
        match self.legs.lock() {
            Ok(m) => m
                .get(job)
                .and_then(|v| v.iter().find(|l| l.refund_tx.is_none()).copied()),
            Err(_) => Some(Leg {
                provider: Address::ZERO,
                paid_tx: B256::ZERO,
                amount: 0,
                refund_tx: None,
            }),
        }
    }

    /// The agent took `job`, paid for by `up`.
    pub fn took(&self, job: &str, up: Upstream) {
        if let Ok(mut m) = self.upstream.lock() {
            m.entry(job.to_owned()).or_insert(up);
        }
    }

    /// What was received for `job`.
    pub fn upstream(&self, job: &str) -> Option<Upstream> {
        self.upstream.lock().ok()?.get(job).copied()
    }

    /// Marks the refund of `job`'s payment as `tx` unless one is marked;
    /// answers the refund that stands (this one, or the earlier).
    pub fn mark_refund(&self, job: &str, tx: B256) -> Option<B256> {
        let mut m = self.upstream.lock().ok()?;
        let up = m.get_mut(job)?;
        Some(*up.refund_tx.get_or_insert(tx))
    }

    /// Forgets a refund that provably never left (its send was refused).
    pub fn unmark_refund(&self, job: &str, tx: B256) {
        if let Ok(mut m) = self.upstream.lock()
            && let Some(up) = m.get_mut(job)
            && up.refund_tx == Some(tx)
        {
            up.refund_tx = None;
        }
    }
}
