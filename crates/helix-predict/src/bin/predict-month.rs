//! `predict-month [--seeds N]`: the predictive engine on simulated months
//! (see `helix_predict::simulate`), one JSON object: per-seed scores and
//! their means. Figures in docs/PREDICT.md come from this command.

use helix_predict::Detector;
use helix_predict::simulate::{run, summary};

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
    println!(
        "{}",
        serde_json::to_string_pretty(&summary(&scores)).unwrap_or_default()
    );
}
