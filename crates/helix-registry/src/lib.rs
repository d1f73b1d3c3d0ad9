//! # helix-registry
//!
//! The Gene Registry: agents push genes they verified, signed by their key
//! and backed by the transactions of the repairs; the registry checks both,
//! merges duplicates, scores each gene by what the chain confirmed
//! ([`quality`]), serves pulls and broadcasts accepted genes on NATS
//! JetStream and a WebSocket. The agent side ([`client`]) pulls on a local
//! miss, follows the broadcast, pushes in the background and reports the
//! failures of pulled genes.

#![warn(missing_docs)]

pub mod anchor;
pub mod broadcast;
pub mod cache;
pub mod canonical;
pub mod client;
pub mod contracts;
pub mod evidence;
pub mod limits;
pub mod metrics;
pub mod quality;
pub mod recent;
pub mod scrub;
pub mod server;
pub mod service;
pub mod sign;
pub mod store;
pub mod thresholds;
pub mod wire;

pub use service::{Refusal, Registry};
pub use wire::{Evidence, GeneId, Push, RegistryGene, Report, SharedGene};
