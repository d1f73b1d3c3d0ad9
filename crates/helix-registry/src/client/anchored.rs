//! An agent that accepts only anchored genes: a gene from a registry is
//! kept only when the trusted anchorer anchored exactly its content on
//! chain. Wraps the agent's Gene Map under the registry layer and the
//! subscriptions, so pulls and the broadcast are filtered alike.

use std::sync::Arc;

use async_trait::async_trait;
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneSource, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};

use crate::anchor::AnchorReader;
use crate::wire::identity;

/// The filter.
pub struct AnchoredOnly {
    inner: Arc<dyn GeneStore>,
    reader: AnchorReader,
}

impl std::fmt::Debug for AnchoredOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchoredOnly")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl AnchoredOnly {
    /// `inner`, keeping registry genes only when `reader` finds them anchored.
    pub fn new(inner: Arc<dyn GeneStore>, reader: AnchorReader) -> Self {
        AnchoredOnly { inner, reader }
    }
}

#[async_trait]
impl GeneStore for AnchoredOnly {
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        self.inner.lookup(key).await
    }

    async fn record(&self, outcome: &Outcome) -> Result<Gene, StoreError> {
        self.inner.record(outcome).await
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
        if gene.source != GeneSource::Registry {
            return self.inner.adopt(gene).await;
        }
        // The content decides: a gene whose row was altered after it was
        // anchored hashes to an id nobody anchored.
        let id = identity(
            gene.key.code,
            gene.key.category,
            gene.strategy,
            &gene.params,
        );
        match self.reader.anchor_of(id).await {
            Ok(a) if a.anchoredAt != 0 && a.contentHash == id.0 => self.inner.adopt(gene).await,
            Ok(_) => {
                tracing::warn!(target: "helix::registry", gene = %id, key = %gene.key, "registry gene not anchored as served; ignored");
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(target: "helix::registry", error = %e, "anchor unreadable; registry gene ignored");
                Ok(false)
            }
        }
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
