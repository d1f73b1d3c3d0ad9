//! A TIP-20 payment as Helix sees it, and the operation that makes it.

use alloy::primitives::{Address, B256};
use helix_core::{Patch, PaymentView, Refused, Repairable};

use crate::chain::{SendOpts, TempoChain, Wallet};
use crate::error::ChainError;

/// Pay `amount` of `token` to `to` on chain `chain_id` through `rpc`.
#[derive(Debug, Clone)]
pub struct Tip20Payment {
    /// RPC endpoint.
    pub rpc: String,
    /// Chain the payment must land on.
    pub chain_id: u64,
    /// Who pays.
    pub payer: Address,
    /// Who is paid. Never changes.
    pub to: Address,
    /// Token paid.
    pub token: Address,
    /// Base units. Never increases.
    pub amount: u128,
    /// Fee token, or the chain's default.
    pub fee_token: Option<Address>,
    /// Explicit nonce, or the pending one.
    pub nonce: Option<u64>,
    /// A transaction that already made this payment (found by reconcile):
    /// the payment is done and nothing is sent.
    pub landed: Option<String>,
    /// One key for this logical payment: repairs that move funds for it
    /// (a top-up) are capped per key, however many runs retry it.
    pub idempotency_key: String,
    /// Sent as `transferWithMemo` with this memo ([`crate::memo_of`] the
    /// key), so the chain itself can say whether the payment was made.
    pub memo: Option<B256>,
}

impl Tip20Payment {
    /// A fresh key for a new logical payment.
    pub fn new_key() -> String {
        format!("helix-{:032x}", rand::random::<u128>())
    }
}

impl Repairable for Tip20Payment {
    fn view(&self) -> PaymentView {
        PaymentView {
            payer: Some(self.payer.to_string()),
            recipient: Some(self.to.to_string()),
            amount: Some(self.amount),
            currency: Some(self.token.to_string()),
            fee_token: self.fee_token.map(|f| f.to_string()),
            nonce: self.nonce,
            endpoint: Some(self.rpc.clone()),
            chain_id: Some(self.chain_id),
            idempotency_key: Some(self.idempotency_key.clone()),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        let addr = |a: &str| {
            a.parse::<Address>().map_err(|_| Refused {
                patch: p.kind(),
                reason: format!("not an address: {a}"),
            })
        };
        match p {
            Patch::Nonce { nonce } => self.nonce = Some(*nonce),
            Patch::FeeToken { token } => self.fee_token = Some(addr(token)?),
            Patch::Currency { currency } => self.token = addr(currency)?,
            Patch::Network { rpc_url, chain_id } if *chain_id == self.chain_id => {
                self.rpc = rpc_url.clone()
            }
            Patch::UseExisting { id } => self.landed = Some(id.clone()),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Makes the payment: checks the endpoint's chain, then sends the transfer
/// and waits for its receipt. Returns the transaction hash.
pub async fn pay(wallet: &Wallet, p: &Tip20Payment) -> Result<String, ChainError> {
    if let Some(hash) = &p.landed {
        return Ok(hash.clone());
    }
    let chain = TempoChain::connect(&p.rpc, wallet)?
        .with_receipt_timeout(std::time::Duration::from_secs(3));
    let have = chain.chain_id().await?;
    if have != p.chain_id {
        return Err(ChainError::WrongChain {
            want: p.chain_id,
            have,
        });
    }
    let opts = SendOpts {
        nonce: p.nonce,
        fee_token: p.fee_token,
    };
    match p.memo {
        Some(memo) => {
            chain
                .transfer_with_memo(p.token, p.to, p.amount, memo, opts)
                .await
        }
        None => chain.transfer(p.token, p.to, p.amount, opts).await,
    }
    .map(|h| h.to_string())
}
