//! The intent server and the worker as a user runs them: `helix ode serve`
//! with the LLM stand-in, `helix ode worker` against a real Temporal dev
//! server and anvil. A malicious graph is refused and nothing starts; a
//! good one runs; the worker is killed (SIGKILL) mid-run and another takes
//! over; every payee is paid exactly once, read on chain.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helix_core::Mode;
use helix_lab::llm::{Api, LlmStandIn, Reply};
use helix_lab::objective::ObjectiveWorld;
use helix_lab::temporal::TemporalDev;
use helix_ode::temporal::Temporal;
use helix_ode::{Context, Objective};
use helix_tempo::Wallet;
use serde_json::{Value, json};

use crate::common::{SERVE_TOKEN, Server, get_json, serve_cmd, start};

const TOKEN: &str = "ode-test-token-0123456789";

fn worker(world: &ObjectiveWorld, temporal: &str, key: &std::path::Path, db: &str) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args([
        "ode",
        "worker",
        "--temporal",
        temporal,
        "--rpc",
        &world.chain.url,
    ])
    .arg("--key-file")
    .arg(key)
    .args(["--db", db, "--mode", "full", "--fee-token", "AlphaUSD"])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (name, addr) in &world.tokens {
        cmd.args(["--token", &format!("{name}={addr}")]);
    }
    Server(cmd.spawn().unwrap())
}

fn serve(temporal: &str, llm: &str, currencies: &str) -> (Server, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args([
        "ode",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--temporal",
        temporal,
    ])
    .args(["--currencies", currencies])
    .env("HELIX_ODE_TOKEN", TOKEN)
    .env("ANTHROPIC_API_KEY", "ak-lab")
    .env("ANTHROPIC_BASE_URL", llm)
    .env_remove("OPENAI_API_KEY");
    start(cmd, "intent server on ", true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_taken_over_and_every_payee_is_paid_once() {
    let dir = tempfile::tempdir().unwrap();
    let key_hex = format!(
        "0x{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let key = dir.path().join("agent.key");
    std::fs::write(&key, &key_hex).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let world = ObjectiveWorld::start_with(12, Wallet::from_hex(&key_hex).unwrap())
        .await
        .unwrap();
    let dev = TemporalDev::start().await.unwrap();
    let db = dir.path().join("genes.db").display().to_string();
    let llm = LlmStandIn::start(Api::Anthropic, "ak-lab", Reply::Error(500))
        .await
        .unwrap();
    let (_server, base) = serve(&dev.url, llm.base_url(), &world.held().join(","));
    let http = reqwest::Client::new();
    let objective = Objective {
        text: "Pay the twelve contractors their invoices, each in the currency asked for.".into(),
        context: Context {
            payees: world.payees.clone(),
            budget_usd: "100".into(),
            mode: Mode::Full,
        },
    };
    let submit = |id: &str| {
        let mut body = serde_json::to_value(&objective).unwrap();
        body["id"] = json!(id);
        http.post(format!("{base}/v1/objectives"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };

    // A graph paying an invented recipient: refused, nothing starts.
    let mut evil = world.graph();
    evil["tasks"][0]["payee"] = json!("mallory");
    llm.script([Reply::Text(evil.to_string())]);
    let refused = submit("evil").await.unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["rule"], "payees_from_context", "{body}");
    let temporal = Temporal::connect(&dev.url).await.unwrap();
    assert!(
        temporal.progress("evil").await.is_err(),
        "no workflow was started"
    );
    let anonymous = http
        .post(format!("{base}/v1/objectives"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The real plan, started with the first worker running.
    let first = worker(&world, &dev.url, &key, &db);
    llm.script([Reply::Text(world.graph().to_string())]);
    let started = submit("payroll").await.unwrap();
    assert_eq!(started.status(), 201, "{:?}", started.text().await);

    // Killed once some payments are done and others are not.
    let t = Instant::now();
    let done_at_kill = loop {
        if let Ok(p) = temporal.progress("payroll").await {
            let done = p.steps.values().filter(|s| s.state == "done").count();
            if done >= 3 {
                break done;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(120), "no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The list the dashboard reads shows it running, with its graph and
    // each task's state as the query answers it.
    // A query the busy worker did not answer within the server's limit
    // lists the objective without tasks (and says why): asked again.
    let mut listed = Value::Null;
    for _ in 0..5 {
        listed = get_json(&http, &format!("{base}/v1/objectives"), TOKEN).await;
        if listed["objectives"][0]["tasks"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
        {
            break;
        }
    }
    let live = &listed["objectives"][0];
    assert_eq!(
        (live["id"].as_str(), live["status"].as_str()),
        (Some("payroll"), Some("running")),
        "{listed}"
    );
    let tasks = live["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 12, "{live}");
    let done_listed = tasks.iter().filter(|t| t["state"] == "done").count();
    assert!(
        (3..12).contains(&done_listed),
        "mid-run: {done_listed} of 12 listed done"
    );
    // Killed with a payment sent and not yet mined: mining stops, the
    // agent's next transfer waits in the pool, and the worker dies there.
    // The worker that takes over must find it on chain by its memo, not
    // pay it again.
    let node = |method: &'static str, params: Value| {
        let (http, url) = (http.clone(), world.chain.url.clone());
        async move {
            helix_http::rpc::call(&http, &url, method, params)
                .await
                .unwrap()
        }
    };
    node("evm_setAutomine", json!([false])).await;
    let agent = format!("{:#x}", world.agent.address());
    let transfer_with_memo = alloy::hex::encode(
        &alloy::primitives::keccak256("transferWithMemo(address,uint256,bytes32)")[..4],
    );
    // The agent's transactions waiting in the pool, and the memos of the
    // payments among them.
    let pool_of_agent = || async {
        let pool = node("txpool_content", json!([])).await;
        let txs: Vec<Value> = pool["pending"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(from, _)| from.eq_ignore_ascii_case(&agent))
            .flat_map(|(_, by_nonce)| by_nonce.as_object().into_iter().flatten())
            .map(|(_, tx)| tx.clone())
            .collect();
        // A payment may be the transaction's input or one of a 0x76
        // transaction's calls: read the calldata wherever it is.
        let memos: Vec<String> = txs
            .iter()
            .flat_map(|tx| {
                let text = tx.to_string().to_ascii_lowercase();
                text.match_indices(&transfer_with_memo)
                    .filter_map(|(at, _)| text.get(at + 8 + 128..at + 8 + 192))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        (txs.len(), memos)
    };
    let step_of_memo = |memo: &str| {
        world
            .payees
            .iter()
            .map(|p| format!("pay-{}", p.id))
            .find(|step| {
                let key = helix_ode::payment_key("payroll", step);
                alloy::hex::encode(helix_tempo::memo_of(&key)) == memo
            })
    };
    let t = Instant::now();
    let not_done_at_kill = loop {
        // Read before the pool: a step not done now was not done at the
        // kill either.
        let not_done: Vec<String> = match temporal.progress("payroll").await {
            Ok(p) => p
                .steps
                .iter()
                .filter(|(_, s)| s.state != "done")
                .map(|(id, _)| id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        let (waiting, memos) = pool_of_agent().await;
        if !memos.is_empty() && !not_done.is_empty() {
            break not_done;
        }
        if waiting > 0 {
            // A repair's transaction (a swap): let it land and wait on.
            node("evm_mine", json!([])).await;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no payment reached the pool"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(first); // SIGKILL
    // Steps run in parallel, so more than one payment may be in the pool.
    let (_, memos) = pool_of_agent().await;
    let in_pool_at_kill: Vec<String> = memos
        .iter()
        .map(|m| step_of_memo(m).unwrap_or_else(|| panic!("a payment with a foreign memo {m}")))
        .collect();
    assert!(
        !in_pool_at_kill.is_empty(),
        "a payment was in the pool at the kill"
    );
    node("evm_mine", json!([])).await;
    node("evm_setAutomine", json!([true])).await;
    assert!(
        done_at_kill < 12,
        "killed mid-run: {done_at_kill} of 12 done"
    );

    let _second = worker(&world, &dev.url, &key, &db);
    let report = tokio::time::timeout(Duration::from_secs(240), temporal.report("payroll"))
        .await
        .expect("the second worker finishes the objective")
        .unwrap();
    let not_done: Vec<_> = report
        .steps
        .iter()
        .filter(|(_, s)| s.state != "done")
        .collect();
    assert!(not_done.is_empty(), "{not_done:#?}");
    let since = 0;
    for p in &world.payees {
        let want = helix_ode::amount::parse(&p.amount).unwrap();
        assert_eq!(world.received(p).await.unwrap(), want, "{} paid once", p.id);
        let key = helix_ode::payment_key("payroll", &format!("pay-{}", p.id));
        let sent = world
            .funder
            .memo_transfers(world.agent.address(), helix_tempo::memo_of(&key), since)
            .await
            .unwrap();
        assert_eq!(sent.len(), 1, "{} has one transfer with its memo", p.id);
    }

    // Every payment in the pool at the kill was found by its memo, not sent
    // again. Others may be found too (one mined whose result the dead worker
    // never reported), but only among steps not done before the kill.
    let found: Vec<&String> = report
        .steps
        .iter()
        .filter(|(_, s)| s.result.as_ref().is_some_and(|r| r.found_on_chain))
        .map(|(id, _)| id)
        .collect();
    for step in &in_pool_at_kill {
        assert!(
            found.contains(&step),
            "{step}, in the pool at the kill, was found by its memo: {found:?}"
        );
    }
    for step in &found {
        assert!(
            not_done_at_kill.contains(step),
            "{step} was done before the kill, yet run again: {not_done_at_kill:?}"
        );
    }
    // The workers' repairs are in the event log of the Gene Map they share,
    // as any agent's: a ThetaUSD payee was paid after a swap.
    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["events", "--db", &db, "--failure", "payment-insufficient"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("swap_currency") && text.contains("verified"),
        "{text}"
    );

    // The same through the API and the terminal.
    let status = get_json(&http, &format!("{base}/v1/objectives/payroll"), TOKEN).await;
    assert_eq!(status["paid"], 12, "{status}");
    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["ode", "status", "payroll", "--temporal", &dev.url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("12 paid"), "{text}");
    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("helix_ode_refusals_total{rule=\"payees_from_context\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("helix_ode_objectives_total{outcome=\"started\"} 1"),
        "{metrics}"
    );

    // `helix serve` on the workers' Gene Map, joined to the intent server,
    // shows the objective on its dashboard's network view, done, each task
    // with its transaction, and the swap gene's detail with the swaps'
    // transactions as evidence; the list is the intent server's to give
    // only with its token.
    let stranger = http
        .get(format!("{base}/v1/objectives"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
    let toml = dir.path().join("helix.toml");
    std::fs::write(&toml, format!("[ode]\nurl = \"{base}\"\n")).unwrap();
    let mut cmd = serve_cmd(&toml, std::path::Path::new(&db));
    cmd.env("HELIX_ODE_TOKEN", TOKEN);
    let (_served, served) = start(cmd, "serving on ", true);
    let view = get_json(&http, &format!("{served}/v1/network"), SERVE_TOKEN).await;
    let o = &view["objectives"]["objectives"][0];
    assert_eq!(
        (o["id"].as_str(), o["status"].as_str(), o["paid"].as_u64()),
        (Some("payroll"), Some("completed"), Some(12)),
        "{view}"
    );
    let gene = get_json(
        &http,
        &format!("{served}/v1/genes/payment-insufficient/balance/swap_currency"),
        SERVE_TOKEN,
    )
    .await;
    let evidence: Vec<&str> = gene["uses"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| u["tx_hashes"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !evidence.is_empty() && evidence.iter().all(|h| h.len() == 66),
        "the swaps' transactions: {gene}"
    );
    let tasks = o["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 12, "{o}");
    for t in tasks {
        assert_eq!(t["state"], "done", "{t}");
        assert!(t["tx"].as_str().is_some_and(|h| h.starts_with("0x")), "{t}");
        assert!(t["what"].as_str().unwrap().starts_with("pay "), "{t}");
    }
}
