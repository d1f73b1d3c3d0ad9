//! The mesh's frames: JSON text over the WebSocket.
//!
//! ```text
//! relay  -> agent  {"type":"challenge","node":"n1","nonce":"0x…"}
//! agent  -> relay  {"type":"hello","address":"0x…","signature":"0x…"}
//! relay  -> agent  {"type":"welcome","address":"0x…","node":"n1"}
//! agent  -> relay  {"type":"send","to":"0x…","id":"…","body":{…}}
//! relay  -> agent  {"type":"accepted","id":"…"}          stored durably for `to`
//! relay  -> agent  {"type":"message","from":"0x…","id":"…","body":{…},"sent_at":…}
//! agent  -> relay  {"type":"ack","from":"0x…","id":"…"}  delivered; not sent again
//! relay  -> agent  {"type":"error","reason":"…","message":"…"}
//! ```
//!
//! The hello is an EIP-191 signature over [`hello_text`]: the relay's node
//! name and a nonce it chose for this connection, so a hello cannot be
//! replayed on another connection or node.

use alloy::primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

/// Longest message id.
pub const MAX_ID: usize = 64;

/// What an agent signs to connect.
pub fn hello_text(node: &str, nonce: B256) -> String {
    format!("helix mesh hello v1\nnode: {node}\nnonce: {nonce}")
}

/// From the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Down {
    /// Sign this to say who you are.
    Challenge {
        /// The relay node.
        node: String,
        /// Fresh per connection.
        nonce: B256,
    },
    /// The hello was good.
    Welcome {
        /// Who you are here.
        address: Address,
        /// The node you are on.
        node: String,
    },
    /// A send was stored for its recipient.
    Accepted {
        /// The send's id.
        id: String,
    },
    /// A message for you.
    Message {
        /// Its sender, as authenticated by its own hello.
        from: Address,
        /// The sender's id (unique per sender; deduplicate on (from, id)).
        id: String,
        /// What the sender sent.
        body: serde_json::Value,
        /// Unix ms at the relay that took it.
        sent_at: i64,
    },
    /// Something was refused.
    Error {
        /// A short stable name.
        reason: String,
        /// What happened.
        message: String,
    },
}

/// From the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Up {
    /// The signed challenge.
    Hello {
        /// Who the agent says it is.
        address: Address,
        /// EIP-191 signature over [`hello_text`].
        signature: Bytes,
    },
    /// A message for `to`.
    Send {
        /// The recipient.
        to: Address,
        /// Unique per sender (at most [`MAX_ID`] bytes); a repeat within the
        /// relay's deduplication window is stored once.
        id: String,
        /// Any JSON.
        body: serde_json::Value,
    },
    /// A delivered message may be forgotten.
    Ack {
        /// Its sender.
        from: Address,
        /// Its id.
        id: String,
    },
}

/// A message as it waits in a recipient's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Sender.
    pub from: Address,
    /// Sender's id.
    pub id: String,
    /// Body.
    pub body: serde_json::Value,
    /// Unix ms when stored.
    pub sent_at: i64,
}
