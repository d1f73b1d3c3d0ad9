//! `helix serve`'s views of the services it is joined to, for the
//! dashboard: the gene registry (`[registry] url`), the mesh (`[mesh]
//! nodes` and `saga_log`) and the intent server (`[ode] url`), each read
//! when asked and each bounded by 3 s, so one that is down shows its error
//! and leaves the others be.

mod mesh;
mod objectives;
mod registry;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use mesh::MeshView;
pub use objectives::ObjectivesView;
pub use registry::RegistryView;

use crate::config::Config;

/// A JSON reader of one service's routes.
struct Reader {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Reader {
    fn new(url: &str, token: Option<String>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Reader {
            http,
            url: url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.get_found(path)
            .await?
            .ok_or_else(|| format!("{}{path}: HTTP 404 Not Found", self.url))
    }

    /// As [`Reader::get`], with `None` for a 404: what the service does not
    /// know, as opposed to a failure.
    async fn get_found(&self, path: &str) -> Result<Option<Value>, String> {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.map_err(|e| {
            format!(
                "{}{path}: {}",
                self.url,
                helix_http::signal::error_chain(&e)
            )
        })?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(format!("{}{path}: HTTP {}", self.url, r.status()));
        }
        r.json()
            .await
            .map(Some)
            .map_err(|e| format!("{}{path}: {e}", self.url))
    }
}

/// A service's token from `var`: a reader cannot make one up.
fn token(var: &str, setting: &str) -> Result<String, String> {
    std::env::var(var)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{setting} is set: give its token in {var}"))
}

/// The services `helix serve` is joined to.
#[derive(Default)]
pub struct Joined {
    registry: Option<RegistryView>,
    mesh: Option<MeshView>,
    objectives: Option<ObjectivesView>,
}

impl Joined {
    /// What the settings join; `None` when nothing is. The mesh's nodes
    /// need HELIX_MESH_TOKEN and the intent server HELIX_ODE_TOKEN.
    pub async fn from_settings(settings: &Config) -> Result<Option<Self>, String> {
        let mut j = Joined::default();
        let r = settings.registry();
        if let Some(url) = r.url.as_deref() {
            let anchors = match (settings.rpc(), r.anchor, r.anchorer) {
                (Some(rpc), Some(anchor), Some(anchorer)) => Some((rpc, anchor, anchorer)),
                _ => None,
            };
            j.registry = Some(RegistryView::new(url, anchors)?);
        }
        let mesh = settings.mesh();
        if !mesh.nodes.is_empty() || mesh.saga_log.is_some() {
            j.mesh = Some(MeshView::new(&mesh.nodes, mesh.saga_log.as_deref())?);
        }
        if let Some(url) = settings.ode().url.as_deref() {
            j.objectives = Some(ObjectivesView::new(url)?);
        }
        let any = j.registry.is_some() || j.mesh.is_some() || j.objectives.is_some();
        Ok(any.then_some(j))
    }
}

#[async_trait]
impl helix_server::Network for Joined {
    async fn registry(&self) -> Option<Result<Value, String>> {
        Some(self.registry.as_ref()?.read().await)
    }

    async fn registry_gene(&self, gene: &helix_core::Gene) -> Option<Result<Value, String>> {
        Some(self.registry.as_ref()?.gene(gene).await)
    }

    async fn mesh(&self) -> Option<Result<Value, String>> {
        Some(self.mesh.as_ref()?.read().await)
    }

    async fn objectives(&self) -> Option<Result<Value, String>> {
        Some(self.objectives.as_ref()?.read().await)
    }
}
