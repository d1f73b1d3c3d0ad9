//! The trust layer end to end on anvil in tempo mode: the contracts
//! deployed by the lab's script (0x76 transactions naming their fee token);
//! the registry anchors a gene pushed with verified evidence; `helix gene
//! verify` says valid, then reports the gene altered in the registry's
//! database as not matching its anchor; an agent that accepts only
//! anchored genes ignores the altered gene; `helix serve`'s gene detail
//! says the same (valid, then MISMATCH); a staker proposes, votes, waits
//! out the timelock (anvil time travel) and executes, and the registry's
//! pull threshold follows.

use std::sync::Arc;
use std::time::Duration;

use helix_core::{Category, FailureCode, GeneKey, GeneStore, MemoryGeneStore, StrategyId};
use helix_lab::contracts::deploy;
use helix_lab::onchain::{funded_agent, stablecoin_chain, token};
use helix_lab::registry::{LabRegistry, agent_with_a_tx, shared_gene, signed_push};
use helix_registry::anchor::AnchorReader;
use helix_registry::client::{AnchoredOnly, LayerConfig, RegistryClient, RegistryGeneStore};
use helix_registry::store::SqliteRegistry;
use helix_tempo::TempoChain;
use serde_json::{Value, json};

use crate::common;
use common::{SERVE_TOKEN, get_json, helix, key_file, serve_cmd, start};

const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

fn agent(inner: Arc<dyn GeneStore>, url: &str) -> RegistryGeneStore {
    RegistryGeneStore::new(
        inner,
        RegistryClient::new(url).unwrap(),
        None,
        LayerConfig {
            pull_timeout: Duration::from_secs(3),
            ..LayerConfig::default()
        },
    )
}

async fn rpc(url: &str, method: &str, params: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchors_verify_alterations_show_and_governance_moves_the_registry() {
    let (anvil, funder) = stablecoin_chain()
        .await
        .expect("anvil (run scripts/tools.sh)");
    // The registry's anchoring key and a HELIX holder, each holding
    // AlphaUSD for fees and nothing else.
    let registry_key = funded_agent(&funder, token(1), 100_000_000).await.unwrap();
    let holder = funded_agent(&funder, token(1), 100_000_000).await.unwrap();
    let deployed = deploy(&funder, registry_key.address(), holder.address(), token(1))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.db");
    let mut lab = LabRegistry::on(&anvil.url);
    lab.store = Some(Arc::new(SqliteRegistry::open(&db).unwrap()));
    lab.anchoring = Some((
        TempoChain::connect(&anvil.url, &registry_key).unwrap(),
        deployed.anchor,
        token(1),
    ));
    lab.governance = Some((deployed.governance, Duration::from_millis(200)));
    let (server, registry) = lab.start().await.unwrap();
    let url = server.url();
    let client = RegistryClient::new(&url).unwrap();

    // A gene pushed with verified evidence is anchored.
    let (a, tx) = agent_with_a_tx(&funder, &anvil.url).await.unwrap();
    let gene = shared_gene(
        KEY,
        StrategyId::SwapCurrency,
        json!({ "max_slippage_bps": 50 }),
        1,
    );
    let stored = client
        .push(&signed_push(&a.signer(), gene, tx))
        .await
        .unwrap();
    let anchorer = registry.anchorer().unwrap().clone();
    for _ in 0..100 {
        if anchorer.anchored() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((anchorer.anchored(), anchorer.failed()), (1, 0));
    let id = stored.id.to_string();
    let (anchor, anchoring) = (
        deployed.anchor.to_string(),
        registry_key.address().to_string(),
    );
    let verify = || {
        helix(&[
            "gene",
            "verify",
            &id,
            "--registry",
            &url,
            "--anchor",
            &anchor,
            "--anchorer",
            &anchoring,
            "--rpc",
            &anvil.url,
        ])
    };
    let (code, out, err) = verify();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("valid"), "{out}");

    // `helix serve` joined to the registry, holding the gene it pulled,
    // shows on the gene's detail its quality there and its anchor's
    // verdict, read on chain.
    let served_db = dir.path().join("served.db");
    let pulled = agent(
        Arc::new(helix_genemap::SqliteGeneStore::open(&served_db).unwrap()),
        &url,
    );
    assert!(pulled.lookup(KEY).await.unwrap().is_some(), "pulled");
    drop(pulled);
    // A gene this agent learned alone, which the registry never saw.
    let own = helix_core::Outcome::new(
        GeneKey {
            code: FailureCode::RateLimited,
            category: Category::Throttle,
        },
        StrategyId::WaitAndRetry,
        helix_core::Platform::Http,
        true,
    );
    helix_genemap::SqliteGeneStore::open(&served_db)
        .unwrap()
        .record(&own)
        .await
        .unwrap();
    let toml = dir.path().join("helix.toml");
    std::fs::write(
        &toml,
        format!(
            "[chain]\nrpc = \"{}\"\n[registry]\nurl = \"{url}\"\nanchor = \"{anchor}\"\nanchorer = \"{anchoring}\"\n",
            anvil.url
        ),
    )
    .unwrap();
    let (_served, served) = start(serve_cmd(&toml, &served_db), "serving on ", true);
    let http = reqwest::Client::new();
    let detail = format!("{served}/v1/genes/payment-insufficient/balance/swap_currency");
    let d = get_json(&http, &detail, SERVE_TOKEN).await;
    let r = &d["registry"];
    assert_eq!(
        (r["known"].as_bool(), r["id"].as_str()),
        (Some(true), Some(id.as_str())),
        "{d}"
    );
    assert!(r["quality"].as_f64().is_some(), "{d}");
    assert!(r["anchor"].as_str().unwrap().starts_with("valid"), "{d}");
    let d = get_json(
        &http,
        &format!("{served}/v1/genes/rate-limited/throttle/wait_and_retry"),
        SERVE_TOKEN,
    )
    .await;
    assert_eq!(
        (
            d["registry"]["known"].as_bool(),
            d["registry"]["quality"].as_f64()
        ),
        (Some(false), None),
        "a gene the registry never saw: {d}"
    );

    // Someone with the registry's database alters the gene.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE reg_genes SET params = '{\"max_slippage_bps\":9999}' WHERE id = ?1",
            [&id],
        )
        .unwrap();
    let (code, out, _) = verify();
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("MISMATCH"), "{out}");
    let d = get_json(&http, &detail, SERVE_TOKEN).await;
    assert!(
        d["registry"]["anchor"]
            .as_str()
            .unwrap()
            .starts_with("MISMATCH"),
        "the altered gene on the dashboard: {d}"
    );

    // An agent that accepts only anchored genes ignores it; one that does
    // not takes it.
    let reader = AnchorReader::new(&anvil.url, deployed.anchor, registry_key.address());
    let careful = agent(
        Arc::new(AnchoredOnly::new(Arc::new(MemoryGeneStore::new()), reader)),
        &url,
    );
    assert!(
        careful.lookup(KEY).await.unwrap().is_none(),
        "the altered gene is ignored"
    );
    let trusting = agent(Arc::new(MemoryGeneStore::new()), &url);
    let taken = trusting
        .lookup(KEY)
        .await
        .unwrap()
        .expect("served and taken");
    assert_eq!(taken.params, json!({ "max_slippage_bps": 9999 }));

    // Governance: stake behind the anchored gene, propose, vote, wait out
    // the timelock, execute.
    let holder_key = key_file(dir.path(), "holder.key", &holder);
    let (staking, governance) = (
        deployed.staking.to_string(),
        deployed.governance.to_string(),
    );
    let signing = [
        "--key-file",
        holder_key.as_str(),
        "--rpc",
        anvil.url.as_str(),
    ];
    let run = |args: &[&str]| {
        let all: Vec<&str> = args.iter().chain(signing.iter()).copied().collect();
        let (code, out, err) = helix(&all);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    };
    run(&["stake", &id, "200", "--staking", &staking]);
    let out = run(&[
        "gov",
        "propose",
        "--param",
        "pull_threshold_bps",
        "--value",
        "9000",
        "--governance",
        &governance,
    ]);
    assert!(out.starts_with("proposal 0"), "{out}");
    run(&["gov", "vote", "0", "--governance", &governance]);
    let (code, _, err) = helix(
        &[
            &["gov", "execute", "0", "--governance", &governance][..],
            &signing[..],
        ]
        .concat(),
    );
    assert_ne!(
        code, 0,
        "before the vote ends and the timelock passes: {err}"
    );
    rpc(&anvil.url, "evm_increaseTime", json!([7300])).await;
    rpc(&anvil.url, "evm_mine", json!([])).await;
    run(&["gov", "execute", "0", "--governance", &governance]);
    let params: Value = serde_json::from_str(&run(&[
        "gov",
        "params",
        "--json",
        "--governance",
        &governance,
    ]))
    .unwrap();
    assert_eq!(params["pull_threshold_bps"], "9000");

    // The registry follows: the gene (quality 0.35) is no longer served.
    for _ in 0..50 {
        if (registry.threshold() - 0.9).abs() < 1e-9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        (registry.threshold() - 0.9).abs() < 1e-9,
        "{}",
        registry.threshold()
    );
    assert!(client.pull(KEY).await.unwrap().is_none());
}
