//! `helix-lab evolve`: the evolution worker's logic measured on the two
//! tuning rows (a thin book makers refill, a 429 limit that resets, each
//! after a window the agent is not told of). For each row, one seed: the
//! executor's default wait against the wait the worker evolved, on the
//! same windows.
//!
//! The evolved arm learns as the worker does in production: each run's
//! events go to [`Evolver::observe`], and [`Evolver::retune`] writes the
//! next value to try into the Gene Map, which the next run reads. After
//! the learning runs the gene is given the value believed best, and both
//! arms are measured with no more learning.

use std::process::ExitCode;
use std::sync::Arc;

use helix_core::{GeneKey, GeneStore, Helix, MemoryGeneStore, MemorySink, Mode, StrategyId};
use helix_evolve::{Bounds, Evolver, knob};
use helix_lab::Lab;
use helix_lab::runner::Runner;
use helix_lab::scenarios::{MAIN_CHAIN, TUNING, run_row_with};
use helix_lab::tokens::{AGENT, ALPHA, UNIT};
use helix_lab::tuning::{engine, gene_with_wait};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

/// What the bench was asked for.
#[derive(clap::Args)]
pub struct Args {
    /// Learning runs per row.
    #[arg(long, default_value_t = 60)]
    pub learn: usize,
    /// Measured runs per row and arm.
    #[arg(long, default_value_t = 30)]
    pub runs: usize,
    /// Seed of the windows and of the bandit.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Shortest and longest untold window, ms.
    #[arg(long, default_value_t = 400)]
    pub window_min_ms: u64,
    #[arg(long, default_value_t = 900)]
    pub window_max_ms: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct ArmResult {
    wait_ms: Option<u64>,
    runs: usize,
    completed_pct: f64,
    mean_ms: f64,
    p90_ms: f64,
    mean_attempts: f64,
    /// Row 27 only: what the swaps paid below par, bps of the amount.
    slippage_bps: Option<f64>,
    /// Runs the tuned gene answered (immune).
    immune: usize,
}

#[derive(Debug, Serialize)]
struct RowResult {
    row: u8,
    title: &'static str,
    key: String,
    strategy: &'static str,
    learning_runs: usize,
    learned_trials: u32,
    versions: usize,
    default: ArmResult,
    evolved: ArmResult,
}

/// Runs the bench.
pub fn run(a: Args) -> Result<ExitCode, String> {
    if a.runs == 0 || a.window_min_ms > a.window_max_ms {
        return Err("--runs must be at least 1 and --window-min-ms at most --window-max-ms".into());
    }
    let rt = helix_cli::runtime()?;
    rt.block_on(bench(a))
}

fn alpha(lab: &Lab) -> u128 {
    lab.state()
        .chains
        .get(&MAIN_CHAIN)
        .map_or(0, |c| c.balance(ALPHA, AGENT))
}

struct Sample {
    ok: bool,
    ms: u64,
    attempts: usize,
    immune: bool,
    slippage_bps: Option<f64>,
}

async fn one(lab: &Lab, helix: &Helix, row: u8, window: u64) -> Sample {
    lab.state().untold_window_ms = window;
    let r = run_row_with(lab, &Runner::Helix(helix), row).await;
    // The row starts the agent at no AlphaUSD: what it holds is what the
    // run bought.
    let bought = alpha(lab);
    tracing::debug!(target: "helix::lab", row, window, ok = r.ok, ms = r.ms, detail = %r.detail, "tuning row");
    let amount = 100 * UNIT;
    Sample {
        ok: r.ok,
        ms: r.ms,
        attempts: r.report.repairs.len(),
        immune: r.report.immune(),
        slippage_bps: (row == 27 && r.ok)
            .then(|| amount.saturating_sub(bought) as f64 * 10_000.0 / amount as f64),
    }
}

fn summarise(wait_ms: Option<u64>, s: &[Sample]) -> ArmResult {
    let n = s.len().max(1) as f64;
    let mut ms: Vec<u64> = s.iter().map(|x| x.ms).collect();
    ms.sort_unstable();
    let slips: Vec<f64> = s.iter().filter_map(|x| x.slippage_bps).collect();
    ArmResult {
        wait_ms,
        runs: s.len(),
        completed_pct: 100.0 * s.iter().filter(|x| x.ok).count() as f64 / n,
        mean_ms: s.iter().map(|x| x.ms as f64).sum::<f64>() / n,
        p90_ms: ms
            .get(((ms.len() as f64 * 0.9).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0) as f64,
        mean_attempts: s.iter().map(|x| x.attempts as f64).sum::<f64>() / n,
        slippage_bps: (!slips.is_empty()).then(|| slips.iter().sum::<f64>() / slips.len() as f64),
        immune: s.iter().filter(|x| x.immune).count(),
    }
}

/// The lab's own default waits (`Lab::strategies`): what an agent
/// configured like the lab waits with no tuning.
fn lab_default(strategy: StrategyId) -> u64 {
    match strategy {
        StrategyId::Backoff => 250,
        _ => 2_000,
    }
}

async fn seeded(
    key: GeneKey,
    strategy: StrategyId,
    wait_ms: u64,
) -> Result<Arc<MemoryGeneStore>, String> {
    gene_with_wait(key, strategy, wait_ms)
        .await
        .map_err(|e| e.to_string())
}

/// Keeps the gene answering while the bench learns: the failures of the
/// values tried would demote it and lower its q, and every learning run is
/// meant to be a trial. (In production the worker learns only from the
/// runs the gene still answers.)
async fn keep_answering(
    store: &MemoryGeneStore,
    key: GeneKey,
    strategy: StrategyId,
) -> Result<(), String> {
    let all = store.list().await.map_err(|e| e.to_string())?;
    if let Some(mut g) = all
        .into_iter()
        .find(|g| g.key == key && g.strategy == strategy)
    {
        g.consecutive_failures = 0;
        g.q = g.q.max(0.9);
        store.put(g);
    }
    Ok(())
}

async fn bench(a: Args) -> Result<ExitCode, String> {
    let lab = Lab::start()
        .await
        .map_err(|e| format!("starting the lab: {e}"))?;
    let mut rng = StdRng::seed_from_u64(a.seed);
    let mut window = || rng.random_range(a.window_min_ms..=a.window_max_ms);
    let mut out = Vec::new();
    for (row, strategy) in [(27u8, StrategyId::WaitAndRetry), (28, StrategyId::Backoff)] {
        let title = TUNING.iter().find(|s| s.row == row).map_or("", |s| s.title);
        let k = knob(strategy).ok_or("no knob")?;
        // The failure's key, as the engine perceives it (observe mode: no
        // repair runs).
        let probe = engine(&lab, Arc::new(MemoryGeneStore::new()), None, Mode::Observe);
        lab.state().untold_window_ms = a.window_min_ms;
        let probed = run_row_with(&lab, &Runner::Helix(&probe), row).await;
        let key = probed.report.failure.map(|f| f.key()).ok_or(format!(
            "row {row}: the failure was not perceived (ok {}: {})",
            probed.ok, probed.detail
        ))?;
        let learn_windows: Vec<u64> = (0..a.learn).map(|_| window()).collect();
        let eval_windows: Vec<u64> = (0..a.runs).map(|_| window()).collect();
        eprintln!("helix-lab evolve: row {row} ({key}, {strategy}) ...");

        // The default: the gene names the lab's own wait.
        let base = lab_default(strategy);
        let store = seeded(key, strategy, base).await?;
        let sink = Arc::new(MemorySink::new());
        let helix = engine(&lab, store.clone(), Some(sink.clone()), Mode::Full);
        let mut default = Vec::new();
        for w in &eval_windows {
            default.push(one(&lab, &helix, row, *w).await);
            sink.take();
        }

        // Evolved: learn through the Gene Map, then fix the best value.
        let store = seeded(key, strategy, base).await?;
        let sink = Arc::new(MemorySink::new());
        let helix = engine(&lab, store.clone(), Some(sink.clone()), Mode::Full);
        // A retune after every trial: few runs, many values to try.
        let mut evolver = Evolver::new(Bounds::default(), 1, a.seed);
        for w in &learn_windows {
            keep_answering(&store, key, strategy).await?;
            one(&lab, &helix, row, *w).await;
            for e in sink.take() {
                evolver.observe(&e);
            }
            evolver.retune(&*store).await.map_err(|e| e.to_string())?;
        }
        let best = evolver.best(key, strategy).unwrap_or(base);
        let trials = evolver.bandit(key, strategy).map_or(0, |b| b.trials());
        keep_answering(&store, key, strategy).await?;
        store
            .retune(
                key,
                strategy,
                &json!({ k.param: best }),
                &json!({ "chosen": best, "by": "helix-lab evolve", "trials": trials }),
            )
            .await
            .map_err(|e| e.to_string())?;
        let versions = store
            .versions(key, strategy)
            .await
            .map_err(|e| e.to_string())?
            .len();
        // Measured as the default was: a gene that differs only in its wait.
        let store = seeded(key, strategy, best).await?;
        let sink = Arc::new(MemorySink::new());
        let helix = engine(&lab, store, Some(sink.clone()), Mode::Full);
        let mut evolved = Vec::new();
        for w in &eval_windows {
            evolved.push(one(&lab, &helix, row, *w).await);
            sink.take();
        }
        out.push(RowResult {
            row,
            title,
            key: key.to_string(),
            strategy: strategy.as_str(),
            learning_runs: a.learn,
            learned_trials: trials,
            versions,
            default: summarise(Some(base), &default),
            evolved: summarise(Some(best), &evolved),
        });
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "seed": a.seed,
                "windows_ms": [a.window_min_ms, a.window_max_ms],
                "rows": out,
            }))
            .map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "helix-lab evolve: seed {}, untold windows {}..{} ms, {} learning runs, {} measured runs per arm",
            a.seed, a.window_min_ms, a.window_max_ms, a.learn, a.runs
        );
        println!(
            "{:>3}  {:<26} {:<8} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
            "row",
            "gene",
            "arm",
            "wait ms",
            "completed",
            "mean ms",
            "p90 ms",
            "attempts",
            "slip bps"
        );
        for r in &out {
            for (arm, x) in [("default", &r.default), ("evolved", &r.evolved)] {
                println!(
                    "{:>3}  {:<26} {:<8} {:>8} {:>9.1}% {:>9.0} {:>9.0} {:>9.2} {:>9}",
                    r.row,
                    format!("{} {}", r.key, r.strategy),
                    arm,
                    x.wait_ms.map_or("-".into(), |w| w.to_string()),
                    x.completed_pct,
                    x.mean_ms,
                    x.p90_ms,
                    x.mean_attempts,
                    x.slippage_bps.map_or("-".into(), |s| format!("{s:.1}")),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
