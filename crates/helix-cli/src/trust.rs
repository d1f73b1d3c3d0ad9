//! Staking and governance by hand: `helix stake` backs an anchored gene
//! with HELIX; `helix gov propose | vote | execute | params` changes
//! protocol parameters by stakers' votes (`helix gene verify` is with the
//! other gene commands). Transactions are Tempo (0x76) ones that
//! name their fee token.

use std::path::PathBuf;
use std::process::ExitCode;

use alloy::primitives::{Address, U256, keccak256};
use alloy::sol_types::SolCall;
use helix_registry::contracts::{GeneStaking, Governance, HelixToken};
use helix_registry::wire::GeneId;
use helix_tempo::{SendOpts, TempoChain, Wallet};

/// AlphaUSD, the fee token unless one is named.
pub const ALPHA_USD: &str = "0x20c0000000000000000000000000000000000001";
/// Parameters Governance knows, by name.
pub const PARAMS: &[&str] = &[
    "pull_threshold_bps",
    "quality_threshold_bps",
    "slash_ratio_bps",
    "min_stake",
    "failure_threshold",
    "quorum",
    "voting_period",
    "timelock",
];

/// What was asked.
pub enum Cmd {
    Stake {
        gene: String,
        amount: String,
        staking: Address,
    },
    Propose {
        param: String,
        value: String,
        governance: Address,
    },
    Vote {
        id: u64,
        support: bool,
        governance: Address,
    },
    Execute {
        id: u64,
        governance: Address,
    },
    Params {
        governance: Address,
    },
}

/// Where and as whom.
pub struct Chain {
    pub rpc: String,
    pub key_file: Option<PathBuf>,
    pub fee_token: Option<Address>,
}

fn rt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// A decimal HELIX amount (18 decimals) in base units.
pub fn helix_units(text: &str) -> Result<U256, String> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 18 || whole.is_empty() && frac.is_empty() {
        return Err(format!("{text}: not a HELIX amount (at most 18 decimals)"));
    }
    let digits = format!("{whole}{frac:0<18}");
    let v = U256::from_str_radix(&digits, 10).map_err(|_| format!("{text}: not a HELIX amount"))?;
    if v.is_zero() {
        return Err("the amount must be more than 0".into());
    }
    Ok(v)
}

fn signer(c: &Chain) -> Result<(TempoChain, SendOpts), String> {
    let file = c
        .key_file
        .as_ref()
        .ok_or("this command signs: give --key-file or HELIX_AGENT_KEY_FILE")?;
    let wallet = Wallet::from_file(file).map_err(|e| e.to_string())?;
    let chain = TempoChain::connect(&c.rpc, &wallet).map_err(|e| e.to_string())?;
    let fee = c
        .fee_token
        .unwrap_or_else(|| ALPHA_USD.parse().unwrap_or_default());
    Ok((
        chain,
        SendOpts {
            nonce: None,
            fee_token: Some(fee),
        },
    ))
}

async fn read<C: SolCall>(chain: &TempoChain, to: Address, call: C) -> Result<C::Return, String> {
    let out = chain
        .call(to, call.abi_encode().into())
        .await
        .map_err(|e| e.to_string())?;
    C::abi_decode_returns(&out).map_err(|e| e.to_string())
}

pub fn run(cmd: Cmd, chain: Chain, json: bool) -> Result<ExitCode, String> {
    rt()?.block_on(async {
        match cmd {
            Cmd::Stake {
                gene,
                amount,
                staking,
            } => {
                let id: GeneId = gene.parse().map_err(|e| format!("{gene}: {e}"))?;
                let amount = helix_units(&amount)?;
                let (chain, opts) = signer(&chain)?;
                let token = read(&chain, staking, GeneStaking::tokenCall {}).await?;
                let approve = HelixToken::approveCall {
                    spender: staking,
                    value: amount,
                }
                .abi_encode();
                chain
                    .send(token, approve.into(), opts)
                    .await
                    .map_err(|e| e.to_string())?;
                let stake = GeneStaking::stakeCall {
                    geneId: id.0,
                    amount,
                }
                .abi_encode();
                let hash = chain
                    .send(staking, stake.into(), opts)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("staked {amount} base units of HELIX behind {id} (tx {hash})");
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Propose {
                param,
                value,
                governance,
            } => {
                if !PARAMS.contains(&param.as_str()) {
                    return Err(format!(
                        "unknown parameter {param}; one of {}",
                        PARAMS.join(", ")
                    ));
                }
                let value = U256::from_str_radix(&value, 10)
                    .map_err(|_| format!("{value}: not a whole number"))?;
                let (chain, opts) = signer(&chain)?;
                let id = read(&chain, governance, Governance::proposalCountCall {}).await?;
                let call = Governance::proposeCall {
                    kind: 0,
                    key: keccak256(param.as_bytes()),
                    value,
                }
                .abi_encode();
                let hash = chain
                    .send(governance, call.into(), opts)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("proposal {id}: {param} = {value} (tx {hash})");
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Vote {
                id,
                support,
                governance,
            } => {
                let (chain, opts) = signer(&chain)?;
                let call = Governance::voteCall {
                    id: U256::from(id),
                    support,
                }
                .abi_encode();
                let hash = chain
                    .send(governance, call.into(), opts)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "voted {} proposal {id} (tx {hash})",
                    if support { "for" } else { "against" }
                );
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Execute { id, governance } => {
                let (chain, opts) = signer(&chain)?;
                let call = Governance::executeCall { id: U256::from(id) }.abi_encode();
                let hash = chain
                    .send(governance, call.into(), opts)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("executed proposal {id} (tx {hash})");
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Params { governance } => {
                let reader = TempoChain::connect(&chain.rpc, &Wallet::random())
                    .map_err(|e| e.to_string())?;
                let mut out = serde_json::Map::new();
                for p in PARAMS {
                    let v = read(
                        &reader,
                        governance,
                        Governance::paramsCall(keccak256(p.as_bytes())),
                    )
                    .await?;
                    out.insert((*p).to_owned(), serde_json::Value::String(v.to_string()));
                }
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
                    );
                } else {
                    for (k, v) in &out {
                        println!("{k:<22} {}", v.as_str().unwrap_or_default());
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
