//! Tempo's repairs, each acting through the chain: read the nonce, choose
//! the endpoint and fee token, reconcile a sent payment, swap on the
//! StablecoinDEX, split an order, top up from a reserve.

mod fee_token;
mod network;
mod nonce;
mod reconcile;
mod split;
mod swap;
mod topup;

pub use fee_token::SwitchFeeToken;
pub use network::SwitchNetwork;
pub use nonce::RefreshNonce;
pub use reconcile::ReconcileTx;
pub use split::{DexSplit, split_repair};
pub use swap::DexSwap;
pub use topup::TopupFromReserve;

use helix_core::{CommitCtx, CommitError};
use helix_http::rpc::RpcError;

/// How long a send whose answer was lost is looked for on chain before its
/// outcome is left unknown (the engine then lets nothing else move funds).
const RECONCILE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn payer<'a>(ctx: &'a CommitCtx<'_>) -> Result<&'a str, CommitError> {
    ctx.request
        .payer
        .as_deref()
        .ok_or_else(|| CommitError::NotApplicable("request names no payer".into()))
}

fn rpc_failed(e: RpcError) -> CommitError {
    CommitError::Platform(e.to_string())
}
