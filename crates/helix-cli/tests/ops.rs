//! Operations, live: a real Prometheus (Debian's, from
//! `scripts/prometheus.sh`) runs the committed `ops/prometheus`
//! configuration and scrapes `helix serve`, `helix registry serve`
//! (PostgreSQL primary and replica from `scripts/cluster.sh`) and
//! `helix mesh serve`, each with its bearer token; its answers are
//! queried. The Grafana dashboard names only metrics these services export.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helix_lab::onchain::stablecoin_chain;
use serde_json::Value;

use crate::common::{Server, start};

const SERVE_TOKEN: &str = "ops-serve-token-0123456789abcdef";
const REGISTRY_TOKEN: &str = "ops-registry-token-0123456789";
const MESH_TOKEN: &str = "ops-mesh-token-0123456789";
const EVOLVE_TOKEN: &str = "ops-evolve-token-0123456789";
const ODE_TOKEN: &str = "ops-ode-token-0123456789";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn helix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helix"))
}

/// `host:port` of a URL the servers print.
fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string()
}

/// Every metric name a `/metrics` body declares (`# TYPE` lines), with a
/// histogram's `_bucket`, `_sum` and `_count` series.
fn exported(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in body.lines() {
        let mut w = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (w.next(), w.next(), w.next(), w.next())
        {
            out.insert(name.to_string());
            if kind == "histogram" {
                for s in ["_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{s}"));
                }
            }
        }
    }
    out
}

/// The `helix_…` metric names in a PromQL expression.
fn named(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("helix_") {
        let s = i + at;
        let mut e = s;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
            e += 1;
        }
        // Part of a longer identifier (a label value like job="helix-…" has a dash).
        if s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
            out.push(expr[s..e].to_string());
        }
        i = e;
    }
    out
}

async fn metrics(http: &reqwest::Client, base: &str, token: &str) -> String {
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{base}/metrics: {}", r.status());
    r.text().await.unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus API answer (`path` with `params`), checked for success.
async fn prom_api(http: &reqwest::Client, url: &str, params: &[(&str, &str)]) -> Value {
    let v: Value = http
        .get(url)
        .query(params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "success", "{url} {params:?}: {v}");
    v
}

async fn query(http: &reqwest::Client, prom: &str, q: &str) -> Vec<Value> {
    let v = prom_api(http, &format!("{prom}/api/v1/query"), &[("query", q)]).await;
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_service_and_the_dashboard_names_only_exported_metrics() {
    let bin = std::env::var("HELIX_PROMETHEUS").expect(
        "HELIX_PROMETHEUS: the directory scripts/prometheus.sh prints (scripts/test.sh exports it)",
    );
    let dir = tempfile::tempdir().unwrap();
    let (anvil, _) = stablecoin_chain().await.expect("anvil (scripts/tools.sh)");

    // The three services, each as a user runs it.
    let mut serve = helix();
    serve
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "auto",
            "--budget-usd",
            "5",
        ])
        .arg("--db")
        .arg(dir.path().join("genes.db"))
        .arg("--budget-db")
        .arg(dir.path().join("budget.db"))
        .env("HELIX_API_TOKEN", SERVE_TOKEN);
    let (_serve, serve_url) = start(serve, "serving on ", true);
    let primary = std::env::var("HELIX_TEST_REGISTRY_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5440/registry".into());
    let replica = std::env::var("HELIX_TEST_REGISTRY_REPLICA")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5441/registry".into());
    let mut registry = helix();
    registry
        .args([
            "registry",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &primary,
        ])
        .args(["--replica", &replica, "--rpc", &anvil.url])
        .env("HELIX_REGISTRY_TOKEN", REGISTRY_TOKEN);
    let (_registry, registry_url) = start(registry, "listening on ", false);
    let nats = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut mesh = helix();
    mesh.args([
        "mesh",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--node",
        "ops-n1",
    ])
    .args(["--nats", &nats, "--redis", "redis://127.0.0.1:6379"])
    .env("HELIX_MESH_TOKEN", MESH_TOKEN);
    let (_mesh, mesh_url) = start(mesh, "listening on ", false);
    let mesh_base = format!("http://{}", host_port(&mesh_url));
    // The evolution worker, following a stream of this test's own.
    let stream = format!("opsevolve{:016x}", rand::random::<u64>());
    let mut evolve = helix();
    evolve
        .args(["evolve", "--metrics-listen", "127.0.0.1:0", "--nats", &nats])
        .args(["--stream", &stream, "--prefix", &stream])
        .arg("--db")
        .arg(dir.path().join("evolve.db"))
        .env("HELIX_EVOLVE_TOKEN", EVOLVE_TOKEN);
    let (_evolve, evolve_url) = start(evolve, "listening on ", true);
    // The intent server, on a Temporal dev server of this test's own (its
    // LLM is never asked here).
    let temporal = helix_lab::temporal::TemporalDev::start().await.unwrap();
    let mut ode = helix();
    ode.args([
        "ode",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--temporal",
        &temporal.url,
    ])
    .env("HELIX_ODE_TOKEN", ODE_TOKEN)
    .env("ANTHROPIC_API_KEY", "unused")
    .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9");
    let (_ode, ode_url) = start(ode, "intent server on ", true);

    // What they export, and what the dashboard asks for.
    let http = reqwest::Client::new();
    let mut names = BTreeSet::new();
    for (base, token) in [
        (serve_url.as_str(), SERVE_TOKEN),
        (registry_url.as_str(), REGISTRY_TOKEN),
        (mesh_base.as_str(), MESH_TOKEN),
        (evolve_url.as_str(), EVOLVE_TOKEN),
        (ode_url.as_str(), ODE_TOKEN),
    ] {
        names.extend(exported(&metrics(&http, base, token).await));
    }
    let anonymous = http
        .get(format!("{evolve_url}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "the worker's metrics need the token"
    );
    for must in [
        "helix_repairs_total",
        "helix_budget_cap_micro_usd",
        "helix_gene_demotions_total",
        "helix_registry_replica_lag_bytes",
        "helix_mesh_delivery_seconds_bucket",
        "helix_evolve_retunes_total",
        "helix_ode_objectives_total",
    ] {
        assert!(names.contains(must), "{must} is not exported: {names:?}");
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("ops/grafana/helix-dashboard.json")).unwrap(),
    )
    .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for p in panels {
        let exprs: Vec<&str> = p["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["expr"].as_str())
            .collect();
        assert!(!exprs.is_empty(), "panel {} queries nothing", p["title"]);
        for e in exprs {
            for n in named(e) {
                assert!(
                    names.contains(&n),
                    "panel {} names {n}, which no service exports",
                    p["title"]
                );
            }
        }
    }

    // Prometheus on the committed configuration: targets and tokens in
    // files beside it, scraped every second.
    let ops = dir.path().join("prometheus");
    std::fs::create_dir_all(ops.join("targets")).unwrap();
    std::fs::create_dir_all(ops.join("tokens")).unwrap();
    let config = std::fs::read_to_string(repo().join("ops/prometheus/prometheus.yml"))
        .unwrap()
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    std::fs::write(ops.join("prometheus.yml"), config).unwrap();
    std::fs::copy(
        repo().join("ops/prometheus/alerts.yml"),
        ops.join("alerts.yml"),
    )
    .unwrap();
    for (job, url, token) in [
        ("helix-serve", serve_url.as_str(), SERVE_TOKEN),
        ("helix-registry", registry_url.as_str(), REGISTRY_TOKEN),
        ("helix-mesh", mesh_url.as_str(), MESH_TOKEN),
        ("helix-evolve", evolve_url.as_str(), EVOLVE_TOKEN),
        ("helix-ode", ode_url.as_str(), ODE_TOKEN),
    ] {
        let targets = serde_json::json!([{ "targets": [host_port(url)] }]);
        std::fs::write(ops.join(format!("targets/{job}.json")), targets.to_string()).unwrap();
        std::fs::write(ops.join(format!("tokens/{job}.token")), token).unwrap();
    }
    let port = free_port();
    let prom = format!("http://127.0.0.1:{port}");
    let _prometheus = Server(
        Command::new(Path::new(&bin).join("prometheus"))
            .arg(format!(
                "--config.file={}",
                ops.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                ops.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let up = loop {
        let up = match http
            .get(format!("{prom}/api/v1/query"))
            .query(&[("query", "up")])
            .send()
            .await
        {
            Ok(r) => r.json::<Value>().await.ok(),
            Err(_) => None,
        };
        let series = up
            .as_ref()
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default();
        if series.len() == 5 && series.iter().all(|s| s["value"][1] == "1") {
            break series;
        }
        assert!(Instant::now() < deadline, "not every target up: {up:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let jobs: BTreeSet<&str> = up
        .iter()
        .filter_map(|s| s["metric"]["job"].as_str())
        .collect();
    assert_eq!(
        jobs,
        BTreeSet::from([
            "helix-evolve",
            "helix-mesh",
            "helix-ode",
            "helix-registry",
            "helix-serve"
        ])
    );

    // What Prometheus now knows, from each service.
    let cap = query(&http, &prom, "helix_budget_cap_micro_usd").await;
    assert_eq!(cap[0]["value"][1], "5000000", "{cap:?}");
    let replica = query(&http, &prom, "helix_registry_replica_up").await;
    assert_eq!(
        replica[0]["value"][1], "1",
        "the replica answered its probe: {replica:?}"
    );
    let started = query(
        &http,
        &prom,
        "helix_ode_objectives_total{outcome=\"started\"}",
    )
    .await;
    assert_eq!(started[0]["value"][1], "0", "{started:?}");
    let genes = query(&http, &prom, "helix_evolve_genes").await;
    assert_eq!(genes[0]["value"][1], "0", "{genes:?}");
    let nodes = query(&http, &prom, "helix_mesh_connected").await;
    assert_eq!(nodes[0]["metric"]["node"], "ops-n1", "{nodes:?}");
    // The alert rules are loaded and evaluated.
    let rules = prom_api(&http, &format!("{prom}/api/v1/rules"), &[]).await;
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(loaded, 7, "{rules}");
    // The worker's stream was this test's alone.
    let js = async_nats::jetstream::new(async_nats::connect(nats.as_str()).await.unwrap());
    let _ = js.delete_stream(&stream).await;
}

#[test]
fn metric_names_are_read_from_expressions() {
    assert_eq!(
        named("sum(helix_a_total) / helix_b{job=\"helix-serve\"} + x_helix_c"),
        ["helix_a_total", "helix_b"]
    );
    let body = "# HELP helix_x X.\n# TYPE helix_x histogram\nhelix_x_bucket{le=\"1\"} 0\n";
    assert!(exported(body).contains("helix_x_count"));
}
