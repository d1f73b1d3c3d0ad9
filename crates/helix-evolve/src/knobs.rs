//! What may be tuned, and within what.
//!
//! Only waits are tuned today. The slippage bound of a swap is not: on a
//! book that is not being manipulated the bound only decides whether a
//! swap reverts, and what it pays is set by the book, so every event would
//! favour the loosest bound; the protection a tight bound buys (against a
//! worse fill) is not in any event the engine emits.

use helix_core::StrategyId;

/// One tunable parameter of one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Knob {
    /// The strategy whose executor reads it.
    pub strategy: StrategyId,
    /// The parameter's name in the gene's `params`.
    pub param: &'static str,
    /// Candidate values, ascending.
    pub values: &'static [u64],
    /// Reward scale, ms: a success taking this long is worth 1/e.
    pub scale_ms: f64,
}

const WAITS: &[u64] = &[100, 250, 500, 750, 1_000, 1_500, 2_000, 4_000, 8_000];

/// Every knob.
pub const KNOBS: &[Knob] = &[
    // A 429 without Retry-After: how long to wait before the retry.
    Knob {
        strategy: StrategyId::Backoff,
        param: "wait_ms",
        values: WAITS,
        scale_ms: 2_000.0,
    },
    // A cause that passes by itself (a thin book makers refill).
    Knob {
        strategy: StrategyId::WaitAndRetry,
        param: "wait_ms",
        values: WAITS,
        scale_ms: 2_000.0,
    },
];

/// The knob of `strategy`, if it has one.
pub fn knob(strategy: StrategyId) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.strategy == strategy)
}

/// Limits no search may cross, whatever it observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Longest wait, ms (the executors refuse longer ones anyway).
    pub max_wait_ms: u64,
}

impl Default for Bounds {
    /// 8 s: a payment that must wait longer should go elsewhere.
    fn default() -> Self {
        Bounds { max_wait_ms: 8_000 }
    }
}

impl Bounds {
    /// The candidate values of `k` these bounds allow.
    pub fn allowed(&self, k: &Knob) -> Vec<u64> {
        k.values
            .iter()
            .copied()
            .filter(|v| *v <= self.max_wait_ms)
            .collect()
    }
}
