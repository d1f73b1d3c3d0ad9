//! Privy embedded and server wallets: policy engine, nonce desync, gas
//! sponsorship, chain mismatch (rows 14-17). Privy answers
//! `{"error": "...", "code": "..."}`; classification reads the message, since
//! the codes are coarse (`invalid_data`, `policy_violation` ...).

mod offers;
mod perceive;
#[cfg(test)]
mod tests;

use helix_core::Platform;

use crate::perception::{PlatformTable, no_check, no_facts};

/// The Privy table.
pub const TABLE: PlatformTable = PlatformTable {
    platform: Platform::Privy,
    structured: no_check,
    fallback: no_check,
    rules: perceive::RULES,
    offers: offers::offers,
    facts: no_facts,
};
