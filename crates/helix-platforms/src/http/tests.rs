use std::time::Duration;

use helix_core::{
    Adapter, Category as K, ErrorSignal, Evidence, FailureCode as C, Platform::Http, TransportKind,
};

use crate::perception::testutil::{C as CL, all_classify, none_classify, signal};

#[test]
fn row_18_rate_limited() {
    all_classify(
        &[
            "429 Too Many Requests",
            "rate limit exceeded, retry after 2 seconds",
            "You are being rate limited",
            "Request throttled: quota exceeded for key",
            "HTTP status 429 from upstream",
            "Slow down! Too many requests",
        ],
        C::RateLimited,
        K::Throttle,
        Http,
    );
    let s = ErrorSignal::from_http(429, |h| (h == "retry-after").then_some("3"), b"");
    let f = CL.perceive(&s).unwrap();
    assert_eq!((f.code, f.evidence), (C::RateLimited, Evidence::Status));
    assert_eq!(s.retry_after, Some(Duration::from_secs(3)));
}

#[test]
fn row_19_server_error() {
    all_classify(
        &[
            "500 Internal Server Error",
            "502 Bad Gateway",
            "Service Unavailable",
            "upstream connect error or disconnect/reset before headers",
            "The server is overloaded, try again later",
            "request failed with status code 503",
        ],
        C::ServerError,
        K::Service,
        Http,
    );
    let s = signal(|s| {
        s.http_status = Some(503);
        s.message = "<html>oops</html>".into();
    });
    assert_eq!(CL.perceive(&s).unwrap().evidence, Evidence::Status);
}

#[test]
fn row_20_timeout() {
    all_classify(
        &[
            "operation timed out",
            "request timeout after 30000ms",
            "context deadline exceeded",
            "The upstream took too long to respond",
            "error sending request: timed out",
        ],
        C::Timeout,
        K::Service,
        Http,
    );
    let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "whatever");
    let f = CL
        .perceive(&helix_core::IntoSignal::to_signal(&io))
        .unwrap();
    assert_eq!((f.code, f.evidence), (C::Timeout, Evidence::Typed));
}

#[test]
fn a_timeout_after_sending_a_payment_is_outcome_unknown() {
    let s = signal(|s| {
        s.transport = Some(TransportKind::ConnectionDropped);
        s.facts.payment_sent = true;
    });
    assert_eq!(CL.perceive(&s).unwrap().code, C::OutcomeUnknown);
    let s = signal(|s| s.transport = Some(TransportKind::ConnectionDropped));
    assert_eq!(CL.perceive(&s).unwrap().code, C::ServerError);
}

#[test]
fn amounts_are_not_statuses_and_success_is_not_failure() {
    none_classify(&[
        "Transferred 500 USDC to 0xabc",
        "Requested: 2500 USDC",
        "limit 429 tokens",
        "Payment succeeded: tx 0xabc confirmed in block 500",
        "Transaction confirmed",
        "Payment completed successfully",
        "status: settled",
        "",
        "the weather is nice",
    ]);
    // A success report that also says something failed is a failure.
    assert!(
        CL.classify_message("payment succeeded but the service returned 500 internal server error")
            .is_some()
    );
}

/// EIP-1474's service codes decide only when the words do not.
#[test]
fn standard_json_rpc_codes_decide_what_the_words_leave_open() {
    let rpc = |code: i64, msg: &str| {
        let mut s = ErrorSignal::message(msg);
        s.rpc_code = Some(code);
        CL.perceive(&s).map(|f| (f.code, f.category))
    };
    assert_eq!(
        rpc(-32005, "request failed"),
        Some((C::RateLimited, K::Throttle))
    );
    assert_eq!(
        rpc(-32603, "request failed"),
        Some((C::ServerError, K::Service))
    );
    assert_eq!(
        rpc(-32002, "request failed"),
        Some((C::ServerError, K::Service))
    );
    assert_eq!(
        rpc(-32603, "nonce too low: next nonce 7"),
        Some((C::VerificationFailed, K::Signature)),
        "the words go first"
    );
    // The caller's own mistakes stay unknown.
    for code in [-32600, -32601, -32602, -32700, -32001, -32004] {
        assert_eq!(rpc(code, "request failed"), None, "{code}");
    }
}

#[test]
fn transport_words_of_other_stacks_and_a_402_status_line() {
    all_classify(
        &[
            "other side closed",
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
            "Server disconnected without sending a response.",
            "Network Error",
            "socket hang up",
        ],
        C::OutcomeUnknown,
        K::Service,
        Http,
    );
    // A refused certificate: nothing left the client.
    none_classify(&["Network error: SSLError: certificate verify failed"]);
    all_classify(
        &[
            "Request failed with status code 402",
            "HTTP 402 Payment Required",
            "No challenge in response.",
            "response code 402",
            "payment required",
        ],
        C::PaymentRequired,
        K::Service,
        Http,
    );
    none_classify(&["sent 402 USDC to the vendor"]);
}

#[test]
fn a_prepaid_apis_exhausted_quota_is_a_balance_not_a_rate_limit() {
    let body = br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    let s = ErrorSignal::from_http(429, |_| None, body);
    let f = CL.perceive(&s).unwrap();
    assert_eq!((f.code, f.category), (C::PaymentInsufficient, K::Balance));
    let plain = ErrorSignal::from_http(
        429,
        |_| None,
        br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
    );
    assert_eq!(CL.perceive(&plain).unwrap().code, C::RateLimited);
}
