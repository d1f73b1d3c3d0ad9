use helix_core::{Category as K, Facts, FailureCode as C, Platform};

use crate::perception::extract::{Extractor, Located};
use crate::perception::rules::Rule;
use crate::tempo::{EXTRACT_CHAIN_ID, EXTRACT_NONCE};

const LIMIT_KEYS: &[&str] = &[
    "transfer to",
    "limit of",
    "limited to",
    "limit is",
    "max",
    "maximum",
    "limits",
];
const ASKED_KEYS: &[&str] = &["requested:", "requested", "attempted", "amount:"];

const EXTRACT_LIMIT: Extractor = Extractor {
    keys: &[LIMIT_KEYS, ASKED_KEYS],
    run: |m: &Located<'_>, f: &mut Facts| {
        f.limit_amount = LIMIT_KEYS.iter().find_map(|k| m.amount_after(k));
        f.required_amount = ASKED_KEYS.iter().find_map(|k| m.amount_after(k));
    },
};

const NO_FACTS: Extractor = Extractor {
    keys: &[],
    run: |_: &Located<'_>, _: &mut Facts| {},
};

const fn rule(
    name: &'static str,
    code: C,
    category: K,
    all: &'static [&'static [&'static str]],
    extract: &'static Extractor,
) -> Rule {
    Rule::new(Platform::Privy, name, code, category, all)
        .unless(&["transfer policy", "tip-403", "tip403"])
        .extract(extract)
}

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
        &EXTRACT_LIMIT,
    )
    // A fee token a sponsor's policy refuses is a currency the payer must
    // change, not a spending limit.
    .unless(&["transfer policy", "tip-403", "tip403", "fee token"]),
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
        &EXTRACT_NONCE,
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
        &NO_FACTS,
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
        &EXTRACT_CHAIN_ID,
    ),
];
