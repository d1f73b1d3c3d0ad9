//! split_swap: an order too large for the book within the bound is cut
//! into the fewest parts (up to 64) that quote within it now.

use alloy::primitives::Address;
use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_tempo::{TempoChain, Wallet, fewest_parts, max_slippage_bps};
use serde_json::json;

/// split_swap on the StablecoinDEX: the fewest parts (up to 64) whose
/// single part quotes within the bound now.
#[derive(Debug, Clone)]
pub struct DexSplit {
    rpc: String,
    wallet: Wallet,
}

impl DexSplit {
    /// Quotes through this endpoint as `wallet`.
    pub fn new(rpc: impl Into<String>, wallet: Wallet) -> Self {
        DexSplit {
            rpc: rpc.into(),
            wallet,
        }
    }
}

#[async_trait]
impl Executor for DexSplit {
    fn id(&self) -> StrategyId {
        StrategyId::SplitSwap
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Amount, Need::Currency, Need::BuyCurrency]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let v = ctx.request;
        let parse = |a: Option<&str>| a.and_then(|a| a.parse::<Address>().ok());
        let (Some(amount), Some(tin), Some(tout)) = (
            v.amount,
            parse(v.currency.as_deref()),
            parse(v.buy_currency.as_deref()),
        ) else {
            return Err(CommitError::NotApplicable("not a swap order".into()));
        };
        let bps = max_slippage_bps(ctx.params);
        let chain = TempoChain::connect(&self.rpc, &self.wallet)
            .map_err(|e| CommitError::Platform(e.to_string()))?;
        let parts = fewest_parts(amount, bps, |part| {
            let chain = chain.clone();
            async move { chain.quote(tin, tout, part).await }
        })
        .await
        .map_err(|e| CommitError::Platform(e.to_string()))?;
        split_repair(parts, bps)
    }
}

/// What a split_swap executor answers for [`fewest_parts`]'s plan: the
/// order in that many parts, or unsafe when no split fits the bound.
pub fn split_repair(parts: Option<u32>, bps: u32) -> Result<Committed, CommitError> {
    match parts {
        Some(parts) => Ok(Committed {
            patches: vec![Patch::Split { parts }],
            params: json!({ "max_slippage_bps": bps, "parts": parts }),
            ..Default::default()
        }),
        None => Err(CommitError::Unsafe(
            "no split of up to 64 parts quotes within the slippage bound".into(),
        )),
    }
}
