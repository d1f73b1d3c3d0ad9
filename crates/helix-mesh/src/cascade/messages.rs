//! What agents say to each other about jobs (message bodies on the mesh,
//! each tagged by `kind`; a failure is [`FailureNotice`](crate::failure::FailureNotice)).

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::saga::amount;

/// A seller is ready to take a job for `service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "offer")]
pub struct Offer {
    /// The service.
    pub service: String,
    /// Its price, base units of `token`.
    #[serde(with = "amount")]
    pub price: u128,
    /// The TIP-20 it is paid in.
    pub token: Address,
}

/// A paid job: `paid_tx` moved `amount` of `token` from the buyer to the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "job")]
pub struct JobRequest {
    /// The buyer's id for it.
    pub job: String,
    /// The service.
    pub service: String,
    /// The payment.
    pub paid_tx: B256,
    /// What was paid.
    #[serde(with = "amount")]
    pub amount: u128,
    /// In this TIP-20.
    pub token: Address,
}

/// A job done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "result")]
pub struct JobResult {
    /// The job.
    pub job: String,
    /// What the service produced.
    pub output: String,
}

/// What would `service` cost for `job`?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "quote_request")]
pub struct QuoteRequest {
    /// The job.
    pub job: String,
    /// The service.
    pub service: String,
}

/// A provider's price for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "quote")]
pub struct Quote {
    /// The job.
    pub job: String,
    /// The service.
    pub service: String,
    /// Base units of `token`.
    #[serde(with = "amount")]
    pub price: u128,
    /// The TIP-20.
    pub token: Address,
}

/// Give back what `paid_tx` paid for `job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "refund_request")]
pub struct RefundRequest {
    /// The job.
    pub job: String,
    /// The payment.
    pub paid_tx: B256,
}

/// `refund_tx` gave back what `paid_tx` paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "refunded")]
pub struct Refunded {
    /// The job.
    pub job: String,
    /// The payment.
    pub paid_tx: B256,
    /// The refund.
    pub refund_tx: B256,
}

/// A message type and the `kind` that names it.
pub trait Kind: serde::de::DeserializeOwned {
    /// Its `kind`.
    const KIND: &'static str;
}

macro_rules! kinds {
    ($($t:ty => $k:literal),* $(,)?) => {
        $(impl Kind for $t { const KIND: &'static str = $k; })*
    };
}

kinds! {
    Offer => "offer",
    JobRequest => "job",
    JobResult => "result",
    QuoteRequest => "quote_request",
    Quote => "quote",
    RefundRequest => "refund_request",
    Refunded => "refunded",
}

/// A body as `T` when its `kind` is `T`'s (serde does not check a struct's
/// tag on the way in: a job would read as a quote request).
pub fn read<T: Kind>(body: &serde_json::Value) -> Option<T> {
    if body["kind"].as_str() != Some(T::KIND) {
        return None;
    }
    serde_json::from_value(body.clone()).ok()
}

/// A message body as JSON (these types always serialize).
pub fn body<T: Serialize>(m: &T) -> serde_json::Value {
    serde_json::to_value(m).unwrap_or(serde_json::Value::Null)
}
