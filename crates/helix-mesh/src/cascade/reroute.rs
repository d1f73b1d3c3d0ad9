//! reroute_via_alt: the job goes to another provider of the same service.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Patch, StrategyId};
use helix_tempo::TempoChain;
use serde_json::json;

use super::messages::{Quote, QuoteRequest, body, read};
use super::recover::Side;
use super::{Ledger, message_id, service_recipient};
use crate::mailbox::Mailbox;

/// Moves a [`SubJob`](super::SubJob) to the first provider on the
/// operator's list (other than those already paid for the job) that quotes
/// the same service, in the same token, at no more than the request's
/// amount. Every earlier payment for the job must be back first.
pub struct RerouteViaAlt {
    side: Side,
    providers: Vec<Address>,
    /// How long a provider has to quote, and a failed one to refund.
    pub wait: Duration,
}

impl RerouteViaAlt {
    /// Reroutes among `providers` (the operator's list for the service).
    pub fn new(
        mail: Mailbox,
        chain: TempoChain,
        ledger: Arc<Ledger>,
        providers: Vec<Address>,
    ) -> Self {
        RerouteViaAlt {
            side: Side {
                mail,
                chain,
                ledger,
            },
            providers,
            wait: Duration::from_secs(3),
        }
    }
}

/// The job, service, token and amount a sub-job's view names.
pub(super) fn read_job(
    ctx: &CommitCtx<'_>,
) -> Result<(String, String, Address, u128), CommitError> {
    let r = ctx.request;
    let missing = |what: &str| CommitError::NotApplicable(format!("the request names no {what}"));
    let job = r.idempotency_key.clone().ok_or_else(|| missing("job"))?;
    let service = r
        .recipient
        .as_deref()
        .and_then(|s| s.strip_prefix("service:"))
        .ok_or_else(|| missing("service (recipient `service:<name>`)"))?
        .to_owned();
    let token = r
        .currency
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| missing("token"))?;
    let amount = r.amount.ok_or_else(|| missing("amount"))?;
    Ok((job, service, token, amount))
}

#[async_trait]
impl Executor for RerouteViaAlt {
    fn id(&self) -> StrategyId {
        StrategyId::RerouteViaAlt
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let (job, service, token, amount) = read_job(ctx)?;
        debug_assert_eq!(ctx.request.recipient, Some(service_recipient(&service)));
        self.side.recover(&job, token, self.wait).await?;
        let tried: Vec<Address> = self
            .side
            .ledger
            .legs(&job)
            .iter()
            .map(|l| l.provider)
            .collect();
        let current = ctx.request.endpoint.as_deref().and_then(|e| e.parse().ok());
        let mut asked = 0;
        for &p in &self.providers {
            if tried.contains(&p) || Some(p) == current {
                continue;
            }
            asked += 1;
            let ask = QuoteRequest {
                job: job.clone(),
                service: service.clone(),
            };
            if let Err(e) = self
                .side
                .mail
                .send(p, &message_id(&format!("{job}:quote:{p}")), body(&ask))
                .await
            {
                tracing::warn!(target: "helix::mesh", provider = %p, %e, "quote request not sent");
                continue;
            }
            let quote = self
                .side
                .mail
                .wait(self.wait, |m| {
                    m.from == p && m.body["kind"] == "quote" && m.body["job"].as_str() == Some(&job)
                })
                .await
                .and_then(|m| read::<Quote>(&m.body));
            match quote {
                Some(q) if q.service == service && q.token == token && q.price <= amount => {
                    tracing::info!(target: "helix::mesh", %job, provider = %p, price = q.price, "rerouted");
                    return Ok(Committed {
                        patches: vec![Patch::Endpoint { url: p.to_string() }],
                        params: json!({ "asked": asked }),
                        ..Default::default()
                    });
                }
                Some(q) => {
                    tracing::info!(target: "helix::mesh", provider = %p, price = q.price, token = %q.token, "quote refused: another token or above the amount");
                }
                None => tracing::info!(target: "helix::mesh", provider = %p, "no quote in time"),
            }
        }
        Err(CommitError::NotApplicable(format!(
            "no other provider of {service} quoted at most {amount} ({asked} asked)"
        )))
    }
}
