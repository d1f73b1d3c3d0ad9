use std::sync::LazyLock;

use helix_core::{Adapter, Category, ErrorSignal, FailureCode, Platform};

use crate::{Classifier, builtin};

pub static C: LazyLock<Classifier> = LazyLock::new(builtin);

/// Asserts every message classifies as (code, category) and names the platform.
#[track_caller]
pub fn all_classify(msgs: &[&str], code: FailureCode, category: Category, platform: Platform) {
    assert!(
        msgs.len() >= 5,
        "at least five real-world strings per scenario"
    );
    for m in msgs {
        let f = C
            .perceive(&ErrorSignal::message(m))
            .unwrap_or_else(|| panic!("unrecognised: {m}"));
        assert_eq!((f.code, f.category), (code, category), "for: {m}");
        assert_eq!(f.platform, platform, "platform for: {m}");
    }
}

/// Asserts none of the messages is classified.
#[track_caller]
pub fn none_classify(msgs: &[&str]) {
    for m in msgs {
        if let Some(f) = C.perceive(&ErrorSignal::message(m)) {
            panic!("{m} classified as {}/{}", f.code, f.category);
        }
    }
}

pub fn signal(f: impl FnOnce(&mut ErrorSignal)) -> ErrorSignal {
    let mut s = ErrorSignal::default();
    f(&mut s);
    s
}

/// `count` texts of up to `max_len` bytes glued from `pieces`, the same
/// for the same `seed` (xorshift64): inputs for tests that compare a fast
/// search with a plain one.
pub fn generated_texts(pieces: &[&str], count: usize, max_len: usize, seed: u64) -> Vec<String> {
    let mut state = seed;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..count)
        .map(|_| {
            let mut text = String::new();
            let want_len = next(max_len);
            while text.len() < want_len {
                text.push_str(pieces[next(pieces.len())]);
            }
            text
        })
        .collect()
}
