//! A [`GeneStore`] in front of the agent's own: a local miss asks the
//! registry (bounded, so a slow registry costs a payment at most
//! [`LayerConfig::pull_timeout`]); a verified repair with transactions is
//! pushed in the background; a failure of a pulled gene is reported.
//!
//! A pulled gene is kept as source `registry`: low confidence, q at the
//! immunity threshold, demoted by its first local failure. It runs through
//! the same mode gate, ceiling, budget and invariants as any repair; the
//! layer only decides where the gene came from, never whether it may act.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use async_trait::async_trait;
use helix_core::gene::{Q_START, now_ms};
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneSource, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};

use super::http::RegistryClient;
use super::outbox::{Job, Outbox};
use crate::scrub::scrub;
use crate::wire::{Evidence, RegistryGene};

/// How the layer behaves.
#[derive(Debug, Clone)]
pub struct LayerConfig {
    /// Longest a local miss waits for the registry.
    pub pull_timeout: Duration,
    /// A key the registry had nothing for is not asked again for this long.
    pub miss_ttl: Duration,
    /// The chain the agent's transactions (the evidence) are on.
    pub chain_id: u64,
    /// Push verified genes (off: pull only).
    pub push: bool,
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig {
            pull_timeout: Duration::from_millis(250),
            miss_ttl: Duration::from_secs(30),
            chain_id: 0,
            push: true,
        }
    }
}

/// The local form of a pulled gene (see the module docs).
pub fn adopted(g: &RegistryGene) -> Gene {
    let now = now_ms();
    Gene {
        key: g.key(),
        strategy: g.strategy,
        params: g.params.clone(),
        q: Q_START,
        successes: 0,
        failures: 0,
        consecutive_failures: 0,
        mean_ms: g.mean_ms as f64,
        mean_cost: 0.0,
        platforms: g.platforms.clone(),
        source: GeneSource::Registry,
        confidence: GeneSource::Registry.prior_confidence(),
        expires_at: None,
        created_at: now,
        last_used_at: now,
    }
}

/// The layer.
pub struct RegistryGeneStore {
    inner: Arc<dyn GeneStore>,
    client: RegistryClient,
    outbox: Option<Arc<Outbox>>,
    cfg: LayerConfig,
    misses: Mutex<HashMap<GeneKey, Instant>>,
}

impl std::fmt::Debug for RegistryGeneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryGeneStore")
            .field("registry", &self.client.base())
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl RegistryGeneStore {
    /// `inner` with the registry in front; `key` signs pushes and reports
    /// (without one the layer only pulls).
    pub fn new(
        inner: Arc<dyn GeneStore>,
        client: RegistryClient,
        key: Option<PrivateKeySigner>,
        cfg: LayerConfig,
    ) -> Self {
        let outbox = key.map(|k| Arc::new(Outbox::start(client.clone(), k)));
        RegistryGeneStore {
            inner,
            client,
            outbox,
            cfg,
            misses: Mutex::new(HashMap::new()),
        }
    }

    /// The background sender, when the layer can sign.
    pub fn outbox(&self) -> Option<&Arc<Outbox>> {
        self.outbox.as_ref()
    }

    fn recently_missed(&self, key: GeneKey) -> bool {
        self.misses
            .lock()
            .ok()
            .and_then(|m| m.get(&key).map(|t| t.elapsed() < self.cfg.miss_ttl))
            .unwrap_or(false)
    }

    fn missed(&self, key: GeneKey) {
        if let Ok(mut m) = self.misses.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key, Instant::now());
        }
    }

    async fn pull(&self, key: GeneKey) -> Option<Gene> {
        match tokio::time::timeout(self.cfg.pull_timeout, self.client.pull(key)).await {
            Ok(Ok(Some(g))) => {
                match self.inner.adopt(&adopted(&g)).await {
                    Ok(true) => {
                        tracing::info!(target: "helix::registry", gene = %g.id, %key, quality = g.quality, "pulled a gene")
                    }
                    // Already here: this agent learned it, or demoted it.
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(target: "helix::registry", error = %e, "pulled gene not kept");
                        return None;
                    }
                }
                // What the local store says now decides: a gene this agent
                // demoted stays demoted whatever the registry still serves.
                let found = self.inner.lookup(key).await.ok().flatten();
                if found.is_none() {
                    self.missed(key);
                }
                found
            }
            Ok(Ok(None)) => {
                self.missed(key);
                None
            }
            Ok(Err(e)) => {
                tracing::debug!(target: "helix::registry", error = %e, "registry pull failed");
                None
            }
            Err(_) => {
                tracing::debug!(target: "helix::registry", %key, "registry pull timed out");
                None
            }
        }
    }

    fn after_record(&self, o: &Outcome, g: &Gene) {
        let Some(outbox) = &self.outbox else { return };
        if o.success && self.cfg.push {
            let evidence: Vec<Evidence> = o
                .evidence
                .iter()
                .filter_map(|h| h.parse::<B256>().ok())
                .map(|tx| Evidence {
                    chain_id: self.cfg.chain_id,
                    tx,
                })
                .collect();
            // Repairs that sent no transaction of their own have nothing
            // the registry could check; they stay local.
            if !evidence.is_empty() {
                outbox.send(Job::Push(scrub(g), evidence));
            }
        } else if !o.success && g.source == GeneSource::Registry {
            outbox.send(Job::Report(scrub(g).id(), g.failures));
        }
    }
}

#[async_trait]
impl GeneStore for RegistryGeneStore {
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        if let Some(g) = self.inner.lookup(key).await? {
            return Ok(Some(g));
        }
        if self.recently_missed(key) {
            return Ok(None);
        }
        Ok(self.pull(key).await)
    }

    async fn record(&self, outcome: &Outcome) -> Result<Gene, StoreError> {
        let g = self.inner.record(outcome).await?;
        self.after_record(outcome, &g);
        Ok(g)
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        self.inner.list().await
    }

    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        self.inner.diagnosis(fingerprint).await
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        self.inner.remember_diagnosis(fingerprint, d).await
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.inner.forget_diagnosis(fingerprint).await
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        self.inner.adopt(gene).await
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        self.inner.retune(key, strategy, params, evidence).await
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        self.inner.versions(key, strategy).await
    }
}
