//! A small JSON-RPC client: the chain id of an endpoint, an account's nonce,
//! token balances, and what became of a sent transaction ([`fate`]). Plain
//! Ethereum JSON-RPC, so it works against anvil, a Tempo node or the lab
//! alike. The repairs and probes built on it are Tempo's
//! (`helix-platforms/tempo`).

use std::time::Duration;

use helix_core::ErrorSignal;
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

/// How long until [`fate`] may call a transaction that is still missing
/// with this `valid_before` expired.
pub fn until_expired(valid_before: u64) -> Duration {
    Duration::from_secs(
        valid_before
            .saturating_add(EXPIRY_MARGIN_SECS + 1)
            .saturating_sub(now_secs()),
    )
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
