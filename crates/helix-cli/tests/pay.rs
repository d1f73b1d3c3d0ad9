//! `helix pay` against an MPP server on a real chain: Tempo's own `mpp`
//! server on anvil charges AlphaUSD; the agent holds only BetaUSD. In `auto`
//! mode (no fund moves) the payment is refused with the repair it needs; in
//! `full` mode Helix buys AlphaUSD on the StablecoinDEX and pays; a second
//! agent sharing the Gene Map is immune on its first payment.

use std::process::Command;

use helix_lab::mpp_server::MppServer;
use helix_lab::onchain::{stablecoin_chain, token};
use serde_json::Value;

const UNIT: u128 = 1_000_000;

/// A fresh agent key in a file only its owner reads, and its address.
fn key_file(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, helix_tempo::Wallet) {
    let bytes: [u8; 32] = rand_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(name);
    std::fs::write(&path, format!("0x{hex}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let w = helix_tempo::Wallet::from_file(&path).unwrap();
    (path, w)
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    for chunk in b.chunks_mut(16) {
        chunk.copy_from_slice(&rand::random::<u128>().to_be_bytes());
    }
    b[0] |= 1;
    b
}

fn pay(
    url: &str,
    key: &std::path::Path,
    rpc: &str,
    mode: &str,
    db: &std::path::Path,
) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["pay", url, "--rpc", rpc, "--mode", mode, "--json", "--db"])
        .arg(db)
        .arg("--key-file")
        .arg(key)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.success(), v["paid"] == true, "{v}");
    (out.status.success(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pays_after_a_dex_swap_in_full_mode_refuses_in_auto_and_is_immune_after() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let merchant = helix_tempo::Wallet::random().address();
    let server = MppServer::start(
        &anvil.url,
        anvil.chain_id,
        &merchant.to_string(),
        &[token(1).to_string()],
    )
    .await
    .unwrap();
    let url = format!("{}/paid", server.url);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let fund = |w: &helix_tempo::Wallet| {
        let (funder, addr) = (funder.clone(), w.address());
        async move {
            funder
                .transfer(token(2), addr, 10 * UNIT, helix_tempo::SendOpts::default())
                .await
                .unwrap();
        }
    };
    let paid_to_merchant = || {
        let funder = funder.clone();
        async move { funder.balance(token(1), merchant).await.unwrap() }
    };

    // auto: the repair moves funds, so it is recommended, not performed.
    let (key, agent) = key_file(dir.path(), "a.key");
    fund(&agent).await;
    let (ok, v) = tokio::task::spawn_blocking({
        let (url, rpc, db, key) = (url.clone(), anvil.url.clone(), db.clone(), key.clone());
        move || pay(&url, &key, &rpc, "auto", &db)
    })
    .await
    .unwrap();
    assert!(!ok);
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("swap_currency") && error.contains("--mode full"),
        "{error}"
    );
    assert_eq!(paid_to_merchant().await, 0, "nothing paid in auto mode");

    // full: swap on the DEX, then pay.
    let (ok, v) = tokio::task::spawn_blocking({
        let (url, rpc, db, key) = (url.clone(), anvil.url.clone(), db.clone(), key.clone());
        move || pay(&url, &key, &rpc, "full", &db)
    })
    .await
    .unwrap();
    assert!(ok, "{v}");
    assert_eq!(
        v["report"]["repairs"][0]["strategy"], "swap_currency",
        "{v}"
    );
    assert_eq!(v["immune"], false);
    assert!(v["receipt"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(paid_to_merchant().await, UNIT / 2);

    // Another agent sharing the Gene Map: immune on its first payment.
    let (key2, agent2) = key_file(dir.path(), "b.key");
    fund(&agent2).await;
    let (ok, v) = tokio::task::spawn_blocking({
        let (url, rpc, db) = (url.clone(), anvil.url.clone(), db.clone());
        move || pay(&url, &key2, &rpc, "full", &db)
    })
    .await
    .unwrap();
    assert!(ok, "{v}");
    assert_eq!(v["immune"], true, "{v}");
    assert_eq!(paid_to_merchant().await, UNIT);
}
