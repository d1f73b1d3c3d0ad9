//! `POST /v1/repair` and its outcome report.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use helix_core::{ErrorSignal, PaymentView};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::error;

/// A failure reported by an agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepairRequest {
    /// The error, as the agent saw it.
    signal: ErrorSignal,
    /// The payment that failed (recipient and amount are guarded).
    #[serde(default)]
    payment: PaymentView,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutcomeRequest {
    /// Whether the agent's retry, with the patches applied, succeeded.
    success: bool,
}

fn bad_json(r: JsonRejection) -> Response {
    error(r.status(), r.body_text())
}

/// Classifies, recommends, and repairs when the mode allows. The answer
/// carries the patches the agent applies before retrying.
pub(crate) async fn repair(
    State(st): State<AppState>,
    body: Result<axum::Json<RepairRequest>, JsonRejection>,
) -> Response {
    let axum::Json(req) = match body {
        Ok(b) => b,
        Err(r) => return bad_json(r),
    };
    let mut advice = st.helix.advise(req.signal, req.payment).await;
    let awaiting = match advice.ticket.take() {
        Some(t) => {
            st.tickets.put(t);
            true
        }
        None => false,
    };
    let mut body = serde_json::to_value(&advice).unwrap_or_default();
    body["awaiting_outcome"] = json!(awaiting);
    axum::Json(body).into_response()
}

/// Before a payment: when the forecast expects a failure for it now (a
/// recurring window), the gene's repair is applied ahead and its patches
/// returned; otherwise an empty answer. Off unless the server was started
/// with a forecast (`helix serve --forecast-weeks`).
pub(crate) async fn ahead(
    State(st): State<AppState>,
    body: Result<axum::Json<PaymentView>, JsonRejection>,
) -> Response {
    let axum::Json(payment) = match body {
        Ok(b) => b,
        Err(r) => return bad_json(r),
    };
    axum::Json(st.helix.ahead(payment).await).into_response()
}

/// The agent's retry succeeded or not: verifies the repair, teaches the gene.
pub(crate) async fn outcome(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    body: Result<axum::Json<OutcomeRequest>, JsonRejection>,
) -> Response {
    let axum::Json(req) = match body {
        Ok(b) => b,
        Err(r) => return bad_json(r),
    };
    let Some(ticket) = st.tickets.take(id) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no repair {id} awaits an outcome (unknown, already reported, or expired)"),
        );
    };
    let gene = st.helix.report_outcome(ticket, req.success).await;
    axum::Json(json!({ "repair_id": id, "gene": gene })).into_response()
}
