//! The objectives as an operator reads them: Temporal's list of recent
//! runs, each with its task graph and every task's state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde::Serialize;
use temporalio_client::{WorkflowExecutionStatus, WorkflowListOptions};

use super::TASK_QUEUE;
use super::client::{Temporal, TemporalError};
use super::workflow::ObjectiveReport;
use crate::amount;
use crate::validate::Op;

/// One task of the graph with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskView {
    /// Its id in the graph.
    pub id: String,
    /// The tasks it waits for.
    pub after: Vec<String>,
    /// `pay`, `swap`, `wait_until`, `notify` or `check_balance`.
    pub kind: String,
    /// What it does, in words (amounts in whole units).
    pub what: String,
    /// For `wait_until`: the unix second it waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// `pending`, `running`, `done`, `failed`, `blocked` or `cancelled`.
    pub state: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The transaction that made it, when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// The repairs Helix made on the way.
    pub repairs: Vec<String>,
}

/// An objective: Temporal's status and, when a report was read, its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectiveView {
    /// The workflow id.
    pub id: String,
    /// Temporal's status, lower-case (`running`, `completed`, `failed` ...).
    pub status: String,
    /// Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Unix ms, once closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<u64>,
    /// Payment tasks done.
    pub paid: usize,
    /// Repairs made on the way.
    pub repairs: usize,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// In the graph's order.
    pub tasks: Vec<TaskView>,
    /// Why no report could be read (a running objective whose worker does
    /// not answer, say): the objective is listed all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn ms(t: Option<SystemTime>) -> Option<u64> {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn status_name(s: WorkflowExecutionStatus) -> &'static str {
    match s {
        WorkflowExecutionStatus::Running => "running",
        WorkflowExecutionStatus::Completed => "completed",
        WorkflowExecutionStatus::Failed => "failed",
        WorkflowExecutionStatus::Canceled => "canceled",
        WorkflowExecutionStatus::Terminated => "terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "continued_as_new",
        WorkflowExecutionStatus::TimedOut => "timed_out",
        WorkflowExecutionStatus::Paused => "paused",
        _ => "unknown",
    }
}

fn describe(op: &Op) -> (&'static str, String, Option<u64>) {
    match op {
        Op::Pay {
            payee,
            amount: a,
            currency,
            ..
        } => (
            "pay",
            format!("pay {} {currency} to {payee}", amount::format(*a)),
            None,
        ),
        Op::Swap {
            from,
            to,
            amount: a,
        } => (
            "swap",
            format!("buy {} {to} with {from}", amount::format(*a)),
            None,
        ),
        Op::WaitUntil { at } => ("wait_until", "wait".to_owned(), Some(*at)),
        Op::Notify { message } => ("notify", format!("tell the owner: {message}"), None),
        Op::CheckBalance { currency, at_least } => (
            "check_balance",
            format!("hold at least {} {currency}", amount::format(*at_least)),
            None,
        ),
    }
}

/// The report's graph with every task's state.
pub fn tasks(report: &ObjectiveReport) -> Vec<TaskView> {
    report
        .plan
        .iter()
        .map(|s| {
            let (kind, what, until) = describe(&s.op);
            let st = report.steps.get(&s.id);
            TaskView {
                id: s.id.clone(),
                after: s.after.clone(),
                kind: kind.to_owned(),
                what,
                until,
                state: st.map_or_else(|| "pending".to_owned(), |st| st.state.clone()),
                error: st.and_then(|st| st.error.clone()),
                tx: st.and_then(|st| st.result.as_ref()?.tx.clone()),
                repairs: st
                    .and_then(|st| Some(st.result.as_ref()?.repairs.clone()))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

impl Temporal {
    /// The `limit` most recent objectives, newest first, each with its
    /// tasks: a running one's from its `progress` query (bounded by
    /// `query_timeout`; a worker must answer), a closed one's from its
    /// result.
    pub async fn recent(
        &self,
        limit: usize,
        query_timeout: Duration,
    ) -> Result<Vec<ObjectiveView>, TemporalError> {
        let opts = WorkflowListOptions::builder().limit(limit).build();
        let mut listed = self
            .client()
            .list_workflows(format!("TaskQueue = '{TASK_QUEUE}'"), opts);
        let mut runs = Vec::new();
        while let Some(w) = listed.next().await {
            runs.push(w.map_err(|e| TemporalError::Call(e.to_string()))?);
        }
        // Read at once: an objective whose worker does not answer costs the
        // list one timeout, not one each.
        let out = futures::future::join_all(runs.iter().map(|w| async move {
            let status = w.status();
            let read = if status == WorkflowExecutionStatus::Running {
                tokio::time::timeout(query_timeout, self.progress(w.id()))
                    .await
                    .unwrap_or_else(|_| {
                        Err(TemporalError::Call(format!(
                            "no worker answered within {} ms",
                            query_timeout.as_millis()
                        )))
                    })
            } else if status == WorkflowExecutionStatus::Completed {
                self.report(w.id()).await
            } else {
                Err(TemporalError::Call(format!(
                    "the workflow ended {}",
                    status_name(status)
                )))
            };
            let (report, error) = match read {
                Ok(r) => (r, None),
                Err(e) => (ObjectiveReport::default(), Some(e.to_string())),
            };
            ObjectiveView {
                id: w.id().to_owned(),
                status: status_name(status).to_owned(),
                started_at: ms(w.start_time()),
                closed_at: ms(w.close_time()),
                paid: report.paid,
                repairs: report.repairs,
                cancelled: report.cancelled,
                tasks: tasks(&report),
                error,
            }
        }))
        .await;
        Ok(out)
    }
}
