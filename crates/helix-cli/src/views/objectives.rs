//! The intent server's recent objectives, each task with its state.

use serde_json::Value;

use super::Reader;

/// `helix ode serve` at `[ode] url`, read with HELIX_ODE_TOKEN.
pub struct ObjectivesView(Reader);

impl ObjectivesView {
    /// Reads `url`; the token comes from HELIX_ODE_TOKEN.
    pub fn new(url: &str) -> Result<Self, String> {
        let token = super::token("HELIX_ODE_TOKEN", "[ode] url")?;
        Ok(ObjectivesView(Reader::new(url, Some(token))?))
    }

    /// `{url, objectives: [...]}`.
    pub async fn read(&self) -> Result<Value, String> {
        let mut v = self.0.get("/v1/objectives?limit=10").await?;
        if let Some(o) = v.as_object_mut() {
            o.insert("url".into(), Value::String(self.0.url.clone()));
        }
        Ok(v)
    }
}
