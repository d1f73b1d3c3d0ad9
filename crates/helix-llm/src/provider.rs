//! What the diagnoser needs of an LLM API, and the HTTP both APIs share.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Why a provider gave no answer text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth one retry: timed out, connection refused or reset, 429, 5xx,
    /// Anthropic's 529 overloaded.
    #[error("{provider}: {reason}")]
    Transient {
        /// `anthropic:model`.
        provider: String,
        /// What happened (the API's own error type and message).
        reason: String,
        /// What the API asked us to wait before retrying.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying: bad key, bad request, unknown model.
    #[error("{provider}: {reason}")]
    Refused {
        /// `anthropic:model`.
        provider: String,
        /// The API's own error type and message.
        reason: String,
    },
    /// A 200 whose body is not the API's answer shape, or an answer cut
    /// short.
    #[error("{provider}: malformed answer: {reason}")]
    Malformed {
        /// `anthropic:model`.
        provider: String,
        /// What was wrong.
        reason: String,
    },
}

impl ProviderError {
    /// Whether one retry is worth it.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient { .. })
    }
}

/// An LLM API that completes a system and a user prompt into text.
#[async_trait]
pub trait Provider: Send + Sync {
    /// `anthropic:claude-haiku-4-5`: names the provider and model in events.
    fn name(&self) -> String;
    /// The model's answer text.
    async fn complete(&self, system: &str, user: &str) -> Result<String, ProviderError>;
}

/// A request's outcome at the HTTP level: status, headers, body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Sends and reads the whole answer within `timeout`; transport failures
/// are transient.
pub(crate) async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Answer, ProviderError> {
    let transient = |reason: String| ProviderError::Transient {
        provider: provider.to_string(),
        reason,
        retry_after: None,
    };
    let exchange = async {
        let resp = request.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>(Answer {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(transient(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
        Ok(Err(e)) if e.is_timeout() => Err(transient(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
        // Without the URL: a base URL may carry credentials.
        Ok(Err(e)) => Err(transient(e.without_url().to_string())),
        Ok(Ok(a)) => Ok(a),
    }
}

/// Turns a non-success answer into an error, transient when the status says
/// the service may answer later. `reason` is the API's own error text.
pub(crate) fn status_error(provider: &str, a: &Answer, reason: String) -> ProviderError {
    let code = a.status.as_u16();
    if code == 429 || code == 529 || a.status.is_server_error() || code == 408 {
        ProviderError::Transient {
            provider: provider.to_string(),
            reason: format!("HTTP {code}: {reason}"),
            retry_after: retry_after(&a.headers),
        }
    } else {
        ProviderError::Refused {
            provider: provider.to_string(),
            reason: format!("HTTP {code}: {reason}"),
        }
    }
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    helix_core::signal::parse_retry_after(v, std::time::SystemTime::now())
}

/// At most this much of an unexpected body goes into an error.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
