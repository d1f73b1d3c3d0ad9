//! Where classification time goes, stage by stage, over the plain corpus:
//! the phrase scan alone, the scan plus rule selection, and the whole
//! `perceive`. Each stage is timed over the same N passes (default 500),
//! interleaved so machine noise falls on all alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use helix_core::{Adapter, ErrorSignal};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let c = helix_platforms::builtin();
    let texts = helix_bench::plain_corpus();
    let signals: Vec<ErrorSignal> = texts.iter().map(ErrorSignal::message).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut t = [Duration::ZERO; 3];
    for _ in 0..n {
        let a = Instant::now();
        for m in &texts {
            black_box(c.rules().scan_all(black_box(m)));
        }
        let b = Instant::now();
        for m in &texts {
            let s = c.rules().scan_all(black_box(m));
            black_box(c.rules().first_match_at(&s.hits));
        }
        let d = Instant::now();
        for s in &signals {
            black_box(c.perceive(black_box(s)));
        }
        let e = Instant::now();
        t[0] += b - a;
        t[1] += d - b;
        t[2] += e - d;
    }
    let msgs = (n * texts.len()) as f64;
    println!(
        "{} rules, {} phrases",
        c.rules().rules().len(),
        c.rules().phrase_count()
    );
    println!(
        "{} messages x {n}, {:.1} bytes each",
        texts.len(),
        bytes as f64 / texts.len() as f64
    );
    for (name, d) in ["scan", "scan + select", "perceive"].iter().zip(t) {
        let ns = d.as_nanos() as f64 / msgs;
        println!("{name:>14}: {ns:7.1} ns/msg  {:6.2} M msg/s", 1e3 / ns);
    }
}
