//! The engine's costs: the happy path against the bare call (with an
//! allocation count), and the immune decision with genes in memory and in
//! SQLite.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use helix_bench::decision::{decide, outcome, ready, signal};
use helix_core::*;
use helix_genemap::SqliteGeneStore;

/// Counts allocations so the happy path's "no allocation" can be checked.
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Pay {
    amount: u128,
}

impl Repairable for Pay {
    fn view(&self) -> PaymentView {
        PaymentView {
            amount: Some(self.amount),
            ..Default::default()
        }
    }
    fn apply(&mut self, p: &Patch) -> Result<(), Refused> {
        Err(Refused::unsupported(p))
    }
}

async fn op(p: &Pay) -> Result<u128, String> {
    Ok(black_box(p.amount) + 1)
}

fn happy_path(c: &mut Criterion) {
    let helix = Helix::builder().adapter(helix_platforms::builtin()).build();
    let mut req = Pay { amount: 500_000 };

    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..10_000 {
        black_box(ready(helix.run_mut(&mut req, op)).0.ok());
    }
    let per_call = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / 10_000.0;
    println!("happy path: {per_call} allocations per successful run");

    let mut g = c.benchmark_group("happy_path");
    g.bench_function("bare_call", |b| b.iter(|| ready(op(black_box(&req)))));
    g.bench_function("helix_run", |b| {
        b.iter(|| ready(helix.run_mut(&mut req, op)).0.ok())
    });
    g.finish();
}

fn immune_decision(c: &mut Criterion) {
    let classifier = helix_platforms::builtin();
    let signal = signal();
    let memory = MemoryGeneStore::new();
    ready(memory.record(&outcome())).ok();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Arc::new(SqliteGeneStore::open(dir.path().join("bench.db")).expect("open"));
    ready(sqlite.record(&outcome())).ok();

    let decide = |store: &dyn GeneStore| decide(&classifier, &signal, store);
    assert_eq!(decide(&memory), Some(StrategyId::RefreshNonce));
    assert_eq!(decide(sqlite.as_ref()), Some(StrategyId::RefreshNonce));

    let mut g = c.benchmark_group("immune_decision");
    g.bench_function("memory", |b| b.iter(|| decide(black_box(&memory))));
    g.bench_function("sqlite", |b| b.iter(|| decide(black_box(sqlite.as_ref()))));
    g.finish();
}

criterion_group!(benches, happy_path, immune_decision);
criterion_main!(benches);
