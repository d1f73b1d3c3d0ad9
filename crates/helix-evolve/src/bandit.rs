//! Thompson sampling over a fixed set of values, Beta-Bernoulli.
//!
//! A trial's reward r in [0, 1] (a fast success near 1, a failure 0) is
//! turned into a Bernoulli draw with probability r, which keeps the Beta
//! posterior exact (Agrawal and Goyal, 2012, "Analysis of Thompson
//! Sampling for the Multi-armed Bandit Problem").

use rand::Rng;
use serde::{Deserialize, Serialize};

/// One candidate value and what was seen of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// The parameter's value.
    pub value: u64,
    /// Beta posterior: 1 + Bernoulli successes.
    pub alpha: f64,
    /// Beta posterior: 1 + Bernoulli failures.
    pub beta: f64,
    /// Trials seen.
    pub trials: u32,
    /// Sum of their rewards.
    pub reward_sum: f64,
}

impl Arm {
    fn new(value: u64) -> Self {
        Arm {
            value,
            alpha: 1.0,
            beta: 1.0,
            trials: 0,
            reward_sum: 0.0,
        }
    }

    /// The posterior mean (of the Bernoulli draws).
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// The expected reward from the rewards themselves, uniform prior:
    /// what [`Thompson::best`] ranks by, free of the draws' noise.
    pub fn expected(&self) -> f64 {
        (self.reward_sum + 1.0) / (f64::from(self.trials) + 2.0)
    }
}

/// The bandit over one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thompson {
    arms: Vec<Arm>,
}

impl Thompson {
    /// Uniform priors over `values` (at least one).
    pub fn new(values: &[u64]) -> Self {
        Thompson {
            arms: values.iter().copied().map(Arm::new).collect(),
        }
    }

    /// From saved arms, keeping only those whose value is still in
    /// `values` (a tightened bound drops the rest) and adding new ones.
    pub fn resume(values: &[u64], saved: &[Arm]) -> Self {
        let arms = values
            .iter()
            .map(|v| {
                saved
                    .iter()
                    .find(|a| a.value == *v && a.alpha >= 1.0 && a.beta >= 1.0)
                    .cloned()
                    .unwrap_or_else(|| Arm::new(*v))
            })
            .collect();
        Thompson { arms }
    }

    /// The arms, in value order.
    pub fn arms(&self) -> &[Arm] {
        &self.arms
    }

    /// Trials over every arm.
    pub fn trials(&self) -> u32 {
        self.arms.iter().map(|a| a.trials).sum()
    }

    /// Learns a trial of `value` with `reward` (clamped to [0, 1]); false
    /// when `value` is not a candidate (it is not counted).
    pub fn update(&mut self, value: u64, reward: f64, rng: &mut impl Rng) -> bool {
        let Some(arm) = self.arms.iter_mut().find(|a| a.value == value) else {
            return false;
        };
        let r = if reward.is_finite() {
            reward.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if rng.random::<f64>() < r {
            arm.alpha += 1.0;
        } else {
            arm.beta += 1.0;
        }
        arm.trials += 1;
        arm.reward_sum += r;
        true
    }

    /// The value to try next: the arm whose posterior draw is highest.
    pub fn choose(&self, rng: &mut impl Rng) -> Option<u64> {
        self.arms
            .iter()
            .map(|a| (a.value, beta(rng, a.alpha, a.beta)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(v, _)| v)
    }

    /// The value believed best now, among those tried (highest expected
    /// reward; ties to the smaller value).
    pub fn best(&self) -> Option<u64> {
        self.arms
            .iter()
            .filter(|a| a.trials > 0)
            .max_by(|x, y| {
                x.expected()
                    .total_cmp(&y.expected())
                    .then(y.value.cmp(&x.value))
            })
            .map(|a| a.value)
    }
}

/// A Beta(a, b) draw, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
pub fn beta(rng: &mut impl Rng, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, b);
    if x + y > 0.0 { x / (x + y) } else { 0.5 }
}

/// A Gamma(k, 1) draw (Marsaglia and Tsang, 2000); k < 1 by the boost
/// Gamma(k) = Gamma(k + 1) * U^(1/k).
fn gamma(rng: &mut impl Rng, k: f64) -> f64 {
    if k < 1.0 {
        let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        return gamma(rng, k + 1.0) * u.powf(1.0 / k);
    }
    let d = k - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let (x, v) = loop {
            let x = normal(rng);
            let v = 1.0 + c * x;
            if v > 0.0 {
                break (x, v * v * v);
            }
        };
        let u: f64 = rng.random();
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn beta_draws_have_the_right_mean() {
        let mut rng = StdRng::seed_from_u64(1);
        for (a, b) in [(1.0, 1.0), (2.0, 8.0), (30.0, 10.0), (0.5, 0.5)] {
            let n = 20_000;
            let mean = (0..n).map(|_| beta(&mut rng, a, b)).sum::<f64>() / n as f64;
            let want = a / (a + b);
            assert!(
                (mean - want).abs() < 0.01,
                "Beta({a},{b}): {mean} vs {want}"
            );
        }
    }

    /// Against an environment whose best value is known, the bandit plays
    /// it most of the time once it has learned, and names it best.
    #[test]
    fn it_finds_the_best_value_and_mostly_plays_it() {
        let mut rng = StdRng::seed_from_u64(7);
        let values = [100, 250, 500, 750, 1_000, 2_000];
        // Success only from 750 on; the shortest successful wait is best.
        let reward = |v: u64, rng: &mut StdRng| {
            if v >= 750 && rng.random::<f64>() < 0.95 {
                (-(v as f64) / 2_000.0).exp()
            } else {
                0.0
            }
        };
        let mut t = Thompson::new(&values);
        let mut late = Vec::new();
        for i in 0..600 {
            let v = t.choose(&mut rng).unwrap();
            let r = reward(v, &mut rng);
            assert!(t.update(v, r, &mut rng));
            if i >= 400 {
                late.push(v);
            }
        }
        assert_eq!(t.best(), Some(750), "{:?}", t.arms());
        let share = late.iter().filter(|v| **v == 750).count() as f64 / late.len() as f64;
        assert!(share > 0.5, "played 750 in {share} of the last 200");
        assert!(!t.update(123, 1.0, &mut rng), "not a candidate");
        assert_eq!(t.trials(), 600);
    }

    #[test]
    fn resume_keeps_known_arms_and_drops_values_no_longer_allowed() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut t = Thompson::new(&[100, 500, 8_000]);
        t.update(500, 1.0, &mut rng);
        t.update(8_000, 1.0, &mut rng);
        let r = Thompson::resume(&[100, 500, 1_000], t.arms());
        let values: Vec<u64> = r.arms().iter().map(|a| a.value).collect();
        assert_eq!(values, [100, 500, 1_000]);
        assert_eq!(r.arms()[1].trials, 1);
        assert_eq!(r.trials(), 1);
    }
}
