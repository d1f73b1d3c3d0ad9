//! The refund waterfall on anvil, with a crash in the middle: A pays B, B
//! pays C, C's service fails; the coordinator (its own process, its log in
//! PostgreSQL) refunds C -> B, is killed with SIGKILL before B -> A,
//! restarts, and finishes. Every balance ends exactly where it began (fees
//! are paid in BetaUSD, the transfers in AlphaUSD) and each refund was made
//! once; running the saga again moves nothing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use helix_lab::onchain::{funded_agent, stablecoin_chain, token};
use helix_mesh::saga::{Plan, Step, Transfer};
use helix_tempo::{SendOpts, TempoChain};

const UNIT: u128 = 1_000_000;

fn pg() -> String {
    std::env::var("HELIX_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refund_waterfall_survives_a_sigkill_and_refunds_each_payment_once() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let mut agents = Vec::new();
    for _ in 0..3 {
        let w = funded_agent(&funder, token(1), 10 * UNIT).await.unwrap();
        // Fee money in another token, so AlphaUSD balances stay exact.
        funder
            .transfer(token(2), w.address(), 10 * UNIT, SendOpts::default())
            .await
            .unwrap();
        agents.push(w);
    }
    let (a, b, c) = (&agents[0], &agents[1], &agents[2]);
    let pay = |from: &helix_tempo::Wallet, to: &helix_tempo::Wallet, amount| Transfer {
        from: from.address(),
        to: to.address(),
        token: token(1),
        amount,
    };
    let plan = Plan {
        id: format!("saga-test-{:x}", rand::random::<u64>()),
        steps: vec![
            Step {
                name: "A pays B for the job".into(),
                pay: pay(a, b, 2 * UNIT),
            },
            Step {
                name: "B pays C for its part".into(),
                pay: pay(b, c, 3 * UNIT / 2),
            },
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(&plan).unwrap()).unwrap();
    let keys_file = dir.path().join("keys.json");
    let keys: Vec<String> = agents
        .iter()
        .map(|w| alloy::hex::encode(w.signer().to_bytes()))
        .collect();
    std::fs::write(&keys_file, serde_json::to_string(&keys).unwrap()).unwrap();
    let coordinator = |pause: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_helix-lab"));
        c.args(["saga", "--pg", &pg(), "--rpc", &anvil.url, "--fail-at", "1"])
            .arg("--plan")
            .arg(&plan_file)
            .arg("--keys")
            .arg(&keys_file)
            .args(["--fee-token", &token(2).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if pause {
            c.args(["--pause-after-refunds", "1"]);
        }
        c
    };
    let reader = TempoChain::connect(&anvil.url, a).unwrap();
    let balances = async || {
        let mut v = Vec::new();
        for w in [a, b, c] {
            v.push(reader.balance(token(1), w.address()).await.unwrap());
        }
        v
    };
    assert_eq!(balances().await, vec![10 * UNIT; 3]);

    // The first coordinator pays both steps, sees C's service fail, refunds
    // C -> B, and is killed before B -> A.
    let mut first = coordinator(true).spawn().unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    let line = lines.next().expect("the coordinator said nothing").unwrap();
    assert_eq!(line, "paused after 1 refund(s)");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert_eq!(
        balances().await,
        vec![8 * UNIT, 12 * UNIT, 10 * UNIT],
        "A paid B, B paid C, C refunded B; B has not refunded A yet"
    );

    // Restarted, it finishes: B -> A, once.
    let out = coordinator(false).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["outcome"], "compensated", "{v}");
    assert_eq!(v["failed_step"], 1);
    let transfers = v["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 4, "two payments, two refunds: {v}");
    for t in transfers {
        let hash = t[1].as_str().unwrap().parse().unwrap();
        assert_eq!(reader.receipt(hash).await.unwrap(), Some(true), "{t}");
    }
    assert_eq!(
        balances().await,
        vec![10 * UNIT; 3],
        "every balance exactly where it began"
    );

    // A third run finds the saga compensated and moves nothing.
    let out = coordinator(false).output().unwrap();
    assert!(out.status.success());
    assert_eq!(balances().await, vec![10 * UNIT; 3]);
}
