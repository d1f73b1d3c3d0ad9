//! # helix-adapters
//!
//! Perceive and construct for every platform Helix ships: Tempo/MPP (rows
//! 1-13 of SCENARIOS.md), Privy (14-17), generic HTTP (18-20) and Stripe
//! (21-25). Pure functions over [`helix_core::ErrorSignal`]: no I/O, no clock,
//! table-driven. Each platform is a folder of the same shape (`perceive.rs`,
//! `strategies.rs`, `tests.rs`); [`builtin`] compiles them into one
//! [`Classifier`] that scans a message once.
//!
//! ```
//! use helix_adapters::builtin;
//! use helix_core::{Adapter, Category, ErrorSignal, FailureCode};
//!
//! let c = builtin();
//! let f = c.perceive(&ErrorSignal::message("nonce too low: next nonce 5, tx nonce 3")).unwrap();
//! assert_eq!((f.code, f.category), (FailureCode::VerificationFailed, Category::Signature));
//! assert_eq!(f.facts.expected_nonce, Some(5));
//! // "500 USDC" is an amount, not an HTTP 500; unknown stays unknown.
//! assert!(c.perceive(&ErrorSignal::message("sent 500 USDC to the vendor")).is_none());
//! ```
//!
//! Add your own platform with a [`Registry`]: your adapters are asked first.

#![warn(missing_docs)]

mod classifier;
pub mod extract;
pub mod http;
pub mod privy;
mod registry;
pub mod rules;
pub mod selectors;
pub mod stripe;
mod table;
pub mod tempo;

pub use classifier::{Classifier, Offer, PlatformTable, Verdict, no_check, offer};
pub use registry::Registry;

/// Every built-in platform table, in rule priority order (the more specific
/// platforms first; generic HTTP last).
pub const TABLES: &[PlatformTable] = &[privy::TABLE, stripe::TABLE, tempo::TABLE, http::TABLE];

/// The built-in classifier over all platforms.
pub fn builtin() -> Classifier {
    Classifier::new(TABLES)
}

#[cfg(test)]
mod testutil;
