//! MPP (HTTP 402 `Payment` authentication) paid with Tempo transactions.
//! Its errors are read by the Tempo table (`tempo/perceive.rs`): an MPP
//! 402 names Tempo's currencies and chain.

#[cfg(feature = "mpp")]
pub mod challenge;
#[cfg(feature = "mpp")]
pub mod executors;
#[cfg(feature = "mpp")]
mod payer;
#[cfg(feature = "mpp")]
pub mod probes;

#[cfg(feature = "mpp")]
pub use challenge::{
    Challenge, ChallengeError, ChargeRequest, MethodDetails, encode_request, offered,
    parse_challenge, same_charge,
};
#[cfg(feature = "mpp")]
pub use executors::{RenewSession, RetryWithReceipt};
#[cfg(feature = "mpp")]
pub use payer::{MppGet, SentCharge, get_paid, sent_charge};
#[cfg(feature = "mpp")]
pub use probes::ChallengeProbe;
