//! The relay's counters, as Prometheus text at `/metrics`.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds of the delivery-latency buckets, seconds.
const BUCKETS: [f64; 10] = [
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

/// Counters of one relay node.
#[derive(Debug, Default)]
pub struct Metrics {
    connected: AtomicI64,
    hellos: AtomicU64,
    refused: AtomicU64,
    stored: AtomicU64,
    delivered: AtomicU64,
    acked: AtomicU64,
    latency: Mutex<([u64; BUCKETS.len()], u64, f64)>,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn connected(&self, delta: i64) {
        self.connected.fetch_add(delta, Ordering::Relaxed);
    }
    pub(crate) fn hello(&self, ok: bool) {
        inc(if ok { &self.hellos } else { &self.refused });
    }
    pub(crate) fn stored(&self) {
        inc(&self.stored);
    }
    pub(crate) fn acked(&self) {
        inc(&self.acked);
    }
    pub(crate) fn delivered(&self, latency_ms: i64) {
        inc(&self.delivered);
        let secs = latency_ms.max(0) as f64 / 1000.0;
        if let Ok(mut h) = self.latency.lock() {
            if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
                h.0[i] += 1;
            }
            h.1 += 1;
            h.2 += secs;
        }
    }

    /// Agents connected to this node now.
    pub fn connected_now(&self) -> i64 {
        self.connected.load(Ordering::Relaxed)
    }

    /// Hellos refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Messages acknowledged so far (and acknowledged to the stream).
    pub fn acked_total(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Prometheus text.
    pub fn render(&self, node: &str) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP helix_mesh_connected Agents connected to this node.\n# TYPE helix_mesh_connected gauge\nhelix_mesh_connected{{node=\"{node}\"}} {}",
            self.connected_now()
        );
        for (name, help, v) in [
            (
                "helix_mesh_hellos_total",
                "Hellos accepted.",
                get(&self.hellos),
            ),
            (
                "helix_mesh_hellos_refused_total",
                "Hellos refused (bad signature, timeout, malformed).",
                get(&self.refused),
            ),
            (
                "helix_mesh_messages_stored_total",
                "Sends stored in a recipient's inbox.",
                get(&self.stored),
            ),
            (
                "helix_mesh_messages_delivered_total",
                "Messages handed to a connected recipient.",
                get(&self.delivered),
            ),
            (
                "helix_mesh_messages_acked_total",
                "Deliveries the recipient acknowledged.",
                get(&self.acked),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{node=\"{node}\"}} {v}"
            );
        }
        if let Ok(h) = self.latency.lock() {
            let _ = writeln!(
                out,
                "# HELP helix_mesh_delivery_seconds From storing a message to handing it to its recipient.\n# TYPE helix_mesh_delivery_seconds histogram"
            );
            let mut cum = 0;
            for (b, n) in BUCKETS.iter().zip(h.0) {
                cum += n;
                let _ = writeln!(
                    out,
                    "helix_mesh_delivery_seconds_bucket{{node=\"{node}\",le=\"{b}\"}} {cum}"
                );
            }
            let _ = writeln!(
                out,
                "helix_mesh_delivery_seconds_bucket{{node=\"{node}\",le=\"+Inf\"}} {}",
                h.1
            );
            let _ = writeln!(
                out,
                "helix_mesh_delivery_seconds_sum{{node=\"{node}\"}} {}\nhelix_mesh_delivery_seconds_count{{node=\"{node}\"}} {}",
                h.2, h.1
            );
        }
        out
    }
}
