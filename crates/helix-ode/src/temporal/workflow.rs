//! The objective's workflow: deterministic, it only schedules. Steps whose
//! dependencies are done start (at most `max_parallel` at once); a failed
//! step blocks what depends on it and nothing else; a cancel stops what has
//! not started and leaves what has landed.
#![allow(missing_docs)] // the SDK's macros add items of their own, undocumented

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, TimerResult, WorkflowCancellationToken,
    WorkflowContext, WorkflowContextView, WorkflowResult, workflows::join_all,
};

use super::activities::{OdeActivities, StepInput};
use crate::actions::StepResult;
use crate::validate::{Op, Plan, Step};

/// What the workflow is started with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectiveRun {
    /// The validated plan.
    pub plan: Plan,
    /// Steps running at once, at most.
    pub max_parallel: usize,
    /// One attempt of a step, at most (seconds).
    pub step_timeout_secs: u64,
    /// Attempts of a step, at most.
    pub max_attempts: u32,
}

/// A step's state, as `helix ode status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    /// `pending`, `running`, `done`, `failed`, `blocked` (a step it waits
    /// for failed) or `cancelled`.
    pub state: String,
    /// What it did, when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<StepResult>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The workflow's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveReport {
    /// Every step's state.
    pub steps: BTreeMap<String, StepState>,
    /// Payment steps done.
    pub paid: usize,
    /// Repairs made on the way.
    pub repairs: usize,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// The task graph it runs (so a reader can draw it).
    #[serde(default)]
    pub plan: Vec<Step>,
}

/// The objective's workflow.
#[workflow]
#[derive(Default)]
pub struct ObjectiveWorkflow {
    report: ObjectiveReport,
    running: usize,
}

fn state_of(w: &ObjectiveWorkflow, id: &str) -> String {
    w.report
        .steps
        .get(id)
        .map_or_else(|| "blocked".to_owned(), |s| s.state.clone())
}

#[workflow_methods]
impl ObjectiveWorkflow {
    /// Runs the plan.
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: ObjectiveRun,
    ) -> WorkflowResult<ObjectiveReport> {
        let objective = ctx.workflow_id().to_owned();
        let steps = &input.plan.steps;
        ctx.state_mut(|w| {
            w.report.plan = steps.clone();
            for s in steps {
                w.report.steps.insert(
                    s.id.clone(),
                    StepState {
                        state: "pending".into(),
                        ..StepState::default()
                    },
                );
            }
        });
        let retry = RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(10))
            .maximum_attempts(input.max_attempts.max(1))
            .build();
        let mut opts = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(
            input.step_timeout_secs.max(1),
        ))
        .retry_policy(retry)
        .build();
        opts.heartbeat_timeout = Some(super::activities::HEARTBEAT_EVERY * 3);
        // A cancel of the objective does not reach a step already running:
        // a payment under way finishes, and its true outcome is reported.
        opts.cancellation_token = Some(WorkflowCancellationToken::new());

        let mut begin = opts.clone();
        begin.activity_id = Some("begin".into());
        let since_block = ctx
            .execute_activity(OdeActivities::begin, objective.clone(), begin)
            .await?;

        // One future per step, driven by the SDK's deterministic join_all
        // (a FuturesUnordered wakes outside the SDK and trips its
        // nondeterminism detector); dependencies and the bound on parallel
        // steps go through the workflow's state and wait_condition.
        let max_parallel = input.max_parallel.max(1);
        let futs = steps.iter().map(|s| {
            let ctx = ctx.clone();
            let mut o = opts.clone();
            o.activity_id = Some(format!("step-{}", s.id));
            let arg = StepInput {
                objective: objective.clone(),
                step: s.clone(),
                since_block,
            };
            let (id, after, op) = (s.id.clone(), s.after.clone(), s.op.clone());
            async move {
                let deps = |w: &ObjectiveWorkflow| -> Vec<String> {
                    after.iter().map(|a| state_of(w, a)).collect()
                };
                let settled = |d: &String| d != "pending" && d != "running";
                // Workflow cancel ends this wait: the step never starts.
                let ready = ctx
                    .wait_condition(|w| {
                        let ds = deps(w);
                        ds.iter().any(|d| settled(d) && d != "done")
                            || (ds.iter().all(|d| d == "done") && w.running < max_parallel)
                    })
                    .await;
                let end = |state: &str, result: Option<StepResult>, error: Option<String>| {
                    ctx.state_mut(|w| {
                        let st = w.report.steps.entry(id.clone()).or_default();
                        st.state = state.to_owned();
                        st.error = error;
                        if let Some(r) = result {
                            w.report.repairs += r.repairs.len();
                            w.report.paid += usize::from(matches!(op, Op::Pay { .. }));
                            st.result = Some(r);
                        }
                    })
                };
                if ready.is_err() {
                    return end("cancelled", None, None);
                }
                if ctx.state(|w| deps(w).iter().any(|d| d != "done")) {
                    // What waited on a cancelled step is cancelled with it.
                    if ctx.state(|w| deps(w).iter().any(|d| d == "cancelled")) {
                        return end("cancelled", None, None);
                    }
                    return end(
                        "blocked",
                        None,
                        Some("a step it waits for did not finish".into()),
                    );
                }
                ctx.state_mut(|w| {
                    w.running += 1;
                    if let Some(st) = w.report.steps.get_mut(&id) {
                        st.state = "running".into();
                    }
                });
                let out = if let Op::WaitUntil { at } = op {
                    // A durable timer: it survives workers and restarts.
                    let now = ctx
                        .workflow_time()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    match ctx.timer(Duration::from_secs(at.saturating_sub(now))).await {
                        TimerResult::Fired => Ok(StepResult::default()),
                        TimerResult::Cancelled => Err(("cancelled".to_owned(), true)),
                    }
                } else {
                    ctx.execute_activity(OdeActivities::step, arg, o)
                        .await
                        .map_err(|e| {
                            let cancel = matches!(e, ActivityExecutionError::Cancelled(_));
                            (e.to_string(), cancel)
                        })
                };
                ctx.state_mut(|w| w.running -= 1);
                match out {
                    Ok(r) => end("done", Some(r), None),
                    Err((why, true)) => end("cancelled", None, Some(why)),
                    Err((why, false)) => end("failed", None, Some(why)),
                }
            }
        });
        join_all(futs).await;
        let cancelled = ctx.state(|w| w.report.steps.values().any(|s| s.state == "cancelled"));
        if cancelled {
            tracing::info!(target: "helix::ode", %objective, "cancelled: steps not started were left");
        }
        ctx.state_mut(|w| w.report.cancelled = cancelled);
        Ok(ctx.state(|w| w.report.clone()))
    }

    /// Every step's state now.
    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> ObjectiveReport {
        self.report.clone()
    }
}
