use helix_core::{Category as K, ErrorSignal, Evidence as E, FailureCode as C, Platform};

use crate::perception::rules::Rule;
use crate::perception::{Marks, Verdict};

pub fn structured(s: &ErrorSignal, _: &Marks) -> Option<Verdict> {
    let code = s.platform_code.as_deref();
    let decline = s.decline_code.as_deref();
    let ty = s.error_type.as_deref();
    if code.is_none() && decline.is_none() && ty.is_none() {
        return None; // most signals: nothing of Stripe's to compare
    }
    let v = |c, k| Some(Verdict::new(c, k, E::PlatformCode));
    if code == Some("authentication_required") || decline == Some("authentication_required") {
        return v(C::ActionRequired, K::Card);
    }
    if code == Some("expired_card") || decline == Some("expired_card") {
        return v(C::CardExpired, K::Card);
    }
    if code == Some("card_declined") || ty == Some("card_error") {
        return v(C::CardDeclined, K::Card);
    }
    if ty == Some("rate_limit_error") || code == Some("rate_limit") {
        return v(C::RateLimited, K::Throttle);
    }
    if ty == Some("idempotency_error") || code == Some("idempotency_key_in_use") {
        return v(C::IdempotencyConflict, K::Request);
    }
    if ty == Some("api_error") {
        return v(C::ServerError, K::Service);
    }
    None
}

const fn rule(
    name: &'static str,
    code: C,
    category: K,
    all: &'static [&'static [&'static str]],
    none: &'static [&'static str],
) -> Rule {
    Rule::new(Platform::Stripe, name, code, category, all).unless(none)
}

pub const RULES: &[Rule] = &[
    rule(
        "authentication",
        C::ActionRequired,
        K::Card,
        &[&[
            "requires authentication",
            "authentication_required",
            "3d secure",
            "3-d secure",
            "3ds",
            "3ds2",
            "requires_action",
            "requires action",
            "strong customer authentication",
            "authenticate this payment",
            "authentication is required",
            "error_on_requires_action",
            "payment_intent_authentication_failure",
            "failed authentication",
        ]],
        &[],
    ),
    rule(
        "expired-card",
        C::CardExpired,
        K::Card,
        &[
            &[
                "card",
                "expired_card",
                "expiration",
                "exp_month",
                "exp_year",
                "expiry date",
            ],
            &[
                "expired",
                "expired_card",
                "has expired",
                "is expired",
                "invalid expiration",
                "past",
            ],
        ],
        &[],
    ),
    rule(
        "declined",
        C::CardDeclined,
        K::Card,
        &[&[
            "card_declined",
            "do_not_honor",
            "generic_decline",
            "lost_card",
            "stolen_card",
            "card declined",
            "was declined",
            "card was declined",
            "card has been declined",
            "card has insufficient funds",
            "declined by the issuer",
            "issuer declined",
            "security code is incorrect",
            "card number is incorrect",
            "error occurred while processing your card",
            "maximum number of declines",
            "card_decline_rate_limit_exceeded",
            "incorrect_cvc",
            "incorrect_number",
            "invalid_cvc",
            "invalid_number",
            "requires_payment_method",
        ]],
        // A wallet, Tempo's payment relay and a failed payout (the
        // platform balance) use the same words.
        &["gas", "wallet", "relay", "payout"],
    ),
    // Stripe's decline code, said bare. A wallet short of gas, Tempo's
    // relay, an MPP verification and a chain client holding the
    // transaction say it too.
    rule(
        "declined-funds",
        C::CardDeclined,
        K::Card,
        &[&["insufficient_funds"]],
        &[
            "gas",
            "wallet",
            "relay",
            "payout",
            "verification failed",
            "transaction",
        ],
    ),
    // The SDKs' own words for a request whose answer never came back: it
    // may have been carried out.
    rule(
        "sdk-connection",
        C::OutcomeUnknown,
        K::Service,
        &[&["connection to stripe", "communicating with stripe"]],
        &[],
    ),
    rule(
        "sdk-bad-answer",
        C::ServerError,
        K::Service,
        &[&["invalid json received"]],
        &[],
    ),
    rule(
        "platform-balance",
        C::PaymentInsufficient,
        K::Balance,
        &[&[
            "balance_insufficient",
            "insufficient funds in your stripe account",
        ]],
        &[],
    ),
    rule(
        "in-progress",
        C::IdempotencyConflict,
        K::Request,
        &[&["another in-progress request", "another request in progress"]],
        &[],
    ),
    // The intent moved on without us: it may already have been paid.
    rule(
        "intent-state",
        C::OutcomeUnknown,
        K::Service,
        &[&["payment_intent_unexpected_state", "already succeeded"]],
        &[],
    ),
    rule(
        "idempotency",
        C::IdempotencyConflict,
        K::Request,
        &[
            &[
                "idempotent",
                "idempotency",
                "idempotency-key",
                "idempotency_key",
                "with this id",
            ],
            &[
                "same parameters",
                "different parameters",
                "other parameters",
                "reuse*",
                "reused",
                "already used",
                "in use",
                "conflict*",
                "mismatch*",
                "another request",
                "in-progress request",
                "in progress",
                "was used with",
                "does not match",
            ],
        ],
        &[],
    ),
];
