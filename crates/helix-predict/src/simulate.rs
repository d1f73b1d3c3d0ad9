//! A simulated month of an agent's calls with planted recurring windows
//! and noise, scored: windows found against windows planted, and failures
//! pre-emption avoids in the week after against reactive repair.
//!
//! The world, per seed:
//! - 20 services, 40 calls an hour on average, scaled by a day-night cycle
//!   (0.3x at 03:00 UTC to 1.5x at 15:00), Poisson-distributed;
//! - every call fails with probability 2 %;
//! - 8 planted windows: a service fails with probability 25-60 % at one
//!   hour of the week, for 1 or 2 hours, every week;
//! - 12 one-off outages in the month (a service at 50 % for 1-3 hours, at a
//!   random time) and 3 more in the week after; they must not be taken for
//!   windows.
//!
//! Reactive repair: every failing call fails once, then its gene repairs
//! it. Pre-emptive: in a predicted hour the call goes straight to the
//! repair (the alternative endpoint), which fails at the base rate.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::detect::{Counts, Detector, HOURS_PER_WEEK, Key, Window, hour_of_week};

/// Services simulated.
pub const SERVICES: usize = 20;
/// Mean calls per service-hour.
pub const CALLS_PER_HOUR: f64 = 40.0;
/// Failure probability outside windows and outages.
pub const BASE_P: f64 = 0.02;
/// Windows planted per world.
pub const PLANTED: usize = 8;
/// One-off outages in the month.
pub const OUTAGES: usize = 12;
/// Weeks the detector sees.
pub const WEEKS: usize = 4;

/// A recurring window: `service` fails with `p` from `slot` for `hours`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planted {
    /// Which service.
    pub service: usize,
    /// First hour of the week.
    pub slot: usize,
    /// How many hours.
    pub hours: usize,
    /// Failure probability in it.
    pub p: f64,
}

/// A one-off outage: `service` fails with 50 % from `hour` (offset from
/// the start) for `hours`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    /// Which service.
    pub service: usize,
    /// First hour, from the start of the simulation.
    pub hour: usize,
    /// How many hours.
    pub hours: usize,
}

/// One seed's world.
#[derive(Debug, Clone)]
pub struct World {
    /// Recurring windows.
    pub planted: Vec<Planted>,
    /// One-off outages over the five weeks.
    pub outages: Vec<Outage>,
    /// First simulated hour (a Monday 00:00 UTC).
    pub start_hour: i64,
}

impl World {
    /// The world of `seed`.
    pub fn new(seed: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut planted: Vec<Planted> = Vec::new();
        while planted.len() < PLANTED {
            let p = Planted {
                service: rng.random_range(0..SERVICES),
                slot: rng.random_range(0..HOURS_PER_WEEK - 2),
                hours: rng.random_range(1..=2),
                p: rng.random_range(0.25..0.6),
            };
            // One window per service keeps the ground truth unambiguous.
            if planted.iter().all(|q| q.service != p.service) {
                planted.push(p);
            }
        }
        let month = WEEKS * HOURS_PER_WEEK;
        let mut outages: Vec<Outage> = (0..OUTAGES)
            .map(|_| Outage {
                service: rng.random_range(0..SERVICES),
                hour: rng.random_range(0..month - 3),
                hours: rng.random_range(1..=3),
            })
            .collect();
        outages.extend((0..3).map(|_| Outage {
            service: rng.random_range(0..SERVICES),
            hour: month + rng.random_range(0..HOURS_PER_WEEK - 3),
            hours: rng.random_range(1..=3),
        }));
        World {
            planted,
            outages,
            // 2026-11-02 00:00 UTC, a Monday.
            start_hour: 1_793_577_600 / 3600,
        }
    }

    /// The failure probability of `service` at `offset` hours from the start.
    fn p(&self, service: usize, offset: usize) -> f64 {
        let slot = hour_of_week(self.start_hour + offset as i64);
        let mut p = BASE_P;
        for w in self.planted.iter().filter(|w| w.service == service) {
            if (w.slot..w.slot + w.hours).contains(&slot) {
                p = p.max(w.p);
            }
        }
        for o in self.outages.iter().filter(|o| o.service == service) {
            if (o.hour..o.hour + o.hours).contains(&offset) {
                p = p.max(0.5);
            }
        }
        p
    }

    /// (service, hour-of-week) of every planted window hour.
    pub fn planted_slots(&self) -> BTreeSet<(usize, usize)> {
        self.planted
            .iter()
            .flat_map(|w| (w.slot..w.slot + w.hours).map(move |s| (w.service, s)))
            .collect()
    }
}

fn poisson(rng: &mut StdRng, lambda: f64) -> u64 {
    // Knuth's method: exact, and fast enough for a mean below a hundred.
    let l = (-lambda).exp();
    let (mut k, mut p) = (0u64, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn day_night(unix_hour: i64) -> f64 {
    let h = unix_hour.rem_euclid(24) as f64;
    0.9 - 0.6 * ((h - 3.0) / 24.0 * std::f64::consts::TAU).cos()
}

/// Calls and failures of `service` for `hours` from `offset`; where
/// `preempt` says so, the call goes to the repair (base failure rate).
fn traffic(
    w: &World,
    rng: &mut StdRng,
    service: usize,
    offset: usize,
    hours: usize,
    preempt: impl Fn(i64) -> bool,
) -> Counts {
    let mut c = Counts {
        start_hour: w.start_hour + offset as i64,
        calls: Vec::with_capacity(hours),
        failures: Vec::with_capacity(hours),
    };
    for i in offset..offset + hours {
        let h = w.start_hour + i as i64;
        let calls = poisson(rng, CALLS_PER_HOUR * day_night(h));
        let p = if preempt(h) { BASE_P } else { w.p(service, i) };
        let failures = (0..calls).filter(|_| rng.random::<f64>() < p).count() as u64;
        c.calls.push(calls);
        c.failures.push(failures);
    }
    c
}

fn key(service: usize) -> Key {
    Key {
        service: format!("svc-{service:02}"),
        code: "server-error/service".into(),
    }
}

/// One seed's results.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// The seed.
    pub seed: u64,
    /// (service, hour) slots planted.
    pub planted_slots: usize,
    /// Slots the detector reported.
    pub found_slots: usize,
    /// Reported slots that were planted.
    pub true_slots: usize,
    /// `true / found` (1 when nothing was found).
    pub precision: f64,
    /// `true / planted`.
    pub recall: f64,
    /// Failed calls in week 5 with reactive repair only.
    pub reactive_failures: u64,
    /// Failed calls in week 5 with pre-emption in predicted hours.
    pub preemptive_failures: u64,
    /// Of those, in the planted windows' hours (reactive).
    pub window_failures_reactive: u64,
    /// Of those, in the planted windows' hours (pre-emptive).
    pub window_failures_preemptive: u64,
    /// Service-hours pre-empted that held no planted window.
    pub needless_preemptions: usize,
}

/// Simulates `seed`'s world: detects on four weeks, then runs week 5 twice
/// (reactive, pre-emptive) on the same random stream.
pub fn run(seed: u64, detector: &Detector) -> Score {
    let w = World::new(seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let month = WEEKS * HOURS_PER_WEEK;
    let mut windows: Vec<Window> = Vec::new();
    for s in 0..SERVICES {
        let c = traffic(&w, &mut rng, s, 0, month, |_| false);
        windows.extend(detector.windows(&key(s), &c));
    }
    let found: BTreeSet<(usize, usize)> = windows
        .iter()
        .filter_map(|x| {
            let s = x.key.service.strip_prefix("svc-")?.parse().ok()?;
            Some((s, x.hour_of_week))
        })
        .collect();
    let planted = w.planted_slots();
    let true_slots = found.intersection(&planted).count();

    let (mut reactive, mut preemptive, mut needless) = (0, 0, 0);
    let (mut in_reactive, mut in_preemptive) = (0, 0);
    for s in 0..SERVICES {
        let k = key(s);
        let seed_s = seed.wrapping_mul(31).wrapping_add(s as u64);
        let mut r1 = StdRng::seed_from_u64(seed_s);
        let mut r2 = StdRng::seed_from_u64(seed_s);
        let predicted = |h: i64| crate::detect::in_window(&windows, &k, h);
        let a = traffic(&w, &mut r1, s, month, HOURS_PER_WEEK, |_| false);
        let b = traffic(&w, &mut r2, s, month, HOURS_PER_WEEK, predicted);
        reactive += a.failures.iter().sum::<u64>();
        preemptive += b.failures.iter().sum::<u64>();
        for i in 0..HOURS_PER_WEEK {
            let slot = hour_of_week(w.start_hour + (month + i) as i64);
            if planted.contains(&(s, slot)) {
                in_reactive += a.failures[i];
                in_preemptive += b.failures[i];
            }
        }
        needless += (0..HOURS_PER_WEEK)
            .filter(|&i| {
                let h = w.start_hour + (month + i) as i64;
                predicted(h) && !planted.contains(&(s, hour_of_week(h)))
            })
            .count();
    }
    Score {
        seed,
        planted_slots: planted.len(),
        found_slots: found.len(),
        true_slots,
        precision: if found.is_empty() {
            1.0
        } else {
            true_slots as f64 / found.len() as f64
        },
        recall: true_slots as f64 / planted.len() as f64,
        reactive_failures: reactive,
        preemptive_failures: preemptive,
        window_failures_reactive: in_reactive,
        window_failures_preemptive: in_preemptive,
        needless_preemptions: needless,
    }
}

/// Scores of many seeds, with their means and the failure totals.
pub fn summary(scores: &[Score]) -> serde_json::Value {
    let n = scores.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Score) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let min = |f: &dyn Fn(&Score) -> f64| scores.iter().map(f).fold(f64::INFINITY, f64::min);
    let total = |f: &dyn Fn(&Score) -> u64| scores.iter().map(f).sum::<u64>();
    let reactive = total(&|s| s.reactive_failures);
    let preemptive = total(&|s| s.preemptive_failures);
    let in_reactive = total(&|s| s.window_failures_reactive);
    let in_preemptive = total(&|s| s.window_failures_preemptive);
    let share = |a: u64, b: u64| (a as f64 - b as f64) / (a.max(1) as f64);
    serde_json::json!({
        "seeds": scores.len(),
        "precision_mean": mean(&|s| s.precision),
        "precision_min": min(&|s| s.precision),
        "recall_mean": mean(&|s| s.recall),
        "recall_min": min(&|s| s.recall),
        "week5_failures_reactive": reactive,
        "week5_failures_preemptive": preemptive,
        "failures_avoided": reactive as i64 - preemptive as i64,
        "avoided_share": share(reactive, preemptive),
        "window_failures_reactive": in_reactive,
        "window_failures_preemptive": in_preemptive,
        "window_avoided_share": share(in_reactive, in_preemptive),
        "needless_preempted_hours_mean": mean(&|s| s.needless_preemptions as f64),
        "scores": scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_windows_are_found_and_outages_are_not() {
        let s = run(1, &Detector::default());
        assert!(s.recall >= 0.8, "{s:?}");
        assert!(s.precision >= 0.9, "{s:?}");
        assert!(s.preemptive_failures < s.reactive_failures, "{s:?}");
    }

    #[test]
    fn a_detector_that_needs_one_week_takes_outages_for_windows() {
        // The recurrence rule is what keeps one-off outages out.
        let loose = Detector {
            min_weeks: 1,
            ..Detector::default()
        };
        let strict: f64 = (1..=5)
            .map(|s| run(s, &Detector::default()).precision)
            .sum();
        let lax: f64 = (1..=5).map(|s| run(s, &loose).precision).sum();
        assert!(lax < strict, "strict {strict}, lax {lax}");
    }
}
