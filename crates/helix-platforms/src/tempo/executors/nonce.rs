//! refresh_nonce: the payer's pending nonce, read from RPC.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_http::rpc::pending_nonce;

use super::{payer, rpc_failed};

/// refresh_nonce: reads the pending nonce of the payer from RPC.
#[derive(Debug, Clone)]
pub struct RefreshNonce {
    http: reqwest::Client,
    rpc_url: String,
}

impl RefreshNonce {
    /// Reads from this RPC endpoint (the request's own endpoint wins when it names one).
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        RefreshNonce {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

#[async_trait]
impl Executor for RefreshNonce {
    fn id(&self) -> StrategyId {
        StrategyId::RefreshNonce
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Payer]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let payer = payer(ctx)?;
        let nonce = pending_nonce(&self.http, &self.rpc_url, payer)
            .await
            .map_err(rpc_failed)?;
        Ok(Committed {
            patches: vec![Patch::Nonce { nonce }],
            ..Default::default()
        })
    }
}
