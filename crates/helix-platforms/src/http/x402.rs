//! x402's error reasons (the `invalidReason` / `errorReason` of a
//! facilitator's answer, and the reasons its clients surface), from the
//! x402 specification and its reference facilitators (coinbase/x402). Each
//! is an identifier: looked up whole, never by its words.

use helix_core::{Category as K, ErrorSignal, FailureCode as C};

use crate::perception::words::WordIndex;
use crate::perception::{Mark, Marks, Verdict};

/// Every reason, sorted for the lookup.
const REASONS: &[(&str, C, K)] = &[
    ("duplicate_settlement", C::InvalidChallenge, K::Session),
    ("eip2612_deadline_expired", C::PaymentExpired, K::Session),
    (
        "erc20_approval_insufficient_eth_for_gas",
        C::PaymentInsufficient,
        K::Fee,
    ),
    ("erc20_approval_tx_failed", C::TxReverted, K::Batch),
    (
        "erc20_approval_tx_signer_mismatch",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "fee_payer_not_managed_by_facilitator",
        C::InvalidChallenge,
        K::Session,
    ),
    ("insufficient_funds", C::PaymentInsufficient, K::Balance),
    (
        "invalid_exact_avm_amount_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_authorization_value",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_eip3009_not_supported",
        C::MethodUnsupported,
        K::Currency,
    ),
    (
        "invalid_exact_evm_failed_to_check_nonce",
        C::ServerError,
        K::Service,
    ),
    (
        "invalid_exact_evm_failed_to_execute_transfer",
        C::TxReverted,
        K::Batch,
    ),
    (
        "invalid_exact_evm_failed_to_get_balance",
        C::ServerError,
        K::Service,
    ),
    (
        "invalid_exact_evm_insufficient_balance",
        C::PaymentInsufficient,
        K::Balance,
    ),
    (
        "invalid_exact_evm_missing_eip712_domain",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_network_mismatch",
        C::TokenUninitialized,
        K::Network,
    ),
    (
        "invalid_exact_evm_nonce_already_used",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_payload_authorization_valid_after",
        C::PaymentExpired,
        K::Session,
    ),
    (
        "invalid_exact_evm_payload_authorization_valid_before",
        C::PaymentExpired,
        K::Session,
    ),
    (
        "invalid_exact_evm_payload_authorization_value",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_payload_authorization_value_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_payload_recipient_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_payload_signature",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_payload_undeployed_smart_wallet",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_recipient_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_evm_scheme",
        C::MethodUnsupported,
        K::Currency,
    ),
    (
        "invalid_exact_evm_signature",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_signature_format",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_token_name_mismatch",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_token_version_mismatch",
        C::VerificationFailed,
        K::Signature,
    ),
    (
        "invalid_exact_evm_transaction_failed",
        C::TxReverted,
        K::Batch,
    ),
    (
        "invalid_exact_evm_transaction_simulation_failed",
        C::TxReverted,
        K::Batch,
    ),
    (
        "invalid_exact_svm_payload_amount_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_svm_payload_mint_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_svm_payload_missing_fee_payer",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_svm_payload_recipient_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_svm_payload_transaction_could_not_be_decoded",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
        C::PolicyViolation,
        K::Policy,
    ),
    (
        "invalid_exact_svm_payload_transaction_receiver_ata_not_found",
        C::TokenUninitialized,
        K::Network,
    ),
    (
        "invalid_exact_svm_payload_transaction_sender_ata_not_found",
        C::PaymentInsufficient,
        K::Balance,
    ),
    (
        "invalid_exact_svm_payload_transaction_simulation_failed",
        C::TxReverted,
        K::Batch,
    ),
    ("invalid_network", C::MethodUnsupported, K::Currency),
    ("invalid_payload", C::InvalidChallenge, K::Session),
    ("invalid_payment", C::VerificationFailed, K::Signature),
    (
        "invalid_payment_requirements",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_permit2_recipient_mismatch",
        C::InvalidChallenge,
        K::Session,
    ),
    (
        "invalid_permit2_signature",
        C::VerificationFailed,
        K::Signature,
    ),
    ("invalid_permit2_spender", C::InvalidChallenge, K::Session),
    ("invalid_scheme", C::MethodUnsupported, K::Currency),
    ("invalid_transaction_state", C::TxReverted, K::Batch),
    ("invalid_x402_version", C::MethodUnsupported, K::Currency),
    ("network_mismatch", C::TokenUninitialized, K::Network),
    ("payment_expired", C::PaymentExpired, K::Session),
    (
        "permit2_allowance_required",
        C::PaymentInsufficient,
        K::Balance,
    ),
    ("permit2_amount_mismatch", C::InvalidChallenge, K::Session),
    ("permit2_deadline_expired", C::PaymentExpired, K::Session),
    (
        "permit2_insufficient_balance",
        C::PaymentInsufficient,
        K::Balance,
    ),
    ("permit2_invalid_nonce", C::VerificationFailed, K::Signature),
    ("permit2_invalid_owner", C::VerificationFailed, K::Signature),
    ("permit2_not_yet_valid", C::PaymentExpired, K::Session),
    ("permit2_payment_too_early", C::PaymentExpired, K::Session),
    (
        "permit2_proxy_not_deployed",
        C::TokenUninitialized,
        K::Network,
    ),
    ("permit2_simulation_failed", C::TxReverted, K::Batch),
    ("permit2_token_mismatch", C::InvalidChallenge, K::Session),
    (
        "settle_exact_svm_block_height_exceeded",
        C::PaymentExpired,
        K::Session,
    ),
    (
        "settle_exact_svm_transaction_confirmation_timed_out",
        C::OutcomeUnknown,
        K::Service,
    ),
    ("smart_wallet_deployment_failed", C::TxReverted, K::Batch),
    ("transaction_simulation_failed", C::TxReverted, K::Batch),
    ("unexpected_settle_error", C::OutcomeUnknown, K::Service),
    ("unexpected_verify_error", C::ServerError, K::Service),
    (
        "unsupported_payload_type",
        C::MethodUnsupported,
        K::Currency,
    ),
    ("unsupported_scheme", C::MethodUnsupported, K::Currency),
];

/// Words that say an answer is x402's, for the reasons other vocabularies
/// use too.
const CONTEXT: &[&str] = &[
    "x402",
    "invalidReason",
    "errorReason",
    "facilitator",
    "isValid",
];

/// Reasons another vocabulary Helix reads uses as well: `insufficient_funds`
/// is Stripe's decline code and a wallet API's code. Only these need x402
/// context; every other reason is x402's own and is read wherever it
/// appears.
const SHARED: &[&str] = &["insufficient_funds"];

fn index() -> &'static WordIndex {
    static INDEX: std::sync::LazyLock<WordIndex> =
        std::sync::LazyLock::new(|| WordIndex::new(REASONS.iter().map(|(r, _, _)| *r)));
    &INDEX
}

/// The first x402 reason in the message.
pub fn reason(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    // A body that said it is x402's names its reason in a typed field.
    if s.error_type.as_deref() == Some("x402")
        && let Some(code) = s.platform_code.as_deref()
        && let Some(i) = index().get(code)
    {
        let (_, code, category) = REASONS[i];
        return Some(Verdict::new(
            code,
            category,
            helix_core::Evidence::PlatformCode,
        ));
    }
    let msg = s.message.as_str();
    let b = msg.as_bytes();
    let from = m.from(Mark::Snake)?;
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // A 402 alone is no context: Stripe answers card declines with 402 too.
    let in_context = std::cell::OnceCell::new();
    let mut next = 0;
    // Only the words around an underscore: reasons are snake_case.
    for u in memchr::memchr_iter(b'_', b.get(from..)?).map(|u| from + u) {
        if u < next {
            continue;
        }
        let start = b[..u].iter().rposition(|c| !word(*c)).map_or(0, |i| i + 1);
        let end = b[u..]
            .iter()
            .position(|c| !word(*c))
            .map_or(b.len(), |i| u + i);
        next = end;
        let w = &msg[start..end];
        if w.len() < 12 {
            continue;
        }
        let Some(i) = index().get(w) else {
            continue;
        };
        let (r, code, category) = REASONS[i];
        if !SHARED.contains(&r)
            || *in_context.get_or_init(|| CONTEXT.iter().any(|c| msg.contains(c)))
        {
            return Some(Verdict::new(
                code,
                category,
                helix_core::Evidence::PlatformCode,
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reasons_are_sorted_and_distinct() {
        assert!(REASONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_shared_word_needs_x402_context() {
        let bare = ErrorSignal::message("insufficient_funds");
        assert!(reason(&bare, &Marks::EVERYWHERE).is_none());
        let body =
            ErrorSignal::message(r#"{"isValid":false,"invalidReason":"insufficient_funds"}"#);
        assert_eq!(
            reason(&body, &Marks::EVERYWHERE).map(|v| v.code),
            Some(C::PaymentInsufficient)
        );
        let own = ErrorSignal::message("invalid_exact_evm_payload_signature");
        assert_eq!(
            reason(&own, &Marks::EVERYWHERE).map(|v| v.code),
            Some(C::VerificationFailed)
        );
    }
}
