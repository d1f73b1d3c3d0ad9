//! `helix serve`'s view of the joined registry for the dashboard: its top
//! genes, totals and recent pushes and refusals, read when asked.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

/// The registry at `url`, read over its public routes.
pub struct RegistryView {
    http: reqwest::Client,
    url: String,
}

impl RegistryView {
    /// Reads `url` (`[registry] url`), each call bounded by 3 s.
    pub fn new(url: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(RegistryView {
            http,
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{}{path}: {}",
                    self.url,
                    helix_http::signal::error_chain(&e)
                )
            })?;
        if !r.status().is_success() {
            return Err(format!("{}{path}: HTTP {}", self.url, r.status()));
        }
        r.json()
            .await
            .map_err(|e| format!("{}{path}: {e}", self.url))
    }
}

#[async_trait]
impl helix_server::Network for RegistryView {
    async fn registry(&self) -> Option<Result<Value, String>> {
        let read = async {
            let (top, stats, recent) = tokio::try_join!(
                self.get("/v1/genes?limit=10"),
                self.get("/v1/stats"),
                self.get("/v1/recent"),
            )?;
            Ok(json!({ "url": self.url, "top": top, "stats": stats, "recent": recent }))
        };
        Some(read.await)
    }
}
