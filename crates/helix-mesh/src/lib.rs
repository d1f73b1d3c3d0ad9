//! # helix-mesh
//!
//! The agent mesh: agents that pay each other talk through relay nodes.
//! An agent proves its address with a signed hello; a message to any
//! address waits in that address's durable inbox (NATS JetStream) until
//! the agent reads it from whichever node it is connected to. Sessions
//! (which node holds which agent) live in Redis. `helix mesh serve` runs a
//! node; [`client::MeshClient`] is an agent.

#![warn(missing_docs)]

pub mod cascade;
pub mod client;
pub mod failure;
pub mod mailbox;
mod metrics;
pub mod relay;
pub mod saga;
pub mod server;
pub mod wire;

pub use client::{MeshClient, Received};
pub use mailbox::Mailbox;
pub use metrics::Metrics;
pub use relay::{MeshError, Relay, RelayConfig};
