//! Scenario 9 on anvil: agents that pay agents, each its own process on
//! the mesh. A (a buyer) pays B for a render job; B pays a provider C for
//! the rendering; C fails. B runs Helix: the failure is perceived from C's
//! notice (cascade-failure/cascade) and repaired by `reroute_via_alt`
//! (provider C2, found through the mesh) or, with no alternative, by
//! `refund_waterfall` (C refunds B, B refunds A).
//!
//! The providers and the buyer are stand-in agents of the lab
//! (`helix-lab cascade-agent`); B is the agent under test, in the caller's
//! process, with the caller's Gene Map.

mod agents;
mod world;

pub use agents::{Failing, buyer, provider};
pub use world::{World, WorldConfig};

/// The service bought and sold.
pub const SERVICE: &str = "render";
/// What A pays B for a job (AlphaUSD base units).
pub const JOB_PRICE: u128 = 1_000_000;
/// What B pays a provider for the rendering.
pub const SUB_PRICE: u128 = 500_000;
