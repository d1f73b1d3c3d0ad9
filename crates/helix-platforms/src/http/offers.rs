use helix_core::{Category as K, FailureCode as C, GeneKey, StrategyId as S};

use crate::perception::{Offer, offer};

pub fn offers(k: GeneKey) -> &'static [Offer] {
    match (k.code, k.category) {
        (C::RateLimited, K::Throttle) => {
            const {
                &[
                    offer(S::Backoff, 0, 1_000),
                    offer(S::SwitchEndpoint, 0, 300),
                ]
            }
        }
        (C::ServerError, K::Service) => {
            const {
                &[
                    offer(S::BackoffRetry, 0, 500),
                    offer(S::SwitchEndpoint, 0, 300),
                ]
            }
        }
        (C::Timeout, K::Service) => {
            const {
                &[
                    offer(S::ExtendDeadline, 0, 100),
                    offer(S::SwitchProvider, 0, 300),
                ]
            }
        }
        (C::OutcomeUnknown, K::Service) => const { &[offer(S::Reconcile, 0, 500)] },
        _ => const { &[] },
    }
}
