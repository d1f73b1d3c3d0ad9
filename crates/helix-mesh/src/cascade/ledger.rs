//! What an agent paid and got back per job: shared by the paying operation
//! and the repairs, so a repair never pays a provider while an earlier
//! payment for the same job is still out.
//!
//! With a journal ([`Ledger::open`]) every change is appended to a file and
//! synced before it is acted on, and a restarted agent reads it back: a
//! payment made before a crash still blocks paying anyone else for the job
//! until it is proven back.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Mutex;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::saga::amount;

/// One change, as the journal keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Entry {
    Paid {
        job: String,
        provider: Address,
        tx: B256,
        #[serde(with = "amount")]
        amount: u128,
    },
    Refunded {
        job: String,
        paid_tx: B256,
        refund_tx: B256,
    },
    Void {
        job: String,
        paid_tx: B256,
    },
    Took {
        job: String,
        payer: Address,
        token: Address,
        #[serde(with = "amount")]
        amount: u128,
        paid_tx: B256,
    },
    MarkRefund {
        job: String,
        tx: B256,
    },
    UnmarkRefund {
        job: String,
        tx: B256,
    },
}

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
    journal: Option<Mutex<std::fs::File>>,
}

/// A journal that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("ledger journal {path}: {reason}")]
pub struct JournalError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

impl Ledger {
    /// An empty ledger in memory (gone with the process).
    pub fn new() -> Self {
        Self::default()
    }

    /// The ledger journaled at `path`: what it holds is read back, and
    /// every change is appended and synced. A line that does not read
    /// stops the open (nothing is paid on a ledger read in part).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        let path = path.as_ref();
        let err = |reason: String| JournalError {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        let ledger = Ledger::default();
        for (n, line) in std::io::BufReader::new(&file).lines().enumerate() {
            let line = line.map_err(|e| err(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry =
                serde_json::from_str(&line).map_err(|e| err(format!("line {}: {e}", n + 1)))?;
            ledger.apply(entry);
        }
        Ok(Ledger {
            journal: Some(Mutex::new(file)),
            ..ledger
        })
    }

    /// Appends `e` and syncs it. A journal that cannot be written is a
    /// ledger that cannot be trusted: the process stops rather than pay on.
    fn journal(&self, e: &Entry) {
        let Some(j) = &self.journal else { return };
        let mut f = j.lock().unwrap_or_else(|p| p.into_inner());
        let written = serde_json::to_string(e)
            .map_err(std::io::Error::other)
            .and_then(|line| writeln!(f, "{line}"))
            .and_then(|()| f.sync_data());
        if let Err(err) = written {
            tracing::error!(target: "helix::mesh", %err, "the ledger journal cannot be written; stopping");
            std::process::abort();
        }
    }

    fn apply(&self, e: Entry) {
        match e {
            Entry::Paid {
                job,
                provider,
                tx,
                amount,
            } => self.paid_now(&job, provider, tx, amount),
            Entry::Refunded {
                job,
                paid_tx,
                refund_tx,
            } => {
                self.refunded_now(&job, paid_tx, refund_tx);
            }
            Entry::Void { job, paid_tx } => self.void_now(&job, paid_tx),
            Entry::Took {
                job,
                payer,
                token,
                amount,
                paid_tx,
            } => self.took_now(
                &job,
                Upstream {
                    payer,
                    token,
                    amount,
                    paid_tx,
                    refund_tx: None,
                },
            ),
            Entry::MarkRefund { job, tx } => {
                self.mark_now(&job, tx);
            }
            Entry::UnmarkRefund { job, tx } => self.unmark_now(&job, tx),
        }
    }

    /// `provider` was paid `amount` by `tx` for `job` (journaled first).
    pub fn paid(&self, job: &str, provider: Address, tx: B256, amount: u128) {
        self.journal(&Entry::Paid {
            job: job.to_owned(),
            provider,
            tx,
            amount,
        });
        self.paid_now(job, provider, tx, amount);
    }

    fn paid_now(&self, job: &str, provider: Address, tx: B256, amount: u128) {
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
        let ok = self.refunded_now(job, paid_tx, refund_tx);
        if ok {
            self.journal(&Entry::Refunded {
                job: job.to_owned(),
                paid_tx,
                refund_tx,
            });
        }
        ok
    }

    fn refunded_now(&self, job: &str, paid_tx: B256, refund_tx: B256) -> bool {
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
        self.journal(&Entry::Void {
            job: job.to_owned(),
            paid_tx,
        });
        self.void_now(job, paid_tx);
    }

    fn void_now(&self, job: &str, paid_tx: B256) {
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
        self.journal(&Entry::Took {
            job: job.to_owned(),
            payer: up.payer,
            token: up.token,
            amount: up.amount,
            paid_tx: up.paid_tx,
        });
        self.took_now(job, up);
    }

    fn took_now(&self, job: &str, up: Upstream) {
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
        let stands = self.mark_now(job, tx);
        if stands == Some(tx) {
            self.journal(&Entry::MarkRefund {
                job: job.to_owned(),
                tx,
            });
        }
        stands
    }

    fn mark_now(&self, job: &str, tx: B256) -> Option<B256> {
        let mut m = self.upstream.lock().ok()?;
        let up = m.get_mut(job)?;
        Some(*up.refund_tx.get_or_insert(tx))
    }

    /// Forgets a refund that provably never left (its send was refused).
    pub fn unmark_refund(&self, job: &str, tx: B256) {
        self.journal(&Entry::UnmarkRefund {
            job: job.to_owned(),
            tx,
        });
        self.unmark_now(job, tx);
    }

    fn unmark_now(&self, job: &str, tx: B256) {
        if let Ok(mut m) = self.upstream.lock()
            && let Some(up) = m.get_mut(job)
            && up.refund_tx == Some(tx)
        {
            up.refund_tx = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_journal_still_blocks_paying_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let (c, c2) = (Address::repeat_byte(0xc), Address::repeat_byte(0xd));
        let (paid, back, again) = (
            B256::repeat_byte(1),
            B256::repeat_byte(2),
            B256::repeat_byte(3),
        );
        {
            let l = Ledger::open(&path).unwrap();
            l.paid("job-1", c, paid, 500_000);
            l.paid("job-2", c2, again, 500_000);
            assert!(l.refunded("job-2", again, back));
        }
        // The process died; a new one reads the journal.
        let l = Ledger::open(&path).unwrap();
        let out = l.open_leg("job-1").expect("the payment to C is still out");
        assert_eq!((out.provider, out.paid_tx, out.amount), (c, paid, 500_000));
        assert!(l.open_leg("job-2").is_none(), "job 2's payment came back");
        assert!(
            !l.refunded("job-1", paid, back),
            "one refund pays back one payment, across restarts"
        );
    }

    #[test]
    fn a_damaged_journal_is_refused_not_read_in_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        std::fs::write(&path, "{\"op\":\"paid\",\"job\":\"j\"\n").unwrap();
        let e = Ledger::open(&path).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
