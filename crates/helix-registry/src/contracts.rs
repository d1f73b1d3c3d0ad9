//! The trust layer's contracts (`contracts/` in the repository), as Rust
//! types generated from the committed artifacts in `abi/` (ABI and
//! bytecode of `forge build`); `tests/bindings.rs` checks they match a
//! fresh build of the sources.

#![allow(missing_docs)]

alloy::sol!(GeneAnchor, "abi/GeneAnchor.json");
alloy::sol!(GeneStaking, "abi/GeneStaking.json");
alloy::sol!(Governance, "abi/Governance.json");
alloy::sol!(HelixToken, "abi/HelixToken.json");
