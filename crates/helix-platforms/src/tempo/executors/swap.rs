//! Repairs that move funds on the StablecoinDEX: acquire the charged
//! currency (swap_currency), an accepted one (swap_direct, or swap_multihop
//! in two explicit legs through pathUSD, each bounded against par), or
//! another stablecoin when one is blocked or paused (switch_stablecoin).
//! Every swap is quoted first and carries a min-out bound; a leg whose
//! answer was lost is looked for on chain before anything else.

use alloy::primitives::Address;
use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_tempo::{ChainError, SendOpts, TempoChain, Wallet, max_slippage_bps, min_out};
use serde_json::json;
use tempo_alloy::contracts::precompiles::{PATH_USD_ADDRESS, STABLECOIN_DEX_ADDRESS};

use super::RECONCILE_WAIT;

/// Margin acquired on top of the charge, for the payment's own fee.
const FEE_MARGIN: u128 = 50_000;

fn parse(a: &str) -> Result<Address, CommitError> {
    a.parse()
        .map_err(|_| CommitError::NotApplicable(format!("not an address: {a}")))
}

fn platform(e: ChainError) -> CommitError {
    CommitError::Platform(e.to_string())
}

/// A StablecoinDEX swap on behalf of the wallet it holds.
#[derive(Debug, Clone)]
pub struct DexSwap {
    id: StrategyId,
    rpc: String,
    wallet: Wallet,
    stablecoins: Vec<Address>,
}

impl DexSwap {
    /// `id` is one of swap_currency, swap_direct, swap_multihop,
    /// switch_stablecoin, swap_for_fee_token;
    /// `stablecoins` are what the wallet may sell or switch to, in order.
    pub fn new(
        id: StrategyId,
        rpc: impl Into<String>,
        wallet: Wallet,
        stablecoins: Vec<Address>,
    ) -> Self {
        DexSwap {
            id,
            rpc: rpc.into(),
            wallet,
            stablecoins,
        }
    }
}

/// What a swap repair will do, worked out from reads and a quote only.
struct Plan {
    chain: TempoChain,
    payer: Address,
    current: Address,
    target: Address,
    bps: u32,
    /// Sell `amount_in` of `source` for at least `bound` of the target;
    /// `None` when the wallet already holds enough of the target.
    swap: Option<(Address, u128, u128)>,
}

impl DexSwap {
    /// Reads balances and quotes the swap (an `eth_call` of the DEX):
    /// everything short of sending, so it is also the dry run.
    async fn plan(&self, ctx: &CommitCtx<'_>) -> Result<Plan, CommitError> {
        let v = ctx.request;
        let payer = parse(v.payer.as_deref().unwrap_or_default())?;
        if payer != self.wallet.address() {
            return Err(CommitError::NotApplicable(
                "the request is paid by another wallet".into(),
            ));
        }
        let amount = v
            .amount
            .ok_or_else(|| CommitError::NotApplicable("no amount".into()))?;
        let current = parse(v.currency.as_deref().unwrap_or_default())?;
        let bps = max_slippage_bps(ctx.params);
        let target = match self.id {
            StrategyId::SwapCurrency => current,
            // Only a stablecoin the operator configured is ever bought: a
            // server naming another token gets a recommendation, not a
            // swap (a worthless token priced near par would pass min-out).
            StrategyId::SwapDirect | StrategyId::SwapMultihop => {
                let accepted = &ctx.failure.facts.accepted_currencies;
                if accepted.is_empty() {
                    return Err(CommitError::NotApplicable(
                        "no accepted currency named".into(),
                    ));
                }
                accepted
                    .iter()
                    .filter_map(|a| a.parse::<Address>().ok())
                    .find(|a| self.stablecoins.contains(a))
                    .ok_or_else(|| {
                        CommitError::NotApplicable(format!(
                            "the server accepts only {}, none of them a configured stablecoin",
                            accepted.join(", ")
                        ))
                    })?
            }
            // The fee token the payment names, when the agent may hold it.
            StrategyId::SwapForFeeToken => {
                let fee = parse(v.fee_token.as_deref().unwrap_or_default())?;
                if !self.stablecoins.contains(&fee) {
                    return Err(CommitError::NotApplicable(format!(
                        "the fee token {fee} is not a configured stablecoin"
                    )));
                }
                fee
            }
            _ => *self
                .stablecoins
                .iter()
                .find(|t| **t != current)
                .ok_or_else(|| {
                    CommitError::NotApplicable("no other stablecoin configured".into())
                })?,
        };
        let chain = TempoChain::connect(&self.rpc, &self.wallet).map_err(platform)?;
        // Buying the fee token covers the fee alone, unless the payment is
        // made in it too.
        let need = if self.id == StrategyId::SwapForFeeToken && target != current {
            FEE_MARGIN
        } else {
            amount + FEE_MARGIN
        };
        let have = chain.balance(target, payer).await.map_err(platform)?;
        let mut plan = Plan {
            chain,
            payer,
            current,
            target,
            bps,
            swap: None,
        };
        if have >= need {
            if target == current || self.id == StrategyId::SwapForFeeToken {
                // Nothing to buy and nothing to switch: not a repair, so it
                // must not earn a retry (the failure was something else).
                return Err(CommitError::NotApplicable(format!(
                    "the wallet already holds {have} of {target}, enough for {amount}"
                )));
            }
            return Ok(plan);
        }
        let shortfall = need - have;
        let amount_in = shortfall
            .saturating_mul(10_000)
            .div_ceil(u128::from(10_000 - bps.min(9_999)));
        let mut source = None;
        for t in self.stablecoins.iter().filter(|t| **t != target) {
            if self.id == StrategyId::SwitchStablecoin && *t == current {
                continue; // a blocked or paused token cannot leave the wallet
            }
            if plan.chain.balance(*t, payer).await.map_err(platform)? >= amount_in + FEE_MARGIN {
                source = Some(*t);
                break;
            }
        }
        let source = source.ok_or_else(|| {
            CommitError::NotApplicable(format!("no stablecoin holds {amount_in} to swap"))
        })?;
        let bound = min_out(amount_in, bps);
        let quoted = plan
            .chain
            .quote(source, target, amount_in)
            .await
            .map_err(platform)?;
        if quoted < bound {
            return Err(CommitError::Unsafe(format!(
                "quote {quoted} for {amount_in} is below the {bps} bps bound {bound}"
            )));
        }
        plan.swap = Some((source, amount_in, bound));
        Ok(plan)
    }
}

#[async_trait]
impl Executor for DexSwap {
    fn id(&self) -> StrategyId {
        self.id
    }

    fn needs(&self) -> &'static [Need] {
        match self.id {
            StrategyId::SwapDirect | StrategyId::SwapMultihop => &[
                Need::Payer,
                Need::Amount,
                Need::Currency,
                Need::AcceptedCurrencies,
            ],
            StrategyId::SwapForFeeToken => {
                &[Need::Payer, Need::Amount, Need::Currency, Need::FeeToken]
            }
            _ => &[Need::Payer, Need::Amount, Need::Currency],
        }
    }

    async fn dry_run(&self, ctx: &CommitCtx<'_>) -> Option<Result<(), CommitError>> {
        Some(self.plan(ctx).await.map(|_| ()))
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let Plan {
            chain,
            payer,
            current,
            target,
            bps,
            swap,
        } = self.plan(ctx).await?;
        let mut out = Committed {
            params: json!({ "max_slippage_bps": bps }),
            ..Default::default()
        };
        if let Some((source, amount_in, bound)) = swap {
            let before = chain.balance(target, payer).await.map_err(platform)?;
            let fee = SendOpts {
                nonce: None,
                fee_token: Some(source),
            };
            // Two explicit legs through pathUSD, or one swap the DEX routes.
            let legs: &[(Address, Address)] =
                if self.id == StrategyId::SwapMultihop && source != PATH_USD_ADDRESS {
                    &[(source, PATH_USD_ADDRESS), (PATH_USD_ADDRESS, target)]
                } else {
                    &[(source, target)]
                };
            let mut leg_in = amount_in;
            for &(from, to) in legs {
                let held = chain.balance(to, payer).await.map_err(platform)?;
                // Exactly what this swap sells, nothing standing beyond it.
                let approval = chain
                    .reconciled(
                        chain
                            .approve(from, STABLECOIN_DEX_ADDRESS, leg_in, fee)
                            .await,
                        RECONCILE_WAIT,
                    )
                    .await
                    .map_err(platform)?;
                out.tx_hashes.push(approval.to_string());
                // Every leg is bounded against par for the whole amount sold.
                let hash = chain
                    .reconciled(
                        chain.swap(from, to, leg_in, bound, fee).await,
                        RECONCILE_WAIT,
                    )
                    .await
                    .map_err(platform)?;
                out.tx_hashes.push(hash.to_string());
                leg_in = chain
                    .balance(to, payer)
                    .await
                    .map_err(platform)?
                    .saturating_sub(held);
            }
            let after = chain.balance(target, payer).await.map_err(platform)?;
            let got = after.saturating_sub(before);
            if got < bound {
                // The swap landed: a platform failure after acting, not a
                // refusal before it.
                return Err(CommitError::Platform(format!(
                    "swap returned {got}, below the bound {bound}"
                )));
            }
            out.cost = u64::try_from(amount_in.saturating_sub(got)).unwrap_or(u64::MAX);
        }
        // The fee token is bought for the fee: the payment's currency stays.
        if target != current && self.id != StrategyId::SwapForFeeToken {
            out.patches.push(Patch::Currency {
                currency: target.to_string(),
            });
        }
        Ok(out)
    }
}
