use helix_core::{Category as K, Facts, FailureCode as C, Platform};

use crate::extract::amount_after;
use crate::rules::Rule;
use crate::tempo::{extract_chain_id, extract_nonce};

fn extract_limit(m: &str, f: &mut Facts) {
    f.limit_amount = [
        "transfer to",
        "limit of",
        "limited to",
        "limit is",
        "max",
        "maximum",
        "limits",
    ]
    .iter()
    .find_map(|k| amount_after(m, k));
    f.required_amount = ["requested:", "requested", "attempted", "amount:"]
        .iter()
        .find_map(|k| amount_after(m, k));
}

const fn rule(
    name: &'static str,
    code: C,
    category: K,
    all: &'static [&'static [&'static str]],
    extract: crate::rules::Extract,
) -> Rule {
    Rule::new(Platform::Privy, name, code, category, all)
        .unless(&["transfer policy", "tip-403", "tip403"])
        .extract(extract)
}

fn no_facts(_: &str, _: &mut Facts) {}

pub const RULES: &[Rule] = &[
    rule(
        "policy",
        C::PolicyViolation,
        K::Policy,
        &[
            &[
                "policy",
                "policies",
                "amount_exceeds_limit",
                "spending limit",
                "spend limit",
                "transfer limit",
            ],
            &[
                "exceed*",
                "limit*",
                "rejected",
                "denied",
                "violat*",
                "not allowed",
                "disallowed",
                "above",
                "over the",
            ],
        ],
        extract_limit,
    ),
    rule(
        "wallet-nonce",
        C::VerificationFailed,
        K::Signature,
        &[
            &["wallet", "embedded", "server wallet"],
            &["nonce"],
            &[
                "mismatch*",
                "desync*",
                "out of sync",
                "stuck",
                "behind",
                "ahead",
            ],
        ],
        extract_nonce,
    ),
    rule(
        "gas-sponsor",
        C::PaymentInsufficient,
        K::Fee,
        &[
            &[
                "sponsor",
                "sponsorship",
                "sponsored",
                "paymaster",
                "gas tank",
                "gas credits",
            ],
            &[
                "depleted",
                "exhausted",
                "insufficient",
                "empty",
                "ran out",
                "out of funds",
                "no balance",
                "zero balance",
                "has 0",
                "cannot pay",
                "not enough",
            ],
        ],
        no_facts,
    ),
    rule(
        "wallet-chain",
        C::TokenUninitialized,
        K::Network,
        &[
            &["provisioned", "wallet"],
            &[
                "chain", "chainid", "chain id", "network", "mainnet", "caip2", "caip-2",
            ],
            &[
                "mismatch*",
                "mismatched",
                "different",
                "wrong",
                "cannot sign",
                "not supported",
                "unsupported",
                "not enabled",
                "targets",
            ],
        ],
        extract_chain_id,
    ),
];
