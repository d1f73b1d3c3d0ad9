//! The part of Stripe's API the repairs use: payment intents by the
//! metadata key Helix files them under, and their status.

use std::time::Duration;

use helix_core::CommitError;
use serde_json::Value;

/// Where Stripe is and how to authenticate. Debug never shows the key.
#[derive(Clone)]
pub struct StripeApi {
    pub(crate) http: reqwest::Client,
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
            .map_err(|e| CommitError::Platform(helix_http::signal::error_chain(&e)))?;
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
