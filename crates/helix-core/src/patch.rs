//! How a repair changes the caller's request: typed [`Patch`]es applied
//! through [`Repairable`], checked against the request's invariants.

use serde::{Deserialize, Serialize};

use crate::taxonomy::StrategyId;

/// One typed change to a request. Like an alloy filler, a patch fixes how a
/// payment is made; it never says where the money goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Patch {
    /// Use this account nonce.
    Nonce {
        /// The nonce read from the chain.
        nonce: u64,
    },
    /// Pay the network fee in this token.
    FeeToken {
        /// Token address or symbol.
        token: String,
    },
    /// Pay in this currency (the value stays the same: USD stablecoins).
    Currency {
        /// Token address or symbol.
        currency: String,
    },
    /// Pay this (smaller) amount; only with the caller's consent.
    Amount {
        /// Base units.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        amount: u128,
    },
    /// Send to this endpoint (service, provider, off-ramp) instead.
    Endpoint {
        /// URL.
        url: String,
    },
    /// Use this RPC endpoint, whose chain id matches the payment.
    Network {
        /// RPC URL.
        rpc_url: String,
        /// Its chain id, as the endpoint reported it.
        chain_id: u64,
    },
    /// Answer this (fresh) payment challenge.
    Challenge {
        /// The challenge as the server sent it (WWW-Authenticate value).
        challenge: String,
    },
    /// Present proof of a payment already made instead of paying again.
    Receipt {
        /// The server's Payment-Receipt.
        receipt: String,
    },
    /// Leave this call out of the batch.
    DropCall {
        /// Index in the batch.
        index: usize,
    },
    /// Perform the same total in this many equal parts.
    Split {
        /// Number of parts (at least 2).
        parts: u32,
    },
    /// Give the call this much time.
    Deadline {
        /// Milliseconds.
        ms: u64,
    },
    /// Charge this payment method.
    PaymentMethod {
        /// Payment method id.
        id: String,
    },
    /// Use this idempotency key (only when the first request provably failed).
    IdempotencyKey {
        /// The key.
        key: String,
    },
    /// The payment already exists under this id: fetch it, create nothing.
    UseExisting {
        /// Object id (payment intent, transaction hash).
        id: String,
    },
}

impl Patch {
    /// Short name for events and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Patch::Nonce { .. } => "nonce",
            Patch::FeeToken { .. } => "fee_token",
            Patch::Currency { .. } => "currency",
            Patch::Amount { .. } => "amount",
            Patch::Endpoint { .. } => "endpoint",
            Patch::Network { .. } => "network",
            Patch::Challenge { .. } => "challenge",
            Patch::Receipt { .. } => "receipt",
            Patch::DropCall { .. } => "drop_call",
            Patch::Split { .. } => "split",
            Patch::Deadline { .. } => "deadline",
            Patch::PaymentMethod { .. } => "payment_method",
            Patch::IdempotencyKey { .. } => "idempotency_key",
            Patch::UseExisting { .. } => "use_existing",
        }
    }
}

/// What a strategy may read of the caller's request, and what must not change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentView {
    /// Who pays (address or wallet id).
    pub payer: Option<String>,
    /// Who is paid. Never changes.
    pub recipient: Option<String>,
    /// Amount in base units. Never increases. A number, or a decimal string
    /// for amounts past what JSON readers hold exactly.
    #[serde(
        default,
        serialize_with = "crate::amount::ser_opt",
        deserialize_with = "crate::amount::de_opt"
    )]
    pub amount: Option<u128>,
    /// Currency (token address or symbol).
    pub currency: Option<String>,
    /// For swaps: the currency bought.
    pub buy_currency: Option<String>,
    /// Fee token.
    pub fee_token: Option<String>,
    /// Account nonce.
    pub nonce: Option<u64>,
    /// Service, provider or RPC endpoint.
    pub endpoint: Option<String>,
    /// Chain id the request is signed for.
    pub chain_id: Option<u64>,
    /// Card or payment method id.
    pub payment_method: Option<String>,
    /// One key per logical payment.
    pub idempotency_key: Option<String>,
    /// Deadline for the call, milliseconds.
    pub deadline_ms: Option<u64>,
    /// A digest of the payment's calldata. Never changes.
    pub calldata_digest: Option<u64>,
    /// The caller accepts a partial payment (allows amount reductions).
    pub partial_ok: bool,
}

impl PaymentView {
    /// The service the request goes to: its endpoint's origin
    /// (`scheme://host[:port]`, lower-cased), or the endpoint as given when
    /// it is no URL. Failures are counted per service to find recurring
    /// windows, and a forecast is asked by the same name.
    pub fn service(&self) -> Option<String> {
        let e = self.endpoint.as_deref()?.trim();
        if e.is_empty() {
            return None;
        }
        let Some((scheme, rest)) = e.split_once("://") else {
            return Some(e.to_owned());
        };
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..host_end];
        // Credentials are no part of a service's name and must not reach the log.
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        Some(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ))
    }
}

/// A patch the request cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request refused patch `{patch}`: {reason}")]
pub struct Refused {
    /// The patch kind.
    pub patch: &'static str,
    /// Why.
    pub reason: String,
}

impl Refused {
    /// The request type has no field for this patch.
    pub fn unsupported(p: &Patch) -> Self {
        Refused {
            patch: p.kind(),
            reason: "not applicable to this request".into(),
        }
    }
}

/// The caller's request, as Helix sees it.
///
/// ```
/// use helix_core::{Patch, PaymentView, Refused, Repairable};
///
/// struct Pay { to: String, amount: u128, nonce: u64 }
///
/// impl Repairable for Pay {
///     fn view(&self) -> PaymentView {
///         PaymentView {
///             recipient: Some(self.to.clone()),
///             amount: Some(self.amount),
///             nonce: Some(self.nonce),
///             ..Default::default()
///         }
///     }
///     fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
///         match p {
///             Patch::Nonce { nonce } => { self.nonce = *nonce; Ok(()) }
///             other => Err(Refused::unsupported(other)),
///         }
///     }
/// }
///
/// let mut pay = Pay { to: "0xabc".into(), amount: 500_000, nonce: 3 };
/// pay.apply(&Patch::Nonce { nonce: 5 }).unwrap();
/// assert_eq!(pay.view().nonce, Some(5));
/// assert!(pay.apply(&Patch::Endpoint { url: "x".into() }).is_err());
/// ```
pub trait Repairable {
    /// A read-only view; called once before and once after each commit.
    fn view(&self) -> PaymentView;
    /// Applies one patch, or refuses it.
    fn apply(&mut self, patch: &Patch) -> Result<(), Refused>;
}

/// A repair that would break what no strategy may break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "violation", rename_all = "snake_case")]
pub enum Violation {
    /// The recipient changed.
    #[error("the recipient changed")]
    RecipientChanged,
    /// The calldata changed.
    #[error("the payment calldata changed")]
    CalldataChanged,
    /// The amount went up.
    #[error("the amount increased from {before} to {after}")]
    AmountIncreased {
        /// Before the repair.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        before: u128,
        /// After.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        after: u128,
    },
    /// The amount went down without the caller's consent or by a strategy that may not.
    #[error("the amount was reduced from {before} to {after} without the caller's consent")]
    AmountReduced {
        /// Before the repair.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        before: u128,
        /// After.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        after: u128,
    },
    /// The chain the payment is signed for changed.
    #[error("the chain changed from {before:?} to {after:?}")]
    ChainChanged {
        /// Before the repair.
        before: Option<u64>,
        /// After.
        after: Option<u64>,
    },
    /// The repair spent more than the per-repair ceiling.
    #[error("the repair cost {cost} micro-USD, above the per-repair ceiling of {ceiling}")]
    CostOverCeiling {
        /// What it spent.
        cost: u64,
        /// The ceiling.
        ceiling: u64,
    },
    /// A patch tried to set an amount greater than the request's.
    #[error("a patch sets amount {patch} above the request's {request}")]
    PatchRaisesAmount {
        /// The patch's amount.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        patch: u128,
        /// The request's amount.
        #[serde(
            serialize_with = "crate::amount::ser",
            deserialize_with = "crate::amount::de"
        )]
        request: u128,
    },
}

/// Checks the patches a strategy returned before they touch the request.
pub fn check_patches(
    strategy: StrategyId,
    before: &PaymentView,
    patches: &[Patch],
) -> Result<(), Violation> {
    for p in patches {
        if let (Patch::Amount { amount }, Some(request)) = (p, before.amount) {
            if *amount > request {
                return Err(Violation::PatchRaisesAmount {
                    patch: *amount,
                    request,
                });
            }
            if *amount < request && !(strategy.reduces_amount() && before.partial_ok) {
                return Err(Violation::AmountReduced {
                    before: request,
                    after: *amount,
                });
            }
        }
    }
    Ok(())
}

/// Checks the request after the patches were applied against the request before.
pub fn check_invariants(
    strategy: StrategyId,
    before: &PaymentView,
    after: &PaymentView,
) -> Result<(), Violation> {
    if before.recipient != after.recipient {
        return Err(Violation::RecipientChanged);
    }
    if before.calldata_digest != after.calldata_digest {
        return Err(Violation::CalldataChanged);
    }
    if before.chain_id != after.chain_id {
        return Err(Violation::ChainChanged {
            before: before.chain_id,
            after: after.chain_id,
        });
    }
    match (before.amount, after.amount) {
        (Some(b), Some(a)) if a > b => Err(Violation::AmountIncreased {
            before: b,
            after: a,
        }),
        (Some(b), None) => Err(Violation::AmountReduced {
            before: b,
            after: 0,
        }),
        (Some(b), Some(a)) if a < b && !(strategy.reduces_amount() && before.partial_ok) => {
            Err(Violation::AmountReduced {
                before: b,
                after: a,
            })
        }
        (None, Some(a)) => Err(Violation::AmountIncreased {
            before: 0,
            after: a,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(recipient: &str, amount: u128) -> PaymentView {
        PaymentView {
            recipient: Some(recipient.into()),
            amount: Some(amount),
            ..Default::default()
        }
    }

    #[test]
    fn a_service_is_its_endpoints_origin_without_credentials() {
        let at = |e: &str| {
            PaymentView {
                endpoint: Some(e.into()),
                ..Default::default()
            }
            .service()
        };
        assert_eq!(
            at("HTTPS://Api.Example:8443/v1/pay?x=1").as_deref(),
            Some("https://api.example:8443")
        );
        assert_eq!(
            at("https://user:secret@rpc.example/key").as_deref(),
            Some("https://rpc.example")
        );
        assert_eq!(at("stripe").as_deref(), Some("stripe"));
        assert_eq!(at("  "), None);
        assert_eq!(PaymentView::default().service(), None);
    }

    #[test]
    fn recipient_and_amount_are_guarded() {
        let s = StrategyId::SwapCurrency;
        assert!(check_invariants(s, &view("a", 10), &view("a", 10)).is_ok());
        assert_eq!(
            check_invariants(s, &view("a", 10), &view("b", 10)),
            Err(Violation::RecipientChanged)
        );
        assert!(matches!(
            check_invariants(s, &view("a", 10), &view("a", 11)),
            Err(Violation::AmountIncreased { .. })
        ));
        assert!(matches!(
            check_invariants(s, &view("a", 10), &view("a", 9)),
            Err(Violation::AmountReduced { .. })
        ));
    }

    #[test]
    fn the_chain_is_guarded() {
        let before = PaymentView {
            chain_id: Some(4217),
            ..view("a", 10)
        };
        let after = PaymentView {
            chain_id: Some(1),
            ..view("a", 10)
        };
        assert!(matches!(
            check_invariants(StrategyId::SwitchNetwork, &before, &after),
            Err(Violation::ChainChanged { .. })
        ));
        assert!(check_invariants(StrategyId::SwitchNetwork, &before, &before).is_ok());
    }

    #[test]
    fn reduction_needs_both_the_strategy_and_the_callers_consent() {
        let mut before = view("a", 10);
        let after = view("a", 6);
        assert!(check_invariants(StrategyId::ReduceRequest, &before, &after).is_err());
        before.partial_ok = true;
        assert!(check_invariants(StrategyId::ReduceRequest, &before, &after).is_ok());
        assert!(check_invariants(StrategyId::SwapCurrency, &before, &after).is_err());
        let p = [Patch::Amount { amount: 11 }];
        assert!(check_patches(StrategyId::ReduceRequest, &before, &p).is_err());
    }
}
