//! Recurring failure windows in hourly counts (the test is stated in the
//! crate's documentation).

use serde::Serialize;

use crate::binomial::upper_tail;

/// Hours in a week: the slots a window can recur in.
pub const HOURS_PER_WEEK: usize = 168;

/// What fails: a service (endpoint, provider, platform) and its failure code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Key {
    /// The service.
    pub service: String,
    /// `code/category` of the failure.
    pub code: String,
}

/// Calls and failures of one key, an entry per hour from `start_hour`
/// (unix time / 3600).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// The first hour.
    pub start_hour: i64,
    /// Calls per hour.
    pub calls: Vec<u64>,
    /// Failures per hour (at most the calls).
    pub failures: Vec<u64>,
}

/// Hour of the week, 0 = Monday 00:00 UTC (unix hour 0 was a Thursday).
pub fn hour_of_week(unix_hour: i64) -> usize {
    (unix_hour + 72).rem_euclid(HOURS_PER_WEEK as i64) as usize
}

/// `Mon 02:00 UTC`.
pub fn slot_label(slot: usize) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!("{} {:02}:00 UTC", DAYS[(slot / 24) % 7], slot % 24)
}

/// A recurring window found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// What fails.
    pub key: Key,
    /// When, as an hour of the week.
    pub hour_of_week: usize,
    /// `Mon 02:00 UTC`.
    pub label: String,
    /// Failures over calls in this slot.
    pub rate: f64,
    /// The key's rate in every other hour.
    pub baseline: f64,
    /// The binomial tail.
    pub p_value: f64,
    /// Weeks in which the slot was elevated.
    pub weeks_elevated: usize,
    /// Weeks seen.
    pub weeks: usize,
}

/// The test's thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detector {
    /// Family-wise error rate per key (Bonferroni over 168 slots).
    pub alpha: f64,
    /// The slot's rate over the baseline, at least.
    pub min_ratio: f64,
    /// Weeks the slot must be elevated in.
    pub min_weeks: usize,
}

impl Default for Detector {
    fn default() -> Self {
        Detector {
            alpha: 0.01,
            min_ratio: 3.0,
            min_weeks: 3,
        }
    }
}

impl Detector {
    /// The windows of `key` in `c`, strongest first.
    pub fn windows(&self, key: &Key, c: &Counts) -> Vec<Window> {
        let hours = c.calls.len().min(c.failures.len());
        let weeks = hours.div_ceil(HOURS_PER_WEEK);
        let mut n = [0u64; HOURS_PER_WEEK];
        let mut f = [0u64; HOURS_PER_WEEK];
        // Per week and slot, to see whether a slot recurs.
        let mut per_week = vec![[(0u64, 0u64); HOURS_PER_WEEK]; weeks];
        for i in 0..hours {
            let h = c.start_hour + i as i64;
            let s = hour_of_week(h);
            let (calls, fails) = (c.calls[i], c.failures[i].min(c.calls[i]));
            n[s] += calls;
            f[s] += fails;
            let w = i / HOURS_PER_WEEK;
            per_week[w][s].0 += calls;
            per_week[w][s].1 += fails;
        }
        let (total_n, total_f): (u64, u64) = (n.iter().sum(), f.iter().sum());
        let mut out = Vec::new();
        for s in 0..HOURS_PER_WEEK {
            let (ns, fs) = (n[s], f[s]);
            let (rest_n, rest_f) = (total_n - ns, total_f - fs);
            if ns == 0 || rest_n == 0 {
                continue;
            }
            // Half a failure keeps a clean baseline from making any failure
            // infinitely surprising.
            let p0 = ((rest_f as f64 + 0.5) / (rest_n as f64 + 1.0)).clamp(1e-9, 1.0 - 1e-9);
            let rate = fs as f64 / ns as f64;
            if rate < self.min_ratio * p0 {
                continue;
            }
            let p_value = upper_tail(fs, ns, p0);
            if p_value >= self.alpha / HOURS_PER_WEEK as f64 {
                continue;
            }
            let weeks_elevated = per_week
                .iter()
                .filter(|w| {
                    let (wn, wf) = w[s];
                    wn > 0 && wf > 0 && wf as f64 / wn as f64 >= 2.0 * p0
                })
                .count();
            if weeks_elevated < self.min_weeks {
                continue;
            }
            out.push(Window {
                key: key.clone(),
                hour_of_week: s,
                label: slot_label(s),
                rate,
                baseline: p0,
                p_value,
                weeks_elevated,
                weeks,
            });
        }
        out.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
        out
    }
}

/// Whether `unix_hour` falls in one of `windows` for `key`: the agent
/// applies the gene's repair first.
pub fn in_window(windows: &[Window], key: &Key, unix_hour: i64) -> bool {
    let s = hour_of_week(unix_hour);
    windows.iter().any(|w| &w.key == key && w.hour_of_week == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            service: "svc".into(),
            code: "server-error/service".into(),
        }
    }

    /// Four weeks, 100 calls an hour, 1 failure an hour, and `extra` at
    /// hour-of-week `slot` in the weeks listed.
    fn month(slot: usize, weeks: &[usize], extra: u64) -> Counts {
        // Start on a Monday 00:00 UTC (unix hour 96 is Mon 1970-01-05).
        let start_hour = 96;
        let hours = 4 * HOURS_PER_WEEK;
        let mut c = Counts {
            start_hour,
            calls: vec![100; hours],
            failures: vec![1; hours],
        };
        for &w in weeks {
            c.failures[w * HOURS_PER_WEEK + slot] += extra;
        }
        c
    }

    #[test]
    fn a_slot_that_fails_every_week_is_a_window() {
        let w = Detector::default().windows(&key(), &month(26, &[0, 1, 2, 3], 30));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].hour_of_week, 26);
        assert_eq!(w[0].label, "Tue 02:00 UTC");
        assert_eq!(w[0].weeks_elevated, 4);
    }

    #[test]
    fn one_outage_is_not_a_window_however_loud() {
        let w = Detector::default().windows(&key(), &month(26, &[2], 99));
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn a_quiet_service_has_no_windows() {
        assert!(
            Detector::default()
                .windows(&key(), &month(0, &[], 0))
                .is_empty()
        );
    }

    #[test]
    fn hours_of_the_week_start_on_monday() {
        assert_eq!(hour_of_week(96), 0);
        assert_eq!(hour_of_week(0), 72, "1970-01-01 was a Thursday");
        assert_eq!(slot_label(0), "Mon 00:00 UTC");
        assert_eq!(slot_label(167), "Sun 23:00 UTC");
    }
}
