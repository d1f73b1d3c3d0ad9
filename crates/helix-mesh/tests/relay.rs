//! Two relay nodes on the machine's NATS (JetStream) and Redis: agents on
//! different nodes reach each other; a message to an offline agent waits
//! and is delivered when it connects, on either node; what is not
//! acknowledged comes again, what is does not; a forged hello is refused;
//! an agent never receives another's messages.

use std::time::Duration;

use alloy::primitives::B256;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use futures_util::{SinkExt, StreamExt};
use helix_mesh::server::{Running, spawn};
use helix_mesh::wire::{Down, Up, hello_text};
use helix_mesh::{MeshClient, Relay, RelayConfig};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "mesh-test-token-0123456789";

fn nats() -> String {
    std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}
fn redis() -> String {
    std::env::var("HELIX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn node(name: &str) -> (Running, Relay) {
    // A short acknowledgement wait, so that "not sent again" can be checked
    // past it: a message the relay forgot to acknowledge comes back then.
    let cfg = RelayConfig {
        ack_wait: ACK_WAIT,
        ..RelayConfig::new(name)
    };
    let relay = Relay::connect(cfg, &nats(), Some(&redis()))
        .await
        .expect("NATS and Redis (scripts/services.sh)");
    (
        spawn(relay.clone(), TOKEN, "127.0.0.1:0").await.unwrap(),
        relay,
    )
}

const WAIT: Duration = Duration::from_secs(5);
const ACK_WAIT: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_two_nodes_reach_each_other_and_offline_agents_catch_up() {
    let (n1, _r1) = node("n1").await;
    let (n2, r2) = node("n2").await;
    let (ka, kb, kc) = (
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
    );
    let a = MeshClient::connect(&n1.connect_url(), &ka).await.unwrap();
    let mut b = MeshClient::connect(&n2.connect_url(), &kb).await.unwrap();
    assert_eq!((a.node(), b.node()), ("n1", "n2"));

    // Across nodes.
    a.send(
        kb.address(),
        "job-1",
        json!({"pay": "0.50", "for": "translation"}),
    )
    .await
    .unwrap();
    let got = b.recv(WAIT).await.expect("B received across nodes");
    assert_eq!((got.from, got.id.as_str()), (ka.address(), "job-1"));
    assert_eq!(got.body["for"], "translation");
    b.ack(&got).await.unwrap();

    // Presence: Redis says which node holds B.
    let p: serde_json::Value = reqwest::get(format!("{}/v1/agents/{}", n1.url(), kb.address()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (p["online"].as_bool(), p["node"].as_str()),
        (Some(true), Some("n2"))
    );

    // C is offline: the message waits, and reaches C on the other node.
    a.send(kc.address(), "for-c", json!({"n": 1}))
        .await
        .unwrap();
    let mut c = MeshClient::connect(&n1.connect_url(), &kc).await.unwrap();
    let got = c.recv(WAIT).await.expect("C caught up on connecting");
    assert_eq!(got.id, "for-c");
    // Not acknowledged: it comes again on the next connection, here n2.
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = MeshClient::connect(&n2.connect_url(), &kc).await.unwrap();
    // At once when the old connection's close was seen; at worst after the
    // acknowledgement wait.
    let again = c.recv(Duration::from_secs(15)).await.expect("redelivered");
    assert_eq!(again.id, "for-c");
    // An ack is queued for the connection's writer: closing (not
    // dropping) sends it before the goodbye, so the relay has it before it
    // hands back what was not acknowledged.
    c.ack(&again).await.unwrap();
    c.close(WAIT).await.unwrap();
    // n2 has then taken two: B's job-1 and this one.
    let t = std::time::Instant::now();
    while r2.metrics().acked_total() < 2 {
        assert!(t.elapsed() < WAIT, "the relay took the acknowledgement");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = MeshClient::connect(&n1.connect_url(), &kc).await.unwrap();
    assert!(
        c.recv(ACK_WAIT + Duration::from_millis(1_500))
            .await
            .is_none(),
        "acknowledged: not sent again, even past the acknowledgement wait"
    );

    // The same send twice (a retry) is stored once.
    a.send(kb.address(), "job-2", json!({})).await.unwrap();
    a.send(kb.address(), "job-2", json!({})).await.unwrap();
    let first = b.recv(WAIT).await.unwrap();
    b.ack(&first).await.unwrap();
    assert!(
        b.recv(Duration::from_millis(500)).await.is_none(),
        "one copy of job-2"
    );

    let m = reqwest::Client::new()
        .get(format!("{}/metrics", n2.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("helix_mesh_connected{node=\"n2\"} 1"), "{m}");
    assert_eq!(
        reqwest::get(format!("{}/metrics", n2.url()))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(r2.metrics().refused(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_hello_is_refused_and_nobody_reads_another_agents_inbox() {
    let (n1, r1) = node("n1").await;
    let (victim, thief) = (PrivateKeySigner::random(), PrivateKeySigner::random());

    // The thief signs the challenge with its own key but names the victim.
    let (mut ws, _) = tokio_tungstenite::connect_async(n1.connect_url())
        .await
        .unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("no challenge")
    };
    let Down::Challenge { node, nonce } = serde_json::from_str(&t).unwrap() else {
        panic!("{t}")
    };
    let sig = thief
        .sign_message_sync(hello_text(&node, nonce).as_bytes())
        .unwrap();
    let forged = Up::Hello {
        address: victim.address(),
        signature: sig.as_bytes().to_vec().into(),
    };
    ws.send(Message::Text(
        serde_json::to_string(&forged).unwrap().into(),
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("no answer")
    };
    let down: Down = serde_json::from_str(&t).unwrap();
    assert!(
        matches!(&down, Down::Error { reason, .. } if reason == "forged_hello"),
        "{down:?}"
    );
    // A replayed signature from another challenge is forged too.
    let (mut ws2, _) = tokio_tungstenite::connect_async(n1.connect_url())
        .await
        .unwrap();
    let _ = ws2.next().await;
    let old = victim
        .sign_message_sync(hello_text(&node, B256::repeat_byte(1)).as_bytes())
        .unwrap();
    let replay = Up::Hello {
        address: victim.address(),
        signature: old.as_bytes().to_vec().into(),
    };
    ws2.send(Message::Text(
        serde_json::to_string(&replay).unwrap().into(),
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Text(t))) = ws2.next().await else {
        panic!("no answer")
    };
    assert!(t.contains("forged_hello"), "{t}");
    assert_eq!(r1.metrics().refused(), 2);

    // Messages for the victim wait in its inbox; the thief, connected as
    // itself, gets none of them.
    let sender = MeshClient::connect(&n1.connect_url(), &PrivateKeySigner::random())
        .await
        .unwrap();
    sender
        .send(victim.address(), "secret", json!({"otp": 123}))
        .await
        .unwrap();
    let mut t = MeshClient::connect(&n1.connect_url(), &thief)
        .await
        .unwrap();
    assert!(t.recv(Duration::from_millis(700)).await.is_none());
    let mut v = MeshClient::connect(&n1.connect_url(), &victim)
        .await
        .unwrap();
    assert_eq!(v.recv(WAIT).await.expect("the victim's own").id, "secret");
}

/// C cannot do B's job; it says so through the mesh, and B's Helix
/// perceives a cascade failure with C's cause (not a timeout), and offers
/// the cascade repairs. A notice that names someone other than its sender
/// is not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_failure_reaches_the_payer_and_is_perceived_as_a_cascade() {
    use helix_core::{Adapter, Category, FailureCode, StrategyId};
    use helix_mesh::failure::FailureNotice;

    let (n1, _r1) = node("n1").await;
    let (kb, kc, mallory) = (
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
    );
    let mut b = MeshClient::connect(&n1.connect_url(), &kb).await.unwrap();
    let c = MeshClient::connect(&n1.connect_url(), &kc).await.unwrap();
    let notice = FailureNotice {
        job: "job-42".into(),
        agent: kc.address(),
        cause: "translation service answered 503: model unavailable".into(),
        status: Some(503),
        refund_tx: None,
    };
    c.send(kb.address(), "fail-job-42", notice.body())
        .await
        .unwrap();
    let got = b.recv(WAIT).await.expect("the notice arrived");
    let read = FailureNotice::read(got.from, &got.body).expect("a notice from its own sender");
    assert_eq!(read, notice);

    let classifier = helix_platforms::builtin();
    let failure = classifier.perceive(&read.signal()).expect("perceived");
    assert_eq!(
        (failure.code, failure.category),
        (FailureCode::CascadeFailure, Category::Cascade)
    );
    let offered: Vec<StrategyId> = classifier
        .construct(&failure)
        .iter()
        .map(|c| c.strategy)
        .collect();
    assert!(
        offered.contains(&StrategyId::RerouteViaAlt)
            && offered.contains(&StrategyId::RefundWaterfall),
        "{offered:?}"
    );

    // Mallory claims to be C.
    let m = MeshClient::connect(&n1.connect_url(), &mallory)
        .await
        .unwrap();
    m.send(
        kb.address(),
        "fake",
        FailureNotice {
            agent: kc.address(),
            ..notice.clone()
        }
        .body(),
    )
    .await
    .unwrap();
    let fake = b.recv(WAIT).await.expect("delivered");
    assert!(
        FailureNotice::read(fake.from, &fake.body).is_none(),
        "a notice must come from the agent it names"
    );
}
