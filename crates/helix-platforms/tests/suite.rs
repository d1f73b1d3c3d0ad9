//! Every integration test of this crate in one binary: one link of the
//! dependency tree instead of one per file (disk and link time on CI).
//! Each file is a module; run one with `cargo test -p helix-platforms --test suite <file>::`.

mod bad_input;
mod corpus;
mod every_offer_has_an_executor;
mod tempo_abi;
