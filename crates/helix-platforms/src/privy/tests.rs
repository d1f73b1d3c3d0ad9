use helix_core::{Adapter, Category as K, ErrorSignal, FailureCode as C, Platform::Privy};

use crate::perception::extract::UNIT;
use crate::perception::testutil::{C as CL, all_classify};

#[test]
fn row_14_policy_limit() {
    all_classify(
        &[
            "Privy policy engine rejected transaction: AMOUNT_EXCEEDS_LIMIT. Policy \"max_transfer_500\" limits single transfer to 500 USDC. Requested: 2500 USDC",
            "Transaction denied by wallet policy: value exceeds the per-transaction limit",
            "policy violation: spending limit of 1000 USDC per day exceeded",
            "Policy max_transfer_100 rejected the request",
            "Request not allowed by policy rule 'usdc-cap'",
        ],
        C::PolicyViolation,
        K::Policy,
        Privy,
    );
    let f = CL.classify_message("Privy policy engine rejected transaction: AMOUNT_EXCEEDS_LIMIT. Policy \"max_transfer_500\" limits single transfer to 500 USDC. Requested: 2500 USDC").unwrap();
    assert_eq!(f.facts.limit_amount, Some(500 * UNIT));
    assert_eq!(f.facts.required_amount, Some(2500 * UNIT));
}

#[test]
fn row_15_nonce_desync() {
    all_classify(
        &[
            "Transaction nonce mismatch: wallet internal nonce=47 but chain nonce=45. Two pending transactions may be stuck in mempool",
            "embedded wallet nonce out of sync with chain",
            "Server wallet nonce desync detected (local 12, remote 10)",
            "wallet nonce is ahead of the chain; pending transactions stuck",
            "Wallet nonce mismatch for wlt_abc123",
        ],
        C::VerificationFailed,
        K::Signature,
        Privy,
    );
    assert_eq!(
        CL.classify_message(
            "Transaction nonce mismatch: wallet internal nonce=47 but chain nonce=45"
        )
        .unwrap()
        .facts
        .expected_nonce,
        Some(45)
    );
}

#[test]
fn row_16_gas_sponsor() {
    all_classify(
        &[
            "Privy automated gas sponsorship balance depleted. Sponsor wallet 0x1234...5678 has 0 USDC. Cannot pay gas for agent transaction",
            "Gas sponsorship credits exhausted for app clx123",
            "paymaster balance insufficient to sponsor this transaction",
            "sponsored transaction failed: sponsor ran out of funds",
            "Gas tank empty: sponsorship unavailable",
        ],
        C::PaymentInsufficient,
        K::Fee,
        Privy,
    );
}

#[test]
fn row_17_chain_mismatch() {
    all_classify(
        &[
            "Privy wallet wlt_stu901 is provisioned on Ethereum mainnet but transaction targets Tempo chain (chainId: 42069). Cannot sign for mismatched chain",
            "Wallet is not enabled for chain eip155:42431",
            "caip2 mismatch: wallet provisioned for eip155:1, request for eip155:4217",
            "wallet chain type mismatch: ethereum wallet cannot sign for this network",
            "This wallet cannot sign on the requested network (wrong chain id)",
        ],
        C::TokenUninitialized,
        K::Network,
        Privy,
    );
    let f = CL.classify_message("Privy wallet wlt_stu901 is provisioned on Ethereum mainnet but transaction targets Tempo chain (chainId: 42069). Cannot sign for mismatched chain").unwrap();
    assert_eq!(f.facts.expected_chain_id, Some(42069));
}

#[test]
fn privy_json_shape_keeps_the_message() {
    let body = br#"{"error":"Privy automated gas sponsorship balance depleted.","code":"insufficient_funds"}"#;
    let s = ErrorSignal::from_http(400, |_| None, body);
    let f = CL.perceive(&s).unwrap();
    assert_eq!((f.code, f.category), (C::PaymentInsufficient, K::Fee));
}
