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
    #[error(transparent)]
    Node(helix_core::RpcFault),
    /// No usable answer.
    #[error("rpc transport: {0}")]
    Transport(String),
}

impl helix_core::IntoSignal for RpcError {
    fn to_signal(&self) -> ErrorSignal {
        match self {
            RpcError::Node(f) => f.signal(),
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
        return Err(RpcError::Node(helix_core::RpcFault {
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(2048)
                .collect(),
            data: err.get("data").and_then(Value::as_str).map(str::to_owned),
        }));
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
    account_nonce(http, url, addr, "pending").await
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
        // The payment's own chain, never one read from error text: a
        // hostile answer must not choose where the agent signs.
        let want = ctx
            .request
            .chain_id
            .ok_or_else(|| CommitError::NotApplicable("the payment names no chain id".into()))?;
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

/// What became of a sent transaction, as the chain shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Mined and succeeded: the payment was made.
    Landed,
    /// Mined and failed: nothing moved but its fee.
    Failed,
    /// Not mined and it never can be: its nonce went to another
    /// transaction, or its `valid_before` has passed.
    NeverLands,
    /// Not mined yet; it may still land. `nonce` is its account nonce when
    /// that is known and unused, so a resend under the same nonce can
    /// replace it: at most one of the two can land.
    Pending {
        /// The account nonce it was signed with, still unused on chain.
        nonce: Option<u64>,
    },
}

/// How far past `valid_before` the clock must be before a missing
/// transaction counts as expired: blocks are stamped by their producer's
/// clock, which may run a little behind ours.
const EXPIRY_MARGIN_SECS: u64 = 2;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a sent transaction is known by.
#[derive(Debug, Clone, Default)]
pub struct SentTx<'a> {
    /// Its hash.
    pub hash: &'a str,
    /// Who sent it (for its account nonce).
    pub payer: Option<&'a str>,
    /// The account nonce the sender believes it used; the node's own
    /// record of the transaction wins when it has one.
    pub nonce: Option<u64>,
    /// Its expiry (an expiring-nonce transaction), unix seconds.
    pub valid_before: Option<u64>,
}

async fn receipt_status(
    http: &reqwest::Client,
    url: &str,
    hash: &str,
) -> Result<Option<bool>, RpcError> {
    let r = call(http, url, "eth_getTransactionReceipt", json!([hash])).await?;
    if r.is_null() {
        return Ok(None);
    }
    let status = r.get("status").map(quantity).transpose()?;
    Ok(Some(status == Some(1)))
}

async fn account_nonce(
    http: &reqwest::Client,
    url: &str,
    payer: &str,
    tag: &str,
) -> Result<u64, RpcError> {
    let v = quantity(&call(http, url, "eth_getTransactionCount", json!([payer, tag])).await?)?;
    u64::try_from(v).map_err(|_| RpcError::Transport("nonce out of range".into()))
}

/// Reads the fate of a sent transaction, in an order that a block mined
/// between two reads cannot fool: the clock and the account's mined nonce
/// first, the receipt after. A transaction mined before the first read has
/// its receipt by the second, so "no receipt, nonce used" means another
/// transaction used it; the receipt is read once more before saying so.
pub async fn fate(http: &reqwest::Client, url: &str, tx: &SentTx<'_>) -> Result<Fate, RpcError> {
    let clock = now_secs();
    // An expiring-nonce transaction's `nonce` is not an account nonce.
    let nonce = match (tx.valid_before, tx.payer) {
        // A node that does not know the transaction (or the method) leaves
        // the sender's belief; without either, the receipt alone decides.
        (None, Some(payer)) => call(http, url, "eth_getTransactionByHash", json!([tx.hash]))
            .await
            .ok()
            .and_then(|t| t.get("nonce").and_then(|n| quantity(n).ok()))
            .and_then(|n| u64::try_from(n).ok())
            .or(tx.nonce)
            .map(|n| (payer, n)),
        _ => None,
    };
    let mined = match nonce {
        Some((payer, _)) => Some(account_nonce(http, url, payer, "latest").await?),
        None => None,
    };
    match receipt_status(http, url, tx.hash).await? {
        Some(true) => return Ok(Fate::Landed),
        Some(false) => return Ok(Fate::Failed),
        None => {}
    }
    if let (Some((_, n)), Some(mined)) = (nonce, mined)
        && mined > n
    {
        return Ok(match receipt_status(http, url, tx.hash).await? {
            Some(true) => Fate::Landed,
            Some(false) => Fate::Failed,
            None => Fate::NeverLands,
        });
    }
    if tx
        .valid_before
        .is_some_and(|vb| clock >= vb.saturating_add(EXPIRY_MARGIN_SECS))
    {
        return Ok(Fate::NeverLands);
    }
    Ok(Fate::Pending {
        nonce: nonce.map(|(_, n)| n),
    })
}

/// reconcile: a payment left the agent and its outcome is unknown. Before
/// anything is resent, find out what happened to it, waiting (bounded) for
/// a transaction that may still be mined:
/// - it landed: the request is told to use it (nothing is paid again; a
///   request that cannot take that stops the run with the evidence);
/// - it failed on chain, or can never land: resending is safe;
/// - it may still land but its account nonce is unused: the resend is
///   pinned to that nonce, so at most one of the two lands;
/// - otherwise: refuse (a second payment could follow).
#[derive(Debug, Clone)]
pub struct ReconcileTx {
    http: reqwest::Client,
    rpc_url: String,
    wait: std::time::Duration,
}

impl ReconcileTx {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        ReconcileTx {
            http,
            rpc_url: rpc_url.into(),
            wait: std::time::Duration::from_secs(10),
        }
    }

    /// How long to wait for a pending transaction (default 10 s; an
    /// expiring one is waited for until its `valid_before` passes, within
    /// the engine's commit timeout).
    pub fn with_wait(mut self, wait: std::time::Duration) -> Self {
        self.wait = wait;
        self
    }
}

#[async_trait]
impl Strategy for ReconcileTx {
    fn id(&self) -> StrategyId {
        StrategyId::Reconcile
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let facts = &ctx.failure.facts;
        let hash = facts
            .tx_hash
            .as_deref()
            .ok_or_else(|| CommitError::NotApplicable("no transaction hash to reconcile".into()))?;
        let sent = SentTx {
            hash,
            payer: ctx.request.payer.as_deref(),
            // Nothing was patched since the send: the request's nonce is
            // the one it went out with.
            nonce: ctx.request.nonce,
            valid_before: facts.valid_before,
        };
        let wait = match facts.valid_before {
            Some(vb) => std::time::Duration::from_secs(
                vb.saturating_add(EXPIRY_MARGIN_SECS + 1)
                    .saturating_sub(now_secs()),
            ),
            None => self.wait,
        };
        let deadline = tokio::time::Instant::now() + wait;
        let outcome = loop {
            let f = fate(&self.http, &self.rpc_url, &sent)
                .await
                .map_err(platform)?;
            if !matches!(f, Fate::Pending { .. }) || tokio::time::Instant::now() >= deadline {
                break f;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        let resend = |outcome: &str, nonce: Option<u64>| Committed {
            patches: nonce
                .map(|nonce| Patch::Nonce { nonce })
                .into_iter()
                .collect(),
            params: json!({ "outcome": outcome }),
            ..Default::default()
        };
        let next_nonce = async {
            match ctx.request.payer.as_deref() {
                Some(p) if facts.valid_before.is_none() => {
                    pending_nonce(&self.http, &self.rpc_url, p)
                        .await
                        .map(Some)
                        .map_err(platform)
                }
                _ => Ok(None),
            }
        };
        match outcome {
            Fate::Landed => Ok(Committed {
                patches: vec![Patch::UseExisting {
                    id: hash.to_owned(),
                }],
                params: json!({ "outcome": "landed" }),
                ..Default::default()
            }),
            Fate::Failed => Ok(resend("reverted", next_nonce.await?)),
            Fate::NeverLands => Ok(resend("never lands", next_nonce.await?)),
            Fate::Pending { nonce: Some(n) } => Ok(resend("pending; resend replaces it", Some(n))),
            Fate::Pending { nonce: None } => Err(CommitError::Unsafe(format!(
                "transaction {hash} may still land; not resending"
            ))),
        }
    }
}

/// Probe: a payment left the agent and the call failed. Reads the sent
/// transaction's fate from the chain, so a failure that provably moved no
/// funds (a failed receipt, an expired transaction never mined) is
/// classified by what it says, and any other stays an unknown outcome.
#[derive(Debug, Clone)]
pub struct SentTxProbe {
    http: reqwest::Client,
    rpc_url: String,
}

impl SentTxProbe {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        SentTxProbe {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

#[async_trait]
impl Probe for SentTxProbe {
    async fn gather(&self, s: &mut ErrorSignal, req: &PaymentView) {
        if !helix_core::sent::outcome_unproven(s) {
            return;
        }
        let Some(hash) = s.facts.tx_hash.clone() else {
            return;
        };
        let sent = SentTx {
            hash: &hash,
            payer: req.payer.as_deref(),
            nonce: req.nonce,
            valid_before: s.facts.valid_before,
        };
        match fate(&self.http, &self.rpc_url, &sent).await {
            Ok(Fate::Failed | Fate::NeverLands) => s.facts.not_charged = true,
            Ok(_) => {}
            Err(e) => tracing::warn!(target: "helix::probe", %e, "sent-transaction probe failed"),
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
    // After a payment left, a low balance may be the payment itself.
    if helix_core::sent::may_have_paid(s) {
        return false;
    }
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
