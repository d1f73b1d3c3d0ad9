//! `helix registry serve` as a process a user runs, and `helix gene` as a
//! person uses it: a push from a Gene Map checked on anvil, list, show and
//! pull into another Gene Map; bad input refused with clear errors;
//! metrics behind the token.

use std::process::Command;

use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::SqliteGeneStore;
use helix_lab::onchain::stablecoin_chain;
use helix_lab::registry::agent_with_a_tx;
use serde_json::{Value, json};

use crate::common;
use common::{SERVE_TOKEN, Server, get_json, helix, key_file, serve_cmd, start};

const TOKEN: &str = "registry-test-token-0123456789";

fn serve(db: &str, rpc: &str, extra: &[&str]) -> (Server, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args([
        "registry",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db,
        "--rpc",
        rpc,
    ])
    .args(extra)
    .env("HELIX_REGISTRY_TOKEN", TOKEN);
    start(cmd, "listening on ", false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_pushes_lists_shows_and_pulls_genes_through_the_served_registry() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let dir = tempfile::tempdir().unwrap();
    let reg_db = dir.path().join("registry.db").display().to_string();
    let (_server, base) = serve(&reg_db, &anvil.url, &[]);

    // An agent's own Gene Map with a verified gene, and its key in a file.
    let (wallet, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let key_file = key_file(dir.path(), "agent.key", &wallet);
    let a_db = dir.path().join("a.db").display().to_string();
    let key = GeneKey {
        code: FailureCode::PaymentInsufficient,
        category: Category::Balance,
    };
    let a = SqliteGeneStore::open(&a_db).unwrap();
    a.record(&Outcome {
        params: json!({ "max_slippage_bps": 50, "topped_up": "123456" }),
        ms: 800,
        ..Outcome::new(key, StrategyId::SwapCurrency, Platform::Tempo, true)
    })
    .await
    .unwrap();

    let tx = tx.to_string();
    let push = || {
        helix(&[
            "gene",
            "push",
            "payment-insufficient/balance",
            "--registry",
            &base,
            "--key-file",
            &key_file,
            "--tx",
            &tx,
            "--chain-id",
            "31337",
            "--db",
            &a_db,
            "--json",
        ])
    };
    let (code, out, err) = push();
    assert_eq!(code, 0, "{err}");
    let pushed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(pushed["verified_agents"], 1);
    assert_eq!(
        pushed["params"],
        json!({ "max_slippage_bps": 50 }),
        "the amount stayed home"
    );
    let id = pushed["id"].as_str().unwrap().to_owned();

    // The same push again from the same transaction: merged, not counted twice.
    let (code, out, err) = push();
    assert_eq!(code, 0, "{err}");
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            again["pushes"].as_u64(),
            again["verified_evidence"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let (code, out, _) = helix(&["gene", "list", "--registry", &base]);
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("swap_currency"), "{out}");
    let (code, out, _) = helix(&["gene", "show", &id, "--registry", &base, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["id"],
        id.as_str()
    );

    // Another agent pulls it into its own, empty Gene Map.
    let b_db = dir.path().join("b.db").display().to_string();
    let (code, out, err) = helix(&[
        "gene",
        "pull",
        "payment-insufficient/balance",
        "--registry",
        &base,
        "--db",
        &b_db,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kept in"), "{out}");
    let b = SqliteGeneStore::open(&b_db).unwrap();
    let held = b.lookup(key).await.unwrap().expect("held by B");
    assert_eq!(held.source, helix_core::GeneSource::Registry);
    let (code, _, err) = helix(&["gene", "pull", "rate-limited/throttle", "--registry", &base]);
    assert_eq!(code, 1, "nothing for that key");
    assert!(err.contains("no gene for rate-limited/throttle"), "{err}");
    let (code, _, err) = helix(&["gene", "pull", "not-a-key", "--registry", &base]);
    assert_eq!(code, 2);
    assert!(err.contains("not code/category"), "{err}");

    // Bad input over HTTP: clear errors, nothing stored.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/v1/genes"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["reason"], "malformed");
    // The server answers 413 without reading the rest and closes the
    // connection, so this request gets a client (and connection) of its own.
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/genes"))
        .body(vec![b'x'; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = http
        .get(format!("{base}/v1/genes?code=nope&category=balance"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{base}/v1/genes/0x12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let m = http
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("helix_registry_pushes_total 2"), "{m}");
    let stats: Value = http
        .get(format!("{base}/v1/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["genes"].as_u64(), stats["pushes"].as_u64()),
        (Some(1), Some(2))
    );
    // `helix config check` sees the registry answer.
    let toml = dir.path().join("helix.toml");
    std::fs::write(&toml, format!("[registry]\nurl = \"{base}\"\n")).unwrap();
    let (code, out, err) = helix(&[
        "config",
        "check",
        "--json",
        "--config",
        &toml.display().to_string(),
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("registry answered: 1 genes"), "{out}");

    // `helix serve` joined to it shows the registry on its dashboard's
    // network view: the top gene and the two pushes, behind its own token.
    let (_served, served) = start(
        serve_cmd(&toml, &dir.path().join("served.db")),
        "serving on ",
        true,
    );
    let view = get_json(&http, &format!("{served}/v1/network"), SERVE_TOKEN).await;
    let r = &view["registry"];
    assert_eq!(r["stats"]["pushes"], 2, "{view}");
    assert_eq!(r["top"].as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(
        r["recent"]["pushes"].as_array().map(Vec::len),
        Some(2),
        "{view}"
    );

    let doc: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path) in helix_registry::server::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} documented"
        );
    }
}

/// `helix serve` with `[registry] subscribe` follows the broadcast: a gene
/// pushed by an agent reaches its Gene Map before it ever failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helix_serve_follows_the_registry_broadcast_for_its_keys() {
    let nats = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    let dir = tempfile::tempdir().unwrap();
    let reg_db = dir.path().join("registry.db").display().to_string();
    // A channel of its own: other registries on this NATS (tests running
    // beside it) broadcast the same keys.
    let channel = format!("cli-test-{:016x}", rand::random::<u64>());
    let (_registry, base) = serve(
        &reg_db,
        &anvil.url,
        &["--nats", &nats, "--channel", &channel],
    );

    let toml = dir.path().join("helix.toml");
    std::fs::write(
        &toml,
        format!(
            "[registry]\nurl = \"{base}\"\nsubscribe = [\"payment-insufficient/balance\"]\n\
             channel = \"{channel}\"\n[events]\nnats = \"{nats}\"\n"
        ),
    )
    .unwrap();
    let served_db = dir.path().join("served.db").display().to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &served_db,
        "--config",
    ])
    .arg(&toml)
    .env("HELIX_API_TOKEN", TOKEN);
    let (_api_server, api) = start(cmd, "serving on ", true);

    // An agent pushes a proven gene to the registry.
    let (wallet, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let push = helix_lab::registry::signed_push(
        &wallet.signer(),
        helix_lab::registry::shared_gene(
            GeneKey {
                code: FailureCode::PaymentInsufficient,
                category: Category::Balance,
            },
            StrategyId::SwapCurrency,
            json!({ "max_slippage_bps": 40 }),
            1,
        ),
        tx,
    );
    let stored = helix_registry::client::RegistryClient::new(&base)
        .unwrap()
        .push(&push)
        .await
        .unwrap();
    assert!(stored.quality >= helix_registry::quality::PULL_THRESHOLD);

    // helix serve's own Gene Map holds it, as a registry gene.
    let http = reqwest::Client::new();
    let mut held = None;
    for _ in 0..50 {
        let genes: Value = http
            .get(format!("{api}/v1/genes"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        held = genes["genes"].as_array().and_then(|a| {
            a.iter()
                .find(|g| {
                    g["strategy"] == "swap_currency"
                        && g["params"] == json!({ "max_slippage_bps": 40 })
                })
                .cloned()
        });
        if held.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let held = held.expect("the broadcast reached helix serve's Gene Map");
    assert_eq!(held["source"], "registry", "{held}");

    // `helix config check` names a channel the registry does not use.
    let check = |channel: &str| {
        let path = dir.path().join(format!("check-{channel}.toml"));
        std::fs::write(
            &path,
            format!(
                "[registry]\nurl = \"{base}\"\nchannel = \"{channel}\"\n[events]\nnats = \"{nats}\"\n"
            ),
        )
        .unwrap();
        helix(&[
            "config",
            "check",
            "--json",
            "--config",
            &path.display().to_string(),
        ])
    };
    let (code, out, err) = check(&channel);
    assert_eq!(code, 0, "{out} {err}");
    let (code, out, _) = check("elsewhere");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "the registry broadcasts on channel \\\"{channel}\\\""
        )),
        "{out}"
    );
}
