//! Shared inputs of the Helix benchmarks: a deterministic corpus of
//! real-world error strings (plain and structured), varied by value, and
//! the immune decision they time ([`decision`]).

pub mod decision;

/// Plain-text error messages in the wordings platforms use, with values
/// varied so no two are identical. Deterministic: the same 1,200 strings
/// on every run.
pub fn plain_corpus() -> Vec<String> {
    const TEMPLATES: &[&str] = &[
        "nonce too low: next nonce {n}, tx nonce {m}",
        "Nonce too high. Expected nonce to be {n} but got {m}",
        "server returned an error response: error code -32000: nonce too low",
        "Transaction nonce mismatch: wallet internal nonce={n} but chain nonce={m}. Two pending transactions may be stuck in mempool",
        "execution reverted: ERC20: transfer amount exceeds balance",
        "insufficient balance: have {n} want {m}",
        "gas estimation failed: server returned an error response: error code -32003: Insufficient funds for gas * price + value",
        "execution reverted: custom error 0x54cfe659",
        "execution reverted: custom error 0xab35696f",
        "Challenge expired at unix time {n}",
        "invalid challenge: unknown challenge id {h}",
        "Unsupported currency BetaUSD: this service only accepts AlphaUSD",
        "batch call {d} reverted: execution reverted",
        "swap failed: slippage exceeded {d} bps",
        "execution reverted: InsufficientOutput()",
        "Payment accepted but the service returned 500 Internal Server Error",
        "Off-ramp provider returned 503 Service Unavailable",
        "chain id mismatch: expected {n}, got {m}",
        "Privy policy engine rejected transaction: AMOUNT_EXCEEDS_LIMIT. Policy \"max_transfer_{d}\" limits single transfer to {d} USDC. Requested: {n} USDC",
        "Privy automated gas sponsorship balance depleted. Sponsor wallet 0x{h} has 0 USDC. Cannot pay gas for agent transaction",
        "Privy wallet wlt_{h} is provisioned on Ethereum mainnet but transaction targets Tempo chain (chainId: {n}). Cannot sign for mismatched chain",
        "429 Too Many Requests",
        "rate limit exceeded, retry after {d} seconds",
        "502 Bad Gateway",
        "upstream connect error or disconnect/reset before headers. reset reason: overflow",
        "operation timed out after {n} ms",
        "context deadline exceeded",
        "Your card was declined.",
        "Your card has insufficient funds.",
        "Your card has expired.",
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k{h}' if you meant to execute a different request.",
        "Your card was declined. This transaction requires authentication.",
        "Transferred {d} USDC to 0x{h}",
        "Payment succeeded: tx 0x{h} confirmed in block {n}",
        "the moon is in the wrong phase ({d})",
    ];
    let mut out = Vec::with_capacity(1_200);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < 1_200 {
        for t in TEMPLATES {
            let s = t
                .replace("{n}", &(next() % 1_000_000).to_string())
                .replace("{m}", &(next() % 1_000_000).to_string())
                .replace("{d}", &(next() % 5_000).to_string())
                .replace("{h}", &format!("{:016x}", next()));
            out.push(s);
            if out.len() == 1_200 {
                break;
            }
        }
    }
    out
}

/// Structured error bodies (problem+json, Stripe, Privy, JSON-RPC) with an
/// HTTP status, as they come off the wire.
pub fn structured_corpus() -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for i in 0..250u32 {
        out.push((402, format!(r#"{{"type":"https://paymentauth.org/problems/payment-insufficient","title":"Payment Insufficient","status":402,"detail":"balance {i} below charge"}}"#)));
        out.push((402, format!(r#"{{"error":{{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{{"id":"pi_{i:08}"}}}}}}"#)));
        out.push((403, format!(r#"{{"error":"Privy policy engine rejected transaction: AMOUNT_EXCEEDS_LIMIT. Requested: {i} USDC","code":"policy_violation"}}"#)));
        out.push((200, format!(r#"{{"jsonrpc":"2.0","id":{i},"error":{{"code":3,"message":"execution reverted","data":"0x54cfe659"}}}}"#)));
    }
    out
}
