//! Stripe: card errors with decline codes, rate limits, idempotency conflicts,
//! authentication_required (rows 21-25). Stripe answers
//! `{"error": {"type", "code", "decline_code", "message", "param"}}`.

#[cfg(feature = "stripe")]
pub mod client;
#[cfg(feature = "stripe")]
pub mod executors;
mod offers;
mod perceive;
#[cfg(test)]
mod tests;

use helix_core::Platform;

use crate::perception::{PlatformTable, no_check, no_facts};

/// The Stripe table.
pub const TABLE: PlatformTable = PlatformTable {
    platform: Platform::Stripe,
    structured: perceive::structured,
    fallback: no_check,
    rules: perceive::RULES,
    offers: offers::offers,
    facts: no_facts,
};

#[cfg(feature = "stripe")]
pub use client::{KEY_METADATA, StripeApi};
#[cfg(feature = "stripe")]
pub use executors::{HoldAndNotify, ResolveIdempotency};
