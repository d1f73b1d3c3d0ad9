use helix_core::{
    Adapter, Category as K, ErrorSignal, Evidence, FailureCode as C, Platform::Stripe,
};

use crate::perception::testutil::{C as CL, all_classify};

fn stripe(status: u16, body: &str) -> ErrorSignal {
    ErrorSignal::from_http(status, |_| None, body.as_bytes())
}

#[test]
fn row_21_card_declined() {
    all_classify(
        &[
            "Your card was declined.",
            "Your card has insufficient funds.",
            "card_declined: do_not_honor",
            "The card has been declined by the issuer (generic_decline)",
            "Card declined: lost_card",
        ],
        C::CardDeclined,
        K::Card,
        Stripe,
    );
    for decline in [
        "insufficient_funds",
        "do_not_honor",
        "generic_decline",
        "fraudulent",
    ] {
        let s = stripe(
            402,
            &format!(
                r#"{{"error":{{"type":"card_error","code":"card_declined","decline_code":"{decline}","message":"Your card was declined."}}}}"#
            ),
        );
        let f = CL.perceive(&s).unwrap();
        assert_eq!(
            (f.code, f.evidence),
            (C::CardDeclined, Evidence::PlatformCode),
            "{decline}"
        );
    }
}

#[test]
fn row_22_card_expired() {
    all_classify(
        &[
            "Your card has expired.",
            "expired_card",
            "The card's expiration date is in the past",
            "Card expired: update exp_month and exp_year",
            "This card is expired",
        ],
        C::CardExpired,
        K::Card,
        Stripe,
    );
    let s = stripe(
        402,
        r#"{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired.","param":"exp_month"}}"#,
    );
    assert_eq!(CL.perceive(&s).unwrap().code, C::CardExpired);
}

#[test]
fn row_23_rate_limit() {
    let s = stripe(
        429,
        r#"{"error":{"type":"rate_limit_error","message":"Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."}}"#,
    );
    let f = CL.perceive(&s).unwrap();
    assert_eq!(
        (f.code, f.category, f.platform),
        (C::RateLimited, K::Throttle, Stripe)
    );
    for m in [
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        "rate_limit: Request rate limit exceeded",
        "lock_timeout? no: rate limited by Stripe",
        "Stripe API throttled the request",
        "HTTP 429 from api.stripe.com",
    ] {
        let f = CL.classify_message(m).unwrap_or_else(|| panic!("{m}"));
        assert_eq!(f.key().to_string(), "rate-limited/throttle", "{m}");
    }
}

#[test]
fn row_24_idempotency_conflict() {
    all_classify(
        &[
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k1' if you meant to execute a different request.",
            "Idempotency-Key reused with different parameters",
            "idempotency key already used for another request",
            "There is currently another in-progress request using this Idempotent Key",
            "idempotency_key conflict: request body does not match",
        ],
        C::IdempotencyConflict,
        K::Request,
        Stripe,
    );
    let s = stripe(
        400,
        r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}"#,
    );
    assert_eq!(CL.perceive(&s).unwrap().code, C::IdempotencyConflict);
}

#[test]
fn row_25_authentication_required() {
    all_classify(
        &[
            "Your card was declined. This transaction requires authentication.",
            "authentication_required",
            "3D Secure authentication is required for this payment",
            "PaymentIntent status requires_action: complete 3DS",
            "Strong Customer Authentication needed before capture",
        ],
        C::ActionRequired,
        K::Card,
        Stripe,
    );
    let s = stripe(
        402,
        r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"authentication_required","message":"Your card was declined. This transaction requires authentication."}}"#,
    );
    assert_eq!(CL.perceive(&s).unwrap().code, C::ActionRequired);
}
