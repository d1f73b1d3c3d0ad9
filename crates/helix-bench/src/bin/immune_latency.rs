//! The immune decision's latency distribution (criterion reports central
//! figures; the SQLite target is a p99). Times each of N decisions
//! on its own and prints p50, p99 and p99.9 per store:
//!
//!     cargo run --release -p helix-bench --bin immune_latency [N]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use helix_bench::decision::{decide, outcome, ready, signal};
use helix_core::{GeneStore, MemoryGeneStore, StrategyId};
use helix_genemap::SqliteGeneStore;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let classifier = helix_platforms::builtin();
    let sig = signal();
    let memory = MemoryGeneStore::new();
    let dir = std::env::temp_dir().join(format!("helix-latency-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("immune_latency: {}: {e}", dir.display());
        std::process::exit(2);
    }
    let sqlite = match SqliteGeneStore::open(dir.join("bench.db")) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("immune_latency: {e}");
            std::process::exit(2);
        }
    };
    let stores: [(&str, &dyn GeneStore); 2] = [("memory", &memory), ("sqlite", sqlite.as_ref())];
    println!("{n} decisions each; ns per decision");
    println!("{:<8} {:>9} {:>9} {:>9}", "store", "p50", "p99", "p99.9");
    for (name, store) in stores {
        if ready(store.record(&outcome())).is_err()
            || decide(&classifier, &sig, store) != Some(StrategyId::RefreshNonce)
        {
            eprintln!("immune_latency: the {name} store does not answer with the gene");
            std::process::exit(2);
        }
        // Warm caches and the SQLite page cache first.
        for _ in 0..n / 10 {
            black_box(decide(&classifier, &sig, store));
        }
        let mut ns: Vec<u64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                black_box(decide(&classifier, black_box(&sig), store));
                t.elapsed().as_nanos() as u64
            })
            .collect();
        ns.sort_unstable();
        let at = |p: f64| ns[((ns.len() - 1) as f64 * p) as usize];
        println!(
            "{:<8} {:>9} {:>9} {:>9}",
            name,
            at(0.50),
            at(0.99),
            at(0.999)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
