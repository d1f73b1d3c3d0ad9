//! The one taxonomy: failure codes, categories, severities, platforms,
//! strategies and modes. Every other crate refers to these enums; their
//! string forms (serde, `Display`, `FromStr`) are stable and are what the
//! Gene Map stores.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string did not name a member of a taxonomy enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    /// Which enum was being parsed.
    pub kind: &'static str,
    /// The offending text (truncated to 64 bytes so a hostile input stays small).
    pub value: String,
}

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* #[doc = concat!("`", $text, "`")] $variant ),+ }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The stable string form.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName {
                        kind: $kind,
                        value: s.chars().take(64).collect(),
                    }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum! {
    /// What went wrong, independent of platform. With [`Category`] it forms the gene key.
    FailureCode, "failure code" {
        PaymentInsufficient => "payment-insufficient",
        InvalidChallenge => "invalid-challenge",
        PaymentExpired => "payment-expired",
        MethodUnsupported => "method-unsupported",
        VerificationFailed => "verification-failed",
        TxReverted => "tx-reverted",
        PaymentRequired => "payment-required",
        SwapReverted => "swap-reverted",
        Tip403 => "tip-403",
        CascadeFailure => "cascade-failure",
        OfframpFailed => "offramp-failed",
        TokenUninitialized => "token-uninitialized",
        PolicyViolation => "policy-violation",
        RateLimited => "rate-limited",
        ServerError => "server-error",
        Timeout => "timeout",
        CardDeclined => "card-declined",
        CardExpired => "card-expired",
        IdempotencyConflict => "idempotency-conflict",
        ActionRequired => "action-required",
        /// A payment was sent and its fate is not known (timeout or dropped
        /// connection after broadcast). Never treated as a plain failure.
        OutcomeUnknown => "outcome-unknown",
        /// No adapter recognised the failure. Never forced into a category.
        Unknown => "unknown",
    }
}

named_enum! {
    /// Where the failure lives. With [`FailureCode`] it forms the gene key.
    Category, "category" {
        Balance => "balance",
        /// Paying the network fee, as distinct from paying the charge: a fee
        /// repair (pay the fee in another token) must never be confused with a
        /// charge repair (acquire the charged token).
        Fee => "fee",
        Session => "session",
        Currency => "currency",
        Signature => "signature",
        Batch => "batch",
        Service => "service",
        Dex => "dex",
        Compliance => "compliance",
        Cascade => "cascade",
        Offramp => "offramp",
        Network => "network",
        Policy => "policy",
        Throttle => "throttle",
        Card => "card",
        Request => "request",
        Unknown => "unknown",
    }
}

named_enum! {
    /// How bad the failure is for the payment.
    Severity, "severity" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

named_enum! {
    /// The platform a failure came from. Genes are not keyed by platform: a
    /// repair learned on one platform heals the same failure on another.
    Platform, "platform" {
        Tempo => "tempo",
        Privy => "privy",
        Http => "http",
        Stripe => "stripe",
        /// A platform added by a user adapter.
        Other => "other",
    }
}

named_enum! {
    /// How far Helix may go. Ordered: `Observe < Auto < Full`.
    Mode, "mode" {
        /// Diagnose and recommend; never act.
        Observe => "observe",
        /// Repairs that change how a payment is made (retry, nonce, fee token,
        /// challenge renewal, endpoint).
        Auto => "auto",
        /// Also repairs that move funds (swaps, top-ups, splits).
        Full => "full",
    }
}

named_enum! {
    /// Every repair Helix knows. What each one may do (move funds, least mode)
    /// is declared here and nowhere else.
    StrategyId, "strategy" {
        SwapCurrency => "swap_currency",
        TopupFromReserve => "topup_from_reserve",
        ReduceRequest => "reduce_request",
        RenewSession => "renew_session",
        SwitchToCharge => "switch_to_charge",
        SwapDirect => "swap_direct",
        SwapMultihop => "swap_multihop",
        SwitchService => "switch_service",
        RefreshNonce => "refresh_nonce",
        RemoveAndResubmit => "remove_and_resubmit",
        SplitBatch => "split_batch",
        RetryWithReceipt => "retry_with_receipt",
        SwitchProvider => "switch_provider",
        RequestRefund => "request_refund",
        SplitSwap => "split_swap",
        WaitAndRetry => "wait_and_retry",
        SwitchStablecoin => "switch_stablecoin",
        RouteViaCompliantWallet => "route_via_compliant_wallet",
        RefundWaterfall => "refund_waterfall",
        RerouteViaAlt => "reroute_via_alt",
        SwitchOfframp => "switch_offramp",
        HoldAndNotify => "hold_and_notify",
        SwitchFeeToken => "switch_fee_token",
        SwapForFeeToken => "swap_for_fee_token",
        SwitchNetwork => "switch_network",
        SplitTransaction => "split_transaction",
        UseUnrestrictedWallet => "use_unrestricted_wallet",
        /// Wait as long as the server's Retry-After says, then retry.
        Backoff => "backoff",
        /// Exponential backoff with jitter, then retry.
        BackoffRetry => "backoff_retry",
        SwitchEndpoint => "switch_endpoint",
        ExtendDeadline => "extend_deadline",
        SwitchPaymentMethod => "switch_payment_method",
        /// Fetch the result of the first request under the key; a new key only
        /// when the first request provably failed.
        ResolveIdempotency => "resolve_idempotency",
        /// Find out whether a sent payment landed before anything is resent.
        Reconcile => "reconcile",
    }
}

impl StrategyId {
    /// Whether the strategy moves funds (swap, top-up, split, refund).
    pub const fn moves_funds(self) -> bool {
        use StrategyId::*;
        matches!(
            self,
            SwapCurrency
                | TopupFromReserve
                | SwapDirect
                | SwapMultihop
                | SplitSwap
                | SwitchStablecoin
                | RouteViaCompliantWallet
                | RefundWaterfall
                | RequestRefund
                | SwapForFeeToken
                | SplitTransaction
                | UseUnrestrictedWallet
        )
    }

    /// Whether the strategy is safe while a payment that left the agent has
    /// no proven outcome: it finds out what became of it, presents proof of
    /// the payment already made, or asks for money back. Every other
    /// strategy ends in the payment being made again.
    pub const fn safe_after_send(self) -> bool {
        use StrategyId::*;
        matches!(
            self,
            Reconcile | RetryWithReceipt | ResolveIdempotency | RequestRefund | HoldAndNotify
        )
    }

    /// The least mode in which the strategy may be executed.
    pub const fn min_mode(self) -> Mode {
        if self.moves_funds() {
            Mode::Full
        } else {
            Mode::Auto
        }
    }

    /// Whether `mode` allows executing this strategy.
    pub fn allowed_in(self, mode: Mode) -> bool {
        mode >= self.min_mode()
    }

    /// Whether the strategy lowers the amount paid; it then also needs the
    /// caller's consent on the request (partial payment acceptable).
    pub const fn reduces_amount(self) -> bool {
        matches!(self, StrategyId::ReduceRequest)
    }
}

impl FailureCode {
    /// The failure carries no repairable cause; stop rather than guess.
    pub const fn is_unknown(self) -> bool {
        matches!(self, FailureCode::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip_for_every_member() {
        for c in FailureCode::ALL {
            assert_eq!(c.as_str().parse::<FailureCode>().unwrap(), *c);
            let j = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<FailureCode>(&j).unwrap(), *c);
        }
        for c in Category::ALL {
            assert_eq!(c.to_string().parse::<Category>().unwrap(), *c);
        }
        for s in StrategyId::ALL {
            assert_eq!(s.as_str().parse::<StrategyId>().unwrap(), *s);
        }
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), *p);
        }
    }

    #[test]
    fn unknown_names_are_errors_not_defaults() {
        let e = "swap-everything".parse::<StrategyId>().unwrap_err();
        assert_eq!(e.kind, "strategy");
        assert!(serde_json::from_str::<Mode>("\"yolo\"").is_err());
        let long = "x".repeat(10_000);
        assert_eq!(long.parse::<Category>().unwrap_err().value.len(), 64);
    }

    #[test]
    fn fund_moving_strategies_need_full_mode() {
        assert!(Mode::Observe < Mode::Auto && Mode::Auto < Mode::Full);
        for s in StrategyId::ALL {
            assert!(!s.allowed_in(Mode::Observe), "{s} allowed in observe");
            assert_eq!(s.allowed_in(Mode::Auto), !s.moves_funds(), "{s}");
            assert!(s.allowed_in(Mode::Full));
        }
        assert!(StrategyId::SwapCurrency.moves_funds());
        assert!(!StrategyId::RefreshNonce.moves_funds());
    }
}
