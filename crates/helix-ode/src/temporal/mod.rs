//! The plan as a Temporal workflow: each step an activity, independent
//! steps in parallel (bounded), dependent ones in order; `wait_until` is a
//! durable timer. Temporal keeps the workflow's progress; the payment's
//! idempotency key (the workflow id and the step id) and the memo it
//! carries on chain keep a retried activity from paying twice.

mod activities;
mod client;
mod listing;
mod workflow;

pub use activities::OdeActivities;
pub use client::{Temporal, TemporalError};
pub use listing::{ObjectiveView, TaskView, tasks};
pub use workflow::{ObjectiveReport, ObjectiveRun, ObjectiveWorkflow, StepState};

/// The task queue objectives run on.
pub const TASK_QUEUE: &str = "helix-objectives";
