//! Chain errors as signals: the node's JSON-RPC code, message and revert
//! data, kept exactly as they came.

use helix_core::{ErrorSignal, IntoSignal, Platform, RpcFault, TransportKind};

/// A chain call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    /// The node answered with a JSON-RPC error (gas estimation, send).
    #[error(transparent)]
    Rpc(RpcFault),
    /// The transaction was mined and reverted.
    #[error("transaction {hash} reverted")]
    Reverted {
        /// Its hash.
        hash: String,
    },
    /// The transaction was sent and no receipt came: its outcome is unknown
    /// until it is reconciled (it may still land).
    #[error("transaction {hash} sent, no receipt: {reason}")]
    NoReceipt {
        /// Its hash.
        hash: String,
        /// Why waiting stopped.
        reason: String,
    },
    /// The signed transaction went out and the connection failed before the
    /// node answered: it may be in the pool.
    #[error("transaction {hash} sent, connection lost before the node answered: {reason}")]
    Unanswered {
        /// Its hash.
        hash: String,
        /// The transport error.
        reason: String,
    },
    /// A batch was refused, and simulating its calls one by one from the
    /// sender found the one that reverts.
    #[error("batch call {index} of {calls} reverted: {reason}")]
    BatchCallReverted {
        /// Index of the failing call.
        index: usize,
        /// Calls in the batch.
        calls: usize,
        /// What the simulation of that call said.
        reason: String,
    },
    /// The payment targets another chain than the endpoint serves.
    #[error(
        "chain id mismatch: the payment expects chainId {want} but the endpoint serves chain {have}"
    )]
    WrongChain {
        /// The payment's chain.
        want: u64,
        /// The endpoint's.
        have: u64,
    },
    /// No answer, or one that could not be read.
    #[error("chain transport: {0}")]
    Transport(String),
}

impl ChainError {
    /// Converts an alloy transport error, keeping the node's error object.
    pub fn from_rpc(e: alloy::transports::TransportError) -> Self {
        if let Some(p) = e.as_error_resp() {
            return ChainError::Rpc(RpcFault {
                code: p.code,
                message: p.message.to_string(),
                data: p
                    .data
                    .as_ref()
                    .map(|d| d.get().trim_matches('"').to_owned()),
            });
        }
        ChainError::Transport(e.to_string())
    }
}

impl IntoSignal for ChainError {
    fn to_signal(&self) -> ErrorSignal {
        let mut s = match self {
            ChainError::Rpc(f) => f.signal(),
            _ => ErrorSignal::message(self.to_string()),
        }
        .with_platform(Platform::Tempo);
        match self {
            ChainError::Rpc(_) => {}
            ChainError::Reverted { hash } => {
                s.facts.tx_hash = Some(hash.clone());
                s.facts.payment_sent = true;
                // A mined receipt with a failed status: the transfer did not happen.
                s.facts.not_charged = true;
            }
            ChainError::NoReceipt { hash, .. } => {
                s.facts.tx_hash = Some(hash.clone());
                s.facts.payment_sent = true;
                s.transport = Some(TransportKind::Timeout);
            }
            ChainError::Unanswered { hash, .. } => {
                s.facts.tx_hash = Some(hash.clone());
                s.facts.payment_sent = true;
                s.transport = Some(TransportKind::ConnectionDropped);
            }
            ChainError::BatchCallReverted { index, .. } => s.facts.failing_call = Some(*index),
            ChainError::WrongChain { want, .. } => s.facts.expected_chain_id = Some(*want),
            ChainError::Transport(_) => s.transport = Some(TransportKind::Io),
        }
        s
    }
}

/// The signal of a chain error that reached us only as text (the mpp client
/// wraps node errors in its own): the JSON-RPC code and any custom-error
/// selector are recovered from the words the node used.
pub fn signal_from_text(text: &str) -> ErrorSignal {
    let mut s = ErrorSignal::message(text).with_platform(Platform::Tempo);
    if let Some(i) = text.find("error code ") {
        let rest = &text[i + "error code ".len()..];
        let end = rest
            .char_indices()
            .find(|(j, c)| !(c.is_ascii_digit() || (*j == 0 && *c == '-')))
            .map_or(rest.len(), |(j, _)| j);
        s.rpc_code = rest[..end].parse().ok();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_recovered_from_wrapped_text() {
        let s = signal_from_text(
            "Payment(Http(\"gas estimation failed: server returned an error response: error code -32003: Insufficient funds for gas * price + value\"))",
        );
        assert_eq!(s.rpc_code, Some(-32003));
        assert_eq!(
            signal_from_text("error code 3: execution reverted").rpc_code,
            Some(3)
        );
        assert_eq!(signal_from_text("no code here").rpc_code, None);
        assert_eq!(signal_from_text("error code -").rpc_code, None);
    }
}
