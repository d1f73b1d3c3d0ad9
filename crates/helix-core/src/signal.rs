//! [`ErrorSignal`]: everything an error says about itself, in typed fields,
//! before anyone decides what it means.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::taxonomy::Platform;

/// Messages longer than this are cut (on a char boundary) when a signal is
/// built, so a hostile 1 MB error costs the classifier nothing extra.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// The class of a typed transport error from a known library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// The deadline passed before an answer arrived.
    Timeout,
    /// No connection could be made.
    Connect,
    /// The connection broke after the request was written.
    ConnectionDropped,
    /// Any other I/O error.
    Io,
}

/// Facts that the error itself does not carry, added by adapters (from the
/// message) or by probes (from the chain or the server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The payer's balance in the charged currency, base units.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::amount::ser_opt",
        deserialize_with = "crate::amount::de_opt"
    )]
    pub payer_balance: Option<u128>,
    /// The amount the payment needed, base units.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::amount::ser_opt",
        deserialize_with = "crate::amount::de_opt"
    )]
    pub required_amount: Option<u128>,
    /// A limit named by the platform (policy limit, max per transfer), base units.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::amount::ser_opt",
        deserialize_with = "crate::amount::de_opt"
    )]
    pub limit_amount: Option<u128>,
    /// The currency (token address or symbol) the failure is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Currencies the server says it accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_currencies: Vec<String>,
    /// Hash of a transaction that was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// Decoded revert reason or custom error name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revert_reason: Option<String>,
    /// Index of the failing call in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_call: Option<usize>,
    /// The nonce the chain expects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_nonce: Option<u64>,
    /// The chain id the payment targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_chain_id: Option<u64>,
    /// Whether a payment (transaction or credential) had left the process
    /// before the error; decides between "failed" and "outcome unknown".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub payment_sent: bool,
    /// Proof that a sent payment moved no funds (a mined receipt with a
    /// failed status). Without it, a failure after [`Facts::payment_sent`]
    /// is an unknown outcome, whatever the server said.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_charged: bool,
    /// The sent transaction cannot be included after this time (unix
    /// seconds): its `valid_before`, as an MPP charge's expiring-nonce
    /// transaction carries. Past it, a transaction with no receipt never
    /// landed and never will.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_before: Option<u64>,
    /// A Payment-Receipt the server issued before failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_receipt: Option<String>,
    /// The platform object the failure is about (a Stripe payment intent id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
}

/// A failure as evidence: typed fields first, the message last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorSignal {
    /// The platform the call went to, when the caller or the error type knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Transport-level class from a typed error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportKind>,
    /// HTTP status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// problem+json `type` (RFC 9457), e.g. `https://paymentauth.org/problems/payment-insufficient`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    /// JSON-RPC error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_code: Option<i64>,
    /// Revert data, `0x`-prefixed hex (the first four bytes are the selector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revert_data: Option<String>,
    /// The platform's own error code (Stripe `error.code`, Privy `code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_code: Option<String>,
    /// The platform's error type (Stripe `error.type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Stripe `error.decline_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// How long the server asked us to wait.
    #[serde(default, with = "opt_millis", skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Duration>,
    /// Human-readable message (bounded by [`MAX_MESSAGE_BYTES`], also when
    /// read from JSON, as the API server and the event log do).
    #[serde(deserialize_with = "de_bounded")]
    pub message: String,
    /// Facts added by adapters and probes.
    #[serde(default)]
    pub facts: Facts,
}

impl ErrorSignal {
    /// A signal that carries only a message.
    pub fn message(text: impl AsRef<str>) -> Self {
        ErrorSignal {
            message: bounded(text.as_ref()),
            ..Default::default()
        }
    }

    /// Builder-style: set the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Builder-style: set the platform.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Builds a signal from an HTTP answer: status, a header lookup, and the
    /// body bytes. Reads problem+json, Stripe's and Privy's error objects and
    /// JSON-RPC error objects; any other body becomes the message. Never fails:
    /// an unreadable body is kept as (lossy, bounded) text.
    pub fn from_http<'h>(
        status: u16,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> Self {
        let mut s = ErrorSignal {
            http_status: Some(status),
            ..Default::default()
        };
        s.retry_after = header("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now()));
        if let Some(r) = header("payment-receipt") {
            s.facts.payment_receipt = Some(bounded(r));
        }
        let body = &body[..body.len().min(64 * 1024)];
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) => s.read_json_body(&v),
            Err(_) => s.message = bounded(&String::from_utf8_lossy(body)),
        }
        if s.message.is_empty() {
            s.message = format!("HTTP {status}");
        }
        s
    }

    /// Reads the well-known JSON error shapes into typed fields.
    pub fn read_json_body(&mut self, v: &serde_json::Value) {
        use serde_json::Value;
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(bounded);
        // problem+json (RFC 9457), as MPP servers answer. Anthropic's
        // `{"type": "error", "error": {...}}` has a type and is no problem
        // document.
        if v.get("error").is_none()
            && let Some(t) = str_of(v, "type")
        {
            self.problem_type = Some(t);
            self.message = str_of(v, "detail")
                .or_else(|| str_of(v, "title"))
                .unwrap_or_default();
            // A relay's reason passed on under `details` (pympp).
            self.platform_code = v.get("details").and_then(|d| str_of(d, "code"));
            if let Some(c) = v.get("acceptedCurrencies").and_then(Value::as_array) {
                self.facts.accepted_currencies = c
                    .iter()
                    .filter_map(Value::as_str)
                    .take(16)
                    .map(bounded)
                    .collect();
            }
            return;
        }
        // x402: {"x402Version": 1, "error": "<reason>", "accepts": [...]};
        // its reasons share words with Stripe's codes, so the body says whose.
        if v.get("x402Version").is_some()
            && let Some(reason) = str_of(v, "error")
        {
            self.error_type = Some("x402".to_owned());
            self.platform_code = Some(reason.clone());
            self.message = reason;
            return;
        }
        match v.get("error") {
            // Stripe: {"error": {"type", "code", "decline_code", "message", "param"}}
            // JSON-RPC: {"error": {"code": -32000, "message", "data"}}
            Some(e @ Value::Object(_)) => {
                if let Some(code) = e.get("code").and_then(Value::as_i64) {
                    self.rpc_code = Some(code);
                    if let Some(d) = e.get("data").and_then(Value::as_str)
                        && d.starts_with("0x")
                    {
                        self.revert_data = Some(bounded(d));
                    }
                } else {
                    self.platform_code = str_of(e, "code");
                }
                self.error_type = str_of(e, "type");
                self.facts.object_id = e
                    .get("payment_intent")
                    .and_then(|p| p.get("id"))
                    .and_then(Value::as_str)
                    .map(bounded);
                self.decline_code = str_of(e, "decline_code");
                self.message = str_of(e, "message").unwrap_or_default();
            }
            // Privy: {"error": "message", "code": "..."}
            Some(Value::String(m)) => {
                self.message = bounded(m);
                self.platform_code = str_of(v, "code");
            }
            _ => {
                self.message = str_of(v, "message")
                    .or_else(|| str_of(v, "detail"))
                    .unwrap_or_else(|| bounded(&v.to_string()));
            }
        }
    }
}

fn de_bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    Ok(if text.len() <= MAX_MESSAGE_BYTES {
        text
    } else {
        bounded(&text)
    })
}

/// Cuts `text` to [`MAX_MESSAGE_BYTES`] on a char boundary.
pub fn bounded(text: &str) -> String {
    if text.len() <= MAX_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Parses a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now"; garbage means "not given".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What an error type says about itself. Implement it for your own error
/// types; Helix ships it for plain text, `std::io::Error`, reqwest errors
/// (helix-http) and the chain errors (helix-tempo).
pub trait IntoSignal {
    /// The signal; must not panic on any value.
    fn to_signal(&self) -> ErrorSignal;
}

impl IntoSignal for ErrorSignal {
    fn to_signal(&self) -> ErrorSignal {
        self.clone()
    }
}

impl IntoSignal for String {
    fn to_signal(&self) -> ErrorSignal {
        ErrorSignal::message(self)
    }
}

impl IntoSignal for &str {
    fn to_signal(&self) -> ErrorSignal {
        ErrorSignal::message(self)
    }
}

impl IntoSignal for std::io::Error {
    fn to_signal(&self) -> ErrorSignal {
        use std::io::ErrorKind as K;
        let transport = match self.kind() {
            K::TimedOut | K::WouldBlock => TransportKind::Timeout,
            K::ConnectionRefused | K::NotConnected | K::AddrNotAvailable => TransportKind::Connect,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                TransportKind::ConnectionDropped
            }
            _ => TransportKind::Io,
        };
        ErrorSignal {
            transport: Some(transport),
            ..ErrorSignal::message(self.to_string())
        }
    }
}

mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(h: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |k| {
            h.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn problem_json_is_read_into_typed_fields() {
        let body = br#"{"type":"https://paymentauth.org/problems/payment-insufficient","title":"Payment Insufficient","detail":"balance too low","status":402}"#;
        let s = ErrorSignal::from_http(402, headers(&[]), body);
        assert_eq!(s.http_status, Some(402));
        assert_eq!(
            s.problem_type.as_deref(),
            Some("https://paymentauth.org/problems/payment-insufficient")
        );
        assert_eq!(s.message, "balance too low");
    }

    #[test]
    fn stripe_privy_and_rpc_shapes_are_told_apart() {
        let stripe = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;
        let s = ErrorSignal::from_http(402, headers(&[]), stripe);
        assert_eq!(s.platform_code.as_deref(), Some("card_declined"));
        assert_eq!(s.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(s.error_type.as_deref(), Some("card_error"));
        assert_eq!(s.rpc_code, None);

        let privy = br#"{"error":"Transaction nonce mismatch","code":"invalid_data"}"#;
        let s = ErrorSignal::from_http(400, headers(&[]), privy);
        assert_eq!(s.platform_code.as_deref(), Some("invalid_data"));
        assert_eq!(s.message, "Transaction nonce mismatch");

        let rpc = br#"{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x54cfe659"}}"#;
        let s = ErrorSignal::from_http(200, headers(&[]), rpc);
        assert_eq!(s.rpc_code, Some(3));
        assert_eq!(s.revert_data.as_deref(), Some("0x54cfe659"));
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn hostile_bodies_are_bounded_and_never_panic() {
        let huge = vec![b'a'; 1 << 20];
        let s = ErrorSignal::from_http(500, headers(&[]), &huge);
        assert!(s.message.len() <= MAX_MESSAGE_BYTES);
        let bad_utf8 = [0xff, 0xfe, 0x41, 0xc3];
        let s = ErrorSignal::from_http(500, headers(&[]), &bad_utf8);
        assert!(s.message.contains('A'));
        let multibyte = "é".repeat(5000);
        assert!(bounded(&multibyte).len() <= MAX_MESSAGE_BYTES);
        let json = serde_json::json!({ "message": "é".repeat(5_000) }).to_string();
        let read: ErrorSignal = serde_json::from_str(&json).unwrap();
        assert!(read.message.len() <= MAX_MESSAGE_BYTES && read.message.starts_with('é'));
        let s = ErrorSignal::from_http(502, headers(&[]), b"");
        assert_eq!(s.message, "HTTP 502");
    }

    #[test]
    fn io_errors_keep_their_transport_class() {
        let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline");
        assert_eq!(e.to_signal().transport, Some(TransportKind::Timeout));
        let e = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            e.to_signal().transport,
            Some(TransportKind::ConnectionDropped)
        );
    }
}
