//! # helix-tempo
//!
//! Helix on a real Tempo chain, with Tempo's own crates (alloy +
//! tempo-alloy): a signing client ([`TempoChain`]) that controls nonce and
//! fee token, chain errors as signals ([`ChainError`]), and the repairs that
//! move funds on the StablecoinDEX ([`DexSwap`]). Nonce, chain-id and
//! fee-token repairs that only read the chain live in `helix-http::rpc` and
//! work here unchanged.

#![warn(missing_docs)]

mod batch;
mod chain;
mod dex;
mod error;
mod journal;
mod order;
mod payment;
mod topup;

pub use alloy::primitives::Address;
pub use batch::{BatchCall, Tip20Batch, pay_batch};
pub use chain::{BeforeSend, KeyError, SendOpts, TempoChain, Wallet};
pub use dex::{DEFAULT_SLIPPAGE_BPS, DexSwap, max_slippage_bps, min_out};
pub use error::{ChainError, signal_from_text};
pub use journal::{FileJournal, MemoryJournal, OrderJournal, OrderProgress, PendingPart};
pub use order::{DexOrder, DexSplit, fewest_parts, split_repair, swap_order};
pub use payment::{Tip20Payment, pay};
pub use topup::TopupFromReserve;
