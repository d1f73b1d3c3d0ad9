//! `helix mesh serve` as a user runs it: two node processes, an agent on
//! each, a message from one to the other; a bad node name is refused.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use helix_mesh::MeshClient;
use serde_json::json;

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn node(name: &str) -> (Node, String) {
    let nats = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args([
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
        .env("HELIX_MESH_TOKEN", "mesh-cli-test-token-0123")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("helix mesh serve exited").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Node(child), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_processes_carry_a_message_between_their_agents() {
    let (_n1, url1) = node("cli-n1");
    let (_n2, url2) = node("cli-n2");
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
