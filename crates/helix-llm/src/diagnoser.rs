//! Ask Anthropic, fail over to OpenAI; one retry each of a transient failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use helix_core::{DiagnoseError, Diagnoser, Diagnosis, ErrorSignal};

use crate::anthropic::Anthropic;
use crate::config::{ConfigError, LlmConfig};
use crate::openai::OpenAi;
use crate::prompt::{parse_answer, system_prompt, user_prompt};
use crate::provider::{Provider, ProviderError};

/// A retry waits what the API asked, but never longer than this.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);
/// A retry waits this when the API did not say.
const RETRY_WAIT: Duration = Duration::from_millis(250);

/// Diagnoses with LLMs, in order, until one gives a valid answer.
pub struct LlmDiagnoser {
    providers: Vec<Arc<dyn Provider>>,
    system: String,
}

impl std::fmt::Debug for LlmDiagnoser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.providers.iter().map(|p| p.name()).collect();
        f.debug_struct("LlmDiagnoser")
            .field("providers", &names)
            .finish()
    }
}

impl LlmDiagnoser {
    /// Asks `providers` in order.
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        LlmDiagnoser {
            providers,
            system: system_prompt(),
        }
    }

    /// Anthropic then OpenAI, whichever are configured.
    pub fn from_config(cfg: &LlmConfig) -> Result<Self, ConfigError> {
        Ok(Self::new(providers(cfg)?))
    }

    async fn ask(&self, p: &dyn Provider, user: &str) -> Result<String, ProviderError> {
        ask(p, &self.system, user).await
    }
}

/// The configured providers in the order they are asked: Anthropic, then
/// OpenAI.
pub fn providers(cfg: &LlmConfig) -> Result<Vec<Arc<dyn Provider>>, ConfigError> {
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    if let Some(a) = &cfg.anthropic {
        providers.push(Arc::new(Anthropic::new(a.clone())?));
    }
    if let Some(o) = &cfg.openai {
        providers.push(Arc::new(OpenAi::new(o.clone())?));
    }
    if providers.is_empty() {
        return Err(ConfigError::Nothing);
    }
    Ok(providers)
}

/// Asks `p`, and once more after a transient failure (waiting what the API
/// asked, at most 2 s).
pub async fn ask(p: &dyn Provider, system: &str, user: &str) -> Result<String, ProviderError> {
    match p.complete(system, user).await {
        Err(ProviderError::Transient {
            provider,
            reason,
            retry_after,
        }) => {
            let wait = retry_after.unwrap_or(RETRY_WAIT).min(MAX_RETRY_WAIT);
            tracing::info!(target: "helix::llm", %provider, %reason, wait_ms = wait.as_millis() as u64, "retrying once");
            tokio::time::sleep(wait).await;
            p.complete(system, user).await
        }
        other => other,
    }
}

#[async_trait]
impl Diagnoser for LlmDiagnoser {
    fn name(&self) -> &str {
        "llm"
    }

    async fn diagnose(&self, signal: &ErrorSignal) -> Result<Diagnosis, DiagnoseError> {
        let user = user_prompt(signal);
        let mut failures = Vec::new();
        let mut answered = false;
        for p in &self.providers {
            let name = p.name();
            match self.ask(p.as_ref(), &user).await {
                Ok(text) => {
                    answered = true;
                    match parse_answer(&text, &name) {
                        Ok(d) => {
                            tracing::info!(target: "helix::llm", provider = %name, code = %d.code, category = %d.category, "diagnosed");
                            return Ok(d);
                        }
                        Err(e) => {
                            tracing::warn!(target: "helix::llm", provider = %name, %e, "answer rejected");
                            failures.push(e.to_string());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "helix::llm", provider = %name, %e, "no answer");
                    failures.push(e.to_string());
                }
            }
        }
        let why = failures.join("; ");
        Err(if answered {
            DiagnoseError::Rejected(why)
        } else {
            DiagnoseError::Unavailable(why)
        })
    }
}
