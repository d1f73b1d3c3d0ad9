//! The agent's Gene Map joined to a gene registry when `[registry] url` is
//! set: pulls on a local miss, pushes what verifies (when the command holds
//! the agent's key), and follows `[registry] subscribe` on `[events] nats`
//! (a durable consumer named after the Gene Map, so a restart resumes), or
//! on the registry's WebSocket stream without NATS.

use std::sync::Arc;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use helix_core::GeneStore;
use helix_registry::anchor::AnchorReader;
use helix_registry::client::{
    AnchoredOnly, LayerConfig, RegistryClient, RegistryGeneStore, Subscription, subscribe, watch,
};

use crate::config::{Config, parse_key};

/// The joined store and what keeps it joined.
pub struct Linked {
    /// What the engine uses.
    pub store: Arc<dyn GeneStore>,
    /// The registry layer, when a registry is configured.
    pub layer: Option<Arc<RegistryGeneStore>>,
    /// The broadcast subscription, when keys are configured; dropping it stops it.
    pub subscription: Option<Subscription>,
}

/// Joins `store` (the Gene Map `db`) to the configured registry. `key`
/// signs pushes and reports (without it the agent only pulls); `chain_id`
/// is the chain its transactions are on unless `[registry] chain_id` says.
pub async fn link(
    store: Arc<dyn GeneStore>,
    db: &str,
    settings: &Config,
    key: Option<PrivateKeySigner>,
    chain_id: u64,
) -> Result<Linked, String> {
    let r = settings.registry();
    let Some(url) = r.url.as_deref() else {
        return Ok(Linked {
            store,
            layer: None,
            subscription: None,
        });
    };
    // An agent that accepts only anchored genes filters what the registry
    // layer and the subscription would keep.
    let store: Arc<dyn GeneStore> = match (r.anchored_only, r.anchor, r.anchorer, settings.rpc()) {
        (true, Some(anchor), Some(anchorer), Some(rpc)) => Arc::new(AnchoredOnly::new(
            store,
            AnchorReader::new(rpc, anchor, anchorer),
        )),
        (true, ..) => {
            return Err("[registry] anchored_only needs anchor, anchorer and [chain] rpc".into());
        }
        _ => store,
    };
    let mut client = RegistryClient::new(url).map_err(|e| e.to_string())?;
    if let Some(k) = &key {
        client = client.as_agent(&k.address().to_string());
    }
    let cfg = LayerConfig {
        chain_id: r.chain_id.unwrap_or(chain_id),
        pull_timeout: Duration::from_millis(r.pull_timeout_ms.unwrap_or(250)),
        ..LayerConfig::default()
    };
    let layer = Arc::new(RegistryGeneStore::new(store.clone(), client, key, cfg));
    let keys = r
        .subscribe
        .iter()
        .map(|k| parse_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let subscription = if keys.is_empty() {
        None
    } else {
        let durable = format!(
            "helix-{:016x}",
            helix_core::fnv::Fnv1a::new().bytes(db.as_bytes()).finish()
        );
        let sub = match settings.nats() {
            Some(nats) => subscribe(nats, settings.channel(), &durable, &keys, store).await,
            None => watch(url, &keys, store).await,
        };
        Some(sub.map_err(|e| e.to_string())?)
    };
    Ok(Linked {
        store: layer.clone(),
        layer: Some(layer),
        subscription,
    })
}
