//! The `helix` binary end to end (classify, genes, events, replay, config),
//! with Gene Maps made by the lab's `helix-lab demo` and `helix-lab bench`.

use std::process::Command;

use serde_json::Value;

use crate::common::ok;

fn helix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helix"))
}

/// The lab's binary, built beside `helix` by `cargo test --workspace`
/// (the shipped `helix` does not link the lab).
fn lab() -> Command {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_helix")).with_file_name("helix-lab");
    assert!(
        path.exists(),
        "{} is not built: run the workspace's tests (cargo test --workspace) or cargo build -p helix-lab",
        path.display()
    );
    Command::new(path)
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn demo_repairs_every_row_then_is_immune_and_genes_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let out = lab()
        .args(["demo", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let all = json_of(&out);
    let all = all.as_array().unwrap();
    // On failure, the elements that failed alone: the whole array is too
    // long for a CI log to keep.
    let failed: Vec<String> = all
        .iter()
        .filter(|r| {
            ["repaired", "immune_on_second_run", "immune_on_first_sight"]
                .iter()
                .any(|f| r[*f] == false)
                || (r["scenario"] == "objective" && r["paid_exactly_once"] != r["payees"])
        })
        .map(|r| format!("{}: {}", r["scenario"], r))
        .collect();
    assert!(
        out.status.success() && failed.is_empty(),
        "the demo failed ({}):\n{}\nstderr: {:.4000}",
        out.status,
        failed.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    // The 25 scenario rows, then (with anvil) the registry act.
    let rows: Vec<&serde_json::Value> = all.iter().filter(|r| r["scenario"].is_u64()).collect();
    assert_eq!(rows.len(), 25);
    let act = all.iter().find(|r| r["scenario"] == "registry");
    if std::env::var("HELIX_ANVIL").is_ok() {
        let act = act.expect("the registry act ran on anvil");
        for field in [
            "repaired",
            "immune_on_first_sight",
            "evidence_verified",
            "anchored",
        ] {
            assert_eq!(act[field], true, "registry act {field}: {}", act["detail"]);
        }
        let ms = act["propagation_ms"].as_i64().expect("propagation_ms");
        assert!((0..10_000).contains(&ms), "{ms}");
        assert_eq!(act["chain"], "anvil-tempo");
        assert_eq!(act["strategy"], "swap_currency");
        // The objective act: ten payees through the LLM stand-in,
        // validation and Temporal, each paid once (read on chain).
        let o = all
            .iter()
            .find(|r| r["scenario"] == "objective")
            .expect("the objective act ran");
        assert_eq!(o["payees"], 10, "{o}");
        assert_eq!(o["paid_exactly_once"], 10, "{o}");
        assert!(o["repairs"].as_u64().unwrap() >= 2, "{o}");
        assert!(o["workflow_id"].is_string(), "{o}");
    }
    for r in rows.iter().copied() {
        let n = r["scenario"].as_u64().unwrap();
        for field in [
            "platform",
            "code",
            "category",
            "strategy",
            "repaired",
            "immune_on_second_run",
            "first_ms",
            "second_ms",
        ] {
            assert!(r.get(field).is_some(), "row {n} lacks {field}");
        }
        if n == 9 && std::env::var("HELIX_ANVIL").is_err() {
            assert_eq!(
                r["waiting"].as_str().map(|w| w.contains("mesh")),
                Some(true)
            );
            continue;
        }
        assert_eq!(r["repaired"], true, "row {n}: {}", r["detail"]);
        assert_eq!(r["immune_on_second_run"], true, "row {n}: {}", r["detail"]);
        assert!(r["strategy"].is_string(), "row {n}");
    }
    // With anvil available (scripts/test.sh exports HELIX_ANVIL), the Tempo
    // rows that exist on a real chain ran there and checked their receipts.
    if std::env::var("HELIX_ANVIL").is_ok() {
        for n in [1usize, 8, 11, 12, 13] {
            let r = &rows[n - 1];
            assert_eq!(r["chain"], "anvil-tempo", "row {n}");
            assert_eq!(r["receipts_ok"], true, "row {n}");
            let txs = r["tx_hashes"].as_array().unwrap();
            assert!(txs.len() >= 2, "row {n}: a payment per pass");
            assert!(txs.iter().all(|h| {
                h.as_str()
                    .is_some_and(|h| h.len() == 66 && h.starts_with("0x"))
            }));
        }
        assert_eq!(
            rows[0]["tx_hashes"].as_array().unwrap().len(),
            6,
            "approval, swap, payment per pass"
        );
        // The cascade across agent processes: C fails and refunds, B
        // reroutes to C2; per pass A's payment, B's payment to C, C's
        // refund, B's payment to C2.
        let r = &rows[8];
        assert_eq!(r["chain"], "anvil-tempo", "row 9: {}", r["detail"]);
        assert_eq!(
            (&r["code"], &r["category"]),
            (&"cascade-failure".into(), &"cascade".into())
        );
        assert_eq!(r["strategy"], "reroute_via_alt", "row 9: {}", r["detail"]);
        assert_eq!(r["first_pass"], "repaired");
        assert_eq!(r["receipts_ok"], true);
        assert_eq!(r["tx_hashes"].as_array().unwrap().len(), 8, "row 9: {r}");
    }
    // Cross-platform immunity: Privy rows heal through genes learned on Tempo.
    for (privy, tempo) in [(15, 4), (16, 12), (17, 13)] {
        let r = &rows[privy - 1];
        assert_eq!(r["first_pass"], "immune", "row {privy}");
        assert_eq!(r["immune_from"]["scenario"], tempo, "row {privy}");
        assert_eq!(r["immune_from"]["platform"], "tempo", "row {privy}");
        assert_eq!(r["code"], rows[tempo - 1]["code"]);
    }

    let out = ok(helix().args(["genes", "--json", "--db"]).arg(&db));
    let genes = json_of(&out);
    let genes = genes.as_array().unwrap();
    let has = |code: &str, cat: &str, strategy: &str| {
        genes.iter().any(|g| {
            g["key"]["code"] == code
                && g["key"]["category"] == cat
                && g["strategy"] == strategy
                && g["successes"].as_u64().unwrap() >= 2
        })
    };
    assert!(has("payment-insufficient", "balance", "swap_currency"));
    assert!(has("verification-failed", "signature", "refresh_nonce"));
    let nonce = genes
        .iter()
        .find(|g| g["strategy"] == "refresh_nonce")
        .unwrap();
    let platforms: Vec<&str> = nonce["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        platforms.contains(&"tempo") && platforms.contains(&"privy"),
        "{platforms:?}"
    );

    // A second demo on the same file: the first pass is already immune.
    let out = ok(lab()
        .args(["demo", "--json", "--rows", "1,18", "--db"])
        .arg(&db));
    for r in json_of(&out).as_array().unwrap() {
        assert_eq!(
            r["first_pass"], "immune",
            "genes persisted across processes"
        );
    }
}

#[test]
fn classify_prints_json() {
    let out = ok(helix().args([
        "classify",
        "--json",
        "nonce too low: next nonce 5, tx nonce 3",
    ]));
    let v = json_of(&out);
    assert_eq!(v["code"], "verification-failed");
    assert_eq!(v["category"], "signature");
    assert_eq!(v["platform"], "tempo");
    assert!(v["severity"].is_string());

    let out = helix()
        .args(["classify", "--json", "--status", "429", "slow down"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["code"], "rate-limited");

    let out = helix()
        .args(["classify", "--json", "Transferred 500 USDC to the vendor"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (v["code"].as_str(), v["recognised"].as_bool()),
        (Some("unknown"), Some(false))
    );

    let body = r#"{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}"#;
    let out = helix()
        .args(["classify", "--json", "--body", "--status", "402", body])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (v["code"].as_str(), v["platform"].as_str()),
        (Some("card-expired"), Some("stripe"))
    );
}

#[test]
fn genes_on_a_missing_file_is_a_clear_error() {
    let out = helix()
        .args(["genes", "--db", "/nonexistent/dir/genes.db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Gene Map at /nonexistent/dir/genes.db")
    );
}

/// After a full demo at TRACE logging, with the on-chain agent using a key
/// loaded from a file, the key's hex appears in no log line, event (the
/// demo logs every event), error message, JSON row or database file.
#[test]
fn a_full_demo_at_trace_level_never_shows_the_agent_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let key_bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let key_hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let key_file = dir.path().join("agent.key");
    std::fs::write(&key_file, format!("0x{key_hex}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let address = helix_tempo::Wallet::from_file(&key_file)
        .unwrap()
        .address()
        .to_string()
        .to_lowercase();

    let out = lab()
        .args(["demo", "--json", "--chain", "anvil", "--db"])
        .arg(&db)
        .arg("--agent-key-file")
        .arg(&key_file)
        .env("HELIX_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(out.status.success(), "demo failed: {stderr:.4000}");
    // The key was really used, and the log really is at TRACE.
    assert!(stdout.contains("anvil-tempo"), "on-chain rows ran");
    assert!(
        stderr.contains(&address),
        "the agent's address appears in the trace log"
    );
    assert!(stderr.contains("helix::event"), "events are logged");

    let mut files = Vec::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let p = f.unwrap().path();
        if p != key_file {
            files.extend(std::fs::read(&p).unwrap());
        }
    }
    let files = String::from_utf8_lossy(&files).to_lowercase();
    for (name, text) in [("stdout", &stdout), ("log", &stderr), ("database", &files)] {
        assert!(!text.contains(&key_hex), "the key appears in the {name}");
        assert!(
            !text.contains(&key_hex[..16]),
            "a key prefix appears in the {name}"
        );
    }
}

/// `helix-lab bench --json`: three arms on one schedule, keyed by arm name;
/// Helix completes every payment without paying anyone twice, and the
/// baselines' real figures are reported beside it.
#[test]
fn bench_reports_three_arms_on_one_schedule() {
    let out = ok(lab().args(["bench", "--json", "-n", "40", "--seed", "3"]));
    let v = json_of(&out);
    for arm in ["none", "blind_retry", "helix"] {
        let a = &v[arm];
        for field in ["completed_pct", "double_payments", "p50_ms", "p99_ms"] {
            assert!(a[field].is_number(), "{arm} lacks {field}: {a}");
        }
        assert_eq!(a["payments"], 40);
    }
    assert!(v["helix"]["completed_pct"].as_f64().unwrap() >= 99.5, "{v}");
    assert_eq!(v["helix"]["double_payments"], 0);
    assert!(
        v["none"]["completed_pct"].as_f64().unwrap()
            < v["helix"]["completed_pct"].as_f64().unwrap(),
        "every payment carries a fault, so one attempt fails: {v}"
    );
    let immunity = v["helix"]["immunity"].as_object().unwrap();
    assert!(
        immunity
            .values()
            .any(|i| i["later_immune"].as_u64().unwrap() > 0),
        "repeated scenarios are answered by genes: {v}"
    );
    // The baselines are measured, not assumed: where a resend pays a second
    // time (row 6: paid then 500; row 26: paid then 502 without a receipt),
    // the ledger saw blind retry pay twice on every such payment.
    let runs_of = |row: &str| {
        v["blind_retry"]["by_row"][row]["runs"]
            .as_u64()
            .unwrap_or(0)
    };
    let doubles_of = |row: &str| {
        v["blind_retry"]["by_row"][row]["double_payments"]
            .as_u64()
            .unwrap_or(0)
    };
    let resend_pays = runs_of("6") + runs_of("26");
    assert!(resend_pays > 0, "the schedule has rows 6 or 26: {v}");
    assert_eq!(doubles_of("6") + doubles_of("26"), resend_pays, "{v}");
    // With anvil installed (scripts/test.sh), the Tempo rows ran on it.
    if std::env::var_os("HELIX_ANVIL").is_some() {
        for arm in ["none", "blind_retry", "helix"] {
            assert!(
                v[arm]["on_chain"].as_u64().unwrap() > 0,
                "{arm} ran on anvil: {v}"
            );
        }
    }
}

#[test]
fn bench_refuses_an_empty_run() {
    let out = lab().args(["bench", "-n", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-n must be at least 1"));
}

/// Two processes share one PostgreSQL Gene Map: the first repairs the
/// scenario and stores the gene; the second meets the same failure for the
/// first time and is immune at once (its first pass runs no construct
/// stage). `HELIX_TEST_POSTGRES` names the server (scripts/test.sh starts
/// it); the test works in a schema of its own.
#[test]
fn two_processes_share_a_postgres_gene_map_and_the_second_is_immune() {
    let base = std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("helix_cli_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL (scripts/services.sh starts it)");
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
    });
    let url = format!("{base}?options=-c%20search_path%3D{schema}");
    let first_pass = || {
        let out = ok(lab().args([
            "demo", "--json", "--chain", "lab", "--rows", "4,21", "--db", &url,
        ]));
        json_of(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["first_pass"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let a = first_pass();
    assert!(a.iter().all(|p| p != "immune"), "A starts empty: {a:?}");
    let b = first_pass();
    assert!(
        b.iter().all(|p| p == "immune"),
        "B is immune from A's genes: {b:?}"
    );
    let listed = helix()
        .args(["genes", "--json", "--db", &url])
        .output()
        .unwrap();
    let genes = json_of(&listed);
    assert!(genes.as_array().unwrap().len() >= 2, "{genes}");
    // The shared log holds both processes' repairs; A's replays the same.
    let listed = helix()
        .args(["events", "--json", "--db", &url])
        .output()
        .unwrap();
    let repairs = json_of(&listed);
    assert!(repairs.as_array().unwrap().len() >= 4, "{repairs}");
    for r in repairs.as_array().unwrap() {
        let id = r["repair_id"].as_u64().unwrap().to_string();
        let out = helix()
            .args(["replay", &id, "--db", &url])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Every repair a demo logs replays, from its logged inputs, to the same
/// decisions; `helix events` prints a repair's log.
#[test]
fn logged_repairs_replay_to_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let out = ok(lab()
        .args([
            "demo",
            "--json",
            "--chain",
            "lab",
            "--rows",
            "1,4,12,21,24",
            "--db",
        ])
        .arg(&db));
    let ids: Vec<u64> = json_of(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["repair_id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 5);
    for id in ids {
        let r = helix()
            .args(["replay", &id.to_string(), "--json", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        let v = json_of(&r);
        assert_eq!(r.status.code(), Some(0), "repair {id}: {v}");
        assert!(v["decisions"].as_u64().unwrap() >= 1, "{v}");
        assert_eq!(v["differences"].as_array().unwrap().len(), 0, "{v}");
        let log = helix()
            .args(["events", "--repair", &id.to_string(), "--db"])
            .arg(&db)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&log.stdout);
        assert!(
            text.contains("observed") && text.contains("perceived"),
            "{text}"
        );
    }
    // The list reads as a person would: newest first, local time, failure,
    // repair, result, duration; filtered by failure and age.
    let list = helix().args(["events", "--db"]).arg(&db).output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    let first = text.lines().nth(1).unwrap_or_default();
    assert!(
        text.starts_with("started") && first.contains("verified") && first.contains(" ms"),
        "{text}"
    );
    let only = |args: &[&str]| {
        let out = helix()
            .args(["events", "--json", "--db"])
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        json_of(&out).as_array().unwrap().clone()
    };
    let all = only(&[]);
    assert_eq!(all.len(), 10, "five rows, two passes each");
    let starts: Vec<i64> = all
        .iter()
        .map(|l| l["started_at"].as_i64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
    let balance = only(&["--failure", "payment-insufficient"]);
    assert!(!balance.is_empty() && balance.len() < all.len());
    assert!(balance.iter().all(|l| {
        l["failure"]
            .as_str()
            .is_some_and(|f| f.starts_with("payment-insufficient/"))
    }));
    assert_eq!(only(&["--since", "1h"]).len(), all.len());
    assert_eq!(only(&["--limit", "3"]).len(), 3);
    let bad = helix()
        .args(["events", "--since", "soon", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
    let missing = helix()
        .args(["replay", "42", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

/// `helix config check` reads the TOML file and the environment, hides
/// passwords, says what answers, and exits 1 when something does not.
#[test]
fn config_check_reports_what_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("helix.toml");
    std::fs::write(
        &file,
        "[gene_map]\nurl = \"postgres://postgres:hunter2@127.0.0.1:5432/test\"\n\
         [cache]\nredis = \"redis://127.0.0.1:6379\"\n\
         [chain]\nrpc = \"http://127.0.0.1:1\"\n\
         [registry]\nurl = \"http://127.0.0.1:1\"\nsubscribe = [\"payment-insufficient/balance\"]\n\
         [llm]\nanthropic_model = \"claude-test\"\nopenai_api_key = \"sk-file-secret\"\n",
    )
    .unwrap();
    let out = helix()
        .args(["config", "check", "--json", "--config"])
        .arg(&file)
        .env("HELIX_NATS_URL", "nats://127.0.0.1:4222")
        .env("ANTHROPIC_API_KEY", "ak-env-secret")
        .env_remove("OPENAI_API_KEY")
        .env_remove("HELIX_ANTHROPIC_MODEL")
        .env_remove("HELIX_DB")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("secret"), "no LLM key is shown: {text}");
    assert!(
        text.contains("claude-test at https://api.anthropic.com"),
        "{text}"
    );
    assert!(
        text.contains("gpt-4o-mini at https://api.openai.com/v1"),
        "{text}"
    );
    let v = json_of(&out);
    let ok = |s: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["setting"] == s)
            .map(|c| c["ok"].as_bool().unwrap())
    };
    assert_eq!(ok("gene_map.url"), Some(true), "{v}");
    assert_eq!(ok("cache.redis"), Some(true), "{v}");
    assert_eq!(ok("events.nats"), Some(true), "from the environment: {v}");
    assert_eq!(ok("chain.rpc"), Some(false), "nothing listens there: {v}");
    assert_eq!(
        ok("registry.url"),
        Some(false),
        "nothing listens there: {v}"
    );
    assert_eq!(out.status.code(), Some(1));

    std::fs::write(
        &file,
        "[registry]\nsubscribe = [\"payment-insufficient\"]\n",
    )
    .unwrap();
    let bad = helix()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not code/category"));

    std::fs::write(&file, "[gene_map]\nurl = 3\n").unwrap();
    let bad = helix()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("helix.toml"));
}

/// The settings file chooses the Gene Map when --db is not given.
#[test]
fn the_settings_file_chooses_the_gene_map() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-settings.db");
    let file = dir.path().join("helix.toml");
    std::fs::write(
        &file,
        format!("[gene_map]\nurl = {:?}\n", db.display().to_string()),
    )
    .unwrap();
    ok(lab()
        .args([
            "demo", "--json", "--chain", "lab", "--rows", "21", "--config",
        ])
        .arg(&file)
        .env_remove("HELIX_DB"));
    assert!(db.exists(), "the demo used the Gene Map the file names");
    let missing = helix()
        .args(["genes", "--config"])
        .arg(dir.path().join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a named settings file must exist"
    );
}

/// Bench row 26: the service settles, then answers 502 without a receipt.
/// A blind retry pays again every time; Helix never does, and ends each
/// payment naming the transaction that paid it.
#[test]
fn bench_row_26_a_settled_payment_answered_502_is_never_paid_twice() {
    let out = ok(lab().args([
        "bench", "--json", "-n", "6", "--rows", "26", "--chain", "lab",
    ]));
    let v = json_of(&out);
    assert_eq!(v["helix"]["double_payments"], 0, "{v}");
    assert_eq!(v["helix"]["completed"], 6, "{v}");
    assert_eq!(v["blind_retry"]["double_payments"], 6, "{v}");
    assert_eq!(v["none"]["completed"], 0, "{v}");
}

/// `helix config check` checks what it can of the LLM settings without
/// paying: the models list (free, refused without a valid key) answers and
/// offers the configured model. Against the lab's stand-ins of both APIs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_checks_the_llm_key_and_model() {
    use helix_lab::llm::{Api, LlmStandIn, Reply};
    let anthropic = LlmStandIn::start(Api::Anthropic, "ak-lab-key", Reply::Error(500))
        .await
        .unwrap();
    let openai = LlmStandIn::start(Api::OpenAi, "sk-lab-key", Reply::Error(500))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("helix.toml");
    std::fs::write(
        &file,
        format!(
            "[gene_map]\nurl = {:?}\n",
            dir.path().join("g.db").display().to_string()
        ),
    )
    .unwrap();
    let run = |openai_key: &'static str, openai_model: &'static str| {
        let (file, a, o) = (
            file.clone(),
            anthropic.base_url().to_owned(),
            openai.base_url().to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            helix()
                .args(["config", "check", "--json", "--config"])
                .arg(&file)
                .env("ANTHROPIC_API_KEY", "ak-lab-key")
                .env("ANTHROPIC_BASE_URL", a)
                .env("HELIX_ANTHROPIC_MODEL", "claude-haiku-4-5")
                .env("OPENAI_API_KEY", openai_key)
                .env("OPENAI_BASE_URL", o)
                .env("HELIX_OPENAI_MODEL", openai_model)
                .env_remove("HELIX_DB")
                .env_remove("HELIX_REDIS_URL")
                .env_remove("HELIX_NATS_URL")
                .env_remove("HELIX_RPC_URL")
                .output()
                .unwrap()
        })
    };
    let find = |v: &serde_json::Value, s: &str| -> (bool, String) {
        let c = v
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["setting"] == s)
            .unwrap_or_else(|| panic!("no {s}: {v}"))
            .clone();
        (
            c["ok"].as_bool().unwrap(),
            c["detail"].as_str().unwrap().to_owned(),
        )
    };

    let out = run("sk-lab-key", "gpt-4o-mini").await.unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    let (ok, detail) = find(&v, "llm.anthropic");
    assert!(ok && detail.contains("key accepted"), "{detail}");
    assert!(find(&v, "llm.openai").0, "{v}");

    let out = run("sk-wrong-key", "gpt-4o-mini").await.unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let (ok, detail) = find(&v, "llm.openai");
    assert!(!ok && detail.contains("401"), "a refused key: {detail}");
    assert!(
        !detail.contains("sk-wrong-key"),
        "the key is not shown: {detail}"
    );
    assert!(find(&v, "llm.anthropic").0);

    let out = run("sk-lab-key", "gpt-imaginary").await.unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let (ok, detail) = find(&v, "llm.openai");
    assert!(
        !ok && detail.contains("gpt-imaginary is not offered"),
        "{detail}"
    );
    assert!(
        anthropic.requests().is_empty() && openai.requests().is_empty(),
        "no completion was asked"
    );
}

/// Real shapes the classifier once got wrong: revert data with its ABI
/// arguments (as anvil prints it), an MPP problem document handed over as
/// a body, and a wallet short of gas that says "insufficient_funds" as a
/// Stripe decline would.
#[test]
fn classify_reads_revert_arguments_problem_documents_and_gas_shortfalls() {
    let revert = "execution reverted: custom error 0x832f98b5: 000000000000000000000000000000000000000000000000000000000000c350000000000000000000000000000000000000000000000000000000000007a12000000000000000000000000020c0000000000000000000000000000000000001";
    let cases: [(&[&str], &str, &str); 4] = [
        (&[revert], "payment-insufficient", "balance"),
        (
            &[
                "--body",
                "--status",
                "402",
                r#"{"type":"https://paymentauth.org/problems/payment-insufficient","title":"Payment Insufficient","status":402}"#,
            ],
            "payment-insufficient",
            "balance",
        ),
        (
            &[
                r#"{"error":{"code":"insufficient_funds","message":"Wallet does not have enough funds to cover gas"}}"#,
            ],
            "payment-insufficient",
            "fee",
        ),
        (
            &[
                r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#,
            ],
            "card-declined",
            "card",
        ),
    ];
    for (args, code, category) in cases {
        let out = helix()
            .args(["classify", "--json"])
            .args(args)
            .output()
            .unwrap();
        let v = json_of(&out);
        assert_eq!(
            (v["code"].as_str(), v["category"].as_str()),
            (Some(code), Some(category)),
            "{args:?}: {v}"
        );
    }
    let out = helix()
        .args(["classify", "--json", revert])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["facts"]["payer_balance"], 50_000, "{v}");
    assert_eq!(v["facts"]["required_amount"], 500_000, "{v}");
    assert_eq!(
        v["facts"]["currency"], "0x20c0000000000000000000000000000000000001",
        "{v}"
    );
}
