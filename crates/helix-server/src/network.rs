//! The network's views on the dashboard: what the server can read of the
//! services it is joined to (the gene registry today), fetched when asked.

use async_trait::async_trait;

/// Reads the services a server is joined to (wired by `helix serve`).
#[async_trait]
pub trait Network: Send + Sync {
    /// The registry: its top genes by quality, its totals, and its recent
    /// pushes and refusals (with the reason). `None` when none is joined.
    async fn registry(&self) -> Option<Result<serde_json::Value, String>>;
}
