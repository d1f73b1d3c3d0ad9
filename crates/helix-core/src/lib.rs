//! # helix-core
//!
//! The heart of Helix, a self-healing runtime for AI-agent payments: the one
//! failure taxonomy, the typed evidence ([`ErrorSignal`]), classification
//! results ([`Failure`]), repairs ([`Candidate`], [`Patch`]), genes, events,
//! and the PCEC engine ([`Helix`]) that ties them together.
//!
//! This crate does no network and no database I/O. Platforms plug in through
//! [`Adapter`] (pure classification), [`Probe`] (facts gathered before
//! classification), [`Executor`] (the only place a repair acts),
//! [`GeneStore`] and [`EventSink`]. See `helix-adapters`, `helix-genemap` and
//! `helix-http` for the implementations Helix ships.
//!
//! The loop, for a call that failed:
//!
//! 1. **Perceive**: adapters classify the [`ErrorSignal`] into a [`Failure`]
//!    (code, category, severity, platform). Unknown stays unknown.
//!    A signal no adapter recognises goes to the [`Diagnoser`] (an LLM),
//!    once per kind of failure; its checked answer is remembered.
//! 2. **Gene**: a live gene for (code, category) whose strategy the mode
//!    allows is committed at once (immunity), skipping construct.
//! 3. **Construct / Evaluate**: adapters propose [`Candidate`]s; they are
//!    ranked and filtered by mode, ceiling, budget and what already failed.
//! 4. **Commit**: the strategy acts and returns [`Patch`]es, which are
//!    checked against the request's invariants and applied.
//! 5. **Verify**: the call is retried; **Gene**: the outcome is recorded.

#![warn(missing_docs)]

mod advice;
mod amount;
pub mod diagnose;
mod engine;
mod evaluate;
pub mod event;
mod failure;
pub mod fnv;
pub mod gene;
mod need;
mod patch;
pub mod policy;
pub mod replay;
mod rpc_fault;
pub mod sent;
pub mod signal;
pub mod taxonomy;
mod traits;
pub mod wallet_lock;

pub use advice::{Advice, Ahead, CommittedRepair, Ticket};
pub use diagnose::{DiagnoseError, Diagnoser, Diagnosis};
pub use engine::{Forecast, Helix, HelixBuilder, HelixError, RepairStep, Report, Wrapped};
pub use evaluate::rank;
pub use event::{
    BlockReason, BroadcastSink, Event, EventKind, EventSink, Fanout, GaveUp, MemorySink, Stage,
    TracingSink,
};
pub use failure::{Candidate, CandidateSource, Evidence, Failure, GeneKey};
pub use gene::{Gene, GeneSource, GeneVersion, Outcome};
pub use need::Need;
pub use patch::{
    Patch, PaymentView, Refused, Repairable, Violation, check_invariants, check_patches,
};
pub use policy::{Budget, BudgetError, BudgetStatus, MemoryBudget, Policy, Reservation};
pub use rpc_fault::RpcFault;
pub use signal::{ErrorSignal, Facts, IntoSignal, TransportKind};
pub use taxonomy::{Category, FailureCode, Mode, Platform, Severity, StrategyId};
pub use traits::{
    Adapter, CommitCtx, CommitError, Committed, Executor, GeneStore, MemoryGeneStore, Probe,
    StoreError,
};
pub use wallet_lock::{LockError, MemoryWalletLocks, WalletGuard, WalletLocks};
