//! `helix mesh serve`: a relay node over HTTP.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `GET /v1/connect` | the agent's signed hello | the WebSocket (see [`crate::wire`]) |
//! | `GET /v1/agents/{address}` | none | which node holds the agent's session, if any |
//! | `GET /v1/agents` | bearer | the agents connected to this node, and since when |
//! | `GET /metrics` | bearer | Prometheus text |
//! | `GET /health` | none | |

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::primitives::Address;
use axum::Json;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::relay::Relay;

/// Every route.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/connect"),
    ("get", "/v1/agents/{address}"),
    ("get", "/v1/agents"),
    ("get", "/metrics"),
    ("get", "/health"),
];

#[derive(Clone)]
struct AppState {
    relay: Relay,
    token: Arc<str>,
}

/// The router; `token` guards `/metrics` and the list of agents.
pub fn router(relay: Relay, token: &str) -> Router {
    Router::new()
        .route("/v1/connect", get(connect))
        .route("/v1/agents/{address}", get(agent))
        .route("/v1/agents", get(agents))
        .route("/metrics", get(metrics))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(AppState {
            relay,
            token: token.into(),
        })
}

async fn connect(State(s): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let max = s.relay.max_frame_bytes();
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move { s.relay.serve_socket(socket).await })
}

async fn agent(State(s): State<AppState>, Path(address): Path<String>) -> Response {
    let Ok(a) = address.parse::<Address>() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "an address is 0x and 40 hex digits", "reason": "malformed"})),
        )
            .into_response();
    };
    let node = s.relay.session(a).await;
    Json(json!({"address": a, "online": node.is_some(), "node": node})).into_response()
}

/// The 401 for a request without the token, if it has none.
fn unauthorized(s: &AppState, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    let ok = presented.is_some_and(|p| {
        p.len() == s.token.len()
            && p.iter()
                .zip(s.token.as_bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    });
    (!ok).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"helix-mesh\"")],
            Json(json!({"error": "missing or invalid bearer token", "reason": "auth"})),
        )
            .into_response()
    })
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.relay.metrics().render(s.relay.node()),
    )
        .into_response()
}

/// Who is connected here: the addresses are public, but which agents are
/// online and since when is the operator's to see.
async fn agents(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    let agents: Vec<_> = s
        .relay
        .agents()
        .into_iter()
        .map(|(address, since)| json!({"address": address, "since": since}))
        .collect();
    Json(json!({"node": s.relay.node(), "agents": agents})).into_response()
}

/// A node serving in this process; stops when dropped.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `ws://addr/v1/connect`.
    pub fn connect_url(&self) -> String {
        format!("ws://{}/v1/connect", self.addr)
    }

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

/// Binds `addr` and serves `relay` in the background.
pub async fn spawn(relay: Relay, token: &str, addr: &str) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(relay, token);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(target: "helix::mesh", error = %e, "relay stopped");
        }
    });
    Ok(Running { addr, task })
}
