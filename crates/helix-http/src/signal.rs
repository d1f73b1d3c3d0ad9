//! reqwest errors and error responses as [`ErrorSignal`]s.

use helix_core::{ErrorSignal, IntoSignal, Platform, TransportKind};

/// A failed HTTP call as an operation error: the signal plus, when the server
/// answered, its status and body (so nothing the server said is lost).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", describe(.signal))]
pub struct HttpFailure {
    /// What the failure says.
    pub signal: ErrorSignal,
    /// The response body, bounded (64 KiB).
    pub body: Vec<u8>,
}

fn describe(s: &ErrorSignal) -> String {
    match s.http_status {
        Some(st) => format!("HTTP {st}: {}", s.message),
        None => s.message.clone(),
    }
}

impl IntoSignal for HttpFailure {
    fn to_signal(&self) -> ErrorSignal {
        self.signal.clone()
    }
}

impl HttpFailure {
    /// A failure that carries only a signal.
    pub fn from_signal(signal: ErrorSignal) -> Self {
        HttpFailure {
            signal,
            body: Vec::new(),
        }
    }

    /// Marks the platform the call went to.
    pub fn on(mut self, p: Platform) -> Self {
        self.signal.platform = Some(p);
        self
    }

    /// Marks that a payment had left before the failure (outcome unknown on
    /// timeout or a dropped connection).
    pub fn after_payment_sent(mut self) -> Self {
        self.signal.facts.payment_sent = true;
        self
    }
}

/// Reads an error response (status ≥ 400) into a failure; the body is read
/// up to 64 KiB.
pub async fn failure_from_response(resp: reqwest::Response) -> HttpFailure {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = read_bounded(resp).await;
    let signal = ErrorSignal::from_http(
        status,
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        &body,
    );
    HttpFailure { signal, body }
}

async fn read_bounded(mut resp: reqwest::Response) -> Vec<u8> {
    const MAX: usize = 64 * 1024;
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX {
            break;
        }
    }
    out
}

/// The signal of a reqwest error: its class from reqwest's own predicates.
pub fn signal_of_reqwest(e: &reqwest::Error) -> ErrorSignal {
    let transport = if e.is_timeout() {
        Some(TransportKind::Timeout)
    } else if e.is_connect() {
        Some(TransportKind::Connect)
    } else if e.is_request() || e.is_body() {
        Some(TransportKind::ConnectionDropped)
    } else {
        None
    };
    let mut s = ErrorSignal::message(error_chain(e));
    s.transport = transport;
    s.http_status = e.status().map(|st| st.as_u16());
    s
}

/// The error and its sources, joined: reqwest's own text rarely names the cause.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl From<reqwest::Error> for HttpFailure {
    fn from(e: reqwest::Error) -> Self {
        HttpFailure::from_signal(signal_of_reqwest(&e))
    }
}
