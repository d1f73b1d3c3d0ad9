//! The agent's side of the registry: an HTTP client, a [`GeneStore`] layer
//! that pulls on a local miss and pushes verified genes in the background,
//! and a durable subscription to the broadcast.
//!
//! [`GeneStore`]: helix_core::GeneStore

mod anchored;
mod http;
mod layer;
mod outbox;
mod subscribe;

pub use anchored::AnchoredOnly;
pub use http::{ClientError, RegistryClient};
pub use layer::{LayerConfig, RegistryGeneStore, adopted};
pub use outbox::Outbox;
pub use subscribe::{SubscribeError, Subscription, subscribe, watch};
