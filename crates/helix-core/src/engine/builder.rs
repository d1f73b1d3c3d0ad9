//! Assembling a runtime: adapters, probes, executors, the stores, the
//! policy.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnose::Diagnoser;
use crate::event::{EventSink, TracingSink};
use crate::policy::{Budget, Policy};
use crate::taxonomy::{Mode, StrategyId};
use crate::traits::{Adapter, Executor, GeneStore, MemoryGeneStore, Probe};
use crate::wallet_lock::{MemoryWalletLocks, WalletLocks};

use super::{Forecast, Helix, Inner};

/// Builds a [`Helix`].
#[derive(Default)]
pub struct HelixBuilder {
    adapters: Vec<Arc<dyn Adapter>>,
    probes: Vec<Arc<dyn Probe>>,
    diagnoser: Option<Arc<dyn Diagnoser>>,
    executors: HashMap<StrategyId, Arc<dyn Executor>>,
    store: Option<Arc<dyn GeneStore>>,
    sink: Option<Arc<dyn EventSink>>,
    budget: Option<Arc<dyn Budget>>,
    wallet_locks: Option<Arc<dyn WalletLocks>>,
    forecast: Option<Arc<dyn Forecast>>,
    policy: Policy,
}

impl HelixBuilder {
    /// Adds an adapter; adapters are asked in the order they were added.
    pub fn adapter(mut self, a: impl Adapter + 'static) -> Self {
        self.adapters.push(Arc::new(a));
        self
    }

    /// Adds a shared adapter.
    pub fn adapter_arc(mut self, a: Arc<dyn Adapter>) -> Self {
        self.adapters.push(a);
        self
    }

    /// Adds a probe; probes run in order before Perceive.
    pub fn probe(mut self, p: impl Probe + 'static) -> Self {
        self.probes.push(Arc::new(p));
        self
    }

    /// Adds shared probes, in order.
    pub fn probes(mut self, all: impl IntoIterator<Item = Arc<dyn Probe>>) -> Self {
        self.probes.extend(all);
        self
    }

    /// Asks `d` (an LLM) about signals no adapter recognises, once per
    /// fingerprint; its answers are remembered in the gene store.
    pub fn diagnoser(mut self, d: Arc<dyn Diagnoser>) -> Self {
        self.diagnoser = Some(d);
        self
    }

    /// Registers an executor; a later one for the same strategy replaces it.
    pub fn strategy(self, s: impl Executor + 'static) -> Self {
        self.strategy_arc(Arc::new(s))
    }

    /// Registers a shared executor.
    pub fn strategy_arc(mut self, s: Arc<dyn Executor>) -> Self {
        self.executors.insert(s.id(), s);
        self
    }

    /// Registers several executors.
    pub fn strategies(mut self, all: impl IntoIterator<Item = Arc<dyn Executor>>) -> Self {
        for s in all {
            self.executors.insert(s.id(), s);
        }
        self
    }

    /// Where genes live (default: in memory, lost on exit).
    pub fn store(mut self, s: Arc<dyn GeneStore>) -> Self {
        self.store = Some(s);
        self
    }

    /// Where events go (default: `tracing`).
    pub fn sink(mut self, s: Arc<dyn EventSink>) -> Self {
        self.sink = Some(s);
        self
    }

    /// A repair budget (default: none beyond the per-repair ceiling).
    pub fn budget(mut self, b: Arc<dyn Budget>) -> Self {
        self.budget = Some(b);
        self
    }

    /// Where wallets are locked while a repair moves their funds (default:
    /// within this process). Processes paying from one wallet share one.
    pub fn wallet_locks(mut self, l: Arc<dyn WalletLocks>) -> Self {
        self.wallet_locks = Some(l);
        self
    }

    /// Applies, before a call, the repair a gene knows for a failure `f`
    /// expects at this time (see [`Forecast`]). Off unless set.
    pub fn forecast(mut self, f: Arc<dyn Forecast>) -> Self {
        self.forecast = Some(f);
        self
    }

    /// All limits at once.
    pub fn policy(mut self, p: Policy) -> Self {
        self.policy = p;
        self
    }

    /// Observe, auto or full.
    pub fn mode(mut self, m: Mode) -> Self {
        self.policy.mode = m;
        self
    }

    /// Repairs per run at most.
    pub fn max_repairs(mut self, n: u32) -> Self {
        self.policy.max_repairs = n;
        self
    }

    /// The runtime.
    pub fn build(self) -> Helix {
        Helix {
            inner: Arc::new(Inner {
                adapters: self.adapters,
                probes: self.probes,
                diagnoser: self.diagnoser,
                executors: self.executors,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryGeneStore::new())),
                sink: self.sink.unwrap_or_else(|| Arc::new(TracingSink)),
                budget: self.budget,
                wallet_locks: self
                    .wallet_locks
                    .unwrap_or_else(|| Arc::new(MemoryWalletLocks::new())),
                forecast: self.forecast,
                policy: self.policy,
            }),
        }
    }
}
