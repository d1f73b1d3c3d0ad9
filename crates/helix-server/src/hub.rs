//! Where the engine's events meet the server: the live stream and metrics.

use std::sync::Arc;

use helix_core::{BroadcastSink, EventSink, Fanout};

use crate::history::History;
use crate::metrics::Metrics;
use crate::network::Network;

/// The server's event sinks. Give [`Hub::sink`] to the Helix the server
/// runs (alone or in a fan-out with the event log).
#[derive(Clone)]
pub struct Hub {
    pub(crate) events: BroadcastSink,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) history: Option<Arc<dyn History>>,
    pub(crate) network: Option<Arc<dyn Network>>,
    /// The last network view and when it was read: every open page polls
    /// it, and each read fans out to every joined service.
    pub(crate) network_view:
        Arc<tokio::sync::Mutex<Option<(std::time::Instant, serde_json::Value)>>>,
}

/// How long a network view is served again before the services are read anew.
pub(crate) const NETWORK_VIEW_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// A hub keeping 1,024 events for slow stream readers.
    pub fn new() -> Self {
        Hub {
            events: BroadcastSink::new(1024),
            metrics: Arc::new(Metrics::default()),
            history: None,
            network: None,
            network_view: Arc::default(),
        }
    }

    /// Serves `/v1/network` from `n` (the services the server is joined to).
    pub fn with_network(mut self, n: Arc<dyn Network>) -> Self {
        self.network = Some(n);
        self
    }

    /// Serves `/v1/history` from `log` (the event log the server's Helix
    /// writes to).
    pub fn with_history(mut self, log: Arc<dyn History>) -> Self {
        self.history = Some(log);
        self
    }

    /// The sink that feeds `/v1/events`, `/metrics` and `/v1/summary`.
    pub fn sink(&self) -> Arc<dyn EventSink> {
        Arc::new(Fanout(vec![
            Arc::new(self.events.clone()),
            self.metrics.clone(),
        ]))
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
