//! switch_network: the configured endpoint that serves the payment's chain.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_http::rpc::chain_id;

/// switch_network: asks each configured endpoint for its chain id and moves
/// the request to the one serving the chain the payment targets.
#[derive(Debug, Clone)]
pub struct SwitchNetwork {
    http: reqwest::Client,
    endpoints: Vec<String>,
}

impl SwitchNetwork {
    /// Candidate RPC endpoints.
    pub fn new(http: reqwest::Client, endpoints: Vec<String>) -> Self {
        SwitchNetwork { http, endpoints }
    }
}

#[async_trait]
impl Executor for SwitchNetwork {
    fn id(&self) -> StrategyId {
        StrategyId::SwitchNetwork
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::ChainId]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        // The payment's own chain, never one read from error text: a
        // hostile answer must not choose where the agent signs.
        let want = ctx
            .request
            .chain_id
            .ok_or_else(|| CommitError::NotApplicable("the payment names no chain id".into()))?;
        let mut seen = Vec::new();
        for url in &self.endpoints {
            match chain_id(&self.http, url).await {
                Ok(id) if id == want => {
                    return Ok(Committed {
                        patches: vec![Patch::Network {
                            rpc_url: url.clone(),
                            chain_id: id,
                        }],
                        ..Default::default()
                    });
                }
                Ok(id) => seen.push(format!("{url}={id}")),
                Err(e) => seen.push(format!("{url}: {e}")),
            }
        }
        Err(CommitError::NotApplicable(format!(
            "no endpoint serves chain {want} ({})",
            seen.join(", ")
        )))
    }
}
