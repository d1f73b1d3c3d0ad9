//! The `helix` binary, end to end: demo through the lab, classify, genes.

use std::process::Command;

use serde_json::Value;

fn helix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helix"))
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
    let out = helix()
        .args(["demo", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_of(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 25);
    for r in rows {
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
        if n == 9 {
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
    }
    // Cross-platform immunity: Privy rows heal through genes learned on Tempo.
    for (privy, tempo) in [(15, 4), (16, 12), (17, 13)] {
        let r = &rows[privy - 1];
        assert_eq!(r["first_pass"], "immune", "row {privy}");
        assert_eq!(r["immune_from"]["scenario"], tempo, "row {privy}");
        assert_eq!(r["immune_from"]["platform"], "tempo", "row {privy}");
        assert_eq!(r["code"], rows[tempo - 1]["code"]);
    }

    let out = helix()
        .args(["genes", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
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
    let out = helix()
        .args(["demo", "--json", "--rows", "1,18", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    for r in json_of(&out).as_array().unwrap() {
        assert_eq!(
            r["first_pass"], "immune",
            "genes persisted across processes"
        );
    }
}

#[test]
fn classify_prints_json() {
    let out = helix()
        .args([
            "classify",
            "--json",
            "nonce too low: next nonce 5, tx nonce 3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
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
