//! A reqwest client made self-healing by HelixMiddleware, against the lab.

use std::sync::Arc;

use helix_core::{EventKind, Helix, MemorySink, StrategyId};
use helix_http::HelixMiddleware;
use helix_lab::Lab;

async fn client(lab: &Lab) -> (reqwest_middleware::ClientWithMiddleware, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
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

/// A POST without a key is given one, and the retry after a 503 carries the
/// same key; a key the caller set is kept as it is.
#[tokio::test]
async fn a_retried_post_keeps_one_idempotency_key() {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Mutex;

    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/pay",
        axum::routing::post(move |h: HeaderMap| {
            let record = record.clone();
            async move {
                let mut s = record.lock().unwrap();
                s.push(
                    h.get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                );
                // Every other attempt fails: first 503, then 200.
                if s.len() % 2 == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/pay", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let lab = Lab::start().await.unwrap();
    let (c, _) = client(&lab).await;
    assert_eq!(c.post(&url).body("{}").send().await.unwrap().status(), 200);
    assert_eq!(
        c.post(&url)
            .header("idempotency-key", "order-42")
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    let first = seen[0].clone().expect("a key was added");
    assert!(first.starts_with("helix-"), "{first}");
    assert_eq!(
        seen[1].as_deref(),
        Some(first.as_str()),
        "the retry keeps it"
    );
    assert_eq!(seen[2].as_deref(), Some("order-42"));
    assert_eq!(seen[3].as_deref(), Some("order-42"));
}

/// A server that counts the requests reaching `path`, answering each after
/// `delay` with `status`.
async fn counting(
    path: &'static str,
    status: u16,
    delay: std::time::Duration,
) -> (String, Arc<std::sync::Mutex<Vec<Option<String>>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let seen: Arc<std::sync::Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let handler = move |h: HeaderMap| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(
                h.get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            );
            tokio::time::sleep(delay).await;
            StatusCode::from_u16(status).unwrap()
        }
    };
    let app = axum::Router::new().route(path, axum::routing::any(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A POST whose answer did not come in time may have been taken: it is not
/// sent again with a longer deadline.
#[tokio::test]
async fn a_payment_post_that_timed_out_is_not_sent_again() {
    let lab = Lab::start().await.unwrap();
    // The deadline leaves a loaded machine time to deliver the request;
    // the server answers well after it.
    let (url, seen) = counting("/pay", 200, std::time::Duration::from_secs(3)).await;
    let (c, sink) = client(&lab).await;
    let res = c
        .post(&url)
        .timeout(std::time::Duration::from_secs(1))
        .body("{}")
        .send()
        .await;
    assert!(res.is_err(), "the caller sees the timeout");
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "sent once");
    assert!(sink.take().iter().any(|e| matches!(
        &e.kind,
        EventKind::Perceived { failure, .. } if failure.code == helix_core::FailureCode::OutcomeUnknown
    )));
}

/// A keyed payment request stays with the origin that saw its key: another
/// endpoint is never sent it, even when one is configured.
#[tokio::test]
async fn a_keyed_payment_is_never_moved_to_another_origin() {
    let lab = Lab::start().await.unwrap();
    let (down, at_down) = counting("/pay", 503, std::time::Duration::ZERO).await;
    let (other, at_other) = counting("/pay", 200, std::time::Duration::ZERO).await;
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .strategies(lab.strategies())
        .strategy(helix_platforms::http::executors::SwitchTo::endpoints(
            StrategyId::SwitchEndpoint,
            [other.clone()],
        ))
        .build();
    let c = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HelixMiddleware::new(helix))
        .build();
    let resp = c.post(&down).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 503, "the caller gets the origin's answer");
    assert_eq!(
        at_down.lock().unwrap().len(),
        2,
        "sent, then retried in place once"
    );
    assert!(at_other.lock().unwrap().is_empty(), "never moved");
    // The same GET without a key may move.
    let resp = c.get(&down).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(at_other.lock().unwrap().len(), 1);
}

/// MPP sends its credential on a GET: that GET is a payment, and gets a key.
#[tokio::test]
async fn a_get_carrying_a_payment_credential_gets_a_key() {
    let lab = Lab::start().await.unwrap();
    let (url, seen) = counting("/paid", 200, std::time::Duration::ZERO).await;
    let (c, _) = client(&lab).await;
    c.get(&url)
        .header("authorization", "Payment eyJjaGFsbGVuZ2UiOnt9fQ")
        .send()
        .await
        .unwrap();
    c.get(&url).send().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen[0].as_deref().is_some_and(|k| k.starts_with("helix-")),
        "{seen:?}"
    );
    assert_eq!(seen[1], None, "a plain GET is left as it is");
}
