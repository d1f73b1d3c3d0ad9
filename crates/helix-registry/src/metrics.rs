//! The registry's counters, rendered as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::ReplicaState;

/// Counters; every one only grows except the WebSocket gauge.
#[derive(Debug, Default)]
pub struct Metrics {
    pushes: AtomicU64,
    reports: AtomicU64,
    pulls: AtomicU64,
    cache_hits: AtomicU64,
    broadcasts: AtomicU64,
    broadcast_failures: AtomicU64,
    ws_clients: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    limited: Mutex<BTreeMap<&'static str, u64>>,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn pushed(&self) {
        inc(&self.pushes);
    }
    pub(crate) fn reported(&self) {
        inc(&self.reports);
    }
    pub(crate) fn pulled(&self) {
        inc(&self.pulls);
    }
    pub(crate) fn cache_hit(&self) {
        inc(&self.cache_hits);
    }
    pub(crate) fn broadcast(&self) {
        inc(&self.broadcasts);
    }
    pub(crate) fn broadcast_failed(&self) {
        inc(&self.broadcast_failures);
    }
    pub(crate) fn refused(&self, reason: &'static str) {
        if let Ok(mut m) = self.refused.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }
    pub(crate) fn limited(&self, action: &'static str) {
        if let Ok(mut m) = self.limited.lock() {
            *m.entry(action).or_default() += 1;
        }
    }
    pub(crate) fn ws(&self, delta: i64) {
        if delta > 0 {
            self.ws_clients.fetch_add(1, Ordering::Relaxed);
        } else {
            self.ws_clients.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Accepted pushes so far.
    pub fn pushes(&self) -> u64 {
        self.pushes.load(Ordering::Relaxed)
    }

    /// Refusals so far by reason.
    pub fn refusals(&self) -> BTreeMap<&'static str, u64> {
        self.refused.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Prometheus text.
    pub fn render(&self, replica: Option<&ReplicaState>) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(
            "helix_registry_pushes_total",
            "Pushes accepted and merged.",
            get(&self.pushes),
        );
        counter(
            "helix_registry_reports_total",
            "Failure reports accepted.",
            get(&self.reports),
        );
        counter(
            "helix_registry_pulls_total",
            "Pulls served.",
            get(&self.pulls),
        );
        counter(
            "helix_registry_pull_cache_hits_total",
            "Pulls answered by the hot cache.",
            get(&self.cache_hits),
        );
        counter(
            "helix_registry_broadcasts_total",
            "Genes published to subscribers.",
            get(&self.broadcasts),
        );
        counter(
            "helix_registry_broadcast_failures_total",
            "Genes stored but not acknowledged by NATS.",
            get(&self.broadcast_failures),
        );
        let _ = writeln!(
            out,
            "# HELP helix_registry_ws_clients WebSocket subscribers connected.\n# TYPE helix_registry_ws_clients gauge\nhelix_registry_ws_clients {}",
            get(&self.ws_clients)
        );
        let _ = writeln!(
            out,
            "# HELP helix_registry_refused_total Pushes and reports refused, by reason.\n# TYPE helix_registry_refused_total counter"
        );
        for (reason, n) in self.refusals() {
            let _ = writeln!(
                out,
                "helix_registry_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP helix_registry_rate_limited_total Requests answered 429, by action.\n# TYPE helix_registry_rate_limited_total counter"
        );
        for (action, n) in self.limited.lock().map(|m| m.clone()).unwrap_or_default() {
            let _ = writeln!(
                out,
                "helix_registry_rate_limited_total{{action=\"{action}\"}} {n}"
            );
        }
        if let Some(r) = replica {
            let _ = writeln!(
                out,
                "# HELP helix_registry_replica_up Whether the read replica answered its last probe.\n# TYPE helix_registry_replica_up gauge\nhelix_registry_replica_up {}",
                u8::from(r.up)
            );
            let _ = writeln!(
                out,
                "# HELP helix_registry_replica_lag_bytes WAL bytes the replica is behind.\n# TYPE helix_registry_replica_lag_bytes gauge\nhelix_registry_replica_lag_bytes {}",
                r.lag_bytes
            );
            let _ = writeln!(
                out,
                "# HELP helix_registry_reads_total Store reads, by where they ran.\n# TYPE helix_registry_reads_total counter\nhelix_registry_reads_total{{target=\"replica\"}} {}\nhelix_registry_reads_total{{target=\"primary\"}} {}",
                r.replica_reads, r.primary_reads
            );
        }
        out
    }
}
