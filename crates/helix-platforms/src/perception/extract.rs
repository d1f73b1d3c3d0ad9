//! Reading numbers out of messages ("limits single transfer to 500 USDC",
//! "chain nonce=45"). Never panics; gives up rather than guesses.
//!
//! An [`Extractor`] names every key it reads after. Those keys go into the
//! classifier's phrase automaton, so the one scan that finds the phrases
//! also finds where each key ends ([`Located`]); extraction then reads the
//! number at that position instead of searching the message again.

use helix_core::Facts;

/// How a rule reads facts out of its message.
#[derive(Debug, Clone, Copy)]
pub struct Extractor {
    /// Every key `run` passes to [`Located::int_after`] or
    /// [`Located::amount_after`], in groups (any grouping; flattened).
    pub keys: &'static [&'static [&'static str]],
    /// Reads the facts.
    pub run: fn(&Located<'_>, &mut Facts),
}

/// A message with the end of the first occurrence of each of its rule's
/// keys, as the scan found them.
pub struct Located<'a> {
    text: &'a str,
    keys: &'static [&'static [&'static str]],
    /// For each key of `keys` (flattened), where its first occurrence ends.
    ends: &'a [Option<u16>],
}

impl<'a> Located<'a> {
    /// Pairs a message with key positions (see [`crate::perception::rules::RuleSet`]).
    pub fn new(
        text: &'a str,
        keys: &'static [&'static [&'static str]],
        ends: &'a [Option<u16>],
    ) -> Self {
        Located { text, keys, ends }
    }

    /// A message without positions: every key is searched for.
    pub fn unscanned(text: &'a str) -> Self {
        Located {
            text,
            keys: &[],
            ends: &[],
        }
    }

    fn after(&self, key: &str) -> Option<&'a [u8]> {
        let declared = self
            .keys
            .iter()
            .flat_map(|g| g.iter())
            .position(|k| std::ptr::eq(k.as_ptr(), key.as_ptr()) || *k == key);
        match declared.and_then(|i| self.ends.get(i)) {
            Some(end) => end.map(|e| &self.text.as_bytes()[e as usize..]),
            // Not declared (or not scanned): search, so a missing
            // declaration costs time, never a fact.
            None => after(self.text, key),
        }
    }

    /// The first unsigned integer within 24 bytes after `key`.
    pub fn int_after(&self, key: &str) -> Option<u64> {
        int_in(self.after(key)?)
    }

    /// The first decimal amount within 24 bytes after `key`, in base units.
    pub fn amount_after(&self, key: &str) -> Option<u128> {
        amount_in(self.after(key)?)
    }
}

/// Base units per whole token for 6-decimal stablecoins.
pub const UNIT: u128 = 1_000_000;

/// The bytes just after the first case-insensitive occurrence of `key`.
/// Jumps between occurrences of the key's first byte (either case) with
/// memchr and compares only there.
fn after<'a>(text: &'a str, key: &str) -> Option<&'a [u8]> {
    let hay = text.as_bytes();
    let k = key.as_bytes();
    let (&first, _) = k.split_first()?;
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last = hay.len().checked_sub(k.len())?;
    let mut i = 0;
    while i <= last {
        i += memchr::memchr2(lo, up, &hay[i..=last])?;
        if hay[i..i + k.len()].eq_ignore_ascii_case(k) {
            return Some(&hay[i + k.len()..]);
        }
        i += 1;
    }
    None
}

/// Where the first digit within 24 bytes of `rest` starts.
fn digits_from(rest: &[u8]) -> Option<&[u8]> {
    let start = rest.iter().take(24).position(u8::is_ascii_digit)?;
    Some(&rest[start..])
}

/// The first unsigned integer within 24 bytes after `key` (allowing `=`, `:`, spaces).
pub fn int_after(text: &str, key: &str) -> Option<u64> {
    int_in(after(text, key)?)
}

fn int_in(rest: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &b in digits_from(rest)?.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// The first decimal amount within 24 bytes after `key`, in 6-decimal base
/// units ("2,500.5" -> 2_500_500_000). Overflow gives `None`.
pub fn amount_after(text: &str, key: &str) -> Option<u128> {
    amount_in(after(text, key)?)
}

fn amount_in(rest: &[u8]) -> Option<u128> {
    let raw = digits_from(rest)?;
    let mut whole: u128 = 0;
    let mut frac: u128 = 0;
    let mut frac_digits = 0u32;
    let mut in_frac = false;
    for &b in raw {
        match b {
            b'0'..=b'9' if !in_frac => {
                whole = whole.checked_mul(10)?.checked_add(u128::from(b - b'0'))?
            }
            b'0'..=b'9' => {
                if frac_digits < 6 {
                    frac = frac * 10 + u128::from(b - b'0');
                    frac_digits += 1;
                }
            }
            b',' if !in_frac => {}
            // A second point ends the number ("1.5." or "1.2.3").
            b'.' if !in_frac => in_frac = true,
            _ => break,
        }
    }
    let frac_units = frac * 10u128.pow(6 - frac_digits);
    whole.checked_mul(UNIT)?.checked_add(frac_units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_after_their_keys() {
        let t = "limits single transfer to 500 USDC. Requested: 2,500.25 USDC";
        assert_eq!(amount_after(t, "transfer to"), Some(500 * UNIT));
        assert_eq!(amount_after(t, "requested"), Some(2_500_250_000));
        assert_eq!(
            int_after("wallet internal nonce=47 but chain nonce=45", "chain nonce"),
            Some(45)
        );
        assert_eq!(int_after("no digits here at all, none", "no"), None);
        assert_eq!(
            amount_after("amount 99999999999999999999999999999999999999", "amount"),
            None
        );
        assert_eq!(int_after("é", "é"), None);
        assert_eq!(amount_after("fee 1.5. next", "fee"), Some(1_500_000));
        assert_eq!(amount_after("fee 12.", "fee"), Some(12 * UNIT));
        assert_eq!(amount_after("fee 0.1234567", "fee"), Some(123_456));
        assert_eq!(int_after("nonce 99999999999999999999999", "nonce"), None);
        assert_eq!(int_after("nonce: 007", "nonce"), Some(7));
    }
}
