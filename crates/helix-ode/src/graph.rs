//! The task graph an LLM writes for an objective, as it writes it (before
//! validation), and the context it must keep to.
//!
//! Its JSON Schema is published as [`SCHEMA`] (`assets/task-graph.schema.json`,
//! served at `GET /v1/objectives/schema`); [`crate::validate`] holds every
//! graph to it and to the rules a schema cannot say.

use serde::{Deserialize, Serialize};

use helix_core::Mode;

/// The JSON Schema of a task graph (draft 2020-12).
pub const SCHEMA: &str = include_str!("../assets/task-graph.schema.json");

/// The task kinds Helix runs. Anything else is refused.
pub const KINDS: &[&str] = &["pay", "swap", "wait_until", "notify", "check_balance"];

/// A graph as written: tasks and their dependencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskGraph {
    /// The tasks, in any order.
    pub tasks: Vec<Task>,
}

/// One task. `after` names the tasks that must finish first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Task {
    /// Pay a payee of the context.
    Pay {
        /// Unique within the graph.
        id: String,
        /// Tasks that must finish first.
        #[serde(default)]
        after: Vec<String>,
        /// A payee id from the context (never an address).
        payee: String,
        /// A decimal string (`"125.50"`).
        amount: String,
        /// A currency the agent holds (`"AlphaUSD"`).
        currency: String,
    },
    /// Exchange one stablecoin for another on the DEX.
    Swap {
        /// Unique within the graph.
        id: String,
        /// Tasks that must finish first.
        #[serde(default)]
        after: Vec<String>,
        /// Sold.
        from: String,
        /// Bought.
        to: String,
        /// Bought, a decimal string.
        amount: String,
    },
    /// Wait until a time.
    WaitUntil {
        /// Unique within the graph.
        id: String,
        /// Tasks that must finish first.
        #[serde(default)]
        after: Vec<String>,
        /// Unix seconds.
        at: u64,
    },
    /// Tell the objective's owner something (kept in the objective's log).
    Notify {
        /// Unique within the graph.
        id: String,
        /// Tasks that must finish first.
        #[serde(default)]
        after: Vec<String>,
        /// At most 500 characters.
        message: String,
    },
    /// Stop unless the agent holds at least this much.
    CheckBalance {
        /// Unique within the graph.
        id: String,
        /// Tasks that must finish first.
        #[serde(default)]
        after: Vec<String>,
        /// A currency the agent holds.
        currency: String,
        /// A decimal string.
        at_least: String,
    },
}

impl Task {
    /// The task's id.
    pub fn id(&self) -> &str {
        match self {
            Task::Pay { id, .. }
            | Task::Swap { id, .. }
            | Task::WaitUntil { id, .. }
            | Task::Notify { id, .. }
            | Task::CheckBalance { id, .. } => id,
        }
    }

    /// What must finish first.
    pub fn after(&self) -> &[String] {
        match self {
            Task::Pay { after, .. }
            | Task::Swap { after, .. }
            | Task::WaitUntil { after, .. }
            | Task::Notify { after, .. }
            | Task::CheckBalance { after, .. } => after,
        }
    }

    /// The kind, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::Pay { .. } => "pay",
            Task::Swap { .. } => "swap",
            Task::WaitUntil { .. } => "wait_until",
            Task::Notify { .. } => "notify",
            Task::CheckBalance { .. } => "check_balance",
        }
    }
}

/// Who may be paid: the only recipients a graph can name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payee {
    /// How the graph names the payee.
    pub id: String,
    /// Where the money goes (an address the agent's owner gave).
    pub address: String,
    /// The currency the payee asked for.
    pub currency: String,
    /// The invoice, a decimal string: a payment must be exactly this.
    pub amount: String,
}

/// What an objective may use: the payees, the budget and the mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The payees.
    pub payees: Vec<Payee>,
    /// The most all payments together may come to, USD (a decimal
    /// string; the stablecoins are taken at par).
    pub budget_usd: String,
    /// How far Helix may go: `observe` runs nothing that moves money,
    /// `auto` makes the payments asked for, `full` also swaps.
    pub mode: Mode,
}

/// An objective as a person or an agent states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// In plain language.
    pub text: String,
    /// What it may use.
    pub context: Context,
}
