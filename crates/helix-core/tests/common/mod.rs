//! Test doubles shared by the engine's integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use helix_core::*;

/// A payment whose success depends on fields a repair can patch.
#[derive(Debug, Clone, Default)]
pub struct Pay {
    pub to: String,
    pub amount: u128,
    pub nonce: u64,
    pub currency: String,
    pub partial_ok: bool,
}

impl Repairable for Pay {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some(self.to.clone()),
            amount: Some(self.amount),
            nonce: Some(self.nonce),
            currency: Some(self.currency.clone()),
            partial_ok: self.partial_ok,
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        match p {
            Patch::Nonce { nonce } => self.nonce = *nonce,
            Patch::Currency { currency } => self.currency = currency.clone(),
            Patch::Amount { amount } => self.amount = *amount,
            other => return Err(Refused::unsupported(other)),
        }
        Ok(())
    }
}

pub fn pay() -> Pay {
    Pay {
        to: "0xbob".into(),
        amount: 500_000,
        nonce: 1,
        currency: "BetaUSD".into(),
        partial_ok: false,
    }
}

/// Classifies by keyword; offers what the test asks for.
#[derive(Clone)]
pub struct Words(pub Vec<StrategyId>);

pub fn failure(code: FailureCode, category: Category) -> Failure {
    Failure {
        code,
        category,
        severity: Severity::Medium,
        platform: Platform::Tempo,
        evidence: Evidence::Message,
        facts: Facts::default(),
    }
}

impl Adapter for Words {
    fn name(&self) -> &'static str {
        "words"
    }
    fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
        if s.message.contains("nonce") {
            Some(failure(
                FailureCode::VerificationFailed,
                Category::Signature,
            ))
        } else if s.message.contains("balance") {
            Some(failure(FailureCode::PaymentInsufficient, Category::Balance))
        } else {
            None
        }
    }
    fn construct(&self, _: &Failure) -> Vec<Candidate> {
        self.0
            .iter()
            .map(|s| Candidate::new(*s, 1_000, 10))
            .collect()
    }
}

/// An executor that counts its commits and returns fixed patches.
pub struct Exec {
    pub id: StrategyId,
    pub patches: Vec<Patch>,
    pub calls: Arc<AtomicU32>,
    pub fail: bool,
    /// What `dry_run` answers (`None`: no simulation exists).
    pub dry: Option<Result<(), CommitError>>,
}

impl Exec {
    pub fn new(id: StrategyId, patches: Vec<Patch>) -> (Self, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        (
            Exec {
                id,
                patches,
                calls: calls.clone(),
                fail: false,
                dry: None,
            },
            calls,
        )
    }
}

#[async_trait]
impl Executor for Exec {
    fn id(&self) -> StrategyId {
        self.id
    }
    async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(CommitError::Platform("reverted".into()));
        }
        Ok(Committed {
            patches: self.patches.clone(),
            cost: 700,
            ..Default::default()
        })
    }
    async fn dry_run(&self, _: &CommitCtx<'_>) -> Option<Result<(), CommitError>> {
        self.dry.clone()
    }
}

/// The op of the nonce tests: succeeds once the nonce is 9.
pub async fn only_nonce(p: &Pay) -> Result<(), String> {
    if p.nonce == 9 {
        Ok(())
    } else {
        Err("nonce too low".to_string())
    }
}
