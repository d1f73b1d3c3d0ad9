//! retry_with_receipt: present the server's receipt instead of paying
//! again.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};

/// retry_with_receipt: the server took the payment and then failed; the retry
/// presents the server's receipt and pays nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryWithReceipt;

#[async_trait]
impl Executor for RetryWithReceipt {
    fn id(&self) -> StrategyId {
        StrategyId::RetryWithReceipt
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Receipt]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let receipt = ctx
            .failure
            .facts
            .payment_receipt
            .clone()
            .or_else(|| ctx.signal.facts.payment_receipt.clone())
            .ok_or_else(|| CommitError::NotApplicable("the server issued no receipt".into()))?;
        Ok(Committed {
            patches: vec![Patch::Receipt { receipt }],
            ..Default::default()
        })
    }
}
