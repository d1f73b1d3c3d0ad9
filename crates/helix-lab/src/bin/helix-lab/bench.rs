//! `helix-lab bench`: N payments, each with a fault drawn from every runnable
//! scenario by a seeded schedule, attempted by three arms on the identical
//! schedule in one process: no retry, blind retry, Helix. Each arm gets a
//! fresh lab so no arm inherits another's state; ground truth (payments
//! completed, payees paid twice) comes from the lab's ledger, intents and
//! payouts, and for the rows produced on a real chain ([`ON_CHAIN`]) from
//! anvil's balances and receipts, not from what the arm reports.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use helix_core::{Helix, MemoryGeneStore, Mode, policy::Policy};
use helix_lab::Lab;
use helix_lab::onchain::{Attempt, ChainLab};
use helix_lab::runner::Runner;
use helix_lab::scenarios::{HOSTILE, SCENARIOS, run_row_with};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::demo::ChainMode;

/// The rows whose faults the bench produces on anvil: the demo's, but for
/// row 6. A blind retry of row 6 pays a second time from the same account
/// with the mpp client's expiring-nonce transaction, which anvil 1.7.1
/// accepts and never mines (the server waits 30 s, then answers 500): anvil
/// cannot show the double payment a real chain would take, so row 6 runs on
/// the lab, whose ledger does.
const ON_CHAIN: &[u8] = &[1, 2, 3, 5, 7, 8, 11, 12, 13];

/// What one arm did over the whole schedule.
#[derive(Debug, Serialize)]
struct ArmResult {
    payments: usize,
    /// Payments whose fault was produced on anvil.
    on_chain: usize,
    completed: usize,
    completed_pct: f64,
    double_payments: usize,
    mean_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Money Helix's repairs spent (swaps, top-ups), USD.
    repair_spend_usd: f64,
    /// Per scenario row: how its payments ended.
    by_row: BTreeMap<u8, RowTally>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    immunity: BTreeMap<u8, Immunity>,
}

/// One scenario's payments in one arm.
#[derive(Debug, Default, Serialize)]
struct RowTally {
    runs: usize,
    completed: usize,
    double_payments: usize,
}

/// Time to immunity for one scenario in the Helix arm.
#[derive(Debug, Serialize)]
struct Immunity {
    occurrences: usize,
    first_ms: f64,
    later_mean_ms: Option<f64>,
    /// Later occurrences answered by the gene (no construct stage).
    later_immune: usize,
}

/// Deterministic, dependency-free schedule generator (splitmix64).
fn schedule(n: usize, seed: u64, rows: &[u8]) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            rows[(z % rows.len() as u64) as usize]
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

/// Runs the benchmark; prints a table or one JSON object keyed by arm.
pub fn run(
    n: usize,
    seed: u64,
    json: bool,
    only: &[u8],
    chain: ChainMode,
) -> Result<ExitCode, String> {
    let rt = helix_cli::runtime()?;
    rt.block_on(bench(n, seed, json, only, chain))
}

async fn start_chain(mode: ChainMode) -> Result<Option<ChainLab>, String> {
    match mode {
        ChainMode::Lab => Ok(None),
        ChainMode::Anvil => ChainLab::start()
            .await
            .map(Some)
            .map_err(|e| format!("starting anvil: {e}")),
        ChainMode::Auto => Ok(ChainLab::start()
            .await
            .inspect_err(|e| {
                eprintln!("helix: anvil unavailable ({e}); every row runs on the lab chain")
            })
            .ok()),
    }
}

async fn bench(
    n: usize,
    seed: u64,
    json: bool,
    only: &[u8],
    mode: ChainMode,
) -> Result<ExitCode, String> {
    let rows: Vec<u8> = SCENARIOS
        .iter()
        .chain(HOSTILE)
        .filter(|s| s.waiting.is_none() && (only.is_empty() || only.contains(&s.row)))
        .map(|s| s.row)
        .collect();
    if rows.is_empty() {
        return Err("no runnable scenario selected".into());
    }
    if n == 0 {
        return Err("-n must be at least 1".into());
    }
    let plan = schedule(n, seed, &rows);
    // Blind retry gets as many calls as Helix may make: the first plus one
    // per repair.
    let attempts = 1 + Policy::default().max_repairs;

    let mut out = BTreeMap::new();
    for arm in ["none", "blind_retry", "helix"] {
        let lab = Lab::start()
            .await
            .map_err(|e| format!("starting the lab: {e}"))?;
        let helix = Helix::builder()
            .adapter(helix_platforms::builtin())
            .probes(lab.probes())
            .strategies(lab.strategies())
            .store(Arc::new(MemoryGeneStore::new()))
            .sink(Arc::new(helix_core::TracingSink))
            .mode(Mode::Full)
            .build();
        let runner = match arm {
            "none" => Runner::Once,
            "blind_retry" => Runner::Blind { attempts },
            _ => Runner::Helix(&helix),
        };
        // Whether anvil can start; each on-chain payment then gets fresh
        // chains, as in the demo (see the notes on a long-lived anvil).
        let chains = start_chain(mode).await?.is_some();
        let attempt = match arm {
            "none" => Attempt::Once,
            "blind_retry" => Attempt::Blind { attempts },
            _ => Attempt::Helix {
                store: Arc::new(MemoryGeneStore::new()),
                sink: Arc::new(helix_core::TracingSink),
            },
        };
        let bar = if json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(n as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(arm);

        let mut us = Vec::with_capacity(n);
        let mut on_chain = 0;
        let mut completed = 0;
        let mut doubles = 0;
        let mut spend = 0u64;
        let mut per_row: BTreeMap<u8, Vec<(u64, bool)>> = BTreeMap::new();
        let mut by_row: BTreeMap<u8, RowTally> = BTreeMap::new();
        for &row in &plan {
            let chain = if chains && ON_CHAIN.contains(&row) {
                Some(start_chain(ChainMode::Anvil).await?)
            } else {
                None
            };
            let t = std::time::Instant::now();
            let (ok, double_paid, report, detail) = match chain.flatten() {
                Some(c) => {
                    on_chain += 1;
                    match c.run_with(row, &attempt).await {
                        Ok(r) => (r.ok && r.receipts_ok, r.double_paid, r.report, r.detail),
                        Err(e) => return Err(format!("row {row}: chain set-up failed: {e}")),
                    }
                }
                _ => {
                    let r = run_row_with(&lab, &runner, row).await;
                    (r.ok, r.double_paid, r.report, r.detail)
                }
            };
            let took = t.elapsed().as_micros() as u64;
            completed += usize::from(ok);
            doubles += usize::from(double_paid);
            spend += report.repairs.iter().map(|s| s.cost).sum::<u64>();
            us.push(took);
            let tally = by_row.entry(row).or_default();
            tally.runs += 1;
            tally.completed += usize::from(ok);
            tally.double_payments += usize::from(double_paid);
            per_row
                .entry(row)
                .or_default()
                .push((took, report.immune()));
            if !ok {
                tracing::debug!(target: "helix::bench", arm, row, %detail, "payment not completed");
            }
            bar.inc(1);
        }
        bar.finish_and_clear();

        let immunity = if arm == "helix" {
            per_row
                .into_iter()
                .map(|(row, runs)| {
                    let later = &runs[1..];
                    let later_mean_ms = (!later.is_empty()).then(|| {
                        later.iter().map(|(m, _)| *m as f64).sum::<f64>() / later.len() as f64 / 1e3
                    });
                    (
                        row,
                        Immunity {
                            occurrences: runs.len(),
                            first_ms: runs[0].0 as f64 / 1e3,
                            later_mean_ms,
                            later_immune: later.iter().filter(|(_, i)| *i).count(),
                        },
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let mean_ms = us.iter().sum::<u64>() as f64 / n as f64 / 1e3;
        us.sort_unstable();
        out.insert(
            arm,
            ArmResult {
                payments: n,
                on_chain,
                completed,
                completed_pct: 100.0 * completed as f64 / n as f64,
                double_payments: doubles,
                mean_ms,
                p50_ms: percentile(&us, 0.50) / 1e3,
                p99_ms: percentile(&us, 0.99) / 1e3,
                repair_spend_usd: spend as f64 / 1e6,
                by_row,
                immunity,
            },
        );
    }

    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        print_table(n, seed, &out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(n: usize, seed: u64, out: &BTreeMap<&str, ArmResult>) {
    let chain = out.values().next().map_or(0, |r| r.on_chain);
    println!(
        "{n} payments, seed {seed}, faults from every runnable scenario; {chain} of them on anvil\n"
    );
    println!(
        "{:<12} {:>10} {:>8} {:>8} {:>9} {:>9} {:>12}",
        "arm", "completed", "double", "p50 ms", "p99 ms", "mean ms", "repairs USD"
    );
    for (arm, r) in out {
        println!(
            "{:<12} {:>9.1}% {:>8} {:>8.2} {:>9.1} {:>9.1} {:>12.4}",
            arm,
            r.completed_pct,
            r.double_payments,
            r.p50_ms,
            r.p99_ms,
            r.mean_ms,
            r.repair_spend_usd
        );
    }
    for (arm, r) in out.iter().filter(|(a, _)| **a != "helix") {
        let done: Vec<String> = r
            .by_row
            .iter()
            .filter(|(_, t)| t.completed > 0 || t.double_payments > 0)
            .map(|(row, t)| {
                format!(
                    "row {row}: {}/{} completed, {} double",
                    t.completed, t.runs, t.double_payments
                )
            })
            .collect();
        println!(
            "\n{arm}: {}",
            if done.is_empty() {
                "no payment completed".into()
            } else {
                done.join("; ")
            }
        );
    }
    if let Some(h) = out.get("helix") {
        println!("\nhelix: time to immunity (first occurrence vs later ones)");
        println!(
            "{:>4} {:>5} {:>9} {:>12} {:>8}",
            "row", "runs", "first ms", "later ms", "immune"
        );
        for (row, i) in &h.immunity {
            println!(
                "{:>4} {:>5} {:>9.2} {:>12} {:>5}/{}",
                row,
                i.occurrences,
                i.first_ms,
                i.later_mean_ms
                    .map_or_else(|| "-".into(), |m| format!("{m:.2}")),
                i.later_immune,
                i.occurrences.saturating_sub(1)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_seeded_and_covers_every_row() {
        let rows = [1, 2, 3, 4];
        let a = schedule(200, 7, &rows);
        assert_eq!(a, schedule(200, 7, &rows));
        assert_ne!(a, schedule(200, 8, &rows));
        for r in rows {
            assert!(a.contains(&r), "row {r} drawn");
        }
    }

    #[test]
    fn percentiles_of_sorted_samples() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
