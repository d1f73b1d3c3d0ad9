//! # helix-predict
//!
//! Failures that come back at the same hour of the week ("service X fails
//! Mondays 02:00") are found in hourly counts, and an agent applies the
//! repair its gene knows before such a window instead of after the first
//! failure in it.
//!
//! The test, per (service, failure code) and hour of week: over `W` weeks
//! the slot saw `f` failures in `n` calls; the key's rate over all its
//! other hours is `p0`. The slot is a window when
//! - the one-sided exact binomial tail `P(X >= f | n, p0)` is below
//!   `alpha / 168` (Bonferroni over the week's hours; `alpha` 0.01 by
//!   default),
//! - the slot's rate is at least `min_ratio` (3) times `p0`, and
//! - the slot was elevated (rate at least twice `p0`, with a failure) in at
//!   least `min_weeks` (3) of the weeks: it recurs, it is not one outage.
//!
//! [`simulate`] builds a month of traffic with planted windows and noise
//! (one-off outages, a day-night cycle), scores the detector against what
//! was planted, and counts the failures pre-emption avoids in the week
//! after.

#![warn(missing_docs)]

pub mod binomial;
pub mod detect;
pub mod forecast;
pub mod simulate;

pub use detect::{Counts, Detector, HOURS_PER_WEEK, Key, Window};
pub use forecast::{LiveForecast, WindowForecast};
