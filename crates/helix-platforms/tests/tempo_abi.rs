//! Every custom error of every Tempo precompile and system contract, as
//! tempo-alloy's own `sol!` definitions give them, is in the decoder: read
//! into a taxonomy code or listed, with a reason, as not a payment failure.
//! Then each shape revert data arrives in is read, with its arguments.

#![cfg(feature = "tempo")]

use std::collections::BTreeSet;

use alloy::sol_types::SolError;
use helix_core::{Adapter, Category, ErrorSignal, FailureCode};
use helix_platforms::tempo::errors::{ERRORS, Meaning, by_selector};
use tempo_alloy::contracts::precompiles as p;

/// The signatures and selectors every interface defines.
fn defined() -> Vec<(&'static str, [u8; 4])> {
    let mut all: Vec<(&'static str, [u8; 4])> = Vec::new();
    macro_rules! errors_of {
        ($($e:ty),* $(,)?) => {
            $(
                for (sig, sel) in <$e>::SIGNATURES.iter().zip(<$e>::SELECTORS) {
                    all.push((sig, *sel));
                }
            )*
        };
    }
    errors_of!(
        p::IAccountKeychain::IAccountKeychainErrors,
        p::IAddressRegistry::IAddressRegistryErrors,
        p::ICurrentCommittee::ICurrentCommitteeErrors,
        p::IFeeManager::IFeeManagerErrors,
        p::INonce::INonceErrors,
        p::IReceivePolicyGuard::IReceivePolicyGuardErrors,
        p::IRolesAuth::IRolesAuthErrors,
        p::ISignatureVerifier::ISignatureVerifierErrors,
        p::IStablecoinDEX::IStablecoinDEXErrors,
        p::IStorageCredits::IStorageCreditsErrors,
        p::ITIP20::ITIP20Errors,
        p::ITIP20ChannelReserve::ITIP20ChannelReserveErrors,
        p::ITIP20Factory::ITIP20FactoryErrors,
        p::ITIP403Registry::ITIP403RegistryErrors,
        p::ITIPFeeAMM::ITIPFeeAMMErrors,
        p::IValidatorConfig::IValidatorConfigErrors,
        p::IValidatorConfigV2::IValidatorConfigV2Errors,
        p::IZoneFactory::IZoneFactoryErrors,
    );
    all.push((
        p::UnknownFunctionSelector::SIGNATURE,
        p::UnknownFunctionSelector::SELECTOR,
    ));
    all
}

#[test]
fn every_error_the_chain_defines_is_read_or_listed_with_a_reason() {
    let defined = defined();
    assert!(defined.len() > 120, "{} errors found", defined.len());
    for (sig, sel) in &defined {
        let e = by_selector(*sel)
            .unwrap_or_else(|| panic!("{sig} ({}) is not in tempo/errors.rs", hex(sel)));
        assert_eq!(
            &e.signature,
            sig,
            "selector {} names another error",
            hex(sel)
        );
        match e.meaning {
            Meaning::Payment(code, category) => {
                assert_ne!(code, FailureCode::Unknown, "{sig}");
                assert_ne!(category, Category::Unknown, "{sig}");
            }
            Meaning::NotPayment(why) => assert!(why.len() > 20, "{sig}: say why"),
        }
    }
    let names: BTreeSet<&str> = defined.iter().map(|(s, _)| *s).collect();
    for e in ERRORS {
        assert!(
            names.contains(e.signature),
            "{} is in the table but no interface defines it",
            e.signature
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `InsufficientBalance(50000, 500000, AlphaUSD)` as ABI revert data.
fn insufficient() -> String {
    let sel = p::ITIP20::InsufficientBalance::SELECTOR;
    let word = |v: u128| format!("{v:064x}");
    format!(
        "0x{}{}{}{}",
        hex(&sel),
        word(50_000),
        word(500_000),
        "00000000000000000000000020c0000000000000000000000000000000000001"
    )
}

fn read(s: ErrorSignal) -> helix_core::Failure {
    helix_platforms::builtin()
        .perceive(&s)
        .unwrap_or_else(|| panic!("unrecognised: {s:?}"))
}

fn assert_insufficient(f: &helix_core::Failure, shape: &str) {
    assert_eq!(
        (f.code, f.category),
        (FailureCode::PaymentInsufficient, Category::Balance),
        "{shape}"
    );
    assert_eq!(f.facts.payer_balance, Some(50_000), "{shape}: available");
    assert_eq!(f.facts.required_amount, Some(500_000), "{shape}: required");
    assert_eq!(
        f.facts.currency.as_deref(),
        Some("0x20c0000000000000000000000000000000000001"),
        "{shape}: token"
    );
}

#[test]
fn revert_data_with_its_arguments_is_read_in_every_shape() {
    let data = insufficient();
    let shapes: Vec<(&str, ErrorSignal)> = vec![
        (
            "bare, in the field",
            ErrorSignal {
                revert_data: Some(data.clone()),
                ..ErrorSignal::message("execution reverted")
            },
        ),
        (
            "quoted, in the field",
            ErrorSignal {
                revert_data: Some(format!("\"{data}\"")),
                ..ErrorSignal::message("execution reverted")
            },
        ),
        (
            "in the message after the node's words",
            ErrorSignal::message(format!("execution reverted: custom error {data}")),
        ),
        (
            "as anvil prints it, the arguments after a colon",
            ErrorSignal::message(format!(
                "server returned an error response: error code 3: execution reverted: custom error {}: {}, data: \"{data}\"",
                &data[..10],
                &data[10..]
            )),
        ),
        (
            "as anvil prints it, without the data field",
            ErrorSignal::message(format!(
                "execution reverted: custom error {}: {}",
                &data[..10],
                &data[10..]
            )),
        ),
        (
            "inside a JSON-RPC error object",
            ErrorSignal::message(format!(
                r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":3,"message":"execution reverted","data":"{data}"}}}}"#
            )),
        ),
        (
            "in viem's words",
            ErrorSignal::message(format!(
                "The contract function \"transfer\" reverted with the following signature:\n{}\n\nUnable to decode signature \"{}\" as it was not found on the provided ABI.\n\nRaw data: {data}",
                &data[..10],
                &data[..10]
            )),
        ),
        (
            "in ethers' words",
            ErrorSignal::message(format!(
                "execution reverted (unknown custom error) (action=\"estimateGas\", data=\"{data}\", reason=null, transaction={{ \"data\": \"0xa9059cbb\", \"to\": \"0x20C0000000000000000000000000000000000001\" }}, invocation=null, revert=null, code=CALL_EXCEPTION, version=6.13.1)"
            )),
        ),
    ];
    for (shape, s) in shapes {
        assert_insufficient(&read(s), shape);
    }
}

#[test]
fn a_bare_selector_still_classifies_and_another_length_is_not_revert_data() {
    let sel = format!("0x{}", hex(&p::ITIP20::PolicyForbids::SELECTOR));
    let f = read(ErrorSignal::message(format!(
        "execution reverted: custom error {sel}"
    )));
    assert_eq!(
        (f.code, f.category),
        (FailureCode::Tip403, Category::Compliance)
    );
    // A 9-digit run is an amount or a hash fragment, not a selector.
    let odd = format!("{sel}a");
    assert!(
        helix_platforms::builtin()
            .perceive(&ErrorSignal::message(format!("value {odd}")))
            .is_none()
    );
    // An error the chain defines that is no payment failure is not forced
    // into one.
    let admin = format!("0x{}", hex(&p::ITIP20::SupplyCapExceeded::SELECTOR));
    assert!(
        helix_platforms::builtin()
            .perceive(&ErrorSignal {
                revert_data: Some(admin),
                ..ErrorSignal::message("execution reverted")
            })
            .is_none(),
        "not forced by the word 'reverted' either"
    );
    // Named in words, the same.
    assert!(
        helix_platforms::builtin()
            .perceive(&ErrorSignal::message(
                "execution reverted: TIP20 token error: InvalidRecipient(InvalidRecipient)"
            ))
            .is_none()
    );
}

/// The node may name the error in words instead of handing back its data.
#[test]
fn a_chain_error_named_in_words_is_read_as_its_definition_says() {
    for (text, code, category) in [
        (
            "execution reverted: TIP20 token error: PolicyForbids(PolicyForbids)",
            FailureCode::Tip403,
            Category::Compliance,
        ),
        (
            "TIP20 token error: InsufficientBalance(InsufficientBalance { available: 5, required: 10, token: 0x20c0000000000000000000000000000000000001 })",
            FailureCode::PaymentInsufficient,
            Category::Balance,
        ),
        (
            "nonce manager error: Tempo Transaction nonce error: ExpiringNonceReplay(ExpiringNonceReplay)",
            FailureCode::OutcomeUnknown,
            Category::Service,
        ),
    ] {
        let f = read(ErrorSignal::message(text));
        assert_eq!((f.code, f.category), (code, category), "{text}");
    }
}

/// MPP's `verification-failed` problem covers many failures: its detail
/// decides first, the type is the last resort. Session problems nest a
/// level deeper in the type.
#[test]
fn a_verification_failed_problem_is_decided_by_its_detail_then_its_type() {
    let body = |ty: &str, detail: &str| {
        ErrorSignal::from_http(
            402,
            |_| None,
            format!(
                r#"{{"type":"https://paymentauth.org/problems/{ty}","title":"VerificationFailedError","status":402,"detail":"{detail}"}}"#
            )
            .as_bytes(),
        )
    };
    for (ty, detail, code, category) in [
        (
            "verification-failed",
            "Payment verification failed: payment authorization expired at 1767225600",
            FailureCode::PaymentExpired,
            Category::Session,
        ),
        (
            "verification-failed",
            "Payment verification failed: bad proof",
            FailureCode::VerificationFailed,
            Category::Signature,
        ),
        (
            "session/channel-not-found",
            "no such channel",
            FailureCode::InvalidChallenge,
            Category::Session,
        ),
        (
            "session/amount-exceeds-deposit",
            "voucher above deposit",
            FailureCode::PaymentInsufficient,
            Category::Balance,
        ),
    ] {
        let f = read(body(ty, detail));
        assert_eq!((f.code, f.category), (code, category), "{ty}: {detail}");
    }
}
