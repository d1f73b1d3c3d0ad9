//! Payments that carry their own idempotency key on chain: a TIP-20
//! `transferWithMemo` whose memo is the hash of the logical payment's key.
//! Before paying again, an agent asks the chain whether a transfer with
//! that memo already left the account; the chain is the journal, so a
//! crash at any point (before the send, after it, before the answer was
//! written anywhere) never pays twice.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use tempo_alloy::contracts::precompiles::ITIP20;

use crate::chain::{SendOpts, TempoChain};
use crate::error::ChainError;

/// The memo a payment with idempotency key `key` carries.
pub fn memo_of(key: &str) -> B256 {
    keccak256(key.as_bytes())
}

/// A transfer found by its memo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoTransfer {
    /// The transaction that made it.
    pub tx: B256,
    /// Its block.
    pub block: u64,
    /// The TIP-20 moved.
    pub token: Address,
    /// Recipient.
    pub to: Address,
    /// Base units.
    pub amount: u128,
}

impl TempoChain {
    /// TIP-20 `transferWithMemo`.
    pub async fn transfer_with_memo(
        &self,
        token: Address,
        to: Address,
        amount: u128,
        memo: B256,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let input = ITIP20::transferWithMemoCall {
            to,
            amount: U256::from(amount),
            memo,
        }
        .abi_encode();
        self.send(token, input.into(), opts).await
    }

    /// The latest block's number.
    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.provider
            .get_block_number()
            .await
            .map_err(ChainError::from_rpc)
    }

    /// The transfers, in any TIP-20, that left `from` with `memo`, from
    /// block `since` on, oldest first (any token: a repair may have changed
    /// the currency paid).
    pub async fn memo_transfers(
        &self,
        from: Address,
        memo: B256,
        since: u64,
    ) -> Result<Vec<MemoTransfer>, ChainError> {
        let filter = Filter::new()
            .event_signature(ITIP20::TransferWithMemo::SIGNATURE_HASH)
            .topic1(from.into_word())
            .topic3(memo)
            .from_block(since);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(ChainError::from_rpc)?;
        let mut found = Vec::with_capacity(logs.len());
        for log in logs {
            let ev = ITIP20::TransferWithMemo::decode_log_data(log.data())
                .map_err(|e| ChainError::Transport(format!("a TransferWithMemo log: {e}")))?;
            found.push(MemoTransfer {
                tx: log.transaction_hash.unwrap_or_default(),
                block: log.block_number.unwrap_or_default(),
                token: log.address(),
                to: ev.to,
                amount: u128::try_from(ev.amount).unwrap_or(u128::MAX),
            });
        }
        Ok(found)
    }
}
