//! The seams: where platforms, executors and stores plug into the engine.

use std::sync::RwLock;

use async_trait::async_trait;

use crate::diagnose::Diagnosis;
use crate::failure::{Candidate, Failure, GeneKey};
use crate::gene::{Gene, GeneVersion, Outcome, best_of, now_ms};
use crate::patch::{Patch, PaymentView};
use crate::signal::ErrorSignal;
use crate::taxonomy::{Mode, StrategyId};

/// Perceive and construct for one platform. Pure: no I/O, no clock, no
/// randomness, so a logged signal always classifies the same way.
pub trait Adapter: Send + Sync {
    /// A short name for events and docs.
    fn name(&self) -> &'static str;
    /// Classifies the signal, or `None` when this adapter does not recognise it.
    fn perceive(&self, signal: &ErrorSignal) -> Option<Failure>;
    /// Repairs worth trying for a failure, preferred first.
    fn construct(&self, failure: &Failure) -> Vec<Candidate>;
}

/// Gathers facts the error does not carry (a balance, a receipt, a chain id).
/// I/O is allowed here and only here before Perceive.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Adds facts to the signal; failures to gather are logged, never fatal.
    async fn gather(&self, signal: &mut ErrorSignal, request: &PaymentView);
}

/// What an executor gets to act on.
#[derive(Debug)]
pub struct CommitCtx<'a> {
    /// The classified failure.
    pub failure: &'a Failure,
    /// The raw evidence.
    pub signal: &'a ErrorSignal,
    /// The caller's request as it stands.
    pub request: &'a PaymentView,
    /// Parameters from the candidate or the gene.
    pub params: &'a serde_json::Value,
    /// The mode in force (already checked by the engine).
    pub mode: Mode,
    /// Number of repairs already committed in this run.
    pub repairs_so_far: u32,
    /// The most this repair may spend, micro-USD: what the budget holds for
    /// it. An executor that moves funds never moves more.
    pub max_cost: u64,
}

/// What an executor did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// Changes for the caller's request.
    pub patches: Vec<Patch>,
    /// Money spent acting (swap fees, slippage, gas), micro-USD.
    pub cost: u64,
    /// Transactions sent.
    pub tx_hashes: Vec<String>,
    /// Parameters worth remembering in the gene (e.g. the slippage that worked).
    pub params: serde_json::Value,
}

/// Why an executor could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The failure lacks what this repair needs (e.g. no alternative endpoint).
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The platform refused or failed (revert, HTTP error, RPC error).
    #[error("platform error: {0}")]
    Platform(String),
    /// Refused before acting: a safety bound would be broken (min-out,
    /// slippage, a cap). An executor that finds a bound broken after it
    /// acted answers `Platform`: the engine books and blocks by that.
    #[error("unsafe: {0}")]
    Unsafe(String),
    /// The executor ran out of time.
    #[error("commit timed out after {0} ms")]
    Timeout(u64),
}

/// The only place a repair acts.
#[async_trait]
pub trait Executor: Send + Sync {
    /// Which strategy this executes. Its mode and whether it moves funds come
    /// from the taxonomy, never from the executor.
    fn id(&self) -> StrategyId;
    /// Acts (chain transaction, HTTP call, wait) and returns patches.
    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError>;
    /// Whether `commit` would work, found out without acting (an `eth_call`
    /// of the transaction it would send). `None` when the platform offers no
    /// simulation. The engine asks before committing a repair a diagnoser
    /// proposed.
    async fn dry_run(&self, _ctx: &CommitCtx<'_>) -> Option<Result<(), CommitError>> {
        None
    }
    /// The most one commit can move, micro-USD, where the executor has a cap
    /// of its own (a top-up's). The budget reserves this bound (at most the
    /// per-repair ceiling) for a repair that moves funds.
    fn max_cost(&self) -> Option<u64> {
        None
    }
    /// The facts `commit` cannot act without. The engine checks them before
    /// it locks a wallet or reserves budget, and blocks the candidate with
    /// the first one missing.
    fn needs(&self) -> &'static [crate::need::Need] {
        &[]
    }
}

/// A gene store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or answered an error.
    #[error("gene store unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be read; it is skipped, never guessed at.
    #[error("corrupt row {row}: {reason}")]
    Corrupt {
        /// Row identifier.
        row: String,
        /// What was wrong.
        reason: String,
    },
    /// The schema is newer than this build understands.
    #[error("schema version {found} is newer than this build's {supported}")]
    SchemaTooNew {
        /// In the database.
        found: i64,
        /// Known here.
        supported: i64,
    },
}

/// Where genes live. Lookups never change anything; records apply
/// [`Gene::learn`].
#[async_trait]
pub trait GeneStore: Send + Sync {
    /// The best live gene for the key (highest q), or `None`.
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError>;
    /// Applies one outcome and returns the gene after learning.
    async fn record(&self, outcome: &Outcome) -> Result<Gene, StoreError>;
    /// Every gene, for listing.
    async fn list(&self) -> Result<Vec<Gene>, StoreError>;
    /// The diagnosis remembered for a signal fingerprint
    /// ([`fingerprint`](crate::diagnose::fingerprint)).
    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError>;
    /// Remembers a diagnosis; the first one stored for a fingerprint stays,
    /// so instances racing on one new failure agree on its key.
    async fn remember_diagnosis(
        &self,
        fingerprint: &str,
        diagnosis: &Diagnosis,
    ) -> Result<(), StoreError>;
    /// Drops a diagnosis whose repairs all failed, so it is asked again.
    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError>;
    /// Keeps a gene learned elsewhere (pulled from a registry) as it is,
    /// unless a gene for its key and strategy is already here (what this
    /// agent learned itself wins); `true` when it was stored.
    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        let _ = gene;
        Err(StoreError::Unavailable(
            "this gene store cannot keep genes from a registry".into(),
        ))
    }

    /// Gives the gene for `key` and `strategy` new parameters (a tuned
    /// value), kept as its next numbered version with `evidence` (why the
    /// value was chosen); answers that version, `None` when no such gene
    /// is here. Counts and q stay: the repair is the same, its parameters
    /// moved.
    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        let _ = (key, strategy, params, evidence);
        Err(StoreError::Unavailable(
            "this gene store keeps no gene versions".into(),
        ))
    }

    /// The versions `retune` made of the gene for `key` and `strategy`,
    /// oldest first.
    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        let _ = (key, strategy);
        Ok(Vec::new())
    }
}

/// A gene store in process memory: the default when no database is given,
/// and the hot cache in front of a database.
#[derive(Debug, Default)]
pub struct MemoryGeneStore {
    genes: RwLock<Vec<Gene>>,
    versions: RwLock<Vec<(GeneKey, StrategyId, GeneVersion)>>,
    diagnoses: RwLock<std::collections::HashMap<String, Diagnosis>>,
}

impl MemoryGeneStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces a gene as it is (for seeding and replication).
    pub fn put(&self, gene: Gene) {
        if let Ok(mut v) = self.genes.write() {
            match v
                .iter_mut()
                .find(|g| g.key == gene.key && g.strategy == gene.strategy)
            {
                Some(g) => *g = gene,
                None => v.push(gene),
            }
        }
    }

    /// The lookup without the async wrapper.
    pub fn lookup_now(&self, key: GeneKey) -> Option<Gene> {
        let v = self.genes.read().ok()?;
        best_of(v.iter().filter(|g| g.key == key), now_ms()).cloned()
    }
}

fn poisoned() -> StoreError {
    StoreError::Unavailable("memory store lock poisoned".into())
}

#[async_trait]
impl GeneStore for MemoryGeneStore {
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        Ok(self.lookup_now(key))
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        let mut v = self.genes.write().map_err(|_| poisoned())?;
        if v.iter()
            .any(|g| g.key == gene.key && g.strategy == gene.strategy)
        {
            return Ok(false);
        }
        v.push(gene.clone());
        Ok(true)
    }

    async fn record(&self, o: &Outcome) -> Result<Gene, StoreError> {
        let mut v = self.genes.write().map_err(|_| poisoned())?;
        let idx = match v
            .iter()
            .position(|g| g.key == o.key && g.strategy == o.strategy)
        {
            Some(i) => i,
            None => {
                v.push(Gene::new(o));
                v.len() - 1
            }
        };
        v[idx].learn(o);
        Ok(v[idx].clone())
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        Ok(self.genes.read().map_err(|_| poisoned())?.clone())
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        let mut genes = self.genes.write().map_err(|_| poisoned())?;
        let Some(g) = genes
            .iter_mut()
            .find(|g| g.key == key && g.strategy == strategy)
        else {
            return Ok(None);
        };
        let mut versions = self.versions.write().map_err(|_| poisoned())?;
        let version = 1 + versions
            .iter()
            .filter(|(k, s, _)| *k == key && *s == strategy)
            .count() as u32;
        g.params = params.clone();
        versions.push((
            key,
            strategy,
            GeneVersion {
                version,
                params: params.clone(),
                evidence: evidence.clone(),
                created_at: now_ms(),
            },
        ));
        Ok(Some(version))
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        let v = self.versions.read().map_err(|_| poisoned())?;
        Ok(v.iter()
            .filter(|(k, s, _)| *k == key && *s == strategy)
            .map(|(_, _, g)| g.clone())
            .collect())
    }

    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        let d = self.diagnoses.read().map_err(|_| poisoned())?;
        Ok(d.get(fingerprint).cloned())
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        let mut all = self.diagnoses.write().map_err(|_| poisoned())?;
        all.entry(fingerprint.to_owned())
            .or_insert_with(|| d.clone());
        Ok(())
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.diagnoses
            .write()
            .map_err(|_| poisoned())?
            .remove(fingerprint);
        Ok(())
    }
}
