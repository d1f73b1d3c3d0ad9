//! Tempo and MPP: 402 problem types, TIP-20 and StablecoinDEX reverts,
//! nonces, fee tokens, challenges, batches, networks (rows 1-13).

pub mod errors;
#[cfg(feature = "tempo")]
pub mod executors;
mod offers;
mod perceive;
#[cfg(feature = "tempo")]
pub mod probes;
#[cfg(test)]
mod tests;

use helix_core::Platform;

use crate::perception::PlatformTable;

/// The Tempo/MPP table.
pub const TABLE: PlatformTable = PlatformTable {
    platform: Platform::Tempo,
    structured: perceive::structured,
    fallback: perceive::fallback,
    rules: perceive::RULES,
    offers: offers::offers,
    facts: perceive::revert_facts,
};

pub use perceive::{EXTRACT_CHAIN_ID, EXTRACT_NONCE, MPP_PROBLEM_BASE};

#[cfg(feature = "tempo")]
pub use executors::{
    DexSplit, DexSwap, ReconcileTx, RefreshNonce, SwitchFeeToken, SwitchNetwork, TopupFromReserve,
    split_repair,
};
#[cfg(feature = "tempo")]
pub use probes::{BalanceProbe, SentTxProbe};
