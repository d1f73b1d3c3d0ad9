//! `helix-lab ode-bench`: what Temporal adds to a payment. The same kind of
//! payment (a TIP-20 transfer with its memo check, through `Helix::run`,
//! on anvil) made N times straight through the worker's actions, then N
//! times as the steps of one objective on a Temporal dev server (one step
//! at a time), in one run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use helix_core::{MemoryGeneStore, MemorySink, Mode};
use helix_lab::objective::{ObjectiveWorld, SHORT};
use helix_lab::temporal::TemporalDev;
use helix_ode::temporal::{ObjectiveRun, Temporal};
use helix_ode::{Actions, Context, Limits};
use serde_json::json;

/// What the bench was asked for.
#[derive(clap::Args)]
pub struct Args {
    /// Payments per arm.
    #[arg(long, default_value_t = 30)]
    pub payments: usize,
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    if a.payments == 0 {
        return Err("--payments must be at least 1".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(bench(a.payments))
}

async fn bench(n: usize) -> Result<ExitCode, String> {
    let e = |e: std::io::Error| e.to_string();
    // Payees in the currencies the agent holds: no repair in either arm.
    let world = ObjectiveWorld::start(2 * n * 5 / 4 + 5).await.map_err(e)?;
    let dev = TemporalDev::start().await.map_err(e)?;
    let mut ctx = Context {
        payees: world
            .payees
            .iter()
            .filter(|p| p.currency != SHORT)
            .take(2 * n)
            .cloned()
            .collect(),
        budget_usd: "100000".into(),
        mode: Mode::Full,
    };
    let graph = |payees: &[helix_ode::Payee]| {
        let tasks: Vec<_> = payees
            .iter()
            .map(|p| json!({"kind": "pay", "id": format!("pay-{}", p.id), "payee": p.id, "amount": p.amount, "currency": p.currency}))
            .collect();
        json!({ "tasks": tasks }).to_string()
    };
    let limits = Limits::new(&world.held());
    let later = ctx.payees.split_off(n);
    let direct_plan =
        helix_ode::validate(&graph(&ctx.payees), &ctx, &limits).map_err(|e| e.to_string())?;
    let ctx_t = Context {
        payees: later,
        ..ctx
    };
    let temporal_plan =
        helix_ode::validate(&graph(&ctx_t.payees), &ctx_t, &limits).map_err(|e| e.to_string())?;

    let helix = world.helix(
        Arc::new(MemoryGeneStore::new()),
        Arc::new(MemorySink::default()),
        Mode::Full,
    );
    let actions: Arc<dyn Actions> = Arc::new(world.actions(helix, false));

    let since = actions.begin().await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    for step in &direct_plan.steps {
        actions
            .run("bench-direct", step, since)
            .await
            .map_err(|e| e.to_string())?;
    }
    let direct = t.elapsed();

    let temporal = Temporal::connect(&dev.url)
        .await
        .map_err(|e| e.to_string())?;
    let through = async {
        let t = Instant::now();
        temporal
            .start(
                "bench-temporal",
                ObjectiveRun {
                    plan: temporal_plan,
                    max_parallel: 1,
                    step_timeout_secs: 60,
                    max_attempts: 3,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let report =
            tokio::time::timeout(Duration::from_secs(600), temporal.report("bench-temporal"))
                .await
                .map_err(|_| "the objective did not finish within 10 minutes".to_owned())?
                .map_err(|e| e.to_string())?;
        Ok::<_, String>((t.elapsed(), report))
    };
    let (via, report) = temporal
        .with_worker(actions.clone(), through)
        .await
        .map_err(|e| e.to_string())??;
    if report.paid != n {
        return Err(format!(
            "{} of {n} paid through Temporal: {report:?}",
            report.paid
        ));
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    let out = json!({
        "payments_per_arm": n,
        "direct_ms_per_payment": (per(direct) * 10.0).round() / 10.0,
        "temporal_ms_per_payment": (per(via) * 10.0).round() / 10.0,
        "ratio": ((per(via) / per(direct)) * 100.0).round() / 100.0,
        "note": "one run; anvil and the Temporal dev server on this machine; Temporal's figure includes starting the workflow and its first activity (the block number)",
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}
