//! The network's views on the dashboard: what the server can read of the
//! services it is joined to (the gene registry, the mesh, the intent
//! server), fetched when asked. Each answers `None` when not joined.

use async_trait::async_trait;

/// Reads the services a server is joined to (wired by `helix serve`).
#[async_trait]
pub trait Network: Send + Sync {
    /// The registry: its top genes by quality, its totals, and its recent
    /// pushes and refusals (with the reason).
    async fn registry(&self) -> Option<Result<serde_json::Value, String>> {
        None
    }

    /// One gene as the registry knows it: its quality, verified agents and
    /// pushes, and what its anchor on chain says of it. `Ok(null)`-like
    /// answers (`{"known": false}`) when the registry has never seen it.
    async fn registry_gene(
        &self,
        _gene: &helix_core::Gene,
    ) -> Option<Result<serde_json::Value, String>> {
        None
    }

    /// The mesh: the agents connected to each relay node, and the sagas
    /// (those in flight first) with each step's payment and refund.
    async fn mesh(&self) -> Option<Result<serde_json::Value, String>> {
        None
    }

    /// The intent server's recent objectives, each task with its state.
    async fn objectives(&self) -> Option<Result<serde_json::Value, String>> {
        None
    }
}
