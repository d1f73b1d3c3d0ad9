//! Tokens and accounts of the lab, at the addresses Tempo uses for its
//! predeployed TIP-20s (6 decimals).

/// pathUSD.
pub const PATH_USD: &str = "0x20c0000000000000000000000000000000000000";
/// AlphaUSD.
pub const ALPHA: &str = "0x20c0000000000000000000000000000000000001";
/// BetaUSD.
pub const BETA: &str = "0x20c0000000000000000000000000000000000002";
/// ThetaUSD.
pub const THETA: &str = "0x20c0000000000000000000000000000000000003";

/// A token with its symbol.
pub struct Token {
    /// Symbol.
    pub symbol: &'static str,
    /// Address.
    pub address: &'static str,
}

/// Every lab token.
pub const TOKENS: &[Token] = &[
    Token {
        symbol: "pathUSD",
        address: PATH_USD,
    },
    Token {
        symbol: "AlphaUSD",
        address: ALPHA,
    },
    Token {
        symbol: "BetaUSD",
        address: BETA,
    },
    Token {
        symbol: "ThetaUSD",
        address: THETA,
    },
];

/// Symbol of an address (for tables and messages).
pub fn symbol(address: &str) -> &str {
    TOKENS
        .iter()
        .find(|t| t.address.eq_ignore_ascii_case(address))
        .map_or(address, |t| t.symbol)
}

/// The paying agent.
pub const AGENT: &str = "0x00000000000000000000000000000000000a9e47";
/// The agent's Privy server wallet.
pub const PRIVY_WALLET: &str = "0x000000000000000000000000000000000000b71e";
/// The paid service.
pub const MERCHANT: &str = "0x000000000000000000000000000000000000cafe";

/// One whole token in base units.
pub const UNIT: u128 = 1_000_000;
/// Network fee per transaction, base units of the fee token.
pub const FEE: u128 = 1_000;
/// Depth of a normal pool.
pub const PEG_RESERVE: u128 = 1_000_000 * UNIT;
