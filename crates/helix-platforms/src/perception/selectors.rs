//! Revert data: custom-error selectors from the TIP-20 and StablecoinDEX ABIs,
//! and `Error(string)` reasons. The node hands back bare selectors; these
//! tables give them names.

use helix_core::{Category, FailureCode};
use tiny_keccak::{Hasher, Keccak};

/// A custom error we classify, by its Solidity signature.
pub struct KnownError {
    /// e.g. `PolicyForbids()`.
    pub signature: &'static str,
    /// Classification.
    pub code: FailureCode,
    /// Classification.
    pub category: Category,
}

/// Custom errors of TIP-20 tokens and the StablecoinDEX that a payment can hit.
pub const KNOWN: &[KnownError] = &[
    KnownError {
        signature: "PolicyForbids()",
        code: FailureCode::Tip403,
        category: Category::Compliance,
    },
    KnownError {
        signature: "ContractPaused()",
        code: FailureCode::Tip403,
        category: Category::Compliance,
    },
    KnownError {
        signature: "InsufficientBalance(uint256,uint256,address)",
        code: FailureCode::PaymentInsufficient,
        category: Category::Balance,
    },
    KnownError {
        signature: "InsufficientOutput()",
        code: FailureCode::SwapReverted,
        category: Category::Dex,
    },
];

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

/// The known errors with their selectors, computed once.
pub fn known_by_selector(sel: [u8; 4]) -> Option<&'static KnownError> {
    static TABLE: std::sync::LazyLock<Vec<([u8; 4], &'static KnownError)>> =
        std::sync::LazyLock::new(|| KNOWN.iter().map(|k| (selector(k.signature), k)).collect());
    TABLE.iter().find(|(s, _)| *s == sel).map(|(_, k)| *k)
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
