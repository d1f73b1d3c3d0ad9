//! The demo's objective act: ten payees in three currencies, an objective
//! planned by the LLM stand-in, validated, and run on a Temporal dev server
//! with the worker in this process; two faults injected (the agent holds
//! none of one currency, one payment's fee token is empty). Every payee's
//! balance and the memo transfers are read on chain.

use std::sync::Arc;
use std::time::Duration;

use helix_core::{MemoryGeneStore, MemorySink, Mode};
use helix_lab::llm::{Api, LlmStandIn, Reply};
use helix_lab::objective::{ObjectiveWorld, SHORT};
use helix_lab::temporal::TemporalDev;
use helix_llm::{ApiKey, LlmConfig, ProviderConfig};
use helix_ode::temporal::{ObjectiveRun, Temporal};
use helix_ode::{Actions, Context, Limits, Objective, Planner, payment_key};
use serde_json::{Value, json};

const PAYEES: usize = 10;
const WORKFLOW: &str = "demo-objective";

/// The act's element of the demo's JSON array.
pub async fn act() -> Value {
    match run().await {
        Ok(v) => v,
        Err(e) => json!({
            "scenario": "objective", "payees": PAYEES, "paid_exactly_once": 0,
            "repairs": 0, "workflow_id": null, "detail": e,
        }),
    }
}

/// `helix-lab objective-act`: the act alone, its element printed.
pub fn alone() -> Result<std::process::ExitCode, String> {
    let rt = helix_cli::runtime()?;
    let v = rt.block_on(act());
    println!(
        "{}",
        serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
    );
    Ok(if v["paid_exactly_once"] == v["payees"] {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

async fn run() -> Result<Value, String> {
    let mut world = ObjectiveWorld::start(PAYEES)
        .await
        .map_err(|e| format!("anvil: {e}"))?;
    for (i, p) in world.payees.iter_mut().enumerate() {
        p.currency = ["AlphaUSD", SHORT, "pathUSD"][i % 3].to_owned();
    }
    let dev = TemporalDev::start()
        .await
        .map_err(|e| format!("Temporal: {e}"))?;
    let llm = LlmStandIn::start(
        Api::Anthropic,
        "ak-demo",
        Reply::Text(world.graph().to_string()),
    )
    .await
    .map_err(|e| format!("LLM stand-in: {e}"))?;
    let cfg = LlmConfig {
        anthropic: Some(ProviderConfig {
            base_url: llm.base_url().to_owned(),
            api_key: ApiKey::new("ak-demo"),
            model: "claude-stand-in".into(),
            timeout: Duration::from_secs(5),
            max_tokens: 256,
        }),
        openai: None,
    };
    let planner =
        Planner::from_config(&cfg, Limits::new(&world.held())).map_err(|e| e.to_string())?;
    let objective = Objective {
        text: "Pay these ten contractors their invoices, each in the currency they asked for, at most $100.".into(),
        context: Context {
            payees: world.payees.clone(),
            budget_usd: "100".into(),
            mode: Mode::Full,
        },
    };
    let plan = planner.plan(&objective).await.map_err(|e| e.to_string())?;

    let helix = world.helix(
        Arc::new(MemoryGeneStore::new()),
        Arc::new(MemorySink::default()),
        Mode::Full,
    );
    let actions: Arc<dyn Actions> = Arc::new(world.actions(helix, true));
    let temporal = Temporal::connect(&dev.url)
        .await
        .map_err(|e| e.to_string())?;
    let objective_run = async {
        temporal
            .start(
                WORKFLOW,
                ObjectiveRun {
                    plan,
                    max_parallel: 4,
                    step_timeout_secs: 60,
                    max_attempts: 5,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(300), temporal.report(WORKFLOW))
            .await
            .map_err(|_| "the objective did not finish within 5 minutes".to_owned())?
            .map_err(|e| e.to_string())
    };
    let report = temporal
        .with_worker(actions, objective_run)
        .await
        .map_err(|e| e.to_string())??;

    // Exactly once, as the chain says: the invoice received, one transfer
    // carrying the payment's memo.
    let mut once = 0;
    for p in &world.payees {
        let want = helix_ode::amount::parse(&p.amount).map_err(|e| e.to_string())?;
        let got = world.received(p).await.map_err(|e| e.to_string())?;
        let key = payment_key(WORKFLOW, &format!("pay-{}", p.id));
        let memos = world
            .funder
            .memo_transfers(world.agent.address(), helix_tempo::memo_of(&key), 0)
            .await
            .map_err(|e| e.to_string())?;
        once += usize::from(got == want && memos.len() == 1);
    }
    let immune = report
        .steps
        .values()
        .filter_map(|s| s.result.as_ref())
        .filter(|r| r.immune)
        .count();
    Ok(json!({
        "scenario": "objective",
        "payees": PAYEES,
        "paid_exactly_once": once,
        "repairs": report.repairs,
        "immune_repairs": immune,
        "currencies": ["AlphaUSD", SHORT, "pathUSD"],
        "workflow_id": WORKFLOW,
        "chain": "anvil-tempo",
    }))
}
