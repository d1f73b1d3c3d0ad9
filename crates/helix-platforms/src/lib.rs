//! Helix's platforms, one folder each: what an agent on that platform runs
//! to pay, as a request Helix can repair.
//!
//! The first is MPP over Tempo ([`mpp`]): a paid GET answered with a 402
//! `WWW-Authenticate: Payment` challenge, paid with a TIP-20 transfer through
//! Tempo's own `mpp` client.

#![warn(missing_docs)]

pub mod kit;
pub mod mpp;
