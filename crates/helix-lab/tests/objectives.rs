//! Objectives planned by an LLM (the lab's stand-ins of Anthropic's and
//! OpenAI's APIs, scripted) and validated before anything runs: a good
//! graph becomes a plan, and each malicious graph is refused with the rule
//! it broke.

use std::time::Duration;

use helix_core::Mode;
use helix_lab::llm::{Api, LlmStandIn, Reply};
use helix_llm::{ApiKey, LlmConfig, ProviderConfig};
use helix_ode::{Context, Limits, Objective, Op, Payee, PlanError, Planner};
use serde_json::json;

const CURRENCIES: &[&str] = &["AlphaUSD", "BetaUSD", "ThetaUSD"];

fn provider(base: &str, key: &str, model: &str) -> ProviderConfig {
    ProviderConfig {
        base_url: base.to_string(),
        api_key: ApiKey::new(key),
        model: model.to_string(),
        // Long enough that a stand-in answering on a loaded machine is
        // not taken for a hang.
        timeout: Duration::from_secs(2),
        max_tokens: 256,
    }
}

fn objective(mode: Mode) -> Objective {
    let payee = |i: u8, currency: &str, amount: &str| Payee {
        id: format!("c{i}"),
        address: format!("0x{:040x}", 0xc0 + u32::from(i)),
        currency: currency.into(),
        amount: amount.into(),
    };
    Objective {
        text:
            "Pay the three contractors their invoices in the currency each asked for, at most $500."
                .into(),
        context: Context {
            payees: vec![
                payee(1, "AlphaUSD", "125.50"),
                payee(2, "BetaUSD", "200"),
                payee(3, "ThetaUSD", "99.999999"),
            ],
            budget_usd: "500".into(),
            mode,
        },
    }
}

fn good_graph() -> serde_json::Value {
    json!({"tasks": [
        {"kind": "check_balance", "id": "funds", "currency": "AlphaUSD", "at_least": "125.5"},
        {"kind": "pay", "id": "p1", "after": ["funds"], "payee": "c1", "amount": "125.50", "currency": "AlphaUSD"},
        {"kind": "pay", "id": "p2", "payee": "c2", "amount": "200", "currency": "BetaUSD"},
        {"kind": "pay", "id": "p3", "payee": "c3", "amount": "99.999999", "currency": "ThetaUSD"},
        {"kind": "notify", "id": "done", "after": ["p1", "p2", "p3"], "message": "all three paid"}
    ]})
}

struct Lab {
    anthropic: LlmStandIn,
    openai: LlmStandIn,
    planner: Planner,
}

async fn lab(anthropic: Reply, openai: Reply) -> Lab {
    let anthropic = LlmStandIn::start(Api::Anthropic, "ak-lab", anthropic)
        .await
        .unwrap();
    let openai = LlmStandIn::start(Api::OpenAi, "sk-lab", openai)
        .await
        .unwrap();
    let cfg = LlmConfig {
        anthropic: Some(provider(anthropic.base_url(), "ak-lab", "claude-lab")),
        openai: Some(provider(openai.base_url(), "sk-lab", "gpt-lab")),
    };
    let planner = Planner::from_config(&cfg, Limits::new(CURRENCIES)).unwrap();
    Lab {
        anthropic,
        openai,
        planner,
    }
}

#[tokio::test]
async fn a_good_graph_becomes_a_plan_with_addresses_from_the_context() {
    let l = lab(Reply::Text(good_graph().to_string()), Reply::Error(500)).await;
    let plan = l.planner.plan(&objective(Mode::Auto)).await.unwrap();
    assert_eq!(plan.steps.len(), 5);
    assert_eq!(plan.total, 425_499_999);
    let first = plan.steps.iter().position(|s| s.id == "funds").unwrap();
    let paid = plan.steps.iter().position(|s| s.id == "p1").unwrap();
    assert!(first < paid, "a step comes after what it waits for");
    assert_eq!(plan.steps.last().unwrap().id, "done");
    let Op::Pay { to, amount, .. } = &plan.steps[paid].op else {
        panic!("{:?}", plan.steps[paid]);
    };
    assert_eq!(to, &format!("0x{:040x}", 0xc1));
    assert_eq!(*amount, 125_500_000);
    // The model was told the schema and the rules, and asked once.
    let asked = l.anthropic.requests();
    assert_eq!(asked.len(), 1);
    let system = asked[0]["system"].as_str().unwrap();
    assert!(
        system.contains("\"$schema\"") && system.contains("budget_usd"),
        "{system}"
    );
    assert!(l.openai.requests().is_empty());
}

#[tokio::test]
async fn openai_plans_when_anthropic_is_down() {
    let l = lab(Reply::Error(529), Reply::Text(good_graph().to_string())).await;
    let plan = l.planner.plan(&objective(Mode::Auto)).await.unwrap();
    assert_eq!(plan.steps.len(), 5);
    assert_eq!(l.anthropic.requests().len(), 2, "one retry of an overload");
    assert_eq!(l.openai.requests().len(), 1);

    let down = lab(Reply::Error(500), Reply::Hang).await;
    let err = down.planner.plan(&objective(Mode::Auto)).await.unwrap_err();
    assert!(matches!(err, PlanError::Unavailable(_)), "{err}");
}

/// Each malicious answer, with the rule its refusal must name.
fn malicious() -> Vec<(&'static str, String, &'static str)> {
    let mut g = good_graph();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good_graph();
        f(&mut v);
        v.to_string()
    };
    let invented = with(&|v| {
        v["tasks"][2]["payee"] = json!("mallory");
    });
    let address = with(&|v| {
        v["tasks"][2]["to"] = json!("0x00000000000000000000000000000000deadbeef");
    });
    let doubled = with(&|v| v["tasks"][1]["amount"] = json!("251.00"));
    let cycle = with(&|v| v["tasks"][0]["after"] = json!(["done"]));
    let number = with(&|v| v["tasks"][2]["amount"] = json!(200));
    let twice = with(&|v| {
        let again = v["tasks"][2].clone();
        let mut again = again;
        again["id"] = json!("p2-again");
        v["tasks"].as_array_mut().unwrap().push(again);
    });
    let currency = with(&|v| v["tasks"][2]["currency"] = json!("AlphaUSD"));
    let kind = with(&|v| {
        v["tasks"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kind": "transfer_all", "id": "x", "to": "0xdead"}))
    });
    let dangling = with(&|v| v["tasks"][4]["after"] = json!(["p1", "p9"]));
    g["tasks"][1]["amount"] = json!("125.50");
    let prose = format!("Here is the plan you asked for:\n{g}\nLet me know if you need changes.");
    let fenced = format!("```json\n{g}\n```");
    let duplicate_key = good_graph()
        .to_string()
        .replace(r#""amount":"200","#, r#""amount":"200","amount":"2000","#);
    assert_ne!(duplicate_key, good_graph().to_string());
    vec![
        ("an invented recipient", invented, "payees_from_context"),
        ("an address beside the payee", address, "schema"),
        ("a doubled amount", doubled, "invoice_amount"),
        ("a cycle", cycle, "no_cycles"),
        ("a float amount", number, "schema"),
        ("a payee paid twice", twice, "paid_once"),
        ("another currency than asked", currency, "asked_currency"),
        ("an unknown task kind", kind, "known_kinds"),
        ("a dependency on no task", dangling, "known_dependencies"),
        ("prose around the JSON", prose, "one_json_object"),
        ("a code fence around the JSON", fenced, "one_json_object"),
        ("a key written twice", duplicate_key, "schema"),
    ]
}

#[tokio::test]
async fn every_malicious_graph_is_refused_with_the_rule_it_broke() {
    let l = lab(Reply::Error(500), Reply::Error(500)).await;
    for (what, answer, rule) in malicious() {
        l.anthropic.script([Reply::Text(answer.clone())]);
        let before = l.openai.requests().len();
        match l.planner.plan(&objective(Mode::Auto)).await {
            Err(PlanError::Refused {
                refusal, answer: a, ..
            }) => {
                assert_eq!(refusal.rule(), rule, "{what}: {refusal}");
                assert_eq!(a, answer, "{what}: the answer is kept for the owner");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(
            l.openai.requests().len(),
            before,
            "{what}: a refused graph is not sampled again elsewhere"
        );
    }
}

#[tokio::test]
async fn the_budget_and_the_mode_bound_what_a_graph_may_do() {
    let l = lab(Reply::Text(good_graph().to_string()), Reply::Error(500)).await;
    let mut tight = objective(Mode::Auto);
    tight.context.budget_usd = "425.499998".into();
    let err = l.planner.plan(&tight).await.unwrap_err();
    let PlanError::Refused { refusal, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.rule(), "within_budget", "{refusal}");
    assert!(refusal.to_string().contains("425.499999"), "{refusal}");

    let err = l.planner.plan(&objective(Mode::Observe)).await.unwrap_err();
    let PlanError::Refused { refusal, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.rule(), "mode", "{refusal}");

    let mut swap = good_graph();
    swap["tasks"].as_array_mut().unwrap().push(
        json!({"kind": "swap", "id": "s", "from": "AlphaUSD", "to": "BetaUSD", "amount": "10"}),
    );
    l.anthropic.script([Reply::Text(swap.to_string())]);
    let err = l.planner.plan(&objective(Mode::Auto)).await.unwrap_err();
    let PlanError::Refused { refusal, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.rule(), "mode", "a swap needs full mode: {refusal}");
    l.anthropic.script([Reply::Text(swap.to_string())]);
    let plan = l.planner.plan(&objective(Mode::Full)).await.unwrap();
    assert_eq!(plan.steps.len(), 6);
}
