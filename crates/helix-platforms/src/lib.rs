//! # helix-platforms
//!
//! Every platform Helix ships, one folder each, the same files in each:
//!
//! | file | what | compiled |
//! |---|---|---|
//! | `<p>/perceive.rs` | its errors read into failures (structured readers, rules) | always (pure) |
//! | `<p>/offers.rs` | the repairs it offers for each failure | always (pure) |
//! | `<p>/tests.rs` | real error strings, classified | tests |
//! | `<p>/executors/` | the repairs, acting through the real protocol | feature `<p>` |
//!
//! Platforms: Tempo and MPP over it (rows 1-13 of SCENARIOS.md), Privy
//! (14-17), generic HTTP (18-20) and Stripe (21-25). [`builtin`] compiles
//! their tables into one [`Classifier`] that scans a message once;
//! [`kit`] is the one place executors are wired for an agent or a server.
//!
//! ```
//! use helix_platforms::builtin;
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
//! Without default features only perception is compiled (no I/O, no
//! alloy): what `helix-server` needs to classify.

#![warn(missing_docs)]

pub mod http;
#[cfg(all(feature = "tempo", feature = "mpp", feature = "stripe"))]
pub mod kit;
pub mod mpp;
pub mod perception;
pub mod privy;
pub mod stripe;
pub mod tempo;

pub use perception::{Classifier, Offer, PlatformTable, Registry, Verdict, no_check, offer};
pub use perception::{extract, rules, selectors};

/// Every built-in platform table, in rule priority order (the more specific
/// platforms first; generic HTTP last).
pub const TABLES: &[PlatformTable] = &[privy::TABLE, stripe::TABLE, tempo::TABLE, http::TABLE];

/// The built-in classifier over all platforms.
pub fn builtin() -> Classifier {
    Classifier::new(TABLES)
}
