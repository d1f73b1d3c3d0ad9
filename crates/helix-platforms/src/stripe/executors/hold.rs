//! hold_and_notify: a payment that needs the cardholder (3-D Secure) is
//! held until they act.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Patch, StrategyId};
use serde_json::json;

use crate::stripe::client::StripeApi;

/// hold_and_notify: tells a person (webhook) what they must do, holds the
/// payment, and resumes it when the payment intent no longer needs action.
#[derive(Debug, Clone)]
pub struct HoldAndNotify {
    api: StripeApi,
    webhook: String,
    max_wait: Duration,
    poll: Duration,
}

impl HoldAndNotify {
    /// Notifies `webhook`, then waits up to `max_wait` for the person.
    pub fn new(api: StripeApi, webhook: impl Into<String>, max_wait: Duration) -> Self {
        HoldAndNotify {
            api,
            webhook: webhook.into(),
            max_wait,
            poll: Duration::from_millis(100),
        }
    }
}

#[async_trait]
impl Executor for HoldAndNotify {
    fn id(&self) -> StrategyId {
        StrategyId::HoldAndNotify
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let intent = ctx.failure.facts.object_id.clone();
        let note = json!({
            "event": "helix.action_required",
            "failure": ctx.failure.key().to_string(),
            "payment_intent": intent,
            "message": ctx.signal.message,
        });
        let sent = self
            .api
            .http
            .post(&self.webhook)
            .json(&note)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| {
                CommitError::Platform(format!("notify: {}", helix_http::signal::error_chain(&e)))
            })?;
        if !sent.status().is_success() {
            return Err(CommitError::Platform(format!(
                "notify: webhook answered {}",
                sent.status()
            )));
        }
        let Some(id) = intent else {
            return Err(CommitError::NotApplicable(
                "held: a person was notified; nothing to resume".into(),
            ));
        };
        let deadline = tokio::time::Instant::now() + self.max_wait;
        loop {
            let status = self.api.intent_status(&id).await?;
            match status.as_str() {
                "requires_confirmation" | "succeeded" | "processing" | "requires_capture" => {
                    return Ok(Committed {
                        patches: vec![Patch::UseExisting { id }],
                        ..Default::default()
                    });
                }
                "canceled" => {
                    return Err(CommitError::NotApplicable(
                        "the payment was canceled".into(),
                    ));
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(CommitError::NotApplicable(format!(
                        "held: still {status} after {} s",
                        self.max_wait.as_secs()
                    )));
                }
                _ => tokio::time::sleep(self.poll).await,
            }
        }
    }
}
