use helix_core::{Category as K, FailureCode as C, GeneKey, StrategyId as S};

use crate::perception::{Offer, offer};

const SLIPPAGE: &str = r#"{"max_slippage_bps":50}"#;

const fn swap(strategy: S, est_cost: u64, est_ms: u64) -> Offer {
    Offer {
        strategy,
        est_cost,
        est_ms,
        params: SLIPPAGE,
    }
}

pub fn offers(k: GeneKey) -> &'static [Offer] {
    match (k.code, k.category) {
        (C::PaymentInsufficient, K::Balance) => {
            const {
                &[
                    swap(S::SwapCurrency, 20_000, 800),
                    offer(S::TopupFromReserve, 5_000, 600),
                    offer(S::ReduceRequest, 0, 10),
                ]
            }
        }
        (C::PaymentInsufficient, K::Fee) => {
            const {
                &[
                    offer(S::SwitchFeeToken, 1_000, 200),
                    swap(S::SwapForFeeToken, 10_000, 800),
                ]
            }
        }
        (C::InvalidChallenge | C::PaymentExpired | C::PaymentRequired, K::Session) => {
            const { &[offer(S::RenewSession, 0, 150)] }
        }
        (C::MethodUnsupported, K::Currency) => {
            const {
                &[
                    swap(S::SwapDirect, 20_000, 800),
                    swap(S::SwapMultihop, 40_000, 1_200),
                    offer(S::SwitchService, 0, 200),
                ]
            }
        }
        (C::VerificationFailed, K::Signature) => const { &[offer(S::RefreshNonce, 0, 50)] },
        (C::TxReverted, K::Batch) => const { &[offer(S::RemoveAndResubmit, 1_000, 300)] },
        (C::PaymentRequired, K::Service) => {
            const {
                &[
                    offer(S::RetryWithReceipt, 0, 200),
                    offer(S::SwitchProvider, 0, 300),
                ]
            }
        }
        (C::SwapReverted, K::Dex) => {
            const {
                &[
                    swap(S::SplitSwap, 30_000, 1_500),
                    swap(S::SwapMultihop, 40_000, 1_200),
                    offer(S::WaitAndRetry, 0, 5_000),
                ]
            }
        }
        (C::Tip403, K::Compliance) => const { &[swap(S::SwitchStablecoin, 20_000, 800)] },
        (C::CascadeFailure, K::Cascade) => {
            const {
                // The job done by another provider beats the money back.
                &[
                    offer(S::RerouteViaAlt, 0, 1_000),
                    offer(S::RefundWaterfall, 10_000, 3_000),
                ]
            }
        }
        (C::OfframpFailed, K::Offramp) => {
            const {
                &[
                    offer(S::SwitchOfframp, 0, 300),
                    offer(S::HoldAndNotify, 0, 100),
                ]
            }
        }
        (C::TokenUninitialized, K::Network) => {
            const {
                &[
                    offer(S::SwitchNetwork, 0, 200),
                    offer(S::SwitchService, 0, 200),
                ]
            }
        }
        _ => const { &[] },
    }
}
