//! The API: auth, modes, the repair/outcome round trip, limits, metrics,
//! the live stream and the OpenAPI document.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use helix_core::Mode;
use serde_json::{Value, json};

use crate::common;
use common::*;

#[tokio::test]
async fn an_unauthenticated_repair_is_refused_and_nothing_acts() {
    let s = start(Mode::Full).await;
    let url = format!("{}/v1/repair", s.base);
    let none = s
        .http
        .post(&url)
        .json(&rate_limited())
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer realm=\"helix\"");
    let wrong = s
        .http
        .post(&url)
        .bearer_auth("test-token-0123456789abcdeX")
        .json(&rate_limited())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(s.commits.load(Ordering::SeqCst), 0);
    for path in ["/v1/genes", "/v1/events", "/v1/summary", "/metrics"] {
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let health = s
        .http
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(helix_server::ServerConfig::new("short").is_err());
}

async fn repair(s: &Running, body: &Value) -> (u16, Value) {
    let r = s.post("/v1/repair", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn observe_recommends_without_acting() {
    let s = start(Mode::Observe).await;
    let (status, advice) = repair(&s, &rate_limited()).await;
    assert_eq!(status, 200, "{advice}");
    assert_eq!(advice["failure"]["code"], "rate-limited");
    assert_eq!(advice["recommended"][0], "backoff");
    assert_eq!(advice["committed"], Value::Null);
    assert_eq!(advice["awaiting_outcome"], false);
    assert_eq!(s.commits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn auto_repairs_and_the_reported_outcome_teaches_the_gene_once() {
    let s = start(Mode::Auto).await;
    let (_, advice) = repair(&s, &rate_limited()).await;
    assert_eq!(advice["committed"]["strategy"], "backoff");
    assert_eq!(advice["awaiting_outcome"], true);
    assert_eq!(s.commits.load(Ordering::SeqCst), 1);
    let id = advice["repair_id"].as_u64().unwrap();
    let outcome = format!("/v1/repair/{id}/outcome");
    let r = s.post(&outcome, &json!({"success": true})).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["gene"]["strategy"], "backoff");
    assert_eq!(body["gene"]["successes"], 1);
    let again = s.post(&outcome, &json!({"success": true})).await;
    assert_eq!(again.status(), 404, "an outcome counts once");

    // The next identical failure is answered by the gene.
    let (_, advice) = repair(&s, &rate_limited()).await;
    assert_eq!(advice["committed"]["immune"], true);

    let genes: Value = s.get("/v1/genes").await.json().await.unwrap();
    assert_eq!(genes["genes"][0]["key"]["code"], "rate-limited");

    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("helix_repairs_total{result=\"verified\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("helix_immune_hits_total 1"), "{metrics}");
    assert!(metrics.contains("helix_commits_total 2"), "{metrics}");
    // Committing and committed: two commit-stage events per repair.
    assert!(
        metrics.contains("helix_stage_latency_seconds_count{stage=\"commit\"} 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    let s = start(Mode::Auto).await;
    let url = format!("{}/v1/repair", s.base);
    let post = |body: reqwest::Body| {
        s.http
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post("{\"signal\": ".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    let r = post(r#"{"signal": {"message": "x"}, "recipient_override": "0xevil"}"#.into())
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let big = format!(r#"{{"signal": {{"message": "{}"}}}}"#, "a".repeat(100_000));
    let r = post(big.into()).await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(s.commits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_event_stream_carries_a_repair_live() {
    let s = start(Mode::Auto).await;
    let r = s.get("/v1/events").await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: hello") {
        seen.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    let (_, advice) = repair(&s, &rate_limited()).await;
    let id = advice["repair_id"].as_u64().unwrap();
    let committed = format!("\"repair_id\":{id},");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(seen.contains(&committed) && seen.contains("\"event\":\"committed\"")) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the repair's events within 5 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: pcec"));
}

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let s = start(Mode::Observe).await;
    let doc: Value = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in helix_server::ROUTES {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        helix_server::ROUTES.len()
    );
}

/// What happened before anyone looked: the log, newest first, paged back
/// to its start; refused without the token; bad cursors are clear errors.
#[tokio::test]
async fn history_pages_back_through_what_happened_before() {
    let s = start(Mode::Observe).await;
    for _ in 0..3 {
        let (status, _) = repair(&s, &rate_limited()).await;
        assert_eq!(status, 200);
    }
    let page = |q: String| {
        let s = &s;
        async move {
            let r = s.get(&format!("/v1/history{q}")).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, first) = page("?limit=4".into()).await;
    assert_eq!(status, 200, "{first}");
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    let at: Vec<(u64, u64)> = events
        .iter()
        .map(|e| (e["at"].as_u64().unwrap(), e["seq"].as_u64().unwrap()))
        .collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
    // Every page until the start of the log, each event once.
    let mut all: Vec<Value> = events.clone();
    let mut next = first["next"].as_i64();
    while let Some(cursor) = next {
        let (status, p) = page(format!("?limit=4&before={cursor}")).await;
        assert_eq!(status, 200, "{p}");
        all.extend(p["events"].as_array().unwrap().iter().cloned());
        next = p["next"].as_i64();
    }
    let repairs: std::collections::BTreeSet<u64> = all
        .iter()
        .map(|e| e["repair_id"].as_u64().unwrap())
        .collect();
    assert_eq!(repairs.len(), 3, "three repairs in the log");
    assert!(all.iter().any(|e| e["event"] == "perceived"));
    assert_eq!(
        all.last().unwrap()["seq"],
        0,
        "the log's first event is last"
    );

    for bad in ["?limit=0", "?limit=501", "?before=yesterday"] {
        assert_eq!(page(bad.into()).await.0, 400, "{bad}");
    }
    let stranger = s
        .http
        .get(format!("{}/v1/history", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 401);
}

/// A gene opens to how it learned and the repairs it made.
#[tokio::test]
async fn a_gene_opens_to_its_history_and_its_repairs() {
    let s = start(Mode::Auto).await;
    let (status, advice) = repair(&s, &rate_limited()).await;
    assert_eq!(status, 200, "{advice}");
    let id = advice["repair_id"].as_u64().unwrap();
    let r = s
        .post(
            &format!("/v1/repair/{id}/outcome"),
            &json!({"success": true}),
        )
        .await;
    assert!(r.status().is_success());
    let r = s.get("/v1/genes/rate-limited/throttle/backoff").await;
    assert_eq!(r.status().as_u16(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["gene"]["strategy"], "backoff");
    assert_eq!(
        d["registry"]["quality"], 0.875,
        "the joined registry's view"
    );
    let learned = d["learned"].as_array().unwrap();
    assert_eq!(learned.len(), 1, "{d}");
    assert!(learned[0]["q"].as_f64().unwrap() > 0.5);
    let uses = d["uses"].as_array().unwrap();
    assert_eq!(uses.len(), 1, "{d}");
    assert_eq!(uses[0]["repair_id"], id);
    assert_eq!(uses[0]["verified"], true);
    assert_eq!(
        s.get("/v1/genes/rate-limited/throttle/swap_currency")
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        s.get("/v1/genes/no-such-code/throttle/backoff")
            .await
            .status()
            .as_u16(),
        400
    );
}

/// The network's view comes through the server, behind its token.
#[tokio::test]
async fn the_network_view_is_read_through_the_server() {
    let s = start(Mode::Observe).await;
    let v: Value = s.get("/v1/network").await.json().await.unwrap();
    assert_eq!(
        v["registry"]["recent"]["refusals"][0]["reason"],
        "signature"
    );
    assert_eq!(v["mesh"]["nodes"][0]["agents"].as_array().unwrap().len(), 2);
    // Pages polling at once cost the services one read a second.
    let before = s.mesh_reads.load(Ordering::SeqCst);
    let burst = futures_util::future::join_all((0..20).map(|_| s.get("/v1/network"))).await;
    assert!(burst.iter().all(|r| r.status().is_success()));
    let read = s.mesh_reads.load(Ordering::SeqCst) - before;
    assert!(
        read <= 1,
        "{read} reads of the mesh for 20 polls within a second"
    );
    assert_eq!(v["mesh"]["sagas"][0]["state"], "compensating");
    assert_eq!(
        v["objectives"]["objectives"][0]["tasks"][1]["state"],
        "done"
    );
    let stranger = s
        .http
        .get(format!("{}/v1/network", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 401);
}
