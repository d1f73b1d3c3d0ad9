//! Any bytes as an error message and as an HTTP error body: the classifier
//! and the body reader must not panic, and a message stays bounded.
#![no_main]

use std::sync::LazyLock;

use helix_platforms::Classifier;
use helix_core::signal::MAX_MESSAGE_BYTES;
use helix_core::{Adapter, ErrorSignal};
use libfuzzer_sys::fuzz_target;

static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(helix_platforms::builtin);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = CLASSIFIER.classify_message(&text);

    let (status, body) = match data {
        [a, b, rest @ ..] => (400 + u16::from(*a % 200) + u16::from(*b % 2), rest),
        _ => (500, data),
    };
    let retry = std::str::from_utf8(body.get(..body.len().min(32)).unwrap_or_default()).ok();
    let s = ErrorSignal::from_http(
        status,
        |name| if name == "retry-after" { retry } else { None },
        body,
    );
    assert!(s.message.len() <= MAX_MESSAGE_BYTES);
    let _ = CLASSIFIER.perceive(&s);
});
