//! What the `helix` commands share, and what the lab's `helix-lab` binary
//! reuses: settings, the Gene Map a command opens, and where its events go.

pub mod config;
pub mod sinks;
pub mod store;
