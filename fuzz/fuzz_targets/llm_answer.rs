//! Any text as an LLM's answer (an untrusted model, perhaps steered by the
//! error message it was shown): reading it gives a diagnosis whose every
//! name is in the taxonomy, or a rejection, never a panic.
#![no_main]

use helix_core::{DiagnoseError, FailureCode};
use helix_llm::parse_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_answer(&text, "fuzz") {
        Ok(d) => {
            assert!(d.code != FailureCode::Unknown);
            assert!(
                !d.strategies.is_empty()
                    && d.strategies.len() <= helix_core::diagnose::MAX_DIAGNOSED_STRATEGIES
            );
        }
        Err(DiagnoseError::Rejected(why)) => assert!(!why.is_empty()),
        Err(other) => panic!("parsing can only reject: {other}"),
    }
});
