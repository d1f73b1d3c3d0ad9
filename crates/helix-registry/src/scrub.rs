//! What leaves the agent: a gene reduced to the repair and its record.
//!
//! A local gene's parameters can hold what a payment knew (an amount topped
//! up, a token, an outcome); a pushed gene must carry no counterparty,
//! amount, address other than the pusher's, URL, path or key. The rule is
//! an allow-list, so a parameter a future executor adds stays home until it
//! is listed here:
//!
//! | key | kept when |
//! |---|---|
//! | `wait_ms`, `waited_ms`, `deadline_ms` | a whole number up to one day |
//! | `max_slippage_bps` | a whole number up to 10,000 |
//! | `parts` | a whole number up to 64 |
//! | `outcome` | one of reconcile's fixed words |
//! | `fee_token` | a TIP-20 token address (the `0x20c0…` prefix every TIP-20 has): a public contract, never an account |
//!
//! Everything else in the gene that could identify a payment (its created
//! and used times, cost, q and confidence, which are the agent's own
//! learning) is not copied either: only the key, strategy, platforms,
//! counts and mean time travel.

use helix_core::Gene;
use serde_json::{Map, Value};

use crate::wire::SharedGene;

const DAY_MS: u64 = 86_400_000;
const OUTCOMES: &[&str] = &[
    "landed",
    "reverted",
    "never lands",
    "pending; resend replaces it",
];
/// Every TIP-20 token lives at an address with these first 12 bytes.
const TIP20_PREFIX: &str = "0x20c0000000000000000000000";

/// The gene as it may leave the agent.
pub fn scrub(g: &Gene) -> SharedGene {
    SharedGene {
        code: g.key.code,
        category: g.key.category,
        strategy: g.strategy,
        params: scrub_params(&g.params),
        platforms: g.platforms.clone(),
        successes: g.successes,
        failures: g.failures,
        mean_ms: if g.mean_ms.is_finite() && g.mean_ms > 0.0 {
            g.mean_ms.round() as u64
        } else {
            0
        },
    }
}

/// The allowed parameters of `params` (an object; anything else is dropped).
pub fn scrub_params(params: &Value) -> Value {
    let Value::Object(map) = params else {
        return Value::Null;
    };
    let kept: Map<String, Value> = map
        .iter()
        .filter(|(k, v)| allowed(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if kept.is_empty() {
        Value::Null
    } else {
        Value::Object(kept)
    }
}

fn allowed(key: &str, v: &Value) -> bool {
    let whole_up_to = |max: u64| v.as_u64().is_some_and(|n| n <= max);
    match key {
        "wait_ms" | "waited_ms" | "deadline_ms" => whole_up_to(DAY_MS),
        "max_slippage_bps" => whole_up_to(10_000),
        "parts" => whole_up_to(64),
        "outcome" => v.as_str().is_some_and(|s| OUTCOMES.contains(&s)),
        "fee_token" => v.as_str().is_some_and(is_tip20),
        _ => false,
    }
}

fn is_tip20(s: &str) -> bool {
    s.len() == 42
        && s.get(..TIP20_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(TIP20_PREFIX))
        && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a value is already scrubbed (the registry refuses pushes whose
/// parameters are not, rather than trusting every client to scrub).
pub fn is_scrubbed(params: &Value) -> bool {
    scrub_params(params) == *params
}

#[cfg(test)]
mod tests {
    use super::*;
    use helix_core::{Category, FailureCode, GeneKey, GeneSource, Platform, StrategyId};
    use serde_json::json;

    const SECRETS: &[&str] = &[
        "0x1111111111111111111111111111111111111111",
        "https://api.merchant.example/v1/invoices/77",
        "/v1/invoices/77",
        "123456789",
        "sk_live_abcdef",
        "0xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
        "idem-key-42",
        "merchant",
    ];

    /// A gene with every field set, identifying data in every place a
    /// parameter could hide it.
    fn leaky_gene() -> Gene {
        Gene {
            key: GeneKey {
                code: FailureCode::PaymentInsufficient,
                category: Category::Balance,
            },
            strategy: StrategyId::SwapCurrency,
            params: json!({
                "max_slippage_bps": 50,
                "parts": 3,
                "wait_ms": 1200,
                "outcome": "landed",
                "fee_token": "0x20C0000000000000000000000000000000000001",
                "topped_up": "123456789",
                "recipient": SECRETS[0],
                "url": SECRETS[1],
                "path": SECRETS[2],
                "amount": 123456789,
                "api_key": SECRETS[4],
                "private_key": SECRETS[5],
                "idempotency_key": SECRETS[6],
                "note": { "payee": SECRETS[7], "to": SECRETS[0] },
                "list": [SECRETS[0]],
            }),
            q: 0.9,
            successes: 4,
            failures: 1,
            consecutive_failures: 0,
            mean_ms: 812.4,
            mean_cost: 123456789.0,
            platforms: vec![Platform::Tempo, Platform::Http],
            source: GeneSource::Pcec,
            confidence: 1.0,
            expires_at: Some(987654321),
            created_at: 1_700_000_000_001,
            last_used_at: 1_700_000_000_002,
        }
    }

    #[test]
    fn nothing_identifying_survives_in_any_field() {
        let g = leaky_gene();
        let shared = scrub(&g);
        let text = serde_json::to_string(&shared).unwrap();
        for s in SECRETS {
            assert!(!text.contains(s), "{s} leaked: {text}");
        }
        for n in ["987654321", "1700000000001", "1700000000002", "0.9"] {
            assert!(!text.contains(n), "{n} leaked: {text}");
        }
        assert_eq!(
            shared.params,
            json!({
                "max_slippage_bps": 50, "parts": 3, "wait_ms": 1200, "outcome": "landed",
                "fee_token": "0x20C0000000000000000000000000000000000001",
            })
        );
        assert_eq!(
            (shared.successes, shared.failures, shared.mean_ms),
            (4, 1, 812)
        );
        assert_eq!(shared.platforms, vec![Platform::Tempo, Platform::Http]);
        assert!(is_scrubbed(&shared.params));
    }

    #[test]
    fn allowed_keys_with_identifying_values_are_dropped() {
        let p = json!({
            "fee_token": "0x1111111111111111111111111111111111111111",
            "outcome": "sent to 0x1111111111111111111111111111111111111111",
            "wait_ms": "https://x.example",
            "parts": 1_000_000,
            "max_slippage_bps": -5,
        });
        assert_eq!(scrub_params(&p), Value::Null);
        assert!(!is_scrubbed(&p));
        assert_eq!(scrub_params(&json!([1, 2])), Value::Null);
        assert_eq!(
            scrub_params(&json!("0x1111111111111111111111111111111111111111")),
            Value::Null
        );
    }
}
