//! Models, keys, endpoints and timeouts, from code or the environment.

use std::time::Duration;

/// An API key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// One provider's settings.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Anthropic: `https://api.anthropic.com`; OpenAI: `https://api.openai.com/v1`
    /// (the official SDKs' conventions for `ANTHROPIC_BASE_URL` and
    /// `OPENAI_BASE_URL`).
    pub base_url: String,
    /// The key.
    pub api_key: ApiKey,
    /// The model.
    pub model: String,
    /// Per request, including reading the answer.
    pub timeout: Duration,
    /// The answer is one small JSON object; this bounds its cost.
    pub max_tokens: u32,
}

/// Which providers to ask, in order: Anthropic first, OpenAI on failover.
#[derive(Debug, Clone, Default)]
pub struct LlmConfig {
    /// Anthropic's Messages API.
    pub anthropic: Option<ProviderConfig>,
    /// OpenAI's Chat Completions API.
    pub openai: Option<ProviderConfig>,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither provider has a key.
    #[error("no LLM configured: set ANTHROPIC_API_KEY or OPENAI_API_KEY")]
    Nothing,
    /// A setting did not parse.
    #[error("{name}: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Defaults: a small fast model each; classification needs little.
pub const ANTHROPIC_MODEL: &str = "claude-haiku-4-5";
/// See [`ANTHROPIC_MODEL`].
pub const OPENAI_MODEL: &str = "gpt-4o-mini";
/// Per-request timeout unless `HELIX_LLM_TIMEOUT_MS` says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(10);

impl LlmConfig {
    /// From the environment: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`,
    /// `HELIX_ANTHROPIC_MODEL`; `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `HELIX_OPENAI_MODEL`; `HELIX_LLM_TIMEOUT_MS`. A provider without a
    /// key is left out.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// As [`LlmConfig::from_env`], reading variables through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let timeout = get("HELIX_LLM_TIMEOUT_MS")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(TIMEOUT, Duration::from_millis);
        let provider = |key: &str, url: &str, default_url: &str, model: &str, default_model| {
            get(key).map(|k| ProviderConfig {
                base_url: get(url).unwrap_or_else(|| default_url.to_string()),
                api_key: ApiKey::new(k),
                model: get(model).unwrap_or_else(|| String::from(default_model)),
                timeout,
                max_tokens: 256,
            })
        };
        LlmConfig {
            anthropic: provider(
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_BASE_URL",
                "https://api.anthropic.com",
                "HELIX_ANTHROPIC_MODEL",
                ANTHROPIC_MODEL,
            ),
            openai: provider(
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
                "https://api.openai.com/v1",
                "HELIX_OPENAI_MODEL",
                OPENAI_MODEL,
            ),
        }
    }

    /// Whether any provider is configured.
    pub fn is_empty(&self) -> bool {
        self.anthropic.is_none() && self.openai.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_without_keys_are_left_out_and_keys_never_print() {
        let env = |k: &str| match k {
            "OPENAI_API_KEY" => Some("sk-live-secret".to_string()),
            "HELIX_LLM_TIMEOUT_MS" => Some("2500".to_string()),
            _ => None,
        };
        let c = LlmConfig::from_lookup(env);
        assert!(c.anthropic.is_none());
        let o = c.openai.unwrap();
        assert_eq!(o.base_url, "https://api.openai.com/v1");
        assert_eq!(o.model, OPENAI_MODEL);
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert!(!format!("{o:?}").contains("secret"));
        assert!(LlmConfig::from_lookup(|_| None).is_empty());
    }
}
