//! MPP (HTTP 402 `Payment` authentication) paid with Tempo transactions.

mod payer;

pub use payer::{MppGet, SentCharge, get_paid, sent_charge};
