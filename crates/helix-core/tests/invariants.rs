//! Property: whatever a strategy returns and however sloppily a request
//! applies it, the call is never retried with another recipient or a
//! higher amount.

use std::sync::Mutex;

use async_trait::async_trait;
use helix_core::{
    Adapter, Candidate, Category, CommitCtx, CommitError, Committed, ErrorSignal, Evidence, Facts,
    Failure, FailureCode, Helix, Mode, Patch, PaymentView, Platform, Refused, Repairable, Severity,
    StrategyId,
};
use proptest::prelude::*;

/// A request that applies patches carelessly: endpoints overwrite the
/// recipient, splits multiply the amount. The engine must catch it.
#[derive(Debug, Clone)]
struct Sloppy {
    recipient: String,
    amount: u128,
    partial_ok: bool,
    fee: String,
}

impl Repairable for Sloppy {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some(self.recipient.clone()),
            amount: Some(self.amount),
            fee_token: Some(self.fee.clone()),
            partial_ok: self.partial_ok,
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Endpoint { url } => self.recipient = url.clone(),
            Patch::Amount { amount } => self.amount = *amount,
            Patch::Split { parts } => self.amount = self.amount.saturating_mul(u128::from(*parts)),
            Patch::FeeToken { token } => self.fee = token.clone(),
            Patch::Nonce { .. } => {}
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

struct Always(Failure);
impl Adapter for Always {
    fn name(&self) -> &'static str {
        "always"
    }
    fn perceive(&self, _: &ErrorSignal) -> Option<Failure> {
        Some(self.0.clone())
    }
    fn construct(&self, _: &Failure) -> Vec<Candidate> {
        StrategyId::ALL
            .iter()
            .map(|s| Candidate::new(*s, 0, 1))
            .collect()
    }
}

struct Random {
    id: StrategyId,
    patches: Vec<Patch>,
}

#[async_trait]
impl helix_core::Executor for Random {
    fn id(&self) -> StrategyId {
        self.id
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        Ok(Committed {
            patches: self.patches.clone(),
            ..Default::default()
        })
    }
}

fn patch() -> impl Strategy<Value = Patch> {
    prop_oneof![
        "[a-z0-9]{1,8}".prop_map(|url| Patch::Endpoint { url }),
        (0u128..2_000_000).prop_map(|amount| Patch::Amount { amount }),
        (0u32..10).prop_map(|parts| Patch::Split { parts }),
        "[A-Z]{3,6}".prop_map(|token| Patch::FeeToken { token }),
        any::<u64>().prop_map(|nonce| Patch::Nonce { nonce }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_retry_ever_sees_another_recipient_or_a_higher_amount(
        strategy in proptest::sample::select(StrategyId::ALL.to_vec()),
        patches in proptest::collection::vec(patch(), 0..5),
        amount in 1u128..1_000_000,
        partial_ok in any::<bool>(),
    ) {
        let failure = Failure {
            code: FailureCode::PaymentInsufficient,
            category: Category::Balance,
            severity: Severity::Medium,
            platform: Platform::Tempo,
            evidence: Evidence::Message,
            facts: Facts::default(),
        };
        let helix = Helix::builder()
            .adapter(Always(failure))
            .strategy(Random { id: strategy, patches })
            .mode(Mode::Full)
            .max_repairs(2)
            .build();
        let seen = Mutex::new(Vec::new());
        let req = Sloppy { recipient: "0xbob".into(), amount, partial_ok, fee: "AlphaUSD".into() };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _ = rt.block_on(helix.run(req, async |r: &Sloppy| {
            seen.lock().unwrap().push((r.recipient.clone(), r.amount));
            Err::<(), _>("still failing".to_string())
        }));
        for (recipient, a) in seen.into_inner().unwrap() {
            prop_assert_eq!(recipient.as_str(), "0xbob");
            prop_assert!(a <= amount, "amount rose from {} to {}", amount, a);
            if a < amount {
                prop_assert!(partial_ok && strategy.reduces_amount(), "reduced without consent by {}", strategy);
            }
        }
    }
}
