//! The registry's two thresholds (serve and broadcast at `pull`, anchor at
//! `anchor`), fixed at start or following Governance's parameter store on
//! chain: an executed proposal moves them within a poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, U256, keccak256};
use alloy::sol_types::SolCall;
use serde_json::json;

use crate::contracts::Governance;
use crate::evidence::call;

/// Both thresholds, as quality values.
#[derive(Debug)]
pub struct Thresholds {
    pull: AtomicU64,
    anchor: AtomicU64,
}

impl Thresholds {
    /// Both at `t`.
    pub fn new(t: f64) -> Self {
        Thresholds {
            pull: AtomicU64::new(t.to_bits()),
            anchor: AtomicU64::new(t.to_bits()),
        }
    }

    /// Genes under this are not served or broadcast.
    pub fn pull(&self) -> f64 {
        f64::from_bits(self.pull.load(Ordering::Relaxed))
    }

    /// Genes at or over this are anchored.
    pub fn anchor(&self) -> f64 {
        f64::from_bits(self.anchor.load(Ordering::Relaxed))
    }

    fn set(&self, pull: f64, anchor: f64) {
        self.pull.store(pull.to_bits(), Ordering::Relaxed);
        self.anchor.store(anchor.to_bits(), Ordering::Relaxed);
    }
}

/// A parameter of `governance` (a `Governance` contract) by name.
pub async fn read_param(
    http: &reqwest::Client,
    rpc: &str,
    governance: Address,
    name: &str,
) -> Result<U256, String> {
    let data = Governance::paramsCall(keccak256(name.as_bytes())).abi_encode();
    let params = json!([{ "to": governance, "data": alloy::hex::encode_prefixed(data) }, "latest"]);
    let out = call(http, rpc, "eth_call", params)
        .await
        .map_err(|e| e.to_string())?;
    let bytes: alloy::primitives::Bytes = serde_json::from_value(out).map_err(|e| e.to_string())?;
    Governance::paramsCall::abi_decode_returns(&bytes).map_err(|e| e.to_string())
}

/// Keeps `t` equal to governance's `pull_threshold_bps` and
/// `quality_threshold_bps` (basis points of quality 1.0), read every
/// `every`; a read that fails leaves them as they were.
pub fn follow(
    t: Arc<Thresholds>,
    rpc: String,
    governance: Address,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        loop {
            let pull = read_param(&http, &rpc, governance, "pull_threshold_bps").await;
            let anchor = read_param(&http, &rpc, governance, "quality_threshold_bps").await;
            match (pull, anchor) {
                (Ok(p), Ok(a)) => {
                    let bps =
                        |v: U256| u64::try_from(v).unwrap_or(10_000).min(10_000) as f64 / 10_000.0;
                    let (p, a) = (bps(p), bps(a));
                    if (p, a) != (t.pull(), t.anchor()) {
                        tracing::info!(target: "helix::registry", pull = p, anchor = a, "thresholds changed by governance");
                    }
                    t.set(p, a);
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(target: "helix::registry", error = %e, "governance parameters unreadable; thresholds unchanged")
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}
