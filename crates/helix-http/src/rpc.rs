//! A small JSON-RPC client and the repairs that only read the chain: the
//! pending nonce, the chain id of an endpoint, token balances (probe and fee
//! token choice). They speak plain Ethereum JSON-RPC, so they work against
//! anvil, a Tempo node or the lab alike.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{
    CommitCtx, CommitError, Committed, ErrorSignal, FailureCode, Patch, PaymentView, Probe,
    Strategy, StrategyId,
};
use serde_json::{Value, json};

/// A JSON-RPC error object, or a transport failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// The node answered with an error object.
    #[error("error code {code}: {message}")]
    Node {
        /// JSON-RPC code.
        code: i64,
        /// Message.
        message: String,
        /// Revert data, if any.
        data: Option<String>,
    },
    /// No usable answer.
    #[error("rpc transport: {0}")]
    Transport(String),
}

impl helix_core::IntoSignal for RpcError {
    fn to_signal(&self) -> ErrorSignal {
        match self {
            RpcError::Node {
                code,
                message,
                data,
            } => ErrorSignal {
                rpc_code: Some(*code),
                revert_data: data.clone(),
                ..ErrorSignal::message(format!("error code {code}: {message}"))
            },
            RpcError::Transport(m) => ErrorSignal::message(m),
        }
    }
}

/// Calls one JSON-RPC method.
pub async fn call(
    http: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, RpcError> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let resp = http
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| RpcError::Transport(crate::signal::error_chain(&e)))?;
    let v: Value = resp
        .json()
        .await
        .map_err(|e| RpcError::Transport(format!("invalid JSON-RPC answer: {e}")))?;
    if let Some(err) = v.get("error") {
        return Err(RpcError::Node {
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(2048)
                .collect(),
            data: err.get("data").and_then(Value::as_str).map(str::to_owned),
        });
    }
    v.get("result")
        .cloned()
        .ok_or_else(|| RpcError::Transport("answer has neither result nor error".into()))
}

/// Parses a `0x` quantity.
pub fn quantity(v: &Value) -> Result<u128, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| RpcError::Transport(format!("expected a hex quantity, got {v}")))?;
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 32 {
        return Err(RpcError::Transport(format!(
            "quantity {s} exceeds 128 bits"
        )));
    }
    u128::from_str_radix(digits, 16).map_err(|e| RpcError::Transport(format!("{s}: {e}")))
}

/// `eth_chainId`.
pub async fn chain_id(http: &reqwest::Client, url: &str) -> Result<u64, RpcError> {
    let v = quantity(&call(http, url, "eth_chainId", json!([])).await?)?;
    u64::try_from(v).map_err(|_| RpcError::Transport("chain id out of range".into()))
}

/// `eth_getTransactionCount(addr, "pending")`.
pub async fn pending_nonce(http: &reqwest::Client, url: &str, addr: &str) -> Result<u64, RpcError> {
    let v = quantity(
        &call(
            http,
            url,
            "eth_getTransactionCount",
            json!([addr, "pending"]),
        )
        .await?,
    )?;
    u64::try_from(v).map_err(|_| RpcError::Transport("nonce out of range".into()))
}

/// TIP-20/ERC-20 `balanceOf(owner)` through `eth_call`.
pub async fn balance_of(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    owner: &str,
) -> Result<u128, RpcError> {
    let owner = owner.strip_prefix("0x").unwrap_or(owner);
    if owner.len() != 40 || !owner.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RpcError::Transport(format!("not an address: 0x{owner}")));
    }
    let data = format!("0x70a08231{owner:0>64}");
    let v = call(
        http,
        url,
        "eth_call",
        json!([{"to": token, "data": data}, "latest"]),
    )
    .await?;
    quantity(&v)
}

fn payer<'a>(ctx: &'a CommitCtx<'_>) -> Result<&'a str, CommitError> {
    ctx.request
        .payer
        .as_deref()
        .ok_or_else(|| CommitError::NotApplicable("request names no payer".into()))
}

fn platform(e: RpcError) -> CommitError {
    CommitError::Platform(e.to_string())
}

/// refresh_nonce: reads the pending nonce of the payer from RPC.
#[derive(Debug, Clone)]
pub struct RefreshNonce {
    http: reqwest::Client,
    rpc_url: String,
}

impl RefreshNonce {
    /// Reads from this RPC endpoint (the request's own endpoint wins when it names one).
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        RefreshNonce {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

#[async_trait]
impl Strategy for RefreshNonce {
    fn id(&self) -> StrategyId {
        StrategyId::RefreshNonce
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let payer = payer(ctx)?;
        let nonce = pending_nonce(&self.http, &self.rpc_url, payer)
            .await
            .map_err(platform)?;
        Ok(Committed {
            patches: vec![Patch::Nonce { nonce }],
            ..Default::default()
        })
    }
}

/// switch_network: asks each configured endpoint for its chain id and moves
/// the request to the one serving the chain the payment targets.
#[derive(Debug, Clone)]
pub struct SwitchNetwork {
    http: reqwest::Client,
    endpoints: Vec<String>,
}

impl SwitchNetwork {
    /// Candidate RPC endpoints.
    pub fn new(http: reqwest::Client, endpoints: Vec<String>) -> Self {
        SwitchNetwork { http, endpoints }
    }
}

#[async_trait]
impl Strategy for SwitchNetwork {
    fn id(&self) -> StrategyId {
        StrategyId::SwitchNetwork
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let want = ctx
            .failure
            .facts
            .expected_chain_id
            .or(ctx.request.chain_id)
            .ok_or_else(|| CommitError::NotApplicable("no target chain id known".into()))?;
        let mut seen = Vec::new();
        for url in &self.endpoints {
            match chain_id(&self.http, url).await {
                Ok(id) if id == want => {
                    return Ok(Committed {
                        patches: vec![Patch::Network {
                            rpc_url: url.clone(),
                            chain_id: id,
                        }],
                        ..Default::default()
                    });
                }
                Ok(id) => seen.push(format!("{url}={id}")),
                Err(e) => seen.push(format!("{url}: {e}")),
            }
        }
        Err(CommitError::NotApplicable(format!(
            "no endpoint serves chain {want} ({})",
            seen.join(", ")
        )))
    }
}

/// switch_fee_token: pays the fee in the first configured token the payer
/// holds at least `min_balance` of (other than the failing one).
#[derive(Debug, Clone)]
pub struct SwitchFeeToken {
    http: reqwest::Client,
    rpc_url: String,
    tokens: Vec<String>,
    min_balance: u128,
}

impl SwitchFeeToken {
    /// Tokens in order of preference.
    pub fn new(
        http: reqwest::Client,
        rpc_url: impl Into<String>,
        tokens: Vec<String>,
        min_balance: u128,
    ) -> Self {
        SwitchFeeToken {
            http,
            rpc_url: rpc_url.into(),
            tokens,
            min_balance,
        }
    }
}

#[async_trait]
impl Strategy for SwitchFeeToken {
    fn id(&self) -> StrategyId {
        StrategyId::SwitchFeeToken
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let payer = payer(ctx)?;
        let current = ctx.request.fee_token.as_deref();
        for token in self.tokens.iter().filter(|t| Some(t.as_str()) != current) {
            let bal = balance_of(&self.http, &self.rpc_url, token, payer)
                .await
                .map_err(platform)?;
            if bal >= self.min_balance {
                return Ok(Committed {
                    patches: vec![Patch::FeeToken {
                        token: token.clone(),
                    }],
                    params: json!({ "fee_token": token }),
                    ..Default::default()
                });
            }
        }
        Err(CommitError::NotApplicable(
            "the payer holds no other fee token".into(),
        ))
    }
}

/// reconcile: a payment transaction was sent and no receipt came. Before
/// anything is resent, find out what happened to it:
/// - it landed: the request is told to use it (nothing is paid again);
/// - it reverted, or its nonce was consumed by another transaction so it can
///   never land: resending with the next nonce is safe;
/// - otherwise it may still land: refuse (a second payment could follow).
#[derive(Debug, Clone)]
pub struct ReconcileTx {
    http: reqwest::Client,
    rpc_url: String,
}

impl ReconcileTx {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        ReconcileTx {
            http,
            rpc_url: rpc_url.into(),
        }
    }

    async fn nonce(&self, payer: &str, tag: &str) -> Result<u64, CommitError> {
        let v = call(
            &self.http,
            &self.rpc_url,
            "eth_getTransactionCount",
            json!([payer, tag]),
        )
        .await
        .map_err(platform)?;
        u64::try_from(quantity(&v).map_err(platform)?)
            .map_err(|_| CommitError::Platform("nonce out of range".into()))
    }
}

#[async_trait]
impl Strategy for ReconcileTx {
    fn id(&self) -> StrategyId {
        StrategyId::Reconcile
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let hash =
            ctx.failure.facts.tx_hash.as_deref().ok_or_else(|| {
                CommitError::NotApplicable("no transaction hash to reconcile".into())
            })?;
        let payer = payer(ctx)?;
        let receipt = call(
            &self.http,
            &self.rpc_url,
            "eth_getTransactionReceipt",
            json!([hash]),
        )
        .await
        .map_err(platform)?;
        if !receipt.is_null() {
            let ok = receipt
                .get("status")
                .map(quantity)
                .transpose()
                .map_err(platform)?
                == Some(1);
            if ok {
                return Ok(Committed {
                    patches: vec![Patch::UseExisting {
                        id: hash.to_owned(),
                    }],
                    params: json!({ "outcome": "landed" }),
                    ..Default::default()
                });
            }
            let nonce = self.nonce(payer, "pending").await?;
            return Ok(Committed {
                patches: vec![Patch::Nonce { nonce }],
                params: json!({ "outcome": "reverted" }),
                ..Default::default()
            });
        }
        let tx = call(
            &self.http,
            &self.rpc_url,
            "eth_getTransactionByHash",
            json!([hash]),
        )
        .await
        .map_err(platform)?;
        let tx_nonce = match tx.get("nonce") {
            Some(n) => Some(u64::try_from(quantity(n).map_err(platform)?).unwrap_or(u64::MAX)),
            None => ctx.request.nonce,
        };
        let mined = self.nonce(payer, "latest").await?;
        match tx_nonce {
            Some(n) if mined > n => {
                let nonce = self.nonce(payer, "pending").await?.max(mined);
                Ok(Committed {
                    patches: vec![Patch::Nonce { nonce }],
                    params: json!({ "outcome": "nonce consumed elsewhere" }),
                    ..Default::default()
                })
            }
            _ => Err(CommitError::Unsafe(format!(
                "transaction {hash} may still land (nonce {tx_nonce:?}, mined up to {mined}); not resending"
            ))),
        }
    }
}

/// Probe: when a failure may be about funds, reads the payer's balance in
/// the request's currency, so Perceive can tell "cannot pay the charge" from
/// "cannot pay the fee" (and a bare 500 from an underfunded transfer).
#[derive(Debug, Clone)]
pub struct BalanceProbe {
    http: reqwest::Client,
    rpc_url: String,
}

impl BalanceProbe {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        BalanceProbe {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

fn may_be_about_funds(s: &ErrorSignal) -> bool {
    s.rpc_code == Some(-32003)
        || s.problem_type
            .as_deref()
            .is_some_and(|t| t.ends_with(FailureCode::PaymentInsufficient.as_str()))
        || (s.http_status.is_some_and(|st| st >= 500) && s.facts.payment_receipt.is_none())
}

#[async_trait]
impl Probe for BalanceProbe {
    async fn gather(&self, s: &mut ErrorSignal, req: &PaymentView) {
        if !may_be_about_funds(s) {
            return;
        }
        let (Some(payer), Some(token), Some(amount)) = (&req.payer, &req.currency, req.amount)
        else {
            return;
        };
        match balance_of(&self.http, &self.rpc_url, token, payer).await {
            Ok(b) => {
                s.facts.payer_balance = Some(b);
                s.facts.required_amount = Some(amount);
                s.facts.currency = Some(token.clone());
            }
            Err(e) => tracing::warn!(target: "helix::probe", %e, "balance probe failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_and_overflow_is_an_error() {
        assert_eq!(quantity(&json!("0x0")).unwrap(), 0);
        assert_eq!(quantity(&json!("0x1f")).unwrap(), 31);
        assert!(quantity(&json!("0x1ffffffffffffffffffffffffffffffff")).is_err());
        assert!(quantity(&json!(12)).is_err());
        assert!(quantity(&json!("0xzz")).is_err());
    }
}
