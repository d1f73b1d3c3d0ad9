//! The PCEC loop: Perceive, (Gene), Construct, Evaluate, Commit, Verify, Gene.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::diagnose::{Diagnoser, Diagnosis, fingerprint};
use crate::evaluate::{construct, rank};
use crate::event::{BlockReason, Event, EventKind, EventSink, TracingSink};
use crate::failure::{Candidate, CandidateSource, Failure};
use crate::gene::{Gene, GeneSource, Outcome, now_ms};
use crate::patch::{Patch, PaymentView, Repairable, Violation, check_invariants, check_patches};
use crate::policy::{Budget, BudgetError, Policy};
use crate::signal::{ErrorSignal, IntoSignal};
use crate::taxonomy::{Mode, StrategyId};
use crate::traits::{
    Adapter, CommitCtx, CommitError, Committed, GeneStore, MemoryGeneStore, Probe, Strategy,
};
use crate::wallet_lock::{MemoryWalletLocks, WalletGuard, WalletLocks};

/// The self-healing runtime. Cheap to clone; share one per process.
///
/// ```
/// use helix_core::*;
///
/// // A request type: recipient and amount are guarded, the nonce may be patched.
/// struct Pay { to: &'static str, amount: u128, nonce: u64 }
/// impl Repairable for Pay {
///     fn view(&self) -> PaymentView {
///         PaymentView { recipient: Some(self.to.into()), amount: Some(self.amount),
///                       nonce: Some(self.nonce), ..Default::default() }
///     }
///     fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
///         match p { Patch::Nonce { nonce } => { self.nonce = *nonce; Ok(()) }
///                   other => Err(Refused::unsupported(other)) }
///     }
/// }
///
/// // A one-rule adapter and an executor that "reads" the chain's nonce.
/// struct Nonces;
/// impl Adapter for Nonces {
///     fn name(&self) -> &'static str { "nonces" }
///     fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
///         s.message.contains("nonce too low").then(|| Failure {
///             code: FailureCode::VerificationFailed, category: Category::Signature,
///             severity: Severity::Medium, platform: Platform::Tempo,
///             evidence: Evidence::Message, facts: Facts::default() })
///     }
///     fn construct(&self, _: &Failure) -> Vec<Candidate> {
///         vec![Candidate::new(StrategyId::RefreshNonce, 0, 50)]
///     }
/// }
/// struct ReadNonce(u64);
/// #[async_trait::async_trait]
/// impl Strategy for ReadNonce {
///     fn id(&self) -> StrategyId { StrategyId::RefreshNonce }
///     async fn commit(&self, _: &CommitCtx<'_>) -> Result<Committed, CommitError> {
///         Ok(Committed { patches: vec![Patch::Nonce { nonce: self.0 }], ..Default::default() })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let helix = Helix::builder().adapter(Nonces).strategy(ReadNonce(7)).build();
/// let pay = Pay { to: "0xbob", amount: 500_000, nonce: 3 };
/// let receipt = helix
///     .run(pay, async |p: &Pay| {
///         if p.nonce == 7 { Ok("paid") } else { Err(format!("nonce too low: next nonce 7, tx nonce {}", p.nonce)) }
///     })
///     .await
///     .unwrap();
/// assert_eq!(receipt, "paid");
/// # });
/// ```
#[derive(Clone)]
pub struct Helix {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    adapters: Vec<Arc<dyn Adapter>>,
    probes: Vec<Arc<dyn Probe>>,
    diagnoser: Option<Arc<dyn Diagnoser>>,
    executors: HashMap<StrategyId, Arc<dyn Strategy>>,
    store: Arc<dyn GeneStore>,
    sink: Arc<dyn EventSink>,
    budget: Option<Arc<dyn Budget>>,
    wallet_locks: Arc<dyn WalletLocks>,
    policy: Policy,
}

impl fmt::Debug for Helix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut strategies: Vec<_> = self.inner.executors.keys().map(|s| s.as_str()).collect();
        strategies.sort_unstable();
        f.debug_struct("Helix")
            .field(
                "adapters",
                &self
                    .inner
                    .adapters
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>(),
            )
            .field("strategies", &strategies)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Helix`].
#[derive(Default)]
pub struct HelixBuilder {
    adapters: Vec<Arc<dyn Adapter>>,
    probes: Vec<Arc<dyn Probe>>,
    diagnoser: Option<Arc<dyn Diagnoser>>,
    executors: HashMap<StrategyId, Arc<dyn Strategy>>,
    store: Option<Arc<dyn GeneStore>>,
    sink: Option<Arc<dyn EventSink>>,
    budget: Option<Arc<dyn Budget>>,
    wallet_locks: Option<Arc<dyn WalletLocks>>,
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
    pub fn strategy(self, s: impl Strategy + 'static) -> Self {
        self.strategy_arc(Arc::new(s))
    }

    /// Registers a shared executor.
    pub fn strategy_arc(mut self, s: Arc<dyn Strategy>) -> Self {
        self.executors.insert(s.id(), s);
        self
    }

    /// Registers several executors.
    pub fn strategies(mut self, all: impl IntoIterator<Item = Arc<dyn Strategy>>) -> Self {
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
                policy: self.policy,
            }),
        }
    }
}

/// One committed repair in a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RepairStep {
    /// The strategy.
    pub strategy: StrategyId,
    /// Chosen from a gene, without construct.
    pub immune: bool,
    /// Whether the retried call then succeeded.
    pub verified: bool,
    /// Commit plus retried call, ms.
    pub ms: u64,
    /// Money spent, micro-USD.
    pub cost: u64,
    /// Transactions the executor sent.
    pub tx_hashes: Vec<String>,
}

/// What a run did. Empty (and allocation-free) when the first call succeeded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Set once the first call failed.
    pub repair_id: Option<u64>,
    /// Calls made, including the first.
    pub calls: u32,
    /// The last classified failure.
    pub failure: Option<Failure>,
    /// Committed repairs, in order.
    pub repairs: Vec<RepairStep>,
}

impl Report {
    /// The run succeeded through a repair chosen from a gene.
    pub fn immune(&self) -> bool {
        self.repairs.last().is_some_and(|r| r.verified && r.immune)
    }

    /// The strategy that made the call succeed.
    pub fn repaired_by(&self) -> Option<StrategyId> {
        self.repairs.iter().find(|r| r.verified).map(|r| r.strategy)
    }
}

/// Why a run ended without the call succeeding. Always carries the last error.
#[derive(Debug)]
pub enum HelixError<E> {
    /// No adapter recognised the failure.
    Unrecognised {
        /// The call's last error.
        error: E,
    },
    /// Helix did not repair: observe mode, nothing allowed, or every allowed
    /// repair failed to commit.
    NotRepaired {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
        /// What would have been tried, best first.
        recommended: Vec<StrategyId>,
    },
    /// The repair bound was reached.
    Exhausted {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
    },
    /// The repair budget refused the repairs that could have helped.
    Budget {
        /// The call's last error.
        error: E,
        /// The classification.
        failure: Box<Failure>,
        /// What the budget said.
        refusal: BudgetError,
    },
    /// The payment was already made (reconciled on chain, or the server's
    /// receipt) and the request cannot take that proof: nothing is sent
    /// again. The evidence names the transaction or receipt.
    AlreadyPaid {
        /// The call's last error.
        error: E,
        /// The strategy that found it.
        strategy: StrategyId,
        /// The transaction hash or receipt of the payment made.
        evidence: String,
    },
    /// A repair would have broken a payment invariant; nothing was retried.
    Invariant {
        /// The call's last error.
        error: E,
        /// The strategy that tried.
        strategy: StrategyId,
        /// What it would have broken.
        violation: Violation,
    },
}

impl<E> HelixError<E> {
    /// The call's last error.
    pub fn error(&self) -> &E {
        match self {
            HelixError::Unrecognised { error }
            | HelixError::NotRepaired { error, .. }
            | HelixError::Exhausted { error, .. }
            | HelixError::Budget { error, .. }
            | HelixError::AlreadyPaid { error, .. }
            | HelixError::Invariant { error, .. } => error,
        }
    }

    /// Takes the call's last error.
    pub fn into_error(self) -> E {
        match self {
            HelixError::Unrecognised { error }
            | HelixError::NotRepaired { error, .. }
            | HelixError::Exhausted { error, .. }
            | HelixError::Budget { error, .. }
            | HelixError::AlreadyPaid { error, .. }
            | HelixError::Invariant { error, .. } => error,
        }
    }
}

impl<E: fmt::Display> fmt::Display for HelixError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelixError::Unrecognised { error } => write!(f, "unrecognised failure: {error}"),
            HelixError::NotRepaired {
                error,
                failure,
                recommended,
            } => {
                write!(f, "not repaired ({}): {error}", failure.key())?;
                if !recommended.is_empty() {
                    let names: Vec<_> = recommended.iter().map(|s| s.as_str()).collect();
                    write!(f, "; recommended: {}", names.join(", "))?;
                }
                Ok(())
            }
            HelixError::Exhausted { error, failure } => {
                write!(f, "repair attempts exhausted ({}): {error}", failure.key())
            }
            HelixError::Budget {
                error,
                failure,
                refusal,
            } => write!(
                f,
                "repair refused by the budget ({}): {refusal}; last error: {error}",
                failure.key()
            ),
            HelixError::AlreadyPaid {
                error,
                strategy,
                evidence,
            } => write!(
                f,
                "already paid ({evidence}, found by {strategy}); nothing sent again (last error: {error})"
            ),
            HelixError::Invariant {
                error,
                strategy,
                violation,
            } => write!(
                f,
                "repair {strategy} refused: {violation} (last error: {error})"
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for HelixError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error())
    }
}

/// A repair committed and awaiting its retried call.
pub(crate) struct Pending {
    candidate: Candidate,
    source: GeneSource,
    started: Instant,
    learned: serde_json::Value,
    cost: u64,
    /// The fingerprint of the diagnosis the failure came from, if any.
    diagnosed: Option<String>,
    /// The wallet a fund-moving repair holds until its retry has answered.
    _wallet: Option<WalletGuard>,
}

enum Attempt {
    Committed(Pending),
    Failed,
    Stop(Stop),
}

pub(crate) enum Stop {
    NotRepaired(Vec<StrategyId>),
    Invariant(StrategyId, Violation),
    /// Proof of the payment already made that the request refused.
    AlreadyPaid(StrategyId, String),
}

/// Why applying a repair's patches stopped.
enum Unapplied {
    Violation(Violation),
    /// The request refused a patch: this candidate ends here.
    Refused,
    /// The request refused proof of a payment already made.
    AlreadyPaid(String),
}

/// One run's bookkeeping (created on the first failure only).
pub(crate) struct Run<'h> {
    pub(crate) h: &'h Inner,
    pub(crate) seq: u32,
    tried: Vec<StrategyId>,
    /// A repair that moves funds erred after it may have acted: nothing
    /// else moves funds in this run (its money may already have moved).
    funds_in_flight: bool,
    pub(crate) report: Report,
    pub(crate) refusal: Option<BudgetError>,
    /// Candidates of the diagnosis behind the current failure, if any.
    diagnosed: Vec<Candidate>,
    /// Who diagnosed it: genes born from its candidates carry this source.
    diagnosed_by: GeneSource,
    /// The signal fingerprint the diagnosis is remembered under.
    diagnosed_fp: Option<String>,
}

impl<'h> Run<'h> {
    pub(crate) fn new(h: &'h Inner) -> Self {
        Run {
            h,
            seq: 0,
            tried: Vec::new(),
            funds_in_flight: false,
            refusal: None,
            diagnosed: Vec::new(),
            diagnosed_by: GeneSource::Pcec,
            diagnosed_fp: None,
            report: Report {
                repair_id: Some(rand::random::<u64>() >> 11),
                calls: 1,
                ..Report::default()
            },
        }
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        let e = Event {
            repair_id: self.report.repair_id.unwrap_or(0),
            seq: self.seq,
            at: now_ms(),
            kind,
        };
        self.seq += 1;
        self.h.sink.emit(&e);
    }

    fn block(&mut self, strategy: StrategyId, reason: BlockReason) {
        let mode = self.h.policy.mode;
        self.emit(EventKind::Blocked {
            strategy,
            reason,
            mode,
        });
    }

    async fn record(
        &mut self,
        failure: &Failure,
        p: &Pending,
        success: bool,
        ms: u64,
    ) -> Option<Gene> {
        let params = if p.learned.is_null() {
            p.candidate.params.clone()
        } else {
            p.learned.clone()
        };
        let outcome = Outcome {
            key: failure.key(),
            strategy: p.candidate.strategy,
            params,
            success,
            ms,
            cost: p.cost,
            platform: failure.platform,
            source: p.source,
            at: now_ms(),
        };
        match bounded(self.h.policy.store_timeout, self.h.store.record(&outcome)).await {
            Ok(gene) => {
                self.emit(EventKind::GeneRecorded { gene: gene.clone() });
                if !success && !gene.is_live(now_ms()) {
                    self.forget_if_exhausted(failure, p).await;
                }
                Some(gene)
            }
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// A diagnosis whose repairs all demoted is forgotten, so the next
    /// occurrence asks again rather than staying unrepaired for good.
    async fn forget_if_exhausted(&mut self, failure: &Failure, p: &Pending) {
        let Some(fp) = p.diagnosed.clone() else {
            return;
        };
        let timeout = self.h.policy.store_timeout;
        match bounded(timeout, self.h.store.lookup(failure.key())).await {
            Ok(None) => match bounded(timeout, self.h.store.forget_diagnosis(&fp)).await {
                Ok(()) => self.emit(EventKind::DiagnosisForgotten { fingerprint: fp }),
                Err(e) => self.emit(EventKind::StoreError {
                    message: e.to_string(),
                }),
            },
            Ok(Some(_)) => {}
            Err(e) => self.emit(EventKind::StoreError {
                message: e.to_string(),
            }),
        }
    }

    /// Perceive: the adapters first; what none recognises goes to the
    /// remembered diagnoses, then to the diagnoser.
    pub(crate) async fn perceive(&mut self, signal: &ErrorSignal) -> Option<Failure> {
        self.diagnosed.clear();
        self.diagnosed_fp = None;
        if let Some(f) = crate::sent::perceive(&self.h.adapters, signal) {
            return Some(f);
        }
        let (fp, d) = self.diagnose(signal).await?;
        self.diagnosed = d.candidates();
        self.diagnosed_by = d.source;
        self.diagnosed_fp = Some(fp);
        Some(d.failure(signal))
    }

    async fn diagnose(&mut self, signal: &ErrorSignal) -> Option<(String, Diagnosis)> {
        let fp = fingerprint(signal);
        if let Some(d) = self.remembered(&fp).await {
            self.emit(EventKind::Diagnosed {
                fingerprint: fp.clone(),
                diagnosis: d.clone(),
                remembered: true,
            });
            return Some((fp, d));
        }
        let diagnoser = self.h.diagnoser.clone()?;
        let asked = diagnoser
            .diagnose(signal)
            .await
            .and_then(Diagnosis::validated);
        let d = match asked {
            Ok(d) => d,
            Err(e) => {
                self.emit(EventKind::DiagnoseFailed {
                    fingerprint: fp,
                    error: e.to_string(),
                });
                return None;
            }
        };
        // The first diagnosis stored wins, so instances asking at once
        // agree on the gene key; adopt whichever that was.
        let d = match bounded(
            self.h.policy.store_timeout,
            self.h.store.remember_diagnosis(&fp, &d),
        )
        .await
        {
            Ok(()) => self.remembered(&fp).await.unwrap_or(d),
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                d
            }
        };
        self.emit(EventKind::Diagnosed {
            fingerprint: fp.clone(),
            diagnosis: d.clone(),
            remembered: false,
        });
        Some((fp, d))
    }

    async fn remembered(&mut self, fp: &str) -> Option<Diagnosis> {
        match bounded(self.h.policy.store_timeout, self.h.store.diagnosis(fp)).await {
            Ok(d) => d,
            Err(e) => {
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    async fn lookup(&mut self, failure: &Failure) -> Option<Gene> {
        let key = failure.key();
        match bounded(self.h.policy.store_timeout, self.h.store.lookup(key)).await {
            Ok(Some(g)) if g.q >= self.h.policy.min_gene_q => {
                self.emit(EventKind::GeneHit { gene: g.clone() });
                Some(g)
            }
            Ok(_) => {
                self.emit(EventKind::GeneMiss { key });
                None
            }
            Err(e) => {
                // A dead gene store must not stop a payment: go on without immunity.
                self.emit(EventKind::StoreError {
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// Whether `c` may be committed now; emits the reason when not.
    fn admissible(&mut self, c: &Candidate, view: &PaymentView, signal: &ErrorSignal) -> bool {
        let policy = &self.h.policy;
        let reason = if self.tried.contains(&c.strategy) {
            Some(BlockReason::AlreadyTried)
        } else if crate::sent::may_have_paid(signal) && !c.strategy.safe_after_send() {
            Some(BlockReason::PaymentSent)
        } else if self.funds_in_flight && c.strategy.moves_funds() {
            Some(BlockReason::FundsInFlight)
        } else if !c.strategy.allowed_in(policy.mode) {
            Some(BlockReason::Mode)
        } else if c.strategy.reduces_amount() && !view.partial_ok {
            Some(BlockReason::PartialNotAllowed)
        } else if c.est_cost > policy.per_repair_ceiling {
            Some(BlockReason::Ceiling)
        } else if !self.h.executors.contains_key(&c.strategy) {
            Some(BlockReason::NoExecutor)
        } else {
            None
        };
        match reason {
            Some(r) => {
                self.block(c.strategy, r);
                false
            }
            None => true,
        }
    }

    pub(crate) async fn choose_and_commit<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        failure: &Failure,
        signal: &ErrorSignal,
        view: &PaymentView,
    ) -> Result<Pending, Stop> {
        let gene = self.lookup(failure).await;
        if let Some(g) = &gene {
            let c = Candidate {
                strategy: g.strategy,
                params: g.params.clone(),
                est_cost: g.mean_cost.round() as u64,
                est_ms: g.mean_ms.round() as u64,
                source: CandidateSource::Gene,
            };
            if self.admissible(&c, view, signal) {
                match self.commit(req, failure, signal, view, c, g.source).await {
                    Attempt::Committed(p) => return Ok(p),
                    Attempt::Stop(stop) => return Err(stop),
                    Attempt::Failed => {}
                }
            }
        }

        let candidates = construct(&self.h.adapters, failure, &self.diagnosed);
        self.emit(EventKind::Constructed {
            candidates: candidates.iter().map(|c| c.strategy).collect(),
        });
        let ranked = rank(candidates, gene.as_ref());
        self.emit(EventKind::Evaluated {
            ranked: ranked.iter().map(|(c, s)| (c.strategy, *s)).collect(),
        });
        let recommended: Vec<StrategyId> = ranked.iter().map(|(c, _)| c.strategy).collect();
        if self.h.policy.mode == Mode::Observe {
            for (c, _) in &ranked {
                self.block(c.strategy, BlockReason::Mode);
            }
            self.emit(EventKind::Recommended {
                strategies: recommended.clone(),
            });
            return Err(Stop::NotRepaired(recommended));
        }
        for (c, _) in ranked {
            if !self.admissible(&c, view, signal) {
                continue;
            }
            let source = match c.source {
                CandidateSource::Diagnosis => self.diagnosed_by,
                _ => GeneSource::Pcec,
            };
            match self.commit(req, failure, signal, view, c, source).await {
                Attempt::Committed(p) => return Ok(p),
                Attempt::Stop(stop) => return Err(stop),
                Attempt::Failed => {}
            }
        }
        self.emit(EventKind::Recommended {
            strategies: recommended.clone(),
        });
        Err(Stop::NotRepaired(recommended))
    }

    /// The most a repair may spend: for one that moves funds, its
    /// executor's cap (never above the per-repair ceiling), so the budget
    /// holds what could really leave, not a guess.
    fn upper_bound(&self, c: &Candidate, exec: &dyn Strategy) -> u64 {
        let ceiling = self.h.policy.per_repair_ceiling;
        if c.strategy.moves_funds() {
            exec.max_cost()
                .unwrap_or(ceiling)
                .min(ceiling)
                .max(c.est_cost)
        } else {
            c.est_cost
        }
    }

    async fn commit<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        failure: &Failure,
        signal: &ErrorSignal,
        view: &PaymentView,
        c: Candidate,
        source: GeneSource,
    ) -> Attempt {
        let Some(exec) = self.h.executors.get(&c.strategy).cloned() else {
            self.block(c.strategy, BlockReason::NoExecutor);
            return Attempt::Failed;
        };
        let max_cost = self.upper_bound(&c, exec.as_ref());
        let ctx = CommitCtx {
            failure,
            signal,
            request: view,
            params: &c.params,
            mode: self.h.policy.mode,
            repairs_so_far: self.report.repairs.len() as u32,
            max_cost,
        };
        if c.source == CandidateSource::Diagnosis {
            // A diagnoser's proposal is only as good as its guess: where the
            // platform can simulate the repair, it must pass first.
            let checked = exec.dry_run(&ctx).await;
            self.emit(EventKind::DryRun {
                strategy: c.strategy,
                available: checked.is_some(),
                error: checked
                    .as_ref()
                    .and_then(|r| r.as_ref().err())
                    .map(|e| e.to_string()),
            });
            if let Some(Err(_)) = checked {
                self.tried.push(c.strategy);
                return Attempt::Failed;
            }
        }
        // Another run's repair may be moving this wallet's funds: wait for
        // it, then read the balance it left.
        let wallet = match (c.strategy.moves_funds(), view.payer.as_deref()) {
            (true, Some(payer)) => {
                match self
                    .h
                    .wallet_locks
                    .lock(payer, self.h.policy.commit_timeout)
                    .await
                {
                    Ok(g) => Some(g),
                    Err(e) => {
                        self.emit(EventKind::CommitFailed {
                            strategy: c.strategy,
                            error: e.to_string(),
                        });
                        return Attempt::Failed;
                    }
                }
            }
            _ => None,
        };
        // Held until settled; a run dropped mid-commit (a caller's timeout, a
        // client gone) settles it from the guard.
        let held = match &self.h.budget {
            Some(b) => match Held::reserve(
                b,
                max_cost,
                c.strategy.moves_funds(),
                self.h.policy.store_timeout,
            )
            .await
            {
                Ok(h) => Some(h),
                Err(e) => {
                    self.block(c.strategy, BlockReason::Budget);
                    self.emit(EventKind::CommitFailed {
                        strategy: c.strategy,
                        error: e.to_string(),
                    });
                    self.refusal = Some(e);
                    return Attempt::Failed;
                }
            },
            None => None,
        };
        let immune = c.source == CandidateSource::Gene;
        self.emit(EventKind::Committing {
            strategy: c.strategy,
            immune,
        });
        self.tried.push(c.strategy);
        let started = Instant::now();
        let timeout = self.h.policy.commit_timeout;
        let result = match tokio::time::timeout(timeout, exec.commit(&ctx)).await {
            Ok(r) => r,
            Err(_) => Err(CommitError::Timeout(timeout.as_millis() as u64)),
        };
        let committed = match result {
            Ok(done) => done,
            Err(e) => {
                let spent = spent_on_error(&c, max_cost, &e);
                if c.strategy.moves_funds() && !matches!(e, CommitError::NotApplicable(_)) {
                    self.funds_in_flight = true;
                }
                Held::settle(held, spent).await;
                self.emit(EventKind::CommitFailed {
                    strategy: c.strategy,
                    error: e.to_string(),
                });
                let p = Pending {
                    candidate: c,
                    source,
                    started,
                    learned: serde_json::Value::Null,
                    cost: spent,
                    diagnosed: self.diagnosed_fp.clone(),
                    _wallet: None,
                };
                self.record(failure, &p, false, started.elapsed().as_millis() as u64)
                    .await;
                return Attempt::Failed;
            }
        };
        Held::settle(held, committed.cost).await;
        let ceiling = self.h.policy.per_repair_ceiling;
        // The estimate passed the ceiling; the actual cost must too.
        let checked = if committed.cost > ceiling {
            Err(Unapplied::Violation(Violation::CostOverCeiling {
                cost: committed.cost,
                ceiling,
            }))
        } else {
            self.apply(req, c.strategy, view, &committed)
        };
        match checked {
            Ok(()) => {}
            Err(Unapplied::Violation(v)) => {
                self.emit(EventKind::InvariantViolated {
                    strategy: c.strategy,
                    violation: v.clone(),
                });
                return Attempt::Stop(Stop::Invariant(c.strategy, v));
            }
            Err(Unapplied::AlreadyPaid(evidence)) => {
                return Attempt::Stop(Stop::AlreadyPaid(c.strategy, evidence));
            }
            Err(Unapplied::Refused) => {
                // The repair acted but the request cannot carry its result:
                // retrying would send the unrepaired request again.
                let p = Pending {
                    candidate: c,
                    source,
                    started,
                    learned: serde_json::Value::Null,
                    cost: committed.cost,
                    diagnosed: self.diagnosed_fp.clone(),
                    _wallet: None,
                };
                self.record(failure, &p, false, started.elapsed().as_millis() as u64)
                    .await;
                return Attempt::Failed;
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        self.report.repairs.push(RepairStep {
            strategy: c.strategy,
            immune,
            verified: false,
            ms,
            cost: committed.cost,
            tx_hashes: committed.tx_hashes.clone(),
        });
        let Committed {
            patches,
            cost,
            tx_hashes,
            params,
        } = committed;
        self.emit(EventKind::Committed {
            strategy: c.strategy,
            patches,
            ms,
            cost,
            tx_hashes,
        });
        Attempt::Committed(Pending {
            candidate: c,
            source,
            started,
            learned: params,
            cost,
            diagnosed: self.diagnosed_fp.clone(),
            _wallet: wallet,
        })
    }

    fn apply<R: Repairable + ?Sized>(
        &mut self,
        req: &mut R,
        strategy: StrategyId,
        before: &PaymentView,
        committed: &Committed,
    ) -> Result<(), Unapplied> {
        check_patches(strategy, before, &committed.patches).map_err(Unapplied::Violation)?;
        let mut refused = None;
        for p in &committed.patches {
            if let Err(r) = req.apply(p) {
                self.emit(EventKind::CommitFailed {
                    strategy,
                    error: r.to_string(),
                });
                refused = Some(p);
                break;
            }
        }
        // Checked whatever happened: the patches before a refused one stay.
        check_invariants(strategy, before, &req.view()).map_err(Unapplied::Violation)?;
        match refused {
            None => Ok(()),
            Some(Patch::UseExisting { id }) => Err(Unapplied::AlreadyPaid(format!("tx {id}"))),
            Some(Patch::Receipt { receipt }) => {
                Err(Unapplied::AlreadyPaid(format!("receipt {receipt}")))
            }
            Some(_) => Err(Unapplied::Refused),
        }
    }

    pub(crate) async fn settle_pending(
        &mut self,
        failure: &Failure,
        p: Pending,
        verified: bool,
    ) -> Option<Gene> {
        let ms = p.started.elapsed().as_millis() as u64;
        let strategy = p.candidate.strategy;
        if verified {
            if let Some(step) = self
                .report
                .repairs
                .iter_mut()
                .rev()
                .find(|r| r.strategy == strategy)
            {
                step.verified = true;
                step.ms = ms;
            }
            self.emit(EventKind::Verified { strategy, ms });
        } else {
            self.emit(EventKind::VerifyFailed { strategy });
        }
        self.record(failure, &p, verified, ms).await
    }
}

/// How long a settlement may take before the run goes on without it.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A store call that answers within `timeout`, or the store is down.
async fn bounded<T>(
    timeout: std::time::Duration,
    call: impl std::future::Future<Output = Result<T, crate::traits::StoreError>>,
) -> Result<T, crate::traits::StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(crate::traits::StoreError::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            )))
        })
}

/// What a repair that erred is booked as having spent. `NotApplicable`
/// means it did not act. One that moves funds may have moved up to its
/// bound before it erred (a swap mined, its answer lost): the bound is
/// booked, never a guess below it. Others may have spent their estimate
/// (gas).
fn spent_on_error(c: &Candidate, bound: u64, e: &CommitError) -> u64 {
    match e {
        CommitError::NotApplicable(_) => 0,
        _ if c.strategy.moves_funds() => bound,
        CommitError::Platform(_) | CommitError::Timeout(_) => c.est_cost,
        CommitError::Unsafe(_) => 0,
    }
}

/// A budget reservation settled exactly once: by [`Held::settle`], or by
/// its drop when the run is cancelled or panics mid-commit. A dropped
/// reservation of a repair that moves funds is booked in full (it may have
/// moved that much); any other is released.
struct Held {
    budget: Arc<dyn Budget>,
    r: Option<crate::policy::Reservation>,
    if_dropped: u64,
}

impl Held {
    async fn reserve(
        budget: &Arc<dyn Budget>,
        amount: u64,
        moves_funds: bool,
        timeout: std::time::Duration,
    ) -> Result<Held, BudgetError> {
        // No answer is no: nothing moves without a hold.
        let r = tokio::time::timeout(timeout, budget.reserve_for(amount, moves_funds))
            .await
            .map_err(|_| {
                BudgetError::Unavailable(format!("no answer within {} ms", timeout.as_millis()))
            })??;
        Ok(Held {
            budget: budget.clone(),
            if_dropped: if moves_funds { r.amount } else { 0 },
            r: Some(r),
        })
    }

    async fn settle(held: Option<Held>, actual: u64) {
        let Some(mut h) = held else { return };
        let Some(r) = h.r.take() else { return };
        // A budget that does not answer keeps the hold; a stale hold is
        // expired by the store (booked in full when money may have moved).
        let (id, timeout) = (r.id, SETTLE_TIMEOUT);
        match tokio::time::timeout(timeout, h.budget.settle(r, actual)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "helix::budget", %e, id, "settling a reservation failed")
            }
            Err(_) => tracing::error!(
                target: "helix::budget",
                id,
                "the budget did not answer a settlement; the hold stays until it expires"
            ),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(r) = self.r.take() else { return };
        let (budget, amount) = (self.budget.clone(), self.if_dropped);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = budget.settle(r, amount).await {
                        tracing::error!(target: "helix::budget", %e, "settling a dropped reservation failed");
                    }
                });
            }
            Err(_) => tracing::error!(
                target: "helix::budget",
                id = r.id,
                "a reservation was dropped outside a runtime; the store expires it"
            ),
        }
    }
}

impl Pending {
    pub(crate) fn strategy(&self) -> StrategyId {
        self.candidate.strategy
    }
}

impl Helix {
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The repair budget, if one was given.
    pub fn budget(&self) -> Option<&Arc<dyn Budget>> {
        self.inner.budget.as_ref()
    }

    pub(crate) fn probes(&self) -> &[Arc<dyn Probe>] {
        &self.inner.probes
    }

    /// Starts a builder.
    pub fn builder() -> HelixBuilder {
        HelixBuilder::default()
    }

    /// The limits in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The gene store.
    pub fn store(&self) -> &Arc<dyn GeneStore> {
        &self.inner.store
    }

    /// Classifies a signal with the registered adapters (no I/O, no events).
    pub fn classify(&self, signal: &ErrorSignal) -> Option<Failure> {
        crate::sent::perceive(&self.inner.adapters, signal)
    }

    /// Calls `op` with the request and repairs failures until it succeeds, a
    /// bound is reached, or no allowed repair remains.
    pub async fn run<R, T, E, F>(&self, mut req: R, op: F) -> Result<T, HelixError<E>>
    where
        R: Repairable,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        self.run_mut(&mut req, op).await.0
    }

    /// Like [`Helix::run`] on a borrowed request (which keeps the patches),
    /// also returning what the run did. After [`HelixError::Invariant`] the
    /// request may hold the offending patch (it was never sent): discard it.
    pub async fn run_mut<R, T, E, F>(
        &self,
        req: &mut R,
        mut op: F,
    ) -> (Result<T, HelixError<E>>, Report)
    where
        R: Repairable + ?Sized,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        match op(req).await {
            Ok(v) => (Ok(v), Report::default()),
            // Boxed so the happy path's future stays small.
            Err(e) => Box::pin(self.heal(req, op, e)).await,
        }
    }

    /// A reusable wrapped operation: `wrap(op).call(req)`.
    pub fn wrap<F>(&self, op: F) -> Wrapped<F> {
        Wrapped {
            helix: self.clone(),
            op,
        }
    }

    async fn heal<R, T, E, F>(
        &self,
        req: &mut R,
        mut op: F,
        first: E,
    ) -> (Result<T, HelixError<E>>, Report)
    where
        R: Repairable + ?Sized,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        let h = &*self.inner;
        let mut run = Run::new(h);
        let mut err = first;
        let mut pending: Option<(Pending, Failure)> = None;
        loop {
            let mut signal = err.to_signal();
            run.emit(EventKind::CallFailed {
                attempt: run.report.calls,
                status: signal.http_status,
                message: signal.message.clone(),
            });
            let view = req.view();
            for probe in &h.probes {
                probe.gather(&mut signal, &view).await;
            }
            run.emit(EventKind::Observed {
                signal: signal.clone(),
            });
            let perceived = run.perceive(&signal).await;
            if let Some((p, f)) = pending.take() {
                // The repair is verified when the failure it targeted is gone,
                // even if the call now fails for another (recognised) reason.
                let progressed = perceived.as_ref().is_some_and(|n| n.key() != f.key());
                run.settle_pending(&f, p, progressed).await;
            }
            let Some(failure) = perceived else {
                run.emit(EventKind::Unrecognised {
                    message: signal.message.clone(),
                });
                run.emit(EventKind::GaveUp {
                    reason: "unrecognised failure".into(),
                });
                return (Err(HelixError::Unrecognised { error: err }), run.report);
            };
            run.emit(EventKind::Perceived {
                failure: failure.clone(),
            });
            run.report.failure = Some(failure.clone());
            if run.report.repairs.len() as u32 >= h.policy.max_repairs {
                run.emit(EventKind::GaveUp {
                    reason: format!("{} repairs tried", h.policy.max_repairs),
                });
                let failure = Box::new(failure);
                return (
                    Err(HelixError::Exhausted {
                        error: err,
                        failure,
                    }),
                    run.report,
                );
            }
            match run.choose_and_commit(req, &failure, &signal, &view).await {
                Ok(p) => pending = Some((p, failure)),
                Err(Stop::NotRepaired(recommended)) => {
                    let failure = Box::new(failure);
                    if let Some(refusal) = run.refusal.take() {
                        run.emit(EventKind::GaveUp {
                            reason: refusal.to_string(),
                        });
                        let err = HelixError::Budget {
                            error: err,
                            failure,
                            refusal,
                        };
                        return (Err(err), run.report);
                    }
                    run.emit(EventKind::GaveUp {
                        reason: "no allowed repair".into(),
                    });
                    return (
                        Err(HelixError::NotRepaired {
                            error: err,
                            failure,
                            recommended,
                        }),
                        run.report,
                    );
                }
                Err(Stop::AlreadyPaid(strategy, evidence)) => {
                    run.emit(EventKind::GaveUp {
                        reason: format!("already paid: {evidence}"),
                    });
                    return (
                        Err(HelixError::AlreadyPaid {
                            error: err,
                            strategy,
                            evidence,
                        }),
                        run.report,
                    );
                }
                Err(Stop::Invariant(strategy, violation)) => {
                    run.emit(EventKind::GaveUp {
                        reason: violation.to_string(),
                    });
                    return (
                        Err(HelixError::Invariant {
                            error: err,
                            strategy,
                            violation,
                        }),
                        run.report,
                    );
                }
            }
            run.report.calls += 1;
            match op(req).await {
                Ok(v) => {
                    if let Some((p, f)) = pending.take() {
                        run.settle_pending(&f, p, true).await;
                    }
                    return (Ok(v), run.report);
                }
                Err(e) => err = e,
            }
        }
    }
}

/// An operation bound to a [`Helix`]; see [`Helix::wrap`].
pub struct Wrapped<F> {
    helix: Helix,
    op: F,
}

impl<F> Wrapped<F> {
    /// Runs the wrapped operation on a request.
    pub async fn call<R, T, E>(&mut self, req: R) -> Result<T, HelixError<E>>
    where
        R: Repairable,
        E: IntoSignal,
        F: AsyncFnMut(&R) -> Result<T, E>,
    {
        let mut req = req;
        self.helix.run_mut(&mut req, &mut self.op).await.0
    }
}
