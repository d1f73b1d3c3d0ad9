//! One typed event stream for every stage of the loop. The terminal view, the
//! SSE stream, the event log and NATS all read these.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::failure::{Failure, GeneKey};
use crate::gene::Gene;
use crate::patch::{Patch, Violation};
use crate::signal::ErrorSignal;
use crate::taxonomy::{Mode, StrategyId};

/// One event of one repair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Identifies the run (one logical payment).
    pub repair_id: u64,
    /// Order within the run, from 0.
    pub seq: u32,
    /// Unix ms.
    pub at: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why a candidate was not executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// The mode does not allow it.
    Mode,
    /// Its estimated cost is above the per-repair ceiling.
    Ceiling,
    /// The budget cannot reserve its cost.
    Budget,
    /// It lowers the amount and the caller did not allow partial payment.
    PartialNotAllowed,
    /// No executor is registered for it.
    NoExecutor,
    /// It already failed in this run.
    AlreadyTried,
    /// A payment left the agent with no proven outcome, and this strategy
    /// would make it again.
    PaymentSent,
    /// A repair that moves funds erred after it may have acted; no other
    /// may move funds in this run.
    FundsInFlight,
    /// Its executor needs a fact that neither the failure nor the request
    /// holds (checked before any lock or budget is taken).
    Missing(crate::need::Need),
    /// The failure is only predicted: nothing that moves funds runs ahead
    /// of a failure that has not happened.
    Predicted,
}

/// The stages of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The call failed.
    Call,
    /// Classification.
    Perceive,
    /// Gene lookup.
    Gene,
    /// Candidate construction.
    Construct,
    /// Scoring.
    Evaluate,
    /// Acting.
    Commit,
    /// The retried call.
    Verify,
    /// Storing the outcome.
    Record,
    /// The run ended.
    End,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A diagnosed repair was simulated before being committed.
    DryRun {
        /// The strategy.
        strategy: StrategyId,
        /// Whether the platform offers a simulation for it at all.
        available: bool,
        /// Why the simulation refused it; the repair is then not committed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The wrapped call failed.
    CallFailed {
        /// 1-based call number in this run.
        attempt: u32,
        /// HTTP status, if any.
        status: Option<u16>,
        /// The error's message.
        message: String,
    },
    /// The evidence Perceive classified: the call's error signal after the
    /// probes ran. Logged so a repair can be replayed from its inputs.
    Observed {
        /// The signal.
        signal: ErrorSignal,
    },
    /// A forecast expects this failure now (a recurring window): its
    /// gene's repair is applied before the call.
    Predicted {
        /// The failure expected.
        key: GeneKey,
    },
    /// The failure was classified.
    Perceived {
        /// The classification.
        failure: Failure,
        /// The service the request went to (its endpoint's origin), so
        /// recurring windows can be found per service (`helix predict`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// No adapter recognised the signal; a diagnosis (asked now, or
    /// remembered from an earlier ask) classified it. Logged in full so a
    /// replay uses the answer instead of asking again.
    Diagnosed {
        /// The signal's fingerprint, under which the diagnosis is remembered.
        fingerprint: String,
        /// The diagnosis.
        diagnosis: crate::diagnose::Diagnosis,
        /// Taken from the gene store, not asked.
        remembered: bool,
    },
    /// Every repair a remembered diagnosis led to demoted: it is forgotten,
    /// and the next occurrence asks the diagnoser again.
    DiagnosisForgotten {
        /// The signal's fingerprint.
        fingerprint: String,
    },
    /// The diagnoser was asked and gave no usable answer.
    DiagnoseFailed {
        /// The signal's fingerprint.
        fingerprint: String,
        /// Why.
        error: String,
    },
    /// No adapter recognised it.
    Unrecognised {
        /// The error's message.
        message: String,
    },
    /// A live gene answers this failure.
    GeneHit {
        /// The gene.
        gene: Gene,
    },
    /// No gene, or none usable.
    GeneMiss {
        /// The key looked up.
        key: GeneKey,
    },
    /// The gene store failed; the run goes on without it.
    StoreError {
        /// What the store said.
        message: String,
    },
    /// Candidates from the adapters.
    Constructed {
        /// Strategies in adapter order.
        candidates: Vec<StrategyId>,
    },
    /// Ranked candidates.
    Evaluated {
        /// Strategy and score, best first.
        ranked: Vec<(StrategyId, f64)>,
    },
    /// A candidate was not executed.
    Blocked {
        /// The strategy.
        strategy: StrategyId,
        /// Why.
        reason: BlockReason,
        /// The mode in force.
        mode: Mode,
    },
    /// Observe mode (or nothing allowed): these would have been tried.
    Recommended {
        /// Best first.
        strategies: Vec<StrategyId>,
    },
    /// An executor is acting.
    Committing {
        /// The strategy.
        strategy: StrategyId,
        /// Chosen from a gene without construct.
        immune: bool,
        /// The parameters it acts with (a gene's learned values, or the
        /// candidate's): what ties an outcome to the values that produced it.
        #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
        params: serde_json::Value,
    },
    /// It acted and returned patches.
    Committed {
        /// The strategy.
        strategy: StrategyId,
        /// Applied to the request.
        patches: Vec<Patch>,
        /// Time spent acting, ms.
        ms: u64,
        /// Money spent, micro-USD.
        cost: u64,
        /// Transactions it sent.
        tx_hashes: Vec<String>,
    },
    /// It could not act.
    CommitFailed {
        /// The strategy.
        strategy: StrategyId,
        /// Why.
        error: String,
    },
    /// A patch or the patched request broke an invariant; the run stops.
    InvariantViolated {
        /// The strategy.
        strategy: StrategyId,
        /// What broke.
        violation: Violation,
    },
    /// The retried call succeeded.
    Verified {
        /// The strategy that repaired it.
        strategy: StrategyId,
        /// Repair time (commit plus retried call), ms.
        ms: u64,
    },
    /// The retried call failed again.
    VerifyFailed {
        /// The strategy that did not repair it.
        strategy: StrategyId,
    },
    /// The outcome was stored.
    GeneRecorded {
        /// The gene after learning.
        gene: Gene,
    },
    /// The run ended without success.
    GaveUp {
        /// Why, typed.
        why: GaveUp,
        /// Why, in words (`why` as text, for people and dashboards).
        reason: String,
    },
}

/// Every reason a run ends without success: one list, read by the engine,
/// the advice API, the event log and the dashboard alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GaveUp {
    /// No adapter, remembered diagnosis or diagnoser recognised the failure.
    Unrecognised,
    /// The run used every repair it was allowed.
    Exhausted {
        /// How many.
        repairs: u32,
    },
    /// Every repair that could have helped was refused by the budget.
    Budget {
        /// The budget's refusal.
        refusal: String,
    },
    /// No repair was allowed or able to act (mode, ceiling, needs, no
    /// executor); these were recommended.
    NotRepaired {
        /// What would have helped.
        recommended: Vec<StrategyId>,
        /// Observe mode, where nothing is ever executed.
        observe: bool,
    },
    /// The payment was already made; the run stops with its proof.
    AlreadyPaid {
        /// The repair that found it.
        strategy: StrategyId,
        /// The proof (a transaction hash, a receipt).
        evidence: String,
    },
    /// A repair's patches broke an invariant (recipient, amount, chain ...).
    Invariant {
        /// The repair.
        strategy: StrategyId,
        /// What it broke.
        violation: String,
    },
    /// The caller's retry after an advice failed.
    RetryFailed,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GaveUp::Unrecognised => f.write_str("unrecognised failure"),
            GaveUp::Exhausted { repairs } => write!(f, "{repairs} repairs tried"),
            GaveUp::Budget { refusal } => f.write_str(refusal),
            GaveUp::NotRepaired { observe: true, .. } => {
                f.write_str("observe mode: recommend only")
            }
            GaveUp::NotRepaired { .. } => f.write_str("no allowed repair"),
            GaveUp::AlreadyPaid { strategy, evidence } => {
                write!(f, "already paid ({evidence}, found by {strategy})")
            }
            GaveUp::Invariant {
                strategy,
                violation,
            } => {
                write!(f, "repair {strategy} refused: {violation}")
            }
            GaveUp::RetryFailed => f.write_str("the caller's retry failed"),
        }
    }
}

impl EventKind {
    /// The end of a run that did not succeed.
    pub fn gave_up(why: GaveUp) -> EventKind {
        EventKind::GaveUp {
            reason: why.to_string(),
            why,
        }
    }
}

impl EventKind {
    /// The stage this event belongs to.
    pub fn stage(&self) -> Stage {
        use EventKind::*;
        match self {
            CallFailed { .. } => Stage::Call,
            Observed { .. }
            | Diagnosed { .. }
            | DiagnoseFailed { .. }
            | Perceived { .. }
            | Predicted { .. }
            | Unrecognised { .. } => Stage::Perceive,
            GeneHit { .. } | GeneMiss { .. } | StoreError { .. } => Stage::Gene,
            Constructed { .. } => Stage::Construct,
            Evaluated { .. } | Blocked { .. } | Recommended { .. } => Stage::Evaluate,
            DryRun { .. }
            | Committing { .. }
            | Committed { .. }
            | CommitFailed { .. }
            | InvariantViolated { .. } => Stage::Commit,
            Verified { .. } | VerifyFailed { .. } => Stage::Verify,
            GeneRecorded { .. } | DiagnosisForgotten { .. } => Stage::Record,
            GaveUp { .. } => Stage::End,
        }
    }
}

/// Receives every event. Must be cheap and must not block: sinks that do I/O
/// hand the event to a queue.
pub trait EventSink: Send + Sync {
    /// Called once per event, in order, from the repairing task.
    fn emit(&self, event: &Event);
}

/// Writes each event as a `tracing` record (target `helix::event`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingSink;

impl EventSink for TracingSink {
    fn emit(&self, e: &Event) {
        match serde_json::to_string(&e.kind) {
            Ok(json) => tracing::info!(
                target: "helix::event",
                repair_id = e.repair_id,
                seq = e.seq,
                stage = ?e.kind.stage(),
                "{json}"
            ),
            Err(err) => tracing::warn!(target: "helix::event", %err, "event not serialisable"),
        }
    }
}

/// Publishes events on a tokio broadcast channel (slow receivers lag, the
/// repair never waits for them).
#[derive(Debug, Clone)]
pub struct BroadcastSink {
    tx: tokio::sync::broadcast::Sender<Event>,
}

impl BroadcastSink {
    /// A channel keeping `capacity` events for slow receivers.
    pub fn new(capacity: usize) -> Self {
        BroadcastSink {
            tx: tokio::sync::broadcast::channel(capacity.max(1)).0,
        }
    }

    /// A new receiver of every later event.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

impl EventSink for BroadcastSink {
    fn emit(&self, e: &Event) {
        // No receivers is not an error: nobody is watching.
        let _ = self.tx.send(e.clone());
    }
}

/// Keeps every event in memory (tests, the demo's per-row report).
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<Event>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the events collected so far.
    pub fn take(&self) -> Vec<Event> {
        self.events
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl EventSink for MemorySink {
    fn emit(&self, e: &Event) {
        if let Ok(mut v) = self.events.lock() {
            v.push(e.clone());
        }
    }
}

/// Sends each event to several sinks.
#[derive(Clone, Default)]
pub struct Fanout(pub Vec<Arc<dyn EventSink>>);

impl EventSink for Fanout {
    fn emit(&self, e: &Event) {
        for s in &self.0 {
            s.emit(e);
        }
    }
}
