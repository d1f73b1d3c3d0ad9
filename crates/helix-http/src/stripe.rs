//! Stripe repairs that need Stripe's API: resolving an idempotency conflict
//! without ever paying twice, and holding a payment that needs the
//! cardholder (3-D Secure) until they act.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Patch, Strategy, StrategyId};
use serde_json::{Value, json};

/// Where Stripe is and how to authenticate. Debug never shows the key.
#[derive(Clone)]
pub struct StripeApi {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base", &self.base)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Metadata field under which Helix files each logical payment's key, so
/// the first attempt can be found again.
pub const KEY_METADATA: &str = "helix_key";

impl StripeApi {
    /// `base` is `https://api.stripe.com` in production.
    pub fn new(http: reqwest::Client, base: impl Into<String>, key: Option<String>) -> Self {
        StripeApi {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            key,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let rb = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(10));
        match &self.key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    async fn json(&self, rb: reqwest::RequestBuilder) -> Result<Value, CommitError> {
        let resp = rb
            .send()
            .await
            .map_err(|e| CommitError::Platform(crate::signal::error_chain(&e)))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .map_err(|e| CommitError::Platform(format!("Stripe answered non-JSON: {e}")))?;
        if !status.is_success() {
            return Err(CommitError::Platform(format!("Stripe {status}: {v}")));
        }
        Ok(v)
    }

    /// Payment intents filed under a Helix key (Stripe's search API).
    pub async fn intents_for_key(&self, key: &str) -> Result<Vec<(String, String)>, CommitError> {
        if key.contains('\'') || key.contains('\\') {
            return Err(CommitError::Unsafe(
                "idempotency key has quote characters".into(),
            ));
        }
        let query = format!("metadata['{KEY_METADATA}']:'{key}'");
        let v = self
            .json(
                self.get("/v1/payment_intents/search")
                    .query(&[("query", query.as_str())]),
            )
            .await?;
        Ok(v.get("data")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|pi| {
                        Some((
                            pi.get("id")?.as_str()?.to_owned(),
                            pi.get("status")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The status of one payment intent.
    pub async fn intent_status(&self, id: &str) -> Result<String, CommitError> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(CommitError::Unsafe(format!(
                "suspicious payment intent id {id:?}"
            )));
        }
        let v = self
            .json(self.get(&format!("/v1/payment_intents/{id}")))
            .await?;
        v.get("status")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CommitError::Platform("payment intent without status".into()))
    }
}

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
impl Strategy for ResolveIdempotency {
    fn id(&self) -> StrategyId {
        StrategyId::ResolveIdempotency
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
impl Strategy for HoldAndNotify {
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
                CommitError::Platform(format!("notify: {}", crate::signal::error_chain(&e)))
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
