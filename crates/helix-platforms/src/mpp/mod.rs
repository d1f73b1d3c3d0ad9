//! MPP (HTTP 402 `Payment` authentication) paid with Tempo transactions.
//! Its errors are read by the Tempo table (`tempo/perceive.rs`): an MPP
//! 402 names Tempo's currencies and chain.

#[cfg(feature = "mpp")]
mod payer;

#[cfg(feature = "mpp")]
pub use payer::{MppGet, SentCharge, get_paid, sent_charge};
