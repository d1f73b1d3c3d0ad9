//! What an executor needs before it can act, declared rather than found
//! out by acting: the engine checks a candidate's needs before it takes a
//! wallet lock or reserves budget, and blocks it with the missing fact
//! (`Blocked { reason: Missing(..) }`) instead of letting it fail late.

use serde::{Deserialize, Serialize};

use crate::failure::Failure;
use crate::patch::PaymentView;
use crate::signal::ErrorSignal;

/// One fact an executor cannot act without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// The paying wallet (`PaymentView::payer`).
    Payer,
    /// The amount (`PaymentView::amount`).
    Amount,
    /// The payment's currency (`PaymentView::currency`).
    Currency,
    /// The currency an order buys (`PaymentView::buy_currency`).
    BuyCurrency,
    /// The fee token the payment names (`PaymentView::fee_token`).
    FeeToken,
    /// The resource or endpoint the payment goes to (`PaymentView::endpoint`).
    Endpoint,
    /// The chain the payment targets (`PaymentView::chain_id`).
    ChainId,
    /// The logical payment's idempotency key.
    IdempotencyKey,
    /// The hash of a transaction that left the agent.
    TxHash,
    /// The server's payment receipt.
    Receipt,
    /// The index of the failing call of a batch.
    FailingCall,
    /// The currencies the server accepts.
    AcceptedCurrencies,
}

impl Need {
    /// Whether the failure, its signal or the request holds this fact.
    pub fn met(self, failure: &Failure, signal: &ErrorSignal, request: &PaymentView) -> bool {
        let (f, s) = (&failure.facts, &signal.facts);
        match self {
            Need::Payer => request.payer.is_some(),
            Need::Amount => request.amount.is_some(),
            Need::Currency => request.currency.is_some(),
            Need::BuyCurrency => request.buy_currency.is_some(),
            Need::FeeToken => request.fee_token.is_some(),
            Need::Endpoint => request.endpoint.is_some(),
            Need::ChainId => request.chain_id.is_some(),
            Need::IdempotencyKey => request.idempotency_key.is_some(),
            // What perception (and the probes before it) established.
            Need::TxHash => f.tx_hash.is_some(),
            Need::FailingCall => f.failing_call.is_some(),
            Need::AcceptedCurrencies => !f.accepted_currencies.is_empty(),
            // A receipt may ride on the raw signal only.
            Need::Receipt => f.payment_receipt.is_some() || s.payment_receipt.is_some(),
        }
    }

    /// The first of `needs` that is not met.
    pub fn first_missing(
        needs: &[Need],
        failure: &Failure,
        signal: &ErrorSignal,
        request: &PaymentView,
    ) -> Option<Need> {
        needs
            .iter()
            .copied()
            .find(|n| !n.met(failure, signal, request))
    }
}
