//! Reading numbers out of messages ("limits single transfer to 500 USDC",
//! "chain nonce=45"). Never panics; gives up rather than guesses.

/// Base units per whole token for 6-decimal stablecoins.
pub const UNIT: u128 = 1_000_000;

/// Position just after the first case-insensitive occurrence of `key`.
/// Scans for the key's first byte (either case) and compares only there.
fn after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let hay = text.as_bytes();
    let k = key.as_bytes();
    let (&first, _) = k.split_first()?;
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last = hay.len().checked_sub(k.len())?;
    let mut i = 0;
    while i <= last {
        i += hay[i..=last].iter().position(|&b| b == lo || b == up)?;
        if hay[i..i + k.len()].eq_ignore_ascii_case(k) {
            return text.get(i + k.len()..);
        }
        i += 1;
    }
    None
}

/// The first unsigned integer within 24 bytes after `key` (allowing `=`, `:`, spaces).
pub fn int_after(text: &str, key: &str) -> Option<u64> {
    let rest = after(text, key)?;
    let start = rest.bytes().take(24).position(|b| b.is_ascii_digit())?;
    let digits: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The first decimal amount within 24 bytes after `key`, in 6-decimal base
/// units ("2,500.5" -> 2_500_500_000). Overflow gives `None`.
pub fn amount_after(text: &str, key: &str) -> Option<u128> {
    let rest = after(text, key)?;
    let start = rest.bytes().take(24).position(|b| b.is_ascii_digit())?;
    let raw: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .filter(|c| *c != ',')
        .collect();
    let raw = raw.trim_end_matches('.');
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let whole: u128 = whole.parse().ok()?;
    let mut frac_units: u128 = 0;
    for (i, c) in frac.chars().take(6).enumerate() {
        frac_units += u128::from(c.to_digit(10)?) * 10u128.pow(5 - i as u32);
    }
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
    }
}
