//! A selective inbox over a [`MeshClient`]: one task reads the mesh; any
//! number of tasks wait for the message they expect (a job's result, a
//! quote) while others send. An agent that serves jobs and buys sub-jobs at
//! once needs both.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::Notify;

use crate::client::{ClientError, MeshClient, Received};

/// Messages kept unclaimed at most; past it the oldest is dropped (and
/// logged): a peer cannot fill the agent's memory.
pub const MAX_UNCLAIMED: usize = 4096;
/// (sender, id) pairs remembered to drop redeliveries.
const SEEN: usize = 16_384;

#[derive(Default)]
struct Inner {
    unclaimed: VecDeque<Received>,
    seen: HashSet<(Address, String)>,
    seen_order: VecDeque<(Address, String)>,
}

/// A shared client and its inbox.
#[derive(Clone)]
pub struct Mailbox {
    client: Arc<MeshClient>,
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    reader: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("address", &self.client.address())
            .finish_non_exhaustive()
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if Arc::strong_count(&self.reader) == 1 {
            self.reader.abort();
        }
    }
}

impl Mailbox {
    /// Reads `client`'s inbox from now on. Each message is acknowledged
    /// when it is kept here (a redelivered copy is dropped).
    pub fn new(mut client: MeshClient) -> Result<Self, ClientError> {
        let mut inbox = client
            .take_inbox()
            .ok_or_else(|| ClientError::Connection("the inbox was already taken".into()))?;
        let client = Arc::new(client);
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (c, i, a) = (client.clone(), inner.clone(), arrived.clone());
        let reader = tokio::spawn(async move {
            while let Some(m) = inbox.recv().await {
                if let Err(e) = c.ack(&m).await {
                    tracing::warn!(target: "helix::mesh", %e, "ack failed; the relay will redeliver");
                }
                let Ok(mut g) = i.lock() else { break };
                let key = (m.from, m.id.clone());
                if !g.seen.insert(key.clone()) {
                    continue;
                }
                g.seen_order.push_back(key);
                if g.seen_order.len() > SEEN
                    && let Some(old) = g.seen_order.pop_front()
                {
                    g.seen.remove(&old);
                }
                if g.unclaimed.len() >= MAX_UNCLAIMED
                    && let Some(old) = g.unclaimed.pop_front()
                {
                    tracing::warn!(target: "helix::mesh", from = %old.from, id = %old.id, "inbox full; oldest unclaimed message dropped");
                }
                g.unclaimed.push_back(m);
                drop(g);
                a.notify_waiters();
            }
        });
        Ok(Mailbox {
            client,
            inner,
            arrived,
            reader: Arc::new(reader),
        })
    }

    /// This agent's address.
    pub fn address(&self) -> Address {
        self.client.address()
    }

    /// Sends `body` to `to` (stored by the relay when this returns).
    pub async fn send(
        &self,
        to: Address,
        id: &str,
        body: serde_json::Value,
    ) -> Result<(), ClientError> {
        self.client.send(to, id, body).await
    }

    /// The first message (oldest first) that `want` accepts, waiting at
    /// most `limit`; it is taken out of the inbox.
    pub async fn wait(
        &self,
        limit: Duration,
        mut want: impl FnMut(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Registered before the scan, so an arrival between the scan
            // and the wait still wakes it.
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Ok(mut g) = self.inner.lock()
                && let Some(i) = g.unclaimed.iter().position(&mut want)
            {
                return g.unclaimed.remove(i);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The first message of `kind` about `job` (`body.kind`, `body.job`).
    pub async fn wait_for(&self, limit: Duration, kinds: &[&str], job: &str) -> Option<Received> {
        self.wait(limit, |m| {
            m.body["job"].as_str() == Some(job)
                && m.body["kind"].as_str().is_some_and(|k| kinds.contains(&k))
        })
        .await
    }
}
