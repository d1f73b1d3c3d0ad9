//! OpenAI's Chat Completions API (`POST /chat/completions` under the base
//! URL, which by the SDKs' convention ends in `/v1`).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::config::{ConfigError, ProviderConfig};
use crate::provider::{Provider, ProviderError, excerpt, send, status_error};

/// A client of OpenAI's Chat Completions API.
#[derive(Debug, Clone)]
pub struct OpenAi {
    http: reqwest::Client,
    cfg: ProviderConfig,
    name: String,
}

impl OpenAi {
    /// A client for `cfg`.
    pub fn new(cfg: ProviderConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(OpenAi {
            name: format!("openai:{}", cfg.model),
            http,
            cfg,
        })
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Reply,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Reply {
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// `{"error":{"message":"...","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[async_trait]
impl Provider for OpenAi {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn complete(&self, system: &str, user: &str) -> Result<String, ProviderError> {
        let url = format!(
            "{}/chat/completions",
            self.cfg.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.cfg.model,
            "max_completion_tokens": self.cfg.max_tokens,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
        });
        let req = self
            .http
            .post(url)
            .bearer_auth(self.cfg.api_key.expose())
            .json(&body);
        let a = send(&self.name, req, self.cfg.timeout).await?;
        if !a.status.is_success() {
            let reason = match serde_json::from_slice::<ErrorBody>(&a.body) {
                Ok(ErrorBody { error: e }) => {
                    let kind = e.code.or(e.kind).unwrap_or_default();
                    format!("{kind}: {}", e.message)
                }
                Err(_) => excerpt(&a.body),
            };
            return Err(status_error(&self.name, &a, reason));
        }
        let malformed = |reason: String| ProviderError::Malformed {
            provider: self.name.clone(),
            reason,
        };
        let c: Completion = serde_json::from_slice(&a.body)
            .map_err(|e| malformed(format!("{e}: {}", excerpt(&a.body))))?;
        let Some(choice) = c.choices.into_iter().next() else {
            return Err(malformed("no choices".into()));
        };
        if choice.finish_reason.as_deref() == Some("length") {
            return Err(malformed("cut short at max_completion_tokens".into()));
        }
        match (choice.message.content, choice.message.refusal) {
            (Some(text), _) if !text.is_empty() => Ok(text),
            (_, Some(refusal)) => Err(malformed(format!("the model refused: {refusal}"))),
            _ => Err(malformed("empty content".into())),
        }
    }
}
