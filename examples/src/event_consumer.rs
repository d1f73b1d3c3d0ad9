//! A durable JetStream consumer of Helix's events: what a dashboard, an
//! alerting job or an audit trail would run beside the agents.
//!
//!     HELIX_NATS_URL=nats://127.0.0.1:4222 cargo run -p helix-examples --bin event-consumer
//!
//! The durable name (`helix-example`) keeps its place across restarts: each
//! event is delivered until it is acknowledged. It reads the stream the
//! publisher creates (`HELIX_EVENTS`, subjects `helix.events.{stage}.{code}`)
//! and prints each event's subject and kind; it stops after `--max N`
//! events or when none arrives for two seconds.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let url = std::env::var("HELIX_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let max: usize = std::env::args()
        .skip_while(|a| a != "--max")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let js = jetstream::new(async_nats::connect(&url).await?);
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: "HELIX_EVENTS".into(),
            subjects: vec!["helix.events.>".into()],
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .get_or_create_consumer(
            "helix-example",
            pull::Config {
                durable_name: Some("helix-example".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await?;
    let mut messages = consumer.messages().await?;
    let mut seen = 0;
    while seen < max {
        let next = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
        let Ok(Some(Ok(m))) = next else { break };
        let kind = serde_json::from_slice::<serde_json::Value>(&m.payload)
            .ok()
            .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        println!("{} {kind}", m.subject);
        m.ack().await?;
        seen += 1;
    }
    eprintln!("{seen} event(s) read");
    Ok(())
}
