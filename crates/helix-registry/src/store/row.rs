//! Decoding a gene row, and the pieces of a merge both backends share.

use helix_core::Platform;

use super::StoreError;
use crate::quality::{Tally, quality};
use crate::wire::RegistryGene;

/// A row of either backend, read by column position.
pub(crate) trait Cols {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn real(&self, i: usize) -> Result<f64, StoreError>;
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A row of [`super::sql::GENE_COLUMNS`].
pub(crate) fn decode(r: &impl Cols) -> Result<RegistryGene, StoreError> {
    let id = r.text(0)?;
    let count = |i: usize| r.int(i).map(|n| n.max(0) as u64);
    Ok(RegistryGene {
        id: id.parse().map_err(|e| corrupt("gene id", e))?,
        code: r.text(1)?.parse().map_err(|e| corrupt(&id, e))?,
        category: r.text(2)?.parse().map_err(|e| corrupt(&id, e))?,
        strategy: r.text(3)?.parse().map_err(|e| corrupt(&id, e))?,
        params: serde_json::from_str(&r.text(4)?).map_err(|e| corrupt(&id, e))?,
        platforms: serde_json::from_str(&r.text(5)?).map_err(|e| corrupt(&id, e))?,
        successes: count(6)?,
        failures: count(7)?,
        verified_agents: count(8)?,
        verified_evidence: count(9)?,
        pushes: count(10)?,
        mean_ms: count(11)?,
        quality: r.real(12)?,
        created_at: r.int(13)?,
        updated_at: r.int(14)?,
        claimed_successes: count(15)?,
        evidence: Vec::new(),
    })
}

/// The stored platforms with the pushed ones added, as stored; `None` when
/// the push added none (nothing to write).
pub(crate) fn merge_platforms(
    stored: &str,
    pushed: &[Platform],
) -> Result<Option<String>, StoreError> {
    let mut all: Vec<Platform> =
        serde_json::from_str(stored).map_err(|e| corrupt("platforms", e))?;
    let before = all.len();
    for p in pushed {
        if let Err(i) = all.binary_search(p) {
            all.insert(i, *p);
        }
    }
    if all.len() == before {
        return Ok(None);
    }
    serde_json::to_string(&all)
        .map(Some)
        .map_err(|e| corrupt("platforms", e))
}

/// The quality before a merge, from [`super::sql::SELECT_MERGE_STATE`]'s
/// quality and pushes: `None` for a gene this merge creates.
pub(crate) fn quality_before(quality: f64, pushes: i64) -> Option<f64> {
    (pushes > 0).then_some(quality)
}

/// A gene's totals as stored.
pub(crate) struct Totals {
    pub successes: i64,
    pub failures: i64,
    pub agents: i64,
    pub evidence: i64,
    pub pushes: i64,
    pub mean_ms: i64,
    pub quality: f64,
    pub claimed: i64,
}

/// The gene's new totals from [`super::sql::TALLY`]'s seven numbers.
pub(crate) fn totals(t: [i64; 7]) -> Totals {
    let [s, f, agents, evidence, pushes, weighted_ms, claimed] = t.map(|n| n.max(0));
    let q = quality(Tally {
        successes: s as u64,
        failures: f as u64,
        verified_agents: agents as u64,
        verified_evidence: evidence as u64,
    });
    Totals {
        successes: s,
        failures: f,
        agents,
        evidence,
        pushes,
        mean_ms: if s > 0 { weighted_ms / s } else { 0 },
        quality: q,
        claimed,
    }
}

/// Whether an owner of a transaction may claim it for this push.
pub(crate) fn same_claim(owner: &(String, String), agent: &str, gene: &str) -> bool {
    owner.0 == agent && owner.1 == gene
}
