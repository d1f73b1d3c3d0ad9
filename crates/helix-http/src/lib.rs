//! # helix-http
//!
//! Helix over HTTP:
//! - [`signal`]: reqwest errors and error responses as [`helix_core::ErrorSignal`]s;
//! - [`HelixMiddleware`]: a reqwest-middleware layer that makes any reqwest
//!   client self-healing in one line;
//! - executors that act over real protocols: [`mpp`] (renew a challenge,
//!   present a receipt), [`rpc`] (nonce, chain id, balances over JSON-RPC),
//!   [`stripe`] (idempotency conflicts, 3-D Secure holds).

#![warn(missing_docs)]

mod middleware;
pub mod rpc;
pub mod signal;

pub use middleware::HelixMiddleware;
pub use signal::{HttpFailure, failure_from_response};
