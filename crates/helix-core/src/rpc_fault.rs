//! A JSON-RPC error object as the node sent it. One type for every client
//! that speaks JSON-RPC (the signing chain client, the plain reader), so
//! both read into the same signal.

use serde::{Deserialize, Serialize};

use crate::signal::ErrorSignal;

/// The node's `error` object: code, message and revert data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("error code {code}: {message}")]
pub struct RpcFault {
    /// JSON-RPC code (`3` for a revert, `-32000` and below for the node's own).
    pub code: i64,
    /// The message, as the node wrote it.
    pub message: String,
    /// Revert data, `0x` hex, when the node sent any.
    pub data: Option<String>,
}

impl RpcFault {
    /// The fault as a signal: the code, the message, and the revert data
    /// when it is hex (anything else is not revert data).
    pub fn signal(&self) -> ErrorSignal {
        ErrorSignal {
            rpc_code: Some(self.code),
            revert_data: self.data.clone().filter(|d| d.starts_with("0x")),
            ..ErrorSignal::message(self.to_string())
        }
    }
}
