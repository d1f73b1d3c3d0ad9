//! A swap on the StablecoinDEX as the agent's own operation (sell
//! `amount_in` of one stablecoin for another), and split_swap, its repair
//! when one swap's price impact breaks the min-out bound.
//!
//! On an order book a smaller swap only helps if liquidity returns between
//! parts (market makers refill the best level). So the order swaps part by
//! part, and before each part after the first it waits, bounded, until the
//! quote for that part meets the bound again; every part carries its own
//! min-out bound and nothing is ever swapped below it. Progress is written
//! to the order's journal before each part is sent and after it is
//! confirmed; a part sent and never seen confirmed is reconciled on chain
//! before the next, so a retried, dropped or restarted order never sells a
//! part twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use helix_core::{Patch, PaymentView, Refused, Repairable};
use tempo_alloy::contracts::precompiles::STABLECOIN_DEX_ADDRESS;

use crate::chain::{SendOpts, TempoChain, Wallet};
use crate::error::ChainError;
use crate::journal::{MemoryJournal, OrderJournal, OrderProgress, PendingPart};
use crate::slippage::{DEFAULT_SLIPPAGE_BPS, min_out};

/// How long a part waits for the book to refill.
const REFILL_WAIT: Duration = Duration::from_secs(3);

/// Sell `amount_in` of `token_in` for `token_out`.
#[derive(Debug, Clone)]
pub struct DexOrder {
    /// RPC endpoint.
    pub rpc: String,
    /// Who sells (and receives the output).
    pub payer: Address,
    /// Sold.
    pub token_in: Address,
    /// Bought.
    pub token_out: Address,
    /// Base units sold in all.
    pub amount_in: u128,
    /// Bound below par for every swap, basis points.
    pub max_slippage_bps: u32,
    /// Swaps the order is made in (1 unless split).
    pub parts: u32,
    /// Fee token, else the token sold.
    pub fee_token: Option<Address>,
    /// Progress, shared by every run of this order (a [`FileJournal`](
    /// crate::FileJournal) survives a crash).
    pub journal: Arc<dyn OrderJournal>,
}

impl DexOrder {
    /// An order in one part at the default bound.
    pub fn new(
        rpc: impl Into<String>,
        payer: Address,
        token_in: Address,
        token_out: Address,
        amount_in: u128,
    ) -> Self {
        DexOrder {
            rpc: rpc.into(),
            payer,
            token_in,
            token_out,
            amount_in,
            max_slippage_bps: DEFAULT_SLIPPAGE_BPS,
            parts: 1,
            fee_token: None,
            journal: Arc::new(MemoryJournal::default()),
        }
    }

    /// Keeps progress in `journal` instead of memory.
    pub fn with_journal(mut self, journal: Arc<dyn OrderJournal>) -> Self {
        self.journal = journal;
        self
    }

    /// Sold and confirmed so far.
    pub fn sold(&self) -> Result<u128, ChainError> {
        Ok(self.journal.load()?.sold)
    }
}

impl Repairable for DexOrder {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.payer.to_string()),
            recipient: Some(self.payer.to_string()),
            amount: Some(self.amount_in),
            currency: Some(self.token_in.to_string()),
            buy_currency: Some(self.token_out.to_string()),
            endpoint: Some(self.rpc.clone()),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Split { parts } if *parts >= 2 => self.parts = *parts,
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Runs the order; returns the swap transactions of this call.
pub async fn swap_order(wallet: &Wallet, o: &DexOrder) -> Result<Vec<String>, ChainError> {
    let chain = TempoChain::connect(&o.rpc, wallet)?;
    let part = o.amount_in.div_ceil(u128::from(o.parts.max(1)));
    let mut progress = o.journal.load()?;
    if let Some(p) = progress.pending.take() {
        if settle_part(&chain, &p).await? {
            progress.sold += p.amount;
        }
        o.journal.save(&progress)?;
    }
    let mut hashes = Vec::new();
    let mut first = true;
    loop {
        let left = o.amount_in.saturating_sub(progress.sold);
        if left == 0 {
            return Ok(hashes);
        }
        let this = part.min(left);
        let bound = min_out(this, o.max_slippage_bps);
        if !first {
            wait_for_depth(&chain, o, this, bound).await?;
        }
        first = false;
        let opts = SendOpts {
            nonce: None,
            fee_token: Some(o.fee_token.unwrap_or(o.token_in)),
        };
        chain
            .approve(o.token_in, STABLECOIN_DEX_ADDRESS, this, opts)
            .await?;
        let sold = progress.sold;
        let journal = o.journal.clone();
        // The nonce is kept so a part whose answer is lost can be told apart
        // from one that can never land.
        let record = move |hash: alloy::primitives::B256, nonce: u64| {
            journal.save(&OrderProgress {
                sold,
                pending: Some(PendingPart {
                    amount: this,
                    hash: hash.to_string(),
                    nonce,
                }),
            })
        };
        match chain
            .swap_recorded(o.token_in, o.token_out, this, bound, opts, &record)
            .await
        {
            Ok(h) => {
                progress.sold += this;
                o.journal.save(&progress)?;
                hashes.push(h.to_string());
            }
            Err(e @ ChainError::Reverted { .. }) => {
                // Mined and failed: nothing was sold.
                o.journal.save(&progress)?;
                return Err(e);
            }
            // Anything else leaves the part pending, to be reconciled.
            Err(e) => return Err(e),
        }
    }
}

/// Whether a part sent earlier was sold: its receipt, else whether its
/// nonce went to another transaction (it can never land). A part that may
/// still land stops the order: selling on could sell it twice.
async fn settle_part(chain: &TempoChain, p: &PendingPart) -> Result<bool, ChainError> {
    let hash: alloy::primitives::B256 = p
        .hash
        .parse()
        .map_err(|_| ChainError::Transport(format!("journal names no hash: {}", p.hash)))?;
    let start = Instant::now();
    loop {
        // The nonce first, the receipt after: a block mined between the
        // two reads cannot pass for "nonce used by another".
        let mined = chain.mined_nonce().await?;
        if let Some(ok) = chain.receipt(hash).await? {
            return Ok(ok);
        }
        if mined > p.nonce {
            return Ok(chain.receipt(hash).await?.unwrap_or(false));
        }
        if start.elapsed() > REFILL_WAIT {
            return Err(ChainError::NoReceipt {
                hash: p.hash.clone(),
                reason: "a part of this order was sent and may still land".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for_depth(
    chain: &TempoChain,
    o: &DexOrder,
    amount: u128,
    bound: u128,
) -> Result<(), ChainError> {
    let start = Instant::now();
    loop {
        if chain.quote(o.token_in, o.token_out, amount).await? >= bound {
            return Ok(());
        }
        if start.elapsed() > REFILL_WAIT {
            return Err(ChainError::Transport(format!(
                "slippage: the book did not refill within {} s for the next part ({amount})",
                REFILL_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The fewest parts (2, 4, ... up to 64) for which one part of `amount`
/// quotes within `bps` of par, or `None`. Shared by every split_swap
/// executor, whatever answers the quote.
pub async fn fewest_parts<E, F>(
    amount: u128,
    bps: u32,
    mut quote: impl FnMut(u128) -> F,
) -> Result<Option<u32>, E>
where
    F: std::future::Future<Output = Result<u128, E>>,
{
    let mut parts: u32 = 2;
    while parts <= 64 {
        let part = amount.div_ceil(u128::from(parts));
        if quote(part).await? >= min_out(part, bps) {
            return Ok(Some(parts));
        }
        parts *= 2;
    }
    Ok(None)
}
