//! Perception shared by every platform: each platform folder gives a
//! [`PlatformTable`] (its structured readers, its rules, its offers), and
//! [`Classifier`] compiles the tables into one scan of a message. Pure
//! functions over [`helix_core::ErrorSignal`]: no I/O, no clock.

mod classifier;
pub mod extract;
mod marks;
mod registry;
pub mod rules;
pub mod selectors;
mod table;
#[cfg(test)]
pub(crate) mod testutil;
pub(crate) mod words;

pub use classifier::{Classifier, Offer, PlatformTable, Verdict, no_check, no_facts, offer};
pub use marks::{Mark, Marks};
pub use registry::Registry;
