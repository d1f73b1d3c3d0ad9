//! Checking a push's evidence on the chain: each transaction exists, it
//! succeeded, and the pusher sent it. Read over plain JSON-RPC
//! (`eth_getTransactionReceipt`), which every Tempo node and anvil answer
//! for every transaction type, including Tempo's 0x76.

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::wire::Evidence;

/// Evidence items a push may carry.
pub const MAX_EVIDENCE: usize = 16;

/// Why evidence did not prove the push.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// No transaction at all.
    #[error("no evidence: a push carries the transactions of the verified repair")]
    Missing,
    /// More than [`MAX_EVIDENCE`].
    #[error("{0} evidence items; at most {MAX_EVIDENCE}")]
    TooMany(usize),
    /// A chain the registry has no RPC for.
    #[error("chain {0} is not one this registry can check")]
    UnknownChain(u64),
    /// Not found on the chain.
    #[error("transaction {0} is not on chain {1}")]
    NotFound(B256, u64),
    /// Found, but it failed.
    #[error("transaction {0} reverted")]
    Reverted(B256),
    /// Sent by someone else.
    #[error("transaction {tx} was sent by {from}, not by the pusher {agent}")]
    NotPushers {
        /// The transaction.
        tx: B256,
        /// Its sender.
        from: Address,
        /// The pusher.
        agent: Address,
    },
    /// Already proves another gene or another agent's push.
    #[error("transaction {0} already proves another gene or another agent's push")]
    Claimed(B256),
    /// The chain could not be read: not the pusher's fault, try later.
    #[error("the chain's RPC could not be read: {0}")]
    Unreachable(String),
}

impl EvidenceError {
    /// Whether the push may be sent again later unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(self, EvidenceError::Unreachable(_))
    }
}

/// Confirms one transaction.
#[async_trait]
pub trait Verifier: Send + Sync {
    /// `Ok` when `ev.tx` is on `ev.chain_id`, succeeded, and was sent by `agent`.
    async fn verify(&self, ev: &Evidence, agent: Address) -> Result<(), EvidenceError>;
}

/// Checks evidence against each chain's JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct RpcVerifier {
    http: reqwest::Client,
    chains: HashMap<u64, String>,
}

impl RpcVerifier {
    /// Asks each endpoint its chain id (so evidence names the chain it is
    /// really on) and keeps the map.
    pub async fn connect(urls: &[String], timeout: Duration) -> Result<Self, EvidenceError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| EvidenceError::Unreachable(e.to_string()))?;
        let mut chains = HashMap::new();
        for url in urls {
            let id = call(&http, url, "eth_chainId", json!([])).await?;
            let id = id
                .as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                .ok_or_else(|| {
                    EvidenceError::Unreachable(format!("{url}: eth_chainId gave {id}"))
                })?;
            chains.insert(id, url.clone());
        }
        Ok(RpcVerifier { http, chains })
    }

    /// The chains it can check.
    pub fn chains(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.chains.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

#[async_trait]
impl Verifier for RpcVerifier {
    async fn verify(&self, ev: &Evidence, agent: Address) -> Result<(), EvidenceError> {
        let url = self
            .chains
            .get(&ev.chain_id)
            .ok_or(EvidenceError::UnknownChain(ev.chain_id))?;
        let receipt = call(&self.http, url, "eth_getTransactionReceipt", json!([ev.tx])).await?;
        if receipt.is_null() {
            return Err(EvidenceError::NotFound(ev.tx, ev.chain_id));
        }
        let status = receipt.get("status").and_then(Value::as_str);
        if status != Some("0x1") {
            return Err(EvidenceError::Reverted(ev.tx));
        }
        let from = receipt
            .get("from")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Address>().ok())
            .ok_or_else(|| {
                EvidenceError::Unreachable(format!("receipt of {} has no sender", ev.tx))
            })?;
        if from != agent {
            return Err(EvidenceError::NotPushers {
                tx: ev.tx,
                from,
                agent,
            });
        }
        Ok(())
    }
}

pub(crate) async fn call(
    http: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, EvidenceError> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let unreachable = |e: String| EvidenceError::Unreachable(format!("{method}: {e}"));
    let resp = http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let v: Value = resp.json().await.map_err(|e| unreachable(e.to_string()))?;
    if let Some(err) = v.get("error") {
        return Err(unreachable(err.to_string()));
    }
    Ok(v.get("result").cloned().unwrap_or(Value::Null))
}
