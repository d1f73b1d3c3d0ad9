//! The bound every swap carries: par less a slippage in basis points,
//! taken from a repair's parameters (a gene's learned value) and capped.

use serde_json::Value;

/// Default bound, basis points below par.
pub const DEFAULT_SLIPPAGE_BPS: u32 = 50;

/// The slippage bound a repair's parameters ask for (a gene's learned
/// value), the default when they do not, and never above 5 %.
pub fn max_slippage_bps(params: &Value) -> u32 {
    params
        .get("max_slippage_bps")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_SLIPPAGE_BPS, |b| b.min(500) as u32)
}

/// The least a swap of `amount` may return: par less `bps`, never zero.
pub fn min_out(amount: u128, bps: u32) -> u128 {
    (amount.saturating_mul(u128::from(10_000 - bps.min(10_000))) / 10_000).max(1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn min_out_is_never_zero_and_respects_the_bound() {
        assert_eq!(min_out(1_000_000, 50), 995_000);
        assert_eq!(min_out(1, 50), 1);
        assert_eq!(min_out(0, 50), 1);
        assert_eq!(min_out(1_000, 20_000), 1);
    }

    #[test]
    fn the_slippage_bound_defaults_and_is_capped() {
        assert_eq!(max_slippage_bps(&Value::Null), DEFAULT_SLIPPAGE_BPS);
        assert_eq!(max_slippage_bps(&json!({"max_slippage_bps": 30})), 30);
        assert_eq!(max_slippage_bps(&json!({"max_slippage_bps": 9_000})), 500);
    }
}
