//! The registry's decisions, apart from HTTP: what a push must prove to be
//! merged, what a failure report does, what a pull is served.

use std::collections::HashSet;
use std::sync::Arc;

use helix_core::GeneKey;
use helix_core::gene::now_ms;

use crate::anchor::Anchorer;
use crate::broadcast::Broadcast;
use crate::cache::{Cached, PullCache};
use crate::evidence::{EvidenceError, MAX_EVIDENCE, Verifier};
use crate::limits::{Action, Limiter};
use crate::metrics::Metrics;
use crate::scrub::is_scrubbed;
use crate::sign::{MAX_SKEW_MS, SignatureError, verify};
use crate::store::{Accept, Merged, RegistryStore, StoreError};
use crate::thresholds::Thresholds;
use crate::wire::{Push, RegistryGene, Report};

/// Why a push or report was not taken.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// Bad or foreign signature, or too old.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The nonce was used before.
    #[error("replayed: agent {0} already used this nonce")]
    Replayed(alloy::primitives::Address),
    /// The gene is not what a push may carry.
    #[error("gene refused: {0}")]
    Gene(String),
    /// The evidence did not prove it.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// A report about a gene the registry never had.
    #[error("no gene {0} in this registry")]
    UnknownGene(crate::wire::GeneId),
    /// The database could not answer.
    #[error(transparent)]
    Store(StoreError),
    /// Out of tokens: try again after the wait.
    #[error("rate limited: retry after {} ms", .0.as_millis())]
    Limited(std::time::Duration),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Claimed(tx) => Refusal::Evidence(EvidenceError::Claimed(tx)),
            other => Refusal::Store(other),
        }
    }
}

impl Refusal {
    /// A short stable name for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Signature(SignatureError::Stale { .. }) => "stale",
            Refusal::Signature(_) => "signature",
            Refusal::Replayed(_) => "replayed",
            Refusal::Gene(_) => "gene",
            Refusal::Evidence(e) if e.is_transient() => "chain_unreachable",
            Refusal::Evidence(_) => "evidence",
            Refusal::UnknownGene(_) => "unknown_gene",
            Refusal::Store(_) => "store",
            Refusal::Limited(_) => "rate_limited",
        }
    }
}

/// The registry.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn RegistryStore>,
    verifier: Arc<dyn Verifier>,
    broadcast: Broadcast,
    cache: Option<PullCache>,
    limiter: Option<Arc<dyn Limiter>>,
    metrics: Arc<Metrics>,
    recent: Arc<crate::recent::Recent>,
    thresholds: Arc<Thresholds>,
    anchorer: Option<Arc<Anchorer>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("threshold", &self.threshold())
            .field("cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over these parts, serving genes at or above `threshold`.
    pub fn new(
        store: Arc<dyn RegistryStore>,
        verifier: Arc<dyn Verifier>,
        broadcast: Broadcast,
        cache: Option<PullCache>,
        threshold: f64,
    ) -> Self {
        Registry {
            store,
            verifier,
            broadcast,
            cache,
            limiter: None,
            metrics: Arc::new(Metrics::default()),
            recent: Arc::default(),
            thresholds: Arc::new(Thresholds::new(threshold)),
            anchorer: None,
        }
    }

    /// Anchors every gene that reaches the anchor threshold.
    pub fn with_anchorer(mut self, a: Anchorer) -> Self {
        self.anchorer = Some(Arc::new(a));
        self
    }

    /// The anchorer, when anchoring.
    pub fn anchorer(&self) -> Option<&Arc<Anchorer>> {
        self.anchorer.as_ref()
    }

    /// The thresholds in force (governance may move them).
    pub fn thresholds(&self) -> &Arc<Thresholds> {
        &self.thresholds
    }

    /// Limits each agent's pushes, reports and pulls.
    pub fn with_limiter(mut self, l: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(l);
        self
    }

    /// Takes a token for `who`, or says how long to wait.
    pub async fn admit(&self, who: &str, action: Action) -> Result<(), Refusal> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        l.take(who, action).await.map_err(|wait| {
            self.metrics.limited(match action {
                Action::Push => "push",
                Action::Pull => "pull",
            });
            Refusal::Limited(wait)
        })
    }

    /// Its counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The last pushes taken and refused.
    pub fn recent(&self) -> &crate::recent::Recent {
        &self.recent
    }

    /// Its store.
    pub fn store(&self) -> &Arc<dyn RegistryStore> {
        &self.store
    }

    /// Its broadcast.
    pub fn broadcast(&self) -> &Broadcast {
        &self.broadcast
    }

    /// The pull threshold.
    pub fn threshold(&self) -> f64 {
        self.thresholds.pull()
    }

    /// Checks a push and merges it; returns the gene as stored.
    pub async fn push(&self, p: &Push) -> Result<RegistryGene, Refusal> {
        let r = self.push_inner(p).await;
        let (at, agent) = (now_ms(), p.body.agent.to_string());
        match &r {
            Ok(_) => {
                self.metrics.pushed();
                self.recent.pushed(crate::recent::Pushed {
                    at,
                    agent,
                    key: format!("{}/{}", p.body.gene.code, p.body.gene.category),
                    strategy: p.body.gene.strategy.to_string(),
                });
            }
            Err(e) => {
                tracing::info!(target: "helix::registry", reason = e.reason(), agent = %p.body.agent, "push refused: {e}");
                self.metrics.refused(e.reason());
                self.recent.refused(crate::recent::Refused {
                    at,
                    agent,
                    reason: e.reason(),
                    message: e.to_string(),
                });
            }
        }
        r
    }

    async fn push_inner(&self, p: &Push) -> Result<RegistryGene, Refusal> {
        let now = now_ms();
        let agent = verify(p, now)?;
        // After the signature, so nobody can spend another agent's tokens.
        self.admit(&agent.to_string(), Action::Push).await?;
        let g = &p.body.gene;
        if g.successes == 0 {
            return Err(Refusal::Gene(
                "a pushed gene has at least one verified success".into(),
            ));
        }
        if !is_scrubbed(&g.params) {
            return Err(Refusal::Gene(
                "parameters carry fields a gene may not share (see the scrubbing rule)".into(),
            ));
        }
        let evidence = &p.body.evidence;
        if evidence.is_empty() {
            return Err(EvidenceError::Missing.into());
        }
        if evidence.len() > MAX_EVIDENCE {
            return Err(EvidenceError::TooMany(evidence.len()).into());
        }
        let distinct: HashSet<_> = evidence.iter().map(|e| e.tx).collect();
        if distinct.len() != evidence.len() {
            return Err(Refusal::Gene("the same transaction is listed twice".into()));
        }
        if !self.store.claim_nonce(agent, p.body.nonce, now).await? {
            return Err(Refusal::Replayed(agent));
        }
        let id = g.id();
        for ev in evidence {
            match self.store.evidence_owner(ev.tx).await? {
                Some((a, gid)) if a == agent && gid == id => {}
                Some(_) => return Err(EvidenceError::Claimed(ev.tx).into()),
                None => self.verifier.verify(ev, agent).await?,
            }
        }
        let merged = self
            .store
            .accept(Accept {
                id,
                gene: g,
                evidence,
                agent,
                at: now,
            })
            .await?;
        self.merged(&merged).await;
        Ok(merged.gene)
    }

    /// Takes a signed failure report; returns the gene after it.
    pub async fn report(&self, r: &Report) -> Result<RegistryGene, Refusal> {
        let result = async {
            let now = now_ms();
            let agent = verify(r, now)?;
            self.admit(&agent.to_string(), Action::Push).await?;
            if !self.store.claim_nonce(agent, r.body.nonce, now).await? {
                return Err(Refusal::Replayed(agent));
            }
            let g = self
                .store
                .report(r.body.gene, agent, r.body.failures, now)
                .await?
                .ok_or(Refusal::UnknownGene(r.body.gene))?;
            // A report only lowers a gene: nothing to broadcast or anchor.
            self.invalidate(g.key()).await;
            Ok(g)
        }
        .await;
        match &result {
            Ok(_) => self.metrics.reported(),
            Err(e) => self.metrics.refused(e.reason()),
        }
        result
    }

    async fn invalidate(&self, key: GeneKey) {
        if let Some(c) = &self.cache
            && let Err(e) = c.invalidate(key).await
        {
            tracing::warn!(target: "helix::registry", error = %e, "pull cache not invalidated");
        }
    }

    /// After a merge: the key's cached answer goes; a gene that has just
    /// reached the pull threshold is broadcast (subscribers adopt a gene
    /// once, so a thousand duplicate pushes are not a thousand broadcasts);
    /// a gene at the anchor threshold is anchored when it first reaches it
    /// and again when its evidence grows.
    async fn merged(&self, m: &Merged) {
        let g = &m.gene;
        self.invalidate(g.key()).await;
        let reached = |t: f64| g.quality >= t && m.was.is_none_or(|q| q < t);
        if let Some(a) = &self.anchorer {
            let t = self.thresholds.anchor();
            if reached(t) || (g.quality >= t && m.new_evidence > 0) {
                a.request(g.id);
            }
        }
        if reached(self.threshold()) {
            match self.broadcast.publish(g).await {
                Ok(()) => self.metrics.broadcast(),
                Err(e) => {
                    self.metrics.broadcast_failed();
                    tracing::warn!(target: "helix::registry", error = %e, gene = %g.id, "gene stored but not broadcast");
                }
            }
        }
    }

    /// The best gene for a key, if one is good enough: from the hot cache
    /// when it has the answer, else the store (and the answer is cached).
    pub async fn pull(&self, key: GeneKey) -> Result<Option<RegistryGene>, StoreError> {
        self.metrics.pulled();
        if let Some(c) = &self.cache {
            match c.get(key).await {
                Ok(Cached::Gene(g)) => {
                    self.metrics.cache_hit();
                    self.rank(&g).await;
                    return Ok(Some(*g));
                }
                Ok(Cached::None) => {
                    self.metrics.cache_hit();
                    return Ok(None);
                }
                Ok(Cached::Miss) => {}
                Err(e) => {
                    tracing::warn!(target: "helix::registry", error = %e, "pull cache unavailable")
                }
            }
        }
        let g = self.store.best(key, self.threshold()).await?;
        if let Some(c) = &self.cache {
            let _ = c.put(key, g.as_ref()).await;
        }
        if let Some(g) = &g {
            self.rank(g).await;
        }
        Ok(g)
    }

    async fn rank(&self, g: &RegistryGene) {
        if let Some(c) = &self.cache {
            let _ = c.rank(g).await;
        }
    }

    /// Forgets nonces that are refused by age anyway.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        self.store.prune_nonces(now_ms() - 2 * MAX_SKEW_MS).await
    }
}
