//! Every integration test of this crate in one binary: one link of the
//! dependency tree instead of one per file (disk and link time on CI).
//! Each file is a module; run one with `cargo test -p helix-cli --test suite <file>::`.

mod cli;
mod common;
mod evolve;
mod mesh;
mod ode;
mod ops;
mod pay;
mod predict;
mod registry;
mod serve;
mod trust;
