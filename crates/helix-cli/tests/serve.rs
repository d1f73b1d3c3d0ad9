//! `helix serve` end to end: the binary on a free port, over a SQLite Gene
//! Map and a budget; what it learns is visible to `helix genes` and
//! `helix events` on the same file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const TOKEN: &str = "serve-test-token-0123456789";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `helix serve` and returns it with its base URL.
fn serve(db: &str, budget: &str) -> (Server, String) {
    serve_with(db, budget, &[])
}

/// Starts `helix serve` with `more` arguments.
fn serve_with(db: &str, budget: &str, more: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "auto",
            "--db",
            db,
            "--budget-usd",
            "5",
            "--budget-db",
            budget,
        ])
        .args(more)
        .env("HELIX_API_TOKEN", TOKEN)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("helix serve exited").unwrap();
        if let Some(rest) = line.split("serving on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), base)
}

#[tokio::test]
async fn serve_guards_the_api_repairs_in_auto_mode_and_shares_the_gene_map() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db").display().to_string();
    let budget = dir.path().join("budget.db").display().to_string();
    let (_server, base) = serve(&db, &budget);
    let http = reqwest::Client::new();
    let failure = json!({
        "signal": {"message": "429 Too Many Requests", "http_status": 429, "retry_after": 20},
        "payment": {"recipient": "0x00000000000000000000000000000000000000c1", "amount": 5000}
    });

    let refused = http
        .post(format!("{base}/v1/repair"))
        .json(&failure)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let call = |path: String, body: Option<Value>| {
        let req = match body {
            Some(b) => http.post(format!("{base}{path}")).json(&b),
            None => http.get(format!("{base}{path}")),
        };
        async move {
            req.bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let advice = call("/v1/repair".into(), Some(failure)).await;
    assert_eq!(advice["committed"]["strategy"], "backoff", "{advice}");
    let id = advice["repair_id"].as_u64().unwrap();
    let learned = call(
        format!("/v1/repair/{id}/outcome"),
        Some(json!({"success": true})),
    )
    .await;
    assert_eq!(learned["gene"]["successes"], 1);
    let summary = call("/v1/summary".into(), None).await;
    assert_eq!(summary["budget"]["cap"], 5_000_000);
    assert_eq!(summary["verified"], 1);
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
        metrics.contains("helix_budget_cap_micro_usd 5000000"),
        "{metrics}"
    );

    let genes = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["genes", "--json", "--db", &db])
        .output()
        .unwrap();
    let genes = String::from_utf8_lossy(&genes.stdout);
    assert!(genes.contains("\"backoff\""), "{genes}");
    let events = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["events", "--json", "--db", &db, "--repair", &id.to_string()])
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&events.stdout);
    assert!(events.contains("verified"), "{events}");
}

/// An agent written in Python (examples/python, stdlib only) pays a
/// rate-limited merchant through `helix serve`: both payments complete and
/// both repairs are verified into one gene.
#[tokio::test]
async fn a_python_agent_pays_through_helix_serve() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db").display().to_string();
    let budget = dir.path().join("budget.db").display().to_string();
    let (_server, base) = serve(&db, &budget);
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/python");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("example_agent.py")
            .current_dir(examples)
            .env("HELIX_URL", &base)
            .env("HELIX_API_TOKEN", TOKEN)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 on PATH");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["paid"], json!([{"paid": 250000}, {"paid": 250000}]));
    let genes = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["genes", "--json", "--db", &db])
        .output()
        .unwrap();
    let genes: Value = serde_json::from_slice(&genes.stdout).unwrap();
    let backoff = genes
        .as_array()
        .and_then(|a| a.iter().find(|g| g["strategy"] == "backoff"))
        .unwrap_or_else(|| panic!("no backoff gene: {genes}"));
    assert_eq!(backoff["successes"], 2, "both repairs verified: {genes}");
}

/// A timeout that came back at this hour of the week in each of the last
/// four weeks, for one service: a server started with `--forecast-weeks`
/// extends the deadline of a payment to that service before it is made,
/// and to no other service; a server without it does nothing ahead.
#[tokio::test]
async fn a_recurring_window_is_repaired_ahead_of_the_payment() {
    use helix_core::{
        Category, Event, EventKind, EventSink, Evidence, Facts, Failure, FailureCode, Platform,
        Severity,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db").display().to_string();
    let budget = dir.path().join("budget.db").display().to_string();
    let service = "http://pay.example:8080";
    let timeout = |hour: i64, n: i64| Event {
        repair_id: 1 + (hour * 100 + n) as u64,
        seq: 0,
        at: hour * 3_600_000 + n * 1_000,
        kind: EventKind::Perceived {
            failure: Failure {
                code: FailureCode::Timeout,
                category: Category::Service,
                severity: Severity::Low,
                platform: Platform::Http,
                evidence: Evidence::Message,
                facts: Facts::default(),
            },
            service: Some(service.into()),
        },
    };
    // The server matches the hour of the week at each request: start the
    // test early enough in an hour that it ends in the same one.
    let into_hour = helix_core::gene::now_ms() % 3_600_000;
    if into_hour > 3_480_000 {
        let left = u64::try_from(3_600_000 - into_hour + 100).unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(left)).await;
    }
    let log = helix_genemap::SqliteEventLog::open(&db).unwrap();
    let now_hour = helix_core::gene::now_ms() / 3_600_000;
    for h in (now_hour - 4 * 168 + 1..now_hour).step_by(3) {
        log.emit(&timeout(h, 0));
    }
    for week in 0..4 {
        for n in 1..=20 {
            log.emit(&timeout(now_hour - week * 168, n));
        }
    }
    drop(log);

    let (_server, base) = serve_with(&db, &budget, &["--forecast-weeks", "4"]);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = req.bearer_auth(TOKEN).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let payment = json!({
        "recipient": "0x00000000000000000000000000000000000000c1",
        "amount": 5000,
        "endpoint": "http://PAY.example:8080/v1/invoice/7",
        "deadline_ms": 10000
    });
    // No gene yet: the window is known, nothing is applied.
    let before = post("/v1/ahead", payment.clone()).await;
    assert_eq!(before["expected"]["code"], "timeout", "{before}");
    assert!(before.get("strategy").is_none(), "{before}");

    // The gene is learned the usual way: a timeout, repaired, verified.
    let advice = post(
        "/v1/repair",
        json!({"signal": {"message": "error sending request: operation timed out"}, "payment": payment}),
    )
    .await;
    assert_eq!(
        advice["committed"]["strategy"], "extend_deadline",
        "{advice}"
    );
    let id = advice["repair_id"].as_u64().unwrap();
    post(
        &format!("/v1/repair/{id}/outcome"),
        json!({"success": true}),
    )
    .await;

    let ahead = post("/v1/ahead", payment.clone()).await;
    assert_eq!(ahead["strategy"], "extend_deadline", "{ahead}");
    assert_eq!(
        ahead["patches"][0],
        json!({"kind": "deadline", "ms": 30000}),
        "{ahead}"
    );

    let mut elsewhere = payment.clone();
    elsewhere["endpoint"] = json!("http://other.example/v1/invoice/7");
    let other = post("/v1/ahead", elsewhere).await;
    assert!(other.get("expected").is_none(), "{other}");
    assert_eq!(other["patches"], json!([]));

    let bad = http
        .post(format!("{base}/v1/ahead"))
        .bearer_auth(TOKEN)
        .json(&json!({"recipient": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    drop(_server);

    let (_plain, base) = serve(&db, &budget);
    let r = http
        .post(format!("{base}/v1/ahead"))
        .bearer_auth(TOKEN)
        .json(&payment)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(r.get("expected").is_none(), "without a forecast: {r}");
}
