//! Every rule a graph must keep before anything runs. A refused graph says
//! which rule it broke; nothing of it runs.
//!
//! The rules: the published schema (shape, known task kinds, no unknown
//! fields), bounded size, unique ids, known dependencies and no cycles,
//! payees only from the context (the graph names a payee; the address comes
//! from the context, so an LLM cannot invent a recipient), amounts positive
//! and exact, each payee paid exactly its invoice in the currency it asked
//! for and at most once, the total within the budget, and the mode allowing
//! every task.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use helix_core::Mode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::amount::{self, AmountError};
use crate::graph::{Context, KINDS, Task, TaskGraph};

/// Bounds and the agent's facts a graph is checked against.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Tasks in one graph, at most.
    pub max_tasks: usize,
    /// The currencies the agent holds, by the names a graph uses.
    pub currencies: Vec<String>,
}

impl Limits {
    /// At most 1,000 tasks, in these currencies.
    pub fn new(currencies: &[&str]) -> Self {
        Limits {
            max_tasks: 1_000,
            currencies: currencies.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// Why a graph (or its context) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The answer is not one JSON object and nothing else.
    #[error("not one JSON object: {0}")]
    NotOneObject(String),
    /// A task kind Helix does not run.
    #[error("task {task}: unknown kind `{kind}` (known: {})", KINDS.join(", "))]
    UnknownKind {
        /// The task's position or id.
        task: String,
        /// As written.
        kind: String,
    },
    /// The graph does not have the published schema's shape.
    #[error("schema: {0}")]
    Schema(String),
    /// No tasks.
    #[error("the graph has no tasks")]
    Empty,
    /// More tasks than allowed.
    #[error("{tasks} tasks: at most {max}")]
    TooLarge {
        /// In the graph.
        tasks: usize,
        /// Allowed.
        max: usize,
    },
    /// An id that is empty, too long or has other characters than
    /// letters, digits and `_.:-`.
    #[error("task id `{0}`: 1 to 64 of letters, digits and _.:-")]
    BadId(String),
    /// Two tasks with one id.
    #[error("task id `{0}` is used twice")]
    DuplicateId(String),
    /// A dependency on no task.
    #[error("task {task}: depends on `{after}`, which is no task")]
    UnknownDependency {
        /// The task.
        task: String,
        /// The missing one.
        after: String,
    },
    /// Tasks that wait on each other.
    #[error("a cycle among tasks {}", .0.join(", "))]
    Cycle(Vec<String>),
    /// A payee the context does not list.
    #[error("task {task}: payee `{payee}` is not in the objective's context")]
    UnknownPayee {
        /// The task.
        task: String,
        /// As named.
        payee: String,
    },
    /// An amount that is not exact, not positive or not a decimal.
    #[error("task {task}: {reason}")]
    Amount {
        /// The task.
        task: String,
        /// Why.
        reason: AmountError,
    },
    /// A payment that differs from the payee's invoice.
    #[error("task {task}: pays {payee} {amount}, the invoice is {invoice}")]
    NotTheInvoice {
        /// The task.
        task: String,
        /// The payee.
        payee: String,
        /// As written.
        amount: String,
        /// From the context.
        invoice: String,
    },
    /// A payment in another currency than the payee asked for.
    #[error("task {task}: pays {payee} in {currency}, who asked for {asked}")]
    WrongCurrency {
        /// The task.
        task: String,
        /// The payee.
        payee: String,
        /// As written.
        currency: String,
        /// From the context.
        asked: String,
    },
    /// A currency the agent does not hold.
    #[error("task {task}: currency `{currency}` is not one the agent holds")]
    UnknownCurrency {
        /// The task.
        task: String,
        /// As written.
        currency: String,
    },
    /// One payee in two payment tasks.
    #[error("payee {payee} is paid by two tasks: {first} and {second}")]
    PaidTwice {
        /// The payee.
        payee: String,
        /// One task.
        first: String,
        /// The other.
        second: String,
    },
    /// The payments come to more than the budget.
    #[error("the payments come to {total} USD, over the budget of {budget} USD")]
    OverBudget {
        /// All payments.
        total: String,
        /// The context's.
        budget: String,
    },
    /// A task the mode does not allow.
    #[error("task {task}: a {kind} task is not allowed in {mode} mode")]
    Mode {
        /// The task.
        task: String,
        /// Its kind.
        kind: &'static str,
        /// The context's.
        mode: Mode,
    },
    /// The context itself cannot be used.
    #[error("context: {0}")]
    Context(String),
}

impl Refusal {
    /// The rule broken, as a short stable name (for APIs and tests).
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::NotOneObject(_) => "one_json_object",
            Refusal::UnknownKind { .. } => "known_kinds",
            Refusal::Schema(_) => "schema",
            Refusal::Empty | Refusal::TooLarge { .. } => "bounded_size",
            Refusal::BadId(_) | Refusal::DuplicateId(_) => "unique_ids",
            Refusal::UnknownDependency { .. } => "known_dependencies",
            Refusal::Cycle(_) => "no_cycles",
            Refusal::UnknownPayee { .. } => "payees_from_context",
            Refusal::Amount { .. } => "exact_positive_amounts",
            Refusal::NotTheInvoice { .. } => "invoice_amount",
            Refusal::WrongCurrency { .. } => "asked_currency",
            Refusal::UnknownCurrency { .. } => "held_currency",
            Refusal::PaidTwice { .. } => "paid_once",
            Refusal::OverBudget { .. } => "within_budget",
            Refusal::Mode { .. } => "mode",
            Refusal::Context(_) => "context",
        }
    }
}

/// A validated task: what runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Unique within the plan.
    pub id: String,
    /// Steps that finish first.
    pub after: Vec<String>,
    /// What it does.
    pub op: Op,
}

/// What a step does, with amounts in base units and recipients from the
/// context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// Pay a payee of the context.
    Pay {
        /// The payee's id.
        payee: String,
        /// The payee's address, from the context.
        to: String,
        /// Base units.
        #[serde(with = "crate::amount::units")]
        amount: u128,
        /// The currency's name.
        currency: String,
    },
    /// Buy `amount` of `to` with `from`.
    Swap {
        /// Sold.
        from: String,
        /// Bought.
        to: String,
        /// Base units bought.
        #[serde(with = "crate::amount::units")]
        amount: u128,
    },
    /// Wait until this unix second.
    WaitUntil {
        /// Unix seconds.
        at: u64,
    },
    /// A message for the owner.
    Notify {
        /// The message.
        message: String,
    },
    /// Stop unless the agent holds at least this much.
    CheckBalance {
        /// The currency's name.
        currency: String,
        /// Base units.
        #[serde(with = "crate::amount::units")]
        at_least: u128,
    },
}

/// A graph that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// In an order where every step comes after what it waits for.
    pub steps: Vec<Step>,
    /// All payments, base units.
    #[serde(with = "crate::amount::units")]
    pub total: u128,
    /// The budget, base units.
    #[serde(with = "crate::amount::units")]
    pub budget: u128,
    /// The mode every payment runs in.
    pub mode: Mode,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

fn is_address(a: &str) -> bool {
    a.len() == 42 && a.starts_with("0x") && a[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The JSON object an answer is: the whole answer, whitespace aside. Prose
/// or a code fence around it is refused, as the LLM fallback refuses it:
/// a model not keeping to the format is not trusted with the content.
pub fn json_of(answer: &str) -> Result<&str, Refusal> {
    let t = answer.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return Err(Refusal::NotOneObject(
            "the answer has text around the JSON object".into(),
        ));
    }
    Ok(t)
}

/// Checks an answer (one task graph as JSON) against every rule; the plan
/// to run, or the first rule broken.
pub fn validate(answer: &str, ctx: &Context, limits: &Limits) -> Result<Plan, Refusal> {
    let text = json_of(answer)?;
    let graph: Value =
        serde_json::from_str(text).map_err(|e| Refusal::NotOneObject(e.to_string()))?;
    let budget =
        amount::parse(&ctx.budget_usd).map_err(|e| Refusal::Context(format!("budget_usd: {e}")))?;
    let mut payees = HashMap::new();
    for p in &ctx.payees {
        if !is_address(&p.address) {
            return Err(Refusal::Context(format!(
                "payee {}: `{}` is not an address",
                p.id, p.address
            )));
        }
        amount::parse(&p.amount).map_err(|e| Refusal::Context(format!("payee {}: {e}", p.id)))?;
        if payees.insert(p.id.as_str(), p).is_some() {
            return Err(Refusal::Context(format!(
                "payee id {} is listed twice",
                p.id
            )));
        }
    }

    // Kinds first: an unknown kind is named as such, not as a shape error.
    let tasks = graph
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Refusal::Schema("the graph must be an object with a `tasks` array".into())
        })?;
    if tasks.is_empty() {
        return Err(Refusal::Empty);
    }
    if tasks.len() > limits.max_tasks {
        return Err(Refusal::TooLarge {
            tasks: tasks.len(),
            max: limits.max_tasks,
        });
    }
    for (i, t) in tasks.iter().enumerate() {
        let kind = t.get("kind").and_then(Value::as_str).unwrap_or("");
        if !KINDS.contains(&kind) {
            let task = t
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{}", i + 1), str::to_owned);
            return Err(Refusal::UnknownKind {
                task,
                kind: kind.to_owned(),
            });
        }
    }
    // From the text, not the parsed value: a key written twice (a second
    // `amount`) is an error here, where a JSON value keeps the last.
    let graph: TaskGraph =
        serde_json::from_str(text).map_err(|e| Refusal::Schema(e.to_string()))?;

    let mut ids = BTreeSet::new();
    for t in &graph.tasks {
        if !valid_id(t.id()) {
            return Err(Refusal::BadId(t.id().to_owned()));
        }
        if !ids.insert(t.id()) {
            return Err(Refusal::DuplicateId(t.id().to_owned()));
        }
    }
    for t in &graph.tasks {
        if let Some(a) = t.after().iter().find(|a| !ids.contains(a.as_str())) {
            return Err(Refusal::UnknownDependency {
                task: t.id().to_owned(),
                after: a.clone(),
            });
        }
    }
    let order = topological(&graph.tasks)?;

    let held = |task: &str, c: &str| {
        if limits.currencies.iter().any(|h| h == c) {
            Ok(())
        } else {
            Err(Refusal::UnknownCurrency {
                task: task.to_owned(),
                currency: c.to_owned(),
            })
        }
    };
    let exact = |task: &str, a: &str| {
        amount::parse(a).map_err(|reason| Refusal::Amount {
            task: task.to_owned(),
            reason,
        })
    };
    let mut paid: BTreeMap<&str, &str> = BTreeMap::new();
    let mut total: u128 = 0;
    let mut steps = Vec::with_capacity(order.len());
    for i in order {
        let t = &graph.tasks[i];
        let id = t.id();
        let allowed = match t {
            Task::Pay { .. } => ctx.mode >= Mode::Auto,
            Task::Swap { .. } => ctx.mode >= Mode::Full,
            _ => true,
        };
        if !allowed {
            return Err(Refusal::Mode {
                task: id.to_owned(),
                kind: t.kind(),
                mode: ctx.mode,
            });
        }
        let op = match t {
            Task::Pay {
                payee,
                amount,
                currency,
                ..
            } => {
                let p = payees
                    .get(payee.as_str())
                    .ok_or_else(|| Refusal::UnknownPayee {
                        task: id.to_owned(),
                        payee: payee.clone(),
                    })?;
                let units = exact(id, amount)?;
                if units != amount::parse(&p.amount).unwrap_or(0) {
                    return Err(Refusal::NotTheInvoice {
                        task: id.to_owned(),
                        payee: payee.clone(),
                        amount: amount.clone(),
                        invoice: p.amount.clone(),
                    });
                }
                if *currency != p.currency {
                    return Err(Refusal::WrongCurrency {
                        task: id.to_owned(),
                        payee: payee.clone(),
                        currency: currency.clone(),
                        asked: p.currency.clone(),
                    });
                }
                held(id, currency)?;
                if let Some(first) = paid.insert(p.id.as_str(), id) {
                    return Err(Refusal::PaidTwice {
                        payee: payee.clone(),
                        first: first.to_owned(),
                        second: id.to_owned(),
                    });
                }
                total = total.saturating_add(units);
                Op::Pay {
                    payee: payee.clone(),
                    to: p.address.clone(),
                    amount: units,
                    currency: currency.clone(),
                }
            }
            Task::Swap {
                from, to, amount, ..
            } => {
                held(id, from)?;
                held(id, to)?;
                if from == to {
                    return Err(Refusal::Schema(format!(
                        "task {id}: swaps {from} for itself"
                    )));
                }
                Op::Swap {
                    from: from.clone(),
                    to: to.clone(),
                    amount: exact(id, amount)?,
                }
            }
            Task::WaitUntil { at, .. } => Op::WaitUntil { at: *at },
            Task::Notify { message, .. } => {
                if message.chars().count() > 500 {
                    return Err(Refusal::Schema(format!(
                        "task {id}: a message has at most 500 characters"
                    )));
                }
                Op::Notify {
                    message: message.clone(),
                }
            }
            Task::CheckBalance {
                currency, at_least, ..
            } => {
                held(id, currency)?;
                Op::CheckBalance {
                    currency: currency.clone(),
                    at_least: exact(id, at_least)?,
                }
            }
        };
        steps.push(Step {
            id: id.to_owned(),
            after: t.after().to_vec(),
            op,
        });
    }
    if total > budget {
        return Err(Refusal::OverBudget {
            total: amount::format(total),
            budget: amount::format(budget),
        });
    }
    Ok(Plan {
        steps,
        total,
        budget,
        mode: ctx.mode,
    })
}

/// The tasks in an order where each follows what it waits for (Kahn), or
/// the tasks caught in a cycle.
fn topological(tasks: &[Task]) -> Result<Vec<usize>, Refusal> {
    let index: HashMap<&str, usize> = tasks.iter().enumerate().map(|(i, t)| (t.id(), i)).collect();
    let mut waiting: Vec<usize> = tasks.iter().map(|t| t.after().len()).collect();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        for a in t.after() {
            next[index[a.as_str()]].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..tasks.len()).filter(|&i| waiting[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &n in &next[i] {
            waiting[n] -= 1;
            if waiting[n] == 0 {
                ready.push(n);
            }
        }
    }
    if order.len() < tasks.len() {
        let stuck = (0..tasks.len())
            .filter(|i| waiting[*i] > 0)
            .map(|i| tasks[i].id().to_owned())
            .collect();
        return Err(Refusal::Cycle(stuck));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan goes through Temporal as a JSON value, which holds no 128-bit
    /// integers: amounts travel as strings and come back exact.
    #[test]
    fn a_plan_survives_a_json_value_round_trip() {
        let plan = Plan {
            steps: vec![Step {
                id: "p".into(),
                after: vec![],
                op: Op::Pay {
                    payee: "c".into(),
                    to: format!("0x{:040x}", 1),
                    amount: u128::from(u64::MAX) * 3,
                    currency: "AlphaUSD".into(),
                },
            }],
            total: u128::from(u64::MAX) * 3,
            budget: u128::MAX,
            mode: Mode::Full,
        };
        let value = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            value["total"],
            serde_json::json!((u128::from(u64::MAX) * 3).to_string())
        );
        let back: Plan = serde_json::from_value(value).unwrap();
        assert_eq!(back, plan);
    }
}
