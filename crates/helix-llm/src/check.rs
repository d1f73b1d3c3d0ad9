//! What `helix config check` can learn of an LLM provider without paying:
//! the base URL is a URL, the key can go in a header, and the models list
//! (free on both APIs, and refused without a valid key) answers and offers
//! the configured model.

use std::time::Duration;

use serde::Deserialize;

use crate::anthropic::VERSION;
use crate::config::ProviderConfig;
use crate::provider::{excerpt, send, status_error};

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Anthropic's: `GET /v1/models` under the base URL.
    Anthropic,
    /// OpenAI's: `GET /models` under the base URL (which ends in `/v1`).
    OpenAi,
}

/// Both APIs list models as `{"data":[{"id":"..."}, ...]}`.
#[derive(Deserialize)]
struct Models {
    data: Vec<Model>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
}

/// The configured model is offered: by its id, or as an alias of a dated
/// id (`claude-haiku-4-5` for `claude-haiku-4-5-20251001`).
fn offers(ids: &[String], model: &str) -> bool {
    let dated = |rest: &str| {
        rest.strip_prefix('-')
            .is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
    };
    ids.iter()
        .any(|id| id == model || id.strip_prefix(model).is_some_and(dated))
}

/// Checks `cfg` against its API within `timeout`: `Ok` says what was
/// seen, `Err` what is wrong.
pub async fn check(api: Api, cfg: &ProviderConfig, timeout: Duration) -> Result<String, String> {
    let base = reqwest::Url::parse(&cfg.base_url).map_err(|e| format!("base URL: {e}"))?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return Err("base URL: not an http(s) URL with a host".into());
    }
    let key = cfg.api_key.expose();
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("key is empty or holds spaces or control characters".into());
    }
    if cfg.model.trim().is_empty() {
        return Err("no model named".into());
    }
    let root = cfg.base_url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let req = match api {
        Api::Anthropic => http
            .get(format!("{root}/v1/models?limit=1000"))
            .header("x-api-key", key)
            .header("anthropic-version", VERSION),
        Api::OpenAi => http.get(format!("{root}/models")).bearer_auth(key),
    };
    let name = match api {
        Api::Anthropic => "anthropic",
        Api::OpenAi => "openai",
    };
    let a = send(name, req, timeout).await.map_err(|e| e.to_string())?;
    if !a.status.is_success() {
        return Err(status_error(name, &a, excerpt(&a.body)).to_string());
    }
    let m: Models = serde_json::from_slice(&a.body)
        .map_err(|e| format!("models list unreadable: {e}: {}", excerpt(&a.body)))?;
    let ids: Vec<String> = m.data.into_iter().map(|m| m.id).collect();
    if !offers(&ids, &cfg.model) {
        return Err(format!(
            "key accepted, but model {} is not offered ({} models listed)",
            cfg.model,
            ids.len()
        ));
    }
    Ok("key accepted; model offered (no completion asked: a call costs money)".into())
}

#[cfg(test)]
mod tests {
    use super::offers;

    #[test]
    fn an_alias_matches_its_dated_id_and_nothing_else() {
        let ids = vec![
            "claude-haiku-4-5-20251001".to_string(),
            "gpt-4o".to_string(),
        ];
        assert!(offers(&ids, "claude-haiku-4-5"));
        assert!(offers(&ids, "gpt-4o"));
        assert!(
            !offers(&ids, "gpt-4"),
            "a prefix without a dash is another model"
        );
        assert!(!offers(&ids, "claude-haiku"), "nor a shorter name");
    }
}
