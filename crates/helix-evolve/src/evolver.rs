//! The worker's state: a bandit per (failure, strategy) with a knob, fed
//! trials, writing a changed value back as a new gene version.

use std::collections::BTreeMap;

use helix_core::{Event, GeneKey, GeneStore, StoreError, StrategyId};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::bandit::{Arm, Thompson};
use crate::knobs::{Bounds, knob};
use crate::trial::{Pairing, Trial};

/// Named in every version's evidence.
pub const OPTIMISER: &str = "thompson-sampling/beta-bernoulli";

/// A value written into the Gene Map.
#[derive(Debug, Clone, PartialEq)]
pub struct Retuned {
    /// The failure.
    pub key: GeneKey,
    /// The repair.
    pub strategy: StrategyId,
    /// The parameter.
    pub param: &'static str,
    /// Its value before, when the gene named one.
    pub from: Option<u64>,
    /// Its value now.
    pub to: u64,
    /// The gene version this made.
    pub version: u32,
}

struct Tuned {
    bandit: Thompson,
    fresh: u32,
}

/// Learns from events, retunes genes.
pub struct Evolver {
    bounds: Bounds,
    every: u32,
    rng: StdRng,
    pairing: Pairing,
    tuned: BTreeMap<(GeneKey, StrategyId), Tuned>,
}

impl std::fmt::Debug for Evolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evolver")
            .field("bounds", &self.bounds)
            .field("every", &self.every)
            .field("genes", &self.tuned.len())
            .finish_non_exhaustive()
    }
}

impl Evolver {
    /// Retunes a gene after every `every` new trials of it (at least 1),
    /// within `bounds`; `seed` makes its choices repeatable.
    pub fn new(bounds: Bounds, every: u32, seed: u64) -> Self {
        Evolver {
            bounds,
            every: every.max(1),
            rng: StdRng::seed_from_u64(seed),
            pairing: Pairing::default(),
            tuned: BTreeMap::new(),
        }
    }

    /// Picks up where the last worker stopped: each tuned gene's newest
    /// version carries its bandit's arms. Answers the genes resumed.
    pub async fn resume(&mut self, store: &dyn GeneStore) -> Result<usize, StoreError> {
        let mut n = 0;
        for g in store.list().await? {
            let Some(k) = knob(g.strategy) else { continue };
            let Some(last) = store.versions(g.key, g.strategy).await?.pop() else {
                continue;
            };
            let Ok(arms) = serde_json::from_value::<Vec<Arm>>(last.evidence["arms"].clone()) else {
                tracing::warn!(target: "helix::evolve", key = %g.key, strategy = %g.strategy, "a gene version's evidence has no readable arms; starting afresh");
                continue;
            };
            let allowed = self.bounds.allowed(k);
            self.tuned.insert(
                (g.key, g.strategy),
                Tuned {
                    bandit: Thompson::resume(&allowed, &arms),
                    fresh: 0,
                },
            );
            n += 1;
        }
        Ok(n)
    }

    /// Reads one event; the trial it completed, once learned from.
    pub fn observe(&mut self, e: &Event) -> Option<Trial> {
        let t = self.pairing.observe(e)?;
        self.learn(&t).then_some(t)
    }

    /// Learns one trial; false when its value is not a candidate (outside
    /// the bounds, or a value no knob lists) or the strategy has no knob.
    pub fn learn(&mut self, t: &Trial) -> bool {
        let Some(k) = knob(t.strategy) else {
            return false;
        };
        let allowed = self.bounds.allowed(k);
        if allowed.is_empty() {
            return false;
        }
        let s = self
            .tuned
            .entry((t.key, t.strategy))
            .or_insert_with(|| Tuned {
                bandit: Thompson::new(&allowed),
                fresh: 0,
            });
        let ok = s.bandit.update(t.value, t.reward(k), &mut self.rng);
        s.fresh += u32::from(ok);
        ok
    }

    /// Genes with a bandit.
    pub fn genes(&self) -> usize {
        self.tuned.len()
    }

    /// The bandit of a gene, if it has seen anything.
    pub fn bandit(&self, key: GeneKey, strategy: StrategyId) -> Option<&Thompson> {
        self.tuned.get(&(key, strategy)).map(|t| &t.bandit)
    }

    /// The value believed best for a gene now.
    pub fn best(&self, key: GeneKey, strategy: StrategyId) -> Option<u64> {
        self.bandit(key, strategy)?.best()
    }

    /// For each gene with `every` new trials: draws the value to use next
    /// and, when it differs from the gene's, writes it as a new version
    /// with the bandit as evidence. A gene not in `store` is skipped.
    pub async fn retune(&mut self, store: &dyn GeneStore) -> Result<Vec<Retuned>, StoreError> {
        let due: Vec<(GeneKey, StrategyId)> = self
            .tuned
            .iter()
            .filter(|(_, t)| t.fresh >= self.every)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for (key, strategy) in due {
            let Some(k) = knob(strategy) else { continue };
            let Some(t) = self.tuned.get_mut(&(key, strategy)) else {
                continue;
            };
            t.fresh = 0;
            let Some(to) = t.bandit.choose(&mut self.rng) else {
                continue;
            };
            // The bandit's arms are the allowed values; this guards the
            // write itself should that ever change.
            if to > self.bounds.max_wait_ms {
                tracing::error!(target: "helix::evolve", to, "a value past the bounds was drawn; not written");
                continue;
            }
            let current = store
                .lookup(key)
                .await?
                .filter(|g| g.strategy == strategy)
                .map(|g| g.params);
            let from = current
                .as_ref()
                .and_then(|p| p.get(k.param))
                .and_then(Value::as_u64);
            if from == Some(to) {
                continue;
            }
            let mut params = match current {
                Some(Value::Object(m)) => Value::Object(m),
                _ => json!({}),
            };
            params[k.param] = json!(to);
            let evidence = json!({
                "optimiser": OPTIMISER,
                "param": k.param,
                "chosen": to,
                "best": t.bandit.best(),
                "trials": t.bandit.trials(),
                "arms": t.bandit.arms(),
                "bounds": { "max_wait_ms": self.bounds.max_wait_ms },
            });
            if let Some(version) = store.retune(key, strategy, &params, &evidence).await? {
                tracing::info!(target: "helix::evolve", %key, %strategy, param = k.param, ?from, to, version, "gene retuned");
                out.push(Retuned {
                    key,
                    strategy,
                    param: k.param,
                    from,
                    to,
                    version,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use helix_core::{
        Category, FailureCode, GeneSource, MemoryGeneStore, Outcome, Platform, StrategyId,
    };

    use super::*;

    const KEY: GeneKey = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };

    fn trial(value: u64, success: bool) -> Trial {
        Trial {
            key: KEY,
            strategy: StrategyId::Backoff,
            value,
            success,
            ms: if success { value + 20 } else { 0 },
        }
    }

    async fn store_with_gene() -> MemoryGeneStore {
        let s = MemoryGeneStore::new();
        s.record(&Outcome {
            key: KEY,
            strategy: StrategyId::Backoff,
            params: json!({ "wait_ms": 1_000 }),
            success: true,
            ms: 1_020,
            cost: 0,
            platform: Platform::Http,
            source: GeneSource::Pcec,
            at: 0,
            id: 0,
            evidence: Vec::new(),
        })
        .await
        .unwrap();
        s
    }

    #[tokio::test]
    async fn no_value_past_the_bounds_is_ever_written() {
        let store = store_with_gene().await;
        let mut e = Evolver::new(Bounds { max_wait_ms: 500 }, 1, 11);
        for i in 0..300u64 {
            // Long waits succeed and short ones fail: the data pull
            // towards values the bounds forbid.
            let v = [100, 250, 500, 2_000, 8_000][(i % 5) as usize];
            let learned = e.learn(&trial(v, v >= 2_000));
            assert_eq!(learned, v <= 500, "{v}");
            for r in e.retune(&store).await.unwrap() {
                assert!(r.to <= 500, "{r:?}");
            }
        }
        let g = store.lookup(KEY).await.unwrap().unwrap();
        assert!(g.params["wait_ms"].as_u64().unwrap() <= 500);
    }

    #[tokio::test]
    async fn a_better_value_is_written_as_a_version_with_its_evidence_and_resumed() {
        let store = store_with_gene().await;
        let mut e = Evolver::new(Bounds::default(), 20, 5);
        let mut written = Vec::new();
        for i in 0..400u64 {
            let v = [250, 500, 750, 1_000, 2_000][(i % 5) as usize];
            e.learn(&trial(v, v >= 750));
            written.extend(e.retune(&store).await.unwrap());
        }
        assert_eq!(e.best(KEY, StrategyId::Backoff), Some(750));
        assert!(!written.is_empty());
        let versions = store.versions(KEY, StrategyId::Backoff).await.unwrap();
        assert_eq!(versions.len(), written.len());
        assert_eq!(versions.last().unwrap().version as usize, written.len());
        let last = versions.last().unwrap();
        assert_eq!(last.evidence["optimiser"], OPTIMISER);
        assert_eq!(last.evidence["best"], 750);
        let gene = store.lookup(KEY).await.unwrap().unwrap();
        assert_eq!(
            gene.params, last.params,
            "the gene carries the newest version"
        );
        // Counts stay: retuning moved the parameter, not the record.
        assert_eq!(gene.successes, 1);

        let mut again = Evolver::new(Bounds::default(), 20, 6);
        assert_eq!(again.resume(&store).await.unwrap(), 1);
        assert_eq!(
            again.bandit(KEY, StrategyId::Backoff).unwrap().trials(),
            last.evidence["trials"].as_u64().unwrap() as u32
        );
    }
}
