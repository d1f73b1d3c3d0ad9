//! Classification throughput over the corpus: plain text and structured
//! bodies reported separately.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use helix_bench::{plain_corpus, structured_corpus};
use helix_core::{Adapter, ErrorSignal};
use std::hint::black_box;

fn classify(c: &mut Criterion) {
    let classifier = helix_platforms::builtin();
    let plain: Vec<ErrorSignal> = plain_corpus()
        .into_iter()
        .map(ErrorSignal::message)
        .collect();
    let structured: Vec<ErrorSignal> = structured_corpus()
        .iter()
        .map(|(st, body)| ErrorSignal::from_http(*st, |_| None, body.as_bytes()))
        .collect();

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(plain.len() as u64));
    g.bench_function("plain_text", |b| {
        b.iter(|| {
            for s in &plain {
                black_box(classifier.perceive(black_box(s)));
            }
        })
    });
    g.throughput(Throughput::Elements(structured.len() as u64));
    g.bench_function("structured_signal", |b| {
        b.iter(|| {
            for s in &structured {
                black_box(classifier.perceive(black_box(s)));
            }
        })
    });
    let bodies = structured_corpus();
    g.throughput(Throughput::Elements(bodies.len() as u64));
    g.bench_function("structured_from_body", |b| {
        b.iter(|| {
            for (st, body) in &bodies {
                let s = ErrorSignal::from_http(*st, |_| None, body.as_bytes());
                black_box(classifier.perceive(&s));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
