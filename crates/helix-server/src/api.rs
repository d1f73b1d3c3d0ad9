//! The read-only routes: genes, the live stream, numbers, health, the spec.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use helix_core::BudgetStatus;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

async fn budget(st: &AppState) -> Option<BudgetStatus> {
    let b = st.helix.budget()?;
    match b.status().await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(target: "helix::server", %e, "budget unreadable");
            None
        }
    }
}

pub(crate) async fn genes(State(st): State<AppState>) -> Response {
    match st.helix.store().list().await {
        Ok(mut genes) => {
            genes.sort_by(|a, b| {
                (a.key, b.q)
                    .partial_cmp(&(b.key, a.q))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            axum::Json(json!({ "genes": genes })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Events a gene's history reads at most (newest first).
const MAX_GENE_EVENTS: usize = 100_000;

pub(crate) async fn gene(
    State(st): State<AppState>,
    axum::extract::Path((code, category, strategy)): axum::extract::Path<(String, String, String)>,
) -> Response {
    let (Ok(code), Ok(category), Ok(strategy)) = (
        code.parse::<helix_core::FailureCode>(),
        category.parse::<helix_core::Category>(),
        strategy.parse::<helix_core::StrategyId>(),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a gene is /v1/genes/{code}/{category}/{strategy} with names from the taxonomy",
        );
    };
    let key = helix_core::GeneKey { code, category };
    let gene = match st.helix.store().list().await {
        Ok(all) => all
            .into_iter()
            .find(|g| g.key == key && g.strategy == strategy),
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let Some(gene) = gene else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no gene {key} -> {strategy}"),
        );
    };
    let events = match &st.hub.history {
        Some(log) => match crate::history::read_back(log.as_ref(), None, MAX_GENE_EVENTS).await {
            Ok(v) => v,
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("event log: {e}")),
        },
        None => Vec::new(),
    };
    let history = crate::gene_detail::history(&events, key, strategy);
    let registry = match &st.hub.network {
        Some(n) => match n.registry_gene(&gene).await {
            Some(Ok(v)) => v,
            Some(Err(e)) => json!({ "error": e }),
            None => serde_json::Value::Null,
        },
        None => serde_json::Value::Null,
    };
    axum::Json(json!({
        "gene": gene,
        "registry": registry,
        "learned": history.learned,
        "uses": history.uses,
        "log": st.hub.history.is_some(),
    }))
    .into_response()
}

pub(crate) async fn summary(State(st): State<AppState>) -> Response {
    let budget = budget(&st).await;
    let mut body = serde_json::to_value(st.hub.metrics.summary(budget)).unwrap_or_default();
    body["mode"] = json!(st.helix.policy().mode);
    axum::Json(body).into_response()
}

pub(crate) async fn metrics(State(st): State<AppState>) -> Response {
    let budget = budget(&st).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.hub.metrics.render(budget.as_ref()),
    )
        .into_response()
}

pub(crate) async fn health(State(st): State<AppState>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "mode": st.helix.policy().mode,
    }))
    .into_response()
}

/// `?before=<cursor>&limit=<n>` of `/v1/history`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

/// Events a history page holds at most.
const MAX_HISTORY_PAGE: u32 = 500;

pub(crate) async fn history(
    State(st): State<AppState>,
    q: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            "before must be an integer cursor and limit a count",
        );
    };
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_HISTORY_PAGE {
        return error(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1..={MAX_HISTORY_PAGE}"),
        );
    }
    let Some(log) = &st.hub.history else {
        return error(StatusCode::NOT_FOUND, "this server keeps no event log");
    };
    match log.page(q.before, limit).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("event log: {e}")),
    }
}

/// `?window=hour|day|month` of `/v1/series`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SeriesQuery {
    window: Option<String>,
}

/// Events a series reads at most (newest first); what is older is left out.
const MAX_SERIES_EVENTS: usize = 200_000;

pub(crate) async fn series(
    State(st): State<AppState>,
    q: Result<axum::extract::Query<SeriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "window must be hour, day or month");
    };
    let window = q.window.as_deref().unwrap_or("hour");
    let Some(span) = crate::series::Span::parse(window) else {
        return error(StatusCode::BAD_REQUEST, "window must be hour, day or month");
    };
    let Some(log) = &st.hub.history else {
        return error(StatusCode::NOT_FOUND, "this server keeps no event log");
    };
    let now = helix_core::gene::now_ms();
    let (width, n) = span.shape();
    let start = now - width * (n as i64 + 1);
    let events = match crate::history::read_back(log.as_ref(), Some(start), MAX_SERIES_EVENTS).await
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("event log: {e}")),
    };
    let series = crate::series::compute(&events, span, now);
    axum::Json(json!({
        "window": window,
        "series": series,
        "budget": budget(&st).await,
    }))
    .into_response()
}

pub(crate) async fn network(State(st): State<AppState>) -> Response {
    let Some(n) = &st.hub.network else {
        return axum::Json(json!({ "registry": null, "mesh": null, "objectives": null }))
            .into_response();
    };
    // One read of the services per second, however many pages poll: the
    // lock makes concurrent callers wait for the read under way.
    let mut cached = st.hub.network_view.lock().await;
    if let Some((at, v)) = cached.as_ref()
        && at.elapsed() < crate::hub::NETWORK_VIEW_TTL
    {
        return axum::Json(v.clone()).into_response();
    }
    // A service that is down shows its error; the others still show.
    let view = |r: Option<Result<serde_json::Value, String>>| match r {
        Some(Ok(v)) => v,
        Some(Err(e)) => json!({ "error": e }),
        None => serde_json::Value::Null,
    };
    let (registry, mesh, objectives) = tokio::join!(n.registry(), n.mesh(), n.objectives());
    let v = json!({
        "registry": view(registry),
        "mesh": view(mesh),
        "objectives": view(objectives),
    });
    *cached = Some((std::time::Instant::now(), v.clone()));
    axum::Json(v).into_response()
}

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}

/// Every PCEC event as it happens: `event: pcec` with the event's JSON;
/// `event: hello` first; `event: lagged` with a count when this reader fell
/// behind and events were skipped.
pub(crate) async fn events(
    State(st): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = st.hub.events.subscribe();
    let hello = SseEvent::default()
        .event("hello")
        .data(json!({"mode": st.helix.policy().mode}).to_string());
    let live = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => match serde_json::to_string(&e) {
                    Ok(data) => return Some((SseEvent::default().event("pcec").data(data), rx)),
                    Err(err) => {
                        tracing::warn!(target: "helix::server", %err, "event not serialisable")
                    }
                },
                Err(RecvError::Lagged(n)) => {
                    return Some((SseEvent::default().event("lagged").data(n.to_string()), rx));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let all = stream::once(async { hello }).chain(live).map(Ok);
    Sse::new(all).keep_alive(KeepAlive::default())
}
