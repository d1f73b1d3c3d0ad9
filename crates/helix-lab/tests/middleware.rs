//! A reqwest client made self-healing by HelixMiddleware, against the lab.

use std::sync::Arc;

use helix_core::{EventKind, Helix, MemorySink, StrategyId};
use helix_http::HelixMiddleware;
use helix_lab::Lab;

async fn client(lab: &Lab) -> (reqwest_middleware::ClientWithMiddleware, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(helix_adapters::builtin())
        .strategies(lab.strategies())
        .sink(sink.clone())
        .build();
    let c = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HelixMiddleware::new(helix))
        .build();
    (c, sink)
}

#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says() {
    let lab = Lab::start().await.unwrap();
    lab.state().http_limited = 1;
    let (c, sink) = client(&lab).await;
    let t = std::time::Instant::now();
    let resp = c.get(lab.url("/http/limited")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        t.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 honoured"
    );
    let committed: Vec<_> = sink
        .take()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Committed { strategy, .. } => Some(strategy),
            _ => None,
        })
        .collect();
    assert_eq!(committed, vec![StrategyId::Backoff]);
    assert_eq!(lab.state().http_served.get("limited"), Some(&1));
}

#[tokio::test]
async fn what_cannot_be_repaired_comes_back_unchanged() {
    let lab = Lab::start().await.unwrap();
    let (c, _) = client(&lab).await;
    // Not found: no adapter claims a bare 404, so the caller sees it as it was.
    let resp = c.get(lab.url("/mpp/nothing-here")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text().await.unwrap(), "no such resource");
}

#[tokio::test]
async fn a_503_is_retried_once_and_a_repeat_is_not_retried_blindly() {
    let lab = Lab::start().await.unwrap();
    lab.state().http_flaky = 1;
    let (c, _) = client(&lab).await;
    assert_eq!(
        c.get(lab.url("/http/flaky")).send().await.unwrap().status(),
        200
    );

    // Two 503s in a row: backoff_retry did not fix it, is not tried twice,
    // and no other endpoint is configured, so the caller gets the 503.
    lab.state().http_flaky = 2;
    let resp = c.get(lab.url("/http/flaky")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(lab.state().http_flaky, 0, "exactly two calls were made");
    assert_eq!(lab.state().http_served.get("flaky"), Some(&1));
}
