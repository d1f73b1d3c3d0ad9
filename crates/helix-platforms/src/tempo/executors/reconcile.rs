//! reconcile: the outcome of a payment that left the agent, read from the
//! chain before anything is sent again.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_http::rpc::{Fate, SentTx, fate, pending_nonce, until_expired};
use serde_json::json;

use super::rpc_failed;

/// reconcile: a payment left the agent and its outcome is unknown. Before
/// anything is resent, find out what happened to it, waiting (bounded) for
/// a transaction that may still be mined:
/// - it landed: the request is told to use it (nothing is paid again; a
///   request that cannot take that stops the run with the evidence);
/// - it failed on chain, or can never land: resending is safe;
/// - it may still land but its account nonce is unused: the resend is
///   pinned to that nonce, so at most one of the two lands;
/// - otherwise: refuse (a second payment could follow).
#[derive(Debug, Clone)]
pub struct ReconcileTx {
    http: reqwest::Client,
    rpc_url: String,
    wait: std::time::Duration,
}

impl ReconcileTx {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        ReconcileTx {
            http,
            rpc_url: rpc_url.into(),
            wait: std::time::Duration::from_secs(10),
        }
    }

    /// How long to wait for a pending transaction (default 10 s; an
    /// expiring one is waited for until its `valid_before` passes, within
    /// the engine's commit timeout).
    pub fn with_wait(mut self, wait: std::time::Duration) -> Self {
        self.wait = wait;
        self
    }
}

#[async_trait]
impl Executor for ReconcileTx {
    fn id(&self) -> StrategyId {
        StrategyId::Reconcile
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::TxHash]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let facts = &ctx.failure.facts;
        let hash = facts
            .tx_hash
            .as_deref()
            .ok_or_else(|| CommitError::NotApplicable("no transaction hash to reconcile".into()))?;
        let sent = SentTx {
            hash,
            payer: ctx.request.payer.as_deref(),
            // Nothing was patched since the send: the request's nonce is
            // the one it went out with.
            nonce: ctx.request.nonce,
            valid_before: facts.valid_before,
        };
        let wait = match facts.valid_before {
            Some(vb) => until_expired(vb),
            None => self.wait,
        };
        let deadline = tokio::time::Instant::now() + wait;
        let outcome = loop {
            let f = fate(&self.http, &self.rpc_url, &sent)
                .await
                .map_err(rpc_failed)?;
            if !matches!(f, Fate::Pending { .. }) || tokio::time::Instant::now() >= deadline {
                break f;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        let resend = |outcome: &str, nonce: Option<u64>| Committed {
            patches: nonce
                .map(|nonce| Patch::Nonce { nonce })
                .into_iter()
                .collect(),
            params: json!({ "outcome": outcome }),
            ..Default::default()
        };
        let next_nonce = async {
            match ctx.request.payer.as_deref() {
                Some(p) if facts.valid_before.is_none() => {
                    pending_nonce(&self.http, &self.rpc_url, p)
                        .await
                        .map(Some)
                        .map_err(rpc_failed)
                }
                _ => Ok(None),
            }
        };
        match outcome {
            Fate::Landed => Ok(Committed {
                patches: vec![Patch::UseExisting {
                    id: hash.to_owned(),
                }],
                params: json!({ "outcome": "landed" }),
                ..Default::default()
            }),
            Fate::Failed => Ok(resend("reverted", next_nonce.await?)),
            Fate::NeverLands => Ok(resend("never lands", next_nonce.await?)),
            Fate::Pending { nonce: Some(n) } => Ok(resend("pending; resend replaces it", Some(n))),
            Fate::Pending { nonce: None } => Err(CommitError::Unsafe(format!(
                "transaction {hash} may still land; not resending"
            ))),
        }
    }
}
