//! Anthropic's Messages API (`POST /v1/messages`).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::config::{ConfigError, ProviderConfig};
use crate::provider::{Provider, ProviderError, excerpt, send, status_error};

/// The API version header every request carries.
pub const VERSION: &str = "2023-06-01";

/// A client of Anthropic's Messages API.
#[derive(Debug, Clone)]
pub struct Anthropic {
    http: reqwest::Client,
    cfg: ProviderConfig,
    name: String,
}

impl Anthropic {
    /// A client for `cfg`.
    pub fn new(cfg: ProviderConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Anthropic {
            name: format!("anthropic:{}", cfg.model),
            http,
            cfg,
        })
    }
}

#[derive(Deserialize)]
struct Message {
    content: Vec<Block>,
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

/// `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_..."}`
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

#[async_trait]
impl Provider for Anthropic {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn complete(&self, system: &str, user: &str) -> Result<String, ProviderError> {
        let url = format!("{}/v1/messages", self.cfg.base_url.trim_end_matches('/'));
        let body = json!({
            "model": self.cfg.model,
            "max_tokens": self.cfg.max_tokens,
            "temperature": 0,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        });
        let req = self
            .http
            .post(url)
            .header("x-api-key", self.cfg.api_key.expose())
            .header("anthropic-version", VERSION)
            .json(&body);
        let a = send(&self.name, req, self.cfg.timeout).await?;
        if !a.status.is_success() {
            let reason = match serde_json::from_slice::<ErrorBody>(&a.body) {
                Ok(e) => format!("{}: {}", e.error.kind, e.error.message),
                Err(_) => excerpt(&a.body),
            };
            return Err(status_error(&self.name, &a, reason));
        }
        let malformed = |reason: String| ProviderError::Malformed {
            provider: self.name.clone(),
            reason,
        };
        let m: Message = serde_json::from_slice(&a.body)
            .map_err(|e| malformed(format!("{e}: {}", excerpt(&a.body))))?;
        if m.stop_reason.as_deref() == Some("max_tokens") {
            return Err(malformed("cut short at max_tokens".into()));
        }
        let text: String = m
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .map(|b| b.text.as_str())
            .collect();
        if text.is_empty() {
            return Err(malformed("no text block".into()));
        }
        Ok(text)
    }
}
