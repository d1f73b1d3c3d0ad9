//! Lab-only executors: swaps on the lab chain's pools.
//!
//! STAND-IN: these act on the lab chain through its JSON-RPC (`lab_quote`,
//! `lab_swap`); the balances really move and the retried payment fails if
//! they did not, but it is not Tempo's StablecoinDEX. The helix-tempo crate
//! replaces them with swaps on a real chain.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Patch, StrategyId};
use helix_http::rpc;
use serde_json::{Value, json};

use crate::tokens::FEE;

fn platform(e: rpc::RpcError) -> CommitError {
    CommitError::Platform(e.to_string())
}

/// swap_currency / swap_direct / switch_stablecoin on the lab pools.
#[derive(Debug, Clone)]
pub struct LabSwap {
    id: StrategyId,
    http: reqwest::Client,
    rpc: String,
    stablecoins: Vec<String>,
}

impl LabSwap {
    /// `stablecoins`: what the agent may sell or switch to, in preference order.
    pub fn new(
        id: StrategyId,
        http: reqwest::Client,
        rpc: impl Into<String>,
        stablecoins: Vec<String>,
    ) -> Self {
        LabSwap {
            id,
            http,
            rpc: rpc.into(),
            stablecoins,
        }
    }
}

#[async_trait]
impl Executor for LabSwap {
    fn id(&self) -> StrategyId {
        self.id
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let v = ctx.request;
        let payer = v
            .payer
            .as_deref()
            .ok_or_else(|| CommitError::NotApplicable("no payer".into()))?;
        let amount = v
            .amount
            .ok_or_else(|| CommitError::NotApplicable("no amount".into()))?;
        let current = v.currency.clone().unwrap_or_default();
        let bps = helix_tempo::max_slippage_bps(ctx.params);
        let target = match self.id {
            StrategyId::SwapCurrency => current.clone(),
            // As the real executor: only a configured stablecoin is bought.
            StrategyId::SwapDirect => ctx
                .failure
                .facts
                .accepted_currencies
                .iter()
                .find(|a| self.stablecoins.iter().any(|c| c.eq_ignore_ascii_case(a)))
                .cloned()
                .ok_or_else(|| {
                    CommitError::NotApplicable(
                        "the server named no configured stablecoin it accepts".into(),
                    )
                })?,
            _ => self
                .stablecoins
                .iter()
                .find(|t| !t.eq_ignore_ascii_case(&current))
                .cloned()
                .ok_or_else(|| {
                    CommitError::NotApplicable("no other stablecoin configured".into())
                })?,
        };
        // Enough for the charge and its fee if the fee is paid in the target.
        let need = amount + 4 * FEE;
        let have = rpc::balance_of(&self.http, &self.rpc, &target, payer)
            .await
            .map_err(platform)?;
        let mut out = Committed {
            params: json!({ "max_slippage_bps": bps }),
            ..Default::default()
        };
        if have < need {
            let shortfall = need - have;
            let amount_in = shortfall
                .saturating_mul(10_000)
                .div_ceil(u128::from(10_000 - bps.min(9_999)));
            let mut source = None;
            for t in self
                .stablecoins
                .iter()
                .filter(|t| !t.eq_ignore_ascii_case(&target))
            {
                if self.id == StrategyId::SwitchStablecoin && t.eq_ignore_ascii_case(&current) {
                    continue; // the blocked token cannot leave the wallet
                }
                let b = rpc::balance_of(&self.http, &self.rpc, t, payer)
                    .await
                    .map_err(platform)?;
                if b >= amount_in + FEE {
                    source = Some(t.clone());
                    break;
                }
            }
            let source = source.ok_or_else(|| {
                CommitError::NotApplicable(format!("no stablecoin holds {amount_in} to swap"))
            })?;
            let min = helix_tempo::min_out(amount_in, bps);
            let r = rpc::call(
                &self.http,
                &self.rpc,
                "lab_swap",
                json!([{"from": payer, "tokenIn": source, "tokenOut": target, "amountIn": amount_in.to_string(), "minAmountOut": min.to_string()}]),
            )
            .await
            .map_err(platform)?;
            let got: u128 = r
                .get("amountOut")
                .and_then(Value::as_str)
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            out.cost = (amount_in.saturating_sub(got) + FEE).min(u128::from(u64::MAX)) as u64;
            out.tx_hashes.push(
                r.get("hash")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        if !target.eq_ignore_ascii_case(&current) {
            out.patches.push(Patch::Currency { currency: target });
        }
        Ok(out)
    }
}

/// split_swap: finds how many parts keep every part within the bound (the
/// pool recovers between parts) and splits the order.
#[derive(Debug, Clone)]
pub struct LabSplitSwap {
    http: reqwest::Client,
    rpc: String,
}

impl LabSplitSwap {
    /// Quotes against this endpoint.
    pub fn new(http: reqwest::Client, rpc: impl Into<String>) -> Self {
        LabSplitSwap {
            http,
            rpc: rpc.into(),
        }
    }
}

#[async_trait]
impl Executor for LabSplitSwap {
    fn id(&self) -> StrategyId {
        StrategyId::SplitSwap
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let v = ctx.request;
        let (Some(amount), Some(tin), Some(tout)) =
            (v.amount, v.currency.as_deref(), v.buy_currency.as_deref())
        else {
            return Err(CommitError::NotApplicable("not a swap order".into()));
        };
        let bps = helix_tempo::max_slippage_bps(ctx.params);
        let parts = helix_tempo::fewest_parts(amount, bps, |part| {
            let (http, rpc_url) = (self.http.clone(), self.rpc.clone());
            let ask = json!([{"tokenIn": tin, "tokenOut": tout, "amountIn": part.to_string()}]);
            async move {
                let q = rpc::call(&http, &rpc_url, "lab_quote", ask).await?;
                Ok::<_, rpc::RpcError>(q.as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
            }
        })
        .await
        .map_err(platform)?;
        helix_platforms::tempo::split_repair(parts, bps)
    }
}
