//! The joined registry: its top genes, totals and recent pushes and
//! refusals, over its public routes.

use serde_json::{Value, json};

use super::Reader;

/// The registry at `[registry] url`.
pub struct RegistryView(Reader);

impl RegistryView {
    /// Reads `url`.
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(RegistryView(Reader::new(url, None)?))
    }

    /// Top genes, totals, recent activity.
    pub async fn read(&self) -> Result<Value, String> {
        let (top, stats, recent) = tokio::try_join!(
            self.0.get("/v1/genes?limit=10"),
            self.0.get("/v1/stats"),
            self.0.get("/v1/recent"),
        )?;
        Ok(json!({ "url": self.0.url, "top": top, "stats": stats, "recent": recent }))
    }
}
