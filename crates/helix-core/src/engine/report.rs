//! What a run says about itself: its repairs, and why it gave up.

use std::fmt;

use crate::failure::Failure;
use crate::patch::Violation;
use crate::policy::BudgetError;
use crate::taxonomy::StrategyId;

/// One committed repair in a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RepairStep {
    /// The strategy.
    pub strategy: StrategyId,
    /// Chosen from a gene, without construct.
    pub immune: bool,
    /// Whether the retried call then succeeded.
    pub verified: bool,
    /// Commit plus retried call, ms.
    pub ms: u64,
    /// Money spent, micro-USD.
    pub cost: u64,
    /// Transactions the executor sent.
    pub tx_hashes: Vec<String>,
}

/// What a run did. Empty (and allocation-free) when the first call succeeded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Set once the first call failed.
    pub repair_id: Option<u64>,
    /// Calls made, including the first.
    pub calls: u32,
    /// The last classified failure.
    pub failure: Option<Failure>,
    /// Committed repairs, in order.
    pub repairs: Vec<RepairStep>,
    /// The repair applied before the first call because a forecast
    /// expected its failure (see [`Forecast`](crate::Forecast)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempted: Option<StrategyId>,
}

impl Report {
    /// The run succeeded through a repair chosen from a gene.
    pub fn immune(&self) -> bool {
        self.repairs.last().is_some_and(|r| r.verified && r.immune)
    }

    /// The strategy that made the call succeed.
    pub fn repaired_by(&self) -> Option<StrategyId> {
        self.repairs.iter().find(|r| r.verified).map(|r| r.strategy)
    }
}

/// Why a run ended without the call succeeding. Always carries the last error.
#[derive(Debug)]
pub enum HelixError<E> {
    /// No adapter recognised the failure.
    Unrecognised {
        /// The call's last error.
        error: E,
    },
    /// Helix did not repair: observe mode, nothing allowed, or every allowed
    /// repair failed to commit.
    NotRepaired {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
        /// What would have been tried, best first.
        recommended: Vec<StrategyId>,
    },
    /// The repair bound was reached.
    Exhausted {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
    },
    /// The repair budget refused the repairs that could have helped.
    Budget {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
        /// What the budget said.
        refusal: BudgetError,
    },
    /// The payment was already made (reconciled on chain, or the server's
    /// receipt) and the request cannot take that proof: nothing is sent
    /// again. The evidence names the transaction or receipt.
    AlreadyPaid {
        /// The call's last error.
        error: E,
        /// The strategy that found it.
        strategy: StrategyId,
        /// The transaction hash or receipt of the payment made.
        evidence: String,
    },
    /// A repair would have broken a payment invariant; nothing was retried.
    Invariant {
        /// The call's last error.
        error: E,
        /// The strategy that tried.
        strategy: StrategyId,
        /// What it would have broken.
        violation: Violation,
    },
}

impl<E> HelixError<E> {
    /// The call's last error.
    pub fn error(&self) -> &E {
        match self {
            HelixError::Unrecognised { error }
            | HelixError::NotRepaired { error, .. }
            | HelixError::Exhausted { error, .. }
            | HelixError::Budget { error, .. }
            | HelixError::AlreadyPaid { error, .. }
            | HelixError::Invariant { error, .. } => error,
        }
    }

    /// Takes the call's last error.
    pub fn into_error(self) -> E {
        match self {
            HelixError::Unrecognised { error }
            | HelixError::NotRepaired { error, .. }
            | HelixError::Exhausted { error, .. }
            | HelixError::Budget { error, .. }
            | HelixError::AlreadyPaid { error, .. }
            | HelixError::Invariant { error, .. } => error,
        }
    }
}

impl<E: fmt::Display> fmt::Display for HelixError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelixError::Unrecognised { error } => write!(f, "unrecognised failure: {error}"),
            HelixError::NotRepaired {
                error,
                failure,
                recommended,
            } => {
                write!(f, "not repaired ({}): {error}", failure.key())?;
                if !recommended.is_empty() {
                    let names: Vec<_> = recommended.iter().map(|s| s.as_str()).collect();
                    write!(f, "; recommended: {}", names.join(", "))?;
                }
                Ok(())
            }
            HelixError::Exhausted { error, failure } => {
                write!(f, "repair attempts exhausted ({}): {error}", failure.key())
            }
            HelixError::Budget {
                error,
                failure,
                refusal,
            } => write!(
                f,
                "repair refused by the budget ({}): {refusal}; last error: {error}",
                failure.key()
            ),
            HelixError::AlreadyPaid {
                error,
                strategy,
                evidence,
            } => write!(
                f,
                "already paid ({evidence}, found by {strategy}); nothing sent again (last error: {error})"
            ),
            HelixError::Invariant {
                error,
                strategy,
                violation,
            } => write!(
                f,
                "repair {strategy} refused: {violation} (last error: {error})"
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for HelixError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error())
    }
}
