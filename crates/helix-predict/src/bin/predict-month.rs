//! `predict-month [--seeds N]`: the predictive engine on simulated months
//! (see `helix_predict::simulate`), one JSON object: per-seed scores and
//! their means. Figures in docs/PREDICT.md come from this command.

use helix_predict::Detector;
use helix_predict::simulate::run;

fn main() {
    let mut seeds = 20u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--seeds", Some(n)) if n > 0 => seeds = n,
            _ => {
                eprintln!("usage: predict-month [--seeds N]");
                std::process::exit(2);
            }
        }
    }
    let d = Detector::default();
    let scores: Vec<_> = (1..=seeds).map(|s| run(s, &d)).collect();
    let n = scores.len() as f64;
    let mean =
        |f: &dyn Fn(&helix_predict::simulate::Score) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let min = |f: &dyn Fn(&helix_predict::simulate::Score) -> f64| {
        scores.iter().map(f).fold(f64::INFINITY, f64::min)
    };
    let reactive: u64 = scores.iter().map(|s| s.reactive_failures).sum();
    let preemptive: u64 = scores.iter().map(|s| s.preemptive_failures).sum();
    let in_reactive: u64 = scores.iter().map(|s| s.window_failures_reactive).sum();
    let in_preemptive: u64 = scores.iter().map(|s| s.window_failures_preemptive).sum();
    let summary = serde_json::json!({
        "seeds": seeds,
        "precision_mean": mean(&|s| s.precision),
        "precision_min": min(&|s| s.precision),
        "recall_mean": mean(&|s| s.recall),
        "recall_min": min(&|s| s.recall),
        "week5_failures_reactive": reactive,
        "week5_failures_preemptive": preemptive,
        "failures_avoided": reactive as i64 - preemptive as i64,
        "avoided_share": (reactive as f64 - preemptive as f64) / reactive as f64,
        "window_failures_reactive": in_reactive,
        "window_failures_preemptive": in_preemptive,
        "window_avoided_share": (in_reactive as f64 - in_preemptive as f64) / in_reactive as f64,
        "needless_preempted_hours_mean": mean(&|s| s.needless_preemptions as f64),
        "scores": scores,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
}
