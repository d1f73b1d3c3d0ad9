//! A paid endpoint built with Tempo's own `mpp` crate (server side), on a
//! real chain, with the server-side faults of SCENARIOS.md armed on demand:
//!
//! - `expire_next`: the next challenge is issued already expired (row 2);
//!   the credential built for it is refused before anything is broadcast;
//! - the accepted currencies exclude the agent's holdings (row 3): choose
//!   them at start;
//! - `fail_after_payment_next`: the next verified payment (broadcast and
//!   settled on chain) is answered 500, with its `Payment-Receipt` (row 6);
//! - `answer_after_settling_next`: the next verified payment is answered
//!   with this status and no receipt, as a flaky gateway (502) or a hostile
//!   server (429, or a 402 "payment-insufficient") would.
//!
//! Challenges, credential verification, on-chain settlement and problem
//! details are the crate's; this module only decides when to fail. A
//! request presenting a receipt this server issued is served without a
//! second payment (the idempotent re-delivery a paid API offers).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mpp::server::axum::{PaymentOffers, PaymentProblem};
use mpp::server::{ChargeOptions, Mpp, TempoChargeMethod, TempoConfig, TempoProvider, tempo};

/// The price of `/paid`, dollars.
pub const PRICE: &str = "0.50";

type Server = Mpp<TempoChargeMethod<TempoProvider>>;

/// Faults to arm, and what the server did.
#[derive(Debug, Default)]
pub struct Faults {
    /// Issue the next challenge already expired.
    pub expire_next: AtomicBool,
    /// Answer 500 after the next verified payment.
    pub fail_after_payment_next: AtomicBool,
    /// Answer this status, without a receipt, after the next verified
    /// payment (0: none).
    pub answer_after_settling_next: AtomicU16,
    /// Payments verified and settled.
    pub settled: AtomicUsize,
    /// Credentials refused.
    pub refused: AtomicUsize,
    receipts: Mutex<HashSet<String>>,
}

struct App {
    mpp: Server,
    faults: Arc<Faults>,
}

/// A running server on a loopback port; stops when dropped.
pub struct MppServer {
    /// Base URL; the paid resource is `{url}/paid`.
    pub url: String,
    /// Arm faults here.
    pub faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MppServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server could not be configured or bound.
#[derive(Debug, thiserror::Error)]
#[error("mpp server: {0}")]
pub struct ServerError(String);

impl MppServer {
    /// Charges [`PRICE`] in any of `currencies`, paid to `recipient` on the
    /// chain behind `rpc_url`.
    pub async fn start(
        rpc_url: &str,
        chain_id: u64,
        recipient: &str,
        currencies: &[String],
    ) -> Result<MppServer, ServerError> {
        let mpp = Mpp::create(
            tempo(TempoConfig { recipient })
                .rpc_url(rpc_url)
                .chain_id(chain_id)
                .currencies(currencies.iter().cloned())
                .realm("helix-lab")
                .secret_key(&format!("helix-lab-{:032x}", rand::random::<u128>())),
        )
        .map_err(|e| ServerError(e.to_string()))?;
        let faults = Arc::new(Faults::default());
        let app = Arc::new(App {
            mpp,
            faults: faults.clone(),
        });
        let router = axum::Router::new()
            .route("/paid", axum::routing::get(paid))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ServerError(e.to_string()))?;
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| ServerError(e.to_string()))?
        );
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(target: "helix::lab", %e, "mpp server stopped");
            }
        });
        Ok(MppServer { url, faults, task })
    }
}

fn expired_iso() -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(5);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn offers(app: &App) -> Result<Vec<mpp::PaymentChallenge>, String> {
    let expired = app.faults.expire_next.swap(false, Ordering::SeqCst);
    let expires = expired.then(expired_iso);
    let options = ChargeOptions {
        expires: expires.as_deref(),
        ..Default::default()
    };
    app.mpp
        .charge_with_options(PRICE, options)
        .map_err(|e| e.to_string())
}

async fn paid(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(r) = text(mpp::PAYMENT_RECEIPT_HEADER) {
        let known = app
            .faults
            .receipts
            .lock()
            .map(|s| s.contains(r))
            .unwrap_or(false);
        return if known {
            content(r)
        } else {
            (StatusCode::PAYMENT_REQUIRED, "unknown receipt").into_response()
        };
    }
    let Some(auth) = text("authorization").and_then(mpp::protocol::core::extract_payment_scheme)
    else {
        return match offers(&app) {
            Ok(o) => PaymentOffers(o).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        };
    };
    let credential = match mpp::parse_authorization(auth) {
        Ok(c) => c,
        Err(e) => {
            app.faults.refused.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::BAD_REQUEST,
                format!("malformed credential: {e}"),
            )
                .into_response();
        }
    };
    let options = ChargeOptions::default();
    match app
        .mpp
        .verify_charge_with_options(&credential, PRICE, options)
        .await
    {
        Ok(receipt) => {
            app.faults.settled.fetch_add(1, Ordering::SeqCst);
            let header = mpp::format_receipt(&receipt).unwrap_or_default();
            if let Ok(mut s) = app.faults.receipts.lock() {
                s.insert(header.clone());
            }
            let status = app
                .faults
                .answer_after_settling_next
                .swap(0, Ordering::SeqCst);
            if status != 0 {
                return settled_then(status, &app);
            }
            if app
                .faults
                .fail_after_payment_next
                .swap(false, Ordering::SeqCst)
            {
                let mut r =
                    (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
                if let Ok(v) = HeaderValue::from_str(&header) {
                    r.headers_mut().insert(mpp::PAYMENT_RECEIPT_HEADER, v);
                }
                return r;
            }
            content(&header)
        }
        Err(e) => {
            app.faults.refused.fetch_add(1, Ordering::SeqCst);
            match offers(&app) {
                Ok(o) => PaymentProblem::new(&e, o).into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
            }
        }
    }
}

/// The answer of a server that took the payment and says otherwise.
fn settled_then(status: u16, app: &App) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    match status {
        429 => {
            let mut r = (code, "Too Many Requests").into_response();
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            r
        }
        402 => {
            let insufficient = mpp::VerificationError::insufficient_balance(
                "insufficient balance to cover the charge",
            );
            match offers(app) {
                Ok(o) => PaymentProblem::new(&insufficient, o).into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
            }
        }
        _ => (code, "Bad Gateway").into_response(),
    }
}

fn content(receipt: &str) -> Response {
    let mut r = axum::Json(serde_json::json!({ "data": "paid content" })).into_response();
    if let Ok(v) = HeaderValue::from_str(receipt) {
        r.headers_mut().insert(mpp::PAYMENT_RECEIPT_HEADER, v);
    }
    r
}
