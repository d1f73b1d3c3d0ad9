//! `helix registry serve`: the registry over HTTP and WebSocket.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/genes` | the agent's signature | push a gene with its evidence |
//! | `GET /v1/genes?code=&category=` | none | pull the best gene for a key (404: none good enough) |
//! | `GET /v1/genes?limit=` | none | the highest-quality genes |
//! | `GET /v1/genes/{id}` | none | one gene, whatever its quality |
//! | `POST /v1/reports` | the agent's signature | a failure of a pulled gene |
//! | `GET /v1/stats` | none | totals |
//! | `GET /v1/stream?keys=code/category,...` | none | accepted genes as they come (WebSocket) |
//! | `GET /metrics` | bearer | Prometheus text |
//! | `GET /health`, `GET /openapi.json` | none | |
//!
//! Genes are public by design (they are scrubbed before they leave an
//! agent); writes are authenticated by the agent's signature, and each
//! agent is rate limited (429 with `Retry-After`). Bodies are limited to
//! [`MAX_BODY`]; a request that takes longer than [`REQUEST_TIMEOUT`]
//! (a slow chain RPC) is answered 503.

mod routes;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::service::Registry;

/// Every route, for the router and for checking the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/genes"),
    ("get", "/v1/genes"),
    ("get", "/v1/genes/{id}"),
    ("post", "/v1/reports"),
    ("get", "/v1/stats"),
    ("get", "/v1/recent"),
    ("get", "/v1/stream"),
    ("get", "/metrics"),
    ("get", "/health"),
    ("get", "/openapi.json"),
];

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../assets/openapi.json");
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest a push or pull may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct AppState {
    pub registry: Registry,
    pub metrics_token: Arc<str>,
}

/// The router. `metrics_token` guards `/metrics`.
pub fn router(registry: Registry, metrics_token: &str) -> Router {
    let state = AppState {
        registry,
        metrics_token: metrics_token.into(),
    };
    Router::new()
        .route("/v1/genes", post(routes::push).get(routes::pull_or_list))
        .route("/v1/genes/{id}", get(routes::show))
        .route("/v1/reports", post(routes::report))
        .route("/v1/stats", get(routes::stats))
        .route("/v1/recent", get(routes::recent))
        .route("/v1/stream", get(stream::stream))
        .route("/metrics", get(routes::metrics))
        .route("/health", get(routes::health))
        .route("/openapi.json", get(routes::openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves; clients are
/// told apart by address for the pull rate limit.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A registry serving on a loopback (or any) address in this process;
/// stops when dropped.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves `registry` in the background.
pub async fn spawn(
    registry: Registry,
    metrics_token: &str,
    addr: &str,
) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(registry, metrics_token);
    let task = tokio::spawn(async move {
        if let Err(e) = serve(listener, app, std::future::pending()).await {
            tracing::error!(target: "helix::registry", error = %e, "registry server stopped");
        }
    });
    Ok(Running { addr, task })
}
