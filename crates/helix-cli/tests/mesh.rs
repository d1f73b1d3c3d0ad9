//! `helix mesh serve` as a user runs it: two node processes, an agent on
//! each, a message from one to the other; a bad node name is refused;
//! `helix serve`'s dashboard shows who is connected and the sagas in flight.

use std::process::Command;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use helix_mesh::MeshClient;
use helix_mesh::saga::{Action, Plan, SagaLog, Step, Transfer};
use serde_json::json;

use crate::common::{SERVE_TOKEN, Server, get_json, serve_cmd, start};

/// A `helix mesh serve` process; answers it and its HTTP base.
fn node(name: &str) -> (Server, String, String) {
    let nats = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
    cmd.args([
        "mesh",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--node",
        name,
        "--nats",
        &nats,
    ])
    .args(["--redis", "redis://127.0.0.1:6379"])
    .env("HELIX_MESH_TOKEN", TOKEN);
    let (server, url) = start(cmd, "listening on ", false);
    let base = url
        .replace("ws://", "http://")
        .trim_end_matches("/v1/connect")
        .to_owned();
    (server, url, base)
}

const TOKEN: &str = "mesh-cli-test-token-0123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_processes_carry_a_message_between_their_agents() {
    let (_n1, url1, _) = node("cli-n1");
    let (_n2, url2, _) = node("cli-n2");
    let (ka, kb) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let a = MeshClient::connect(&url1, &ka).await.unwrap();
    let mut b = MeshClient::connect(&url2, &kb).await.unwrap();
    a.send(kb.address(), "hello-b", json!({"job": 7}))
        .await
        .unwrap();
    let got = b
        .recv(Duration::from_secs(5))
        .await
        .expect("delivered across processes");
    assert_eq!(
        (got.from, got.body["job"].as_u64()),
        (ka.address(), Some(7))
    );

    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args([
            "mesh",
            "serve",
            "--node",
            "no spaces",
            "--nats",
            "nats://127.0.0.1:4222",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("letters, digits or dashes"));
}

/// `helix serve` joined to a node and a saga log shows, on its network
/// view, the agents connected to the node and a saga in flight with each
/// step's payment; a corrupt saga row is shown with its error, not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helix_serve_shows_the_connected_agents_and_the_sagas_in_flight() {
    let pg = std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (_n, url, base) = node("cli-view");
    let (ka, kb) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let _a = MeshClient::connect(&url, &ka).await.unwrap();
    let _b = MeshClient::connect(&url, &kb).await.unwrap();
    let http = reqwest::Client::new();
    let agents = http.get(format!("{base}/v1/agents")).send().await.unwrap();
    assert_eq!(agents.status().as_u16(), 401, "the list needs the token");

    let log = SagaLog::connect(&pg).await.unwrap();
    let (c, conn) = tokio_postgres::connect(&pg, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    // What a failed run of this test left behind.
    let forget = "DELETE FROM saga_actions WHERE saga_id LIKE 'view-%'; \
                  DELETE FROM saga_runs WHERE id LIKE 'view-%';";
    c.batch_execute(forget).await.unwrap();
    let id = format!("view-{:016x}", rand::random::<u64>());
    let token = Address::repeat_byte(0x20);
    let plan = Plan {
        id: id.clone(),
        steps: vec![
            Step {
                name: "a pays b".into(),
                pay: Transfer {
                    from: ka.address(),
                    to: kb.address(),
                    token,
                    amount: 1_500_000,
                },
            },
            Step {
                name: "b pays c".into(),
                pay: Transfer {
                    from: kb.address(),
                    to: Address::repeat_byte(0xc3),
                    token,
                    amount: 2_000_000,
                },
            },
        ],
    };
    log.begin(&plan).await.unwrap();
    log.sent(&id, Action::Pay(0), "0xfeed01", 7).await.unwrap();
    log.done(&id, Action::Pay(0), "0xfeed01").await.unwrap();
    log.sent(&id, Action::Pay(1), "0xfeed02", 8).await.unwrap();
    let corrupt = format!("{id}-corrupt");
    c.execute(
        "INSERT INTO saga_runs (id, plan, state, created_at, updated_at) VALUES ($1, 'not json', 'forward', $2, $2)",
        &[&corrupt, &helix_core::gene::now_ms()],
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("helix.toml");
    std::fs::write(
        &toml,
        format!("[mesh]\nnodes = [\"{base}\"]\nsaga_log = \"{pg}\"\n"),
    )
    .unwrap();
    let serve = |mesh_token: Option<&str>| {
        let mut cmd = serve_cmd(&toml, &dir.path().join("served.db"));
        cmd.env_remove("HELIX_MESH_TOKEN");
        if let Some(t) = mesh_token {
            cmd.env("HELIX_MESH_TOKEN", t);
        }
        cmd
    };
    // `helix config check` sees the node and the log answer, and says
    // which token is missing.
    let check = |mesh_token: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helix"));
        cmd.args(["config", "check", "--json", "--config"])
            .arg(&toml)
            .env_remove("HELIX_MESH_TOKEN");
        if let Some(t) = mesh_token {
            cmd.env("HELIX_MESH_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check(Some(TOKEN));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("mesh.saga_log") && out.contains("HELIX_MESH_TOKEN set"),
        "{out}"
    );
    let (code, out) = check(None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("HELIX_MESH_TOKEN is not set"), "{out}");
    // The same from the environment alone (as a container is configured).
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["config", "check", "--json", "--config"])
        .arg(&bare)
        .env("HELIX_MESH_NODES", &base)
        .env("HELIX_SAGA_LOG", &pg)
        .env("HELIX_MESH_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("mesh.nodes") && text.contains("mesh.saga_log"),
        "{text}"
    );

    let out = serve(None).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HELIX_MESH_TOKEN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_served, served) = start(serve(Some(TOKEN)), "serving on ", true);
    let view = get_json(&http, &format!("{served}/v1/network"), SERVE_TOKEN).await;
    let node = &view["mesh"]["nodes"][0];
    assert_eq!(node["node"], "cli-view", "{view}");
    let mut online: Vec<Address> = node["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap().parse().unwrap())
        .collect();
    online.sort();
    let mut want = vec![ka.address(), kb.address()];
    want.sort();
    assert_eq!(online, want, "{view}");

    let sagas = view["mesh"]["sagas"].as_array().expect("sagas listed");
    let saga = sagas.iter().find(|s| s["id"] == id.as_str()).expect("ours");
    assert_eq!(
        (saga["state"].as_str(), saga["in_flight"].as_bool()),
        (Some("forward"), Some(true))
    );
    let steps = saga["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["pay"],
        json!({"status": "done", "hash": "0xfeed01"})
    );
    assert_eq!(
        steps[1]["pay"],
        json!({"status": "sent", "hash": "0xfeed02"})
    );
    assert_eq!(steps[1]["refund"]["status"], "untouched");
    assert_eq!(steps[1]["amount"], "2000000");
    let bad = sagas
        .iter()
        .find(|s| s["id"] == corrupt.as_str())
        .expect("a corrupt row is listed, not dropped");
    assert!(
        bad["error"].as_str().unwrap().contains("plan unreadable"),
        "{bad}"
    );
    c.batch_execute(forget).await.unwrap();

    // A saga log that is down: helix serve still starts and serves, and
    // the view says why there are no sagas.
    let dead = dir.path().join("dead.toml");
    std::fs::write(
        &dead,
        "[mesh]\nsaga_log = \"postgres://postgres@127.0.0.1:1/test\"\n",
    )
    .unwrap();
    let (_down, down) = start(
        serve_cmd(&dead, &dir.path().join("down.db")),
        "serving on ",
        true,
    );
    let view = get_json(&http, &format!("{down}/v1/network"), SERVE_TOKEN).await;
    assert!(
        view["mesh"]["sagas"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("the saga log")),
        "{view}"
    );
}
