use helix_core::{Adapter, Category as K, Evidence, FailureCode as C, Platform::Tempo};

use crate::perception::testutil::{C as CL, all_classify, none_classify, signal};

#[test]
fn row_01_insufficient_balance() {
    all_classify(
        &[
            "execution reverted: ERC20: transfer amount exceeds balance",
            "insufficient balance: have 300000 want 500000",
            "Payer balance too low for charge of 0.50 AlphaUSD",
            "TIP20: InsufficientBalance(300000, 500000, 0x20c0000000000000000000000000000000000001)",
            "Error: not enough funds in AlphaUSD to cover the payment",
            "transfer failed: insufficient funds (balance 0.30, required 0.50)",
        ],
        C::PaymentInsufficient,
        K::Balance,
        Tempo,
    );
}

#[test]
fn row_01_structured_evidence_beats_words() {
    let s = signal(|s| {
        s.http_status = Some(402);
        s.problem_type = Some("https://paymentauth.org/problems/payment-insufficient".into());
        s.message = "balance too low".into();
    });
    let f = CL.perceive(&s).unwrap();
    assert_eq!(
        (f.code, f.category, f.evidence),
        (C::PaymentInsufficient, K::Balance, Evidence::ProblemType)
    );
    // A bare 500 from pympp after a reverted transfer: only the probe's facts tell.
    let bare = signal(|s| {
        s.http_status = Some(500);
        s.message = "Internal Server Error".into();
    });
    assert_eq!(CL.perceive(&bare).unwrap().code, C::ServerError);
    let probed = signal(|s| {
        s.http_status = Some(500);
        s.message = "Internal Server Error".into();
        s.facts.payer_balance = Some(300_000);
        s.facts.required_amount = Some(500_000);
    });
    let f = CL.perceive(&probed).unwrap();
    assert_eq!(
        (f.code, f.category, f.evidence),
        (C::PaymentInsufficient, K::Balance, Evidence::Probe)
    );
    // InsufficientBalance(uint256,uint256,address) as revert data.
    let sel = hex::encode(crate::perception::selectors::selector(
        "InsufficientBalance(uint256,uint256,address)",
    ));
    let s = signal(|s| {
        s.rpc_code = Some(3);
        s.revert_data = Some(format!("0x{sel}{}", "00".repeat(96)));
    });
    assert_eq!(CL.perceive(&s).unwrap().category, K::Balance);
}

#[test]
fn row_02_challenge_expired() {
    all_classify(
        &[
            "Challenge expired at 2026-11-25T03:00:00Z",
            "payment challenge has expired, request a new one",
            "invalid challenge: unknown challenge id 7f3a",
            "MPP session expired; re-authenticate with a fresh WWW-Authenticate challenge",
            "credential rejected: challenge already used (replay)",
            "stale challenge presented",
        ],
        C::InvalidChallenge,
        K::Session,
        Tempo,
    );
    all_classify(
        &[
            "Payment expired",
            "The payment request expired before it was paid",
            "invoice expired 30s ago",
            "quote expired, fetch a new quote",
            "payment window expired",
        ],
        C::PaymentExpired,
        K::Session,
        Tempo,
    );
    let s = signal(|s| {
        s.problem_type = Some("https://paymentauth.org/problems/payment-expired".into())
    });
    assert_eq!(CL.perceive(&s).unwrap().code, C::PaymentExpired);
}

#[test]
fn row_03_currency_not_accepted() {
    all_classify(
        &[
            "Currency not accepted: server accepts AlphaUSD only",
            "method unsupported: token 0x20c0000000000000000000000000000000000002 is not supported",
            "This service only accepts pathUSD",
            "Unsupported currency BetaUSD for tempo/charge",
            "asset not accepted by merchant",
            "The requested stablecoin is not enabled for this endpoint",
            "no supported challenge: provider rejected all supported payment challenges",
        ],
        C::MethodUnsupported,
        K::Currency,
        Tempo,
    );
}

#[test]
fn row_04_nonce() {
    all_classify(
        &[
            "nonce too low: next nonce 5, tx nonce 3",
            "Nonce too high. Expected nonce to be 12 but got 15",
            "replacement rejected: nonce has already been used",
            "invalid nonce; expected 42",
            "server returned an error response: error code -32000: nonce too low",
            "signature verification failed: recovered signer does not match",
        ],
        C::VerificationFailed,
        K::Signature,
        Tempo,
    );
    let f = CL
        .classify_message("nonce too low: next nonce 5, tx nonce 3")
        .unwrap();
    assert_eq!(f.facts.expected_nonce, Some(5));
}

#[test]
fn row_05_batch_reverted() {
    all_classify(
        &[
            "batch call 2 reverted: execution reverted",
            "Tempo 0x76 transaction reverted at call index 1",
            "multicall failed: call #3 reverted",
            "Batched transaction failed; one of the calls reverted",
            "batch execution reverted (call 0)",
        ],
        C::TxReverted,
        K::Batch,
        Tempo,
    );
    assert_eq!(
        CL.classify_message("batch call 2 reverted")
            .unwrap()
            .facts
            .failing_call,
        Some(2)
    );
}

#[test]
fn row_06_failed_after_payment() {
    all_classify(
        &[
            "Payment accepted but the service returned 500 Internal Server Error",
            "payment verified, upstream handler crashed",
            "Charge succeeded but the resource could not be delivered: internal error",
            "credential accepted; service failed to respond with content",
            "Payment-Receipt issued, then 500 from the origin",
        ],
        C::PaymentRequired,
        K::Service,
        Tempo,
    );
    let s = signal(|s| {
        s.http_status = Some(500);
        s.message = "Internal Server Error".into();
        s.facts.payment_receipt = Some("eyJtZXRob2QiOiJ0ZW1wbyJ9".into());
    });
    assert_eq!(
        CL.perceive(&s).unwrap().key().to_string(),
        "payment-required/service"
    );
}

#[test]
fn row_07_slippage() {
    all_classify(
        &[
            "execution reverted: InsufficientOutput()",
            "swap failed: slippage exceeded 50 bps",
            "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT",
            "Too little received",
            "price impact too high for minAmountOut",
        ],
        C::SwapReverted,
        K::Dex,
        Tempo,
    );
}

#[test]
fn row_08_and_11_compliance() {
    all_classify(
        &[
            "execution reverted: custom error 0x54cfe659",
            "PolicyForbids()",
            "TIP-403: sender is blacklisted for this token",
            "transfer blocked by transfer policy 7",
            "address not whitelisted under the token's compliance policy",
        ],
        C::Tip403,
        K::Compliance,
        Tempo,
    );
    all_classify(
        &[
            "execution reverted: custom error 0xab35696f",
            "ContractPaused()",
            "token is paused",
            "TIP-20 transfers are paused by the issuer",
            "transfer failed: contract paused",
        ],
        C::Tip403,
        K::Compliance,
        Tempo,
    );
    let s = signal(|s| {
        s.message = "execution reverted".into();
        s.revert_data = Some("0x54cfe659".into());
    });
    assert_eq!(CL.perceive(&s).unwrap().evidence, Evidence::Rpc);
}

#[test]
fn row_09_cascade() {
    all_classify(
        &[
            "cascade failure: downstream agent B failed to settle",
            "Sub-agent C returned an error; cascading rollback required",
            "dependent agent unavailable, cascade aborted",
            "upstream agent failed mid-saga",
            "Cascading failure across agents A->B->C",
        ],
        C::CascadeFailure,
        K::Cascade,
        Tempo,
    );
}

#[test]
fn row_10_offramp() {
    all_classify(
        &[
            "Off-ramp provider returned 503 Service Unavailable",
            "offramp failed: bank rejected the payout",
            "payout to bank account failed",
            "fiat withdrawal unavailable, try later",
            "cash-out error: provider down",
        ],
        C::OfframpFailed,
        K::Offramp,
        Tempo,
    );
}

#[test]
fn row_12_fee() {
    all_classify(
        &[
            "gas estimation failed: server returned an error response: error code -32003: Insufficient funds for gas * price + value",
            "insufficient fee token balance",
            "fee payer has not enough AlphaUSD to pay fees",
            "cannot pay transaction fee: fee token balance is zero",
            "sender cannot pay gas: fee token AlphaUSD balance too low",
        ],
        C::PaymentInsufficient,
        K::Fee,
        Tempo,
    );
    let s = signal(|s| {
        s.rpc_code = Some(-32003);
        s.message = "Insufficient funds for gas * price + value".into();
    });
    assert_eq!(CL.perceive(&s).unwrap().category, K::Fee);
    let s = signal(|s| {
        s.rpc_code = Some(-32003);
        s.facts.payer_balance = Some(0);
        s.facts.required_amount = Some(500_000);
    });
    assert_eq!(
        CL.perceive(&s).unwrap().category,
        K::Balance,
        "the probe says it is the charge"
    );
}

#[test]
fn row_13_network() {
    all_classify(
        &[
            "TIP-20 token uninitialized on this chain",
            "chain id mismatch: expected 42431, got 31337",
            "wrong network: the challenge targets chainId 42431",
            "token not initialized at 0x20c0000000000000000000000000000000000001",
            "invalid chain id for signer",
            "chain id mismatch: the challenge expects chainId 42431 but http://127.0.0.1:4000/rpc serves chain 31337",
        ],
        C::TokenUninitialized,
        K::Network,
        Tempo,
    );
    assert_eq!(
        CL.classify_message("chain id mismatch: expected 42431, got 31337")
            .unwrap()
            .facts
            .expected_chain_id,
        Some(42431)
    );
}

#[test]
fn unknown_problem_types_and_selectors_stay_unknown() {
    let s = signal(|s| {
        s.problem_type = Some("https://paymentauth.org/problems/never-heard-of-it".into())
    });
    assert!(CL.perceive(&s).is_none());
    let s = signal(|s| s.revert_data = Some("0xdeadbeef".into()));
    assert!(CL.perceive(&s).is_none());
    none_classify(&[
        "execution reverted: custom error 0xdeadbeef",
        "tx 0x54cfe659aa confirmed",
    ]);
}

#[test]
fn a_relay_reason_in_a_problems_details_decides_its_verification_failure() {
    let body = |code: &str| {
        format!(
            r#"{{"type":"https://paymentauth.org/problems/verification-failed","title":"Verification Failed","status":402,"detail":"Payment verification failed.","details":{{"code":"{code}"}}}}"#
        )
    };
    for (code, want) in [
        ("insufficient_funds", (C::PaymentInsufficient, K::Balance)),
        ("already_used", (C::InvalidChallenge, K::Session)),
        ("simulation_failed", (C::TxReverted, K::Batch)),
        ("temporarily_unavailable", (C::ServerError, K::Service)),
        ("unsupported", (C::MethodUnsupported, K::Currency)),
    ] {
        let s = helix_core::ErrorSignal::from_http(402, |_| None, body(code).as_bytes());
        let f = CL.perceive(&s).unwrap();
        assert_eq!((f.code, f.category), want, "for {code}");
    }
    // A reason the relay does not define leaves the generic reading.
    let s = helix_core::ErrorSignal::from_http(402, |_| None, body("no_such_reason").as_bytes());
    let f = CL.perceive(&s).unwrap();
    assert_eq!((f.code, f.category), (C::VerificationFailed, K::Signature));
}

#[test]
fn a_payment_required_problem_is_never_read_as_a_session_to_renew() {
    let s = signal(|s| {
        s.http_status = Some(402);
        s.problem_type = Some("https://paymentauth.org/problems/payment-required".into());
        s.message = "Payment is required.".into();
    });
    let f = CL.perceive(&s).unwrap();
    assert_eq!((f.code, f.category), (C::PaymentRequired, K::Service));
}

#[test]
fn json_rpc_minus_32003_decides_only_a_message_about_funds() {
    let with = |m: &str| {
        signal(|s| {
            s.rpc_code = Some(-32003);
            s.message = m.into();
        })
    };
    for m in ["", "transaction rejected: fee"] {
        let f = CL.perceive(&with(m)).unwrap();
        assert_eq!(
            (f.code, f.category),
            (C::PaymentInsufficient, K::Fee),
            "{m:?}"
        );
    }
    for m in ["sender is not an EOA", "gas limit too high"] {
        assert!(CL.perceive(&with(m)).is_none(), "{m}");
    }
}

#[test]
fn node_pool_and_fee_words() {
    all_classify(
        &[
            "transaction underpriced",
            "max fee per gas less than block base fee",
            "transaction gas price below minimum: gas tip cap 1000, minimum needed 1000000",
            "insufficient liquidity in FeeAMM pool to swap fee tokens for user token 0x20C0000000000000000000000000000000000001 (required: 5000)",
            "sponsored transaction fee exceeds the fee budget",
        ],
        C::PaymentInsufficient,
        K::Fee,
        Tempo,
    );
    all_classify(
        &[
            "transaction was replaced (cancelled=true)",
            "future transaction tries to replace pending",
            "address already reserved",
            "transaction indexing is in progress",
            "Transaction 0x5c50 was added to the mempool but wasn't confirmed within 10s.",
        ],
        C::OutcomeUnknown,
        K::Service,
        Tempo,
    );
}
