//! # helix-llm
//!
//! The LLM fallback of Helix's Perceive stage. A failure no adapter
//! recognises is described to a model, which must answer with one JSON
//! object naming a failure code, a category and repair strategies, all from
//! Helix's taxonomy; anything else is rejected. Anthropic's Messages API is
//! asked first, OpenAI's Chat Completions API on failover, each with its own
//! timeout and one retry of a transient failure.
//!
//! [`LlmDiagnoser`] implements [`helix_core::Diagnoser`]: give it to
//! [`helix_core::HelixBuilder::diagnoser`]. The engine asks once per kind of
//! failure (the signal's fingerprint) and remembers the answer in the gene
//! store; genes born from these repairs carry source `llm` and confidence
//! 0.6, which rises only with verified successes.
//!
//! ```no_run
//! use std::sync::Arc;
//! let llm = helix_llm::LlmDiagnoser::from_config(&helix_llm::LlmConfig::from_env()).unwrap();
//! let helix = helix_core::Helix::builder().diagnoser(Arc::new(llm)).build();
//! ```

#![warn(missing_docs)]

mod anthropic;
mod check;
mod config;
mod diagnoser;
mod openai;
mod prompt;
mod provider;

pub use anthropic::Anthropic;
pub use check::{Api, check};
pub use config::{ApiKey, ConfigError, LlmConfig, ProviderConfig};
pub use diagnoser::{LlmDiagnoser, ask, providers};
pub use openai::OpenAi;
pub use prompt::{parse_answer, system_prompt, user_prompt};
pub use provider::{Provider, ProviderError};
