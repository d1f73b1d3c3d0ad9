//! Where the registry keeps genes: SQLite for a single node (the embedded
//! default), PostgreSQL with a streaming read replica for a shared one.
//! Both run the same statements ([`sql`]) over the same schema
//! ([`migrations`]).

use alloy::primitives::{Address, B256};
use async_trait::async_trait;
use helix_core::GeneKey;
use serde::Serialize;

use crate::wire::{Evidence, GeneId, RegistryGene, SharedGene};

pub mod migrations;
mod postgres;
mod row;
pub(crate) mod sql;
mod sqlite;

pub use postgres::{PostgresRegistry, ReplicaState};
pub use sqlite::SqliteRegistry;

/// A store that could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The database is down or refused.
    #[error("registry store unavailable: {0}")]
    Unavailable(String),
    /// A row that does not decode.
    #[error("registry store row unreadable: {0}")]
    Corrupt(String),
    /// A transaction already proves another gene or agent's push.
    #[error("transaction {0} already proves another gene or another agent's push")]
    Claimed(B256),
}

/// An accepted push, ready to be merged.
#[derive(Debug, Clone, Copy)]
pub struct Accept<'a> {
    /// The gene's identity.
    pub id: GeneId,
    /// The gene.
    pub gene: &'a SharedGene,
    /// The verified transactions.
    pub evidence: &'a [Evidence],
    /// The pusher.
    pub agent: Address,
    /// Unix ms.
    pub at: i64,
}

/// A merged push: the gene as stored, and what the merge changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The gene after the merge.
    pub gene: RegistryGene,
    /// Its quality before (`None`: the push created it).
    pub was: Option<f64>,
    /// Transactions this push proved for the first time.
    pub new_evidence: u64,
}

/// Totals for `/v1/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Distinct genes.
    pub genes: u64,
    /// Accepted pushes.
    pub pushes: u64,
    /// Distinct agents that pushed or reported.
    pub agents: u64,
    /// Verified transactions.
    pub evidence: u64,
}

/// The registry's storage.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Records a nonce; `false` when the agent used it before (a replay).
    async fn claim_nonce(&self, agent: Address, nonce: B256, at: i64) -> Result<bool, StoreError>;
    /// Forgets nonces older than `before` (unix ms); they are refused by age.
    async fn prune_nonces(&self, before: i64) -> Result<u64, StoreError>;
    /// Who already claimed a transaction, and for which gene.
    async fn evidence_owner(&self, tx: B256) -> Result<Option<(Address, GeneId)>, StoreError>;
    /// Merges a push in one transaction: the gene as stored and what changed.
    async fn accept(&self, a: Accept<'_>) -> Result<Merged, StoreError>;
    /// Raises an agent's failure count for a gene; `None` if the gene is unknown.
    async fn report(
        &self,
        id: GeneId,
        agent: Address,
        failures: u64,
        at: i64,
    ) -> Result<Option<RegistryGene>, StoreError>;
    /// The best gene for a key at or above `min_quality`.
    async fn best(
        &self,
        key: GeneKey,
        min_quality: f64,
    ) -> Result<Option<RegistryGene>, StoreError>;
    /// One gene.
    async fn show(&self, id: GeneId) -> Result<Option<RegistryGene>, StoreError>;
    /// The highest-quality genes.
    async fn top(&self, limit: u32) -> Result<Vec<RegistryGene>, StoreError>;
    /// Totals.
    async fn stats(&self) -> Result<Stats, StoreError>;
    /// Where reads went, for a store with a read replica.
    fn replica_state(&self) -> Option<ReplicaState> {
        None
    }
}

pub(crate) fn hex_addr(a: Address) -> String {
    format!("{a:#x}")
}
