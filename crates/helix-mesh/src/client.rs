//! An agent on the mesh: connects with its key, sends (each send returns
//! once the relay stored it for the recipient), receives, acknowledges.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::wire::{Down, Up, hello_text};

/// What went wrong on the mesh.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// Could not connect, or the connection ended.
    #[error("mesh connection: {0}")]
    Connection(String),
    /// The relay refused.
    #[error("mesh refused ({reason}): {message}")]
    Refused {
        /// Its short reason.
        reason: String,
        /// Its message.
        message: String,
    },
    /// No answer in time.
    #[error("the relay did not answer in time")]
    Timeout,
}

/// A message received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Its sender.
    pub from: Address,
    /// The sender's id.
    pub id: String,
    /// Its body.
    pub body: serde_json::Value,
    /// Unix ms when the relay stored it.
    pub sent_at: i64,
}

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Result<(), ClientError>>>>>;

/// A connected agent.
pub struct MeshClient {
    address: Address,
    node: String,
    up: mpsc::Sender<Up>,
    inbox: Option<mpsc::Receiver<Received>>,
    waiting: Waiting,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for MeshClient {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl MeshClient {
    /// Connects to `url` (`ws://…/v1/connect`) as `key`'s address.
    pub async fn connect(url: &str, key: &PrivateKeySigner) -> Result<Self, ClientError> {
        let conn = |e: &dyn std::fmt::Display| ClientError::Connection(e.to_string());
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| conn(&e))?;
        let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| ClientError::Timeout)?;
        let down = read(first)?;
        let Down::Challenge { node, nonce } = down else {
            return Err(ClientError::Connection(format!(
                "expected a challenge, got {down:?}"
            )));
        };
        let sig = key
            .sign_message_sync(hello_text(&node, nonce).as_bytes())
            .map_err(|e| conn(&e))?;
        let hello = Up::Hello {
            address: key.address(),
            signature: sig.as_bytes().to_vec().into(),
        };
        let text = serde_json::to_string(&hello).map_err(|e| conn(&e))?;
        ws.send(Message::Text(text.into()))
            .await
            .map_err(|e| conn(&e))?;
        let welcome = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| ClientError::Timeout)?;
        let (address, node) = match read(welcome)? {
            Down::Welcome { address, node } => (address, node),
            Down::Error { reason, message } => {
                return Err(ClientError::Refused { reason, message });
            }
            other => {
                return Err(ClientError::Connection(format!(
                    "expected welcome, got {other:?}"
                )));
            }
        };
        let (mut sink, mut stream) = ws.split();
        let (up_tx, mut up_rx) = mpsc::channel::<Up>(1024);
        let (in_tx, in_rx) = mpsc::channel::<Received>(4096);
        let waiting: Waiting = Arc::default();
        let writer = tokio::spawn(async move {
            while let Some(u) = up_rx.recv().await {
                let Ok(text) = serde_json::to_string(&u) else {
                    continue;
                };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            // Every queued frame has left: say goodbye, so the relay hands
            // back at once what was delivered and not acknowledged.
            let _ = sink.close().await;
        });
        let w = waiting.clone();
        let reader = tokio::spawn(async move {
            while let Some(frame) = stream.next().await {
                let Ok(down) = read(Some(frame)) else { break };
                match down {
                    Down::Message {
                        from,
                        id,
                        body,
                        sent_at,
                    } => {
                        let received = Received {
                            from,
                            id,
                            body,
                            sent_at,
                        };
                        // The agent dropped its receiver: nobody listens.
                        let Ok(()) = in_tx.send(received).await else {
                            break;
                        };
                    }
                    Down::Accepted { id } => {
                        if let Some(tx) = w.lock().ok().and_then(|mut m| m.remove(&id)) {
                            let _ = tx.send(Ok(()));
                        }
                    }
                    Down::Error { reason, message } => {
                        tracing::warn!(target: "helix::mesh", %reason, %message, "relay error");
                        // A refused send names no id: fail the oldest waiter
                        // rather than leave every one hanging.
                        if let Some(tx) = w.lock().ok().and_then(|mut m| {
                            let k = m.keys().next().cloned()?;
                            m.remove(&k)
                        }) {
                            let _ = tx.send(Err(ClientError::Refused { reason, message }));
                        }
                    }
                    _ => {}
                }
            }
            // The connection ended: every waiting send fails.
            if let Ok(mut m) = w.lock() {
                for (_, tx) in m.drain() {
                    let _ = tx.send(Err(ClientError::Connection("closed".into())));
                }
            }
        });
        Ok(MeshClient {
            address,
            node,
            up: up_tx,
            inbox: Some(in_rx),
            waiting,
            tasks: vec![writer, reader],
        })
    }

    /// Closes the connection once every queued acknowledgement and send has
    /// left (bounded by `within`). Dropping the client instead cuts the
    /// queue: an acknowledgement still in it is lost, and its message comes
    /// again.
    pub async fn close(mut self, within: Duration) -> Result<(), ClientError> {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.up, closed));
        let mut writer = self.tasks.remove(0);
        match tokio::time::timeout(within, &mut writer).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ClientError::Connection(e.to_string())),
            Err(_) => {
                writer.abort();
                Err(ClientError::Connection(format!(
                    "the queue did not drain within {within:?}"
                )))
            }
        }
    }

    /// Who this agent is on the mesh.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The node it is connected to.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Sends `body` to `to` and waits until the relay stored it.
    pub async fn send(
        &self,
        to: Address,
        id: &str,
        body: serde_json::Value,
    ) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.waiting.lock() {
            m.insert(id.to_owned(), tx);
        }
        self.up
            .send(Up::Send {
                to,
                id: id.to_owned(),
                body,
            })
            .await
            .map_err(|_| ClientError::Connection("closed".into()))?;
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|_| ClientError::Connection("closed".into()))?
    }

    /// The next message, waiting at most `limit`.
    pub async fn recv(&mut self, limit: Duration) -> Option<Received> {
        let inbox = self.inbox.as_mut()?;
        tokio::time::timeout(limit, inbox.recv())
            .await
            .ok()
            .flatten()
    }

    /// Takes the inbox, so one task reads it while others send through a
    /// shared client (see [`Mailbox`](crate::mailbox::Mailbox)); `recv`
    /// answers `None` from then on.
    pub fn take_inbox(&mut self) -> Option<mpsc::Receiver<Received>> {
        self.inbox.take()
    }

    /// Acknowledges a message: it is not delivered again.
    pub async fn ack(&self, m: &Received) -> Result<(), ClientError> {
        self.up
            .send(Up::Ack {
                from: m.from,
                id: m.id.clone(),
            })
            .await
            .map_err(|_| ClientError::Connection("closed".into()))
    }
}

fn read(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<Down, ClientError> {
    match frame {
        Some(Ok(Message::Text(t))) => {
            serde_json::from_str(&t).map_err(|e| ClientError::Connection(e.to_string()))
        }
        Some(Ok(other)) => Err(ClientError::Connection(format!(
            "unexpected frame {other:?}"
        ))),
        Some(Err(e)) => Err(ClientError::Connection(e.to_string())),
        None => Err(ClientError::Connection("closed".into())),
    }
}
