//! switch_fee_token: pay the fee in a configured token the payer holds.

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};
use helix_http::rpc::balance_of;
use serde_json::json;

use super::{payer, rpc_failed};

/// switch_fee_token: pays the fee in the first configured token the payer
/// holds at least `min_balance` of (other than the failing one).
#[derive(Debug, Clone)]
pub struct SwitchFeeToken {
    http: reqwest::Client,
    rpc_url: String,
    tokens: Vec<String>,
    min_balance: u128,
}

impl SwitchFeeToken {
    /// Tokens in order of preference.
    pub fn new(
        http: reqwest::Client,
        rpc_url: impl Into<String>,
        tokens: Vec<String>,
        min_balance: u128,
    ) -> Self {
        SwitchFeeToken {
            http,
            rpc_url: rpc_url.into(),
            tokens,
            min_balance,
        }
    }
}

#[async_trait]
impl Executor for SwitchFeeToken {
    fn id(&self) -> StrategyId {
        StrategyId::SwitchFeeToken
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Payer]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let payer = payer(ctx)?;
        let current = ctx.request.fee_token.as_deref();
        for token in self.tokens.iter().filter(|t| Some(t.as_str()) != current) {
            let bal = balance_of(&self.http, &self.rpc_url, token, payer)
                .await
                .map_err(rpc_failed)?;
            if bal >= self.min_balance {
                return Ok(Committed {
                    patches: vec![Patch::FeeToken {
                        token: token.clone(),
                    }],
                    params: json!({ "fee_token": token }),
                    ..Default::default()
                });
            }
        }
        Err(CommitError::NotApplicable(
            "the payer holds no other fee token".into(),
        ))
    }
}
