//! One relay node. An agent connects, proves its address by signing the
//! node's challenge, and from then on sends to any address and receives
//! what was sent to its own.
//!
//! Every message goes to the recipient's inbox, a subject of the JetStream
//! stream [`STREAM`] (`helix.mesh.inbox.<address>`), whichever node the
//! sender and the recipient are on: that is how agents on different nodes
//! reach each other, and why a message to an agent that is offline waits
//! (bounded by [`RelayConfig::inbox_max`] per agent and
//! [`RelayConfig::inbox_max_age`]) and is delivered when it connects, to
//! any node. A node reads an agent's inbox only with that agent's durable
//! consumer, and only after its hello: no agent can read another's
//! messages. Delivery is at least once: a message is forgotten when its
//! recipient acknowledges it; unacknowledged ones are sent again on the
//! next connection. Redis holds the sessions (which node holds which agent).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Signature};
use async_nats::jetstream::{self, AckKind, Context, consumer, stream};
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use helix_core::gene::now_ms;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::wire::{Down, Envelope, MAX_ID, Up, hello_text};

/// The inboxes' stream.
pub const STREAM: &str = "HELIX_MESH";
/// Inbox subjects are `{PREFIX}.<address>`.
pub const PREFIX: &str = "helix.mesh.inbox";
/// How long a session key lives without a refresh.
const SESSION_TTL_SECS: u64 = 90;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// This node's name (in challenges, sessions and metrics).
    pub node: String,
    /// A connection that has not said hello by then is closed.
    pub hello_timeout: Duration,
    /// Largest frame an agent may send.
    pub max_frame_bytes: usize,
    /// Messages an offline agent's inbox keeps (the oldest go first).
    pub inbox_max: i64,
    /// How long a message waits for its recipient.
    pub inbox_max_age: Duration,
    /// A delivered message not acknowledged by then is sent again.
    pub ack_wait: Duration,
}

impl RelayConfig {
    /// Defaults: 10 s to say hello, 64 KiB frames, 10,000 waiting messages
    /// per agent for up to 7 days, 10 s to acknowledge.
    pub fn new(node: &str) -> Self {
        RelayConfig {
            node: node.to_owned(),
            hello_timeout: Duration::from_secs(10),
            max_frame_bytes: 64 * 1024,
            inbox_max: 10_000,
            inbox_max_age: Duration::from_secs(7 * 24 * 3600),
            ack_wait: Duration::from_secs(10),
        }
    }
}

/// Why a relay could not start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MeshError {
    /// NATS or its stream.
    #[error("NATS: {0}")]
    Nats(String),
    /// Redis.
    #[error("Redis: {0}")]
    Redis(String),
}

struct Inner {
    cfg: RelayConfig,
    js: Context,
    stream: stream::Stream,
    sessions: Option<redis::aio::ConnectionManager>,
    metrics: Metrics,
    /// The live connection of each agent on this node, and how to stop it.
    local: Mutex<HashMap<Address, Local>>,
    next_conn: AtomicU64,
}

/// An agent connected to this node.
struct Local {
    /// Which of its connections (a newer one replaces an older).
    conn: u64,
    /// Tells the connection to close.
    stop: watch::Sender<bool>,
    /// Unix ms.
    since: i64,
}

/// A relay node.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("node", &self.inner.cfg.node)
            .finish_non_exhaustive()
    }
}

/// An agent's inbox subject.
pub fn inbox(a: Address) -> String {
    format!("{PREFIX}.{a:#x}")
}

fn session_key(a: Address) -> String {
    format!("helix:mesh:session:{{{a:#x}}}")
}

/// Checks a hello: the signature over this node's challenge is by `address`.
pub fn verify_hello(
    node: &str,
    nonce: B256,
    address: Address,
    signature: &[u8],
) -> Result<(), String> {
    let sig = Signature::try_from(signature).map_err(|_| "not a 65-byte signature".to_string())?;
    let signer = sig
        .recover_address_from_msg(hello_text(node, nonce).as_bytes())
        .map_err(|e| e.to_string())?;
    if signer == address {
        Ok(())
    } else {
        Err(format!("signed by {signer}, not by {address}"))
    }
}

async fn send(socket: &mut WebSocket, d: &Down) -> Result<(), ()> {
    let text = serde_json::to_string(d).map_err(|_| ())?;
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|_| ())
}

fn error(reason: &str, message: impl std::fmt::Display) -> Down {
    Down::Error {
        reason: reason.into(),
        message: message.to_string(),
    }
}

impl Relay {
    /// A node on NATS at `nats` (creating the inbox stream if missing),
    /// keeping sessions in Redis at `redis` when given.
    pub async fn connect(
        cfg: RelayConfig,
        nats: &str,
        redis: Option<&str>,
    ) -> Result<Self, MeshError> {
        let client = async_nats::connect(nats)
            .await
            .map_err(|e| MeshError::Nats(format!("{nats}: {e}")))?;
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.into(),
                subjects: vec![format!("{PREFIX}.>")],
                max_messages_per_subject: cfg.inbox_max,
                max_age: cfg.inbox_max_age,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| MeshError::Nats(e.to_string()))?;
        let sessions = match redis {
            Some(url) => {
                let client =
                    redis::Client::open(url).map_err(|e| MeshError::Redis(e.to_string()))?;
                Some(
                    redis::aio::ConnectionManager::new(client)
                        .await
                        .map_err(|e| MeshError::Redis(format!("{url}: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Relay {
            inner: Arc::new(Inner {
                cfg,
                js,
                stream,
                sessions,
                metrics: Metrics::default(),
                local: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
            }),
        })
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.cfg.node
    }

    /// Largest frame an agent may send.
    pub fn max_frame_bytes(&self) -> usize {
        self.inner.cfg.max_frame_bytes
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The agents connected to this node and since when (unix ms), by
    /// address.
    pub fn agents(&self) -> Vec<(Address, i64)> {
        let mut v: Vec<(Address, i64)> = self
            .inner
            .local
            .lock()
            .map(|l| l.iter().map(|(a, l)| (*a, l.since)).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The node holding `a`'s session, if any (needs Redis).
    pub async fn session(&self, a: Address) -> Option<String> {
        let mut c = self.inner.sessions.clone()?;
        redis::cmd("GET")
            .arg(session_key(a))
            .query_async(&mut c)
            .await
            .ok()
            .flatten()
    }

    async fn set_session(&self, a: Address) {
        if let Some(mut c) = self.inner.sessions.clone() {
            let r: redis::RedisResult<()> = redis::cmd("SET")
                .arg(session_key(a))
                .arg(&self.inner.cfg.node)
                .arg("EX")
                .arg(SESSION_TTL_SECS)
                .query_async(&mut c)
                .await;
            if let Err(e) = r {
                tracing::warn!(target: "helix::mesh", error = %e, "session not recorded");
            }
        }
    }

    async fn clear_session(&self, a: Address) {
        if let Some(mut c) = self.inner.sessions.clone() {
            // Only this node's: the agent may already be on another one.
            let script = redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            );
            let r: redis::RedisResult<i64> = script
                .key(session_key(a))
                .arg(&self.inner.cfg.node)
                .invoke_async(&mut c)
                .await;
            if let Err(e) = r {
                tracing::warn!(target: "helix::mesh", error = %e, "session not cleared");
            }
        }
    }

    /// Stores a message from `from` in `to`'s inbox; duplicates of
    /// (from, id) within two minutes are stored once.
    pub async fn store(
        &self,
        from: Address,
        to: Address,
        id: &str,
        body: serde_json::Value,
    ) -> Result<(), String> {
        if id.is_empty() || id.len() > MAX_ID {
            return Err(format!("a message id has 1 to {MAX_ID} bytes"));
        }
        let env = Envelope {
            from,
            id: id.to_owned(),
            body,
            sent_at: now_ms(),
        };
        let payload = serde_json::to_vec(&env).map_err(|e| e.to_string())?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("{from:#x}:{id}").as_str(),
        );
        let ack = self
            .inner
            .js
            .publish_with_headers(inbox(to), headers, payload.into())
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(5), ack)
            .await
            .map_err(|_| "the inbox did not acknowledge in 5 s".to_string())?
            .map_err(|e| e.to_string())?;
        self.inner.metrics.stored();
        Ok(())
    }

    /// Serves one agent's connection until it closes.
    pub async fn serve_socket(&self, mut socket: WebSocket) {
        let Some(address) = self.hello(&mut socket).await else {
            return;
        };
        let m = &self.inner.metrics;
        m.connected(1);
        let conn = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let replaced = self.inner.local.lock().ok().and_then(|mut local| {
            local.insert(
                address,
                Local {
                    conn,
                    stop: stop_tx,
                    since: now_ms(),
                },
            )
        });
        if let Some(old) = replaced {
            // A newer connection of the same agent replaces the older one.
            let _ = old.stop.send(true);
        }
        self.set_session(address).await;
        self.run(&mut socket, address, &mut stop_rx).await;
        let mine = self.inner.local.lock().is_ok_and(|mut local| {
            let mine = local.get(&address).is_some_and(|l| l.conn == conn);
            if mine {
                local.remove(&address);
            }
            mine
        });
        if mine {
            self.clear_session(address).await;
        }
        m.connected(-1);
    }

    async fn hello(&self, socket: &mut WebSocket) -> Option<Address> {
        let node = &self.inner.cfg.node;
        let nonce = B256::from(rand::random::<[u8; 32]>());
        send(
            socket,
            &Down::Challenge {
                node: node.clone(),
                nonce,
            },
        )
        .await
        .ok()?;
        let refused = match tokio::time::timeout(self.inner.cfg.hello_timeout, socket.recv()).await
        {
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<Up>(&t) {
                Ok(Up::Hello { address, signature }) => {
                    match verify_hello(node, nonce, address, &signature) {
                        Ok(()) => {
                            self.inner.metrics.hello(true);
                            send(
                                socket,
                                &Down::Welcome {
                                    address,
                                    node: node.clone(),
                                },
                            )
                            .await
                            .ok()?;
                            return Some(address);
                        }
                        Err(why) => error("forged_hello", why),
                    }
                }
                Ok(_) => error("hello_first", "the first frame is the signed hello"),
                Err(e) => error("malformed", e),
            },
            Err(_) => error("hello_timeout", "no hello in time"),
            _ => error("hello_first", "the first frame is the signed hello"),
        };
        self.inner.metrics.hello(false);
        tracing::info!(target: "helix::mesh", ?refused, "hello refused");
        let _ = send(socket, &refused).await;
        let _ = socket.send(Message::Close(None)).await;
        None
    }

    async fn run(&self, socket: &mut WebSocket, me: Address, stop: &mut watch::Receiver<bool>) {
        let name = format!("agent-{}", &format!("{me:#x}")[2..]);
        let consumer: Result<consumer::PullConsumer, _> = self
            .inner
            .stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: inbox(me),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: self.inner.cfg.ack_wait,
                    max_ack_pending: 1000,
                    ..Default::default()
                },
            )
            .await;
        // Short pulls, so a closed connection's outstanding pull stops
        // taking this agent's messages within a second.
        let mut messages = match consumer {
            Ok(c) => match c
                .stream()
                .max_messages_per_batch(100)
                .expires(Duration::from_secs(1))
                .messages()
                .await
            {
                Ok(m) => m,
                Err(e) => {
                    let _ = send(socket, &error("inbox", e)).await;
                    return;
                }
            },
            Err(e) => {
                let _ = send(socket, &error("inbox", e)).await;
                return;
            }
        };
        let mut pending: HashMap<(Address, String), jetstream::Message> = HashMap::new();
        let mut refresh = tokio::time::interval(Duration::from_secs(SESSION_TTL_SECS / 3));
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = send(socket, &error("replaced", "a newer connection of this agent took over")).await;
                    break;
                }
                _ = refresh.tick() => self.set_session(me).await,
                got = messages.next() => match got {
                    Some(Ok(msg)) => {
                        let Ok(env) = serde_json::from_slice::<Envelope>(&msg.payload) else {
                            let _ = msg.ack_with(AckKind::Term).await;
                            continue;
                        };
                        let down = Down::Message { from: env.from, id: env.id.clone(), body: env.body, sent_at: env.sent_at };
                        if send(socket, &down).await.is_err() {
                            break;
                        }
                        self.inner.metrics.delivered(now_ms() - env.sent_at);
                        pending.insert((env.from, env.id), msg);
                    }
                    Some(Err(e)) => tracing::warn!(target: "helix::mesh", error = %e, "inbox read failed"),
                    None => break,
                },
                frame = socket.recv() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let reply = match serde_json::from_str::<Up>(&t) {
                            Ok(Up::Send { to, id, body }) => match self.store(me, to, &id, body).await {
                                Ok(()) => Some(Down::Accepted { id }),
                                Err(e) => Some(error("not_stored", e)),
                            },
                            Ok(Up::Ack { from, id }) => {
                                if let Some(msg) = pending.remove(&(from, id)) {
                                    let _ = msg.ack().await;
                                    self.inner.metrics.acked();
                                }
                                None
                            }
                            Ok(Up::Hello { .. }) => Some(error("hello_again", "this connection already said hello")),
                            Err(e) => Some(error("malformed", e)),
                        };
                        if let Some(r) = reply
                            && send(socket, &r).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        // The pull stops first, so what goes back is not taken by this
        // closed connection again; what was delivered but not acknowledged
        // goes back at once.
        drop(messages);
        for msg in pending.into_values() {
            let _ = msg.ack_with(AckKind::Nak(None)).await;
        }
    }
}
