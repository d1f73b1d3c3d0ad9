//! Events to NATS JetStream, with NATS really cut off in the middle (the
//! lab's TcpGate in front of the NATS server; `HELIX_TEST_NATS`, default
//! 127.0.0.1:4222, started by scripts/test.sh): while it is gone events go
//! to a bounded disk buffer (oldest dropped, counted); when it is back the
//! buffer is published first, and JetStream holds every kept event.

use std::time::Duration;

use helix_core::{Event, EventKind, EventSink, GeneKey};
use helix_genemap::{NatsConfig, NatsPublisher};
use helix_lab::tcp_gate::TcpGate;

fn event(seq: u32) -> Event {
    Event {
        repair_id: 7,
        seq,
        at: i64::from(seq),
        kind: EventKind::GeneMiss {
            key: GeneKey {
                code: helix_core::FailureCode::RateLimited,
                category: helix_core::Category::Throttle,
            },
        },
    }
}

async fn stored(stream: &str) -> u64 {
    let addr = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".into());
    let c = async_nats::connect(addr).await.expect("NATS");
    let js = async_nats::jetstream::new(c);
    let mut s = js.get_stream(stream).await.unwrap();
    s.info().await.unwrap().state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_a_nats_outage_in_a_bounded_disk_buffer() {
    let upstream = std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".into());
    let gate = TcpGate::start(upstream.parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = std::process::id();
    let mut cfg = NatsConfig::new(
        &format!("nats://{}", gate.addr),
        dir.path().join("events.jsonl"),
    );
    cfg.stream = format!("HELIX_TEST_{id}");
    cfg.prefix = format!("helixtest{id}.events");
    cfg.max_buffered = 5;
    let stream = cfg.stream.clone();
    let p = NatsPublisher::start(cfg);

    for seq in 0..3 {
        p.emit(&event(seq));
    }
    p.flush().await;
    assert_eq!(p.published(), 3);
    assert_eq!(stored(&stream).await, 3);

    gate.close();
    for seq in 3..10 {
        p.emit(&event(seq));
    }
    p.flush().await;
    assert_eq!(p.buffered(), 5, "bounded");
    assert_eq!(
        p.buffer_dropped(),
        2,
        "the two oldest were dropped and counted"
    );

    gate.open();
    let mut waited = 0;
    while p.buffered() > 0 && waited < 300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(p.buffered(), 0, "the buffer was published on recovery");
    assert_eq!(stored(&stream).await, 8, "3 before, 5 kept from the outage");

    let c = async_nats::connect(upstream).await.unwrap();
    let _ = async_nats::jetstream::new(c).delete_stream(&stream).await;
}
