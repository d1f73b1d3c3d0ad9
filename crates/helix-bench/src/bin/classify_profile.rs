//! Classifies the plain corpus N times (default 50): a driver for profilers
//! such as `valgrind --tool=callgrind`.

use helix_core::{Adapter, ErrorSignal};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let c = helix_platforms::builtin();
    let corpus: Vec<ErrorSignal> = helix_bench::plain_corpus()
        .into_iter()
        .map(ErrorSignal::message)
        .collect();
    let mut found = 0usize;
    for _ in 0..n {
        for s in &corpus {
            found += usize::from(std::hint::black_box(c.perceive(s)).is_some());
        }
    }
    println!("{found} classified of {}", n * corpus.len());
}
