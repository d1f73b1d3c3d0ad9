//! Telling subscribed agents about an accepted gene: on NATS JetStream
//! (`helix.genes.<category>.<code>` in the stream `HELIX_GENES`, so a
//! durable consumer catches up after downtime) and to the registry's own
//! WebSocket clients.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, Context};
use helix_core::GeneKey;
use tokio::sync::broadcast;

use crate::wire::RegistryGene;

/// The stream's name.
pub const STREAM: &str = "HELIX_GENES";
/// Subjects are `{PREFIX}.<category>.<code>`.
pub const PREFIX: &str = "helix.genes";
/// Genes kept for late subscribers.
const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// A publish waits this long for JetStream's acknowledgement.
const ACK_WAIT: Duration = Duration::from_secs(2);

/// The subject a key's genes are published on.
pub fn subject(key: GeneKey) -> String {
    format!("{PREFIX}.{}.{}", key.category, key.code)
}

/// The stream, as the registry and every subscriber create it (whoever
/// comes first).
pub fn stream_config() -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec![format!("{PREFIX}.>")],
        max_age: MAX_AGE,
        ..Default::default()
    }
}

/// Where accepted genes go.
#[derive(Clone)]
pub struct Broadcast {
    ws: broadcast::Sender<Arc<RegistryGene>>,
    nats: Option<Context>,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("nats", &self.nats.is_some())
            .finish()
    }
}

/// A publish that JetStream did not acknowledge.
#[derive(Debug, Clone, thiserror::Error)]
#[error("gene broadcast on NATS failed: {0}")]
pub struct PublishError(pub String);

impl Broadcast {
    /// WebSocket clients only.
    pub fn local() -> Self {
        Broadcast {
            ws: broadcast::channel(1024).0,
            nats: None,
        }
    }

    /// Also on NATS at `url`, creating the stream if missing.
    pub async fn nats(url: &str) -> Result<Self, PublishError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| PublishError(format!("{url}: {e}")))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream_config())
            .await
            .map_err(|e| PublishError(e.to_string()))?;
        Ok(Broadcast {
            nats: Some(js),
            ..Self::local()
        })
    }

    /// Whether NATS is configured.
    pub fn has_nats(&self) -> bool {
        self.nats.is_some()
    }

    /// A receiver of every gene published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RegistryGene>> {
        self.ws.subscribe()
    }

    /// Publishes to both; the WebSocket side never fails (no listener is fine).
    pub async fn publish(&self, g: &RegistryGene) -> Result<(), PublishError> {
        let _ = self.ws.send(Arc::new(g.clone()));
        let Some(js) = &self.nats else {
            return Ok(());
        };
        let body = serde_json::to_vec(g).map_err(|e| PublishError(e.to_string()))?;
        let ack = js
            .publish(subject(g.key()), body.into())
            .await
            .map_err(|e| PublishError(e.to_string()))?;
        tokio::time::timeout(ACK_WAIT, ack)
            .await
            .map_err(|_| PublishError("no acknowledgement".into()))?
            .map_err(|e| PublishError(e.to_string()))?;
        Ok(())
    }
}
