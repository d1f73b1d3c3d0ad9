//! resolve_idempotency: an idempotency conflict resolved without ever
//! paying twice.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};

use crate::stripe::client::StripeApi;

/// resolve_idempotency: the key was already used with other parameters.
/// If the first request paid, hand back its payment; if it provably failed,
/// use a new key; if its fate is unknown, refuse (never risk a second payment).
#[derive(Debug, Clone)]
pub struct ResolveIdempotency {
    api: StripeApi,
}

impl ResolveIdempotency {
    /// Uses this API.
    pub fn new(api: StripeApi) -> Self {
        ResolveIdempotency { api }
    }
}

const PAID: &[&str] = &["succeeded", "processing", "requires_capture"];
const FAILED: &[&str] = &["requires_payment_method", "canceled"];

#[async_trait]
impl Executor for ResolveIdempotency {
    fn id(&self) -> StrategyId {
        StrategyId::ResolveIdempotency
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::IdempotencyKey]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let key =
            ctx.request.idempotency_key.as_deref().ok_or_else(|| {
                CommitError::NotApplicable("request has no idempotency key".into())
            })?;
        let intents = self.api.intents_for_key(key).await?;
        if let Some((id, _)) = intents.iter().find(|(_, s)| PAID.contains(&s.as_str())) {
            return Ok(Committed {
                patches: vec![Patch::UseExisting { id: id.clone() }],
                ..Default::default()
            });
        }
        if !intents.is_empty() && intents.iter().all(|(_, s)| FAILED.contains(&s.as_str())) {
            let next = format!("{key}.r{}", intents.len());
            return Ok(Committed {
                patches: vec![Patch::IdempotencyKey { key: next }],
                ..Default::default()
            });
        }
        Err(CommitError::Unsafe(format!(
            "the first request under key {key} has no provable outcome ({} intents found); not retrying under a new key",
            intents.len()
        )))
    }
}
