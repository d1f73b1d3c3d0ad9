//! Amounts as exact decimal strings: a JSON number cannot carry cents
//! exactly, and a float never decides how much money moves.

/// Base units per token (Tempo's TIP-20 stablecoins have 6 decimals).
pub const DECIMALS: u32 = 6;

/// Why an amount is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain decimal (`125.5`, `3`, `0.000001`).
    #[error("`{0}` is not a decimal amount (digits, at most one point)")]
    NotDecimal(String),
    /// More decimal places than the currency has.
    #[error("`{0}` has more than {DECIMALS} decimal places: not exact in base units")]
    NotExact(String),
    /// Zero.
    #[error("`{0}` is not positive")]
    NotPositive(String),
    /// Past what the ledger holds.
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// `text` in base units: positive, at most [`DECIMALS`] places.
pub fn parse(text: &str) -> Result<u128, AmountError> {
    let bad = || AmountError::NotDecimal(text.to_owned());
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(frac)
        || (text.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    if frac.len() > DECIMALS as usize {
        return Err(AmountError::NotExact(text.to_owned()));
    }
    let scale = 10u128.pow(DECIMALS);
    let too_large = || AmountError::TooLarge(text.to_owned());
    let w: u128 = whole.parse().map_err(|_| too_large())?;
    let f: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = DECIMALS as usize)
            .parse()
            .map_err(|_| bad())?
    };
    let units = w
        .checked_mul(scale)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(too_large)?;
    if units == 0 {
        return Err(AmountError::NotPositive(text.to_owned()));
    }
    Ok(units)
}

/// Base units as a decimal string, trailing zeros dropped (`125.5`).
pub fn format(units: u128) -> String {
    let scale = 10u128.pow(DECIMALS);
    let (w, f) = (units / scale, units % scale);
    if f == 0 {
        return w.to_string();
    }
    let frac = format!("{f:0width$}", width = DECIMALS as usize);
    format!("{w}.{}", frac.trim_end_matches('0'))
}

/// Base units in JSON as a decimal string of the integer (`"125500000"`):
/// exact past 2^53 for any reader, and through Temporal's payload
/// converter, which reads a JSON value that holds no 128-bit integers.
pub mod units {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `v` as a string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a string of digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!("`{text}` is not a whole number of base units"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_positive_decimals() {
        assert_eq!(parse("125.5"), Ok(125_500_000));
        assert_eq!(parse("3"), Ok(3_000_000));
        assert_eq!(parse("0.000001"), Ok(1));
        assert_eq!(format(125_500_000), "125.5");
        assert_eq!(format(3_000_000), "3");
        assert!(matches!(parse("0.0000001"), Err(AmountError::NotExact(_))));
        assert!(matches!(parse("0"), Err(AmountError::NotPositive(_))));
        assert!(matches!(parse("0.00"), Err(AmountError::NotPositive(_))));
        for bad in ["", "-1", "1e3", "1.", ".5", "1,000", " 1", "1.2.3", "NaN"] {
            assert!(
                matches!(parse(bad), Err(AmountError::NotDecimal(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("999999999999999999999999999999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
    }
}
