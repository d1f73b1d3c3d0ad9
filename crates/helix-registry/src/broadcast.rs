//! Telling subscribed agents about an accepted gene: on NATS JetStream
//! (`helix.genes.<channel>.<category>.<code>` in the stream `HELIX_GENES`,
//! so a durable consumer catches up after downtime) and to the registry's
//! own WebSocket clients.
//!
//! The channel names one registry's broadcast. Registries that share a
//! NATS server (staging beside production, or tests running side by side)
//! would otherwise feed each other's subscribers genes their own registry
//! never accepted.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, Context};
use helix_core::GeneKey;
use tokio::sync::broadcast;

use crate::wire::RegistryGene;

/// The stream's name.
pub const STREAM: &str = "HELIX_GENES";
/// Subjects are `{PREFIX}.<channel>.<category>.<code>`.
pub const PREFIX: &str = "helix.genes";
/// The channel of a registry that was not given one.
pub const DEFAULT_CHANNEL: &str = "main";
/// Longest channel name.
const MAX_CHANNEL: usize = 64;
/// Genes kept for late subscribers.
const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// A publish waits this long for JetStream's acknowledgement.
const ACK_WAIT: Duration = Duration::from_secs(2);

/// A channel name that is not one NATS subject token of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broadcast channel {0:?}: use 1 to 64 of A-Z a-z 0-9 _ -")]
pub struct BadChannel(pub String);

/// Checks a channel name: one subject token, so no channel can reach into
/// another's subjects (`.`, `*` and `>` would).
pub fn check_channel(channel: &str) -> Result<(), BadChannel> {
    let ok = !channel.is_empty()
        && channel.len() <= MAX_CHANNEL
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(BadChannel(channel.to_owned()))
    }
}

/// The subject a key's genes are published on in `channel`.
pub fn subject(channel: &str, key: GeneKey) -> String {
    format!("{PREFIX}.{channel}.{}.{}", key.category, key.code)
}

/// Every subject of `channel`.
pub fn all_subjects(channel: &str) -> String {
    format!("{PREFIX}.{channel}.>")
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
    nats: Option<(Context, String)>,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("channel", &self.nats.as_ref().map(|(_, c)| c))
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

    /// Also on NATS at `url` in `channel`, creating the stream if missing.
    pub async fn nats(url: &str, channel: &str) -> Result<Self, PublishError> {
        check_channel(channel).map_err(|e| PublishError(e.to_string()))?;
        let client = async_nats::connect(url)
            .await
            .map_err(|e| PublishError(format!("{url}: {e}")))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream_config())
            .await
            .map_err(|e| PublishError(e.to_string()))?;
        Ok(Broadcast {
            nats: Some((js, channel.to_owned())),
            ..Self::local()
        })
    }

    /// Whether NATS is configured.
    pub fn has_nats(&self) -> bool {
        self.nats.is_some()
    }

    /// The NATS channel, when NATS is configured.
    pub fn channel(&self) -> Option<&str> {
        self.nats.as_ref().map(|(_, c)| c.as_str())
    }

    /// A receiver of every gene published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RegistryGene>> {
        self.ws.subscribe()
    }

    /// Publishes to both; the WebSocket side never fails (no listener is fine).
    pub async fn publish(&self, g: &RegistryGene) -> Result<(), PublishError> {
        let _ = self.ws.send(Arc::new(g.clone()));
        let Some((js, channel)) = &self.nats else {
            return Ok(());
        };
        let body = serde_json::to_vec(g).map_err(|e| PublishError(e.to_string()))?;
        let ack = js
            .publish(subject(channel, g.key()), body.into())
            .await
            .map_err(|e| PublishError(e.to_string()))?;
        tokio::time::timeout(ACK_WAIT, ack)
            .await
            .map_err(|_| PublishError("no acknowledgement".into()))?
            .map_err(|e| PublishError(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_one_subject_token() {
        for good in ["main", "staging-2", "lab_1f"] {
            assert_eq!(check_channel(good), Ok(()));
        }
        for bad in ["", "a.b", "*", ">", "a b", "prod.>", &"x".repeat(65)] {
            assert!(check_channel(bad).is_err(), "{bad:?} accepted");
        }
        let key = GeneKey {
            code: helix_core::FailureCode::PaymentInsufficient,
            category: helix_core::Category::Balance,
        };
        assert_eq!(
            subject("main", key),
            "helix.genes.main.balance.payment-insufficient"
        );
    }
}
