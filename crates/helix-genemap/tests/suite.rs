//! Every integration test of this crate in one binary: one link of the
//! dependency tree instead of one per file (disk and link time on CI).
//! Each file is a module; run one with `cargo test -p helix-genemap --test suite <file>::`.

mod blocking;
mod budget;
mod event_log;
mod postgres;
mod redis_cache;
mod sqlite;
mod versions;
mod wallet_lock;
