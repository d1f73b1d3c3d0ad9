//! Switching to the next entry of a configured list: endpoint, provider,
//! off-ramp, payment method.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Patch, StrategyId};

/// Which field of the request a [`SwitchTo`] list replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchField {
    /// `Patch::Endpoint`.
    Endpoint,
    /// `Patch::PaymentMethod`.
    PaymentMethod,
}

/// Moves the request to the next entry of a configured list after the one it
/// uses now (endpoint, provider, off-ramp, payment method). The list is the
/// operator's: Helix never invents where a payment may go.
#[derive(Debug, Clone)]
pub struct SwitchTo {
    id: StrategyId,
    field: SwitchField,
    options: Vec<String>,
}

impl SwitchTo {
    /// Endpoints for `id` (switch_endpoint, switch_provider, switch_offramp,
    /// switch_service).
    pub fn endpoints(id: StrategyId, urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SwitchTo {
            id,
            field: SwitchField::Endpoint,
            options: urls.into_iter().map(Into::into).collect(),
        }
    }

    /// Payment methods the caller has on file, in order of preference.
    pub fn payment_methods(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SwitchTo {
            id: StrategyId::SwitchPaymentMethod,
            field: SwitchField::PaymentMethod,
            options: ids.into_iter().map(Into::into).collect(),
        }
    }
}

#[async_trait]
impl Executor for SwitchTo {
    fn id(&self) -> StrategyId {
        self.id
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let current = match self.field {
            SwitchField::Endpoint => ctx.request.endpoint.as_deref(),
            SwitchField::PaymentMethod => ctx.request.payment_method.as_deref(),
        };
        let start = current
            .and_then(|c| self.options.iter().position(|o| o == c))
            .map_or(0, |i| i + 1);
        let n = self.options.len();
        let next = (0..n)
            .map(|k| &self.options[(start + k) % n])
            .find(|o| Some(o.as_str()) != current)
            .ok_or_else(|| CommitError::NotApplicable("no alternative configured".into()))?;
        let patch = match self.field {
            SwitchField::Endpoint => Patch::Endpoint { url: next.clone() },
            SwitchField::PaymentMethod => Patch::PaymentMethod { id: next.clone() },
        };
        Ok(Committed {
            patches: vec![patch],
            ..Default::default()
        })
    }
}
