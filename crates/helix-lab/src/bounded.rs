//! Running a lab binary as a bounded load test: killed past its time
//! limit, its JSON report returned.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `bin args`, kills it past `limit`, and returns its stdout parsed as
/// JSON; panics (it is for tests) when it fails, overruns or prints no JSON.
pub fn run_json(bin: &Path, args: &[&str], limit: Duration) -> serde_json::Value {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or(None) {
            break s;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("{args:?} ran over {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    assert!(status.success(), "{args:?} failed: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
}

/// The `p` quantile (0..=1) of sorted samples, NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
