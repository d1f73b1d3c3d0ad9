//! # helix-server
//!
//! Helix as a service, so agents in any language can use it and people can
//! watch it work. `helix serve` runs it; this crate is the router.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/repair` | bearer | classify a reported failure, recommend, and repair when the mode allows |
//! | `POST /v1/repair/{id}/outcome` | bearer | the caller's retry succeeded or not: verifies and teaches the gene |
//! | `GET /v1/genes` | bearer | the Gene Map |
//! | `GET /v1/events` | bearer | the live PCEC stream (server-sent events) |
//! | `GET /v1/history` | bearer | the event log, newest first, paged (`before`, `limit`) |
//! | `GET /v1/series` | bearer | the dashboard's charts over an hour, a day or a month |
//! | `GET /v1/network` | bearer | the joined registry (top genes, pushes, refusals), mesh (agents, sagas) and objectives (tasks and states) |
//! | `GET /v1/summary` | bearer | totals, results per failure, budget (the dashboard's numbers) |
//! | `GET /metrics` | bearer | Prometheus text |
//! | `GET /health`, `GET /openapi.json`, `GET /` (dashboard page) | none | no data |
//!
//! Request bodies are limited ([`ServerConfig::max_body_bytes`]); no CORS
//! headers are sent, so browsers allow only same-origin pages (the
//! dashboard) to call the API.

#![warn(missing_docs)]

mod api;
mod auth;
mod dashboard;
mod gene_detail;
mod history;
mod hub;
mod metrics;
mod network;
mod repair;
mod series;
mod tickets;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use helix_core::Helix;

pub use history::{History, HistoryPage};
pub use hub::Hub;
pub use metrics::Metrics;
pub use network::Network;

/// Every route, for the router and for checking the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/repair"),
    ("post", "/v1/repair/{id}/outcome"),
    ("post", "/v1/ahead"),
    ("get", "/v1/genes"),
    ("get", "/v1/genes/{code}/{category}/{strategy}"),
    ("get", "/v1/events"),
    ("get", "/v1/history"),
    ("get", "/v1/series"),
    ("get", "/v1/network"),
    ("get", "/v1/summary"),
    ("get", "/metrics"),
    ("get", "/health"),
    ("get", "/openapi.json"),
];

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("assets/openapi.json");

/// How the server runs.
#[derive(Clone)]
pub struct ServerConfig {
    token: Arc<[u8]>,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// A committed repair waits this long for its outcome report.
    pub ticket_ttl: Duration,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("token", &"<redacted>")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("ticket_ttl", &self.ticket_ttl)
            .finish()
    }
}

/// A configuration that would leave the API open.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Guessable tokens are refused.
    #[error("the API token must be at least {MIN_TOKEN} characters")]
    WeakToken,
}

/// Shortest accepted bearer token.
pub const MIN_TOKEN: usize = 16;

impl ServerConfig {
    /// Requires `token` on every route that acts or reveals data.
    pub fn new(token: &str) -> Result<Self, ConfigError> {
        if token.len() < MIN_TOKEN {
            return Err(ConfigError::WeakToken);
        }
        Ok(ServerConfig {
            token: token.as_bytes().into(),
            max_body_bytes: 64 * 1024,
            ticket_ttl: Duration::from_secs(15 * 60),
        })
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub helix: Helix,
    pub hub: Hub,
    pub tickets: Arc<tickets::Tickets>,
}

/// The API and dashboard over `helix`, whose events must reach `hub`
/// (build it with `.sink(hub.sink())` or a fan-out including it).
pub fn router(helix: Helix, hub: Hub, cfg: ServerConfig) -> Router {
    let state = AppState {
        helix,
        hub,
        tickets: Arc::new(tickets::Tickets::new(cfg.ticket_ttl)),
    };
    let protected = Router::new()
        .route("/v1/repair", post(repair::repair))
        .route("/v1/repair/{id}/outcome", post(repair::outcome))
        .route("/v1/ahead", post(repair::ahead))
        .route("/v1/genes", get(api::genes))
        .route("/v1/genes/{code}/{category}/{strategy}", get(api::gene))
        .route("/v1/events", get(api::events))
        .route("/v1/history", get(api::history))
        .route("/v1/series", get(api::series))
        .route("/v1/network", get(api::network))
        .route("/v1/summary", get(api::summary))
        .route("/metrics", get(api::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            cfg.token.clone(),
            auth::require_bearer,
        ));
    Router::new()
        .merge(protected)
        .route("/health", get(api::health))
        .route("/openapi.json", get(api::openapi))
        .merge(dashboard::routes())
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .with_state(state)
}
