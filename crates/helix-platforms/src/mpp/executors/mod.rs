//! MPP's repairs: renew a challenge for the same deal, present a receipt.

mod receipt;
mod renew;

pub use receipt::RetryWithReceipt;
pub use renew::RenewSession;
