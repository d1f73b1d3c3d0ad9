use helix_core::{
    Category as K, ErrorSignal, Evidence as E, FailureCode as C, Platform, Severity,
    TransportKind as T,
};

use crate::perception::rules::Rule;
use crate::perception::{Marks, Verdict};

pub fn structured(s: &ErrorSignal, m: &Marks) -> Option<Verdict> {
    if let Some(t) = s.transport {
        let sent = s.facts.payment_sent;
        return Some(match t {
            // A payment left and no answer came back: it may have landed.
            T::Timeout | T::ConnectionDropped if sent => {
                let mut v = Verdict::new(C::OutcomeUnknown, K::Service, E::Typed);
                v.severity = Severity::Critical;
                v
            }
            T::Timeout => Verdict::new(C::Timeout, K::Service, E::Typed),
            T::Connect | T::ConnectionDropped => Verdict::new(C::ServerError, K::Service, E::Typed),
            T::Io => return None,
        });
    }
    if let Some(v) = super::x402::reason(s, m) {
        return Some(v);
    }
    // A prepaid API's credit ran out; it answers 429 like a rate limit,
    // but waiting does not help.
    if s.platform_code.as_deref() == Some("insufficient_quota") {
        return Some(Verdict::new(
            C::PaymentInsufficient,
            K::Balance,
            E::PlatformCode,
        ));
    }
    match s.http_status? {
        429 => Some(Verdict::new(C::RateLimited, K::Throttle, E::Status)),
        408 => Some(Verdict::new(C::Timeout, K::Service, E::Status)),
        _ => None,
    }
}

pub fn fallback(s: &ErrorSignal, _: &Marks) -> Option<Verdict> {
    if let Some(v) = s.rpc_code.and_then(rpc_code) {
        return Some(v);
    }
    match s.http_status? {
        500..=599 => Some(Verdict::new(C::ServerError, K::Service, E::Status)),
        _ => None,
    }
}

/// The standard JSON-RPC codes (EIP-1474) that name a failure of the
/// service, read only when the message's words said nothing: nodes put
/// many failures under one code. The others (invalid input, method not
/// found, resource not found, parse errors) are the caller's to fix.
fn rpc_code(code: i64) -> Option<Verdict> {
    Some(match code {
        // Limit exceeded: the node's request budget.
        -32005 => Verdict::new(C::RateLimited, K::Throttle, E::Rpc),
        // Resource unavailable, internal error.
        -32002 | -32603 => Verdict::new(C::ServerError, K::Service, E::Rpc),
        _ => return None,
    })
}

const fn rule(
    name: &'static str,
    code: C,
    category: K,
    all: &'static [&'static [&'static str]],
    none: &'static [&'static str],
) -> Rule {
    Rule::new(Platform::Http, name, code, category, all)
        .unless(none)
        .severity(Severity::Low)
}

/// Amount words: "500 USDC" is an amount, not a status.
const AMOUNTS: &[&str] = &[
    "usdc",
    "usd",
    "usdt",
    "tokens",
    "amount",
    "limit",
    "requested",
    "balance",
    "$",
];

pub const RULES: &[Rule] = &[
    // The connection broke after the request may have left: whether a
    // payment in it landed is not known.
    rule(
        "connection-lost",
        C::OutcomeUnknown,
        K::Service,
        &[&[
            "econnreset",
            "socket hang up",
            "epipe",
            "broken pipe",
            "connection reset",
            "connection closed",
            "connection error",
            "closed before message completed",
            "incomplete message",
            "unexpected eof",
            "eof",
            "other side closed",
            "connection aborted",
            "remote end closed connection",
            "server disconnected",
            "network error",
        ]],
        // A certificate refused is no dropped connection: nothing left.
        &["certificate", "ssl"],
    )
    .severity(Severity::High),
    // Nothing reached the server.
    rule(
        "unreachable",
        C::ServerError,
        K::Service,
        &[&[
            "econnrefused",
            "connection refused",
            "enotfound",
            "eai_again",
            "getaddrinfo",
            "dns error",
            "tcp connect error",
            "error sending request",
            "network socket disconnected",
            "failed to connect",
            "could not connect",
            "network is unreachable",
            "no route to host",
            "ehostunreach",
            "enetunreach",
            "http request failed",
            "fetch failed",
            "failed to fetch",
            "connection attempts failed",
            "failed to broadcast",
        ]],
        // It answered: refused credentials are no outage; a request that
        // timed out is read by the timeout rule.
        &[
            "unauthorized",
            "forbidden",
            "timed out",
            "timeout",
            "etimedout",
        ],
    ),
    rule(
        "rate-limit",
        C::RateLimited,
        K::Throttle,
        &[&[
            "rate limit",
            "rate limited",
            "rate-limited",
            "ratelimit*",
            "rate_limit",
            "too many requests",
            "throttl*",
            "slow down",
            "quota exceeded",
            "request limit exceeded",
            "request limit reached",
            "credits limited",
            "exceeds defined limit",
            "compute units",
            "account limit exceeded",
            "in-flight transaction limit",
            "retry after",
            "retry-after",
        ]],
        &[],
    ),
    rule(
        "status-429",
        C::RateLimited,
        K::Throttle,
        &[
            &["429"],
            &["http", "status", "error", "code", "response", "got"],
        ],
        AMOUNTS,
    ),
    rule(
        "server-error",
        C::ServerError,
        K::Service,
        &[&[
            "internal server error",
            "bad gateway",
            "service unavailable",
            "gateway timeout",
            "server error",
            "upstream error",
            "temporarily unavailable",
            "upstream connect error",
            "server is overloaded",
            "overloaded",
            "internal error",
            "header not found",
            "backend connection",
            "null response",
            "missing response",
            "socket has been closed",
            "websocket request failed",
            "resource not available",
            "disconnected from all chains",
            "quorum not met",
            "txpool is full",
            "transaction pool is full",
        ]],
        &[],
    ),
    rule(
        "status-402",
        C::PaymentRequired,
        K::Service,
        &[
            &["402"],
            &["status code", "status", "http", "response code"],
        ],
        AMOUNTS,
    ),
    rule(
        "status-5xx",
        C::ServerError,
        K::Service,
        &[
            &["500", "502", "503", "504"],
            &[
                "http", "status", "error", "code", "response", "got", "returned",
            ],
        ],
        AMOUNTS,
    ),
    rule(
        "timeout",
        C::Timeout,
        K::Service,
        &[&[
            "timed out",
            "timeout",
            "time out",
            "deadline exceeded",
            "took too long",
            "no response within",
            "did not respond",
            "elapsed",
            "etimedout",
            "esockettimedout",
        ]],
        &[],
    ),
    // HTTP 402 protocols (x402, MPP) in their clients' and servers' words.
    rule(
        "402-offer-unmatched",
        C::MethodUnsupported,
        K::Currency,
        &[&[
            "no matching payment requirements",
            "unable to find matching payment requirements",
            "no client registered",
            "no scheme",
            "unsupported x402 version",
            "facilitator does not support",
            "no method found",
            "challenge does not support",
        ]],
        &[],
    ),
    rule(
        "402-malformed",
        C::InvalidChallenge,
        K::Session,
        &[&[
            "malformed payment header",
            "failed to parse payment requirements",
            "invalid payment required response",
        ]],
        &[],
    ),
    rule(
        "402-unverified",
        C::VerificationFailed,
        K::Signature,
        &[&["payment verification failed"]],
        &[],
    ),
    rule(
        "402-unpaid",
        C::PaymentRequired,
        K::Service,
        &[&[
            "payment required",
            "payment is required",
            "header is required",
            "settlement failed",
            "payment already attempted",
            "payment retry limit",
            "previously paid challenge",
            "www-authenticate",
            "no challenge in response",
        ]],
        // A wallet connection's own handshake, not a payment.
        &["walletconnect"],
    ),
];
