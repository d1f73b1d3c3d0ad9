//! Generic HTTP: 429 with Retry-After, 5xx, timeouts, and the outcome of a
//! payment whose connection died (rows 18-20).

#[cfg(feature = "http")]
pub mod executors;
mod offers;
mod perceive;
#[cfg(test)]
mod tests;
mod x402;

use helix_core::Platform;

use crate::perception::{PlatformTable, no_facts};

/// The generic HTTP table.
pub const TABLE: PlatformTable = PlatformTable {
    platform: Platform::Http,
    structured: perceive::structured,
    fallback: perceive::fallback,
    rules: perceive::RULES,
    offers: offers::offers,
    facts: no_facts,
};
