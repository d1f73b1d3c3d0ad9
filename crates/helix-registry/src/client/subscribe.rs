//! Following the registry's broadcast with a durable JetStream consumer:
//! an agent that was down resumes from its last acknowledged gene. Each
//! gene received is adopted into the local store (as a pull would).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use helix_core::{GeneKey, GeneStore};
use tokio::sync::Notify;

use super::layer::adopted;
use crate::broadcast::{all_subjects, check_channel, stream_config, subject};
use crate::wire::RegistryGene;

/// Why the subscription could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("registry subscription failed: {0}")]
pub struct SubscribeError(pub String);

#[derive(Default)]
struct Seen {
    genes: Mutex<HashMap<GeneKey, (RegistryGene, i64)>>,
    changed: Notify,
}

/// A running subscription; stops when dropped.
pub struct Subscription {
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The last gene received for `key` and when (unix ms, once it was in
    /// the local store), waiting up to `limit`.
    pub async fn wait_for(&self, key: GeneKey, limit: Duration) -> Option<(RegistryGene, i64)> {
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.seen.changed.notified();
                if let Some(got) = self
                    .seen
                    .genes
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&key).cloned())
                {
                    return got;
                }
                notified.await;
            }
        })
        .await
        .ok()
    }

    /// Genes received so far.
    pub fn received(&self) -> usize {
        self.seen.genes.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Follows the registry's WebSocket stream (`/v1/stream`) for `keys` (all
/// when empty), for an agent that cannot reach NATS: live genes only (no
/// offset survives a restart; what was missed is pulled on the first miss).
pub async fn watch(
    registry: &str,
    keys: &[GeneKey],
    store: Arc<dyn GeneStore>,
) -> Result<Subscription, SubscribeError> {
    use tokio_tungstenite::tungstenite::Message;
    let base = registry.trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", base.strip_prefix("http://").unwrap_or(base))
    };
    let list: Vec<String> = keys
        .iter()
        .map(|k| format!("{}/{}", k.code, k.category))
        .collect();
    let url = format!("{ws_base}/v1/stream?keys={}", list.join(","));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .map_err(|e| SubscribeError(format!("{url}: {e}")))?;
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(msg) = socket.next().await {
            let text = match msg {
                Ok(Message::Text(t)) => t,
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            match serde_json::from_str::<RegistryGene>(&text) {
                Ok(g) => state.keep(&*store, g).await,
                // `{"lagged": n}`: genes this client was too slow for.
                Err(_) => {
                    tracing::warn!(target: "helix::registry", note = %text, "registry stream note")
                }
            }
        }
    });
    Ok(Subscription { seen, task })
}

impl Seen {
    async fn keep(&self, store: &dyn GeneStore, g: RegistryGene) {
        match store.adopt(&adopted(&g)).await {
            Ok(_) => {
                if let Ok(mut s) = self.genes.lock() {
                    s.insert(g.key(), (g, helix_core::gene::now_ms()));
                }
                self.changed.notify_waiters();
            }
            Err(e) => {
                tracing::warn!(target: "helix::registry", error = %e, "streamed gene not kept")
            }
        }
    }
}

/// Subscribes `store` to the genes for `keys` (all when empty) that the
/// registry broadcasting on `channel` accepted, under the durable consumer
/// `durable` (one name per agent: its offset survives restarts).
pub async fn subscribe(
    nats_url: &str,
    channel: &str,
    durable: &str,
    keys: &[GeneKey],
    store: Arc<dyn GeneStore>,
) -> Result<Subscription, SubscribeError> {
    let err = |e: &dyn std::fmt::Display| SubscribeError(e.to_string());
    check_channel(channel).map_err(|e| err(&e))?;
    let client = async_nats::connect(nats_url).await.map_err(|e| err(&e))?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(stream_config())
        .await
        .map_err(|e| err(&e))?;
    // NATS before 2.10 ignores `filter_subjects` (plural) and delivers the
    // whole stream, so the server filters by one subject only: the key's
    // when there is one, else the channel's, and the keys are checked here.
    let filter = match keys {
        [one] => subject(channel, *one),
        _ => all_subjects(channel),
    };
    let wanted: Vec<GeneKey> = keys.to_vec();
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            durable,
            consumer::pull::Config {
                durable_name: Some(durable.to_owned()),
                filter_subject: filter,
                ack_policy: consumer::AckPolicy::Explicit,
                // A new agent starts at now: older genes reach it through a
                // pull on its first miss. A known durable resumes at its
                // last acknowledged gene whatever this says.
                deliver_policy: consumer::DeliverPolicy::New,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| err(&e))?;
    let mut messages = consumer.messages().await.map_err(|e| err(&e))?;
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(m) = messages.next().await {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(target: "helix::registry", error = %e, "broadcast receive failed");
                    continue;
                }
            };
            let g: RegistryGene = match serde_json::from_slice(&m.payload) {
                Ok(g) => g,
                Err(e) => {
                    // Never redelivered: it would fail the same way forever.
                    tracing::warn!(target: "helix::registry", error = %e, "unreadable gene on the broadcast");
                    let _ = m.ack_with(AckKind::Term).await;
                    continue;
                }
            };
            if !wanted.is_empty() && !wanted.contains(&g.key()) {
                let _ = m.ack().await;
                continue;
            }
            match store.adopt(&adopted(&g)).await {
                Ok(_) => {
                    let _ = m.ack().await;
                    if let Ok(mut s) = state.genes.lock() {
                        s.insert(g.key(), (g, helix_core::gene::now_ms()));
                    }
                    state.changed.notify_waiters();
                }
                Err(e) => {
                    tracing::warn!(target: "helix::registry", error = %e, "broadcast gene not kept; redelivery later");
                    let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
                }
            }
        }
    });
    Ok(Subscription { seen, task })
}
