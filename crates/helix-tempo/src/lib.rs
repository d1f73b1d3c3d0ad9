//! # helix-tempo
//!
//! The Tempo client Helix's repairs are built on, with Tempo's own crates
//! (alloy + tempo-alloy): a signing client ([`TempoChain`]) that controls
//! nonce and fee token and reconciles a send whose answer was lost, chain
//! errors as signals ([`ChainError`]), TIP-20 payments and batches, the
//! slippage bound, and split orders with their journal. The repairs
//! themselves are in `helix-platforms/tempo/executors`.

#![warn(missing_docs)]

mod batch;
mod chain;
mod error;
mod journal;
mod memo;
mod order;
mod payment;
mod slippage;

pub use alloy::primitives::Address;
pub use batch::{BatchCall, Tip20Batch, pay_batch};
pub use chain::{BeforeSend, KeyError, Moved, SendOpts, TempoChain, Wallet};
pub use error::{ChainError, signal_from_text};
pub use journal::{FileJournal, MemoryJournal, OrderJournal, OrderProgress, PendingPart};
pub use memo::{MemoTransfer, memo_of};
pub use order::{DexOrder, fewest_parts, swap_order};
pub use payment::{Tip20Payment, pay};
pub use slippage::{DEFAULT_SLIPPAGE_BPS, max_slippage_bps, min_out};
