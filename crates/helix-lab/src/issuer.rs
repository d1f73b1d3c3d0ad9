//! A test issuer on the real chain: TIP-20s created through the factory,
//! minted, put under a TIP-403 blacklist or paused (rows 8 and 11).

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolCall;
use helix_tempo::{ChainError, SendOpts, TempoChain};
use tempo_alloy::contracts::precompiles::{
    IRolesAuth, ITIP20, ITIP20Factory, ITIP403Registry, PATH_USD_ADDRESS, TIP20_FACTORY_ADDRESS,
    TIP403_REGISTRY_ADDRESS,
};

fn decode<C: SolCall>(out: &Bytes) -> Result<C::Return, ChainError> {
    C::abi_decode_returns(out)
        .map_err(|e| ChainError::Transport(format!("decoding {}: {e}", C::SIGNATURE)))
}

async fn call_then_send<C: SolCall>(
    chain: &TempoChain,
    to: Address,
    c: C,
) -> Result<C::Return, ChainError> {
    let input: Bytes = c.abi_encode().into();
    let out = decode::<C>(&chain.call(to, input.clone()).await?)?;
    chain.send(to, input, SendOpts::default()).await?;
    Ok(out)
}

/// Reads a role id from the token and grants it to the chain's signer.
async fn take_role<C: SolCall<Return = B256>>(
    chain: &TempoChain,
    token: Address,
    role_call: C,
) -> Result<(), ChainError> {
    let role = decode::<C>(&chain.call(token, role_call.abi_encode().into()).await?)?;
    let grant = IRolesAuth::grantRoleCall {
        role,
        account: chain.address(),
    };
    chain
        .send(token, grant.abi_encode().into(), SendOpts::default())
        .await?;
    Ok(())
}

/// Creates a USD TIP-20 quoted in pathUSD with `admin` (the chain's signer)
/// as admin and issuer, and mints `amount` to `holder`.
pub async fn issue(
    chain: &TempoChain,
    symbol: &str,
    holder: Address,
    amount: u128,
) -> Result<Address, ChainError> {
    let admin = chain.address();
    let token = call_then_send(
        chain,
        TIP20_FACTORY_ADDRESS,
        ITIP20Factory::createToken_0Call {
            name: format!("{symbol} Lab Dollar"),
            symbol: symbol.into(),
            currency: "USD".into(),
            quoteToken: PATH_USD_ADDRESS,
            admin,
            salt: B256::random(),
        },
    )
    .await?;
    take_role(chain, token, ITIP20::ISSUER_ROLECall {}).await?;
    chain
        .send(
            token,
            ITIP20::mintCall {
                to: holder,
                amount: U256::from(amount),
            }
            .abi_encode()
            .into(),
            SendOpts::default(),
        )
        .await?;
    Ok(token)
}

/// Puts `account` on a new TIP-403 blacklist and makes it `token`'s policy.
pub async fn blacklist(
    chain: &TempoChain,
    token: Address,
    account: Address,
) -> Result<u64, ChainError> {
    let policy = call_then_send(
        chain,
        TIP403_REGISTRY_ADDRESS,
        ITIP403Registry::createPolicyWithAccountsCall {
            admin: chain.address(),
            policyType: ITIP403Registry::PolicyType::BLACKLIST,
            accounts: vec![account],
        },
    )
    .await?;
    chain
        .send(
            token,
            ITIP20::changeTransferPolicyIdCall {
                newPolicyId: policy,
            }
            .abi_encode()
            .into(),
            SendOpts::default(),
        )
        .await?;
    Ok(policy)
}

/// Pauses `token` (the signer takes PAUSE_ROLE first).
pub async fn pause(chain: &TempoChain, token: Address) -> Result<(), ChainError> {
    take_role(chain, token, ITIP20::PAUSE_ROLECall {}).await?;
    chain
        .send(
            token,
            ITIP20::pauseCall {}.abi_encode().into(),
            SendOpts::default(),
        )
        .await?;
    Ok(())
}
