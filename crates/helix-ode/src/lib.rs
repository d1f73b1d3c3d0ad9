//! # helix-ode
//!
//! Objectives in plain language, run as durable task graphs. A person or an
//! agent states an objective ("pay these contractors their invoices in the
//! currency each asked for, at most $5,000 in total") with its context (the
//! payees, a budget, a mode). An LLM turns it into one JSON task graph
//! ([`graph::SCHEMA`]); Helix validates it before anything runs
//! ([`validate::validate`]): an LLM may never invent a recipient, change an
//! amount or exceed the budget. The plan then runs on Temporal, each
//! payment wrapped in PCEC.

#![warn(missing_docs)]

pub mod actions;
pub mod amount;
pub mod graph;
pub mod planner;
pub mod tempo;
pub mod temporal;
pub mod validate;

pub use actions::{ActionError, Actions, StepResult, payment_key};
pub use graph::{Context, Objective, Payee, Task, TaskGraph};
pub use planner::{PlanError, Planner};
pub use validate::{Limits, Op, Plan, Refusal, Step, validate};
