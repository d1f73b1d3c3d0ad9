//! Revert data: selectors, `Error(string)` reasons, and revert data found
//! in a signal's field or written into its message (bare, quoted, in a
//! JSON-RPC error's `data`, in an SDK's words). Which error a selector
//! names is the platform's table (`tempo/errors.rs`).

use tiny_keccak::{Hasher, Keccak};

/// The 4-byte selector of a signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let mut k = Keccak::v256();
    k.update(signature.as_bytes());
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    [out[0], out[1], out[2], out[3]]
}

/// Selector of `Error(string)`.
pub const ERROR_STRING: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];

/// Parses `0x`-prefixed hex; `None` on anything else.
pub fn parse_hex(data: &str) -> Option<Vec<u8>> {
    hex::decode(
        data.strip_prefix("0x")
            .or_else(|| data.strip_prefix("0X"))?,
    )
    .ok()
}

/// The revert reason of `Error(string)` data.
pub fn decode_error_string(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&ERROR_STRING[..])?;
    let word = |i: usize| -> Option<usize> {
        let w = body.get(i..i + 32)?;
        if w[..24].iter().any(|b| *b != 0) {
            return None;
        }
        Some(u64::from_be_bytes(w[24..].try_into().ok()?) as usize)
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let start = offset.checked_add(32)?;
    let bytes = body.get(start..start.checked_add(len)?)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The first `0x` followed by exactly 8 hex digits in a message
/// ("execution reverted: custom error 0x54cfe659").
pub fn selector_in_message(msg: &str) -> Option<[u8; 4]> {
    let b = msg.as_bytes();
    let mut from = 1;
    // Messages are full of zeros and short of x's: look for the x.
    while let Some(p) = memchr::memchr2(b'x', b'X', b.get(from..)?) {
        let x = from + p;
        from = x + 1;
        if b[x - 1] != b'0' {
            continue;
        }
        let i = x - 1;
        let hexs = b.get(i + 2..i + 10)?;
        let end_ok = b.get(i + 10).is_none_or(|c| !c.is_ascii_hexdigit());
        if end_ok && hexs.iter().all(u8::is_ascii_hexdigit) {
            return hex::decode(hexs).ok()?.try_into().ok();
        }
    }
    None
}

/// Revert data written into a message: `0x`, a selector and whole ABI
/// words after it ("custom error 0x832f98b5000…c350…", `data="0x…"`). The
/// first run that carries arguments wins (an SDK may name the bare
/// selector before the raw data), else the first bare selector; a run of
/// another length is not revert data.
///
/// The search starts at `at`, where the message's first `0x` (in any case)
/// is known to start, or earlier.
pub fn revert_in_message(msg: &str, at: usize) -> Option<Vec<u8>> {
    let b = msg.as_bytes();
    let mut from = at + 1;
    let mut bare = None;
    while let Some(p) = b
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'x', b'X', rest))
    {
        let x = from + p;
        from = x + 1;
        if b[x - 1] != b'0' || (x >= 2 && b[x - 2].is_ascii_alphanumeric()) {
            continue;
        }
        let run = b[x + 1..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if run > 8 && (run - 8) % 64 == 0 {
            return hex::decode(&b[x + 1..x + 1 + run]).ok();
        }
        if run == 8 {
            // A node may print the arguments apart: "0x832f98b5: 0000…".
            let after = x + 9;
            let gap = b[after..]
                .iter()
                .take_while(|c| matches!(c, b':' | b' '))
                .count();
            let args = b[after + gap..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if gap > 0 && args > 0 && args % 64 == 0 {
                let mut out = hex::decode(&b[x + 1..after]).ok()?;
                out.extend(hex::decode(&b[after + gap..after + gap + args]).ok()?);
                return Some(out);
            }
            if bare.is_none() {
                bare = Some(x + 1);
            }
        }
    }
    bare.and_then(|at| hex::decode(&b[at..at + 8]).ok())
}

/// The revert data of a signal: its `revert_data` (quotes and spaces
/// around it allowed), else what its message carries. `hex` is where the
/// message's first `0x` starts (`Some(0)`: search it all), `None` when it
/// holds none.
pub fn revert_bytes(
    revert_data: Option<&str>,
    message: &str,
    hex: Option<usize>,
) -> Option<Vec<u8>> {
    revert_data
        .map(|d| d.trim().trim_matches(|c| c == '"' || c == '\'').trim())
        .and_then(parse_hex)
        .filter(|d| d.len() >= 4)
        .or_else(|| revert_in_message(message, hex?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_those_the_node_reports() {
        // Observed on anvil --network tempo (LOCAL-TEMPO.md).
        assert_eq!(hex::encode(selector("PolicyForbids()")), "54cfe659");
        assert_eq!(hex::encode(selector("ContractPaused()")), "ab35696f");
        assert_eq!(selector("Error(string)"), ERROR_STRING);
    }

    #[test]
    fn error_strings_decode_and_garbage_does_not() {
        let mut d = ERROR_STRING.to_vec();
        d.extend([0u8; 31]);
        d.push(32);
        d.extend([0u8; 31]);
        d.push(5);
        d.extend(b"oops!");
        d.extend([0u8; 27]);
        assert_eq!(decode_error_string(&d).as_deref(), Some("oops!"));
        assert_eq!(decode_error_string(&d[..40]), None);
        let mut huge = ERROR_STRING.to_vec();
        huge.extend([0xffu8; 64]);
        assert_eq!(decode_error_string(&huge), None);
        assert_eq!(
            selector_in_message("custom error 0x54cfe659)"),
            Some([0x54, 0xcf, 0xe6, 0x59])
        );
        assert_eq!(selector_in_message("tx 0x54cfe659aa"), None);
    }

    /// The selector as the plain reading of its definition finds it.
    fn by_definition(msg: &str) -> Option<[u8; 4]> {
        let b = msg.as_bytes();
        (1..b.len()).find_map(|x| {
            let hexs = b.get(x + 1..x + 9)?;
            let ok = b[x - 1] == b'0'
                && (b[x] == b'x' || b[x] == b'X')
                && hexs.iter().all(u8::is_ascii_hexdigit)
                && b.get(x + 9).is_none_or(|c| !c.is_ascii_hexdigit());
            ok.then(|| hex::decode(hexs).ok()?.try_into().ok())?
        })
    }

    #[test]
    fn the_search_finds_what_the_definition_finds() {
        let pieces = [
            "0x", "0X", "x", "X", "54cfe659", "AB35696F", "0", "g", " ", "é", "ab", "exceeds",
            "\u{0}", "\u{ff}", "xx0x", "1234567",
        ];
        let mut found = 0;
        for text in
            crate::perception::testutil::generated_texts(&pieces, 20_000, 80, 0x9E37_79B9_7F4A_7C15)
        {
            let want = by_definition(&text);
            found += usize::from(want.is_some());
            assert_eq!(selector_in_message(&text), want, "{text:?}");
        }
        assert!(found > 1_000, "the generated texts hold selectors: {found}");
        for at in 0..24 {
            let text = format!("{}0x54cfe659", "y".repeat(at));
            assert_eq!(
                selector_in_message(&text),
                Some([0x54, 0xcf, 0xe6, 0x59]),
                "{text}"
            );
        }
    }
}
