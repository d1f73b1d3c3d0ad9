//! The lab chain: a TIP-20 ledger behind Ethereum JSON-RPC, with the error
//! codes, messages and custom-error selectors a Tempo node gives.
//!
//! STAND-IN: this is not a chain. It keeps balances, nonces, a transfer
//! policy and pause flags so that chain-side failures can be produced and
//! repaired in-process; the real chain (anvil --network tempo) is the
//! helix-tempo work. Every number it reports comes from its ledger: a repair
//! that did nothing leaves the ledger as it was, and the retried payment fails.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::tokens::{FEE, PEG_RESERVE, TOKENS};

/// A JSON-RPC error as a node sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeError {
    /// JSON-RPC code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Revert data.
    pub data: Option<String>,
}

impl NodeError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        NodeError {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn revert(selector_hex: &str, args: &str) -> Self {
        NodeError {
            code: 3,
            message: format!("execution reverted: custom error 0x{selector_hex}"),
            data: Some(format!("0x{selector_hex}{args}")),
        }
    }

    /// The JSON-RPC error object.
    pub fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.data {
            e["data"] = json!(d);
        }
        e
    }
}

/// Selectors of the TIP-20 / DEX custom errors the lab raises.
pub mod selectors {
    /// `PolicyForbids()`.
    pub const POLICY_FORBIDS: &str = "54cfe659";
    /// `ContractPaused()`.
    pub const CONTRACT_PAUSED: &str = "ab35696f";
}

fn selector(sig: &str) -> String {
    use tiny_keccak_lite::keccak4;
    hex4(keccak4(sig.as_bytes()))
}

fn hex4(b: [u8; 4]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A transfer or call as the lab signs and sends it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tx {
    /// Sender.
    pub from: String,
    /// Recipient of the tokens.
    pub to: String,
    /// TIP-20 token.
    pub token: String,
    /// Base units.
    pub amount: u128,
    /// Account nonce.
    pub nonce: u64,
    /// Token the fee is paid in.
    pub fee_token: String,
    /// Chain the transaction is signed for.
    pub chain_id: u64,
    /// Not includable from this unix second on (as an MPP charge's
    /// expiring-nonce transaction is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_before: Option<u64>,
}

impl Tx {
    /// Its hash: what it says, so the sender knows it before any answer.
    pub fn hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        format!("{}", alloy::primitives::keccak256(bytes))
    }
}

/// A landed transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Landed {
    /// Transaction hash.
    pub hash: String,
    /// What was sent.
    pub tx: Tx,
}

/// One chain's state.
#[derive(Debug, Default)]
pub struct Chain {
    /// Chain id.
    pub id: u64,
    /// Whether TIP-20 tokens exist on this chain.
    pub tokens_initialized: bool,
    balances: HashMap<(String, String), u128>,
    nonces: HashMap<String, u64>,
    /// Paused tokens.
    pub paused: HashSet<String>,
    /// (token, account) pairs the transfer policy forbids.
    pub blocked: HashSet<(String, String)>,
    /// Every landed transfer, in order.
    pub landed: Vec<Landed>,
    /// Transactions mined with a failed status (a transfer that reverted).
    failed: HashSet<String>,
    /// Pool reserves per token (each pool is token <-> pathUSD-valued peg).
    reserves: HashMap<String, u128>,
    tx_count: u64,
}

fn key(token: &str, addr: &str) -> (String, String) {
    (token.to_ascii_lowercase(), addr.to_ascii_lowercase())
}

impl Chain {
    /// A chain with tokens (or, for a "wrong network", without).
    pub fn new(id: u64, tokens_initialized: bool) -> Self {
        Chain {
            id,
            tokens_initialized,
            ..Default::default()
        }
    }

    /// Balance of `addr` in `token`.
    pub fn balance(&self, token: &str, addr: &str) -> u128 {
        self.balances.get(&key(token, addr)).copied().unwrap_or(0)
    }

    /// Sets a balance (lab set-up only).
    pub fn set_balance(&mut self, token: &str, addr: &str, v: u128) {
        self.balances.insert(key(token, addr), v);
    }

    /// Next nonce of `addr`.
    pub fn nonce(&self, addr: &str) -> u64 {
        self.nonces
            .get(&addr.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Sets the next nonce (lab set-up: transactions sent by another process).
    pub fn set_nonce(&mut self, addr: &str, n: u64) {
        self.nonces.insert(addr.to_ascii_lowercase(), n);
    }

    /// Sets a pool's depth (thin books for the slippage row).
    pub fn set_reserve(&mut self, token: &str, depth: u128) {
        self.reserves.insert(token.to_ascii_lowercase(), depth);
    }

    fn reserve(&self, token: &str) -> u128 {
        self.reserves
            .get(&token.to_ascii_lowercase())
            .copied()
            .unwrap_or(PEG_RESERVE)
    }

    fn next_hash(&mut self) -> String {
        self.tx_count += 1;
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&self.tx_count.to_be_bytes());
        h[8..16].copy_from_slice(&self.id.to_be_bytes());
        h[16..24].copy_from_slice(&rand::random::<u64>().to_be_bytes());
        format!(
            "0x{}",
            h.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    /// Records `tx` as mined and reverted, as a chain does with a broadcast
    /// transfer that fails: its receipt has a failed status.
    pub fn record_failed(&mut self, tx: &Tx) {
        self.failed.insert(tx.hash());
    }

    /// Checks a transaction exactly as gas estimation would.
    pub fn check(&self, tx: &Tx, extra_debit: u128) -> Result<(), NodeError> {
        if tx.chain_id != self.id {
            return Err(NodeError::new(
                -32000,
                format!(
                    "invalid chain id for signer: have {} want {}",
                    tx.chain_id, self.id
                ),
            ));
        }
        if !self.tokens_initialized {
            return Err(NodeError::new(
                -32000,
                format!(
                    "TIP-20 token uninitialized: {} has no code on chain {}",
                    tx.token, self.id
                ),
            ));
        }
        let next = self.nonce(&tx.from);
        if tx.nonce < next {
            return Err(NodeError::new(
                -32000,
                format!("nonce too low: next nonce {next}, tx nonce {}", tx.nonce),
            ));
        }
        if tx.nonce > next {
            return Err(NodeError::new(
                -32000,
                format!("nonce too high: next nonce {next}, tx nonce {}", tx.nonce),
            ));
        }
        let fee_need = FEE
            + if eq(&tx.fee_token, &tx.token) {
                tx.amount + extra_debit
            } else {
                0
            };
        if self.balance(&tx.fee_token, &tx.from) < fee_need {
            return Err(NodeError::new(
                -32003,
                "Insufficient funds for gas * price + value",
            ));
        }
        if self.paused.contains(&tx.token.to_ascii_lowercase()) {
            return Err(NodeError::revert(selectors::CONTRACT_PAUSED, ""));
        }
        if self.blocked.contains(&key(&tx.token, &tx.from))
            || self.blocked.contains(&key(&tx.token, &tx.to))
        {
            return Err(NodeError::revert(selectors::POLICY_FORBIDS, ""));
        }
        let have = self.balance(&tx.token, &tx.from);
        if have < tx.amount + extra_debit {
            let args = format!(
                "{have:064x}{:064x}{:0>64}",
                tx.amount,
                tx.token.trim_start_matches("0x")
            );
            return Err(NodeError::revert(
                &selector("InsufficientBalance(uint256,uint256,address)"),
                &args,
            ));
        }
        Ok(())
    }

    /// Sends a transfer: checks, debits amount and fee, bumps the nonce.
    pub fn send(&mut self, tx: Tx) -> Result<String, NodeError> {
        // Inclusion, not estimation, is what an expiry forbids.
        if let Some(vb) = tx.valid_before
            && now_secs() >= vb
        {
            return Err(NodeError::new(
                -32000,
                format!("transaction expired: valid before {vb}"),
            ));
        }
        self.check(&tx, 0)?;
        self.debit(&tx.token, &tx.from, tx.amount);
        self.debit(&tx.fee_token, &tx.from, FEE);
        let to = self.balance(&tx.token, &tx.to);
        self.set_balance(&tx.token, &tx.to, to + tx.amount);
        self.set_nonce(&tx.from, tx.nonce + 1);
        let hash = tx.hash();
        self.landed.push(Landed {
            hash: hash.clone(),
            tx,
        });
        Ok(hash)
    }

    fn debit(&mut self, token: &str, addr: &str, v: u128) {
        let b = self.balance(token, addr);
        self.set_balance(token, addr, b.saturating_sub(v));
    }

    /// What a swap of `amount_in` would give: constant product on the two
    /// pools' depths, no fee.
    pub fn quote(&self, token_in: &str, token_out: &str, amount_in: u128) -> u128 {
        let (rin, rout) = (self.reserve(token_in), self.reserve(token_out));
        rout.saturating_mul(amount_in) / rin.saturating_add(amount_in).max(1)
    }

    /// Swaps with a min-out bound; the lab's arbitrageur restores the peg after
    /// each swap, which is why several small swaps beat one large one.
    pub fn swap(
        &mut self,
        from: &str,
        token_in: &str,
        token_out: &str,
        amount_in: u128,
        min_out: u128,
    ) -> Result<(String, u128), NodeError> {
        if min_out == 0 {
            return Err(NodeError::new(
                -32602,
                "refusing a swap without a min-out bound",
            ));
        }
        if !self.tokens_initialized {
            return Err(NodeError::new(-32000, "TIP-20 token uninitialized"));
        }
        if self.balance(token_in, from) < amount_in + FEE {
            let args = format!(
                "{:064x}{amount_in:064x}{:0>64}",
                self.balance(token_in, from),
                token_in.trim_start_matches("0x")
            );
            return Err(NodeError::revert(
                &selector("InsufficientBalance(uint256,uint256,address)"),
                &args,
            ));
        }
        let out = self.quote(token_in, token_out, amount_in);
        if out < min_out {
            return Err(NodeError::revert(&selector("InsufficientOutput()"), ""));
        }
        self.debit(token_in, from, amount_in + FEE);
        let b = self.balance(token_out, from);
        self.set_balance(token_out, from, b + out);
        let n = self.nonce(from);
        self.set_nonce(from, n + 1);
        Ok((self.next_hash(), out))
    }

    /// Answers one JSON-RPC request.
    pub fn rpc(&mut self, method: &str, params: &Value) -> Result<Value, NodeError> {
        let p = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
        match method {
            "eth_chainId" => Ok(json!(format!("0x{:x}", self.id))),
            "eth_getTransactionCount" => {
                let a = p(0)
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("address"))?;
                Ok(json!(format!("0x{:x}", self.nonce(&a))))
            }
            "eth_getTransactionReceipt" => {
                let h = p(0)
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("hash"))?;
                let status = if self.landed.iter().any(|l| l.hash.eq_ignore_ascii_case(&h)) {
                    "0x1"
                } else if self.failed.contains(&h.to_ascii_lowercase()) {
                    "0x0"
                } else {
                    return Ok(Value::Null);
                };
                Ok(json!({"transactionHash": h, "status": status}))
            }
            "eth_call" => {
                let call = p(0);
                let to = call
                    .get("to")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("to"))?;
                let data = call
                    .get("data")
                    .or_else(|| call.get("input"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("data"))?;
                let owner = data
                    .strip_prefix("0x70a08231")
                    .filter(|a| a.len() == 64)
                    .map(|a| format!("0x{}", &a[24..]))
                    .ok_or_else(|| NodeError::new(-32000, "execution reverted"))?;
                if !self.tokens_initialized || !TOKENS.iter().any(|t| eq(t.address, to)) {
                    return Ok(json!("0x"));
                }
                Ok(json!(format!("0x{:064x}", self.balance(to, &owner))))
            }
            "eth_estimateGas" => {
                let tx: Tx = serde_json::from_value(p(0)).map_err(|e| bad(&e.to_string()))?;
                self.check(&tx, 0).map(|_| json!("0x5208"))
            }
            "eth_sendTransaction" => {
                let tx: Tx = serde_json::from_value(p(0)).map_err(|e| bad(&e.to_string()))?;
                self.send(tx).map(|h| json!(h))
            }
            "lab_quote" => {
                let (i, o, a) = swap_args(&p(0))?;
                Ok(json!(self.quote(&i, &o, a).to_string()))
            }
            "lab_swap" => {
                let v = p(0);
                let (i, o, a) = swap_args(&v)?;
                let from = v
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("from"))?
                    .to_owned();
                let min = v
                    .get("minAmountOut")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("minAmountOut"))?;
                let (hash, out) = self.swap(&from, &i, &o, a, min)?;
                Ok(json!({"hash": hash, "amountOut": out.to_string()}))
            }
            "lab_sendBatch" => {
                let v = p(0);
                let from = v
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("from"))?
                    .to_owned();
                let calls = v
                    .get("calls")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("calls"))?;
                for (i, c) in calls.iter().enumerate() {
                    if c.get("data").and_then(Value::as_str) == Some("0xdead") {
                        return Err(NodeError::new(
                            3,
                            format!("batch call {i} reverted: execution reverted"),
                        ));
                    }
                }
                let mut hashes = Vec::new();
                for c in calls {
                    let mut tx: Tx =
                        serde_json::from_value(c.get("tx").cloned().unwrap_or(Value::Null))
                            .map_err(|e| bad(&e.to_string()))?;
                    tx.from = from.clone();
                    tx.nonce = self.nonce(&from);
                    hashes.push(self.send(tx)?);
                }
                Ok(json!(hashes))
            }
            other => Err(NodeError::new(
                -32601,
                format!("the method {other} does not exist/is not available"),
            )),
        }
    }
}

fn swap_args(v: &Value) -> Result<(String, String, u128), NodeError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(k))
    };
    let a = s("amountIn")?.parse().map_err(|_| bad("amountIn"))?;
    Ok((s("tokenIn")?, s("tokenOut")?, a))
}

fn bad(what: &str) -> NodeError {
    NodeError::new(-32602, format!("invalid params: {what}"))
}

/// Case-insensitive address equality.
pub fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Keccak-256 selectors without pulling a hash crate into the lab's public API.
mod tiny_keccak_lite {
    pub fn keccak4(data: &[u8]) -> [u8; 4] {
        use tiny_keccak::{Hasher, Keccak};
        let mut k = Keccak::v256();
        k.update(data);
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        [out[0], out[1], out[2], out[3]]
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{AGENT, ALPHA, BETA, MERCHANT};

    fn chain() -> Chain {
        let mut c = Chain::new(42431, true);
        c.set_balance(ALPHA, AGENT, 1_000_000);
        c
    }

    fn tx(amount: u128, nonce: u64) -> Tx {
        Tx {
            from: AGENT.into(),
            to: MERCHANT.into(),
            token: ALPHA.into(),
            amount,
            nonce,
            fee_token: ALPHA.into(),
            chain_id: 42431,
            valid_before: None,
        }
    }

    #[test]
    fn errors_are_the_nodes_own() {
        let mut c = chain();
        assert_eq!(
            c.check(&tx(10, 1), 0).unwrap_err().message,
            "nonce too high: next nonce 0, tx nonce 1"
        );
        assert_eq!(c.check(&tx(2_000_000, 0), 0).unwrap_err().code, -32003);
        c.paused.insert(ALPHA.to_ascii_lowercase());
        assert!(
            c.check(&tx(10, 0), 0)
                .unwrap_err()
                .message
                .ends_with("0xab35696f")
        );
        c.paused.clear();
        c.blocked.insert(key(ALPHA, AGENT));
        assert!(
            c.check(&tx(10, 0), 0)
                .unwrap_err()
                .message
                .ends_with("0x54cfe659")
        );
    }

    #[test]
    fn transfers_move_exactly_amount_and_fee() {
        let mut c = chain();
        c.send(tx(500_000, 0)).unwrap();
        assert_eq!(c.balance(ALPHA, AGENT), 1_000_000 - 500_000 - FEE);
        assert_eq!(c.balance(ALPHA, MERCHANT), 500_000);
        assert_eq!(c.nonce(AGENT), 1);
        assert!(c.send(tx(1, 0)).is_err(), "a nonce is used once");
    }

    #[test]
    fn thin_pools_revert_big_swaps_and_accept_small_ones() {
        let mut c = chain();
        c.set_balance(BETA, AGENT, 1_000_000_000);
        c.set_reserve(BETA, 2_000_000_000);
        c.set_reserve(ALPHA, 2_000_000_000);
        let big = 100_000_000;
        assert!(
            c.swap(AGENT, BETA, ALPHA, big, big * 9950 / 10_000)
                .is_err()
        );
        let part = big / 20;
        let (_, out) = c
            .swap(AGENT, BETA, ALPHA, part, part * 9950 / 10_000)
            .unwrap();
        assert!(out >= part * 9950 / 10_000);
        assert!(
            c.swap(AGENT, BETA, ALPHA, part, 0).is_err(),
            "no zero bound"
        );
    }
}
