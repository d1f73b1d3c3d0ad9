//! The exact one-sided binomial tail, in log space (no overflow at any n).

/// `ln(k!)` for `k` in `0..=n`.
pub fn ln_factorials(n: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut acc = 0.0;
    out.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        out.push(acc);
    }
    out
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`.
pub fn upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let lf = ln_factorials(n);
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let ln_pmf = |i: u64| {
        lf[n as usize] - lf[i as usize] - lf[(n - i) as usize] + i as f64 * lp + (n - i) as f64 * lq
    };
    // Sum from the largest term down, so small tails keep their precision.
    let terms: Vec<f64> = (k..=n).map(ln_pmf).collect();
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_known_values() {
        // P(X >= 1 | 10, 0.5) = 1 - 1/1024.
        assert!((upper_tail(1, 10, 0.5) - (1.0 - 1.0 / 1024.0)).abs() < 1e-12);
        // P(X >= 10 | 10, 0.5) = 1/1024.
        assert!((upper_tail(10, 10, 0.5) - 1.0 / 1024.0).abs() < 1e-15);
        // P(X >= 3 | 5, 0.2) = 0.05792.
        assert!((upper_tail(3, 5, 0.2) - 0.05792).abs() < 1e-9);
        assert_eq!(upper_tail(0, 7, 0.1), 1.0);
        assert_eq!(upper_tail(8, 7, 0.1), 0.0);
        // Far in the tail of a large n: tiny, not zero, not NaN.
        let t = upper_tail(400, 2_000, 0.02);
        assert!(t > 0.0 && t < 1e-100, "{t}");
    }
}
