//! A server on a loopback port over a Helix with the built-in adapters and
//! the generic backoff executor (a real wait), counting its commits.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helix_core::{
    CommitCtx, CommitError, Committed, Event, EventSink, Executor, Fanout, Helix, Mode, StrategyId,
};
use helix_platforms::http::executors::Backoff;
use helix_server::{History, HistoryPage, Hub, Network, ServerConfig, router};

/// The joined services as the server would read them (the real readers
/// are tested in helix-cli against `helix registry serve`, `helix mesh
/// serve` with a saga log, and `helix ode serve`). Some of their text is
/// markup, as a hostile service might send: the page must show it as text.
pub struct FixedNetwork {
    /// How often the server asked for the mesh.
    pub mesh_reads: Arc<AtomicU32>,
}

/// Text a hostile service might send; shown as text, it runs nothing.
pub const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">";

#[async_trait]
impl Network for FixedNetwork {
    async fn registry(&self) -> Option<Result<serde_json::Value, String>> {
        Some(Ok(serde_json::json!({
            "url": "http://registry.test",
            "stats": { "genes": 1, "pushes": 2, "agents": 2, "threshold": 0.5 },
            "top": [{ "code": "rate-limited", "category": "throttle", "strategy": "backoff",
                      "quality": 1.234, "verified_agents": 2, "pushes": 2, "mean_ms": 900 }],
            "recent": {
                "pushes": [{ "at": 1_700_000_000_000i64, "agent": "0xaa", "key": "rate-limited/throttle", "strategy": "backoff" }],
                "refusals": [{ "at": 1_700_000_000_000i64, "agent": "0xbb", "reason": "signature",
                               "message": "the signature is not the agent's" }]
            }
        })))
    }

    async fn registry_gene(
        &self,
        gene: &helix_core::Gene,
    ) -> Option<Result<serde_json::Value, String>> {
        Some(Ok(serde_json::json!({
            "id": "0x01", "known": true, "quality": 0.875, "verified_agents": 3, "pushes": 4,
            "anchor": format!("valid: {} anchored as served", gene.strategy),
        })))
    }

    async fn mesh(&self) -> Option<Result<serde_json::Value, String>> {
        self.mesh_reads.fetch_add(1, Ordering::SeqCst);
        let agent = |n: u8| format!("0x{}", format!("{n:02x}").repeat(20));
        Some(Ok(serde_json::json!({
            "nodes": [
                { "url": "http://mesh-1.test", "node": "mesh-1",
                  "agents": [{ "address": agent(0xa1), "since": 1_700_000_000_000i64 },
                             { "address": agent(0xb2), "since": 1_700_000_100_000i64 }] },
                { "url": "http://mesh-2.test", "error": "connection refused" }
            ],
            "sagas": [{
                "id": "saga-7", "state": "compensating", "in_flight": true, "failed_step": 1,
                "reason": HOSTILE, "created_at": 1_700_000_000_000i64, "updated_at": 1_700_000_200_000i64,
                "steps": [
                    { "name": "a pays b", "from": agent(0xa1), "to": agent(0xb2), "token": agent(0x20),
                      "amount": "1500000", "pay": { "status": "done", "hash": "0xpaid1" },
                      "refund": { "status": "sent", "hash": "0xrefund1" } },
                    { "name": "b pays c", "from": agent(0xb2), "to": agent(0xc3), "token": agent(0x20),
                      "amount": "2000000", "pay": { "status": "untouched" },
                      "refund": { "status": "untouched" } }
                ]
            }]
        })))
    }

    async fn objectives(&self) -> Option<Result<serde_json::Value, String>> {
        let task = |id: &str, after: &[&str], kind: &str, what: &str, state: &str| {
            serde_json::json!({ "id": id, "after": after, "kind": kind, "what": what,
                                "state": state, "repairs": [] })
        };
        let mut paid = task("pay-alice", &[], "pay", "pay 120 AlphaUSD to alice", "done");
        paid["tx"] = "0xalicetx".into();
        paid["repairs"] = serde_json::json!(["swap_currency"]);
        let mut failed = task(
            "pay-bob",
            &["check"],
            "pay",
            "pay 80 AlphaUSD to bob",
            "failed",
        );
        failed["error"] = HOSTILE.into();
        Some(Ok(serde_json::json!({
            "url": "http://ode.test",
            "objectives": [{
                "id": "payroll-december", "status": "running", "started_at": 1_700_000_000_000i64,
                "paid": 1, "repairs": 1, "cancelled": false,
                "tasks": [
                    task("check", &[], "check_balance", "hold at least 200 AlphaUSD", "done"),
                    paid,
                    failed,
                    task("tell", &["pay-alice", "pay-bob"], "notify", "tell the owner: payroll", "blocked"),
                ]
            }]
        })))
    }
}

/// An event log in memory: what the server's Helix emitted, read back a
/// page at a time (the cursor is a position in the log).
#[derive(Default)]
pub struct MemoryLog(std::sync::Mutex<Vec<Event>>);

impl EventSink for MemoryLog {
    fn emit(&self, e: &Event) {
        self.0.lock().unwrap().push(e.clone());
    }
}

#[async_trait]
impl History for MemoryLog {
    async fn page(&self, before: Option<i64>, limit: u32) -> Result<HistoryPage, String> {
        let all = self.0.lock().unwrap();
        let end = before.map_or(all.len(), |b| (b.max(0) as usize).min(all.len()));
        let start = end.saturating_sub(limit as usize);
        Ok(HistoryPage {
            events: all[start..end].iter().rev().cloned().collect(),
            next: (start > 0).then_some(start as i64),
            unreadable: 0,
        })
    }
}

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// Backoff that counts how often it acted.
pub struct CountedBackoff {
    inner: Backoff,
    pub commits: Arc<AtomicU32>,
}

#[async_trait]
impl Executor for CountedBackoff {
    fn id(&self) -> StrategyId {
        StrategyId::Backoff
    }
    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(ctx).await
    }
}

pub struct Running {
    pub base: String,
    pub commits: Arc<AtomicU32>,
    pub mesh_reads: Arc<AtomicU32>,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn start(mode: Mode) -> Running {
    let log = Arc::new(MemoryLog::default());
    let mesh_reads = Arc::new(AtomicU32::new(0));
    let hub = Hub::new()
        .with_history(log.clone())
        .with_network(Arc::new(FixedNetwork {
            mesh_reads: mesh_reads.clone(),
        }));
    let commits = Arc::new(AtomicU32::new(0));
    let helix = Helix::builder()
        .adapter(helix_platforms::builtin())
        .strategy(CountedBackoff {
            inner: Backoff {
                default_wait: Duration::from_millis(20),
                max_wait: Duration::from_secs(1),
            },
            commits: commits.clone(),
        })
        .sink(Arc::new(Fanout(vec![hub.sink(), log])))
        .mode(mode)
        .build();
    let app = router(helix, hub, ServerConfig::new(TOKEN).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Running {
        base,
        commits,
        mesh_reads,
        http: reqwest::Client::new(),
        server,
    }
}

impl Running {
    /// POSTs JSON with the token.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GETs with the token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }
}

/// A 429 with Retry-After: 30 ms, as an agent reports it.
pub fn rate_limited() -> serde_json::Value {
    serde_json::json!({
        "signal": {"message": "429 Too Many Requests", "http_status": 429, "platform": "http", "retry_after": 30},
        "payment": {"recipient": "0x00000000000000000000000000000000000000b0", "amount": "1000000"}
    })
}
