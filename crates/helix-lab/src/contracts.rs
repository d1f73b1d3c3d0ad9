//! The trust layer on a local Tempo chain: HELIX, GeneAnchor, GeneStaking
//! and Governance deployed from the committed artifacts, each in a Tempo
//! (0x76) transaction that names its fee token. The tests and the demo use
//! this; `helix-lab contracts deploy` runs it from the shell.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::{SolCall, SolValue};
use helix_registry::contracts::{GeneAnchor, GeneStaking, Governance, HelixToken};
use helix_tempo::{ChainError, SendOpts, TempoChain};
use serde::Serialize;

/// Where the four contracts are.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deployed {
    /// HELIX.
    pub token: Address,
    /// GeneAnchor.
    pub anchor: Address,
    /// GeneStaking.
    pub staking: Address,
    /// Governance (the parameter store).
    pub governance: Address,
}

/// HELIX minted at deployment.
pub const SUPPLY: u128 = 1_000_000_000 * 10u128.pow(18);

/// Governance's first parameters, in its constructor's order: pull
/// threshold 30 %, quality threshold 30 %, slash 50 %, minimum stake 10
/// HELIX, 2 failure reports, quorum 100 HELIX, 1 hour to vote, 1 hour of
/// timelock.
pub fn initial_params() -> [U256; 8] {
    let helix = U256::from(10u128.pow(18));
    [
        U256::from(3000),
        U256::from(3000),
        U256::from(5000),
        U256::from(10) * helix,
        U256::from(2),
        U256::from(100) * helix,
        U256::from(3600),
        U256::from(3600),
    ]
}

fn code(bytecode: &Bytes, args: Vec<u8>) -> Bytes {
    let mut c = bytecode.to_vec();
    c.extend(args);
    c.into()
}

/// Deploys the four contracts from `deployer`, paying fees in `fee_token`;
/// `registry` is the anchorer stakes may back, `holder` receives the HELIX.
pub async fn deploy(
    deployer: &TempoChain,
    registry: Address,
    holder: Address,
    fee_token: Address,
) -> Result<Deployed, ChainError> {
    let opts = || SendOpts {
        nonce: None,
        fee_token: Some(fee_token),
    };
    let supply = U256::from(SUPPLY);
    let (token, _) = deployer
        .deploy(
            code(&HelixToken::BYTECODE, (holder, supply).abi_encode_params()),
            opts(),
        )
        .await?;
    let (anchor, _) = deployer
        .deploy(GeneAnchor::BYTECODE.clone(), opts())
        .await?;
    let (staking, _) = deployer
        .deploy(
            code(
                &GeneStaking::BYTECODE,
                (token, anchor, registry).abi_encode_params(),
            ),
            opts(),
        )
        .await?;
    let (governance, _) = deployer
        .deploy(
            code(
                &Governance::BYTECODE,
                (staking, initial_params()).abi_encode_params(),
            ),
            opts(),
        )
        .await?;
    let wire = GeneStaking::setGovernanceCall { g: governance }.abi_encode();
    deployer.send(staking, wire.into(), opts()).await?;
    Ok(Deployed {
        token,
        anchor,
        staking,
        governance,
    })
}
