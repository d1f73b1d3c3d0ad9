//! A Tempo batch: one 0x76 transaction whose calls take effect together,
//! one of them the caller's payment. When the node refuses the batch it
//! does not say which call failed; [`pay_batch`] finds out by simulating
//! each call alone from the sender (`eth_call`), so Perceive gets the index
//! and remove_and_resubmit can drop that call. The payment call itself can
//! never be dropped.

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::sol_types::SolCall;
use helix_core::{Patch, PaymentView, Refused, Repairable};
use tempo_alloy::contracts::precompiles::ITIP20;

use crate::chain::{SendOpts, TempoChain, Wallet};
use crate::error::ChainError;

/// One call of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCall {
    /// Target contract.
    pub to: Address,
    /// Call data.
    pub input: Bytes,
    /// The caller's payment: never dropped, never changed.
    pub is_payment: bool,
}

impl BatchCall {
    /// A TIP-20 `transfer` call.
    pub fn transfer(token: Address, to: Address, amount: u128, is_payment: bool) -> Self {
        BatchCall {
            to: token,
            input: ITIP20::transferCall {
                to,
                amount: U256::from(amount),
            }
            .abi_encode()
            .into(),
            is_payment,
        }
    }
}

/// A batch sent as one Tempo transaction.
#[derive(Debug, Clone)]
pub struct Tip20Batch {
    /// RPC endpoint.
    pub rpc: String,
    /// Chain the batch must land on.
    pub chain_id: u64,
    /// Sender.
    pub payer: Address,
    /// Calls, in order.
    pub calls: Vec<BatchCall>,
    /// Fee token, or the chain's default.
    pub fee_token: Option<Address>,
    /// A transaction that already carried this batch (found by reconcile).
    pub landed: Option<String>,
}

impl Tip20Batch {
    fn payment(&self) -> Option<(&BatchCall, Option<ITIP20::transferCall>)> {
        self.calls
            .iter()
            .find(|c| c.is_payment)
            .map(|c| (c, ITIP20::transferCall::abi_decode(&c.input).ok()))
    }
}

impl Repairable for Tip20Batch {
    fn view(&self) -> PaymentView {
        let payment = self.payment();
        let transfer = payment.as_ref().and_then(|(_, t)| t.as_ref());
        PaymentView {
            payer: Some(self.payer.to_string()),
            recipient: transfer.map(|t| t.to.to_string()),
            amount: transfer.and_then(|t| u128::try_from(t.amount).ok()),
            currency: payment.as_ref().map(|(c, _)| c.to.to_string()),
            calldata_digest: payment.map(|(c, _)| {
                let h = keccak256([c.to.as_slice(), c.input.as_ref()].concat());
                u64::from_be_bytes(h.0[..8].try_into().unwrap_or_default())
            }),
            fee_token: self.fee_token.map(|f| f.to_string()),
            endpoint: Some(self.rpc.clone()),
            chain_id: Some(self.chain_id),
            ..Default::default()
        }
    }

    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::DropCall { index } => match self.calls.get(*index) {
                Some(c) if c.is_payment => {
                    return Err(Refused {
                        patch: p.kind(),
                        reason: "that call is the payment".into(),
                    });
                }
                Some(_) => {
                    self.calls.remove(*index);
                }
                None => {
                    return Err(Refused {
                        patch: p.kind(),
                        reason: format!("the batch has no call {index}"),
                    });
                }
            },
            Patch::FeeToken { token } => {
                self.fee_token = Some(token.parse().map_err(|_| Refused {
                    patch: p.kind(),
                    reason: format!("not an address: {token}"),
                })?)
            }
            Patch::UseExisting { id } => self.landed = Some(id.clone()),
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

/// Sends the batch and waits for its receipt. If the node refuses it or it
/// reverts, each call is simulated alone from the sender and the first that reverts is
/// reported as [`ChainError::BatchCallReverted`]. A simulation sees the
/// chain as it is, not as the earlier calls would leave it: when every
/// call succeeds alone the node's own error is returned unchanged.
pub async fn pay_batch(wallet: &Wallet, b: &Tip20Batch) -> Result<String, ChainError> {
    if let Some(hash) = &b.landed {
        return Ok(hash.clone());
    }
    let chain = TempoChain::connect(&b.rpc, wallet)?
        .with_receipt_timeout(std::time::Duration::from_secs(3));
    let have = chain.chain_id().await?;
    if have != b.chain_id {
        return Err(ChainError::WrongChain {
            want: b.chain_id,
            have,
        });
    }
    let calls: Vec<(Address, Bytes)> = b.calls.iter().map(|c| (c.to, c.input.clone())).collect();
    let opts = SendOpts {
        nonce: None,
        fee_token: b.fee_token,
    };
    match chain.send_calls(&calls, opts).await {
        Ok(h) => Ok(h.to_string()),
        // Refused at estimation, or mined and reverted (anvil mines a
        // failing 0x76 batch and reverts it whole: nothing moved but the fee).
        Err(refused @ (ChainError::Rpc(_) | ChainError::Reverted { .. })) => {
            for (index, (to, input)) in calls.iter().enumerate() {
                if let Err(ChainError::Rpc(_)) = chain.call(*to, input.clone()).await {
                    return Err(ChainError::BatchCallReverted {
                        index,
                        calls: calls.len(),
                        reason: "it reverts when simulated alone from the sender".into(),
                    });
                }
            }
            Err(refused)
        }
        Err(e) => Err(e),
    }
}
