//! Every integration test of this crate in one binary: one link of the
//! dependency tree instead of one per file (disk and link time on CI).
//! Each file is a module; run one with `cargo test -p helix-core --test suite <file>::`.

mod common;
mod diagnose;
mod engine;
mod invariants;
mod money;
mod preempt;
