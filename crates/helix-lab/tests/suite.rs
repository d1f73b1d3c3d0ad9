//! Every integration test of this crate in one binary: one link of the
//! dependency tree instead of one per file (disk and link time on CI).
//! Each file is a module; run one with `cargo test -p helix-lab --test suite <file>::`.

mod cascade;
mod degraded;
mod dex_multihop;
mod idempotency;
mod llm_fallback;
mod mesh_load;
mod middleware;
mod nats;
mod no_key_leaks;
mod objective_chain;
mod objectives;
mod outcome_unknown;
mod paid_then_failed;
mod pympp_interop;
mod redis_outage;
mod registry_agents;
mod registry_cluster;
mod registry_push;
mod renew_session;
mod saga;
mod split_progress;
mod switch_network;
mod tempo_chain;
mod topup;
mod tuning;
