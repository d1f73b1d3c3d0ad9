//! The mesh: who is connected to each relay node (`GET /v1/agents`, with
//! HELIX_MESH_TOKEN) and the sagas in the coordinators' log, in flight
//! first.

use helix_mesh::saga::SagaLog;
use serde_json::{Value, json};

use super::Reader;

/// Sagas shown, at most.
const SAGAS: u32 = 20;

/// The nodes at `[mesh] nodes` and the log at `[mesh] saga_log`.
pub struct MeshView {
    nodes: Vec<Reader>,
    /// The log's URL, and its connection once made: connected when first
    /// read and again after it drops, so a log that is down shows its error
    /// on the page and never keeps `helix serve` from starting.
    sagas: Option<(String, tokio::sync::Mutex<Option<SagaLog>>)>,
}

impl MeshView {
    /// Reads `nodes` (HELIX_MESH_TOKEN needed when there are any) and the
    /// saga log at `saga_log`.
    pub fn new(nodes: &[String], saga_log: Option<&str>) -> Result<Self, String> {
        let nodes = if nodes.is_empty() {
            Vec::new()
        } else {
            let token = super::token("HELIX_MESH_TOKEN", "[mesh] nodes")?;
            nodes
                .iter()
                .map(|u| Reader::new(u, Some(token.clone())))
                .collect::<Result<_, _>>()?
        };
        let sagas = saga_log.map(|url| (url.to_owned(), tokio::sync::Mutex::new(None)));
        Ok(MeshView { nodes, sagas })
    }

    /// `{nodes: [{url, node, agents} | {url, error}], sagas: [...] | {error}}`.
    pub async fn read(&self) -> Result<Value, String> {
        let nodes = futures_util::future::join_all(self.nodes.iter().map(|n| async move {
            match n.get("/v1/agents").await {
                Ok(mut v) => {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("url".into(), Value::String(n.url.clone()));
                    }
                    v
                }
                Err(e) => json!({ "url": n.url, "error": e }),
            }
        }))
        .await;
        let sagas = match &self.sagas {
            Some((url, log)) => {
                let read = async {
                    let mut log = log.lock().await;
                    if log.as_ref().is_none_or(SagaLog::is_closed) {
                        *log = Some(SagaLog::connect(url).await?);
                    }
                    match log.as_ref() {
                        Some(l) => l.recent(SAGAS).await,
                        None => Err("not connected".to_owned()),
                    }
                };
                match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
                    Ok(Ok(v)) => json!(v),
                    Ok(Err(e)) => json!({ "error": format!("the saga log: {e}") }),
                    Err(_) => json!({ "error": "the saga log did not answer in 3 s" }),
                }
            }
            None => Value::Null,
        };
        Ok(json!({ "nodes": nodes, "sagas": sagas }))
    }
}
