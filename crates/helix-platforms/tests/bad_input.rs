//! Bad input from the wire: every case gives a signal with a readable,
//! bounded message and a classification (or a clear "unknown"), and none
//! panics. The fuzz targets in `fuzz/` drive the same entry points with
//! generated input.

use helix_core::signal::MAX_MESSAGE_BYTES;
use helix_core::{Adapter, ErrorSignal, FailureCode};

fn signal(status: u16, body: &[u8], header: &[(&'static str, &'static str)]) -> ErrorSignal {
    ErrorSignal::from_http(
        status,
        |n| header.iter().find(|(k, _)| *k == n).map(|(_, v)| *v),
        body,
    )
}

#[test]
fn invalid_problem_json_is_kept_as_text() {
    let c = helix_platforms::builtin();
    for body in [
        &br#"{"type": "https://paymentauth.org/problems/payment-insufficient", "detail": "#[..],
        br#"{"type": 42, "title": ["x"], "status": "402"}"#,
        br#"{"error": {"code": null, "message": {"nested": true}}}"#,
        br#"[1, 2, 3"#,
        br#"null"#,
        b"",
    ] {
        let s = signal(402, body, &[]);
        assert!(!s.message.is_empty(), "{body:?}");
        assert!(s.message.len() <= MAX_MESSAGE_BYTES);
        // A 402 alone still says "payment required"; never a panic.
        let _ = c.perceive(&s);
    }
}

#[test]
fn a_one_megabyte_message_is_bounded_and_still_classified() {
    let c = helix_platforms::builtin();
    let mut text = "x".repeat(1 << 20);
    text.replace_range(0..32, "nonce too low: next nonce 7 ....");
    let s = signal(500, text.as_bytes(), &[]);
    assert!(s.message.len() <= MAX_MESSAGE_BYTES);
    let f = c.perceive(&s).expect("the words at the start still count");
    assert_eq!(f.code, FailureCode::VerificationFailed);

    let s = ErrorSignal::message(&text);
    assert!(s.message.len() <= MAX_MESSAGE_BYTES);
}

#[test]
fn invalid_utf8_is_read_lossily() {
    let c = helix_platforms::builtin();
    let mut body = b"insufficient funds \xff\xfe\xc3 for gas".to_vec();
    body.extend_from_slice(&[0xf0, 0x9f, 0x92]); // a cut 4-byte sequence
    let s = signal(400, &body, &[]);
    assert!(s.message.contains('\u{fffd}'), "{}", s.message);
    assert!(c.perceive(&s).is_some(), "{}", s.message);
}

#[test]
fn a_cut_multibyte_character_at_the_bound_is_not_split() {
    let text = "é".repeat(MAX_MESSAGE_BYTES); // two bytes each
    let s = ErrorSignal::message(&text);
    assert!(s.message.len() <= MAX_MESSAGE_BYTES);
    assert!(s.message.chars().all(|ch| ch == 'é'));
}

#[test]
fn garbage_retry_after_and_receipt_headers_are_not_trusted() {
    for v in [
        "soon",
        "-5",
        "99999999999999999999999",
        "Mon, 99 Foo 2026",
        "",
    ] {
        let s = signal(429, b"", &[("retry-after", v)]);
        assert_eq!(s.retry_after, None, "{v}");
    }
}

#[test]
fn unknown_errors_stay_unknown() {
    let c = helix_platforms::builtin();
    for t in ["", " ", "\0\0\0", "the weather is nice", "🙂🙂🙂"] {
        assert!(c.classify_message(t).is_none(), "{t:?}");
    }
}

#[test]
fn deeply_nested_json_is_refused_without_overflow() {
    let body = "[".repeat(100_000);
    let s = signal(500, body.as_bytes(), &[]);
    assert!(s.message.len() <= MAX_MESSAGE_BYTES);
}
