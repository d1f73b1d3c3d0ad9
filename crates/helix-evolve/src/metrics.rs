//! The worker's counters, as Prometheus text.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one worker.
#[derive(Debug, Default)]
pub struct Metrics {
    events: AtomicU64,
    unreadable: AtomicU64,
    trials: AtomicU64,
    retunes: AtomicU64,
    retune_errors: AtomicU64,
    genes: AtomicU64,
}

fn inc(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

impl Metrics {
    /// An event read (`readable` false: skipped as unreadable).
    pub fn event(&self, readable: bool) {
        inc(&self.events, 1);
        if !readable {
            inc(&self.unreadable, 1);
        }
    }
    /// A trial learned.
    pub fn trial(&self) {
        inc(&self.trials, 1);
    }
    /// Versions written.
    pub fn retuned(&self, n: usize) {
        inc(&self.retunes, n as u64);
    }
    /// A retune the Gene Map refused.
    pub fn retune_failed(&self) {
        inc(&self.retune_errors, 1);
    }
    /// Genes with a bandit now.
    pub fn genes(&self, n: usize) {
        self.genes.store(n as u64, Ordering::Relaxed);
    }

    /// Events read, unreadable among them, and trials learned so far.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.events.load(Ordering::Relaxed),
            self.unreadable.load(Ordering::Relaxed),
            self.trials.load(Ordering::Relaxed),
        )
    }

    /// Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, c) in [
            (
                "helix_evolve_events_total",
                "counter",
                "Events read from the stream.",
                &self.events,
            ),
            (
                "helix_evolve_unreadable_total",
                "counter",
                "Events skipped as unreadable.",
                &self.unreadable,
            ),
            (
                "helix_evolve_trials_total",
                "counter",
                "Repairs with a tunable parameter learned from.",
                &self.trials,
            ),
            (
                "helix_evolve_retunes_total",
                "counter",
                "Gene versions written.",
                &self.retunes,
            ),
            (
                "helix_evolve_retune_errors_total",
                "counter",
                "Retunes the Gene Map refused.",
                &self.retune_errors,
            ),
            (
                "helix_evolve_genes",
                "gauge",
                "Genes being tuned.",
                &self.genes,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", c.load(Ordering::Relaxed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let m = Metrics::default();
        m.event(true);
        m.event(false);
        m.trial();
        m.retuned(2);
        m.genes(3);
        let t = m.render();
        for line in [
            "helix_evolve_events_total 2",
            "helix_evolve_unreadable_total 1",
            "helix_evolve_trials_total 1",
            "helix_evolve_retunes_total 2",
            "helix_evolve_retune_errors_total 0",
            "helix_evolve_genes 3",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} in\n{t}");
        }
    }
}
