//! The evolution worker's logic: tunes the parameters of genes from how
//! they fared, one tunable parameter per strategy ([`knobs`]), with
//! Thompson sampling over a fixed set of candidate values ([`bandit`]).
//!
//! Why Thompson sampling and not CMA-ES: each parameter is one number with
//! a handful of sensible values, every observation is a noisy success or
//! failure with a time, and observations arrive one at a time from real
//! payments. A Beta-Bernoulli bandit keeps the whole state in two counts
//! per value, explores in proportion to its doubt, and its posterior is
//! the evidence written beside each new gene version. CMA-ES needs
//! generations of evaluations of a continuous vector.
//!
//! [`Evolver`] reads the engine's events (the same ones `helix serve` and
//! the agents publish on NATS), pairs each repair's parameters with its
//! verdict ([`trial`]), and writes a changed value into the Gene Map with
//! [`helix_core::GeneStore::retune`]: a new version, with the posterior as
//! evidence. No value outside [`knobs::Bounds`] is ever proposed.

pub mod bandit;
pub mod evolver;
pub mod knobs;
pub mod metrics;
pub mod trial;

pub use bandit::{Arm, Thompson};
pub use evolver::{Evolver, Retuned};
pub use knobs::{Bounds, Knob, knob};
pub use metrics::Metrics;
pub use trial::{Pairing, Trial};
