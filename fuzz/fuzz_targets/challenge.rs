//! Any text as a `WWW-Authenticate: Payment` header: parsing gives a
//! challenge or a clear error, never a panic, and a parsed challenge's
//! amount is either a number or an error.
#![no_main]

use helix_platforms::mpp::parse_challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    for h in [header.as_ref(), &format!("Payment {header}")] {
        match parse_challenge(h) {
            Ok(c) => {
                let _ = c.request.amount_units();
                let _ = c.request.chain();
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
