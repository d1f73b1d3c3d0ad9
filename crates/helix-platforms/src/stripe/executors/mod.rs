//! Stripe's repairs that need its API.

mod hold;
mod idempotency;

pub use hold::HoldAndNotify;
pub use idempotency::ResolveIdempotency;
