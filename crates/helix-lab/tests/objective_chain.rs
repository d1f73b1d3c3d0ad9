//! Objectives on a real chain through a real Temporal server: a plan from
//! the LLM stand-in, validated, run as a workflow whose payments go through
//! Helix on anvil, with faults injected. Balances are read on chain.

use std::sync::Arc;
use std::time::Duration;

use helix_core::{MemoryGeneStore, MemorySink, Mode};
use helix_lab::llm::{Api, LlmStandIn, Reply};
use helix_lab::objective::{EMPTY_FEE, ObjectiveWorld, SHORT};
use helix_lab::temporal::TemporalDev;
use helix_llm::{ApiKey, LlmConfig, ProviderConfig};
use helix_ode::temporal::{ObjectiveRun, Temporal};
use helix_ode::{Actions, Context, Limits, Objective, Planner, payment_key};

/// The plan the stand-in LLM writes for every payee of `world`.
async fn plan(world: &ObjectiveWorld, budget: &str) -> helix_ode::Plan {
    let llm = LlmStandIn::start(
        Api::Anthropic,
        "ak-lab",
        Reply::Text(world.graph().to_string()),
    )
    .await
    .unwrap();
    let cfg = LlmConfig {
        anthropic: Some(ProviderConfig {
            base_url: llm.base_url().to_owned(),
            api_key: ApiKey::new("ak-lab"),
            model: "claude-lab".into(),
            timeout: Duration::from_secs(5),
            max_tokens: 256,
        }),
        openai: None,
    };
    let planner = Planner::from_config(&cfg, Limits::new(&world.held())).unwrap();
    let objective = Objective {
        text: "Pay every contractor their invoice in the currency they asked for.".into(),
        context: Context {
            payees: world.payees.clone(),
            budget_usd: budget.into(),
            mode: Mode::Full,
        },
    };
    planner.plan(&objective).await.unwrap()
}

/// 100 payees in 5 currencies. The agent holds none of one of them (each
/// of those payments needs a swap first), three payments are armed with an
/// empty fee token and two are signed with a long-used nonce. All 100 are paid exactly their invoice, once
/// (read on chain); each repair is learned once and immune afterwards; the
/// total is within the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_payees_in_five_currencies_are_paid_exactly_once() {
    let world = ObjectiveWorld::start(100).await.unwrap();
    let temporal_dev = TemporalDev::start().await.unwrap();
    let plan = plan(&world, "500").await;
    assert_eq!(plan.steps.len(), world.payees.len());
    assert!(plan.total <= plan.budget);

    let genes = Arc::new(MemoryGeneStore::new());
    let helix = world.helix(genes.clone(), Arc::new(MemorySink::default()), Mode::Full);
    let actions: Arc<dyn Actions> = Arc::new(world.actions(helix, true));
    let temporal = Temporal::connect(&temporal_dev.url).await.unwrap();
    let id = "objective-hundred";
    let run = ObjectiveRun {
        plan,
        max_parallel: 4,
        step_timeout_secs: 60,
        max_attempts: 5,
    };
    let objective = async {
        temporal.start(id, run).await.unwrap();
        tokio::time::timeout(Duration::from_secs(600), temporal.report(id))
            .await
            .expect("the objective finishes within 10 minutes")
            .unwrap()
    };
    let report = temporal
        .with_worker(actions.clone(), objective)
        .await
        .unwrap();

    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|(_, s)| s.state != "done")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(report.paid, 100);
    for p in &world.payees {
        let want = helix_ode::amount::parse(&p.amount).unwrap();
        assert_eq!(
            world.received(p).await.unwrap(),
            want,
            "{} was paid its invoice once, in {}",
            p.id,
            p.currency
        );
    }

    // Each fault was repaired; the first time learned, then immune.
    let mut learned = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for s in report.steps.values() {
        let r = s.result.as_ref().unwrap();
        for strategy in &r.repairs {
            let e = learned.entry(strategy.clone()).or_default();
            if r.immune {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
    }
    let short = world.payees.iter().filter(|p| p.currency == SHORT).count();
    assert!(short >= 20, "{short}");
    eprintln!("repairs (constructed, immune): {learned:?}");
    assert!(
        learned.len() >= 3,
        "a swap for {SHORT}, a fee-token switch from {EMPTY_FEE}, a stale nonce's repair: {learned:?}"
    );
    for (strategy, (constructed, immune)) in &learned {
        assert_eq!(*constructed, 1, "{strategy} learned once: {learned:?}");
        assert!(*immune >= 1, "{strategy} immune afterwards: {learned:?}");
    }
    assert!(report.repairs >= short, "{}", report.repairs);
}

/// A step run again (a retried activity, a worker that died after the
/// send) finds its payment on chain by the memo and sends nothing.
#[tokio::test]
async fn a_step_run_twice_pays_once() {
    let world = ObjectiveWorld::start(2).await.unwrap();
    let plan = plan(&world, "100").await;
    let helix = world.helix(
        Arc::new(MemoryGeneStore::new()),
        Arc::new(MemorySink::default()),
        Mode::Full,
    );
    let actions = world.actions(helix, false);
    let since = actions.begin().await.unwrap();
    let step = &plan.steps[0];
    let first = actions.run("twice", step, since).await.unwrap();
    assert!(!first.found_on_chain);
    let again = actions.run("twice", step, since).await.unwrap();
    assert!(again.found_on_chain, "{again:?}");
    assert_eq!(again.tx, first.tx);
    let payee = world
        .payees
        .iter()
        .find(|p| step.id.ends_with(&p.id))
        .unwrap();
    assert_eq!(
        world.received(payee).await.unwrap(),
        helix_ode::amount::parse(&payee.amount).unwrap()
    );
    // Another objective's step is another payment.
    let other = actions.run("another", step, since).await.unwrap();
    assert!(!other.found_on_chain);
    assert_ne!(other.tx, first.tx);
    assert_ne!(
        payment_key("twice", &step.id),
        payment_key("another", &step.id)
    );
}

/// A cancel starts no further step and leaves what landed: the first
/// payment is made, the wait and the payment after it never run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_leaves_what_landed_and_starts_nothing_more() {
    let world = ObjectiveWorld::start(2).await.unwrap();
    let dev = TemporalDev::start().await.unwrap();
    let (first, second) = (&world.payees[0], &world.payees[1]);
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3_600;
    let graph = serde_json::json!({"tasks": [
        {"kind": "pay", "id": "first", "payee": first.id, "amount": first.amount, "currency": first.currency},
        {"kind": "wait_until", "id": "later", "after": ["first"], "at": in_an_hour},
        {"kind": "pay", "id": "second", "after": ["later"], "payee": second.id, "amount": second.amount, "currency": second.currency}
    ]});
    let ctx = Context {
        payees: world.payees.clone(),
        budget_usd: "100".into(),
        mode: Mode::Full,
    };
    let plan = helix_ode::validate(&graph.to_string(), &ctx, &Limits::new(&world.held())).unwrap();
    let helix = world.helix(
        Arc::new(MemoryGeneStore::new()),
        Arc::new(MemorySink::default()),
        Mode::Full,
    );
    let actions: Arc<dyn Actions> = Arc::new(world.actions(helix, false));
    let temporal = Temporal::connect(&dev.url).await.unwrap();
    let id = "objective-cancelled";
    let run = ObjectiveRun {
        plan,
        max_parallel: 2,
        step_timeout_secs: 60,
        max_attempts: 3,
    };
    let objective = async {
        temporal.start(id, run).await.unwrap();
        let t = std::time::Instant::now();
        loop {
            let p = temporal.progress(id).await;
            if p.is_ok_and(|p| p.steps["later"].state == "running") {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the wait never began"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        temporal.cancel(id, "test").await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), temporal.report(id))
            .await
            .expect("a cancelled objective ends")
            .unwrap()
    };
    let report = temporal.with_worker(actions, objective).await.unwrap();
    assert!(report.cancelled, "{report:?}");
    assert_eq!(report.steps["first"].state, "done", "{report:?}");
    assert_eq!(report.steps["later"].state, "cancelled", "{report:?}");
    assert_eq!(report.steps["second"].state, "cancelled", "{report:?}");
    assert_eq!(
        world.received(first).await.unwrap(),
        helix_ode::amount::parse(&first.amount).unwrap(),
        "what landed stays"
    );
    assert_eq!(
        world.received(second).await.unwrap(),
        0,
        "nothing more was paid"
    );
}
