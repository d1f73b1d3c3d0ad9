//! A Tempo client: reads, TIP-20 transfers and StablecoinDEX calls, signed
//! locally, with the nonce and fee token under the caller's control.

use alloy::consensus::transaction::TxHashRef;
use alloy::eips::Encodable2718;
use alloy::network::{EthereumWallet, ReceiptResponse, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::fillers::{FillProvider, JoinFill, NonceFiller, WalletFiller};
use alloy::providers::{Identity, Provider, ProviderBuilder, RootProvider, SendableTx};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolError};
use tempo_alloy::contracts::precompiles::{IStablecoinDEX, ITIP20, STABLECOIN_DEX_ADDRESS};
use tempo_alloy::primitives::transaction::tempo_transaction::Call;
use tempo_alloy::rpc::TempoTransactionRequest;
use tempo_alloy::{TempoFillers, TempoNetwork};

use crate::error::ChainError;

/// A signing key behind a handle: Debug shows only the address, errors
/// never echo key material, and the key is zeroized on drop (the ecdsa
/// signing key inside implements `ZeroizeOnDrop`).
#[derive(Clone)]
pub struct Wallet(PrivateKeySigner);

/// A key could not be loaded. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read key file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Group or others may read the file.
    #[error("key file {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The text is not a private key (the text is not shown).
    #[error("not a valid secp256k1 private key (value not shown)")]
    Invalid,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wallet({})", self.0.address())
    }
}

impl Wallet {
    /// From a hex private key.
    pub fn from_hex(key: &str) -> Result<Self, ChainError> {
        Self::parse(key).map_err(|e| ChainError::Transport(e.to_string()))
    }

    fn parse(key: &str) -> Result<Self, KeyError> {
        key.trim()
            .parse::<PrivateKeySigner>()
            .map(Wallet)
            .map_err(|_| KeyError::Invalid)
    }

    /// From an environment variable holding the hex key.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let v = std::env::var(var).map_err(|_| KeyError::MissingEnv(var.into()))?;
        Self::parse(&v)
    }

    /// From a file holding the hex key; refused if group or others may read it.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| KeyError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen { path: shown, mode });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Unreadable {
            path: shown,
            reason: e.to_string(),
        })?;
        Self::parse(&text)
    }

    /// A new random key (lab accounts).
    pub fn random() -> Self {
        Wallet(PrivateKeySigner::random())
    }

    /// The signer, to hand to another signing client (the mpp payer). Never
    /// log it or put it in an error.
    pub fn signer(&self) -> PrivateKeySigner {
        self.0.clone()
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.0.address()
    }
}

/// How to send: an explicit nonce and fee token, or the node's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOpts {
    /// Use this nonce (else the pending nonce).
    pub nonce: Option<u64>,
    /// Pay the fee in this TIP-20 (else the chain's default for the sender).
    pub fee_token: Option<Address>,
}

/// Called with a signed transaction's hash and account nonce before it is
/// broadcast.
pub type BeforeSend<'a> = dyn Fn(B256, u64) -> Result<(), ChainError> + Send + Sync + 'a;

/// Tempo's recommended fillers plus the local signer.
type Signing = FillProvider<
    JoinFill<JoinFill<Identity, TempoFillers<NonceFiller>>, WalletFiller<EthereumWallet>>,
    RootProvider<TempoNetwork>,
    TempoNetwork,
>;

/// A TIP-20 transfer, as its `Transfer` event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// The TIP-20 that emitted it.
    pub token: Address,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Base units.
    pub amount: u128,
}

/// One endpoint, one signer.
#[derive(Debug, Clone)]
pub struct TempoChain {
    pub(crate) provider: Signing,
    from: Address,
    url: String,
    receipt_timeout: std::time::Duration,
}

impl TempoChain {
    /// Connects (no I/O until the first call).
    pub fn connect(url: &str, wallet: &Wallet) -> Result<Self, ChainError> {
        let parsed = url
            .parse()
            .map_err(|e| ChainError::Transport(format!("{url}: {e}")))?;
        let provider = ProviderBuilder::new_with_network::<TempoNetwork>()
            .wallet(EthereumWallet::from(wallet.0.clone()))
            .connect_http(parsed);
        Ok(TempoChain {
            provider,
            from: wallet.address(),
            url: url.to_owned(),
            receipt_timeout: std::time::Duration::from_secs(30),
        })
    }

    /// How long to wait for a receipt before the outcome is unknown (default 30 s).
    pub fn with_receipt_timeout(mut self, t: std::time::Duration) -> Self {
        self.receipt_timeout = t;
        self
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.from
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(ChainError::from_rpc)
    }

    /// The pending nonce of the signer.
    pub async fn nonce(&self) -> Result<u64, ChainError> {
        self.provider
            .get_transaction_count(self.from)
            .pending()
            .await
            .map_err(ChainError::from_rpc)
    }

    /// The nonce after the sender's last mined transaction.
    pub async fn mined_nonce(&self) -> Result<u64, ChainError> {
        self.provider
            .get_transaction_count(self.from)
            .latest()
            .await
            .map_err(ChainError::from_rpc)
    }

    /// The transaction's receipt status: `None` while it has none.
    pub async fn receipt(&self, hash: B256) -> Result<Option<bool>, ChainError> {
        Ok(self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
            .map(|r| r.status()))
    }

    /// Settles a send whose answer was lost (`Unanswered`, `NoReceipt`) by
    /// its receipt, asked for up to `wait`: landed is `Ok(hash)`, reverted
    /// is `Reverted`, still unknown stays as it was. A fund-moving repair
    /// calls this before it decides anything, so a swap that landed is
    /// counted (and never sent again) rather than guessed at.
    pub async fn reconciled(
        &self,
        sent: Result<B256, ChainError>,
        wait: std::time::Duration,
    ) -> Result<B256, ChainError> {
        let (hash, reason, kind) = match sent {
            Err(ChainError::Unanswered { hash, reason }) => (hash, reason, true),
            Err(ChainError::NoReceipt { hash, reason }) => (hash, reason, false),
            other => return other,
        };
        let unknown = |hash: String, reason: String| {
            if kind {
                ChainError::Unanswered { hash, reason }
            } else {
                ChainError::NoReceipt { hash, reason }
            }
        };
        let Ok(h) = hash.parse::<B256>() else {
            return Err(unknown(hash, reason));
        };
        let deadline = std::time::Instant::now() + wait;
        loop {
            match self.receipt(h).await {
                Ok(Some(true)) => {
                    tracing::info!(target: "helix::tempo", %hash, "a send whose answer was lost landed");
                    return Ok(h);
                }
                Ok(Some(false)) => return Err(ChainError::Reverted { hash }),
                Ok(None) | Err(_) => {}
            }
            if std::time::Instant::now() >= deadline {
                return Err(unknown(hash, reason));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// The TIP-20 transfers a mined transaction made, read from its
    /// receipt's logs (fee transfers included): `None` while it has no
    /// receipt, empty when it reverted. What proves a payment or a refund
    /// to someone who did not send it.
    pub async fn transfers_in(&self, hash: B256) -> Result<Option<Vec<Moved>>, ChainError> {
        let Some(r) = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
        else {
            return Ok(None);
        };
        if !r.status() {
            return Ok(Some(Vec::new()));
        }
        let moved = r
            .inner
            .logs()
            .iter()
            .filter_map(|log| {
                let ev = log.log_decode::<ITIP20::Transfer>().ok()?;
                Some(Moved {
                    token: log.address(),
                    from: ev.inner.data.from,
                    to: ev.inner.data.to,
                    amount: u128::try_from(ev.inner.data.amount).ok()?,
                })
            })
            .collect();
        Ok(Some(moved))
    }

    /// Whether the transaction has a receipt with success status.
    pub async fn receipt_ok(&self, hash: B256) -> Result<bool, ChainError> {
        Ok(self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
            .is_some_and(|r| r.status()))
    }

    /// TIP-20 balance.
    pub async fn balance(&self, token: Address, owner: Address) -> Result<u128, ChainError> {
        let v = ITIP20::new(token, &self.provider)
            .balanceOf(owner)
            .call()
            .await
            .map_err(contract)?;
        u128::try_from(v).map_err(|_| ChainError::Transport("balance exceeds 128 bits".into()))
    }

    /// Sends a call and waits for its receipt; a revert is an error.
    pub async fn send(
        &self,
        to: Address,
        input: Bytes,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_to(to)
            .with_input(input);
        self.send_request(tx, opts, None).await
    }

    /// Sends one Tempo (0x76) transaction carrying `calls` in order: all of
    /// them take effect or none does.
    pub async fn send_calls(
        &self,
        calls: &[(Address, Bytes)],
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let calls = calls
            .iter()
            .map(|(to, input)| Call {
                to: TxKind::Call(*to),
                value: U256::ZERO,
                input: input.clone(),
            })
            .collect();
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_calls(calls);
        self.send_request(tx, opts, None).await
    }

    /// Deploys `code` (creation bytecode with its constructor arguments) in
    /// one Tempo (0x76) transaction, paying the fee as `opts` says; returns
    /// the contract's address (from the receipt) and the transaction's hash.
    /// The nonce is left to the provider's filler, which counts this
    /// signer's transactions itself: a nonce chosen here would leave its
    /// count behind and the next send would reuse one.
    pub async fn deploy(&self, code: Bytes, opts: SendOpts) -> Result<(Address, B256), ChainError> {
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_deploy_code(code);
        let hash = self.send_request(tx, opts, None).await?;
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
            .ok_or_else(|| ChainError::NoReceipt {
                hash: hash.to_string(),
                reason: "no receipt after the deployment was confirmed".into(),
            })?;
        let address =
            alloy::network::ReceiptResponse::contract_address(&receipt).ok_or_else(|| {
                ChainError::Transport(format!("deployment {hash} created no contract"))
            })?;
        Ok((address, hash))
    }

    async fn send_request(
        &self,
        mut tx: TempoTransactionRequest,
        opts: SendOpts,
        before_send: Option<&BeforeSend<'_>>,
    ) -> Result<B256, ChainError> {
        if let Some(n) = opts.nonce {
            tx.set_nonce(n);
        }
        if let Some(f) = opts.fee_token {
            tx.set_fee_token(f);
        }
        // Signed here, so the hash is known before the node sees the
        // transaction: if the connection drops after the send, the hash is
        // what reconcile asks the chain about.
        let signed = match self.provider.fill(tx).await.map_err(ChainError::from_rpc)? {
            SendableTx::Envelope(env) => env,
            SendableTx::Builder(_) => {
                return Err(ChainError::Transport(
                    "the transaction could not be completed for signing".into(),
                ));
            }
        };
        let hash = *signed.tx_hash();
        // A write-ahead record of the transaction: if it cannot be kept,
        // nothing is sent.
        if let Some(record) = before_send {
            record(hash, alloy::consensus::Transaction::nonce(&signed))?;
        }
        let pending = match self
            .provider
            .send_raw_transaction(&signed.encoded_2718())
            .await
        {
            Ok(p) => p,
            // The node refused it: nothing was accepted.
            Err(e) if e.as_error_resp().is_some() => return Err(ChainError::from_rpc(e)),
            // No answer: the node may have the transaction.
            Err(e) => {
                return Err(ChainError::Unanswered {
                    hash: hash.to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let receipt = pending
            .with_timeout(Some(self.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| ChainError::NoReceipt {
                hash: hash.to_string(),
                reason: e.to_string(),
            })?;
        if !receipt.status() {
            return Err(ChainError::Reverted {
                hash: hash.to_string(),
            });
        }
        Ok(hash)
    }

    /// `eth_call` from the signer; returns the raw return data.
    pub async fn call(&self, to: Address, input: Bytes) -> Result<Bytes, ChainError> {
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_to(to)
            .with_input(input);
        self.provider.call(tx).await.map_err(ChainError::from_rpc)
    }

    /// TIP-20 `transfer`.
    pub async fn transfer(
        &self,
        token: Address,
        to: Address,
        amount: u128,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let input = ITIP20::transferCall {
            to,
            amount: U256::from(amount),
        }
        .abi_encode();
        self.send(token, input.into(), opts).await
    }

    /// TIP-20 `approve`.
    pub async fn approve(
        &self,
        token: Address,
        spender: Address,
        amount: u128,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let input = ITIP20::approveCall {
            spender,
            amount: U256::from(amount),
        }
        .abi_encode();
        self.send(token, input.into(), opts).await
    }

    /// StablecoinDEX `quoteSwapExactAmountIn`.
    pub async fn quote(
        &self,
        token_in: Address,
        token_out: Address,
        amount_in: u128,
    ) -> Result<u128, ChainError> {
        IStablecoinDEX::new(STABLECOIN_DEX_ADDRESS, &self.provider)
            .quoteSwapExactAmountIn(token_in, token_out, amount_in)
            .call()
            .await
            .map_err(contract)
    }

    /// StablecoinDEX `swapExactAmountIn`; `min_out` must be non-zero.
    pub async fn swap(
        &self,
        token_in: Address,
        token_out: Address,
        amount_in: u128,
        min_out: u128,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        self.swap_recorded(
            token_in,
            token_out,
            amount_in,
            min_out,
            opts,
            &|_, _| Ok(()),
        )
        .await
    }

    /// [`TempoChain::transfer`], calling `before_send` with the signed
    /// transaction's hash and nonce before it is broadcast (a write-ahead
    /// log entry).
    pub async fn transfer_recorded(
        &self,
        token: Address,
        to: Address,
        amount: u128,
        opts: SendOpts,
        before_send: &BeforeSend<'_>,
    ) -> Result<B256, ChainError> {
        let input = ITIP20::transferCall {
            to,
            amount: U256::from(amount),
        }
        .abi_encode();
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_to(token)
            .with_input(Bytes::from(input));
        self.send_request(tx, opts, Some(before_send)).await
    }

    /// [`TempoChain::swap`], calling `before_send` with the signed
    /// transaction's hash before it is broadcast (a journal entry).
    pub async fn swap_recorded(
        &self,
        token_in: Address,
        token_out: Address,
        amount_in: u128,
        min_out: u128,
        opts: SendOpts,
        before_send: &BeforeSend<'_>,
    ) -> Result<B256, ChainError> {
        if min_out == 0 {
            return Err(ChainError::Transport(
                "refusing a swap without a min-out bound".into(),
            ));
        }
        let input = IStablecoinDEX::swapExactAmountInCall {
            tokenIn: token_in,
            tokenOut: token_out,
            amountIn: amount_in,
            minAmountOut: min_out,
        }
        .abi_encode();
        let tx = TempoTransactionRequest::default()
            .with_from(self.from)
            .with_to(STABLECOIN_DEX_ADDRESS)
            .with_input(Bytes::from(input));
        self.send_request(tx, opts, Some(before_send)).await
    }

    /// Liquidity resting at one tick of `base`'s book (bids or asks).
    pub async fn tick_liquidity(
        &self,
        base: Address,
        tick: i16,
        is_bid: bool,
    ) -> Result<u128, ChainError> {
        Ok(IStablecoinDEX::new(STABLECOIN_DEX_ADDRESS, &self.provider)
            .getTickLevel(base, tick, is_bid)
            .call()
            .await
            .map_err(contract)?
            .totalLiquidity)
    }

    /// StablecoinDEX `createPair` (a pair that exists already is fine).
    pub async fn create_pair(&self, base: Address, opts: SendOpts) -> Result<(), ChainError> {
        let input = IStablecoinDEX::createPairCall { base }.abi_encode();
        match self.send(STABLECOIN_DEX_ADDRESS, input.into(), opts).await {
            Ok(_) => Ok(()),
            Err(ChainError::Rpc(helix_core::RpcFault { message, data, .. }))
                if message.contains("PairAlreadyExists")
                    || data.as_deref().is_some_and(|d| {
                        d.starts_with(&alloy::hex::encode_prefixed(
                            IStablecoinDEX::PairAlreadyExists::SELECTOR,
                        ))
                    }) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// StablecoinDEX `place` (a limit order; amounts of at least 100 tokens).
    pub async fn place(
        &self,
        token: Address,
        amount: u128,
        is_bid: bool,
        tick: i16,
        opts: SendOpts,
    ) -> Result<B256, ChainError> {
        let input = IStablecoinDEX::placeCall {
            token,
            amount,
            isBid: is_bid,
            tick,
        }
        .abi_encode();
        self.send(STABLECOIN_DEX_ADDRESS, input.into(), opts).await
    }
}

fn contract(e: alloy::contract::Error) -> ChainError {
    match e {
        alloy::contract::Error::TransportError(t) => ChainError::from_rpc(t),
        other => ChainError::Transport(other.to_string()),
    }
}
