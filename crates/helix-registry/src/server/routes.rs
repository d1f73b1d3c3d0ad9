//! The REST handlers.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use helix_core::GeneKey;
use serde::Deserialize;
use serde_json::json;

use super::{AppState, REQUEST_TIMEOUT};
use crate::limits::Action;
use crate::service::Refusal;
use crate::store::StoreError;
use crate::wire::{GeneId, Push, Report};

fn error(status: StatusCode, reason: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({"error": message.to_string(), "reason": reason})),
    )
        .into_response()
}

fn refusal(e: &Refusal) -> Response {
    let status = match e {
        Refusal::Signature(_) => StatusCode::UNAUTHORIZED,
        Refusal::Replayed(_) => StatusCode::CONFLICT,
        Refusal::Gene(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Evidence(ev) if ev.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::Evidence(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::UnknownGene(_) => StatusCode::NOT_FOUND,
        Refusal::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::Limited(wait) => {
            let secs = wait.as_millis().div_ceil(1000).max(1);
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, e.reason(), e);
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    };
    error(status, e.reason(), e)
}

fn store_error(e: &StoreError) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "store", e)
}

fn timed_out() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the registry did not finish in time; retry later",
    )
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("body is not a valid request: {e}"),
        ))
    })
}

pub(crate) async fn push(State(s): State<AppState>, body: Bytes) -> Response {
    let p: Push = match parse(&body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, s.registry.push(&p)).await {
        Ok(Ok(g)) => (StatusCode::CREATED, Json(g)).into_response(),
        Ok(Err(e)) => refusal(&e),
        Err(_) => timed_out(),
    }
}

pub(crate) async fn report(State(s): State<AppState>, body: Bytes) -> Response {
    let r: Report = match parse(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, s.registry.report(&r)).await {
        Ok(Ok(g)) => Json(g).into_response(),
        Ok(Err(e)) => refusal(&e),
        Err(_) => timed_out(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PullQuery {
    code: Option<String>,
    category: Option<String>,
    limit: Option<u32>,
}

/// Who a pull is from: the agent header if sent, else the address.
fn caller(headers: &HeaderMap, addr: SocketAddr) -> String {
    headers
        .get("x-helix-agent")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| addr.ip().to_string())
}

pub(crate) async fn pull_or_list(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PullQuery>,
) -> Response {
    if let Err(e) = s
        .registry
        .admit(&caller(&headers, addr), Action::Pull)
        .await
    {
        return refusal(&e);
    }
    match (q.code, q.category) {
        (Some(code), Some(category)) => {
            let key = match (code.parse(), category.parse()) {
                (Ok(code), Ok(category)) => GeneKey { code, category },
                (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, "malformed", e),
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, s.registry.pull(key)).await {
                Ok(Ok(Some(g))) => Json(g).into_response(),
                Ok(Ok(None)) => error(
                    StatusCode::NOT_FOUND,
                    "none",
                    format!(
                        "no gene for {key} at or above quality {}",
                        s.registry.threshold()
                    ),
                ),
                Ok(Err(e)) => store_error(&e),
                Err(_) => timed_out(),
            }
        }
        (None, None) => {
            let limit = q.limit.unwrap_or(50).clamp(1, 500);
            match s.registry.store().top(limit).await {
                Ok(v) => Json(v).into_response(),
                Err(e) => store_error(&e),
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "malformed",
            "give both code and category, or neither",
        ),
    }
}

pub(crate) async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<GeneId>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed",
            "a gene id is 0x and 64 hex digits",
        );
    };
    match s.registry.store().show(id).await {
        Ok(Some(g)) => Json(g).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "unknown_gene",
            format!("no gene {id}"),
        ),
        Err(e) => store_error(&e),
    }
}

pub(crate) async fn stats(State(s): State<AppState>) -> Response {
    match s.registry.store().stats().await {
        Ok(st) => Json(json!({
            "genes": st.genes,
            "pushes": st.pushes,
            "agents": st.agents,
            "evidence": st.evidence,
            "threshold": s.registry.threshold(),
            "nats": s.registry.broadcast().has_nats(),
            "channel": s.registry.broadcast().channel(),
            "replica": s.registry.store().replica_state(),
        }))
        .into_response(),
        Err(e) => store_error(&e),
    }
}

pub(crate) async fn recent(State(s): State<AppState>) -> Response {
    Json(json!({
        "pushes": s.registry.recent().pushes(),
        "refusals": s.registry.recent().refusals(),
    }))
    .into_response()
}

pub(crate) async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if !presented.is_some_and(|p| same(p, s.metrics_token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"helix-registry\"")],
            Json(json!({"error": "missing or invalid bearer token", "reason": "auth"})),
        )
            .into_response();
    }
    let replica = s.registry.store().replica_state();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.registry.metrics().render(replica.as_ref()),
    )
        .into_response()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::OPENAPI).into_response()
}
