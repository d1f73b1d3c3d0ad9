//! Tempo and MPP: 402 problem types, TIP-20 and StablecoinDEX reverts,
//! nonces, fee tokens, challenges, batches, networks (rows 1-13).

mod offers;
mod perceive;
#[cfg(test)]
mod tests;

use helix_core::Platform;

use crate::perception::{PlatformTable, no_check};

/// The Tempo/MPP table.
pub const TABLE: PlatformTable = PlatformTable {
    platform: Platform::Tempo,
    structured: perceive::structured,
    fallback: no_check,
    rules: perceive::RULES,
    offers: offers::offers,
};

pub use perceive::{EXTRACT_CHAIN_ID, EXTRACT_NONCE, MPP_PROBLEM_BASE};
