//! Talking to `helix registry serve`.

use std::time::Duration;

use helix_core::GeneKey;
use reqwest::StatusCode;
use serde_json::Value;

use crate::wire::{GeneId, Push, RegistryGene, Report};

/// What a registry call ended in, when not the answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// 429: come back after the wait the registry named.
    #[error("rate limited by the registry; retry after {0:?}")]
    Limited(Duration),
    /// The registry refused for good (bad signature, replay, evidence ...).
    #[error("registry refused ({status}, {reason}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The registry's short reason.
        reason: String,
        /// Its message.
        message: String,
    },
    /// Could not reach it, or it could not answer now (5xx): try later.
    #[error("registry unreachable: {0}")]
    Unreachable(String),
    /// An answer that does not parse.
    #[error("registry answered something unreadable: {0}")]
    Malformed(String),
}

impl ClientError {
    /// Whether sending the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Limited(_) | ClientError::Unreachable(_))
    }
}

/// An HTTP client of one registry.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
    agent: Option<String>,
}

/// Longest a registry answer may take before the call gives up.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a Retry-After is honoured (a registry cannot park an agent for good).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

impl RegistryClient {
    /// A client of the registry at `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(RegistryClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
            agent: None,
        })
    }

    /// Names the agent on pulls, so its rate-limit bucket is its own.
    pub fn as_agent(mut self, address: &str) -> Self {
        self.agent = Some(address.to_owned());
        self
    }

    /// The registry's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.get(format!("{}{path}", self.base));
        match &self.agent {
            Some(a) => rb.header("x-helix-agent", a),
            None => rb,
        }
    }

    /// Pushes a signed gene.
    pub async fn push(&self, p: &Push) -> Result<RegistryGene, ClientError> {
        let rb = self.http.post(format!("{}/v1/genes", self.base)).json(p);
        read(rb)
            .await?
            .ok_or_else(|| ClientError::Malformed("empty push answer".into()))
    }

    /// Sends a signed failure report.
    pub async fn report(&self, r: &Report) -> Result<RegistryGene, ClientError> {
        let rb = self.http.post(format!("{}/v1/reports", self.base)).json(r);
        read(rb)
            .await?
            .ok_or_else(|| ClientError::Malformed("empty report answer".into()))
    }

    /// The best gene for `key`, `None` when none is good enough.
    pub async fn pull(&self, key: GeneKey) -> Result<Option<RegistryGene>, ClientError> {
        read(self.get(&format!(
            "/v1/genes?code={}&category={}",
            key.code, key.category
        )))
        .await
    }

    /// One gene by id.
    pub async fn show(&self, id: GeneId) -> Result<Option<RegistryGene>, ClientError> {
        read(self.get(&format!("/v1/genes/{id}"))).await
    }

    /// The highest-quality genes.
    pub async fn list(&self, limit: u32) -> Result<Vec<RegistryGene>, ClientError> {
        Ok(read(self.get(&format!("/v1/genes?limit={limit}")))
            .await?
            .unwrap_or_default())
    }

    /// The registry's totals.
    pub async fn stats(&self) -> Result<Value, ClientError> {
        Ok(read(self.get("/v1/stats")).await?.unwrap_or(Value::Null))
    }
}

/// Sends and reads: `Ok(None)` on 404.
async fn read<T: serde::de::DeserializeOwned>(
    rb: reqwest::RequestBuilder,
) -> Result<Option<T>, ClientError> {
    let resp = rb
        .send()
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    let status = resp.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(1))
            .min(MAX_RETRY_AFTER);
        return Err(ClientError::Limited(wait));
    }
    let text = resp
        .text()
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ClientError::Malformed(format!("{e}: {}", snippet(&text))));
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if status == StatusCode::NOT_FOUND && matches!(reason.as_str(), "none" | "unknown_gene") {
        return Ok(None);
    }
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| snippet(&text));
    if status.is_server_error() {
        return Err(ClientError::Unreachable(format!("{status}: {message}")));
    }
    Err(ClientError::Refused {
        status: status.as_u16(),
        reason,
        message,
    })
}

fn snippet(s: &str) -> String {
    s.chars().take(200).collect()
}
