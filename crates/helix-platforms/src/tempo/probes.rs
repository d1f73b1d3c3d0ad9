//! Probes: facts the error alone does not give, read from the chain before
//! perception (the sent transaction's fate, the payer's balance).

use async_trait::async_trait;
use helix_core::{ErrorSignal, FailureCode, PaymentView, Probe};
use helix_http::rpc::{Fate, SentTx, balance_of, fate};

/// Probe: a payment left the agent and the call failed. Reads the sent
/// transaction's fate from the chain, so a failure that provably moved no
/// funds (a failed receipt, an expired transaction never mined) is
/// classified by what it says, and any other stays an unknown outcome.
#[derive(Debug, Clone)]
pub struct SentTxProbe {
    http: reqwest::Client,
    rpc_url: String,
}

impl SentTxProbe {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        SentTxProbe {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

#[async_trait]
impl Probe for SentTxProbe {
    async fn gather(&self, s: &mut ErrorSignal, req: &PaymentView) {
        if !helix_core::sent::outcome_unproven(s) {
            return;
        }
        let Some(hash) = s.facts.tx_hash.clone() else {
            return;
        };
        let sent = SentTx {
            hash: &hash,
            payer: req.payer.as_deref(),
            nonce: req.nonce,
            valid_before: s.facts.valid_before,
        };
        match fate(&self.http, &self.rpc_url, &sent).await {
            Ok(Fate::Failed | Fate::NeverLands) => s.facts.not_charged = true,
            Ok(_) => {}
            Err(e) => tracing::warn!(target: "helix::probe", %e, "sent-transaction probe failed"),
        }
    }
}

/// Probe: when a failure may be about funds, reads the payer's balance in
/// the request's currency, so Perceive can tell "cannot pay the charge" from
/// "cannot pay the fee" (and a bare 500 from an underfunded transfer).
#[derive(Debug, Clone)]
pub struct BalanceProbe {
    http: reqwest::Client,
    rpc_url: String,
}

impl BalanceProbe {
    /// Reads from this endpoint.
    pub fn new(http: reqwest::Client, rpc_url: impl Into<String>) -> Self {
        BalanceProbe {
            http,
            rpc_url: rpc_url.into(),
        }
    }
}

fn may_be_about_funds(s: &ErrorSignal) -> bool {
    // After a payment left, a low balance may be the payment itself.
    if helix_core::sent::may_have_paid(s) {
        return false;
    }
    s.rpc_code == Some(-32003)
        || s.problem_type
            .as_deref()
            .is_some_and(|t| t.ends_with(FailureCode::PaymentInsufficient.as_str()))
        || (s.http_status.is_some_and(|st| st >= 500) && s.facts.payment_receipt.is_none())
}

#[async_trait]
impl Probe for BalanceProbe {
    async fn gather(&self, s: &mut ErrorSignal, req: &PaymentView) {
        if !may_be_about_funds(s) {
            return;
        }
        let (Some(payer), Some(token), Some(amount)) = (&req.payer, &req.currency, req.amount)
        else {
            return;
        };
        match balance_of(&self.http, &self.rpc_url, token, payer).await {
            Ok(b) => {
                s.facts.payer_balance = Some(b);
                s.facts.required_amount = Some(amount);
                s.facts.currency = Some(token.clone());
            }
            Err(e) => tracing::warn!(target: "helix::probe", %e, "balance probe failed"),
        }
    }
}
