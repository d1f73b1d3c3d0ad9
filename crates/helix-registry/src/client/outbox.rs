//! Pushes and failure reports leave the agent in the background, in order,
//! never on a payment's path. Each is signed when it is sent (a fresh nonce
//! and time), so one that waited out an outage is neither stale nor a
//! replay. 429: the wait the registry names; unreachable: backoff up to
//! [`MAX_BACKOFF`]; refused: dropped and counted (a refusal is final).
//! The queue is the outage buffer: [`QUEUE`] jobs, past that new ones are
//! dropped and counted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::{Notify, mpsc};

use super::http::{ClientError, RegistryClient};
use crate::sign::{nonce, sign};
use crate::wire::{Evidence, GeneId, PushBody, RegistryGene, ReportBody, SharedGene};

/// Jobs waiting at most.
pub const QUEUE: usize = 1024;
/// Longest wait between tries while the registry is unreachable.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) enum Job {
    Push(SharedGene, Vec<Evidence>),
    Report(GeneId, u64),
}

#[derive(Default)]
struct State {
    pending: AtomicUsize,
    sent: AtomicU64,
    dropped: AtomicU64,
    limited: AtomicU64,
    idle: Notify,
    last: Mutex<Option<RegistryGene>>,
}

/// The background sender.
pub struct Outbox {
    tx: mpsc::Sender<Job>,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Starts the sender (inside a Tokio runtime).
    pub fn start(client: RegistryClient, key: PrivateKeySigner) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let state = Arc::new(State::default());
        let task = tokio::spawn(run(rx, client, key, state.clone()));
        Outbox { tx, state, task }
    }

    pub(crate) fn send(&self, job: Job) {
        self.state.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.try_send(job).is_err() {
            self.state.pending.fetch_sub(1, Ordering::SeqCst);
            self.state.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "helix::registry", "registry outbox full; a push or report was dropped");
        }
    }

    /// Queues a push of `gene` with its evidence.
    pub fn send_push(&self, gene: SharedGene, evidence: Vec<Evidence>) {
        self.send(Job::Push(gene, evidence));
    }

    /// Queues a failure report: `failures` local failures of gene `id`.
    pub fn send_report(&self, id: GeneId, failures: u64) {
        self.send(Job::Report(id, failures));
    }

    /// Jobs not yet sent.
    pub fn pending(&self) -> usize {
        self.state.pending.load(Ordering::SeqCst)
    }

    /// Jobs the registry took.
    pub fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::Relaxed)
    }

    /// Jobs dropped (refused, or the queue was full).
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// 429 answers waited out.
    pub fn limited(&self) -> u64 {
        self.state.limited.load(Ordering::Relaxed)
    }

    /// The gene as the registry stored it after the last accepted push or report.
    pub fn last(&self) -> Option<RegistryGene> {
        self.state.last.lock().ok().and_then(|g| g.clone())
    }

    /// Waits until every job is sent or dropped, at most `limit`; `true` if so.
    pub async fn flush(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.state.idle.notified();
                if self.pending() == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    client: RegistryClient,
    key: PrivateKeySigner,
    state: Arc<State>,
) {
    while let Some(job) = rx.recv().await {
        let mut backoff = Duration::from_millis(250);
        loop {
            match attempt(&job, &client, &key).await {
                Ok(g) => {
                    state.sent.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut last) = state.last.lock() {
                        *last = Some(g);
                    }
                    break;
                }
                Err(ClientError::Limited(wait)) => {
                    state.limited.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(target: "helix::registry", ?wait, "registry rate limit; waiting as told");
                    tokio::time::sleep(wait).await;
                }
                Err(ClientError::Unreachable(e)) => {
                    tracing::warn!(target: "helix::registry", error = %e, ?backoff, "registry unreachable; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    state.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "helix::registry", error = %e, "registry refused; not retrying");
                    break;
                }
            }
        }
        if state.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            state.idle.notify_waiters();
        }
    }
}

async fn attempt(
    job: &Job,
    client: &RegistryClient,
    key: &PrivateKeySigner,
) -> Result<RegistryGene, ClientError> {
    let now = helix_core::gene::now_ms();
    let signing = |e: crate::sign::SignatureError| ClientError::Malformed(e.to_string());
    match job {
        Job::Push(gene, evidence) => {
            let body = PushBody {
                gene: gene.clone(),
                evidence: evidence.clone(),
                agent: key.address(),
                nonce: nonce(),
                issued_at: now,
            };
            client.push(&sign(body, key).map_err(signing)?).await
        }
        Job::Report(id, failures) => {
            let body = ReportBody {
                gene: *id,
                failures: *failures,
                agent: key.address(),
                nonce: nonce(),
                issued_at: now,
            };
            client.report(&sign(body, key).map_err(signing)?).await
        }
    }
}
